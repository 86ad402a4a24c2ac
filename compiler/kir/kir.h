/* kir/kir.h: the kernel IR, which both back ends render. */
#ifndef MTLC_KIR_H
#define MTLC_KIR_H
#include "graph/graph.h"

/* ---- kernel.c: the kernel IR, which both back ends render ----------------------
 * A program is a list of kernels, one per graph node that computes
 * something; a kernel is a small imperative body: loops with trip counts
 * known at compile time (or the batch B), loads and stores at computed
 * indices into named buffers, float and integer arithmetic on scalars and
 * locals, GEMM calls and dropout-mask calls into the runtime. */

typedef enum {
  BUF_PARAM, /* params + offset */
  BUF_GRAD,  /* grads + offset (a parameter's gradient, params' layout) */
  BUF_STATE, /* state + offset */
  BUF_ACT,   /* act + offset: activations, gradients, scratch */
  BUF_DATA,  /* data[index]: an input (float) or a bound label */
  BUF_OUT,   /* outputs[index]: a task's output */
  BUF_LOSS,  /* losses: one float per task */
  BUF_CONST, /* a constant int32 table */
} BufKind;

typedef struct {
  BufKind kind;
  int index;       /* BUF_DATA, BUF_OUT */
  int64_t offset;  /* floats from the group's start */
  int64_t size;    /* elements at batch_max */
  bool is_int;     /* int32 elements */
  const char *name; /* C identifier */
  const char *what; /* comment: shape and origin */
  int32_t *table;  /* BUF_CONST */
  int ntable;
} Buf;

typedef enum {
  X_F,      /* float constant */
  X_I,      /* integer constant */
  X_VAR,    /* loop variable (integer) */
  X_LOCAL,  /* a local (float or integer) */
  X_LOAD,   /* buf[a]; integer if buf is */
  X_HYPER,  /* hyper[i]: lr, 1 - beta1^t, 1 - beta2^t */
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
typedef enum { XU_NEG, XU_EXP, XU_LOG, XU_LOG1P, XU_TANH, XU_SQRT, XU_ABS } UnOp;

typedef struct Expr Expr;
struct Expr {
  ExprKind kind;
  bool is_int; /* integer (int64) rather than float */
  double f;
  int64_t i;   /* X_I; X_VAR/X_LOCAL: its number; X_HYPER: which */
  int op;
  Buf *buf;
  Expr *a, *b, *c;
};

typedef enum { K_FOR, K_STORE, K_LOCAL, K_SET, K_GEMM, K_DROPOUT } StmtKind;

typedef struct Stmt Stmt;
struct Stmt {
  StmtKind kind;
  int var;     /* K_FOR: loop variable; K_LOCAL, K_SET: local */
  Expr *hi;    /* K_FOR: 0 <= var < hi */
  Vec body;    /* K_FOR: Stmt* */
  Buf *buf;    /* K_STORE, K_DROPOUT */
  Expr *idx;   /* K_STORE */
  Expr *val;   /* K_STORE, K_LOCAL, K_SET; K_DROPOUT: element count */
  bool accum;  /* K_STORE: += */
  bool is_int; /* K_LOCAL */
  /* K_GEMM: C[offc..] = alpha op(A) op(B) + beta C */
  int ta, tb;
  Expr *M, *N, *K;
  Buf *A, *B, *C;
  Expr *offa, *offb, *offc;
  Expr *lda, *ldb, *ldc;
  double alpha, beta;
  double p;       /* K_DROPOUT */
  int64_t stream; /* K_DROPOUT */
};

typedef struct {
  Node *node;          /* NULL for the copies to outputs[] and losses[] */
  const char *prefix;  /* tr_ or ev_: the program that made it */
  const char *name;    /* k12_conv2d */
  bool copies_output;  /* a copy to outputs[] (the forward pass needs it) */
  void *backend;       /* a back end's handle on its rendering */
  const char *comment; /* what and where in the spec */
  Vec body;            /* Stmt* */
  int nvars, nlocals;
} Kernel;

/* The forward program is a subset of the evaluation program's kernels,
 * over its buffers: a back end renders each kernel once. */
typedef enum { PROG_TRAIN, PROG_EVAL, PROG_FORWARD } ProgKind;

typedef struct {
  ProgKind kind;
  Graph *g;
  Buf **buf; /* by node id */
  bool *fused; /* by node id: a bias folded into the activation after it */
  Vec kernels;
  int64_t act_size; /* floats, at batch_max */
} Program;

/* Everything a back end renders: three programs over one set of buffers. */
typedef struct {
  Model *m;
  Arena *a;
  int64_t batch_max;
  Program *train, *eval, *forward;
  int64_t n_params, n_state, n_act;
  Vec params; /* Node* of the train graph, in buffer order */
  Vec states;
  Vec data;   /* Node*: inputs, then bound labels (train graph) */
  double t_lower, t_autodiff, t_kernels; /* seconds, for mtlc train -v */
} Module;

Module *build_module(Arena *a, Model *m, int64_t batch_max);

/* the buffers a kernel reads and writes, and whether it reads B, hyper[]
 * or the dropout seed */
#define MAX_KERNEL_BUFS 64
typedef struct {
  const Buf *buf[MAX_KERNEL_BUFS];
  bool written[MAX_KERNEL_BUFS];
  int n;
  bool batch, hyper, seed;
} KernelUses;
void kernel_uses(const Kernel *k, KernelUses *u);

/* a float constant expression (modinfo and the back ends build a few) */
Expr *kx_const(Arena *a, double f);

#endif
