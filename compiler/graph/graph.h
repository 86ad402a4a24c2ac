/* graph/graph.h: the graph IR and what works on it: the op table (ops/),
 * node builders, lowering from the checked model, objectives, autodiff
 * from any root, the reference interpreter and the gradient checker. */
#ifndef MTLC_GRAPH_H
#define MTLC_GRAPH_H
#include "check/model.h"

/* ---- the op table (ops/ops.def, ops/tables.c) ------------------------------ */

typedef enum {
#define OP(name, text, arity, kind, flags, operands) OP_##name,
#include "ops/ops.def"
#undef OP
  NUM_OPS
} Op;

typedef enum { OPK_L, OPK_F, OPK_D, OPK_B, OPK_U } OpKind;
enum { OPF_PRESET = 1, OPF_VIEW = 2 };

typedef struct {
  const char *text;
  int arity; /* -1: any */
  OpKind kind;
  int flags;
  const char *operands; /* "x w": the inputs' names */
} OpInfo;
extern const OpInfo op_info[NUM_OPS];

/* ---- nodes ------------------------------------------------------------------ */

/* Who a parameter belongs to (DESIGN.md: balancing needs to know). */
typedef enum {
  SHARE_NONE,    /* not a parameter */
  SHARE_SHARED,  /* a shared block's: every task that uses it trains it */
  SHARE_PRIVATE, /* one task's copy of a private block (task says whose) */
  SHARE_OWN,     /* a layer written in one task's net (task says whose) */
  SHARE_BALANCE, /* the balancing method's own (balance.loss_scale) */
} Share;

/* A value of the graph. A batched node's full shape is [B] + shape; any
 * other node's is shape (rank 0: a scalar). Nodes are kept in topological
 * order: forward, then backward passes, then updates. */
typedef struct Node Node;
struct Node {
  int id;
  Op op;
  int nin;
  Node **in;    /* nin inputs */
  bool batched;
  Shape shape;
  DType dtype;
  int64_t a[4]; /* integer attributes: stride, pad, size, flags */
  double f[4];  /* real attributes: scale, p, momentum, betas */
  int64_t *table; /* LOOKUP */
  int ntable;
  const char *name;  /* leaves, task outputs and losses; NULL otherwise */
  const char *where; /* the spec entity it computes, "trunk.conv2d1": kernels are named after it */
  Span span;         /* the spec construct it came from ({0,0}: none) */
  bool needs_grad;   /* depends on a parameter */
  Node *grad_of;     /* for a parameter's final gradient: the parameter */
  int task;          /* labels, outputs, losses: the task; a private or own
                      * parameter: its task; else -1 */
  Share share;       /* parameters */
  int init;          /* parameters and statistics: MtlInit (mtl_model.h) */
  double init_arg;   /* its argument: the uniform bound, or the constant */
};

/* An effect that lowering asks for and add_updates makes after the
 * backward pass: batchnorm's running statistics. */
typedef struct {
  Op op;
  int nin;
  Node *in[4];
  int64_t a[4];
  double f0;
  Span span;
  const char *where;
} Pending;

/* What the training step minimizes, term by term: one objective per task
 * (its weighted loss) and one per regularizer. */
typedef enum { OBJ_TASK, OBJ_REG } ObjKind;
typedef struct {
  ObjKind kind;
  int index;        /* the task, or the regularizer */
  const char *name; /* the task's, or the regularizer's ("l2_distance(tower)") */
  Node *loss;       /* OBJ_TASK: the task's mean loss */
  Node *value;      /* the term as it enters the total: w_t L_t, or the penalty */
} Objective;

typedef struct GradSet GradSet;

typedef struct {
  Arena *a;
  Model *m;
  Vec nodes;   /* Node*, topological order */
  Vec inputs;  /* INPUT nodes, in Model order */
  Vec labels;  /* LABEL nodes for bound labels */
  Vec params;  /* PARAM nodes */
  Vec states;  /* STATE nodes: optimizer state */
  Vec stats;   /* STAT nodes: running statistics */
  Vec hypers;  /* HYPER nodes, by slot (NULL where unused) */
  Vec outputs; /* per task: the head's output (logits) */
  Vec losses;  /* per task: mean batch loss */
  Vec objectives; /* Objective*: tasks, then regularizers */
  Node *total;    /* the sum of the objectives' values */
  Vec grads;   /* per param (same index): its gradient of the total, or NULL */
  Vec updates; /* effect nodes: statistics, then optimizer updates */
  Vec pending; /* Pending*: effects lowering asked for, made by add_updates */
  int nforward;     /* nodes[0 .. nforward) compute the forward pass */
  int update_start; /* nodes[update_start ..) are optimizer states and updates */
  int step_start;   /* nodes[step_start ..) the optimizer's step: clipping and the
                     * updates, after the effects (update_step, kir/unit.c) */
  Span cur_span;    /* span given to new nodes */
  const char *cur_where; /* where given to new nodes */
  Node **netval;    /* by NetVal id: the node of each value of the nets */
  /* the balancing pass (graph/balance.c), for a method other than static */
  int split;           /* nodes [split ..) run after the balancer, in train_end; 0: no split */
  Node *gram;          /* [T, T]: the Gramian train_begin leaves the balancer, or NULL */
  GradSet **task_grads; /* per task: its own backward pass (gradient methods), or NULL */
  Node *rep;           /* mgda(on=): the block's output, where the tasks' passes stop */
} Graph;

int64_t node_numel(const Node *n, int64_t batch);
Node *ir_node(Graph *g, Op op, int nin, Node **in, const int64_t *attrs,
              const Shape *preset);
Node *ir_leaf(Graph *g, Op op, bool batched, Shape sh, const char *name);
Node *ir_unary(Graph *g, Op op, Node *x);
Node *ir_binary(Graph *g, Op op, Node *x, Node *y);
Node *ir_scale(Graph *g, Node *x, double f);
Node *ir_const(Graph *g, double f);
Node *ir_hyper(Graph *g, int slot); /* the step's hyper[slot], one node per slot */
Node *ir_hyper_vec(Graph *g, int slot, int n); /* hyper[slot .. slot + n), a [n] vector */
/* "[B, 32, 28, 28]"; returns its length */
int node_shape_text(char *buf, size_t cap, const Node *n);
/* the op's name as printed: an activation's is its layer's ("relu") */
const char *node_op_text(Arena *a, const Node *n);
void ir_print(FILE *out, Graph *g, bool with_grad);

/* ---- lower.c: checked model -> forward graph --------------------------------- */

typedef struct Lower Lower;
Graph *lower(Arena *a, Model *m, bool training);
/* for the families' layer lowerings (ops/FAMILY.c): */
Graph *lower_graph(Lower *L);
bool lower_training(Lower *L);
/* the parameter `what` ("weight") of v's layer, made at its first use:
 * one per layer and copy, named after the spec (trunk.conv2d1.weight) */
Node *lower_param(Lower *L, const NetVal *v, const char *what, Shape sh, int init,
                  double init_arg);
/* a running statistic of v's layer (trunk.batchnorm1.running_mean) */
Node *lower_stat(Lower *L, const NetVal *v, const char *what, Shape sh, int init,
                 double init_arg);
/* an effect to run after the backward pass (a statistics update) */
void lower_effect(Lower *L, Op op, int nin, Node **in, const int64_t *a, double f0);
/* the node of v's k-th input value */
Node *lower_in(Lower *L, const NetVal *v, int k);
/* an experts block's gate of x and gated sum (ops/mix.c) */
Node *experts_lower_gate(Lower *L, const NetVal *v, Node *x);
Node *experts_lower_sum(Lower *L, const NetVal *v);

/* ---- autodiff.c: reverse mode, IR to IR; optimizer updates ------------------ */

/* The gradients of one or more scalar roots, each seeded with a cotangent
 * (NULL: 1; a root that is not a scalar needs one of its shape), by node id: grad[id] is the gradient of the node, or NULL where
 * no root depends on it or nothing differentiable does. Propagation stops at
 * the nodes marked in stop (their own gradient is kept): the gradient with
 * respect to an activation. */
struct GradSet {
  Node **grad; /* by node id, for the nodes that existed at the call */
  int n;
};
GradSet *ad_backward(Graph *g, int nroots, Node **roots, Node **seeds, const bool *stop);
Node *grad_of(const GradSet *gs, const Node *n);
/* the total's gradient for every parameter: g->grads */
void autodiff(Graph *g);
void add_updates(Graph *g);

/* ---- balance.c: the balancing pass, instead of autodiff for a method other
 * than static: per-task gradients, the Gramian, the split, the combination */
void balance_autodiff(Graph *g);

/* the interfaces of the families' backward rules (bwd_NAME) */
typedef struct Ad Ad;
void ad_accum(Ad *ad, Node *x, Node *dx); /* dx is (part of) x's gradient */
/* a backward node made by a rule: op on inputs, with like's attributes */
Node *ad_node(Ad *ad, Op op, int nin, Node **in, const Node *like, const Shape *preset);
Graph *ad_graph(Ad *ad);

/* ---- interp.c: the reference interpreter, in double --------------------------- */

typedef struct {
  Graph *g;
  int64_t batch;
  double **val;       /* per node id: its buffer */
  uint64_t step_seed; /* dropout masks are a function of it and the node */
  int64_t step;       /* optimizer steps taken (Adam's t) */
  double lr;
  double hyper[MTL_HYPER_TASKS + 3 * 64]; /* the step's hyper[], as generated code gets it */
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
/* every parameter's gradient (grads[i] for params[i], NULL: zero) of the
 * scalar root against central differences of the root */
int gradcheck_root(Interp *I, Node *root, Vec *grads, int samples, uint64_t seed, bool quiet);
/* the same for the parameters in params (grads: the same order) */
int gradcheck_params(Interp *I, Node *root, Vec *params, Vec *grads, int samples, uint64_t seed,
                     bool quiet);
/* an activation's gradient dx (x's shape) of the scalar root, against
 * central differences of the root in x's elements */
int gradcheck_value(Interp *I, Node *root, Node *x, Node *dx, int samples, uint64_t seed,
                    bool quiet);
int gradcheck_run(Interp *I, int samples, uint64_t seed, bool quiet);

#endif
