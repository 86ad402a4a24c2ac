/* summary.c: `mtlc summary`, what Keras' model.summary() is for a
 * multi-task model. One table for each shared block, each private block (one
 * copy per task that uses it) and each task's own layers: layer as written,
 * output shape per sample, parameters, forward FLOPs per sample (a
 * multiply-add counts 2). Then totals. It prints; it decides nothing. */
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

/* The call as written, white space folded, at most 30 characters. */
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
  if (k > 30)
    strcpy(out + 27, "...");
}

static const char *layer_text_dup(Arena *a, Model *m, Call *c) {
  char text[64];
  call_text(m, c, text, sizeof text);
  return arena_strdup(a, text);
}

static void header(FILE *out) {
  fprintf(out, "  %-32s %-16s %12s %14s\n", "layer", "output shape", "params",
          "FLOPs");
}

static void row(FILE *out, Model *m, Arena *a, const char *name, Shape sh,
                int64_t params, int64_t flops) {
  char p[32], f[32];
  fprintf(out, "  %-32s %-16s %12s %14s\n", name, sh.rank ? shape_str(a, sh) : "",
          commas(p, params), commas(f, flops));
  (void)m;
}

/* a layer with a body (residual) is a row of its totals, then its chain's
 * rows indented under it */
static void layer_rows(FILE *out, Model *m, Arena *a, Vec *layers, const char *indent) {
  char text[64];
  for (int i = 0; i < layers->len; i++) {
    Layer *l = layers->data[i];
    if (l->body.len)
      snprintf(text, sizeof text, "%s%s {", indent, l->call->name);
    else {
      size_t k = (size_t)snprintf(text, sizeof text, "%s", indent);
      call_text(m, l->call, text + k, sizeof text - k);
    }
    row(out, m, a, text, l->out, l->params, l->flops);
    if (l->body.len)
      layer_rows(out, m, a, &l->body, arena_printf(a, "%s  ", indent));
  }
}

/* "a, b and c", written straight out: linear in the number of users */
static void users(FILE *out, Block *b) {
  for (int i = 0; i < b->users.len; i++)
    fprintf(out, "%s%s", i == 0 ? "" : i == b->users.len - 1 ? " and " : ", ",
            ((Task *)b->users.data[i])->name);
}

static const char *label_text(Arena *a, Model *m, Task *t) {
  static const char *const loss[] = {"cross_entropy", "bce", "mse"};
  const char *lbl = t->label == LBL_CLASS ? arena_printf(a, "class(%lld)", (long long)t->label_n)
                    : t->label == LBL_BINARY ? "binary"
                    : arena_printf(a, "real[%lld]", (long long)t->label_n);
  const char *from = t->derive_from ? arena_printf(a, " from %s by lookup", t->derive_from->name) : "";
  if (m->balance.kind != MTL_BAL_STATIC)
    return arena_printf(a, "%s%s, %s, weighed by balance %s", lbl, from, loss[t->loss],
                        balance_text(a, &m->balance));
  return arena_printf(a, "%s%s, %s, weight %g", lbl, from, loss[t->loss], t->weight);
}

/* the balancing pass (graph/balance.c) a method other than static adds:
 * what each step computes for it, and where its solver runs */
static void balance_summary(FILE *out, Model *m, Arena *a) {
  Balance *bal = &m->balance;
  char n1[32], n2[32];
  int T = m->tasks.len;
  const char *name = bal->kind == MTL_BAL_MGDA_UB
                         ? arena_printf(a, "%s, MGDA-UB", balance_text(a, bal))
                         : balance_text(a, bal);
  fprintf(out, "\nbalance %s", name);
  for (int i = 0; i < bal->narg; i++)
    fprintf(out, "%s%g", i ? ", " : " (arguments ", bal->arg[i]);
  fprintf(out, "%s\n", bal->narg ? ")" : "");
  switch (bal->kind) {
  case MTL_BAL_UNCERTAINTY: case MTL_BAL_DWA: case MTL_BAL_RLW: case MTL_BAL_GLS:
  case MTL_BAL_FAMO:
    fprintf(out, "  each step: the forward pass; the runtime weighs the %d losses%s; one "
                 "backward pass of the weighted sum\n", T,
            bal->kind == MTL_BAL_FAMO ? "; after the update, the losses once more on the "
                                        "same batch" : "");
    break;
  case MTL_BAL_MGDA_UB: {
    Shape o = bal->on->out;
    fprintf(out, "  each step: the forward pass; each task's backward pass to %s's output "
                 "%s (its head only); the %d x %d Gramian of those gradients summed over the "
                 "batch; the runtime's solver; one backward pass through %s from the combined "
                 "gradient\n", bal->on->name, shape_str(a, o), T, T, bal->on->name);
    break;
  }
  default:
    fprintf(out, "  each step: the forward pass; each task's backward pass to the %s shared "
                 "parameters (%s floats of per-task gradients); their %d x %d Gramian; the "
                 "runtime's solver; one update with the combined gradient\n",
            commas(n1, m->shared_params), commas(n2, m->shared_params * T), T, T);
    break;
  }
  if (bal->kind == MTL_BAL_UNCERTAINTY || bal->kind == MTL_BAL_GRADNORM || bal->kind == MTL_BAL_IMTL)
    fprintf(out, "  parameter balance.loss_scale [%d], trained by the optimizer\n", T);
}

void print_summary(FILE *out, Model *m) {
  Arena *a = arena_new();
  char n1[32], n2[32];
  fprintf(out, "model %s: %d task%s, %d input%s\n", m->name, m->tasks.len,
          m->tasks.len == 1 ? "" : "s", m->inputs.len, m->inputs.len == 1 ? "" : "s");
  for (int i = 0; i < m->inputs.len; i++) {
    Input *in = m->inputs.data[i];
    fprintf(out, "  input %s: f32%s\n", in->name, shape_str(a, in->shape));
  }
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < m->blocks.len; i++) {
      Block *b = m->blocks.data[i];
      if (b->is_private != (pass == 1) || !b->users.len)
        continue;
      fprintf(out, b->is_private ? "\nprivate %s: one copy for each of " : "\nshared %s: used by ",
              b->name);
      users(out, b);
      fputc('\n', out);
      header(out);
      layer_rows(out, m, a, &b->layers, "");
      fprintf(out, "  %-32s %-16s %12s %14s\n", b->is_private ? "one copy" : "block",
              "", commas(n1, b->params), commas(n2, b->flops));
    }
  for (int i = 0; i < m->tasks.len; i++) {
    Task *t = m->tasks.data[i];
    fprintf(out, "\ntask %s: %s\n", t->name, label_text(a, m, t));
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
      layer_rows(out, m, a, &own, "");
    }
  }
  if (m->balance.kind != MTL_BAL_STATIC)
    balance_summary(out, m, a);
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
  arena_free(a);
}
