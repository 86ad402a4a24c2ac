/* check/model.h: the checked model, what sema() makes of a spec: inputs,
 * blocks, tasks, regularizers, the recipe and the data bindings, with every
 * shape known. Lowering and the summary read it. */
#ifndef MTLC_MODEL_H
#define MTLC_MODEL_H
#include "front/front.h"

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

#endif
