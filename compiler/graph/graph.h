/* graph/graph.h: the graph IR and what works on it: the op table, node
 * builders, lowering from the checked model, autodiff, the reference
 * interpreter and the gradient checker. */
#ifndef MTLC_GRAPH_H
#define MTLC_GRAPH_H
#include "check/model.h"

/* ---- ir.c: the graph IR --------------------------------------------------- */

typedef enum {
#define OP(name, text, arity, kind) OP_##name,
#include "graph/ops.def"
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

#endif
