/* summary.c: `mtlc summary`, what Keras' model.summary() is for a
 * multi-task model. One table for each shared block, each private block (one
 * copy per task that uses it; a stitch's matrix, shared by the copies, in
 * its row), each experts block (one expert, a task's gate and gated sum,
 * then what is shared and what each task has) and each task's own layers:
 * layer as written, output shape per sample, parameters, forward FLOPs per
 * sample (a multiply-add counts 2). Then totals, and the embedding tables
 * (ids, width, parameters, whose ids). It prints; it decides nothing. */
#include "check/model.h"

#include <string.h>

static const char *commas(char *buf, int64_t x) {
  char tmp[32];
  int n = snprintf(tmp, sizeof tmp, "%lld", (long long)x), k = 0;
  for (int i = 0; i < n; i++) {
    buf[k++] = tmp[i];
    if (tmp[i] != '-' && (n - i - 1) % 3 == 0 && i != n - 1)
      buf[k++] = ',';
  }
  buf[k] = '\0';
  return buf;
}

/* The call as written, white space folded, whole however wide. */
static void call_text(Model *m, Call *c, char *out, size_t cap) {
  size_t k = 0;
  bool space = false;
  for (int i = c->span.lo; i < c->span.hi && k + 1 < cap; i++) {
    char ch = m->src->text[i];
    if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
      space = true;
      continue;
    }
    if (space && k && out[k - 1] != '(' && ch != ')' && ch != ',')
      out[k++] = ' ';
    space = false;
    out[k++] = ch;
  }
  out[k] = '\0';
}

static const char *layer_text_dup(Arena *a, Model *m, Call *c) {
  char *text = arena_alloc(a, (size_t)(c->span.hi - c->span.lo) + 1);
  call_text(m, c, text, (size_t)(c->span.hi - c->span.lo) + 1);
  return text;
}

const char *layer_call_text(Arena *a, Model *m, const Layer *l) {
  return l->body.len ? arena_printf(a, "%s { ... }", l->call->name)
                     : layer_text_dup(a, m, l->call);
}

/* the table's first two columns: as wide as their widest entry, at least
 * 32 and 16 */
static int name_w = 32, shape_w = 16;

static void header(FILE *out) {
  fprintf(out, "  %-*s %-*s %12s %14s\n", name_w, "layer", shape_w, "output shape", "params",
          "FLOPs");
}

static void row(FILE *out, Model *m, Arena *a, const char *name, Shape sh,
                int64_t params, int64_t flops) {
  char p[32], f[32];
  fprintf(out, "  %-*s %-*s %12s %14s\n", name_w, name, shape_w, sh.rank ? shape_str(a, sh) : "",
          commas(p, params), commas(f, flops));
  (void)m;
}

/* widens the columns for a chain's rows (bodies indented two more) */
static void widths(Model *m, Arena *a, Vec *layers, int indent) {
  for (int i = 0; i < layers->len; i++) {
    Layer *l = layers->data[i];
    int n = indent + (l->body.len || l->from
                          ? (int)strlen(l->call->name) + 2 +
                                (l->from ? (int)strlen(l->from->name) + 4 : 0)
                          : (int)strlen(layer_text_dup(a, m, l->call)));
    name_w = n > name_w ? n : name_w;
    int w = l->out.rank ? (int)strlen(shape_str(a, l->out)) : 0;
    shape_w = w > shape_w ? w : shape_w;
    widths(m, a, &l->body, indent + 2);
  }
}

/* a layer with a body (residual) is a row of its totals, then its chain's
 * rows indented under it; a stitch's parameters are its matrix, T x T for
 * the T users of block b */
static void layer_rows(FILE *out, Model *m, Arena *a, Block *b, Vec *layers, const char *indent) {
  for (int i = 0; i < layers->len; i++) {
    Layer *l = layers->data[i];
    const char *text =
        l->body.len || l->from
            ? arena_printf(a, "%s%s {%s%s", indent, l->call->name, l->from ? " " : "",
                           l->from ? arena_printf(a, "%s ->", l->from->name) : "")
            : arena_printf(a, "%s%s", indent, layer_text_dup(a, m, l->call));
    int64_t T = b ? b->users.len : 0;
    bool stitch = layer_rules[l->kind].flags & LF_ACROSS_TASKS;
    row(out, m, a, text, l->out, stitch ? T * T : l->params, l->flops);
    if (l->body.len || l->from)
      layer_rows(out, m, a, b, &l->body, arena_printf(a, "%s  ", indent));
  }
}

/* "a, b and c", written straight out: linear in the number of users */
static void users(FILE *out, Block *b) {
  for (int i = 0; i < b->users.len; i++)
    fprintf(out, "%s%s", i == 0 ? "" : i == b->users.len - 1 ? " and " : ", ",
            ((Task *)b->users.data[i])->name);
}

static const char *label_text(Arena *a, Task *t) {
  static const char *const loss[] = {"cross_entropy", "bce", "mse"};
  const char *lbl = t->label == LBL_CLASS ? arena_printf(a, "class(%lld)", (long long)t->label_n)
                    : t->label == LBL_BINARY ? "binary"
                    : arena_printf(a, "real[%lld]", (long long)t->label_n);
  const char *from = t->derive_from ? arena_printf(a, " from %s by lookup", t->derive_from->name) : "";
  return arena_printf(a, "%s%s, %s, weight %g", lbl, from, loss[t->loss], t->weight);
}

/* Every embedding table: one per shared layer, one per task's copy; its
 * ids, its width, its parameters and the input whose ids it reads. */
static void embedding_tables(FILE *out, Model *m, Arena *a) {
  char n1[32], n2[32], n3[32];
  bool any = false;
  for (int i = 0; i < m->vals.len; i++) {
    NetVal *v = m->vals.data[i];
    if (v->kind != NV_LAYER || !(layer_rules[v->layer->kind].flags & LF_IDS))
      continue;
    if (!any)
      fprintf(out, "\n%-32s %10s %8s %12s  %s\n", "embedding tables", "ids", "dim", "params",
              "ids of");
    any = true;
    const char *owner = v->block ? (v->copy ? arena_printf(a, "%s.%s", v->block->name,
                                                           v->copy->name) : v->block->name)
                                 : v->copy->name;
    Layer *l = v->layer;
    fprintf(out, "  %-30s %10s %8s %12s  %s\n", arena_printf(a, "%s.%s", owner, l->path),
            commas(n1, l->vocab), commas(n2, l->out.d[1]), commas(n3, l->params),
            ((NetVal *)v->in.data[0])->input->name);
  }
}

static const char *plural(Arena *a, int64_t n, const char *what) {
  return arena_printf(a, "%lld %s%s", (long long)n, what, n == 1 ? "" : "s");
}

/* one expert's layers, a task's gate and gated sum, then the shared
 * experts (once per distinct input) and what each task has of its own */
static void experts_table(FILE *out, Model *m, Arena *a, Block *b) {
  char n1[32], n2[32];
  int64_t K = b->count + b->nprivate;
  fprintf(out, "\nexperts %s: %s shared by ", b->name, plural(a, b->count, "expert"));
  users(out, b);
  if (b->nprivate)
    fprintf(out, "; %s of each task's own", plural(a, b->nprivate, "expert"));
  fprintf(out, "\n");
  header(out);
  layer_rows(out, m, a, NULL, &b->layers, "");
  row(out, m, a, "one expert", (Shape){0}, b->params, b->flops);
  row(out, m, a, arena_printf(a, "gate: dense(%lld) softmax", (long long)K),
      (Shape){1, {K}}, b->gate_params, b->gate_flops);
  row(out, m, a, arena_printf(a, "gated sum of %lld", (long long)K), b->out, 0, b->sum_flops);
  fprintf(out, "  %-32s %-16s %12s %14s\n",
          arena_printf(a, "shared: %s", plural(a, b->count, "expert")), "",
          commas(n1, b->count * b->params), commas(n2, b->count * b->flops));
  const char *own = b->nprivate ? arena_printf(a, "%s, gate, sum", plural(a, b->nprivate, "expert"))
                                : "gate, sum";
  fprintf(out, "  %-32s %-16s %12s %14s\n", arena_printf(a, "each task: %s", own), "",
          commas(n1, b->nprivate * b->params + b->gate_params),
          commas(n2, b->nprivate * b->flops + b->gate_flops + b->sum_flops));
}

void print_summary(FILE *out, Model *m) {
  Arena *a = arena_new();
  char n1[32], n2[32];
  name_w = 32, shape_w = 16;
  for (int i = 0; i < m->blocks.len; i++)
    widths(m, a, &((Block *)m->blocks.data[i])->layers, 0);
  for (int i = 0; i < m->tasks.len; i++) {
    Task *t = m->tasks.data[i];
    for (int j = 0; j < t->steps.len; j++)
      if (((Step *)t->steps.data[j])->layer) {
        Vec one = {0};
        vec_push(a, &one, ((Step *)t->steps.data[j])->layer);
        widths(m, a, &one, 0);
      }
  }
  fprintf(out, "model %s: %d task%s, %d input%s\n", m->name, m->tasks.len,
          m->tasks.len == 1 ? "" : "s", m->inputs.len, m->inputs.len == 1 ? "" : "s");
  for (int i = 0; i < m->inputs.len; i++) {
    Input *in = m->inputs.data[i];
    fprintf(out, "  input %s: %s%s\n", in->name, dtype_name(in->dtype), shape_str(a, in->shape));
  }
  for (int pass = 0; pass < 3; pass++)
    for (int i = 0; i < m->blocks.len; i++) {
      Block *b = m->blocks.data[i];
      int kind = b->is_experts ? 2 : b->is_private;
      if (kind != pass || !b->users.len)
        continue;
      if (b->is_experts) {
        experts_table(out, m, a, b);
        continue;
      }
      fprintf(out, b->is_private ? "\nprivate %s: one copy for each of " : "\nshared %s: used by ",
              b->name);
      users(out, b);
      if (b->stitch_params)
        fprintf(out, "; its stitches' matrices (%s parameters) are shared by the copies",
                commas(n1, b->stitch_params));
      fputc('\n', out);
      header(out);
      layer_rows(out, m, a, b, &b->layers, "");
      fprintf(out, "  %-*s %-*s %12s %14s\n", name_w, b->is_private ? "one copy" : "block",
              shape_w, "", commas(n1, b->params), commas(n2, b->flops));
    }
  for (int i = 0; i < m->tasks.len; i++) {
    Task *t = m->tasks.data[i];
    fprintf(out, "\ntask %s: %s\n", t->name, label_text(a, t));
    char *net = arena_strdup(a, t->input->name);
    Vec own = {0};
    for (int j = 0; j < t->steps.len; j++) {
      Step *st = t->steps.data[j];
      net = arena_printf(a, "%s -> %s", net,
                         st->block ? st->block->name
                                   : layer_text_dup(a, m, st->layer->call));
      if (st->layer)
        vec_push(a, &own, st->layer);
    }
    fprintf(out, "  net: %s\n", net);
    if (own.len) {
      header(out);
      layer_rows(out, m, a, NULL, &own, "");
    }
  }
  fprintf(out, "\n%-20s %14s %16s\n", "totals", "params", "forward FLOPs");
  fprintf(out, "%-20s %14s\n", "  shared", commas(n1, m->shared_params));
  for (int i = 0; i < m->tasks.len; i++) {
    Task *t = m->tasks.data[i];
    fprintf(out, "%-20s %14s %16s\n", arena_printf(a, "  task %s", t->name),
            commas(n1, t->own_params), commas(n2, t->flops));
  }
  fprintf(out, "%-20s %14s %16s\n", "  whole model", commas(n1, m->total_params),
          commas(n2, m->total_flops));
  fprintf(out, "(a task's FLOPs run from its input to its head; the whole "
               "model counts shared work once)\n");
  embedding_tables(out, m, a);
  arena_free(a);
}
