/* mtlc.h: the compiler's one internal header, sectioned by the file that
 * implements each part (chibicc's layout). Nothing here is public API; the
 * runtime has its own header, runtime/mtl.h. */
#ifndef MTLC_H
#define MTLC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define MTLC_VERSION "0.1.0"

/* Internal bugs only, never user input: print where and abort (ggml). */
#define MTLC_ASSERT(x)                                                         \
  do {                                                                         \
    if (!(x)) {                                                                \
      fprintf(stderr, "%s:%d: internal error: assert(%s) failed\n", __FILE__, \
              __LINE__, #x);                                                   \
      abort();                                                                 \
    }                                                                          \
  } while (0)
#define unreachable() MTLC_ASSERT(!"unreachable")

/* ---- arena.c: one arena per compilation, freed whole ------------------- */

typedef struct Arena Arena;
Arena *arena_new(void);
void arena_free(Arena *a);
void *arena_alloc(Arena *a, size_t n); /* zeroed */
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_strdup(Arena *a, const char *s);
char *arena_printf(Arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A growable array of pointers whose storage comes from an arena. */
typedef struct {
  void **data;
  int len, cap;
} Vec;
void vec_push(Arena *a, Vec *v, void *x);
void *xcalloc(size_t n, size_t size); /* exits 1 with a message when out of memory */

/* ---- diag.c: diagnostics with spans ------------------------------------ */

/* A byte range [lo, hi) in the source; line and column are computed only
 * when a message is printed (jq's locfile). */
typedef struct {
  int lo, hi;
} Span;

typedef struct {
  const char *path; /* as the user named it */
  const char *text; /* NUL-terminated copy of the file */
  int len;
  int nerrors, nwarnings;
} Source;

typedef enum { DIAG_ERROR, DIAG_WARNING, DIAG_NOTE } DiagKind;

void diag_at(Source *src, DiagKind kind, Span sp, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define error_at(src, sp, ...) diag_at(src, DIAG_ERROR, sp, __VA_ARGS__)
#define warn_at(src, sp, ...) diag_at(src, DIAG_WARNING, sp, __VA_ARGS__)
#define note_at(src, sp, ...) diag_at(src, DIAG_NOTE, sp, __VA_ARGS__)
int span_line(const Source *src, int off);
const char *suggest(const char *name, const char *const *cands, int n);

/* ---- parser.y / lexer.l: the AST -------------------------------------- */

typedef enum { V_NUM, V_STR, V_IDENT, V_BOOL, V_LIST } ValueKind;

typedef struct Value Value;
struct Value {
  ValueKind kind;
  Span span;
  double num;    /* V_NUM, V_BOOL */
  bool is_int;   /* V_NUM written with no fraction or exponent */
  char *str;     /* V_STR (unescaped), V_IDENT */
  Vec items;     /* V_LIST: Value* */
};

typedef struct {
  char *name; /* NULL when positional */
  Span name_span;
  Value *val;
  Span span;
} Arg;

/* A layer or a call: IDENT [ "(" args ")" ] */
typedef struct {
  char *name;
  Span name_span;
  Span span; /* whole call, parentheses included */
  bool parens;
  Vec args; /* Arg* */
} Call;

typedef struct {
  char *name;
  Span span;
  Vec dims; /* Value* */
} InputDecl;

typedef struct {
  char *name; /* input or label name */
  Span name_span;
  Value *path;
  Vec calls; /* Call*: normalize(...), csv(...) */
  Span span;
} Binding;

typedef struct {
  char *split;
  Span split_span;
  Vec bindings; /* Binding* */
  Span span;
} DataDecl;

typedef struct {
  bool is_private;
  char *name;
  Span name_span;
  Vec chain; /* Call* */
  Span span;
} BlockDecl;

typedef enum { LBL_CLASS, LBL_BINARY, LBL_REAL } LabelKind;

typedef enum {
  F_LABEL,
  F_NET,
  F_LOSS,
  F_WEIGHT,
  F_METRIC,
} FieldKind;

typedef struct {
  FieldKind kind;
  Span span; /* whole field */
  Span key_span;
  /* F_LABEL */
  LabelKind label;
  Value *label_n; /* class(N) or real[N]; NULL for binary */
  Call *derive;   /* = lookup(...) */
  /* F_NET */
  char *input;
  Span input_span;
  Vec chain; /* Call* */
  /* F_LOSS */
  Call *loss;
  /* F_WEIGHT */
  Value *weight;
  /* F_METRIC */
  Vec metrics; /* Value* (V_IDENT) */
} Field;

typedef struct {
  char *name;
  Span name_span;
  Vec fields; /* Field* */
  Span span;
} TaskDecl;

typedef struct {
  char *key;
  Span key_span;
  Value *val;  /* a plain value, or NULL */
  Call *call;  /* an IDENT, or IDENT(...) */
  Span span;
} TrainItem;

typedef struct {
  Vec items; /* TrainItem* */
  Span span;
} TrainDecl;

typedef struct {
  char *model;
  Span model_span;
  Vec inputs;     /* InputDecl* */
  Vec data;       /* DataDecl* */
  Vec blocks;     /* BlockDecl* */
  Vec tasks;      /* TaskDecl* */
  Vec regularize; /* Call* */
  Vec balance;    /* Call* */
  Vec train;      /* TrainDecl* */
} Spec;

/* What the parser and scanner share (yyextra, parse-param). */
typedef struct {
  Arena *arena;
  Source *src;
  Spec *spec;
  int pos; /* scanner's byte offset */
  /* open delimiters, for "to close" hints */
  struct Open {
    char ch;
    Span span;
    char what[100];
  } open[64];
  int nopen, open_overflow;
  char prev[2][48]; /* texts of the last two tokens */
} ParseState;

/* parse.c glue: returns NULL after reporting syntax errors */
Spec *parse_spec(Arena *a, Source *src);

/* ---- sema.c: the checked model ---------------------------------------- */

#define MAX_RANK 4

typedef struct {
  int rank;
  int64_t d[MAX_RANK];
} Shape;

typedef enum {
  L_DENSE,
  L_CONV2D,
  L_MAXPOOL,
  L_AVGPOOL,
  L_FLATTEN,
  L_RELU,
  L_SIGMOID,
  L_TANH,
  L_DROPOUT,
} LayerKind;

typedef struct {
  LayerKind kind;
  Call *call; /* where it was written */
  int64_t units;         /* dense: units; conv2d: filters */
  int64_t kernel, stride, pad; /* conv2d; pools: kernel=size */
  bool bias;
  double p; /* dropout */
  Shape in, out;
  int64_t params, flops;
} Layer;

typedef struct Task Task;

typedef struct {
  BlockDecl *decl;
  char *name;
  bool is_private;
  Vec layers; /* Layer* */
  bool shaped; /* in/out known (first use seen) */
  Shape in, out;
  int64_t params, flops; /* one copy */
  Vec users;             /* Task*, in task order, each once */
  Span first_use;        /* for "first used here" notes */
} Block;

typedef struct {
  InputDecl *decl;
  char *name;
  Shape shape;
  bool used;
} Input;

/* One step of a task's net: a block, or a layer of the task's own. */
typedef struct {
  Block *block; /* or NULL */
  Layer *layer; /* or NULL */
  Shape in, out;
} Step;

typedef enum { LOSS_CROSS_ENTROPY, LOSS_BCE, LOSS_MSE } LossKind;
typedef enum { MET_ACCURACY, MET_MSE, MET_MAE } MetricKind;

struct Task {
  TaskDecl *decl;
  char *name;
  int index;
  LabelKind label;
  int64_t label_n; /* classes, or real width; 1 for binary */
  Task *derive_from; /* lookup source, or NULL */
  int64_t *lookup;   /* derive_from's class count entries */
  int nlookup;
  Input *input;
  Vec steps; /* Step* */
  Shape out;
  LossKind loss;
  double weight;
  int metrics; /* bit set of 1 << MetricKind */
  int64_t own_params, flops;
};

typedef enum { REG_L2_DISTANCE, REG_L2 } RegKind;
typedef struct {
  RegKind kind;
  Call *call;
  Block *block; /* l2_distance; l2's `on` (NULL: all parameters) */
  double lambda;
} Regularizer;

typedef enum { BAL_STATIC } BalanceKind;
typedef enum { OPT_SGD, OPT_ADAM, OPT_ADAMW } OptKind;
typedef enum { SCHED_CONSTANT, SCHED_STEP, SCHED_COSINE } SchedKind;

typedef struct {
  OptKind kind;
  double lr, momentum, beta1, beta2, eps, weight_decay;
  bool nesterov;
} Optimizer;

typedef struct {
  Optimizer opt;
  int64_t batch, epochs, seed;
  SchedKind sched;
  int64_t step_every;
  double step_gamma;
} TrainOpts;

/* One binding of a data split: an input or a bound label. */
typedef struct {
  Binding *decl;
  Input *input; /* or */
  Task *task;
  char *path;   /* resolved, or as written when not found */
  bool found;
  bool normalize;
  double mean, std;
  int csv_column;   /* label: -1 when not CSV */
  Vec csv_columns;  /* input: Value* */
} DataBind;

typedef struct {
  char *split;
  Vec binds; /* DataBind* */
} DataSplit;

typedef struct {
  Spec *spec;
  Source *src;
  char *name;
  Vec inputs;  /* Input* */
  Vec blocks;  /* Block* */
  Vec tasks;   /* Task* */
  Vec regs;    /* Regularizer* */
  BalanceKind balance;
  TrainOpts train;
  Vec splits;  /* DataSplit* */
  int64_t shared_params, total_params, total_flops;
} Model;

/* spec_dir: folder of the spec, for relative data paths. Returns NULL when
 * any error was reported. */
Model *sema(Arena *a, Source *src, Spec *spec, const char *spec_dir);
const char *shape_str(Arena *a, Shape s);

/* ---- summary.c ---------------------------------------------------------- */
void print_summary(FILE *out, Model *m);

/* ---- ir.c: the graph IR --------------------------------------------------- */

typedef enum {
#define OP(name, text, arity, kind) OP_##name,
#include "ops.def"
#undef OP
  NUM_OPS
} Op;

typedef enum { OPK_L, OPK_F, OPK_B, OPK_U } OpKind;

typedef struct {
  const char *text;
  int arity;
  OpKind kind;
} OpInfo;
extern const OpInfo op_info[NUM_OPS];

/* A value of the graph. A batched node's full shape is [B] + shape; any
 * other node's is shape (rank 0: a scalar). Nodes are kept in topological
 * order: forward, then backward, then updates. */
typedef struct Node Node;
struct Node {
  int id;
  Op op;
  int nin;
  Node *in[4];
  bool batched;
  Shape shape;
  int64_t a[4]; /* integer attributes: stride, pad, size, flags */
  double f[4];  /* real attributes: scale, p, momentum, betas */
  int64_t *table; /* LOOKUP */
  int ntable;
  const char *name; /* leaves, task outputs and losses; NULL otherwise */
  Span span;        /* the spec construct it came from ({0,0}: none) */
  bool needs_grad;  /* depends on a parameter */
  Node *grad_of;    /* for a parameter's final gradient: the parameter */
  int task;         /* task index for labels, outputs and losses; else -1 */
};

typedef struct {
  Arena *a;
  Model *m;
  Vec nodes;   /* Node*, topological order */
  Vec inputs;  /* INPUT nodes, in Model order */
  Vec labels;  /* LABEL nodes for bound labels */
  Vec params;  /* PARAM nodes */
  Vec states;  /* STATE nodes */
  Vec outputs; /* per task: the head's output (logits) */
  Vec losses;  /* per task: mean batch loss */
  Node *total; /* sum_t w_t L_t + sum of regularizers */
  Vec grads;   /* per param (same index): its gradient node, or NULL */
  Vec updates; /* SGD / ADAM effect nodes */
  int nforward;     /* nodes[0 .. nforward) compute the forward pass */
  int update_start; /* nodes[update_start ..) are optimizer states and updates */
  Span cur_span; /* span given to new nodes */
} Graph;

int64_t shape_numel(Shape s);
Node *ir_node(Graph *g, Op op, int nin, Node **in, const int64_t *attrs,
              const Shape *preset);
Node *ir_leaf(Graph *g, Op op, bool batched, Shape sh, const char *name);
Node *ir_unary(Graph *g, Op op, Node *x);
Node *ir_binary(Graph *g, Op op, Node *x, Node *y);
Node *ir_scale(Graph *g, Node *x, double f);
int64_t node_numel(const Node *n, int64_t batch);
/* "[B, 32, 28, 28]"; returns its length */
int node_shape_text(char *buf, size_t cap, const Node *n);
void ir_print(FILE *out, Graph *g, bool with_grad);

/* ---- lower.c: checked model -> forward graph --------------------------------- */
Graph *lower(Arena *a, Model *m, bool training);

/* ---- autodiff.c: reverse mode, IR to IR; optimizer updates ------------------ */
void autodiff(Graph *g);
void add_updates(Graph *g);

/* ---- interp.c: the reference interpreter, in double --------------------------- */

typedef struct {
  Graph *g;
  int64_t batch;
  double **val;      /* per node id: its buffer */
  uint64_t step_seed; /* dropout masks are a function of it and the node */
  int64_t step;       /* optimizer steps taken (Adam's t) */
  double lr;
} Interp;

Interp *interp_new(Graph *g, int64_t batch);
void interp_free(Interp *in);
void interp_init_params(Interp *in, uint64_t seed);
void interp_random_batch(Interp *in, uint64_t seed);
void interp_run(Interp *in, int from, int to); /* nodes [from, to) */
void interp_forward(Interp *in);
void interp_step(Interp *in); /* forward, backward, update */
double interp_scalar(Interp *in, Node *n);

/* ---- gradcheck.c: mtlc check-grad ---------------------------------------------- */
int check_grad(Model *m, uint64_t seed, int64_t batch, int samples, bool quiet);
int gradcheck_run(Interp *I, int samples, uint64_t seed, bool quiet);

/* ---- rand: the runtime's PRNG (runtime/mtl_kernel.c), shared so that a
 * seed means the same numbers in the interpreter and in generated code */
#include "mtl.h"
typedef MtlRng Rng;
#define rng_seed mtl_rng_seed
#define rng_next mtl_rng_next
#define rng_uniform mtl_rng_uniform
#define rng_normal mtl_rng_normal

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

/* ---- modinfo.c: the module's MtlModelInfo, entry points left NULL ---------------- */
MtlModelInfo *module_info(Module *mod);
Expr *kx_const(Arena *a, double f);

/* ---- emit_c.c --------------------------------------------------------------------- */
/* Writes DIR/NAME.c and DIR/NAME.h; with_main adds DIR/main.c. Returns false
 * after printing an error. `cmdline` goes in the front matter. */
bool emit_c(Module *mod, const char *dir, bool with_main, const char *cmdline);

/* only NAME.h, beside an object file from the LLVM back end */
bool emit_c_header(Module *mod, const char *dir, const char *cmdline);

/* ---- llvmload.c: the LLVM back end (jit.c, in libmtlc-llvm.so), loaded on use ----- */
/* seconds spent building and optimizing the module, and in the JIT */
const MtlModelInfo *jit_load(Module *mod, double *codegen_s, double *jit_s);
/* textual IR, or (obj) an object file for the host or `triple` */
bool emit_llvm_file(Module *mod, const char *path, bool obj, const char *triple,
                    const char *cmdline);

/* ---- bench.c: mtlc bench ------------------------------------------------------------- */
typedef struct {
  Arena *arena;
  const char *backend, *dump;
  int threads, reps;
  int64_t steps;
  bool infer;
  double compile_s;
} BenchOpts;
int run_bench(Model *m, const MtlModelInfo *info, const BenchOpts *o);

/* ---- cbuild.c: compile the C and load it ------------------------------------------- */
const MtlModelInfo *cbuild_load(Module *mod, const char *cmdline, bool verbose);

/* ---- codegen_check.c: generated code against the interpreter --------------------- */
int check_codegen(Module *mod, const MtlModelInfo *info, uint64_t seed, bool quiet);

#endif
