/* back/abi.c: the layout of MtlModelInfo and its tables, as the C
 * compiler that builds mtlc lays them out (offsetof, sizeof). The back ends
 * write every model's description by walking these tables; a member added
 * to runtime/mtl_model.h is added here once, and both back ends follow. */
#include "back/abi.h"

#include <stddef.h>
#include <string.h>

#define FIELD(T, m, k) {#m, k, offsetof(T, m), NULL, 0, NULL, NULL, 0, NULL}
#define ENUM(T, m, names) {#m, AF_I32, offsetof(T, m), NULL, 0, NULL, names, NELEMS_(names), NULL}
#define TABLE(T, m, s, count) {#m, AF_TABLE, offsetof(T, m), s, 0, #count, NULL, 0, NULL}
#define SCALARS(T, m, k, count) {#m, AF_TABLE, offsetof(T, m), NULL, k, #count, NULL, 0, NULL}
#define FN(T, m) {#m, AF_FN, offsetof(T, m), NULL, 0, NULL, NULL, 0, #m}
#define NELEMS_(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define STRUCT(T, fields) {#T, sizeof(T), _Alignof(T), NELEMS_(fields), fields}

static const char *const init_names[] = {"MTL_INIT_UNIFORM", "MTL_INIT_CONST",
                                         "MTL_INIT_NORMAL", "MTL_INIT_STITCH"};
static const char *const text_names[] = {"MTL_TEXT_NONE", "MTL_TEXT_CHARS", "MTL_TEXT_WORDS"};
static const char *const dtype_names[] = {"MTL_F32", "MTL_I32"};
static const char *const label_names[] = {"MTL_LABEL_CLASS", "MTL_LABEL_BINARY", "MTL_LABEL_REAL"};
static const char *const opt_names[] = {"MTL_OPT_SGD", "MTL_OPT_ADAM", "MTL_OPT_ADAMW",
                                        "MTL_OPT_RMSPROP"};
static const char *const sched_names[] = {"MTL_SCHED_CONSTANT", "MTL_SCHED_STEP",
                                          "MTL_SCHED_COSINE"};
static const char *const balance_names[] = {
#define BALANCE(id, name, needs, param) "MTL_BAL_" #id,
#include "mtl_balance.def"
#undef BALANCE
};

static const AbiField tensor_fields[] = {
    FIELD(MtlTensor, name, AF_STR),    FIELD(MtlTensor, offset, AF_I64),
    FIELD(MtlTensor, numel, AF_I64),   FIELD(MtlTensor, rank, AF_I32),
    FIELD(MtlTensor, shape, AF_DIMS),  ENUM(MtlTensor, init, init_names),
    FIELD(MtlTensor, init_arg, AF_F64),
};
static const AbiStruct tensor_s = STRUCT(MtlTensor, tensor_fields);

static const AbiField input_fields[] = {
    FIELD(MtlInputInfo, name, AF_STR),   ENUM(MtlInputInfo, dtype, dtype_names),
    FIELD(MtlInputInfo, rank, AF_I32),   FIELD(MtlInputInfo, shape, AF_DIMS),
    FIELD(MtlInputInfo, numel, AF_I64),  FIELD(MtlInputInfo, channels, AF_I64),
    FIELD(MtlInputInfo, inner, AF_I64),  FIELD(MtlInputInfo, norm_stat, AF_I32),
    FIELD(MtlInputInfo, vocab, AF_I64),
};
static const AbiStruct input_s = STRUCT(MtlInputInfo, input_fields);

static const AbiField label_fields[] = {
    FIELD(MtlLabelInfo, name, AF_STR), ENUM(MtlLabelInfo, kind, label_names),
    FIELD(MtlLabelInfo, width, AF_I64),
};
static const AbiStruct label_s = STRUCT(MtlLabelInfo, label_fields);

static const AbiField task_fields[] = {
    FIELD(MtlTaskInfo, name, AF_STR),          ENUM(MtlTaskInfo, kind, label_names),
    FIELD(MtlTaskInfo, width, AF_I64),         FIELD(MtlTaskInfo, metrics, AF_I32),
    FIELD(MtlTaskInfo, weight, AF_F64),        FIELD(MtlTaskInfo, label, AF_I32),
    FIELD(MtlTaskInfo, derive_from, AF_I32),   SCALARS(MtlTaskInfo, lookup, AF_I32, n_lookup),
    FIELD(MtlTaskInfo, n_lookup, AF_I32),      FIELD(MtlTaskInfo, line, AF_I32),
};
static const AbiStruct task_s = STRUCT(MtlTaskInfo, task_fields);

static const char *const norm_names[] = {"MTL_NORM_NONE", "MTL_NORM_GIVEN", "MTL_NORM_AUTO"};
static const AbiField reg_fields[] = {FIELD(MtlRegInfo, name, AF_STR)};
static const AbiStruct reg_s = STRUCT(MtlRegInfo, reg_fields);

static const AbiField binding_fields[] = {
    FIELD(MtlBinding, split, AF_STR),      FIELD(MtlBinding, name, AF_STR),
    FIELD(MtlBinding, path, AF_STR),       ENUM(MtlBinding, normalize, norm_names),
    SCALARS(MtlBinding, mean, AF_F32, n_norm),
    SCALARS(MtlBinding, std, AF_F32, n_norm),
    FIELD(MtlBinding, n_norm, AF_I32),
    FIELD(MtlBinding, csv_column, AF_I32),
    SCALARS(MtlBinding, csv_columns, AF_I64, n_csv_columns),
    FIELD(MtlBinding, n_csv_columns, AF_I32),
    FIELD(MtlBinding, delimiter, AF_I32),
    ENUM(MtlBinding, text, text_names),    FIELD(MtlBinding, length, AF_I64),
    FIELD(MtlBinding, vocab, AF_STR),      FIELD(MtlBinding, lowercase, AF_I32),
};
static const AbiStruct binding_s = STRUCT(MtlBinding, binding_fields);

static const AbiField gram_input_fields[] = {
    FIELD(MtlGramInput, task, AF_I32), FIELD(MtlGramInput, offset, AF_I64),
    FIELD(MtlGramInput, numel, AF_I64),
};
static const AbiStruct gram_input_s = STRUCT(MtlGramInput, gram_input_fields);

static const AbiField info_fields[] = {
    FIELD(MtlModelInfo, abi, AF_I32),
    FIELD(MtlModelInfo, name, AF_STR),
    FIELD(MtlModelInfo, spec, AF_STR),
    FIELD(MtlModelInfo, mtlc_version, AF_STR),
    FIELD(MtlModelInfo, batch_max, AF_I64),
    FIELD(MtlModelInfo, n_params, AF_I64),
    FIELD(MtlModelInfo, n_state, AF_I64),
    FIELD(MtlModelInfo, n_stats, AF_I64),
    FIELD(MtlModelInfo, n_act, AF_I64),
    FIELD(MtlModelInfo, flops, AF_I64),
    FIELD(MtlModelInfo, n_hyper, AF_I32),
    FIELD(MtlModelInfo, n_param_tensors, AF_I32),
    TABLE(MtlModelInfo, param_tensors, &tensor_s, n_param_tensors),
    FIELD(MtlModelInfo, n_state_tensors, AF_I32),
    TABLE(MtlModelInfo, state_tensors, &tensor_s, n_state_tensors),
    FIELD(MtlModelInfo, n_stat_tensors, AF_I32),
    TABLE(MtlModelInfo, stat_tensors, &tensor_s, n_stat_tensors),
    FIELD(MtlModelInfo, n_inputs, AF_I32),
    TABLE(MtlModelInfo, inputs, &input_s, n_inputs),
    FIELD(MtlModelInfo, n_labels, AF_I32),
    TABLE(MtlModelInfo, labels, &label_s, n_labels),
    FIELD(MtlModelInfo, n_tasks, AF_I32),
    TABLE(MtlModelInfo, tasks, &task_s, n_tasks),
    FIELD(MtlModelInfo, n_regs, AF_I32),
    TABLE(MtlModelInfo, regs, &reg_s, n_regs),
    FIELD(MtlModelInfo, n_bindings, AF_I32),
    TABLE(MtlModelInfo, bindings, &binding_s, n_bindings),
    ENUM(MtlModelInfo, optimizer, opt_names),
    FIELD(MtlModelInfo, lr, AF_F64),
    FIELD(MtlModelInfo, beta1, AF_F64),
    FIELD(MtlModelInfo, beta2, AF_F64),
    ENUM(MtlModelInfo, schedule, sched_names),
    FIELD(MtlModelInfo, step_every, AF_I64),
    FIELD(MtlModelInfo, step_gamma, AF_F64),
    FIELD(MtlModelInfo, warmup, AF_I64),
    FIELD(MtlModelInfo, batch, AF_I64),
    FIELD(MtlModelInfo, epochs, AF_I64),
    FIELD(MtlModelInfo, seed, AF_U64),
    ENUM(MtlModelInfo, balance, balance_names),
    FIELD(MtlModelInfo, n_balance_args, AF_I32),
    SCALARS(MtlModelInfo, balance_args, AF_F64, n_balance_args),
    FIELD(MtlModelInfo, balance_param, AF_I32),
    FIELD(MtlModelInfo, n_bal, AF_I64),
    FIELD(MtlModelInfo, n_gram_inputs, AF_I32),
    TABLE(MtlModelInfo, gram_inputs, &gram_input_s, n_gram_inputs),
    FIELD(MtlModelInfo, patience, AF_I64),
    FIELD(MtlModelInfo, min_delta, AF_F64),
    FIELD(MtlModelInfo, monitor_task, AF_I32),
    FIELD(MtlModelInfo, monitor_metric, AF_I32),
    FN(MtlModelInfo, init),
    FN(MtlModelInfo, train_step),
    FN(MtlModelInfo, eval_step),
    FN(MtlModelInfo, forward),
    FN(MtlModelInfo, train_begin),
    FN(MtlModelInfo, train_end),
    FN(MtlModelInfo, grad_step),
    FN(MtlModelInfo, update_step),
};
const AbiStruct abi_model_info = STRUCT(MtlModelInfo, info_fields);

int64_t abi_int(const void *base, const AbiField *f) {
  const char *p = (const char *)base + f->offset;
  switch (f->kind) {
  case AF_I32: { int32_t v; memcpy(&v, p, 4); return v; }
  case AF_I64: case AF_U64: { int64_t v; memcpy(&v, p, 8); return v; }
  default: unreachable(); return 0;
  }
}

double abi_real(const void *base, const AbiField *f) {
  const char *p = (const char *)base + f->offset;
  if (f->kind == AF_F32) {
    float v;
    memcpy(&v, p, 4);
    return v;
  }
  MTLC_ASSERT(f->kind == AF_F64);
  double v;
  memcpy(&v, p, 8);
  return v;
}

const void *abi_ptr(const void *base, const AbiField *f) {
  const void *v;
  memcpy(&v, (const char *)base + f->offset, sizeof v);
  return v;
}

int abi_count(const void *base, const AbiStruct *s, const AbiField *f) {
  for (int i = 0; i < s->nfields; i++)
    if (!strcmp(s->fields[i].name, f->count))
      return (int)abi_int(base, &s->fields[i]);
  unreachable();
  return 0;
}

size_t abi_elem_size(const AbiField *f) {
  return f->elem ? f->elem->size : f->elem_kind == AF_I64 || f->elem_kind == AF_F64 ? 8 : 4;
}

const char *abi_elem_ctype(const AbiField *f) {
  return f->elem ? f->elem->name : f->elem_kind == AF_I64 ? "int64_t"
                                 : f->elem_kind == AF_F64 ? "double"
                                 : f->elem_kind == AF_F32 ? "float" : "int32_t";
}

/* a model balanced by static trains with train_step, any other with
 * train_begin and train_end; data parallel, static's train_step or any
 * other method's train_end comes in two halves, grad_step and
 * update_step */
bool abi_fn_defined(const void *info, const AbiField *f) {
  const MtlModelInfo *m = info;
  bool phases = !strcmp(f->fn, "train_begin") || !strcmp(f->fn, "train_end");
  if (phases || !strcmp(f->fn, "train_step"))
    return phases == (m->balance != MTL_BAL_STATIC);
  return true;
}
