/* graph/lower.c: a checked model to the forward graph, value by value of
 * its dataflow nets (check/nets.c made them in topological order, a shared
 * block's application once): each value's layer becomes primitive ops
 * through its family's lowering (ops/FAMILY.c), a residual's join an add,
 * an experts block's gate and gated sum ops/mix.c's. Parameters are made
 * at their first use, one per name: named after the spec
 * (trunk.conv2d1.weight, tower.item.dense1.bias, mix.expert2.dense1.weight,
 * mix.item.expert1.dense1.bias, mix.gate.item.weight, tower.stitch1.alpha)
 * and marked with whose they are. Then each task's loss and the objectives: each
 * task's weighted loss and each regularizer's penalty, and their sum.
 * Gradients are autodiff.c's business. */
#include "graph/graph.h"

#include <math.h>
#include <string.h>

typedef struct {
  Layer *layer; /* NULL: a gate */
  Block *block; /* NULL: a task's own layer */
  Task *copy;   /* the task owning a private copy, an inline layer or a gate; NULL: shared */
  Node *node;
} ParamEntry;

struct Lower {
  Graph *g;
  Model *m;
  bool training;
  Vec params;   /* ParamEntry*, parameters and statistics */
  Node **val;   /* by NetVal id */
  Node **label; /* per task */
};

Graph *lower_graph(Lower *L) { return L->g; }
bool lower_training(Lower *L) { return L->training; }

/* What v computes, as the spec names it: "trunk.conv2d1",
 * "tower.item.dense1", "item.dense1", "mix.expert2.dense1" (a shared
 * expert), "mix.item.expert1.dense1" (the task's own), "mix.gate.item",
 * "mix.item" (its gated sum), "tower.item.stitch1" (a copy's stitch).
 * Kernels and dropout streams are named after it. */
static const char *where_of(Arena *a, const NetVal *v) {
  Block *b = v->block;
  if (v->kind == NV_GATE)
    return arena_printf(a, "%s.gate.%s", b->name, v->copy->name);
  const char *owner = !b ? v->copy->name
                      : v->copy ? arena_printf(a, "%s.%s", b->name, v->copy->name) : b->name;
  if (v->expert)
    owner = arena_printf(a, "%s.expert%d", owner, v->expert);
  return v->layer ? arena_printf(a, "%s.%s", owner, v->layer->path) : owner;
}

/* what v's parameters are named under: where it is, but a stitch's matrix
 * is every copy's, "tower.stitch1" */
static const char *params_of(Arena *a, const NetVal *v) {
  return v->kind == NV_STITCH ? arena_printf(a, "%s.%s", v->block->name, v->layer->path)
                              : where_of(a, v);
}

/* one leaf per name: the copies of a stitch share it */
static Node *group_leaf(Lower *L, const NetVal *v, Op op, const char *what, Shape sh, int init,
                        double init_arg) {
  Graph *g = L->g;
  const char *name = arena_printf(g->a, "%s.%s", params_of(g->a, v), what);
  for (int i = 0; i < L->params.len; i++) {
    ParamEntry *e = L->params.data[i];
    if (!strcmp(e->node->name, name))
      return e->node;
  }
  Node *p = ir_leaf(g, op, false, sh, name);
  p->init = init;
  p->init_arg = init_arg;
  Ownership own = netval_ownership(v);
  p->share = own == OWN_SHARED ? SHARE_SHARED : own == OWN_PRIVATE ? SHARE_PRIVATE : SHARE_OWN;
  p->task = own != OWN_SHARED ? v->copy->index : -1;
  vec_push(g->a, op == OP_PARAM ? &g->params : &g->stats, p);
  ParamEntry *e = arena_alloc(g->a, sizeof *e);
  *e = (ParamEntry){v->layer, v->block, own != OWN_SHARED ? v->copy : NULL, p};
  vec_push(g->a, &L->params, e);
  return p;
}

Node *lower_param(Lower *L, const NetVal *v, const char *what, Shape sh, int init,
                  double init_arg) {
  return group_leaf(L, v, OP_PARAM, what, sh, init, init_arg);
}

Node *lower_stat(Lower *L, const NetVal *v, const char *what, Shape sh, int init,
                 double init_arg) {
  Node *s = group_leaf(L, v, OP_STAT, what, sh, init, init_arg);
  s->share = SHARE_NONE;
  return s;
}

void lower_effect(Lower *L, Op op, int nin, Node **in, const int64_t *a, double f0) {
  Graph *g = L->g;
  Pending *p = arena_alloc(g->a, sizeof *p);
  *p = (Pending){.op = op, .nin = nin, .f0 = f0, .span = g->cur_span, .where = g->cur_where};
  memcpy(p->in, in, sizeof(Node *) * (size_t)nin);
  memcpy(p->a, a, sizeof p->a);
  vec_push(g->a, &g->pending, p);
}

/* normalize(auto)'s statistics of an input, per channel: model state that
 * training computes from the train split once (mean 0 and std 1 until
 * then), saved in checkpoints, read by the runtime when it loads data. No
 * op reads them. */
static void lower_norm_stats(Graph *g, Input *in) {
  static const char *const what[] = {"mean", "std"};
  for (int k = 0; k < 2; k++) {
    Node *s = ir_leaf(g, OP_STAT, false, (Shape){1, {in->channels}},
                      arena_printf(g->a, "%s.normalize.%s", in->name, what[k]));
    s->init = MTL_INIT_CONST;
    s->init_arg = k;
    s->share = SHARE_NONE;
    vec_push(g->a, &g->stats, s);
  }
}

Node *lower_in(Lower *L, const NetVal *v, int k) {
  return L->val[((NetVal *)v->in.data[k])->id];
}

/* one value of the nets */
static Node *lower_val(Lower *L, const NetVal *v) {
  Graph *g = L->g;
  g->cur_span = v->layer ? v->layer->call->span : v->block ? v->block->decl->name_span : g->cur_span;
  g->cur_where = v->kind == NV_INPUT ? g->cur_where : where_of(g->a, v);
  switch (v->kind) {
  case NV_INPUT:
    for (int i = 0; i < L->m->inputs.len; i++)
      if (L->m->inputs.data[i] == v->input)
        return g->inputs.data[i];
    unreachable();
    return NULL;
  case NV_LAYER:
  case NV_STITCH:
    return layer_rules[v->layer->kind].lower(L, v, lower_in(L, v, 0));
  case NV_ADD:
  case NV_CONCAT:
    return ir_binary(g, v->kind == NV_ADD ? OP_ADD : OP_CONCAT, lower_in(L, v, 0), lower_in(L, v, 1));
  case NV_GATE:
    return experts_lower_gate(L, v, lower_in(L, v, 0));
  case NV_MIX:
    return experts_lower_sum(L, v);
  }
  unreachable();
  return NULL;
}

/* The task's labels: bound ones are leaves, derived ones lookups. */
static Node *lower_label(Lower *L, Task *t) {
  if (L->label[t->index])
    return L->label[t->index];
  Graph *g = L->g;
  Node *n;
  g->cur_where = t->name;
  if (t->derive_from) {
    Node *src = lower_label(L, t->derive_from);
    g->cur_span = t->decl->span;
    g->cur_where = t->name;
    n = ir_unary(g, OP_LOOKUP, src);
    n->table = t->lookup;
    n->ntable = t->nlookup;
  } else {
    g->cur_span = t->decl->name_span;
    Shape sh = t->label == LBL_REAL ? (Shape){1, {t->label_n}} : (Shape){0};
    n = ir_leaf(g, OP_LABEL, true, sh, t->name);
    n->dtype = t->label == LBL_REAL ? DT_F32 : DT_I32;
    vec_push(g->a, &g->labels, n);
  }
  n->task = t->index;
  return L->label[t->index] = n;
}

static Node *add_term(Graph *g, Node *sum, Node *term) {
  return sum ? ir_binary(g, OP_ADD, sum, term) : term;
}

/* every layer of a chain, bodies included, in order */
static void flat_layers(Arena *a, Vec *layers, Vec *out) {
  for (int i = 0; i < layers->len; i++) {
    Layer *l = layers->data[i];
    vec_push(a, out, l);
    flat_layers(a, &l->body, out);
  }
}

/* lambda * sum over ordered pairs i != j of ||theta_i - theta_j||^2
 *   = 2 lambda * sum over i < j, over every parameter of the block */
static Node *lower_l2_distance(Lower *L, Regularizer *r) {
  Graph *g = L->g;
  Node *sum = NULL;
  Block *b = r->block;
  Vec layers = {0};
  flat_layers(g->a, &b->layers, &layers);
  for (int k = 0; k < layers.len; k++)
    for (int i = 0; i < b->users.len; i++)
      for (int j = i + 1; j < b->users.len; j++)
        for (int q = 0; q < L->params.len; q++) {
          ParamEntry *pi = L->params.data[q];
          if (pi->layer != layers.data[k] || pi->copy != b->users.data[i] ||
              pi->node->op != OP_PARAM)
            continue;
          const char *what = strrchr(pi->node->name, '.');
          for (int q2 = 0; q2 < L->params.len; q2++) {
            ParamEntry *pj = L->params.data[q2];
            if (pj->layer == pi->layer && pj->copy == b->users.data[j] &&
                !strcmp(strrchr(pj->node->name, '.'), what)) {
              g->cur_span = r->call->span;
              sum = add_term(g, sum, ir_unary(g, OP_SUMSQ, ir_binary(g, OP_SUB, pi->node, pj->node)));
            }
          }
        }
  return sum ? ir_scale(g, sum, 2 * r->lambda) : NULL;
}

/* lambda * ||theta||^2 over all parameters, or those of one block (an
 * experts block's gates included) */
static Node *lower_l2(Lower *L, Regularizer *r) {
  Graph *g = L->g;
  Node *sum = NULL;
  g->cur_span = r->call->span;
  for (int q = 0; q < L->params.len; q++) {
    ParamEntry *e = L->params.data[q];
    if ((r->block && e->block != r->block) || e->node->op != OP_PARAM)
      continue;
    sum = add_term(g, sum, ir_unary(g, OP_SUMSQ, e->node));
  }
  return sum ? ir_scale(g, sum, r->lambda) : NULL;
}

static Objective *objective(Graph *g, ObjKind kind, int index, const char *name, Node *value) {
  Objective *o = arena_alloc(g->a, sizeof *o);
  *o = (Objective){kind, index, name, NULL, value};
  vec_push(g->a, &g->objectives, o);
  return o;
}

Graph *lower(Arena *a, Model *m, bool training) {
  Graph *g = arena_alloc(a, sizeof(Graph));
  g->a = a;
  g->m = m;
  Lower lw = {.g = g, .m = m, .training = training}, *L = &lw;
  L->label = arena_alloc(a, sizeof(Node *) * (size_t)(m->tasks.len + 1));
  L->val = arena_alloc(a, sizeof(Node *) * (size_t)(m->vals.len + 1));

  for (int i = 0; i < m->inputs.len; i++) {
    Input *in = m->inputs.data[i];
    g->cur_span = in->decl->span;
    g->cur_where = in->name;
    Node *x = ir_leaf(g, OP_INPUT, true, in->shape, in->name);
    x->dtype = in->dtype;
    x->a[0] = in->vocab; /* i32: ids lie in [0, vocab) */
    vec_push(a, &g->inputs, x);
    if (in->norm_auto)
      lower_norm_stats(g, in);
  }
  for (int i = 0; i < m->tasks.len; i++)
    lower_label(L, m->tasks.data[i]);
  for (int i = 0; i < m->vals.len; i++) {
    NetVal *v = m->vals.data[i];
    L->val[v->id] = lower_val(L, v);
  }
  for (int i = 0; i < m->tasks.len; i++) {
    Task *t = m->tasks.data[i];
    vec_push(a, &g->outputs, L->val[t->net->id]);
  }
  /* the objectives: w_t L_t per task, then the regularizers; the total
   * is their sum */
  static const Op loss_op[] = {OP_CE_LOSS, OP_BCE_LOSS, OP_MSE_LOSS};
  Node *total = NULL;
  for (int i = 0; i < m->tasks.len; i++) {
    Task *t = m->tasks.data[i];
    g->cur_span = t->decl->name_span;
    g->cur_where = t->name;
    Node *loss = ir_binary(g, loss_op[t->loss], g->outputs.data[i], L->label[i]);
    loss->task = i;
    loss->name = t->name;
    vec_push(a, &g->losses, loss);
    Node *term = t->weight == 1 ? loss : ir_scale(g, loss, t->weight);
    objective(g, OBJ_TASK, i, t->name, term)->loss = loss;
    total = add_term(g, total, term);
  }
  for (int i = 0; i < m->regs.len; i++) {
    Regularizer *r = m->regs.data[i];
    g->cur_where = r->kind == REG_L2_DISTANCE ? "l2_distance" : "l2";
    Node *term = r->kind == REG_L2_DISTANCE ? lower_l2_distance(L, r) : lower_l2(L, r);
    if (term) {
      objective(g, OBJ_REG, i, arena_printf(a, "%s%s%s%s", g->cur_where, r->block ? "(" : "",
                                            r->block ? r->block->name : "", r->block ? ")" : ""),
                term);
      total = add_term(g, total, term);
    }
  }
  g->total = total;
  g->nforward = g->update_start = g->nodes.len;
  g->cur_span = (Span){0, 0};
  g->cur_where = NULL;
  return g;
}
