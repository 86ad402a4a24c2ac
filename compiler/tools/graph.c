/* tools/graph.c: `mtlc graph SPEC -o FILE`, the checked model's dataflow
 * nets as a Graphviz graph: FILE.dot as text, FILE.svg or FILE.png through
 * `dot`. Inputs at the top; a shared block's values in one cluster outside
 * every task (filled, and named with the tasks that share it); one cluster
 * per task holding its private copies (a cluster each) and its own layers,
 * down to its head and its loss; an experts block's shared experts in a
 * cluster each inside the block's, and each task's gate, gated sum and own
 * experts in a cluster of that task; residual joins as "+"; each edge labelled
 * with the shape that flows on it; a regularizer as a note tied to what it
 * pulls together. It draws the model; it checks nothing. */
#include "tools/tools.h"

#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void dot_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      fputc('\\', f);
    if (*s == '\n')
      fputs("\\n", f);
    else
      fputc(*s, f);
  }
  fputc('"', f);
}

/* the cluster a value is drawn in: 0 none (an input), 1 a shared block's,
 * 2 a task's own layer, 3 a task's copy of a private block */
static int place(const NetVal *v) {
  if (v->kind == NV_INPUT)
    return 0;
  if (v->block && !v->copy)
    return 1;
  return v->block ? 3 : 2;
}

static void node(FILE *f, Arena *a, Model *m, const NetVal *v, const char *indent) {
  fprintf(f, "%sv%d [label=", indent, v->id);
  if (v->kind == NV_INPUT) {
    dot_str(f, arena_printf(a, "input %s\n%s%s", v->input->name, dtype_name(v->input->dtype),
                            shape_str(a, v->input->shape)));
    fputs(", shape=box, style=\"rounded,filled\", fillcolor=\"#dbe9f6\"];\n", f);
  } else if (v->kind == NV_ADD) {
    fputs("\"+\", shape=circle, width=0.3];\n", f);
  } else if (v->kind == NV_CONCAT) {
    fputs("\"concat\", shape=circle, width=0.3];\n", f);
  } else if (v->kind == NV_GATE) {
    dot_str(f, arena_printf(a, "gate: dense(%lld) softmax",
                            (long long)(v->block->count + v->block->nprivate)));
    fputs(", shape=box, style=filled, fillcolor=\"#e2f0d9\"];\n", f);
  } else if (v->kind == NV_MIX) {
    fputs("\"gated sum\", shape=invtrapezium, style=filled, fillcolor=\"#e2f0d9\"];\n", f);
  } else {
    dot_str(f, layer_call_text(a, m, v->layer));
    fputs(", shape=box];\n", f);
  }
}

/* the values of one cluster: a shared block (task NULL), a task's own
 * layers (block NULL) or a task's copy of a private block (or its part of
 * an experts block); expert > 0: only that shared expert's */
static void values(FILE *f, Arena *a, Model *m, Block *b, Task *t, int expert,
                   const char *indent) {
  for (int i = 0; i < m->vals.len; i++) {
    NetVal *v = m->vals.data[i];
    int pl = place(v);
    if (((pl == 1 && !t && v->block == b) || (pl == 2 && !b && v->copy == t) ||
         (pl == 3 && b && v->block == b && v->copy == t)) &&
        (!expert || v->expert == expert))
      node(f, a, m, v, indent);
  }
}

static bool copies(Model *m, Block *b, Task *t) {
  for (int i = 0; i < m->vals.len; i++) {
    NetVal *v = m->vals.data[i];
    if (place(v) == 3 && v->block == b && v->copy == t)
      return true;
  }
  return false;
}

static const char *users(Arena *a, Block *b) {
  const char *s = "";
  for (int i = 0; i < b->users.len; i++)
    s = arena_printf(a, "%s%s%s", s, i ? ", " : "", ((Task *)b->users.data[i])->name);
  return s;
}

static void task_cluster(FILE *f, Arena *a, Model *m, Task *t) {
  static const char *const loss[] = {"cross_entropy", "bce", "mse"};
  fprintf(f, "  subgraph cluster_task_%d {\n    label=", t->index);
  dot_str(f, arena_printf(a, "task %s", t->name));
  fputs(";\n    style=rounded; color=\"#555555\";\n", f);
  for (int i = 0; i < m->blocks.len; i++) {
    Block *b = m->blocks.data[i];
    if (!(b->is_private || b->is_experts) || !copies(m, b, t))
      continue;
    fprintf(f, "    subgraph cluster_copy_%d_%d {\n      label=", t->index, i);
    dot_str(f, b->is_experts
                   ? arena_printf(a, "experts %s: %s's gate%s and gated sum", b->name, t->name,
                                  b->nprivate ? ", own experts" : "")
                   : arena_printf(a, "private %s: %s's copy", b->name, t->name));
    fputs(";\n      style=\"dashed,filled\"; fillcolor=\"#f3f3f3\";\n", f);
    values(f, a, m, b, t, 0, "      ");
    fputs("    }\n", f);
  }
  values(f, a, m, NULL, t, 0, "    ");
  const char *lbl = t->label == LBL_CLASS ? arena_printf(a, "class(%lld)", (long long)t->label_n)
                    : t->label == LBL_BINARY ? "binary"
                    : arena_printf(a, "real[%lld]", (long long)t->label_n);
  fprintf(f, "    loss%d [label=", t->index);
  dot_str(f, arena_printf(a, "%s loss: %s\nlabel %s%s%s\nweight %g", t->name, loss[t->loss], lbl,
                          t->derive_from ? " = lookup of " : "",
                          t->derive_from ? t->derive_from->name : "", t->weight));
  fputs(", shape=ellipse, style=filled, fillcolor=\"#fde7d2\"];\n  }\n", f);
}

static void edges(FILE *f, Arena *a, Model *m) {
  for (int i = 0; i < m->vals.len; i++) {
    NetVal *v = m->vals.data[i];
    for (int k = 0; k < v->in.len; k++) {
      NetVal *x = v->in.data[k];
      fprintf(f, "  v%d -> v%d [label=", x->id, v->id);
      dot_str(f, arena_printf(a, " %s", shape_str(a, x->shape)));
      fputs("];\n", f);
    }
  }
  for (int i = 0; i < m->tasks.len; i++) {
    Task *t = m->tasks.data[i];
    if (!t->net)
      continue;
    fprintf(f, "  v%d -> loss%d [label=", t->net->id, i);
    dot_str(f, arena_printf(a, " %s", shape_str(a, t->out)));
    fputs("];\n", f);
  }
}

/* a regularizer: a note, tied with dotted lines to the first value of each
 * copy it pulls together (l2_distance) or of the block it decays (l2) */
static void regularizers(FILE *f, Arena *a, Model *m) {
  for (int r = 0; r < m->regs.len; r++) {
    Regularizer *g = m->regs.data[r];
    fprintf(f, "  reg%d [label=", r);
    dot_str(f, arena_printf(a, "%s(%s%slambda=%g)", g->kind == REG_L2_DISTANCE ? "l2_distance" : "l2",
                            g->block ? g->block->name : "", g->block ? ", " : "", g->lambda));
    fputs(", shape=note, style=filled, fillcolor=\"#eeeeee\"];\n", f);
    for (int t = 0; g->block && t < m->tasks.len; t++)
      for (int i = 0; i < m->vals.len; i++) {
        NetVal *v = m->vals.data[i];
        if (v->block == g->block && (v->copy == m->tasks.data[t] || !v->copy) &&
            v->kind == NV_LAYER) {
          fprintf(f, "  reg%d -> v%d [style=dotted, arrowhead=none, constraint=false];\n", r,
                  v->id);
          break;
        }
      }
  }
}

static void write_dot(FILE *f, Arena *a, Model *m) {
  fputs("digraph ", f);
  dot_str(f, m->name);
  fputs(" {\n  rankdir=TB; newrank=true; compound=true;\n"
        "  node [fontname=\"Helvetica\", fontsize=11];\n"
        "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#555555\"];\n"
        "  graph [fontname=\"Helvetica\", fontsize=12];\n  label=", f);
  dot_str(f, arena_printf(a, "model %s: %d task%s", m->name, m->tasks.len,
                          m->tasks.len == 1 ? "" : "s"));
  fputs("; labelloc=t;\n", f);
  for (int i = 0; i < m->vals.len; i++)
    if (place(m->vals.data[i]) == 0)
      node(f, a, m, m->vals.data[i], "  ");
  for (int i = 0; i < m->blocks.len; i++) {
    Block *b = m->blocks.data[i];
    if (b->is_private || !b->users.len)
      continue;
    fprintf(f, "  subgraph cluster_shared_%d {\n    label=", i);
    dot_str(f, b->is_experts ? arena_printf(a, "experts %s: %lld shared, used by %s", b->name,
                                            (long long)b->count, users(a, b))
                             : arena_printf(a, "shared %s: one copy, used by %s", b->name,
                                            users(a, b)));
    fputs(";\n    style=\"rounded,filled\"; fillcolor=\"#fff4c2\"; color=\"#b59b00\"; "
          "penwidth=2;\n", f);
    for (int k = 1; b->is_experts && k <= b->count; k++) {
      fprintf(f, "    subgraph cluster_expert_%d_%d {\n      label=\"expert %d\"; style=dashed;\n",
              i, k, k);
      values(f, a, m, b, NULL, k, "      ");
      fputs("    }\n", f);
    }
    if (!b->is_experts)
      values(f, a, m, b, NULL, 0, "    ");
    fputs("  }\n", f);
  }
  for (int i = 0; i < m->tasks.len; i++)
    task_cluster(f, a, m, m->tasks.data[i]);
  edges(f, a, m);
  regularizers(f, a, m);
  fputs("}\n", f);
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && !strcmp(s + n - k, suffix);
}

/* dot -TFORMAT -o out in; 127: no dot */
static int run_dot(const char *format, const char *in, const char *out) {
  pid_t pid = fork();
  if (pid == 0) {
    char t[16];
    snprintf(t, sizeof t, "-T%s", format);
    execlp("dot", "dot", t, "-o", out, in, (char *)NULL);
    _exit(127);
  }
  int st = 0;
  if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
    return 1;
  return WEXITSTATUS(st);
}

int model_graph(Arena *a, Model *m, const char *out) {
  const char *format = ends_with(out, ".svg") ? "svg" : ends_with(out, ".png") ? "png"
                       : ends_with(out, ".dot") ? "dot" : NULL;
  if (!format) {
    fprintf(stderr, "mtlc: graph writes FILE.svg, FILE.png or FILE.dot, not '%s'\n", out);
    return 1;
  }
  const char *dot = arena_printf(a, "%s.%d.tmp.dot", out, (int)getpid());
  const char *img = arena_printf(a, "%s.%d.tmp.%s", out, (int)getpid(), format);
  FILE *f = fopen(dot, "w");
  if (!f) {
    fprintf(stderr, "mtlc: cannot write '%s': %s\n", out, strerror(errno));
    return 1;
  }
  write_dot(f, a, m);
  bool ok = !ferror(f) & (fclose(f) == 0);
  int rc = ok && strcmp(format, "dot") ? run_dot(format, dot, img) : 0;
  ok = ok && !rc && rename(strcmp(format, "dot") ? img : dot, out) == 0;
  if (!ok)
    fprintf(stderr, "mtlc: cannot write '%s': %s\n", out,
            rc == 127 ? "an SVG or PNG needs Graphviz's dot (Debian: apt-get install graphviz); "
                        "or write FILE.dot"
            : rc ? "dot failed" : strerror(errno));
  remove(dot);
  remove(img);
  return ok ? 0 : 1;
}
