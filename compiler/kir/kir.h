/* kir/kir.h: the kernel IR, which both back ends render, and the passes
 * that make it (DESIGN.md: graph IR -> kernel IR -> plan).
 *
 * A kernel is one generated function: a small imperative body (loops with
 * trip counts known at compile time or equal to the batch B, loads and
 * stores at computed indices, float and integer arithmetic, GEMM and
 * dropout-mask calls into the runtime) over buffers it takes as
 * parameters, like llm.c's matmul_forward(out, inp, weight, ...). A program
 * (the train step, evaluation, the forward pass) is a list of calls of
 * kernels with actual buffers: kernels with the same text are one kernel,
 * whichever program or node calls them. The passes over a finished
 * program: dead-code elimination, then the memory plan (offsets in one
 * arena, by liveness). The ops' lowerings to kernel IR (kir_NAME) live in
 * their families' files, ops/FAMILY.c. */
#ifndef MTLC_KIR_H
#define MTLC_KIR_H
#include "graph/graph.h"

/* ---- buffers ---------------------------------------------------------------- */

typedef enum {
  BUF_PARAM, /* params + offset */
  BUF_GRAD,  /* grads + offset (a parameter's gradient, params' layout) */
  BUF_STATE, /* state + offset: optimizer state */
  BUF_STAT,  /* stats + offset: running statistics */
  BUF_ACT,   /* act + offset: activations, gradients, scratch; planned per program */
  BUF_DATA,  /* data[index]: an input or a bound label */
  BUF_OUT,   /* outputs[index]: a task's output */
  BUF_LOSS,  /* losses + index: a task's mean loss */
  BUF_HYPER, /* hyper + index: one of the step's hyperparameters */
  BUF_CONST, /* a constant int32 table */
  BUF_BAL,   /* bal + offset: what train_begin leaves the balancer (the Gramian) */
} BufKind;

typedef struct {
  int id;
  BufKind kind;
  DType dtype;
  int index;       /* BUF_DATA, BUF_OUT, BUF_LOSS, BUF_HYPER */
  int64_t offset;  /* the groups: elements from the group's start */
  int64_t size;    /* elements at batch_max */
  bool scratch;    /* BUF_ACT: live only while its kernel runs */
  const char *name; /* C identifier, for the text form and comments */
  const char *what; /* shape and origin */
  int32_t *table;  /* BUF_CONST */
  int ntable;
} Buf;

/* ---- expressions and statements ----------------------------------------------- */

typedef enum {
  X_F,      /* float constant */
  X_I,      /* integer constant */
  X_VAR,    /* loop variable (integer) */
  X_LOCAL,  /* a local (float or integer); of an array local, element a */
  X_LOAD,   /* param[a]: the kernel's parameter `arg`; integer if it is */
  X_BATCH,  /* B, integer */
  X_BIN,
  X_UN,
  X_SEL,    /* a ? b : c; both arms are safe to evaluate */
  X_TOF,    /* integer to float */
  X_TOI,    /* float to integer (truncation) */
} ExprKind;

typedef enum {
  XB_ADD, XB_SUB, XB_MUL, XB_DIV, XB_REM, XB_MAX, XB_MIN,
  XB_LT, XB_LE, XB_GT, XB_GE, XB_EQ, XB_AND,
} BinOp;
typedef enum { XU_NEG, XU_EXP, XU_LOG, XU_LOG1P, XU_TANH, XU_SQRT, XU_ABS, XU_ERF } UnOp;

typedef struct Expr Expr;
struct Expr {
  ExprKind kind;
  bool is_int; /* integer (int64) rather than float */
  double f;
  int64_t i;   /* X_I; X_VAR/X_LOCAL: its number */
  int op;
  int arg;     /* X_LOAD: the kernel parameter */
  Buf *buf;    /* X_LOAD: the buffer it had when built (the builder's) */
  Expr *a, *b, *c;
};

/* K_SYNC: parameter arg's first val elements summed over the ranks of a
 * data-parallel step, in place (the runtime's mtl_sync; nothing in one
 * process): batchnorm's batch statistics, so N ranks normalize as one
 * process would (SyncBatchNorm). */
typedef enum { K_FOR, K_STORE, K_LOCAL, K_SET, K_GEMM, K_DROPOUT, K_SYNC } StmtKind;

typedef struct Stmt Stmt;
struct Stmt {
  StmtKind kind;
  int var;     /* K_FOR: loop variable; K_LOCAL, K_SET: local */
  int64_t n;   /* K_LOCAL: elements of an array local (a register tile), else 0 */
  Expr *hi;    /* K_FOR: 0 <= var < hi */
  Vec body;    /* K_FOR: Stmt* */
  int arg;     /* K_STORE, K_DROPOUT, K_SYNC: the parameter written */
  Expr *idx;   /* K_STORE; K_SET: the element of an array local */
  Expr *val;   /* K_STORE, K_LOCAL (NULL for an array), K_SET; K_DROPOUT, K_SYNC: element count */
  bool accum;  /* K_STORE: += */
  bool is_int; /* K_LOCAL */
  /* K_GEMM: C[offc..] = alpha op(A) op(B) + beta C */
  int ta, tb;
  Expr *M, *N, *K;
  int A, B, C; /* parameters */
  Buf *buf, *bufA, *bufB, *bufC; /* the buffers they had when built (the builder's) */
  Expr *offa, *offb, *offc;
  Expr *lda, *ldb, *ldc;
  double alpha, beta;
  double p;       /* K_DROPOUT */
  int64_t stream; /* K_DROPOUT */
  int mode;       /* K_SYNC: MTL_SYNC_SHARE or MTL_SYNC_SUM (mtl_kernel.h) */
};

/* ---- kernels, calls, programs --------------------------------------------------- */

typedef struct {
  const char *name; /* "x", "w", "out", "tmp0": its role */
  DType dtype;
  bool read, written;
  bool group;       /* every call passes a 64-byte aligned block of a buffer group */
} KParam;

#define MAX_KERNEL_PARAMS 32

typedef struct {
  const char *name;    /* C identifier: the spec entity and the op, trunk_conv2d1_conv2d */
  const char *comment; /* what it computes and where in the spec */
  Vec body;            /* Stmt* */
  int nparams;
  KParam *params;
  bool uses_batch, uses_seed;
  int nvars, nlocals;
  const char *key;     /* its text: kernels with one key are one kernel */
  int ncalls;
  void *backend;       /* a back end's handle on its rendering */
} Kernel;

typedef struct {
  Kernel *k;
  Buf **args; /* k->nparams actual buffers */
  Node *node; /* the node it computes */
} KCall;

typedef enum { PROG_TRAIN, PROG_EVAL, PROG_FORWARD } ProgKind;

typedef struct {
  ProgKind kind;
  const char *name;  /* "train_step", "eval_step", "forward" */
  Graph *g;
  Vec calls;         /* Call*, in order */
  int split;         /* train: calls [0, split) are train_begin's, the rest train_end's
                      * (a balance method other than static); else calls.len */
  int64_t act_size;  /* floats, at batch_max */
  int64_t *offset;   /* by Buf id: where a BUF_ACT buffer lives in this program's arena */
  Buf **node_buf;    /* by node id: the node's buffer (NULL: none, or fused away) */
  Vec keep;          /* Buf*: live until train_begin ends (the Gramian's inputs) */
} Program;

/* Everything a back end renders: the distinct kernels, three programs, and
 * the buffer groups they share. */
typedef struct {
  Model *m;
  Arena *a;
  int64_t batch_max;
  int64_t fixed_batch; /* > 0: B is this constant in every kernel (inference) */
  bool gen_gemm;       /* GEMMs as generated loop nests (kir/gemm.c), not mtl_sgemm */
  Vec kernels;  /* Kernel*, distinct, in order of first use */
  Vec bufs;     /* Buf*, by id */
  Program *train, *eval, *forward;
  /* the train step in two, for data parallelism: grad_step is its calls
   * but the optimizer updates (gradients, losses, running statistics),
   * update_step the updates alone; one after the other is train_step.
   * Under a balance method other than static they are train_end in two
   * the same way. Both are views of train's calls and its memory plan. */
  Program *grad, *update;
  int64_t n_params, n_state, n_stats, n_act; /* floats in each group */
  int n_hyper;
  int64_t n_bal;  /* floats of bal[]: the T x T Gramian of a gradient method, or 0 */
  Vec gram_in;    /* Buf*: each Gramian term's T inputs in task order (train's arena) */
  Vec params, states, stats; /* Node* of the train graph, in group order */
  Vec param_bufs, grad_bufs, state_bufs, stat_bufs; /* Buf*, the same orders */
  Vec data;     /* Node*: inputs, then bound labels (train graph) */
  Vec data_buf; /* Buf*, the same order */
  double t_lower, t_autodiff, t_kernels; /* seconds, for mtlc train -v */
} Unit;

Unit *build_unit(Arena *a, Model *m, int64_t batch_max);
/* what follows NAME_ in the symbols a model's code exports (NAME_init,
 * NAME_info, ...), NULL-terminated; no kernel or table is named like one */
extern const char *const kir_exports[];
/* the pieces build_unit is made of, for units of other programs
 * (kir/infer.c): the buffer groups of g's parameters, statistics, state
 * and data; a program of g's nodes as calls; the last touches */
void kir_layout(Unit *u, Graph *g);
Program *kir_program(Unit *u, ProgKind kind, const char *name, Graph *g);
void kir_finish(Unit *u);
/* the group buffer of a parameter, state or statistic node, by name */
Buf *unit_group_buf(Unit *u, const Node *n);

/* ---- the builder the families' kir_NAME rules use (kir/build.c) ------------------ */

typedef struct KB KB;
Node *kb_node(KB *kb);
Buf *kb_out(KB *kb);
Buf *kb_in(KB *kb, int k);           /* the buffer of the node's input k */
Buf *kb_buf(KB *kb, const Node *n);  /* any node's buffer */
bool kb_fused(KB *kb, const Node *n); /* a bias folded into the activation after it */
Buf *kb_scratch(KB *kb, int64_t size, const char *what);
int64_t kb_batch_max(KB *kb); /* the largest B: a scratch's size for the whole batch */
Buf *kb_table(KB *kb, const int64_t *t, int n, const char *what);

Expr *kx_f(KB *kb, double f);
Expr *kx_i(KB *kb, int64_t i);
Expr *kx_batch(KB *kb);
Expr *kx_load(KB *kb, Buf *b, Expr *idx);
Expr *kx_bin(KB *kb, BinOp op, Expr *x, Expr *y);
Expr *kx_un(KB *kb, UnOp op, Expr *x);
Expr *kx_sel(KB *kb, Expr *c, Expr *x, Expr *y);
Expr *kx_tof(KB *kb, Expr *x);
Expr *kx_toi(KB *kb, Expr *x);
Expr *kx_count(KB *kb, const Node *n); /* B * numel, or numel */

Expr *kb_loop(KB *kb, Expr *hi); /* for (v = 0; v < hi; v++) { ... kb_end */
void kb_end(KB *kb);
void kb_store(KB *kb, Buf *b, Expr *idx, Expr *val, bool accum);
Expr *kb_local(KB *kb, Expr *init);
void kb_set(KB *kb, Expr *local, Expr *val);
/* an array local of n floats, uninitialized (a register tile), its element
 * i, and a store to its element i */
Expr *kb_local_array(KB *kb, int64_t n);
Expr *kx_elem(KB *kb, Expr *array, Expr *i);
void kb_set_elem(KB *kb, Expr *array, Expr *i, Expr *val);
void kb_zero(KB *kb, Buf *b, Expr *n);
void kb_gemm(KB *kb, int ta, int tb, Expr *M, Expr *N, Expr *K, Buf *A, Expr *offa,
             Expr *lda, Buf *B, Expr *offb, Expr *ldb, Buf *C, Expr *offc, Expr *ldc,
             double beta);
void kb_dropout(KB *kb, Buf *out, Expr *n, double p, int64_t stream);
/* b[0, n) summed over the ranks of a data-parallel step, each rank's
 * weighted by its share of the global batch (MTL_SYNC_SHARE: a mean over
 * each rank's samples becomes the global batch's) or not (MTL_SYNC_SUM) */
void kb_sync(KB *kb, Buf *b, Expr *n, int mode);
/* kir/gemm.c: a GEMM of constant shape as a register-blocked loop nest
 * (kb_gemm's rendering when the unit asks for generated GEMMs); false
 * when a shape is not constant */
bool kb_gemm_loops(KB *kb, int ta, int tb, Expr *M, Expr *N, Expr *K, Buf *A, Expr *offa,
                   Expr *lda, Buf *B, Expr *offb, Expr *ldb, Buf *C, Expr *offc, Expr *ldc,
                   double beta);

/* ---- passes over programs (kir/passes.c) ------------------------------------------ */

/* Removes the calls whose results nothing reads: a call lives when it
 * writes a buffer of the kinds in `roots` (bit set of 1 << BufKind) or one
 * a live call after it reads. */
void kir_dce(Program *p, unsigned roots);
/* Offsets in the activation arena: a buffer's block is free again once its
 * last reader has run; first fit, 64-byte aligned. */
void kir_plan(Unit *u, Program *p);

/* ---- inference-only programs (kir/infer.c) ------------------------------------------- */

/* Where one tensor of the inference weights comes from: a trained tensor
 * as it is, transposed (a dense layer's W[U, D] as W^T[D, U], so its GEMM
 * streams rows), or a convolution's weight and bias with the batchnorm
 * after it folded in. */
typedef enum { IW_COPY, IW_TRANSPOSE, IW_FOLD_WEIGHT, IW_FOLD_BIAS } InferWeightKind;

typedef struct {
  const char *name;  /* "trunk.conv2d1.weight.folded" */
  Shape shape;
  int64_t offset;    /* floats from the weights' start, 64-byte aligned */
  InferWeightKind kind;
  const char *src;   /* the trained tensor (FOLD_BIAS: the conv's bias, or NULL) */
  const char *gamma, *beta, *mean, *var; /* FOLD_*: the batchnorm's */
  double eps;
  Buf *buf;          /* the program's buffer for it */
} InferWeight;

typedef enum { IO_LOGITS, IO_PROBS, IO_CLASS, IO_VALUES } InferOutKind;

typedef struct {
  int task;
  InferOutKind kind;
  const char *name;  /* its member: item_logits */
  DType dtype;
  int64_t width;     /* values per sample */
  int64_t offset;    /* bytes from the output struct's start */
} InferOutput;

typedef struct {
  Node *node;
  const char *name;  /* its member: image */
  DType dtype;
  int64_t width;
  int64_t offset;    /* bytes from the input struct's start */
  const DataBind *norm; /* the spec's normalization of it, or NULL */
  /* normalize(auto) with --weights: the checkpoint's per-channel mean and
   * std (n_auto values each), for the header */
  const double *auto_mean, *auto_std;
  int64_t n_auto;
} InferInput;

/* A unit whose one program (u->forward, "predict") is the evaluation
 * graph's forward pass for fixed batch B: no labels, losses or dropout,
 * running statistics as weights, batchnorm after a convolution folded
 * into it, only the selected tasks' heads and what they need, GEMMs as
 * loop nests, every activation in one workspace. */
typedef struct {
  Unit *u;
  Program *p;
  int64_t batch;
  Vec weights;  /* InferWeight*, in layout order */
  int64_t n_weights; /* floats */
  Vec inputs;   /* InferInput* */
  Vec outputs;  /* InferOutput* */
  int64_t in_bytes, out_bytes, workspace_bytes;
  uint64_t model_hash;   /* of the trained model: runtime's mtl_model_hash */
  uint64_t weights_hash; /* of this layout: the model's hash, the tensors' names, shapes, kinds */
} Infer;

/* tasks: by task index, which to keep (NULL: all) */
Infer *build_infer(Arena *a, Model *m, int64_t batch, const bool *tasks, uint64_t model_hash);
/* what follows NAME_ in the symbols the inference-only code exports
 * (NAME_predict, NAME_weights), NULL-terminated */
extern const char *const infer_exports[];
/* the weight buffer b is (a BUF_PARAM or BUF_STAT of the program), or NULL */
const InferWeight *infer_weight_of(const Infer *inf, const Buf *b);
/* the inference weights from a trained model's groups, by `lookup`, which
 * returns a trained tensor's floats by name (NULL: absent) */
typedef const float *InferLookup(void *ctx, const char *name);
bool infer_fill_weights(const Infer *inf, InferLookup *lookup, void *ctx, float *out);

/* ---- the text form: mtlc kir (kir/print.c) ---------------------------------------- */
void kir_print(FILE *out, Unit *u);
/* an inference unit: its kernels and program, then its weights' layout,
 * inputs and outputs (mtlc kir --infer) */
void infer_print(FILE *out, const Infer *inf);
/* one kernel's body as text, parameters by name: also its dedup key */
char *kir_kernel_text(Arena *a, const Kernel *k);
/* what an actual buffer is, as an expression of the entry point's arguments */
const char *kir_buf_ref(Arena *a, const Program *p, const Buf *b);

/* a float constant expression outside a builder */
Expr *kx_const(Arena *a, double f);

#endif
