/* graph/autodiff.c: reverse-mode differentiation as an IR-to-IR pass, and
 * the optimizer updates as IR. From one or more scalar roots (the total
 * loss, one task's objective, or anything else), each op's backward rule
 * (bwd_NAME, in its family's file) appends the nodes that compute its
 * inputs' gradients; a value used twice (a shared trunk feeding two heads)
 * gets its contributions summed with `add`. Only values that depend on a
 * parameter get a gradient, so nothing is computed that no gradient needs
 * (no gradient for the input images, none for labels). Propagation can
 * stop at chosen nodes: the gradient with respect to a representation. */
#include "graph/graph.h"

#include <string.h>

typedef void BwdFn(Ad *ad, Node *n, Node *dy);
extern BwdFn *const bwd_rule[NUM_OPS];

struct Ad {
  Graph *g;
  Node **grad; /* by node id: the gradient so far, or NULL */
  int n;       /* nodes that existed at the start */
};

Graph *ad_graph(Ad *ad) { return ad->g; }

void ad_accum(Ad *ad, Node *x, Node *dx) {
  if (!x->needs_grad)
    return;
  MTLC_ASSERT(x->id < ad->n);
  Node *old = ad->grad[x->id];
  if (!old) {
    ad->grad[x->id] = dx;
    return;
  }
  const char *where = ad->g->cur_where; /* the sum is x's: trunk.relu3 */
  ad->g->cur_where = x->where;
  ad->grad[x->id] = ir_binary(ad->g, OP_ADD, old, dx);
  ad->g->cur_where = where;
}

Node *ad_node(Ad *ad, Op op, int nin, Node **in, const Node *like, const Shape *preset) {
  Node *n = ir_node(ad->g, op, nin, in, like ? like->a : NULL, preset);
  if (like)
    memcpy(n->f, like->f, sizeof n->f);
  return n;
}

GradSet *ad_backward(Graph *g, int nroots, Node **roots, Node **seeds, const bool *stop) {
  int n = g->nodes.len;
  Ad ad = {g, arena_alloc(g->a, sizeof(Node *) * (size_t)(n + 1)), n};
  Span span = g->cur_span;
  const char *where = g->cur_where;
  int last = -1;
  for (int r = 0; r < nroots; r++) {
    Node *root = roots[r];
    /* a scalar, or any node with a cotangent of its shape */
    MTLC_ASSERT((root->shape.rank == 0 && !root->batched) || (seeds && seeds[r]));
    if (!root->needs_grad)
      continue;
    g->cur_span = (Span){0, 0};
    g->cur_where = root->where;
    ad_accum(&ad, root, seeds && seeds[r] ? seeds[r] : ir_const(g, 1));
    last = root->id > last ? root->id : last;
  }
  /* grad[] only grows for the ids that existed: new nodes are never
   * differentiated */
  for (int i = last; i >= 0; i--) {
    Node *x = g->nodes.data[i];
    Node *dy = ad.grad[x->id];
    if (!dy || !x->needs_grad || x->op == OP_PARAM || (stop && stop[x->id]))
      continue;
    g->cur_span = x->span;
    g->cur_where = x->where;
    bwd_rule[x->op](&ad, x, dy);
  }
  g->cur_span = span;
  g->cur_where = where;
  GradSet *gs = arena_alloc(g->a, sizeof *gs);
  gs->grad = ad.grad;
  gs->n = n;
  return gs;
}

Node *grad_of(const GradSet *gs, const Node *n) { return n->id < gs->n ? gs->grad[n->id] : NULL; }

void autodiff(Graph *g) {
  MTLC_ASSERT(g->nodes.len == g->nforward && g->total);
  g->grads = (Vec){0};
  GradSet *gs = ad_backward(g, 1, &g->total, NULL, NULL);
  for (int i = 0; i < g->params.len; i++) {
    Node *p = g->params.data[i];
    Node *dp = grad_of(gs, p);
    if (dp && !dp->grad_of && dp->op != OP_PARAM)
      dp->grad_of = p;
    vec_push(g->a, &g->grads, dp);
  }
  g->update_start = g->nodes.len;
}

/* an optimizer state of parameter p, named after it: "trunk.conv2d1.weight.m" */
static Node *state_leaf(Graph *g, Node *p, const char *what) {
  return ir_leaf(g, OP_STATE, false, p->shape, arena_printf(g->a, "%s.%s", p->name, what));
}

/* clip: norm(MAX), as torch.nn.utils.clip_grad_norm_: the norm over every
 * parameter's complete gradient (after balancing and regularizers), then
 * each gradient scaled in place, before any update reads it. A gradient
 * node that is two parameters' is scaled once. */
static void add_clip(Graph *g, double max) {
  Node *sq = NULL;
  g->cur_where = "clip";
  for (int i = 0; i < g->params.len; i++) {
    Node *dp = g->grads.data[i];
    if (dp) {
      Node *s = ir_unary(g, OP_SUMSQ, dp);
      sq = sq ? ir_binary(g, OP_ADD, sq, s) : s;
    }
  }
  if (!sq)
    return;
  Node *coef = ir_unary(g, OP_CLIP_COEF, sq);
  coef->f[0] = max;
  for (int i = 0; i < g->params.len; i++) {
    Node *dp = g->grads.data[i];
    bool seen = false;
    for (int j = 0; j < i && dp; j++)
      seen |= g->grads.data[j] == dp;
    if (dp && !seen)
      vec_push(g->a, &g->updates, ir_binary(g, OP_GRAD_SCALE, dp, coef));
  }
}

/* The effects lowering asked for (running statistics), clipping, then one
 * update per parameter with a gradient. The learning rate (after the schedule) and
 * Adam's bias corrections are the step's hyper[]. */
void add_updates(Graph *g) {
  Optimizer *o = &g->m->train.opt;
  g->update_start = g->nodes.len;
  g->cur_span = (Span){0, 0};
  for (int i = 0; i < g->pending.len; i++) {
    Pending *e = g->pending.data[i];
    g->cur_span = e->span;
    g->cur_where = e->where;
    Node *u = ir_node(g, e->op, e->nin, e->in, e->a, NULL);
    u->f[0] = e->f0;
    vec_push(g->a, &g->updates, u);
  }
  g->cur_span = (Span){0, 0};
  g->step_start = g->nodes.len;
  if (g->m->train.clip > 0)
    add_clip(g, g->m->train.clip);
  for (int i = 0; i < g->params.len; i++) {
    Node *p = g->params.data[i], *dp = g->grads.data[i];
    if (!dp)
      continue;
    g->cur_where = p->name;
    Node *in[7] = {p, dp, ir_hyper(g, MTL_HYPER_LR)};
    Node *u;
    if (o->kind == OPT_SGD) {
      int nin = 3;
      if (o->momentum > 0)
        in[nin++] = state_leaf(g, p, "velocity");
      u = ir_node(g, OP_SGD, nin, in, NULL, NULL);
      u->f[0] = o->momentum;
      u->a[0] = o->nesterov;
    } else if (o->kind == OPT_RMSPROP) {
      int nin = 3;
      in[nin++] = state_leaf(g, p, "square_avg");
      if (o->momentum > 0)
        in[nin++] = state_leaf(g, p, "momentum_buffer");
      u = ir_node(g, OP_RMSPROP, nin, in, NULL, NULL);
      u->f[0] = o->alpha, u->f[1] = o->eps, u->f[2] = o->momentum, u->f[3] = o->weight_decay;
    } else {
      in[3] = ir_hyper(g, MTL_HYPER_C1);
      in[4] = ir_hyper(g, MTL_HYPER_C2);
      in[5] = state_leaf(g, p, "m");
      in[6] = state_leaf(g, p, "v");
      u = ir_node(g, OP_ADAM, 7, in, NULL, NULL);
      u->f[0] = o->beta1, u->f[1] = o->beta2, u->f[2] = o->eps;
      u->f[3] = o->kind == OPT_ADAMW ? o->weight_decay : 0;
    }
    for (int k = 2; k < u->nin; k++)
      if (u->in[k]->op == OP_STATE)
        vec_push(g->a, &g->states, u->in[k]);
    vec_push(g->a, &g->updates, u);
  }
  g->cur_where = NULL;
}
