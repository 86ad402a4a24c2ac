/* tools/plot.c: `mtlc plot LOG -o FILE`, a training log (train --log: one
 * JSON object per epoch) as curves by epoch, in SVG (or PNG, through
 * rsvg-convert). One row of panels per task: its loss (train, valid, test),
 * then each of its metrics (valid, test); a last row for what is not one
 * task's: the regularizers' values, the balancing weights (any object of
 * per-task numbers the log carries besides train_loss, like "weights"),
 * and the learning rate when it changes. The best epoch (the log's
 * best_epoch) is a dashed line. Each curve's values are also written in
 * its element (data-values), so that tests read them back. It draws; it
 * computes nothing about training. */
#include "tools/tools.h"
#include "mtl_json.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAXS 64 /* series in a plot */

/* one curve: a value (or NaN) per epoch */
typedef struct {
  char name[96];  /* its legend: "train", "valid", "l2_distance(tower)" */
  double *y;      /* per epoch row, NaN where absent */
} Series;

/* one panel: a title and its curves */
typedef struct {
  char title[128], group[96]; /* group: the task, or "" */
  Series s[MAXS];
  int n;
} Panel;

typedef struct {
  int rows;        /* epochs in the log */
  double *epoch;   /* per row */
  Panel *p;
  int np, cap;
  int64_t best;    /* the last line's best_epoch, 0: none */
  char watch[96];
} Plot;

static Panel *panel(Plot *pl, const char *group, const char *title) {
  for (int i = 0; i < pl->np; i++)
    if (!strcmp(pl->p[i].group, group) && !strcmp(pl->p[i].title, title))
      return &pl->p[i];
  if (pl->np == pl->cap) {
    pl->cap = pl->cap ? 2 * pl->cap : 16;
    pl->p = realloc(pl->p, sizeof(Panel) * (size_t)pl->cap);
    MTLC_ASSERT(pl->p);
  }
  Panel *p = &pl->p[pl->np++];
  memset(p, 0, sizeof *p);
  snprintf(p->group, sizeof p->group, "%s", group);
  snprintf(p->title, sizeof p->title, "%s", title);
  return p;
}

/* series `name` of panel p, with NaN for the epochs before it appeared */
static Series *series(Panel *p, const char *name, int rows) {
  for (int i = 0; i < p->n; i++)
    if (!strcmp(p->s[i].name, name))
      return &p->s[i];
  if (p->n == MAXS)
    return NULL;
  Series *s = &p->s[p->n++];
  snprintf(s->name, sizeof s->name, "%s", name);
  s->y = xcalloc((size_t)rows, sizeof(double));
  for (int i = 0; i < rows; i++)
    s->y[i] = NAN;
  return s;
}

static void put(Plot *pl, const char *group, const char *title, const char *name, int row,
                const JNode *v) {
  if (v->type != J_NUM)
    return;
  Series *s = series(panel(pl, group, title), name, pl->rows);
  if (s)
    s->y[row] = v->num;
}

/* "valid": {"item": {"loss": 0.3, "accuracy": 0.9}, ...} */
static void put_split(Plot *pl, const JParser *jp, const JNode *split, const char *name, int row) {
  for (int t = split->child; t >= 0; t = jp->nodes[t].next) {
    const JNode *task = &jp->nodes[t];
    if (task->type != J_OBJ)
      continue;
    for (int c = task->child; c >= 0; c = jp->nodes[c].next)
      put(pl, task->key, jp->nodes[c].key, name, row, &jp->nodes[c]);
  }
}

/* An object of numbers: the tasks' train losses, the regularizers, the
 * balancing weights or any other per-name numbers. */
static void put_values(Plot *pl, const JParser *jp, const JNode *obj, int row) {
  bool train = !strcmp(obj->key, "train_loss"), reg = !strcmp(obj->key, "reg");
  for (int c = obj->child; c >= 0; c = jp->nodes[c].next) {
    const JNode *v = &jp->nodes[c];
    if (train)
      put(pl, v->key, "loss", "train", row, v);
    else
      put(pl, "", reg ? "regularizers" : obj->key, v->key, row, v);
  }
}

static void put_line(Plot *pl, const JParser *jp, int row) {
  const JNode *root = &jp->nodes[0];
  for (int c = root->child; c >= 0; c = jp->nodes[c].next) {
    const JNode *x = &jp->nodes[c];
    if (!strcmp(x->key, "epoch") && x->type == J_NUM)
      pl->epoch[row] = x->num;
    else if ((!strcmp(x->key, "valid") || !strcmp(x->key, "test")) && x->type == J_OBJ)
      put_split(pl, jp, x, x->key, row);
    else if (x->type == J_OBJ)
      put_values(pl, jp, x, row);
    else if (!strcmp(x->key, "lr"))
      put(pl, "", "learning rate", "lr", row, x);
    else if (!strcmp(x->key, "best_epoch") && x->is_uint)
      pl->best = (int64_t)x->u;
    else if (!strcmp(x->key, "watch") && x->type == J_STR)
      snprintf(pl->watch, sizeof pl->watch, "%s", x->str);
  }
}

/* The log's lines, each a JSON object; a line that is not is an error
 * naming it. */
static bool read_log(const char *path, Plot *pl) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "mtlc: cannot read '%s': %s\n", path, strerror(errno));
    return false;
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  int lines = 0;
  while ((len = getline(&line, &cap, f)) > 0)
    lines += len > 1;
  rewind(f);
  pl->epoch = xcalloc((size_t)lines + 1, sizeof(double));
  pl->rows = lines;
  bool ok = true;
  for (int row = 0, no = 1; ok && (len = getline(&line, &cap, f)) > 0; no++) {
    if (len <= 1)
      continue;
    JParser jp;
    ok = mtl_json_parse(&jp, line, (size_t)len) && jp.nodes[0].type == J_OBJ;
    if (!ok)
      fprintf(stderr, "mtlc: %s:%d: not a JSON object (%s); plot reads the log of "
                      "'mtlc train --log FILE'\n", path, no, jp.err ? jp.err : "another value");
    else
      put_line(pl, &jp, row++);
    free(jp.nodes);
    free(jp.strs);
  }
  free(line);
  fclose(f);
  if (ok && !lines) {
    fprintf(stderr, "mtlc: %s: no epochs in the log\n", path);
    ok = false;
  }
  return ok;
}

/* ---- drawing ------------------------------------------------------------------------ */

enum { PW = 380, PH = 250, ML = 62, MR = 14, MT = 30, MB = 42, GAP = 16 };

static const char *color(const char *name, int i) {
  static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                        "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  if (!strcmp(name, "train"))
    return palette[0];
  if (!strcmp(name, "valid"))
    return palette[1];
  if (!strcmp(name, "test"))
    return palette[2];
  return palette[(i + 3) % 10];
}

/* A "nice" step for about n ticks over [lo, hi]: 1, 2 or 5 times a power
 * of ten. */
static double nice_step(double lo, double hi, int n) {
  double raw = (hi - lo) / n, p = pow(10, floor(log10(raw))), r = raw / p;
  return (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * p;
}

static void xml_text(FILE *f, const char *s) {
  for (; *s; s++)
    if (*s == '<')
      fputs("&lt;", f);
    else if (*s == '>')
      fputs("&gt;", f);
    else if (*s == '&')
      fputs("&amp;", f);
    else if (*s == '"')
      fputs("&quot;", f);
    else
      fputc(*s, f);
}

/* one panel at (x0, y0): frame, grid and ticks, curves, legend */
static void draw_panel(FILE *f, const Plot *pl, const Panel *p, int x0, int y0) {
  double ylo = INFINITY, yhi = -INFINITY, xlo = INFINITY, xhi = -INFINITY;
  for (int r = 0; r < pl->rows; r++) {
    xlo = fmin(xlo, pl->epoch[r]), xhi = fmax(xhi, pl->epoch[r]);
    for (int i = 0; i < p->n; i++)
      if (isfinite(p->s[i].y[r]))
        ylo = fmin(ylo, p->s[i].y[r]), yhi = fmax(yhi, p->s[i].y[r]);
  }
  if (!isfinite(ylo))
    ylo = 0, yhi = 1;
  if (yhi - ylo < 1e-12 * (fabs(yhi) + 1))
    ylo -= 0.5 * (fabs(ylo) + 1e-3), yhi += 0.5 * (fabs(yhi) + 1e-3);
  if (xhi <= xlo)
    xlo -= 1, xhi += 1;
  double pad = 0.05 * (yhi - ylo);
  ylo -= pad, yhi += pad;
  int w = PW - ML - MR, h = PH - MT - MB, px = x0 + ML, py = y0 + MT;
#define SX(v) (px + ((v) - xlo) / (xhi - xlo) * w)
#define SY(v) (py + h - ((v) - ylo) / (yhi - ylo) * h)
  fprintf(f, "<g class=\"panel\" data-group=\"");
  xml_text(f, p->group);
  fprintf(f, "\" data-title=\"");
  xml_text(f, p->title);
  fprintf(f, "\" data-x0=\"%d\" data-y0=\"%d\" data-w=\"%d\" data-h=\"%d\" data-xlo=\"%.17g\" "
             "data-xhi=\"%.17g\" data-ylo=\"%.17g\" data-yhi=\"%.17g\">\n",
          px, py, w, h, xlo, xhi, ylo, yhi);
  fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"14\" font-weight=\"bold\">", x0 + ML, y0 + 19);
  xml_text(f, p->group[0] ? p->group : "");
  fputs(p->group[0] ? ": " : "", f);
  xml_text(f, p->title);
  fputs("</text>\n", f);
  /* y grid and ticks */
  double st = nice_step(ylo, yhi, 5);
  for (double v = ceil(ylo / st) * st; v <= yhi + 1e-9 * st; v += st) {
    double y = SY(v);
    fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n", px, y,
            px + w, y);
    fprintf(f, "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%.4g</text>\n",
            px - 5, y + 4, fabs(v) < 1e-12 * st ? 0.0 : v);
  }
  /* x ticks: whole epochs */
  double sx = fmax(1, nice_step(xlo, xhi, 6));
  for (double v = ceil(xlo / sx) * sx; v <= xhi + 1e-9; v += sx) {
    double x = SX(v);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e4e4e4\"/>\n", x, py, x,
            py + h);
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%g</text>\n", x,
            py + h + 15, v);
  }
  fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\">epoch</text>\n",
          px + w / 2, py + h + 32);
  fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
             "stroke=\"#444\"/>\n", px, py, w, h);
  if (pl->best > 0 && pl->best >= xlo && pl->best <= xhi)
    fprintf(f, "<line class=\"best\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#888\" "
               "stroke-dasharray=\"4,3\"/>\n", SX((double)pl->best), py, SX((double)pl->best),
            py + h);
  /* the curves, then the legend */
  for (int i = 0; i < p->n; i++) {
    const Series *s = &p->s[i];
    const char *c = color(s->name, i);
    fprintf(f, "<polyline class=\"series\" data-name=\"");
    xml_text(f, s->name);
    fputs("\" data-values=\"", f);
    for (int r = 0; r < pl->rows; r++)
      fprintf(f, "%s%.9g", r ? "," : "", s->y[r]);
    fprintf(f, "\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", c);
    for (int r = 0, k = 0; r < pl->rows; r++)
      if (isfinite(s->y[r]))
        fprintf(f, "%s%.2f,%.2f", k++ ? " " : "", SX(pl->epoch[r]), SY(s->y[r]));
    fputs("\"/>\n", f);
    for (int r = 0; r < pl->rows && pl->rows <= 60; r++)
      if (isfinite(s->y[r]))
        fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"2.5\" fill=\"%s\"/>\n", SX(pl->epoch[r]),
                SY(s->y[r]), c);
  }
  /* the legend: in the title's line, right-aligned, right to left */
  double lx = px + w;
  for (int i = p->n - 1; i >= 0; i--) {
    double tw = 6.3 * (double)strlen(p->s[i].name);
    fprintf(f, "<g class=\"legend\"><line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
               "stroke=\"%s\" stroke-width=\"2.5\"/><text x=\"%.1f\" y=\"%d\" font-size=\"11\" "
               "text-anchor=\"end\">", lx - tw - 20, y0 + 15, lx - tw - 4, y0 + 15,
            color(p->s[i].name, i), lx, y0 + 19);
    xml_text(f, p->s[i].name);
    fputs("</text></g>\n", f);
    lx -= tw + 30;
  }
  fputs("</g>\n", f);
#undef SX
#undef SY
}

/* Panels by row: each task's, then the rest ("" group); each row's
 * panels left to right. */
static void draw(FILE *f, const Plot *pl, const char *title) {
  const char *groups[64];
  int ng = 0, cols = 1;
  for (int i = 0; i < pl->np; i++) {
    bool seen = false;
    for (int g = 0; g < ng; g++)
      seen |= !strcmp(groups[g], pl->p[i].group);
    if (!seen && ng < 64)
      groups[ng++] = pl->p[i].group;
  }
  for (int g = 0; g < ng; g++) /* the rest last */
    if (!groups[g][0] && g + 1 < ng) {
      memmove(groups + g, groups + g + 1, sizeof *groups * (size_t)(ng - g - 1));
      groups[ng - 1] = "";
      break;
    }
  for (int g = 0; g < ng; g++) {
    int k = 0;
    for (int i = 0; i < pl->np; i++)
      k += !strcmp(pl->p[i].group, groups[g]);
    cols = k > cols ? k : cols;
  }
  int width = GAP + cols * (PW + GAP), height = 40 + ng * (PH + GAP);
  fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
             "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
             "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n", width, height, width, height);
  fprintf(f, "<text x=\"%d\" y=\"24\" font-size=\"16\" font-weight=\"bold\">", GAP);
  xml_text(f, title);
  if (pl->best > 0) {
    fprintf(f, "</text>\n<text x=\"%d\" y=\"24\" font-size=\"12\" text-anchor=\"end\">"
               "dashed: the best epoch, %lld, by valid ", width - GAP, (long long)pl->best);
    xml_text(f, pl->watch);
  }
  fputs("</text>\n", f);
  for (int g = 0; g < ng; g++)
    for (int i = 0, c = 0; i < pl->np; i++)
      if (!strcmp(pl->p[i].group, groups[g]))
        draw_panel(f, pl, &pl->p[i], GAP + c++ * (PW + GAP), 36 + g * (PH + GAP));
  fputs("</svg>\n", f);
}

/* Panels in a stable order: a task's loss first, then its metrics in the
 * log's order; the learning rate only when it changes. */
static void tidy(Plot *pl) {
  for (int i = 0; i < pl->np; i++) {
    Panel *p = &pl->p[i];
    bool changes = false;
    for (int r = 1; r < pl->rows && p->n; r++)
      changes |= p->s[0].y[r] != p->s[0].y[0];
    if (!strcmp(p->title, "learning rate") && !p->group[0] && !changes) {
      for (int k = 0; k < p->n; k++)
        free(p->s[k].y);
      memmove(p, p + 1, sizeof *p * (size_t)(pl->np - i - 1));
      pl->np--, i--;
      continue;
    }
    if (!strcmp(p->title, "loss"))
      for (int j = i; j > 0 && !strcmp(pl->p[j - 1].group, p->group) &&
                      strcmp(pl->p[j - 1].title, "loss"); j--) {
        Panel t = pl->p[j];
        pl->p[j] = pl->p[j - 1], pl->p[j - 1] = t;
      }
  }
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && !strcmp(s + n - k, suffix);
}

/* An SVG file through rsvg-convert into a PNG, written whole or not at
 * all. */
static bool svg_to_png(const char *svg, const char *png) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.%d.tmp.png", png, (int)getpid());
  pid_t pid = fork();
  if (pid == 0) {
    execlp("rsvg-convert", "rsvg-convert", "-f", "png", "-o", tmp, svg, (char *)NULL);
    _exit(127);
  }
  int st = 0;
  bool ok = pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && !WEXITSTATUS(st) &&
            rename(tmp, png) == 0;
  if (!ok)
    fprintf(stderr, "mtlc: cannot write '%s': %s\n", png,
            pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 127
                ? "a PNG needs rsvg-convert (Debian: apt-get install librsvg2-bin); or write .svg"
                : "rsvg-convert failed");
  remove(tmp);
  return ok;
}

int plot_log(const char *log, const char *out) {
  bool png = ends_with(out, ".png");
  if (!png && !ends_with(out, ".svg")) {
    fprintf(stderr, "mtlc: plot writes FILE.svg or FILE.png, not '%s'\n", out);
    return 1;
  }
  Plot pl = {0};
  bool ok = read_log(log, &pl);
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.%d.tmp%s", out, (int)getpid(), png ? ".svg" : "");
  FILE *f = ok ? fopen(tmp, "w") : NULL;
  if (ok && !f)
    fprintf(stderr, "mtlc: cannot write '%s': %s\n", out, strerror(errno));
  if (f) {
    tidy(&pl);
    const char *base = strrchr(log, '/');
    draw(f, &pl, base ? base + 1 : log);
    ok = !ferror(f) & (fclose(f) == 0);
    if (!ok)
      fprintf(stderr, "mtlc: cannot write '%s': %s\n", out, strerror(errno));
    ok = ok && (png ? svg_to_png(tmp, out) : rename(tmp, out) == 0);
    remove(tmp);
  }
  for (int i = 0; i < pl.np; i++)
    for (int k = 0; k < pl.p[i].n; k++)
      free(pl.p[i].s[k].y);
  free(pl.p);
  free(pl.epoch);
  return ok && f ? 0 : 1;
}
