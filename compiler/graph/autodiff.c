/* autodiff.c: reverse-mode differentiation as an IR-to-IR pass, and the
 * optimizer updates as IR. From the total loss backward, each op's backward
 * rule (bwd_NAME, one per op in ops.def) appends the nodes that compute its
 * inputs' gradients; a value used twice (a shared trunk feeding two heads)
 * gets its contributions summed with `add`. Only values that depend on a
 * parameter get a gradient, so nothing is computed that no gradient needs
 * (no gradient for the input images, none for labels). */
#include "graph/graph.h"

typedef struct {
  Graph *g;
  Node **grad; /* by node id: the gradient so far, or NULL */
} Ad;

static void accum(Ad *ad, Node *x, Node *dx) {
  if (!x->needs_grad)
    return;
  Node *old = ad->grad[x->id];
  ad->grad[x->id] = old ? ir_binary(ad->g, OP_ADD, old, dx) : dx;
}

static Node *node2(Ad *ad, Op op, Node *a, Node *b, const Node *like,
                   const Shape *preset) {
  Node *in[2] = {a, b};
  return ir_node(ad->g, op, 2, in, like ? like->a : NULL, preset);
}

#define BWD(name) static void bwd_##name(Ad *ad, Node *n, Node *dy)
#define NO_BWD(name)                                                           \
  BWD(name) {                                                                  \
    (void)ad, (void)n, (void)dy;                                               \
    unreachable();                                                             \
  }

NO_BWD(INPUT)
NO_BWD(LABEL)
NO_BWD(PARAM)
NO_BWD(STATE)
NO_BWD(DROPMASK)
NO_BWD(CONST)
NO_BWD(LOOKUP)

/* y = x W^T: dx = dy W, dW = dy^T x */
BWD(MATMUL) {
  Node *x = n->in[0], *w = n->in[1];
  if (x->needs_grad)
    accum(ad, x, node2(ad, OP_MATMUL_NN, dy, w, NULL, NULL));
  accum(ad, w, node2(ad, OP_MATMUL_TN, dy, x, NULL, NULL));
}

BWD(BIAS) {
  accum(ad, n->in[0], dy);
  accum(ad, n->in[1], ir_unary(ad->g, OP_BIAS_GRAD, dy));
}

BWD(CONV2D) {
  Node *x = n->in[0], *w = n->in[1];
  if (x->needs_grad)
    accum(ad, x, node2(ad, OP_CONV2D_DX, dy, w, n, &x->shape));
  accum(ad, w, node2(ad, OP_CONV2D_DW, dy, x, n, NULL));
}

BWD(MAXPOOL) { accum(ad, n->in[0], node2(ad, OP_MAXPOOL_BWD, dy, n->in[0], n, NULL)); }

BWD(AVGPOOL) {
  accum(ad, n->in[0], ir_node(ad->g, OP_AVGPOOL_BWD, 1, &dy, n->a, &n->in[0]->shape));
}

BWD(RESHAPE) {
  accum(ad, n->in[0], ir_node(ad->g, OP_RESHAPE, 1, &dy, NULL, &n->in[0]->shape));
}

/* activations differentiate through their output y */
BWD(RELU) { accum(ad, n->in[0], node2(ad, OP_RELU_BWD, dy, n, NULL, NULL)); }
BWD(SIGMOID) { accum(ad, n->in[0], node2(ad, OP_SIGMOID_BWD, dy, n, NULL, NULL)); }
BWD(TANH) { accum(ad, n->in[0], node2(ad, OP_TANH_BWD, dy, n, NULL, NULL)); }

BWD(ADD) {
  accum(ad, n->in[0], dy);
  accum(ad, n->in[1], dy);
}

BWD(SUB) {
  accum(ad, n->in[0], dy);
  if (n->in[1]->needs_grad)
    accum(ad, n->in[1], ir_scale(ad->g, dy, -1));
}

BWD(MUL) {
  if (n->in[0]->needs_grad)
    accum(ad, n->in[0], ir_binary(ad->g, OP_MUL, dy, n->in[1]));
  if (n->in[1]->needs_grad)
    accum(ad, n->in[1], ir_binary(ad->g, OP_MUL, dy, n->in[0]));
}

BWD(SCALE) { accum(ad, n->in[0], ir_scale(ad->g, dy, n->f[0])); }
BWD(SUMSQ) { accum(ad, n->in[0], node2(ad, OP_SUMSQ_BWD, dy, n->in[0], NULL, NULL)); }

static void loss_bwd(Ad *ad, Op op, Node *n, Node *dl) {
  Node *in[3] = {dl, n->in[0], n->in[1]};
  Node *dpred = ir_node(ad->g, op, 3, in, NULL, NULL);
  if (n->in[0]->needs_grad)
    accum(ad, n->in[0], dpred);
  if (op == OP_MSE_BWD && n->in[1]->needs_grad) /* d/dtarget = -d/dpred */
    accum(ad, n->in[1], ir_scale(ad->g, dpred, -1));
}
BWD(CE_LOSS) { loss_bwd(ad, OP_CE_BWD, n, dy); }
BWD(BCE_LOSS) { loss_bwd(ad, OP_BCE_BWD, n, dy); }
BWD(MSE_LOSS) { loss_bwd(ad, OP_MSE_BWD, n, dy); }

NO_BWD(MATMUL_NN)
NO_BWD(MATMUL_TN)
NO_BWD(BIAS_GRAD)
NO_BWD(CONV2D_DX)
NO_BWD(CONV2D_DW)
NO_BWD(MAXPOOL_BWD)
NO_BWD(AVGPOOL_BWD)
NO_BWD(RELU_BWD)
NO_BWD(SIGMOID_BWD)
NO_BWD(TANH_BWD)
NO_BWD(SUMSQ_BWD)
NO_BWD(CE_BWD)
NO_BWD(BCE_BWD)
NO_BWD(MSE_BWD)
NO_BWD(SGD)
NO_BWD(ADAM)

typedef void BwdFn(Ad *ad, Node *n, Node *dy);
static BwdFn *const bwd_rule[NUM_OPS] = {
#define OP(name, text, arity, kind) [OP_##name] = bwd_##name,
#include "graph/ops.def"
#undef OP
};

void autodiff(Graph *g) {
  Ad ad = {g, arena_alloc(g->a, sizeof(Node *) * (size_t)(g->nodes.len + 1))};
  MTLC_ASSERT(g->nodes.len == g->nforward && g->total);
  if (!g->total->needs_grad)
    return;
  g->cur_span = (Span){0, 0};
  ad.grad[g->total->id] = ir_leaf(g, OP_CONST, false, (Shape){0}, NULL);
  ad.grad[g->total->id]->f[0] = 1;
  int nfwd = g->nforward;
  /* grad[] only grows for forward ids: new nodes are never differentiated */
  for (int i = nfwd - 1; i >= 0; i--) {
    Node *n = g->nodes.data[i];
    Node *dy = ad.grad[n->id];
    if (!dy || !n->needs_grad || n->op == OP_PARAM)
      continue;
    g->cur_span = n->span;
    bwd_rule[n->op](&ad, n, dy);
  }
  g->grads = (Vec){0};
  for (int i = 0; i < g->params.len; i++) {
    Node *p = g->params.data[i];
    Node *dp = ad.grad[p->id];
    if (dp && !dp->grad_of && dp->op != OP_PARAM)
      dp->grad_of = p;
    vec_push(g->a, &g->grads, dp);
  }
  g->update_start = g->nodes.len;
}

/* One update per parameter with a gradient. The learning rate (after the
 * schedule) and Adam's step count are inputs of the step at run time. */
void add_updates(Graph *g) {
  Optimizer *o = &g->m->train.opt;
  g->update_start = g->nodes.len;
  g->cur_span = (Span){0, 0};
  for (int i = 0; i < g->params.len; i++) {
    Node *p = g->params.data[i], *dp = g->grads.data[i];
    if (!dp)
      continue;
    Node *in[4] = {p, dp, NULL, NULL};
    Node *u;
    if (o->kind == OPT_SGD) {
      int nin = 2;
      if (o->momentum > 0)
        in[nin++] = ir_leaf(g, OP_STATE, false, p->shape,
                            arena_printf(g->a, "%s.velocity", p->name));
      u = ir_node(g, OP_SGD, nin, in, NULL, NULL);
      u->f[0] = o->momentum;
      u->a[0] = o->nesterov;
    } else {
      in[2] = ir_leaf(g, OP_STATE, false, p->shape, arena_printf(g->a, "%s.m", p->name));
      in[3] = ir_leaf(g, OP_STATE, false, p->shape, arena_printf(g->a, "%s.v", p->name));
      u = ir_node(g, OP_ADAM, 4, in, NULL, NULL);
      u->f[0] = o->beta1, u->f[1] = o->beta2, u->f[2] = o->eps;
      u->f[3] = o->kind == OPT_ADAMW ? o->weight_decay : 0;
    }
    for (int k = 2; k < u->nin; k++)
      vec_push(g->a, &g->states, u->in[k]);
    vec_push(g->a, &g->updates, u);
  }
}
