/* lower.c: a checked model to the forward graph. Layers become primitive
 * ops (dense: matmul + bias; conv2d: conv2d + bias; flatten: reshape;
 * dropout: a mask drawn once per step, multiplied in). A shared block is
 * lowered once per distinct value it is applied to, with one set of
 * parameters however many tasks use it; a private block is lowered once per
 * task, with parameters named BLOCK.TASK.LAYER. Then each task's loss, the
 * weighted sum, and the regularizers: one scalar root. Gradients are
 * autodiff.c's business. */
#include "graph/graph.h"

#include <math.h>
#include <string.h>

typedef struct {
  Layer *layer;
  Task *copy; /* the task owning a private copy or an inline layer; NULL: shared */
  Node *w, *b;
} ParamEntry;

typedef struct {
  Graph *g;
  Model *m;
  bool training;
  Vec params;   /* ParamEntry* */
  Vec memo_key; /* char*: input>block>block... */
  Vec memo_val; /* Node* */
  Node **label; /* per task */
} Lower;

static const char *const kind_name[] = {
    [L_DENSE] = "dense", [L_CONV2D] = "conv2d", [L_MAXPOOL] = "maxpool",
    [L_AVGPOOL] = "avgpool", [L_FLATTEN] = "flatten", [L_RELU] = "relu",
    [L_SIGMOID] = "sigmoid", [L_TANH] = "tanh", [L_DROPOUT] = "dropout"};

static Node *param(Lower *L, const char *name, Shape sh, int64_t fan_in) {
  Node *p = ir_leaf(L->g, OP_PARAM, false, sh, name);
  p->a[0] = fan_in; /* PyTorch's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) */
  vec_push(L->g->a, &L->g->params, p);
  return p;
}

/* The weight and bias of a dense or conv2d layer, made at first use. */
static ParamEntry *layer_params(Lower *L, Layer *l, Task *copy, const char *prefix,
                                int ordinal) {
  for (int i = 0; i < L->params.len; i++) {
    ParamEntry *e = L->params.data[i];
    if (e->layer == l && e->copy == copy)
      return e;
  }
  Arena *a = L->g->a;
  ParamEntry *e = arena_alloc(a, sizeof *e);
  e->layer = l;
  e->copy = copy;
  const char *base = arena_printf(a, "%s.%s%d", prefix, kind_name[l->kind], ordinal);
  int64_t fan_in = l->kind == L_DENSE ? l->in.d[0] : l->in.d[0] * l->kernel * l->kernel;
  Shape ws = l->kind == L_DENSE
                 ? (Shape){2, {l->units, l->in.d[0]}}
                 : (Shape){4, {l->units, l->in.d[0], l->kernel, l->kernel}};
  e->w = param(L, arena_printf(a, "%s.weight", base), ws, fan_in);
  if (l->bias)
    e->b = param(L, arena_printf(a, "%s.bias", base), (Shape){1, {l->units}}, fan_in);
  vec_push(a, &L->params, e);
  return e;
}

/* One layer on x. `ordinal` numbers layers of one kind within their chain. */
static Node *lower_layer(Lower *L, Layer *l, Node *x, Task *copy,
                         const char *prefix, int ordinal) {
  Graph *g = L->g;
  g->cur_span = l->call->span;
  int64_t attrs[4] = {l->stride, l->pad, l->kernel, 0};
  switch (l->kind) {
  case L_DENSE:
  case L_CONV2D: {
    ParamEntry *e = layer_params(L, l, copy, prefix, ordinal);
    Node *in[2] = {x, e->w};
    Node *y = ir_node(g, l->kind == L_DENSE ? OP_MATMUL : OP_CONV2D, 2, in,
                      attrs, NULL);
    return e->b ? ir_binary(g, OP_BIAS, y, e->b) : y;
  }
  case L_MAXPOOL:
  case L_AVGPOOL:
    return ir_node(g, l->kind == L_MAXPOOL ? OP_MAXPOOL : OP_AVGPOOL, 1, &x,
                   attrs, NULL);
  case L_FLATTEN: {
    if (x->shape.rank == 1)
      return x;
    Shape flat = {1, {shape_numel(x->shape)}};
    return ir_node(g, OP_RESHAPE, 1, &x, NULL, &flat);
  }
  case L_RELU: return ir_unary(g, OP_RELU, x);
  case L_SIGMOID: return ir_unary(g, OP_SIGMOID, x);
  case L_TANH: return ir_unary(g, OP_TANH, x);
  case L_DROPOUT: {
    if (!L->training || l->p == 0)
      return x; /* identity at evaluation */
    Node *mask = ir_leaf(g, OP_DROPMASK, true, x->shape, NULL);
    mask->f[0] = l->p;
    return ir_binary(g, OP_MUL, x, mask);
  }
  }
  unreachable();
  return NULL;
}

/* count[kind] numbers the layers of each kind within one chain's owner */
static Node *lower_chain(Lower *L, Vec *layers, Node *x, Task *copy,
                         const char *prefix, int *count) {
  for (int i = 0; i < layers->len; i++) {
    Layer *l = layers->data[i];
    x = lower_layer(L, l, x, copy, prefix, ++count[l->kind]);
  }
  return x;
}

static Node *memo_get(Lower *L, const char *key) {
  for (int i = 0; i < L->memo_key.len; i++)
    if (!strcmp(L->memo_key.data[i], key))
      return L->memo_val.data[i];
  return NULL;
}

/* A task's net. Shared blocks applied to the same value (the same input
 * through the same shared blocks, nothing else) are lowered once. */
static Node *lower_net(Lower *L, Task *t) {
  Arena *a = L->g->a;
  Node *x = NULL;
  for (int i = 0; i < L->m->inputs.len; i++)
    if (L->m->inputs.data[i] == t->input)
      x = L->g->inputs.data[i];
  char *key = arena_strdup(a, t->input->name); /* NULL once task-specific */
  int own[L_DROPOUT + 1] = {0};
  for (int i = 0; i < t->steps.len; i++) {
    Step *st = t->steps.data[i];
    Block *b = st->block;
    int fresh[L_DROPOUT + 1] = {0};
    if (!b) {
      Vec one = {(void **)&st->layer, 1, 1};
      x = lower_chain(L, &one, x, t, t->name, own);
      key = NULL;
    } else if (b->is_private) {
      x = lower_chain(L, &b->layers, x, t,
                      arena_printf(a, "%s.%s", b->name, t->name), fresh);
      key = NULL;
    } else {
      Node *hit = NULL;
      if (key) {
        key = arena_printf(a, "%s>%s", key, b->name);
        hit = memo_get(L, key);
      }
      if (hit) {
        x = hit;
        continue;
      }
      x = lower_chain(L, &b->layers, x, NULL, b->name, fresh);
      if (key) {
        vec_push(a, &L->memo_key, key);
        vec_push(a, &L->memo_val, x);
      }
    }
  }
  return x;
}

/* The task's labels: bound ones are leaves, derived ones lookups. */
static Node *lower_label(Lower *L, Task *t) {
  if (L->label[t->index])
    return L->label[t->index];
  Graph *g = L->g;
  Node *n;
  if (t->derive_from) {
    Node *src = lower_label(L, t->derive_from);
    g->cur_span = t->decl->span;
    n = ir_unary(g, OP_LOOKUP, src);
    n->table = t->lookup;
    n->ntable = t->nlookup;
  } else {
    g->cur_span = t->decl->name_span;
    Shape sh = t->label == LBL_REAL ? (Shape){1, {t->label_n}} : (Shape){0};
    n = ir_leaf(g, OP_LABEL, true, sh, t->name);
    vec_push(g->a, &g->labels, n);
  }
  n->task = t->index;
  return L->label[t->index] = n;
}

static Node *add_term(Graph *g, Node *sum, Node *term) {
  return sum ? ir_binary(g, OP_ADD, sum, term) : term;
}

/* lambda * sum over ordered pairs i != j of ||theta_i - theta_j||^2
 *   = 2 lambda * sum over i < j, over every parameter of the block */
static Node *lower_l2_distance(Lower *L, Regularizer *r) {
  Graph *g = L->g;
  Node *sum = NULL;
  Block *b = r->block;
  for (int k = 0; k < b->layers.len; k++)
    for (int i = 0; i < b->users.len; i++)
      for (int j = i + 1; j < b->users.len; j++) {
        ParamEntry *pi = NULL, *pj = NULL;
        for (int q = 0; q < L->params.len; q++) {
          ParamEntry *e = L->params.data[q];
          if (e->layer == b->layers.data[k] && e->copy == b->users.data[i]) pi = e;
          if (e->layer == b->layers.data[k] && e->copy == b->users.data[j]) pj = e;
        }
        if (!pi || !pj)
          continue; /* a layer without parameters */
        g->cur_span = r->call->span;
        sum = add_term(g, sum, ir_unary(g, OP_SUMSQ, ir_binary(g, OP_SUB, pi->w, pj->w)));
        if (pi->b)
          sum = add_term(g, sum, ir_unary(g, OP_SUMSQ, ir_binary(g, OP_SUB, pi->b, pj->b)));
      }
  return sum ? ir_scale(g, sum, 2 * r->lambda) : NULL;
}

/* lambda * ||theta||^2 over all parameters, or those of one block */
static Node *lower_l2(Lower *L, Regularizer *r) {
  Graph *g = L->g;
  Node *sum = NULL;
  g->cur_span = r->call->span;
  for (int q = 0; q < L->params.len; q++) {
    ParamEntry *e = L->params.data[q];
    bool in_block = false;
    if (r->block)
      for (int k = 0; k < r->block->layers.len; k++)
        in_block |= e->layer == r->block->layers.data[k];
    if (r->block && !in_block)
      continue;
    sum = add_term(g, sum, ir_unary(g, OP_SUMSQ, e->w));
    if (e->b)
      sum = add_term(g, sum, ir_unary(g, OP_SUMSQ, e->b));
  }
  return sum ? ir_scale(g, sum, r->lambda) : NULL;
}

Graph *lower(Arena *a, Model *m, bool training) {
  Graph *g = arena_alloc(a, sizeof(Graph));
  g->a = a;
  g->m = m;
  Lower lw = {.g = g, .m = m, .training = training}, *L = &lw;
  L->label = arena_alloc(a, sizeof(Node *) * (size_t)m->tasks.len);

  for (int i = 0; i < m->inputs.len; i++) {
    Input *in = m->inputs.data[i];
    g->cur_span = in->decl->span;
    vec_push(a, &g->inputs, ir_leaf(g, OP_INPUT, true, in->shape, in->name));
  }
  for (int i = 0; i < m->tasks.len; i++)
    lower_label(L, m->tasks.data[i]);
  for (int i = 0; i < m->tasks.len; i++) {
    Task *t = m->tasks.data[i];
    Node *out = lower_net(L, t);
    vec_push(a, &g->outputs, out);
  }
  /* total = sum_t w_t L_t + sum of regularizers */
  static const Op loss_op[] = {OP_CE_LOSS, OP_BCE_LOSS, OP_MSE_LOSS};
  Node *total = NULL;
  for (int i = 0; i < m->tasks.len; i++) {
    Task *t = m->tasks.data[i];
    g->cur_span = t->decl->name_span;
    Node *loss = ir_binary(g, loss_op[t->loss], g->outputs.data[i], L->label[i]);
    loss->task = i;
    loss->name = t->name;
    vec_push(a, &g->losses, loss);
    total = add_term(g, total, t->weight == 1 ? loss : ir_scale(g, loss, t->weight));
  }
  for (int i = 0; i < m->regs.len; i++) {
    Regularizer *r = m->regs.data[i];
    Node *term = r->kind == REG_L2_DISTANCE ? lower_l2_distance(L, r) : lower_l2(L, r);
    if (term)
      total = add_term(g, total, term);
  }
  g->total = total;
  g->nforward = g->update_start = g->nodes.len;
  g->cur_span = (Span){0, 0};
  return g;
}
