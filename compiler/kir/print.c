/* kir/print.c: the kernel IR's text form, `mtlc kir SPEC`: each distinct
 * kernel once, its parameters with their element types and whether it
 * reads or writes them, its body in C-like notation; then each program as
 * its list of calls, with the buffers the calls pass (group + offset, the
 * program's arena + offset, the caller's arrays). A kernel's text without
 * its name and comment is also its identity: two bodies with one text are
 * one kernel. Golden files under tests/kir/ hold it per spec. */
#include "kir/kir.h"
#include "mtl_kernel.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

typedef struct {
  Arena *a;
  char *s;
  size_t n, cap;
} Text;

static void put(Text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(Text *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (t->n + (size_t)k + 1 > t->cap) {
    size_t cap = (t->n + (size_t)k + 1) * 2;
    char *s = arena_alloc(t->a, cap);
    if (t->s)
      memcpy(s, t->s, t->n);
    t->s = s, t->cap = cap;
  }
  va_start(ap, fmt);
  vsnprintf(t->s + t->n, t->cap - t->n, fmt, ap);
  va_end(ap);
  t->n += (size_t)k;
}

static void expr(Text *t, const Kernel *k, const Expr *e) {
  static const char *const ops[] = {[XB_ADD] = "+", [XB_SUB] = "-", [XB_MUL] = "*",
                                    [XB_DIV] = "/", [XB_REM] = "%", [XB_LT] = "<",
                                    [XB_LE] = "<=", [XB_GT] = ">", [XB_GE] = ">=",
                                    [XB_EQ] = "==", [XB_AND] = "&&", [XB_MAX] = "max",
                                    [XB_MIN] = "min"};
  static const char *const un[] = {[XU_NEG] = "-", [XU_EXP] = "exp", [XU_LOG] = "log",
                                   [XU_LOG1P] = "log1p", [XU_TANH] = "tanh", [XU_SQRT] = "sqrt",
                                   [XU_ABS] = "abs", [XU_ERF] = "erf"};
  switch (e->kind) {
  case X_F:
    if (isinf(e->f))
      put(t, "%s", e->f < 0 ? "-inf" : "inf");
    else
      put(t, "%.9gf", (double)(float)e->f);
    return;
  case X_I: put(t, "%lld", (long long)e->i); return;
  case X_VAR: put(t, "i%lld", (long long)e->i); return;
  case X_LOCAL:
    put(t, "l%lld", (long long)e->i);
    if (e->a) {
      put(t, "[");
      expr(t, k, e->a);
      put(t, "]");
    }
    return;
  case X_BATCH: put(t, "B"); return;
  case X_LOAD:
    put(t, "%s[", k->params[e->arg].name);
    expr(t, k, e->a);
    put(t, "]");
    return;
  case X_BIN:
    if (e->op == XB_MAX || e->op == XB_MIN) {
      put(t, "%s(", ops[e->op]);
      expr(t, k, e->a);
      put(t, ", ");
      expr(t, k, e->b);
      put(t, ")");
      return;
    }
    put(t, "(");
    expr(t, k, e->a);
    put(t, " %s ", ops[e->op]);
    expr(t, k, e->b);
    put(t, ")");
    return;
  case X_UN:
    put(t, "%s(", un[e->op]);
    expr(t, k, e->a);
    put(t, ")");
    return;
  case X_SEL:
    put(t, "(");
    expr(t, k, e->a);
    put(t, " ? ");
    expr(t, k, e->b);
    put(t, " : ");
    expr(t, k, e->c);
    put(t, ")");
    return;
  case X_TOF: put(t, "f32("); expr(t, k, e->a); put(t, ")"); return;
  case X_TOI: put(t, "i64("); expr(t, k, e->a); put(t, ")"); return;
  }
  unreachable();
}

static void stmts(Text *t, const Kernel *k, const Vec *body, int depth);

static void operand(Text *t, const Kernel *k, int arg, const Expr *off) {
  put(t, "%s", k->params[arg].name);
  if (!(off->kind == X_I && off->i == 0)) {
    put(t, " + ");
    expr(t, k, off);
  }
}

static void stmt(Text *t, const Kernel *k, const Stmt *s, int depth) {
  put(t, "%*s", 2 * depth, "");
  switch (s->kind) {
  case K_FOR:
    put(t, "for i%d < ", s->var);
    expr(t, k, s->hi);
    put(t, " {\n");
    stmts(t, k, &s->body, depth + 1);
    put(t, "%*s}\n", 2 * depth, "");
    return;
  case K_STORE:
    put(t, "%s[", k->params[s->arg].name);
    expr(t, k, s->idx);
    put(t, s->accum ? "] += " : "] = ");
    expr(t, k, s->val);
    put(t, "\n");
    return;
  case K_LOCAL:
    if (s->n) {
      put(t, "f32 l%d[%lld]\n", s->var, (long long)s->n);
      return;
    }
    put(t, "%s l%d = ", s->is_int ? "i64" : "f32", s->var);
    expr(t, k, s->val);
    put(t, "\n");
    return;
  case K_SET:
    put(t, "l%d", s->var);
    if (s->idx) {
      put(t, "[");
      expr(t, k, s->idx);
      put(t, "]");
    }
    put(t, " = ");
    expr(t, k, s->val);
    put(t, "\n");
    return;
  case K_GEMM:
    put(t, "gemm%s%s(M=", s->ta ? "_t" : "_n", s->tb ? "t" : "n");
    expr(t, k, s->M);
    put(t, ", N=");
    expr(t, k, s->N);
    put(t, ", K=");
    expr(t, k, s->K);
    put(t, ", A=");
    operand(t, k, s->A, s->offa);
    put(t, " ld ");
    expr(t, k, s->lda);
    put(t, ", B=");
    operand(t, k, s->B, s->offb);
    put(t, " ld ");
    expr(t, k, s->ldb);
    put(t, ", C%s", s->beta == 0 ? "=" : "+=");
    operand(t, k, s->C, s->offc);
    put(t, " ld ");
    expr(t, k, s->ldc);
    put(t, ")\n");
    return;
  case K_DROPOUT:
    put(t, "dropout_mask(%s, n=", k->params[s->arg].name);
    expr(t, k, s->val);
    put(t, ", p=%.9g, stream=%lld)\n", (double)(float)s->p, (long long)s->stream);
    return;
  case K_SYNC:
    put(t, "sync_%s(%s, n=", s->mode == MTL_SYNC_SUM ? "sum" : "share", k->params[s->arg].name);
    expr(t, k, s->val);
    put(t, ")\n");
    return;
  }
  unreachable();
}

static void stmts(Text *t, const Kernel *k, const Vec *body, int depth) {
  for (int i = 0; i < body->len; i++)
    stmt(t, k, body->data[i], depth);
}

/* "(out: f32 w, x: f32 r, ..., B, seed) {" and the body */
static void kernel_text(Text *t, const Kernel *k) {
  put(t, "(");
  for (int i = 0; i < k->nparams; i++) {
    const KParam *p = &k->params[i];
    put(t, "%s%s: %s %s%s", i ? ", " : "", p->name, dtype_name(p->dtype), p->read ? "r" : "",
        p->written ? "w" : "");
  }
  put(t, "%s%s) {\n", k->uses_batch ? ", B" : "", k->uses_seed ? ", seed" : "");
  stmts(t, k, &k->body, 1);
  put(t, "}\n");
}

char *kir_kernel_text(Arena *a, const Kernel *k) {
  Text t = {a, NULL, 0, 0};
  kernel_text(&t, k);
  return t.s;
}

const char *kir_buf_ref(Arena *a, const Program *p, const Buf *b) {
  switch (b->kind) {
  case BUF_PARAM: return arena_printf(a, "params + %lld", (long long)b->offset);
  case BUF_GRAD: return arena_printf(a, "grads + %lld", (long long)b->offset);
  case BUF_STATE: return arena_printf(a, "state + %lld", (long long)b->offset);
  case BUF_STAT: return arena_printf(a, "stats + %lld", (long long)b->offset);
  case BUF_ACT: return arena_printf(a, "act + %lld", (long long)p->offset[b->id]);
  case BUF_DATA: return arena_printf(a, "data[%d]", b->index);
  case BUF_OUT: return arena_printf(a, "outputs[%d]", b->index);
  case BUF_LOSS: return arena_printf(a, "losses + %d", b->index);
  case BUF_HYPER: return arena_printf(a, "hyper + %d", b->index);
  case BUF_CONST: return b->name;
  case BUF_BAL: return arena_printf(a, "bal + %lld", (long long)b->offset);
  }
  unreachable();
  return NULL;
}

void kir_print(FILE *out, Unit *u) {
  Arena *a = u->a;
  fprintf(out, "unit %s  # batch at most %lld; floats: params %lld, state %lld, stats %lld, "
          "act %lld; hyper %d", u->m->name, (long long)u->batch_max, (long long)u->n_params,
          (long long)u->n_state, (long long)u->n_stats, (long long)u->n_act, u->n_hyper);
  if (u->m->balance.kind != MTL_BAL_STATIC)
    fprintf(out, "; bal %lld; balance %s", (long long)u->n_bal, balance_text(a, &u->m->balance));
  fputc('\n', out);
  for (int i = 0; i < u->bufs.len; i++) {
    Buf *b = u->bufs.data[i];
    if (b->kind != BUF_CONST)
      continue;
    fprintf(out, "\ntable %s: i32[%d] = {", b->name, b->ntable);
    for (int j = 0; j < b->ntable; j++)
      fprintf(out, "%s%d", j ? ", " : "", b->table[j]);
    fputs("}\n", out);
  }
  for (int i = 0; i < u->kernels.len; i++) {
    Kernel *k = u->kernels.data[i];
    fprintf(out, "\n# %s\nkernel %s%s", k->comment, k->name, k->key);
  }
  Program *progs[3] = {u->train, u->eval, u->forward};
  for (int q = 0; q < 3; q++) {
    Program *p = progs[q];
    if (!p)
      continue;
    fprintf(out, "\nprogram %s  # %d calls, arena %lld floats\n", p->name, p->calls.len,
            (long long)p->act_size);
    for (int c = 0; c < p->calls.len; c++) {
      KCall *call = p->calls.data[c];
      if (p->g->split && p->kind == PROG_TRAIN && c == p->split)
        fputs("  # train_begin ends: the balancer reads bal[] and writes the weights into "
              "hyper[]; train_end:\n", out);
      fprintf(out, "  %s(", call->k->name);
      for (int j = 0; j < call->k->nparams; j++)
        fprintf(out, "%s%s", j ? ", " : "", kir_buf_ref(a, p, call->args[j]));
      fputs(")\n", out);
    }
  }
}

void infer_print(FILE *out, const Infer *inf) {
  static const char *const kinds[] = {[IW_COPY] = "copy", [IW_TRANSPOSE] = "transpose",
                                      [IW_FOLD_WEIGHT] = "fold weight", [IW_FOLD_BIAS] = "fold bias"};
  kir_print(out, inf->u);
  fprintf(out, "\nweights  # %lld floats, layout hash %016llx of model hash %016llx\n",
          (long long)inf->n_weights, (unsigned long long)inf->weights_hash,
          (unsigned long long)inf->model_hash);
  for (int i = 0; i < inf->weights.len; i++) {
    const InferWeight *w = inf->weights.data[i];
    char sh[96];
    shape_text(sh, sizeof sh, w->shape);
    fprintf(out, "  %lld: %s %s = %s(%s", (long long)w->offset, w->name, sh, kinds[w->kind],
            w->src ? w->src : "0");
    if (w->kind == IW_FOLD_WEIGHT || w->kind == IW_FOLD_BIAS)
      fprintf(out, "; %s, %s, %s, %s, eps %g", w->gamma, w->beta, w->mean, w->var, w->eps);
    fputs(")\n", out);
  }
  fprintf(out, "\ninputs  # %lld bytes\n", (long long)inf->in_bytes);
  for (int i = 0; i < inf->inputs.len; i++) {
    const InferInput *in = inf->inputs.data[i];
    fprintf(out, "  %lld: %s %s[%lld]\n", (long long)in->offset, in->name, dtype_name(in->dtype),
            (long long)in->width);
  }
  fprintf(out, "\noutputs  # %lld bytes; workspace %lld bytes\n", (long long)inf->out_bytes,
          (long long)inf->workspace_bytes);
  for (int i = 0; i < inf->outputs.len; i++) {
    const InferOutput *o = inf->outputs.data[i];
    fprintf(out, "  %lld: %s %s[%lld]\n", (long long)o->offset, o->name, dtype_name(o->dtype),
            (long long)o->width);
  }
}
