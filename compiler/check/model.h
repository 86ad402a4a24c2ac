/* check/model.h: the checked model, what sema() makes of a spec: inputs,
 * blocks, tasks, regularizers, the recipe and the data bindings, with every
 * shape known, and each task's net as a dataflow graph of named values
 * (NetVal) with fan-out (a trunk feeding heads) and fan-in (residual, the
 * gated sum of experts, a cross-stitch of the tasks' copies).
 * Lowering (graph/lower.c) and the summary read it. */
#ifndef MTLC_MODEL_H
#define MTLC_MODEL_H
#include "front/front.h"

/* ---- layers: one row of ops/layers.def each ------------------------------ */

typedef enum {
#define LAYER(id, name, family, flags, summary) L_##id,
#include "ops/layers.def"
#undef LAYER
  NUM_LAYERS
} LayerKind;

/* The layer table's rows (ops/tables.c, from ops/layers.def). */
enum { LF_ACTIVATION = 1, LF_KEEPS_SHAPE = 2, LF_BODY = 4, LF_IDS = 8, LF_ACROSS_TASKS = 16 };
typedef struct Layer Layer;
typedef struct Input Input;
typedef struct NetVal NetVal;
typedef struct Sema Sema;
typedef struct Sig Sig;
typedef struct Node Node;
typedef struct Lower Lower;
typedef struct {
  const char *name;
  const Sig *sig;      /* its arguments */
  int flags;
  const char *summary; /* what it computes, in a line */
  /* its family's rules: the arguments bound to sig into the layer; the
   * output shape, parameters and FLOPs on an input (or errors); the
   * lowering to graph IR of v = layer(x) */
  bool (*args)(Sema *s, Layer *l, Value **v);
  bool (*shape)(Sema *s, Layer *l, Shape in);
  Node *(*lower)(Lower *L, const NetVal *v, Node *x);
} LayerRule;
extern const LayerRule layer_rules[NUM_LAYERS];
/* the layer of this name, or -1 */
int find_layer(const char *name);

/* A layer as written in a chain. Its arguments live in i[] and f[], named
 * by its family's file (ops/dense.c: i[UNITS]); shapes are known once the
 * layer's input is. */
struct Layer {
  LayerKind kind;
  Call *call;       /* where it was written */
  const char *path; /* its name within its chain's owner: "conv2d1", "residual1.dense2" */
  int64_t i[4];     /* integer arguments */
  double f[4];      /* real arguments */
  bool bias;
  Vec body;         /* a layer with a body (residual, concat): Layer* */
  Input *from;      /* concat: the input its chain starts at, or NULL (its input) */
  Shape in, out;
  DType in_dtype;
  int64_t vocab;    /* a layer of ids (IDS): it takes ids in [0, vocab) */
  int64_t params, flops;
};

typedef struct Task Task;

typedef struct {
  BlockDecl *decl;
  char *name;
  bool is_private;
  bool is_experts;  /* count experts shared by its users, nprivate more per
                     * task, and a gate per task (check/sharing.c) */
  int64_t count, nprivate;
  int ncopies;      /* tasks whose nets name it, as written */
  Vec layers; /* Layer*: one expert's, for experts */
  bool shaped; /* in/out known (first use seen) */
  Shape in, out;
  DType in_dtype;
  int64_t params, flops; /* one copy (one expert); a stitch's matrix is not a copy's */
  int64_t stitch_params; /* its stitches' matrices, shared by the copies */
  int64_t gate_params, gate_flops, sum_flops; /* experts: a task's gate and gated sum */
  Vec users;             /* Task*, in task order, each once */
  Span first_use;        /* for "first used here" notes */
} Block;

struct Input {
  InputDecl *decl;
  char *name;
  DType dtype;
  Shape shape;
  bool used;
  int64_t vocab; /* i32: ids lie in [0, vocab), the smallest vocabulary of the
                  * layers of ids it feeds; 0 when it feeds none */
  /* normalization per channel: element i of a sample is channel
   * (i / inner) % channels (check/data.c's norm_layout) */
  int64_t channels, inner;
  bool norm_auto; /* some split binds it with normalize(auto) */
};

/* ---- nets: a dataflow graph of named values ------------------------------- */

/* A value of the model's nets. Values are made in topological order (id);
 * a shared block applied twice to one value gives one value (the key is
 * the pair, looked up once, in check/nets.c); a private block gives each
 * task its own. */
typedef enum {
  NV_INPUT,  /* a spec input */
  NV_LAYER,  /* layer(in[0]) */
  NV_ADD,    /* in[0] + in[1]: a residual's join */
  NV_CONCAT, /* [in[0], in[1]] along the last dimension: a concat's join */
  NV_GATE,   /* task copy's gate of experts block `block`: softmax(dense(E + P))
              * of in[0], the block's input, flattened */
  NV_MIX,    /* the gated sum sum_k in[0][k] in[1 + k]: in[0] the gate, then
              * the shared experts' outputs, then the task's own experts' */
  NV_STITCH, /* layer stitch: sum_j alpha[row, j] in[j], in[j] the value of
              * the j-th user's copy of private block `block` at the stitch */
} NetValKind;

struct NetVal {
  int id;
  NetValKind kind;
  Input *input; /* NV_INPUT */
  Layer *layer; /* NV_LAYER */
  Block *block; /* the block the value is computed in, or NULL: a task's own */
  Task *copy;   /* whose parameters: a private block's task or the task of an
                 * inline layer; NULL: shared */
  Vec in;       /* NetVal* */
  int expert;   /* in an experts block: which expert (1, 2, ...), shared or,
                 * with copy, the task's own */
  int row;      /* NV_STITCH: copy's index among the block's users */
  Shape shape;
  DType dtype;
  int64_t flops; /* forward, per sample */
};

/* Whose parameters a layer application uses (NetVal's block and copy). */
typedef enum { OWN_SHARED, OWN_PRIVATE, OWN_TASK } Ownership;
Ownership netval_ownership(const NetVal *v);

/* One step of a task's net as written: a block, or a layer of the task's
 * own. */
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
  Vec steps;   /* Step* */
  NetVal *net; /* the head's value, when the net is shaped */
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
typedef enum { OPT_SGD, OPT_ADAM, OPT_ADAMW, OPT_RMSPROP } OptKind;
typedef enum { SCHED_CONSTANT, SCHED_STEP, SCHED_COSINE } SchedKind;

typedef struct {
  OptKind kind;
  double lr, momentum, beta1, beta2, eps, weight_decay;
  bool nesterov;
  double alpha; /* rmsprop's smoothing constant */
} Optimizer;

typedef struct {
  Optimizer opt;
  double clip; /* clip: norm(MAX): MAX, or 0 */
  int64_t batch, epochs, seed;
  SchedKind sched;
  int64_t step_every;
  double step_gamma;
  int64_t warmup; /* steps of linear warmup, or 0 */
  /* early_stop: patience(N, on=TASK.METRIC, min_delta=); the watched
   * value also picks the best checkpoint */
  int64_t patience;  /* 0: no early stopping */
  double min_delta;
  int monitor_task;   /* -1: the weighted sum of the tasks' losses */
  int monitor_metric; /* MetricKind, or -1: the task's loss */
} TrainOpts;

typedef enum { NORM_NONE, NORM_GIVEN, NORM_AUTO } NormKind;

/* One binding of a data split: an input or a bound label. */
typedef struct {
  Binding *decl;
  Input *input; /* or */
  Task *task;
  char *path;   /* resolved, or as written when not found */
  bool found;
  NormKind normalize;
  int n_norm;        /* NORM_GIVEN: one value, or one per channel */
  double *mean, *std;
  int csv_column;   /* a label's one column: -1 when not CSV */
  Vec csv_columns;  /* an input's (or a real label's) columns: Value* */
  int delimiter;    /* CSV field separator */
  int text;         /* an i32 input's text file: MtlTextKind (chars, words), or 0 */
  int64_t length;   /* text: ids per line */
  char *vocab;      /* words: the vocabulary file, resolved as data paths are */
  bool vocab_found;
  Span vocab_span;
  bool lowercase;   /* words */
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
  Map input_at, block_at, task_at; /* the same, by name */
  Vec vals;    /* NetVal*, in topological order */
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
/* a layer as written, white space folded: "conv2d(32, kernel=3, pad=1)" */
const char *layer_call_text(Arena *a, Model *m, const Layer *l);

#endif
