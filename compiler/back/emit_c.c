/* emit_c.c: renders a Module (kernel.c) as standalone C: NAME.h (the API,
 * sizes, the data layout) and NAME.c (one static function per kernel, each
 * preceded by a comment saying what it computes and which spec line it came
 * from; entry points that are flat call sequences; the model's
 * self-description for the runtime). With --main, main.c: a trainer built
 * on the runtime's trainer layer. The output compiles cleanly with
 * cc -std=c11 -Wall -Wextra -Werror. Nothing here decides what to compute:
 * that is kernel.c's. */
#include "back/back.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
  Module *mod;
  FILE *out;
} EC;

/* ---- expressions ------------------------------------------------------------------ */

static void expr(EC *ec, const Expr *e);

static void float_lit(FILE *out, double f) {
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

static const char *buf_name(const Buf *b) { return b->name; }

static void expr(EC *ec, const Expr *e) {
  FILE *out = ec->out;
  static const char *const ops[] = {[XB_ADD] = "+", [XB_SUB] = "-", [XB_MUL] = "*",
                                    [XB_DIV] = "/", [XB_REM] = "%", [XB_LT] = "<",
                                    [XB_LE] = "<=", [XB_GT] = ">", [XB_GE] = ">=",
                                    [XB_EQ] = "==", [XB_AND] = "&&"};
  switch (e->kind) {
  case X_F: float_lit(out, e->f); return;
  case X_I: fprintf(out, "%lld", (long long)e->i); return;
  case X_VAR: fprintf(out, "i%lld", (long long)e->i); return;
  case X_LOCAL: fprintf(out, "l%lld", (long long)e->i); return;
  case X_BATCH: fputs("B", out); return;
  case X_HYPER: fprintf(out, "c->hyper[%lld]", (long long)e->i); return;
  case X_LOAD:
    fprintf(out, "%s[", buf_name(e->buf));
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
                                    [XU_SQRT] = "sqrtf", [XU_ABS] = "fabsf"};
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

static void gemm_operand(EC *ec, const Buf *b, const Expr *off) {
  fputs(buf_name(b), ec->out);
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
    fprintf(out, "%s[", buf_name(s->buf));
    expr(ec, s->idx);
    fputs(s->accum ? "] += " : "] = ", out);
    expr(ec, s->val);
    fputs(";\n", out);
    return;
  case K_LOCAL:
    fprintf(out, "%s l%d = ", s->is_int ? "int64_t" : "float", s->var);
    expr(ec, s->val);
    fputs(";\n", out);
    return;
  case K_SET:
    fprintf(out, "l%d = ", s->var);
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
    fprintf(out, "mtl_dropout_mask(%s, ", buf_name(s->buf));
    expr(ec, s->val);
    fputs(", ", out);
    float_lit(out, s->p);
    fprintf(out, ", c->seed, %lld);\n", (long long)s->stream);
    return;
  }
  unreachable();
}

static void stmts(EC *ec, const Vec *body, int depth) {
  for (int i = 0; i < body->len; i++)
    stmt(ec, body->data[i], depth);
}

/* ---- kernels ---------------------------------------------------------------------- */

static void buffer_decl(EC *ec, const Buf *b, bool write) {
  static const char *const group[] = {[BUF_PARAM] = "c->params", [BUF_GRAD] = "c->grads",
                                      [BUF_STATE] = "c->state", [BUF_ACT] = "c->act"};
  const char *type = b->is_int ? "int32_t" : "float";
  fprintf(ec->out, "  %s%s *restrict %s = ", write ? "" : "const ", type, b->name);
  switch (b->kind) {
  case BUF_PARAM: case BUF_GRAD: case BUF_STATE: case BUF_ACT:
    fprintf(ec->out, "%s + %lld;", group[b->kind], (long long)b->offset);
    break;
  case BUF_DATA:
    fprintf(ec->out, "(const %s *)c->data[%d];", type, b->index);
    break;
  case BUF_OUT:
    fprintf(ec->out, "c->outputs[%d];", b->index);
    break;
  case BUF_LOSS:
    fputs("c->losses;", ec->out);
    break;
  case BUF_CONST:
    fprintf(ec->out, "%s_table;", b->name);
    break;
  }
  fprintf(ec->out, " /* %s */\n", b->what);
}

static void kernel(EC *ec, const Kernel *k) {
  FILE *out = ec->out;
  KernelUses u;
  kernel_uses(k, &u);
  for (int i = 0; i < u.n; i++)
    if (u.buf[i]->kind == BUF_CONST) {
      fprintf(out, "static const int32_t %s_table[%d] = {", u.buf[i]->name,
              u.buf[i]->ntable);
      for (int j = 0; j < u.buf[i]->ntable; j++)
        fprintf(out, "%s%d", j ? ", " : "", u.buf[i]->table[j]);
      fputs("};\n", out);
    }
  fprintf(out, "/* %s */\nstatic void %s%s(const Ctx *c) {\n", k->comment, k->prefix, k->name);
  for (int i = 0; i < u.n; i++)
    buffer_decl(ec, u.buf[i], u.written[i]);
  if (u.batch)
    fputs("  const int64_t B = c->B;\n", out);
  stmts(ec, &k->body, 1);
  fputs("}\n\n", out);
}

/* ---- files ------------------------------------------------------------------------- */

static void front_matter(FILE *out, Module *mod, const char *file, const char *cmdline) {
  fprintf(out, "/* %s: generated by mtlc %s from %s\n", file, MTLC_VERSION, mod->m->src->path);
  fprintf(out, " * command: %s\n", cmdline);
  fprintf(out, " * model %s: %d task%s, %lld parameters; batch at most %lld.\n", mod->m->name,
          mod->m->tasks.len, mod->m->tasks.len == 1 ? "" : "s",
          (long long)mod->m->total_params, (long long)mod->batch_max);
  fputs(" * Do not edit: regenerate it from the spec. */\n", out);
}

static void emit_header(FILE *out, Module *mod, const char *cmdline) {
  Model *m = mod->m;
  const char *n = m->name;
  char *guard = arena_printf(mod->a, "%s_H", n);
  for (char *p = guard; *p; p++)
    *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
  front_matter(out, mod, arena_printf(mod->a, "%s.h", n), cmdline);
  fprintf(out, "#ifndef %s\n#define %s\n\n#include <stdint.h>\n\n#include \"mtl_model.h\"\n\n", guard, guard);
  fprintf(out, "#define %s_BATCH_MAX %lld\n", n, (long long)mod->batch_max);
  fprintf(out, "#define %s_N_PARAMS %lld /* floats: parameters, and their gradients */\n", n, (long long)mod->n_params);
  fprintf(out, "#define %s_N_STATE %lld  /* floats: optimizer state */\n", n, (long long)mod->n_state);
  fprintf(out, "#define %s_N_ACT %lld    /* floats: the activation arena, at batch %lld */\n", n,
          (long long)mod->n_act, (long long)mod->batch_max);
  fprintf(out, "#define %s_N_TASKS %d\n\n", n, m->tasks.len);
  fputs("/* data[], in this order (B samples each, B <= BATCH_MAX):\n", out);
  for (int i = 0; i < mod->data.len; i++) {
    Node *x = mod->data.data[i];
    Buf *b = mod->train->buf[x->id];
    fprintf(out, " *   data[%d] %s, %s\n", i, b->what, b->is_int ? "int32" : "float");
  }
  fputs(" * outputs[t] and losses[t], per task:\n", out);
  for (int t = 0; t < m->tasks.len; t++) {
    Task *task = m->tasks.data[t];
    fprintf(out, " *   [%d] %s: [B, %lld] %s\n", t, task->name, (long long)task->out.d[0],
            task->label == LBL_CLASS ? "logits" : task->label == LBL_BINARY ? "logit" : "values");
  }
  fputs(" */\n\n", out);
  fprintf(out, "/* seeded initialization, PyTorch's defaults */\nvoid %s_init(float *params, uint64_t seed);\n", n);
  fprintf(out, "/* one step: forward, backward, update; hyper = {lr, 1 - beta1^t, 1 - beta2^t} */\n"
               "void %s_train_step(float *params, float *grads, float *state, float *act,\n"
               "                   const void *const *data, int64_t B, const float *hyper,\n"
               "                   uint64_t step_seed, float *losses);\n", n);
  fprintf(out, "/* evaluation: per-task mean losses and outputs, no dropout */\n"
               "void %s_eval_step(const float *params, float *act, const void *const *data,\n"
               "                  int64_t B, float *losses, float *const *outputs);\n", n);
  fprintf(out, "/* inference: per-task outputs from the inputs alone */\n"
               "void %s_forward(const float *params, float *act, const float *const *inputs,\n"
               "                int64_t B, float *const *outputs);\n\n", n);
  fprintf(out, "extern const MtlModelInfo %s_info;\n\n#endif\n", n);
}

static void emit_program(EC *ec, Program *p) {
  for (int i = 0; i < p->kernels.len; i++)
    kernel(ec, p->kernels.data[i]);
}

static void calls(FILE *out, Program *p) {
  for (int i = 0; i < p->kernels.len; i++) {
    const Kernel *k = p->kernels.data[i];
    fprintf(out, "  %s%s(&c);\n", k->prefix, k->name);
  }
}

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

static void shape_init(FILE *out, int rank, const int64_t *shape) {
  fputc('{', out);
  for (int d = 0; d < rank; d++)
    fprintf(out, "%s%lld", d ? ", " : "", (long long)shape[d]);
  fputc('}', out);
}

static void tensor_table(FILE *out, const char *name, const MtlTensor *t, int n) {
  if (!n)
    return;
  fprintf(out, "static const MtlTensor %s[] = {\n", name);
  for (int i = 0; i < n; i++) {
    fprintf(out, "    {\"%s\", %lld, %lld, %d, ", t[i].name, (long long)t[i].offset,
            (long long)t[i].numel, t[i].rank);
    shape_init(out, t[i].rank, t[i].shape);
    fputs("},\n", out);
  }
  fputs("};\n", out);
}

/* the model's MtlModelInfo (modinfo.c) as C */
static void emit_info(FILE *out, Module *mod) {
  static const char *const kinds[] = {"MTL_LABEL_CLASS", "MTL_LABEL_BINARY", "MTL_LABEL_REAL"};
  static const char *const opt[] = {"MTL_OPT_SGD", "MTL_OPT_ADAM", "MTL_OPT_ADAMW"};
  static const char *const sched[] = {"MTL_SCHED_CONSTANT", "MTL_SCHED_STEP", "MTL_SCHED_COSINE"};
  const MtlModelInfo *m = module_info(mod);
  const char *n = m->name;
  tensor_table(out, "param_tensors", m->param_tensors, m->n_param_tensors);
  tensor_table(out, "state_tensors", m->state_tensors, m->n_state_tensors);
  fputs("static const MtlInputInfo inputs[] = {\n", out);
  for (int i = 0; i < m->n_inputs; i++) {
    fprintf(out, "    {\"%s\", %d, ", m->inputs[i].name, m->inputs[i].rank);
    shape_init(out, m->inputs[i].rank, m->inputs[i].shape);
    fprintf(out, ", %lld},\n", (long long)m->inputs[i].numel);
  }
  fputs("};\n", out);
  if (m->n_labels) {
    fputs("static const MtlLabelInfo labels[] = {\n", out);
    for (int i = 0; i < m->n_labels; i++)
      fprintf(out, "    {\"%s\", %s, %lld},\n", m->labels[i].name, kinds[m->labels[i].kind],
              (long long)m->labels[i].width);
    fputs("};\n", out);
  }
  for (int i = 0; i < m->n_tasks; i++) {
    const MtlTaskInfo *t = &m->tasks[i];
    if (!t->n_lookup)
      continue;
    fprintf(out, "static const int32_t lookup_%s[%d] = {", t->name, t->n_lookup);
    for (int k = 0; k < t->n_lookup; k++)
      fprintf(out, "%s%d", k ? ", " : "", t->lookup[k]);
    fputs("};\n", out);
  }
  fputs("static const MtlTaskInfo tasks[] = {\n", out);
  for (int i = 0; i < m->n_tasks; i++) {
    const MtlTaskInfo *t = &m->tasks[i];
    fprintf(out, "    {\"%s\", %s, %lld, %d, %.17g, %d, %d, ", t->name, kinds[t->kind],
            (long long)t->width, t->metrics, t->weight, t->label, t->derive_from);
    if (t->n_lookup)
      fprintf(out, "lookup_%s, %d},\n", t->name, t->n_lookup);
    else
      fputs("0, 0},\n", out);
  }
  fputs("};\n", out);
  for (int i = 0; i < m->n_bindings; i++) {
    const MtlBinding *b = &m->bindings[i];
    if (!b->n_csv_columns)
      continue;
    fprintf(out, "static const int64_t csv_columns_%d[] = {", i);
    for (int k = 0; k < b->n_csv_columns; k++)
      fprintf(out, "%s%lld", k ? ", " : "", (long long)b->csv_columns[k]);
    fputs("};\n", out);
  }
  if (m->n_bindings) {
    fputs("static const MtlBinding bindings[] = {\n", out);
    for (int i = 0; i < m->n_bindings; i++) {
      const MtlBinding *b = &m->bindings[i];
      fprintf(out, "    {\"%s\", \"%s\", ", b->split, b->name);
      c_string(out, b->path);
      fprintf(out, ", %d, ", b->normalize);
      float_lit(out, b->mean);
      fputs(", ", out);
      float_lit(out, b->std);
      fprintf(out, ", %d, ", b->csv_column);
      if (b->n_csv_columns)
        fprintf(out, "csv_columns_%d, %d},\n", i, b->n_csv_columns);
      else
        fputs("0, 0},\n", out);
    }
    fputs("};\n", out);
  }
  fprintf(out, "\nconst MtlModelInfo %s_info = {\n", n);
  fprintf(out, "    .abi = MTL_MODEL_ABI,\n    .name = \"%s\",\n    .spec = ", n);
  c_string(out, m->spec);
  fprintf(out, ",\n    .mtlc_version = \"%s\",\n", m->mtlc_version);
  fprintf(out, "    .batch_max = %s_BATCH_MAX,\n    .n_params = %s_N_PARAMS,\n"
               "    .n_state = %s_N_STATE,\n    .n_act = %s_N_ACT,\n", n, n, n, n);
  fprintf(out, "    .n_param_tensors = %d,\n    .param_tensors = %s,\n", m->n_param_tensors,
          m->n_param_tensors ? "param_tensors" : "0");
  fprintf(out, "    .n_state_tensors = %d,\n    .state_tensors = %s,\n", m->n_state_tensors,
          m->n_state_tensors ? "state_tensors" : "0");
  fprintf(out, "    .n_inputs = %d,\n    .inputs = inputs,\n", m->n_inputs);
  fprintf(out, "    .n_labels = %d,\n    .labels = %s,\n", m->n_labels, m->n_labels ? "labels" : "0");
  fprintf(out, "    .n_tasks = %d,\n    .tasks = tasks,\n", m->n_tasks);
  fprintf(out, "    .n_bindings = %d,\n    .bindings = %s,\n", m->n_bindings,
          m->n_bindings ? "bindings" : "0");
  fprintf(out, "    .optimizer = %s,\n    .lr = %.17g,\n", opt[m->optimizer], m->lr);
  fprintf(out, "    .beta1 = %.17g,\n    .beta2 = %.17g,\n", m->beta1, m->beta2);
  fprintf(out, "    .schedule = %s,\n    .step_every = %lld,\n    .step_gamma = %.17g,\n",
          sched[m->schedule], (long long)m->step_every, m->step_gamma);
  fprintf(out, "    .batch = %lld,\n    .epochs = %lld,\n    .seed = %lluu,\n", (long long)m->batch,
          (long long)m->epochs, (unsigned long long)m->seed);
  fprintf(out, "    .init = %s_init,\n    .train_step = %s_train_step,\n"
               "    .eval_step = %s_eval_step,\n    .forward = %s_forward,\n};\n", n, n, n, n);
}

static void emit_source(FILE *out, Module *mod, const char *cmdline) {
  Model *m = mod->m;
  const char *n = m->name;
  front_matter(out, mod, arena_printf(mod->a, "%s.c", n), cmdline);
  fprintf(out, "#include <math.h>\n#include <stdint.h>\n#include <string.h>\n\n"
               "#include \"mtl_kernel.h\"\n#include \"%s.h\"\n\n", n);
  fputs("/* What every kernel reads and writes: the buffer groups, the batch's data\n"
        " * and outputs, the step's hyperparameters and dropout seed, and B. */\n"
        "typedef struct {\n  float *params, *grads, *state, *act;\n"
        "  const void *const *data;\n  float *const *outputs;\n  float *losses;\n"
        "  const float *hyper;\n  uint64_t seed;\n  int64_t B;\n} Ctx;\n\n", out);
  fputs("static inline int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }\n"
        "static inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }\n"
        "/* like fmaxf and fminf but for NaNs, and inlined */\n"
        "static inline float fmax_(float a, float b) { return a > b ? a : b; }\n"
        "static inline float fmin_(float a, float b) { return a < b ? a : b; }\n\n", out);
  EC ec = {mod, out};
  fputs("/* ---- train step: forward, backward, update ---- */\n\n", out);
  emit_program(&ec, mod->train);
  fputs("/* ---- evaluation; inference runs the kernels that read no label ---- */\n\n", out);
  emit_program(&ec, mod->eval);

  fprintf(out, "void %s_init(float *params, uint64_t seed) {\n", n);
  fprintf(out, "  MtlRng r;\n  mtl_rng_seed(&r, seed);\n  memset(params, 0, sizeof(float) * %s_N_PARAMS);\n", n);
  for (int i = 0; i < mod->params.len; i++) {
    Node *x = mod->params.data[i];
    Buf *b = mod->train->buf[x->id];
    fprintf(out, "  mtl_init_uniform(params + %lld, %lld, %.17g, &r); /* %s, fan_in %lld */\n",
            (long long)b->offset, (long long)b->size, 1 / sqrt((double)x->a[0]), x->name,
            (long long)x->a[0]);
  }
  fputs("}\n\n", out);
  fprintf(out, "void %s_train_step(float *params, float *grads, float *state, float *act,\n"
               "                   const void *const *data, int64_t B, const float *hyper,\n"
               "                   uint64_t step_seed, float *losses) {\n"
               "  const Ctx c = {params, grads, state, act, data, 0, losses, hyper, step_seed, B};\n", n);
  calls(out, mod->train);
  fputs("}\n\n", out);
  fprintf(out, "void %s_eval_step(const float *params, float *act, const void *const *data,\n"
               "                  int64_t B, float *losses, float *const *outputs) {\n"
               "  const Ctx c = {(float *)params, 0, 0, act, data, outputs, losses, 0, 0, B};\n", n);
  calls(out, mod->eval);
  fputs("}\n\n", out);
  fprintf(out, "void %s_forward(const float *params, float *act, const float *const *inputs,\n"
               "                int64_t B, float *const *outputs) {\n"
               "  const Ctx c = {(float *)params, 0, 0, act, (const void *const *)inputs, outputs, 0, 0, 0, B};\n", n);
  calls(out, mod->forward);
  fputs("}\n\n", out);
  emit_info(out, mod);
}

static void emit_main(FILE *out, Module *mod, const char *cmdline) {
  const char *n = mod->m->name;
  front_matter(out, mod, "main.c", cmdline);
  fprintf(out,
          "/* A standalone trainer: the runtime's training loop over the generated\n"
          " * model. Build: cc -O2 main.c %s.c -I RUNTIME -L LIB -lmtlrt -lopenblas -lz -lm\n"
          " * usage: ./train [--epochs N] [--batch N] [--data SPLIT.NAME=PATH]...\n"
          " *                [--save CKPT] [--resume CKPT] [--log FILE] [--limit N]\n"
          " *                [--eval CKPT] */\n", n);
  fprintf(out, "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n\n"
               "#include \"mtl.h\"\n#include \"%s.h\"\n\n", n);
  fprintf(out,
          "static int usage(const char *msg) {\n"
          "  fprintf(stderr, \"%%s\\nusage: train [--epochs N] [--batch N] [--data SPLIT.NAME=PATH]... \"\n"
          "                  \"[--save CKPT] [--resume CKPT] [--log FILE] [--limit N] [--eval CKPT]\\n\", msg);\n"
          "  return 2;\n}\n\n"
          "static int count(const char *s, int64_t *out) {\n"
          "  char *end;\n  long long v = s ? strtoll(s, &end, 10) : -1;\n"
          "  if (!s || !*s || *end || v < 1)\n    return 0;\n  *out = v;\n  return 1;\n}\n\n"
          "int main(int argc, char **argv) {\n"
          "  MtlTrainOpts o = {0};\n  MtlOverride ov[64];\n  const char *eval = NULL;\n"
          "  for (int i = 1; i < argc; i++) {\n"
          "    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;\n"
          "    if (!strcmp(a, \"--epochs\") && count(v, &o.epochs)) i++;\n"
          "    else if (!strcmp(a, \"--batch\") && count(v, &o.batch)) i++;\n"
          "    else if (!strcmp(a, \"--limit\") && count(v, &o.limit_train)) o.limit_test = o.limit_train, i++;\n"
          "    else if (!strcmp(a, \"--save\") && v) o.save = v, i++;\n"
          "    else if (!strcmp(a, \"--resume\") && v) o.resume = v, i++;\n"
          "    else if (!strcmp(a, \"--log\") && v) o.log = v, i++;\n"
          "    else if (!strcmp(a, \"--eval\") && v) eval = v, i++;\n"
          "    else if (!strcmp(a, \"--data\") && v && o.n_overrides < 64) {\n"
          "      char *s = malloc(strlen(v) + 1), *dot, *eq;\n"
          "      if (!s)\n        return 1;\n"
          "      strcpy(s, v);\n"
          "      dot = strchr(s, '.'), eq = strchr(s, '=');\n"
          "      if (!dot || !eq || dot > eq)\n        return usage(\"--data needs SPLIT.NAME=PATH\");\n"
          "      *dot = *eq = 0;\n"
          "      ov[o.n_overrides++] = (MtlOverride){s, dot + 1, eq + 1};\n"
          "      o.overrides = ov;\n      i++;\n"
          "    } else {\n      fprintf(stderr, \"train: bad argument '%%s'\\n\", a);\n      return usage(\"\");\n    }\n"
          "  }\n"
          "  if (o.batch > %s_BATCH_MAX)\n    return usage(\"--batch is larger than the model was generated for\");\n"
          "  if (eval)\n    return mtl_eval(&%s_info, eval, o.overrides, o.n_overrides, o.limit_test);\n"
          "  return mtl_train(&%s_info, &o);\n}\n", n, n, n);
}

static FILE *open_out(const char *dir, const char *file, char **path_out, Arena *a) {
  char *path = arena_printf(a, "%s/%s", dir, file);
  *path_out = path;
  FILE *f = fopen(path, "w");
  if (!f)
    fprintf(stderr, "mtlc: cannot write '%s': %s\n", path, strerror(errno));
  return f;
}

/* Each file is written whole to a temporary name, then renamed: no
 * half-written sources. */
static bool write_file(Module *mod, const char *dir, const char *file, const char *cmdline,
                       void (*body)(FILE *, Module *, const char *)) {
  char *tmp;
  FILE *f = open_out(dir, arena_printf(mod->a, ".%s.tmp", file), &tmp, mod->a);
  if (!f)
    return false;
  body(f, mod, cmdline);
  bool ok = !ferror(f);
  ok &= fclose(f) == 0;
  char *final = arena_printf(mod->a, "%s/%s", dir, file);
  if (!ok || rename(tmp, final) != 0) {
    fprintf(stderr, "mtlc: cannot write '%s': %s\n", final, strerror(errno));
    remove(tmp);
    return false;
  }
  return true;
}

bool emit_c_header(Module *mod, const char *dir, const char *cmdline) {
  return write_file(mod, dir, arena_printf(mod->a, "%s.h", mod->m->name), cmdline, emit_header);
}

bool emit_c(Module *mod, const char *dir, bool with_main, const char *cmdline) {
  struct stat st;
  if (stat(dir, &st) != 0 && mkdir(dir, 0777) != 0) {
    fprintf(stderr, "mtlc: cannot create folder '%s': %s\n", dir, strerror(errno));
    return false;
  }
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    fprintf(stderr, "mtlc: '%s' is not a folder\n", dir);
    return false;
  }
  const char *n = mod->m->name;
  return write_file(mod, dir, arena_printf(mod->a, "%s.h", n), cmdline, emit_header) &&
         write_file(mod, dir, arena_printf(mod->a, "%s.c", n), cmdline, emit_source) &&
         (!with_main || write_file(mod, dir, "main.c", cmdline, emit_main));
}
