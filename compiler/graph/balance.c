/* graph/balance.c: the balancing pass, what autodiff(g) is for a model
 * balanced by a method other than static (LANGUAGE.md version 1; the
 * methods are runtime/mtl_balance.def). It splits the training step in two
 * at g->split: the nodes before it run in train_begin, those after in
 * train_end, and between the two the runtime's balancer reads what the
 * first phase left and writes the weights into hyper[] (MTL_HYPER_TASKS..).
 *
 *   losses  the total is sum_t w_t L_t + regularizers with w_t from
 *           hyper[]; the first phase is the forward pass (the balancer
 *           sees the losses), the second the total's backward pass.
 *   grads   each task's backward pass from its own loss (seeded by
 *           hyper[T + t]: IMTL's e^s) to the shared parameters, in the
 *           first phase, with their Gramian (gram nodes, summed) for the
 *           balancer; then each shared parameter's gradient is
 *           sum_t w_t g_t (wsum), every other parameter's its own task's
 *           (times hyper[2T + t]: Nash-MTL's alpha).
 *   rep     mgda(on=BLOCK): each task's backward pass stops at the block's
 *           output Z; the Gramian is of those gradients summed over the
 *           batch (LibMTL's rep_grad); then one backward pass through the
 *           trunk from Z, seeded with sum_t w_t dZ_t.
 * Regularizers' gradients join after balancing, never balanced. A method
 * with a parameter of its own (balance.loss_scale: uncertainty's
 * log-variances, GradNorm's and IMTL's loss scales) gets it here, trained
 * by the model's optimizer from a gradient the balancer writes
 * (extgrad). */
#include "graph/graph.h"
#include "mtl_balance.h"

#include <math.h>

#define NONE NAN
static const double method_param[] = {
#define BALANCE(id, name, needs, param) param,
#include "mtl_balance.def"
#undef BALANCE
};
#undef NONE


static Node *add(Graph *g, Node *sum, Node *x) {
  return !x ? sum : sum ? ir_binary(g, OP_ADD, sum, x) : x;
}

/* a task that does not reach a shared parameter sends it zeros */
static Node *zeros(Graph *g, Node *p) {
  Node *z = ir_const(g, 0);
  Node *f = ir_node(g, OP_FILL, 1, &z, NULL, &p->shape);
  f->batched = false;
  return f;
}

/* each task's backward pass from its own loss */
static GradSet **task_passes(Graph *g, const bool *stop, bool seeded) {
  int T = g->m->tasks.len;
  GradSet **gs = arena_alloc(g->a, sizeof(GradSet *) * (size_t)T);
  for (int t = 0; t < T; t++) {
    Node *loss = g->losses.data[t];
    Node *seed = seeded ? ir_hyper(g, MTL_HYPER_TASKS + T + t) : NULL;
    gs[t] = ad_backward(g, 1, &loss, &seed, stop);
  }
  return gs;
}

/* the per-task gradients of each shared parameter, and their Gramian */
static Node ***shared_grads(Graph *g, GradSet **gs) {
  int T = g->m->tasks.len;
  Node ***per = arena_alloc(g->a, sizeof(Node **) * (size_t)(g->params.len + 1));
  Node *gram = NULL;
  for (int i = 0; i < g->params.len; i++) {
    Node *p = g->params.data[i];
    if (p->share != SHARE_SHARED)
      continue;
    per[i] = arena_alloc(g->a, sizeof(Node *) * (size_t)(T + 1));
    g->cur_where = p->name;
    Node *zero = NULL;
    for (int t = 0; t < T; t++) {
      per[i][t] = grad_of(gs[t], p);
      if (!per[i][t])
        per[i][t] = zero ? zero : (zero = zeros(g, p));
    }
    gram = add(g, gram, ir_node(g, OP_GRAM, T, per[i], NULL, NULL));
  }
  g->gram = gram;
  return per;
}

/* mgda(on=): the tasks' gradients of Z, their batch sums' Gramian */
static Node **rep_grads(Graph *g, GradSet **gs, Node *Z) {
  int T = g->m->tasks.len;
  Node **dz = arena_alloc(g->a, sizeof(Node *) * (size_t)(T + 1));
  Node **sums = arena_alloc(g->a, sizeof(Node *) * (size_t)(T + 1));
  g->cur_where = Z->where;
  Shape flat = {1, {shape_numel(Z->shape)}};
  for (int t = 0; t < T; t++) {
    dz[t] = grad_of(gs[t], Z);
    MTLC_ASSERT(dz[t]); /* check/balance.c: every task uses the block */
    Node *x = Z->shape.rank == 1 ? dz[t] : ir_node(g, OP_RESHAPE, 1, &dz[t], NULL, &flat);
    sums[t] = ir_unary(g, OP_BIAS_GRAD, x);
  }
  g->gram = ir_node(g, OP_GRAM, T, sums, NULL, NULL);
  return dz;
}

/* the method's [T] parameter, balance.loss_scale, and its gradient as the
 * runtime writes it */
static Node *own_param(Graph *g, double init) {
  Shape sh = {1, {g->m->tasks.len}};
  g->cur_where = "balance";
  Node *p = ir_leaf(g, OP_PARAM, false, sh, "balance.loss_scale");
  p->init = MTL_INIT_CONST;
  p->init_arg = init;
  p->share = SHARE_BALANCE;
  vec_push(g->a, &g->params, p);
  Node *d = ir_leaf(g, OP_EXTGRAD, false, sh, NULL);
  d->grad_of = p;
  return d;
}

void balance_autodiff(Graph *g) {
  Model *m = g->m;
  Balance *bal = &m->balance;
  int T = m->tasks.len, np = g->params.len, need = mtl_balance_needs(bal->kind);
  MTLC_ASSERT(bal->kind != MTL_BAL_STATIC && g->nodes.len == g->nforward && g->total);
  Node **grad = arena_alloc(g->a, sizeof(Node *) * (size_t)(np + 2));
  GradSet **gs = NULL, *gz = NULL;
  Node ***per = NULL;
  if (need == 0) {
    g->split = g->nodes.len;
    gz = ad_backward(g, 1, &g->total, NULL, NULL);
  } else {
    bool *stop = NULL;
    if (need == 2) {
      g->rep = g->netval[bal->on_val->id];
      stop = arena_alloc(g->a, (size_t)g->nodes.len + 1);
      stop[g->rep->id] = true;
    }
    gs = g->task_grads = task_passes(g, stop, bal->kind == MTL_BAL_IMTL);
    Node **dz = need == 2 ? rep_grads(g, gs, g->rep) : NULL;
    if (need == 1)
      per = shared_grads(g, gs);
    g->split = g->nodes.len;
    g->cur_where = "balance";
    Node *w = ir_hyper_vec(g, MTL_HYPER_TASKS, T);
    if (dz) { /* one pass through the trunk, seeded with the combined cotangent */
      Node *in[65];
      for (int t = 0; t < T; t++)
        in[t] = dz[t];
      in[T] = w;
      g->cur_where = g->rep->where;
      Node *seed = ir_node(g, OP_WSUM, T + 1, in, NULL, NULL);
      gz = ad_backward(g, 1, &g->rep, &seed, NULL);
    }
    for (int i = 0; i < np; i++) {
      Node *p = g->params.data[i];
      g->cur_where = p->name;
      if (per && per[i]) {
        Node *in[65];
        for (int t = 0; t < T; t++)
          in[t] = per[i][t];
        in[T] = w;
        grad[i] = ir_node(g, OP_WSUM, T + 1, in, NULL, NULL);
        continue;
      }
      for (int t = 0; t < T; t++) {
        Node *x = grad_of(gs[t], p);
        if (x && bal->kind == MTL_BAL_NASH_MTL)
          x = ir_binary(g, OP_MUL, x, ir_hyper(g, MTL_HYPER_TASKS + 2 * T + t));
        grad[i] = add(g, grad[i], x);
      }
    }
  }
  /* the regularizers, after balancing */
  Node *regs[64];
  int nreg = 0;
  for (int i = 0; i < g->objectives.len && nreg < 64; i++) {
    Objective *o = g->objectives.data[i];
    if (o->kind == OBJ_REG && need != 0)
      regs[nreg++] = o->value;
  }
  GradSet *gr = nreg ? ad_backward(g, nreg, regs, NULL, NULL) : NULL;
  g->grads = (Vec){0};
  for (int i = 0; i < np; i++) {
    Node *p = g->params.data[i];
    g->cur_where = p->name;
    Node *d = grad[i];
    if (gz)
      d = add(g, d, grad_of(gz, p));
    if (gr)
      d = add(g, d, grad_of(gr, p));
    if (d && !d->grad_of && d->op != OP_PARAM)
      d->grad_of = p;
    vec_push(g->a, &g->grads, d);
  }
  if (!isnan(method_param[bal->kind]))
    vec_push(g->a, &g->grads, own_param(g, method_param[bal->kind]));
  g->cur_where = NULL;
  g->update_start = g->nodes.len;
}
