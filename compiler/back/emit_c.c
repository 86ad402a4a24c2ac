/* back/emit_c.c: renders a unit (kir/kir.h) as standalone C: NAME.h (the
 * API, sizes, the data layout) and NAME.c (one static function per
 * distinct kernel, taking its buffers as parameters, each preceded by a
 * comment saying what it computes and which spec line it came from; entry
 * points that are flat call sequences; the model's self-description for
 * the runtime, written from back/abi.c's description of MtlModelInfo). With
 * --main, main.c: a trainer built on the runtime's trainer layer. The
 * output compiles cleanly with cc -std=c11 -Wall -Wextra -Werror. Nothing
 * here decides what to compute: kir/ does. */
#include "back/abi.h"
#include "back/back.h"
#include "mtl_kernel.h"
#include "mtl_write.h"

#include <errno.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
  FILE *out;
  const Kernel *k;
} EC;

/* ---- expressions ------------------------------------------------------------------ */

void emitc_float(FILE *out, double f) {
  if (isnan(f)) {
    fputs("NAN", out);
    return;
  }
  if (isinf(f)) {
    fputs(f < 0 ? "-INFINITY" : "INFINITY", out);
    return;
  }
  char buf[48];
  snprintf(buf, sizeof buf, "%.9g", (double)(float)f);
  if (!strpbrk(buf, ".en"))
    strcat(buf, ".0");
  fprintf(out, "%sf", buf);
}

static void expr(EC *ec, const Expr *e) {
  FILE *out = ec->out;
  static const char *const ops[] = {[XB_ADD] = "+", [XB_SUB] = "-", [XB_MUL] = "*",
                                    [XB_DIV] = "/", [XB_REM] = "%", [XB_LT] = "<",
                                    [XB_LE] = "<=", [XB_GT] = ">", [XB_GE] = ">=",
                                    [XB_EQ] = "==", [XB_AND] = "&&"};
  switch (e->kind) {
  case X_F: emitc_float(out, e->f); return;
  case X_I: fprintf(out, "%lld", (long long)e->i); return;
  case X_VAR: fprintf(out, "i%lld", (long long)e->i); return;
  case X_LOCAL:
    fprintf(out, "l%lld", (long long)e->i);
    if (e->a) {
      fputc('[', out);
      expr(ec, e->a);
      fputc(']', out);
    }
    return;
  case X_BATCH: fputs("B", out); return;
  case X_LOAD:
    fprintf(out, "%s[", ec->k->params[e->arg].name);
    expr(ec, e->a);
    fputc(']', out);
    return;
  case X_BIN:
    if (e->op == XB_MAX || e->op == XB_MIN) {
      fputs(e->a->is_int ? (e->op == XB_MAX ? "imax(" : "imin(")
                         : (e->op == XB_MAX ? "fmax_(" : "fmin_("), out);
      expr(ec, e->a);
      fputs(", ", out);
      expr(ec, e->b);
      fputc(')', out);
      return;
    }
    fputc('(', out);
    expr(ec, e->a);
    fprintf(out, " %s ", ops[e->op]);
    expr(ec, e->b);
    fputc(')', out);
    return;
  case X_UN: {
    static const char *const f[] = {[XU_NEG] = "-", [XU_EXP] = "expf", [XU_LOG] = "logf",
                                    [XU_LOG1P] = "log1pf", [XU_TANH] = "tanhf",
                                    [XU_SQRT] = "sqrtf", [XU_ABS] = "fabsf", [XU_ERF] = "erff"};
    fprintf(out, "%s(", e->op == XU_ABS && e->is_int ? "llabs" : f[e->op]);
    expr(ec, e->a);
    fputc(')', out);
    return;
  }
  case X_SEL:
    fputc('(', out);
    expr(ec, e->a);
    fputs(" ? ", out);
    expr(ec, e->b);
    fputs(" : ", out);
    expr(ec, e->c);
    fputc(')', out);
    return;
  case X_TOF:
    fputs("(float)", out);
    expr(ec, e->a);
    return;
  case X_TOI:
    fputs("(int64_t)", out);
    expr(ec, e->a);
    return;
  }
  unreachable();
}

/* ---- statements ------------------------------------------------------------------ */

static void indent(FILE *out, int depth) {
  for (int i = 0; i < depth; i++)
    fputs("  ", out);
}

static void stmts(EC *ec, const Vec *body, int depth);

static void gemm_operand(EC *ec, int arg, const Expr *off) {
  fputs(ec->k->params[arg].name, ec->out);
  if (!(off->kind == X_I && off->i == 0)) {
    fputs(" + ", ec->out);
    expr(ec, off);
  }
}

static void stmt(EC *ec, const Stmt *s, int depth) {
  FILE *out = ec->out;
  indent(out, depth);
  switch (s->kind) {
  case K_FOR:
    fprintf(out, "for (int64_t i%d = 0; i%d < ", s->var, s->var);
    expr(ec, s->hi);
    fprintf(out, "; i%d++) {\n", s->var);
    stmts(ec, &s->body, depth + 1);
    indent(out, depth);
    fputs("}\n", out);
    return;
  case K_STORE:
    fprintf(out, "%s[", ec->k->params[s->arg].name);
    expr(ec, s->idx);
    fputs(s->accum ? "] += " : "] = ", out);
    expr(ec, s->val);
    fputs(";\n", out);
    return;
  case K_LOCAL:
    if (s->n) {
      fprintf(out, "float l%d[%lld];\n", s->var, (long long)s->n);
      return;
    }
    fprintf(out, "%s l%d = ", s->is_int ? "int64_t" : "float", s->var);
    expr(ec, s->val);
    fputs(";\n", out);
    return;
  case K_SET:
    fprintf(out, "l%d", s->var);
    if (s->idx) {
      fputc('[', out);
      expr(ec, s->idx);
      fputc(']', out);
    }
    fputs(" = ", out);
    expr(ec, s->val);
    fputs(";\n", out);
    return;
  case K_GEMM:
    fprintf(out, "mtl_sgemm(%d, %d, ", s->ta, s->tb);
    expr(ec, s->M);
    fputs(", ", out);
    expr(ec, s->N);
    fputs(", ", out);
    expr(ec, s->K);
    fputs(", 1.0f, ", out);
    gemm_operand(ec, s->A, s->offa);
    fputs(", ", out);
    expr(ec, s->lda);
    fputs(", ", out);
    gemm_operand(ec, s->B, s->offb);
    fputs(", ", out);
    expr(ec, s->ldb);
    fprintf(out, ", %s, ", s->beta == 0 ? "0.0f" : "1.0f");
    gemm_operand(ec, s->C, s->offc);
    fputs(", ", out);
    expr(ec, s->ldc);
    fputs(");\n", out);
    return;
  case K_DROPOUT:
    fprintf(out, "mtl_dropout_mask(%s, ", ec->k->params[s->arg].name);
    expr(ec, s->val);
    fputs(", ", out);
    emitc_float(out, s->p);
    fprintf(out, ", seed, %lld);\n", (long long)s->stream);
    return;
  case K_SYNC:
    fprintf(out, "mtl_sync(%s, ", ec->k->params[s->arg].name);
    expr(ec, s->val);
    fprintf(out, ", %s);\n", s->mode == MTL_SYNC_SUM ? "MTL_SYNC_SUM" : "MTL_SYNC_SHARE");
    return;
  }
  unreachable();
}

static void stmts(EC *ec, const Vec *body, int depth) {
  for (int i = 0; i < body->len; i++)
    stmt(ec, body->data[i], depth);
}

/* ---- kernels ---------------------------------------------------------------------- */

void emitc_kernel(FILE *out, const Kernel *k) {
  EC ec = {out, k};
  fprintf(out, "/* %s */\nstatic void %s(", k->comment, k->name);
  for (int i = 0; i < k->nparams; i++) {
    const KParam *p = &k->params[i];
    fprintf(out, "%s%s%s *restrict %s", i ? ", " : "", p->written ? "" : "const ",
            p->dtype == DT_I32 ? "int32_t" : "float", p->name);
  }
  if (k->uses_batch)
    fprintf(out, "%sint64_t B", k->nparams ? ", " : "");
  if (k->uses_seed)
    fprintf(out, "%suint64_t seed", k->nparams || k->uses_batch ? ", " : "");
  if (!k->nparams && !k->uses_batch && !k->uses_seed)
    fputs("void", out);
  fputs(") {\n", out);
  stmts(&ec, &k->body, 1);
  fputs("}\n\n", out);
}

/* an actual buffer of a call, in the entry point's terms */
static void actual(FILE *out, Arena *a, const Program *p, const Buf *b, const KParam *kp) {
  if (b->kind == BUF_DATA)
    fprintf(out, "(const %s *)data[%d]", b->dtype == DT_I32 ? "int32_t" : "float", b->index);
  else if (b->kind == BUF_ACT && b->dtype == DT_I32) /* i32 in the float arena */
    fprintf(out, "(int32_t *)(%s)", kir_buf_ref(a, p, b));
  else
    fputs(kir_buf_ref(a, p, b), out);
  (void)kp;
}

/* the program's calls [from, to) */
static void calls(FILE *out, Arena *a, const Program *p, int from, int to) {
  for (int i = from; i < to; i++) {
    const KCall *c = p->calls.data[i];
    fprintf(out, "  %s(", c->k->name);
    for (int j = 0; j < c->k->nparams; j++) {
      fputs(j ? ", " : "", out);
      actual(out, a, p, c->args[j], &c->k->params[j]);
    }
    if (c->k->uses_batch)
      fprintf(out, "%sB", c->k->nparams ? ", " : "");
    if (c->k->uses_seed)
      fprintf(out, "%sseed", c->k->nparams || c->k->uses_batch ? ", " : "");
    fputs(");\n", out);
  }
}

/* ---- the model's description, from back/abi.c's ------------------------------------- */

static void c_string(FILE *out, const char *s) {
  fputc('"', out);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      fputc('\\', out);
    if ((unsigned char)*s < 0x20)
      fprintf(out, "\\%03o", (unsigned char)*s);
    else
      fputc(*s, out);
  }
  fputc('"', out);
}

static void value(FILE *out, const char *model, const AbiStruct *s, const void *v, const char *path);

static void scalar(FILE *out, const AbiField *f, const void *v) {
  switch (f->kind) {
  case AF_I32:
    if (f->enum_names && abi_int(v, f) >= 0 && abi_int(v, f) < f->n_enum)
      fputs(f->enum_names[abi_int(v, f)], out);
    else
      fprintf(out, "%lld", (long long)abi_int(v, f));
    return;
  case AF_I64: fprintf(out, "%lld", (long long)abi_int(v, f)); return;
  case AF_U64: fprintf(out, "%lluu", (unsigned long long)abi_int(v, f)); return;
  case AF_F32: emitc_float(out, abi_real(v, f)); return;
  case AF_F64: fprintf(out, "%.17g", abi_real(v, f)); return;
  case AF_STR: c_string(out, abi_ptr(v, f)); return;
  case AF_DIMS: {
    const int64_t *d = (const int64_t *)((const char *)v + f->offset);
    fprintf(out, "{%lld, %lld, %lld, %lld}", (long long)d[0], (long long)d[1], (long long)d[2],
            (long long)d[3]);
    return;
  }
  default: unreachable();
  }
}

/* the tables an instance points at, as static arrays named path_field,
 * deepest first */
static void tables(FILE *out, const char *model, const AbiStruct *s, const void *v,
                   const char *path, Arena *a) {
  for (int i = 0; i < s->nfields; i++) {
    const AbiField *f = &s->fields[i];
    if (f->kind != AF_TABLE)
      continue;
    int n = abi_count(v, s, f);
    const char *elems = abi_ptr(v, f);
    if (!n)
      continue;
    const char *name = *path ? arena_printf(a, "%s_%s", path, f->name) : f->name;
    if (f->elem)
      for (int k = 0; k < n; k++)
        tables(out, model, f->elem, elems + (size_t)k * f->elem->size,
               arena_printf(a, "%s_%d", name, k), a);
    fprintf(out, "static const %s %s[%d] = {", abi_elem_ctype(f), name, n);
    for (int k = 0; k < n; k++) {
      fputs(k ? ", " : "", out);
      if (f->elem) {
        fputs("\n    ", out);
        value(out, model, f->elem, elems + (size_t)k * f->elem->size,
              arena_printf(a, "%s_%d", name, k));
      } else {
        AbiField e = {.kind = f->elem_kind, .offset = (size_t)k * abi_elem_size(f)};
        scalar(out, &e, elems);
      }
    }
    fputs(f->elem ? "\n};\n" : "};\n", out);
  }
}

/* {.member = value, ...} */
static void value(FILE *out, const char *model, const AbiStruct *s, const void *v,
                  const char *path) {
  fputc('{', out);
  for (int i = 0; i < s->nfields; i++) {
    const AbiField *f = &s->fields[i];
    fprintf(out, "%s.%s = ", i ? ", " : "", f->name);
    if (f->kind == AF_TABLE) {
      if (abi_count(v, s, f))
        fprintf(out, "%s%s%s", path, *path ? "_" : "", f->name);
      else
        fputs("0", out);
    } else if (f->kind == AF_FN) {
      if (abi_fn_defined(v, f))
        fprintf(out, "%s_%s", model, f->fn);
      else
        fputs("0", out);
    } else {
      scalar(out, f, v);
    }
  }
  fputc('}', out);
}

static void emit_info(FILE *out, Unit *u) {
  const MtlModelInfo *m = unit_info(u);
  const char *root = arena_printf(u->a, "%s_info", m->name); /* tables: NAME_info_tasks */
  tables(out, m->name, &abi_model_info, m, root, u->a);
  fprintf(out, "\nconst MtlModelInfo %s = ", root);
  value(out, m->name, &abi_model_info, m, root);
  fputs(";\n", out);
}

/* ---- files ------------------------------------------------------------------------- */

static void front_matter(FILE *out, Unit *u, const char *file, const char *cmdline) {
  fprintf(out, "/* %s: generated by mtlc %s from %s\n", file, MTLC_VERSION, u->m->src->path);
  fprintf(out, " * command: %s\n", cmdline);
  fprintf(out, " * model %s: %d task%s, %lld parameters; batch at most %lld.\n", u->m->name,
          u->m->tasks.len, u->m->tasks.len == 1 ? "" : "s",
          (long long)u->m->total_params, (long long)u->batch_max);
  fputs(" * Do not edit: regenerate it from the spec. */\n", out);
}

static void emit_header(FILE *out, Unit *u, const char *cmdline) {
  Model *m = u->m;
  const char *n = m->name;
  /* not NAME_H, which a model named mtl_model or _math would share with a
   * header; the name keeps its case, so models Foo and FOO differ */
  char *guard = arena_printf(u->a, "MTLC_MODEL_%s_H", n);
  front_matter(out, u, arena_printf(u->a, "%s.h", n), cmdline);
  fprintf(out, "#ifndef %s\n#define %s\n\n#include <stdint.h>\n\n#include <mtl_model.h>\n\n"
               "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n", guard, guard);
  fprintf(out, "#define %s_BATCH_MAX %lld\n", n, (long long)u->batch_max);
  fprintf(out, "#define %s_N_PARAMS %lld /* floats: parameters, and their gradients */\n", n, (long long)u->n_params);
  fprintf(out, "#define %s_N_STATE %lld  /* floats: optimizer state */\n", n, (long long)u->n_state);
  fprintf(out, "#define %s_N_STATS %lld  /* floats: running statistics */\n", n, (long long)u->n_stats);
  fprintf(out, "#define %s_N_ACT %lld    /* floats: the activation arena, at batch %lld */\n", n,
          (long long)u->n_act, (long long)u->batch_max);
  fprintf(out, "#define %s_N_HYPER %d   /* floats: hyper[], MTL_HYPER_* */\n", n, u->n_hyper);
  if (m->balance.kind != MTL_BAL_STATIC)
    fprintf(out, "#define %s_N_BAL %lld    /* floats: bal[], what train_begin leaves the balancer */\n",
            n, (long long)u->n_bal);
  fprintf(out, "#define %s_N_TASKS %d\n\n", n, m->tasks.len);
  fputs("/* data[], in this order (B samples each, B <= BATCH_MAX):\n", out);
  for (int i = 0; i < u->data.len; i++) {
    Buf *b = u->data_buf.data[i];
    fprintf(out, " *   data[%d] %s, %s\n", i, b->what, b->dtype == DT_I32 ? "int32" : "float");
  }
  fputs(" * outputs[t] and losses[t], per task:\n", out);
  for (int t = 0; t < m->tasks.len; t++) {
    Task *task = m->tasks.data[t];
    fprintf(out, " *   [%d] %s: [B, %lld] %s\n", t, task->name, (long long)task->out.d[0],
            task->label == LBL_CLASS ? "logits" : task->label == LBL_BINARY ? "logit" : "values");
  }
  fputs(" */\n\n", out);
  fprintf(out, "/* seeded initialization, PyTorch's defaults */\n"
               "void %s_init(float *params, float *stats, uint64_t seed);\n", n);
  if (m->balance.kind == MTL_BAL_STATIC) {
    fprintf(out, "/* one step: forward, backward, update */\n"
                 "void %s_train_step(float *params, float *grads, float *state, float *stats,\n"
                 "                   float *act, const void *const *data, int64_t B,\n"
                 "                   const float *hyper, uint64_t seed, float *losses);\n", n);
  } else {
    fprintf(out, "/* one step in two phases around the runtime's balancer (balance %s):\n"
                 " * the forward pass%s, then the rest;\n"
                 " * bal[] holds %s_N_BAL floats (mtl_model.h) */\n"
                 "void %s_train_begin(float *params, float *grads, float *state, float *stats,\n"
                 "                    float *act, const void *const *data, int64_t B,\n"
                 "                    const float *hyper, uint64_t seed, float *losses, float *bal);\n"
                 "void %s_train_end(float *params, float *grads, float *state, float *stats,\n"
                 "                  float *act, const void *const *data, int64_t B,\n"
                 "                  const float *hyper, uint64_t seed, float *losses, float *bal);\n",
            balance_text(u->a, &m->balance),
            u->n_bal ? ", each task's gradients and their Gramian" : "", n, n, n);
  }
  if (u->grad) {
    fprintf(out, "/* %s in two, for data parallelism: the gradients (into grads)%s;\n"
                 " * then the optimizer's update from grads. grad_step, then update_step,\n"
                 " * is %s. */\n",
            m->balance.kind == MTL_BAL_STATIC ? "the step" : "train_end",
            m->balance.kind == MTL_BAL_STATIC ? ", the\n * losses and the running statistics" : "",
            m->balance.kind == MTL_BAL_STATIC ? "train_step" : "train_end");
    for (int i = 0; i < 2; i++)
      fprintf(out, "void %s_%s(float *params, float *grads, float *state, float *stats,\n"
                   "                   float *act, const void *const *data, int64_t B,\n"
                   "                   const float *hyper, uint64_t seed, float *losses);\n",
              n, i ? "update_step" : "grad_step");
  }
  fprintf(out, "/* evaluation: per-task mean losses and outputs; no dropout, running statistics */\n"
               "void %s_eval_step(const float *params, const float *stats, float *act,\n"
               "                  const void *const *data, int64_t B, float *losses,\n"
               "                  float *const *outputs);\n", n);
  fprintf(out, "/* inference: per-task outputs from the inputs alone */\n"
               "void %s_forward(const float *params, const float *stats, float *act,\n"
               "                const void *const *data, int64_t B, float *const *outputs);\n\n", n);
  fprintf(out, "extern const MtlModelInfo %s_info;\n\n"
               "#ifdef __cplusplus\n}\n#endif\n\n#endif\n", n);
}

/* which of the helpers an expression uses: bit 0 imax, 1 imin, 2 fmax_, 3 fmin_ */
static unsigned helpers_expr(const Expr *e) {
  if (!e)
    return 0;
  unsigned h = helpers_expr(e->a) | helpers_expr(e->b) | helpers_expr(e->c);
  if (e->kind == X_BIN && (e->op == XB_MAX || e->op == XB_MIN))
    h |= 1u << ((e->a->is_int ? 0 : 2) + (e->op == XB_MIN));
  return h;
}

static unsigned helpers_body(const Vec *body) {
  unsigned h = 0;
  for (int i = 0; i < body->len; i++) {
    const Stmt *s = body->data[i];
    h |= helpers_expr(s->hi) | helpers_expr(s->idx) | helpers_expr(s->val);
    if (s->kind == K_FOR)
      h |= helpers_body(&s->body);
  }
  return h;
}

void emitc_helpers_used(FILE *out, const Vec *kernels) {
  static const char *const text[4] = {
      "static int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }\n",
      "static int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }\n",
      "static float fmax_(float a, float b) { return a > b ? a : b; } /* fmaxf but for NaNs */\n",
      "static float fmin_(float a, float b) { return a < b ? a : b; }\n"};
  unsigned h = 0;
  for (int i = 0; i < kernels->len; i++)
    h |= helpers_body(&((const Kernel *)kernels->data[i])->body);
  for (int i = 0; i < 4; i++)
    if (h >> i & 1)
      fputs(text[i], out);
  fputc('\n', out);
}

void emitc_helpers(FILE *out) {
  fputs("static inline int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }\n"
        "static inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }\n"
        "/* like fmaxf and fminf but for NaNs, and inlined */\n"
        "static inline float fmax_(float a, float b) { return a > b ? a : b; }\n"
        "static inline float fmin_(float a, float b) { return a < b ? a : b; }\n\n", out);
}

static void emit_source(FILE *out, Unit *u, const char *cmdline) {
  Model *m = u->m;
  const char *n = m->name;
  front_matter(out, u, arena_printf(u->a, "%s.c", n), cmdline);
  fprintf(out, "#include <math.h>\n#include <stdint.h>\n#include <string.h>\n\n"
               "#include <mtl_kernel.h>\n#include \"%s.h\"\n\n", n);
  emitc_helpers(out);
  for (int i = 0; i < u->bufs.len; i++) {
    Buf *b = u->bufs.data[i];
    if (b->kind != BUF_CONST)
      continue;
    fprintf(out, "static const int32_t %s[%d] = {", b->name, b->ntable);
    for (int j = 0; j < b->ntable; j++)
      fprintf(out, "%s%d", j ? ", " : "", b->table[j]);
    fprintf(out, "}; /* %s */\n", b->what);
  }
  fputs("\n/* ---- kernels: each distinct one once, called by the programs below ---- */\n\n", out);
  for (int i = 0; i < u->kernels.len; i++)
    emitc_kernel(out, u->kernels.data[i]);

  fputs("/* ---- the model's description, which the runtime reads ---- */\n\n", out);
  emit_info(out, u);

  fputs("\n/* ---- entry points ---- */\n\n", out);
  fprintf(out, "void %s_init(float *params, float *stats, uint64_t seed) {\n", n);
  fprintf(out, "  memset(params, 0, sizeof(float) * %s_N_PARAMS);\n", n);
  if (u->n_stats)
    fprintf(out, "  memset(stats, 0, sizeof(float) * %s_N_STATS);\n", n);
  fprintf(out, "  mtl_init_tensors(%s_info.param_tensors, %s_info.n_param_tensors, params, seed);\n", n, n);
  fprintf(out, "  mtl_init_tensors(%s_info.stat_tensors, %s_info.n_stat_tensors, stats, seed);\n", n, n);
  fputs("}\n\n", out);
  Program *t = u->train;
  if (u->m->balance.kind == MTL_BAL_STATIC) {
    fprintf(out, "void %s_train_step(float *params, float *grads, float *state, float *stats,\n"
                 "                   float *act, const void *const *data, int64_t B,\n"
                 "                   const float *hyper, uint64_t seed, float *losses) {\n"
                 "  (void)params, (void)grads, (void)state, (void)stats, (void)act, (void)data;\n"
                 "  (void)B, (void)hyper, (void)seed, (void)losses;\n", n);
    calls(out, u->a, t, 0, t->calls.len);
    fputs("}\n\n", out);
  }
  for (int phase = 0; phase < 2 && u->m->balance.kind != MTL_BAL_STATIC; phase++) {
    fprintf(out, "void %s_train_%s(float *params, float *grads, float *state, float *stats,\n"
                 "                   float *act, const void *const *data, int64_t B,\n"
                 "                   const float *hyper, uint64_t seed, float *losses, float *bal) {\n"
                 "  (void)params, (void)grads, (void)state, (void)stats, (void)act, (void)data;\n"
                 "  (void)B, (void)hyper, (void)seed, (void)losses, (void)bal;\n", n,
            phase ? "end" : "begin");
    calls(out, u->a, t, phase ? t->split : 0, phase ? t->calls.len : t->split);
    fputs("}\n\n", out);
  }
  Program *parts[2] = {u->grad, u->update};
  for (int i = 0; u->grad && i < 2; i++) {
    fprintf(out, "void %s_%s(float *params, float *grads, float *state, float *stats,\n"
                 "                   float *act, const void *const *data, int64_t B,\n"
                 "                   const float *hyper, uint64_t seed, float *losses) {\n"
                 "  (void)params, (void)grads, (void)state, (void)stats, (void)act, (void)data;\n"
                 "  (void)B, (void)hyper, (void)seed, (void)losses;\n", n, parts[i]->name);
    calls(out, u->a, parts[i], 0, parts[i]->calls.len);
    fputs("}\n\n", out);
  }
  fprintf(out, "void %s_eval_step(const float *params, const float *stats, float *act,\n"
               "                  const void *const *data, int64_t B, float *losses,\n"
               "                  float *const *outputs) {\n"
               "  (void)params, (void)stats, (void)act, (void)data, (void)B, (void)losses, (void)outputs;\n", n);
  calls(out, u->a, u->eval, 0, u->eval->calls.len);
  fputs("}\n\n", out);
  fprintf(out, "void %s_forward(const float *params, const float *stats, float *act,\n"
               "                const void *const *data, int64_t B, float *const *outputs) {\n"
               "  (void)params, (void)stats, (void)act, (void)data, (void)B, (void)outputs;\n", n);
  calls(out, u->a, u->forward, 0, u->forward->calls.len);
  fputs("}\n", out);
}

static void emit_main(FILE *out, Unit *u, const char *cmdline) {
  const char *n = u->m->name;
  front_matter(out, u, "main.c", cmdline);
  fprintf(out,
          "/* A standalone trainer: the runtime's training loop and command line\n"
          " * (mtl_main) over the generated model. Build:\n"
          " *   cc -O2 main.c %s.c $(pkg-config --cflags --libs mtlrt)\n"
          " * or with -I RUNTIME -L LIB -lmtlrt -lopenblas -lz -lm. Run ./train --help\n"
          " * for its options. Data parallel under mpirun: build with mpicc -DMTL_MPI,\n"
          " * adding RUNTIME/mtl_mpi.c (README: Data-parallel training over MPI). */\n", n);
  fprintf(out, "#include <mtl.h>\n#ifdef MTL_MPI\n#include <stdio.h>\n#include <mtl_dist.h>\n#endif\n"
               "#include \"%s.h\"\n\n", n);
  fprintf(out,
          "int main(int argc, char **argv) {\n"
          "#ifdef MTL_MPI\n"
          "  const MtlComm *comm = mtl_mpi_comm();\n"
          "  if (!comm) {\n    fputs(\"train: MPI_Init failed\\n\", stderr);\n    return 1;\n  }\n"
          "  int rc = mtl_main_comm(&%s_info, argc, argv, comm);\n"
          "  comm->finish();\n  return rc;\n"
          "#else\n"
          "  return mtl_main(&%s_info, argc, argv);\n"
          "#endif\n}\n", n, n);
}

/* ---- the files ------------------------------------------------------------------ */

/* Every output file of mtlc (emit-c, emit-llvm, their --infer forms) is
 * rendered in memory first, so that nothing reaches the disk until every
 * file is whole; then all are written together by the runtime's
 * mtl_write_replace_all (runtime/mtl_write.c): exclusive temporaries
 * beside them (a link planted there is never followed), every write
 * checked, fsync, rename, fsync of the folder, stale temporaries of a
 * killed mtlc removed. A failed write (a full disk) leaves the old files,
 * or none. */
enum { MAX_FILES = 4 };

static bool render(EmitFile *e, char **text, MtlBytes *bytes) {
  size_t n = 0;
  FILE *f = open_memstream(text, &n);
  if (!f)
    return false;
  e->body(f, e->ctx);
  bool ok = !ferror(f);
  ok &= fclose(f) == 0;
  *bytes = (MtlBytes){*text, n};
  return ok;
}

bool emitc_write_files(EmitFile *files, int n) {
  char *text[MAX_FILES] = {0};
  MtlBytes bytes[MAX_FILES];
  MtlOutFile f[MAX_FILES] = {{0}};
  bool ok = n <= MAX_FILES;
  int k = 0;
  for (; ok && k < n; k++) {
    f[k] = (MtlOutFile){files[k].path, mtl_write_bytes, &bytes[k]};
    if (files[k].body)
      ok = render(&files[k], &text[k], &bytes[k]);
    else
      bytes[k] = (MtlBytes){files[k].bytes, files[k].n};
    if (!ok)
      fprintf(stderr, "mtlc: %s: out of memory\n", files[k].path);
  }
  if (ok && !mtl_write_replace_all(f, n)) {
    fprintf(stderr, "mtlc: %s\n", mtl_error());
    ok = false;
  }
  for (int i = 0; i < k; i++)
    free(text[i]);
  return ok;
}

/* dir and the folders above it that are missing, as mkdir -p */
bool emitc_mkdir(const char *dir) {
  struct stat st;
  char up[4096];
  size_t n = strlen(dir);
  while (n > 1 && dir[n - 1] == '/')
    n--;
  size_t cut = n < sizeof up ? n : 0;
  while (cut > 0 && dir[cut - 1] != '/')
    cut--;
  if (cut > 1 && stat(dir, &st) != 0) {
    memcpy(up, dir, cut - 1);
    up[cut - 1] = 0;
    if (stat(up, &st) != 0 && !emitc_mkdir(up))
      return false;
  }
  if (stat(dir, &st) != 0 && mkdir(dir, 0777) != 0 && errno != EEXIST) {
    fprintf(stderr, "mtlc: cannot create folder '%s': %s\n", dir, strerror(errno));
    return false;
  }
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    fprintf(stderr, "mtlc: '%s' is not a folder\n", dir);
    return false;
  }
  return true;
}

const char *emitc_dir_of(Arena *a, const char *path) {
  const char *slash = strrchr(path, '/');
  return !slash ? "." : slash == path ? "" : arena_strndup(a, path, (size_t)(slash - path));
}

typedef struct {
  Unit *u;
  const char *cmdline;
  void (*body)(FILE *, Unit *, const char *);
} UnitFile;

static void unit_body(FILE *f, void *ctx) {
  UnitFile *uf = ctx;
  uf->body(f, uf->u, uf->cmdline);
}

bool emit_c_with_header(Unit *u, const char *path, const void *p, size_t n, const char *cmdline) {
  UnitFile uf = {u, cmdline, emit_header};
  EmitFile f[2] = {{.path = path, .bytes = p, .n = n},
                   {arena_printf(u->a, "%s/%s.h", emitc_dir_of(u->a, path), u->m->name),
                    unit_body, &uf, NULL, 0}};
  return emitc_write_files(f, 2);
}

bool emit_c(Unit *u, const char *dir, bool with_main, const char *cmdline) {
  if (!emitc_mkdir(dir))
    return false;
  const char *n = u->m->name;
  if (with_main && !strcmp(n, "main")) {
    fprintf(stderr, "mtlc: %s: a model named 'main' has its code in main.c, where --main "
                    "would write the trainer; rename the model (model NAME in the spec)\n",
            u->m->src->path);
    return false;
  }
  UnitFile uf[3] = {{u, cmdline, emit_header}, {u, cmdline, emit_source}, {u, cmdline, emit_main}};
  EmitFile f[3] = {{arena_printf(u->a, "%s/%s.h", dir, n), unit_body, &uf[0], NULL, 0},
                   {arena_printf(u->a, "%s/%s.c", dir, n), unit_body, &uf[1], NULL, 0},
                   {arena_printf(u->a, "%s/main.c", dir), unit_body, &uf[2], NULL, 0}};
  return emitc_write_files(f, with_main ? 3 : 2);
}
