/* test_ir.c: unit tests of the graph IR. Every differentiable op of the op
 * table, alone, at several shapes, is checked against central differences
 * (gradcheck_run: eps 1e-6, atol 1e-5, rtol 1e-3, every element),
 * including conv2d with stride and padding, pooling windows that do not
 * divide the input, global pools over maps and sequences, embedding (ids
 * repeated within a batch), conv1d with stride, padding and no bias,
 * concat along the last dimension, batchnorm in
 * training mode, layernorm, softmax, every activation of the layer table,
 * a broadcast scalar, mix (a gate's per-sample weights and a stitch's
 * row), and losses at logits of 1e4. A loop over the op
 * table then fails for any forward op that no gradient check covered, and
 * a loop over the layer table for any activation. One optimizer step of
 * sgd (momentum, nesterov), adam and adamw is compared with the formulas
 * computed here by hand; the checker must reject a gradient 1% off;
 * dropout masks keep 1 - p of the values at 1 / (1 - p); and the per-task
 * gradients of fashion_hard's shared trunk (autodiff from each task's
 * objective) sum to the total's and each matches central differences, as
 * do those of stacked experts blocks; and parameters of experts blocks
 * and stitches say whose they are (shared experts and stitch matrices
 * shared, gates their task's own).
 * Prints [PASS]/[FAIL] per test. */
#include "graph/graph.h"

#include <math.h>
#include <string.h>

static int failures;
static Model model; /* only train options and tasks are read */
static bool covered[NUM_OPS], covered_act[NUM_LAYERS];

#define CHECK(name, cond)                                                      \
  do {                                                                         \
    if (cond)                                                                  \
      printf("[PASS] unit/%s\n", name);                                        \
    else {                                                                     \
      printf("[FAIL] unit/%s: %s (%s:%d)\n", name, #cond, __FILE__, __LINE__); \
      failures++;                                                              \
    }                                                                          \
  } while (0)

static Shape S(int rank, int64_t a, int64_t b, int64_t c, int64_t d) {
  return (Shape){rank, {a, b, c, d}};
}

static Graph *new_graph(Arena *a) {
  Graph *g = arena_alloc(a, sizeof(Graph));
  g->a = a;
  g->m = &model;
  return g;
}

static Node *par(Graph *g, bool batched, Shape sh) {
  Node *p = ir_leaf(g, OP_PARAM, batched, sh, arena_printf(g->a, "p%d", g->params.len));
  p->init = MTL_INIT_UNIFORM;
  p->init_arg = 1;
  vec_push(g->a, &g->params, p);
  return p;
}

/* total = sum((y * r)^2) with r a fixed random input, or y itself if scalar */
static void finish(Graph *g, Node *y) {
  Node *t = y;
  if (y->batched || y->shape.rank) {
    Node *r = ir_leaf(g, OP_INPUT, y->batched, y->shape, "r");
    vec_push(g->a, &g->inputs, r);
    t = ir_unary(g, OP_SUMSQ, ir_binary(g, OP_MUL, y, r));
  } else {
    t = ir_scale(g, y, 1.7);
  }
  g->total = t;
  g->nforward = g->update_start = g->nodes.len;
  autodiff(g);
}

static Interp *start(Graph *g, int64_t batch, uint64_t seed) {
  Interp *I = interp_new(g, batch);
  Rng r;
  rng_seed(&r, seed);
  for (int i = 0; i < g->params.len; i++) {
    Node *p = g->params.data[i];
    for (int64_t k = 0; k < node_numel(p, batch); k++)
      I->val[p->id][k] = rng_normal(&r);
  }
  for (int i = 0; i < g->inputs.len; i++) {
    Node *p = g->inputs.data[i];
    for (int64_t k = 0; k < node_numel(p, batch); k++)
      I->val[p->id][k] = rng_normal(&r);
  }
  I->step_seed = seed;
  return I;
}

/* the gradient check of I's graph; the forward ops in it are covered */
static bool grad_ok(Interp *I) {
  for (int i = 0; i < I->g->nforward; i++) {
    Node *n = I->g->nodes.data[i];
    covered[n->op] = true;
    if (n->op == OP_ACT)
      covered_act[n->a[0]] = true;
  }
  bool ok = gradcheck_run(I, 0, 1, true) == 0;
  interp_free(I);
  return ok;
}

/* ---- one test per op and shape -------------------------------------------- */

static bool t_unary(Op op, Shape sh, double scale) {
  Arena *a = arena_new();
  Graph *g = new_graph(a);
  Node *x = par(g, true, sh);
  Shape flat = S(1, shape_numel(sh), 0, 0, 0);
  Node *y = op == OP_SCALE     ? ir_scale(g, x, scale)
            : op == OP_RESHAPE ? ir_node(g, OP_RESHAPE, 1, &x, NULL, &flat)
                               : ir_unary(g, op, x);
  finish(g, y);
  bool ok = grad_ok(start(g, 3, 7));
  arena_free(a);
  return ok;
}

/* an activation of the layer table, by its row */
static bool t_act(LayerKind k, Shape sh) {
  Arena *a = arena_new();
  Graph *g = new_graph(a);
  Node *x = par(g, true, sh);
  Node *y = ir_unary(g, OP_ACT, x);
  y->a[0] = k;
  y->f[0] = k == L_LEAKY_RELU ? 0.2 : 0;
  finish(g, y);
  Interp *I = start(g, 3, 41);
  /* keep relu's and leaky_relu's inputs off their kink at 0 */
  for (int64_t i = 0; i < node_numel(x, 3); i++)
    if (fabs(I->val[x->id][i]) < 1e-3)
      I->val[x->id][i] = 0.5;
  bool ok = grad_ok(I);
  arena_free(a);
  return ok;
}

/* an activation keeps a NaN, as PyTorch's do (relu's fmax(x, 0) made it
 * 0), and makes infinity a number or infinity, not NaN */
static bool t_act_special(LayerKind k) {
  Arena *a = arena_new();
  Graph *g = new_graph(a);
  Node *x = par(g, true, S(1, 3, 0, 0, 0));
  Node *y = ir_unary(g, OP_ACT, x);
  y->a[0] = k;
  y->f[0] = k == L_LEAKY_RELU ? 0.2 : k == L_ELU ? 1 : 0;
  finish(g, y);
  Interp *I = start(g, 1, 3);
  I->val[x->id][0] = NAN, I->val[x->id][1] = INFINITY, I->val[x->id][2] = 0.5;
  interp_forward(I);
  const double *v = I->val[y->id];
  bool ok = isnan(v[0]) && !isnan(v[1]) && isfinite(v[2]);
  if (!ok)
    fprintf(stderr, "    %s(NaN, inf, 0.5) = %g %g %g\n", layer_rules[k].name, v[0], v[1], v[2]);
  interp_free(I);
  arena_free(a);
  return ok;
}

static bool t_binary(Op op, Shape sh, bool scalar_y) {
  Arena *a = arena_new();
  Graph *g = new_graph(a);
  Node *x = par(g, true, sh), *y = scalar_y ? par(g, false, S(0, 0, 0, 0, 0)) : par(g, true, sh);
  finish(g, ir_binary(g, op, x, y));
  bool ok = grad_ok(start(g, 2, 11));
  arena_free(a);
  return ok;
}

static bool t_sum(void) {
  Arena *a = arena_new();
  Graph *g = new_graph(a);
  Node *x = par(g, true, S(2, 3, 2, 0, 0));
  /* sum(x)^2 through a scalar product: sum's gradient is a fill */
  Node *s = ir_unary(g, OP_SUM, x);
  finish(g, ir_binary(g, OP_MUL, s, s));
  bool ok = grad_ok(start(g, 2, 43));
  arena_free(a);
  return ok;
}

static bool t_matmul(int64_t B, int64_t D, int64_t U) {
  Arena *a = arena_new();
  Graph *g = new_graph(a);
  Node *x = par(g, true, S(1, D, 0, 0, 0)), *w = par(g, false, S(2, U, D, 0, 0));
  finish(g, ir_binary(g, OP_MATMUL, x, w));
  bool ok = grad_ok(start(g, B, 3));
  arena_free(a);
  return ok;
}

static bool t_bias(Shape sh) {
  Arena *a = arena_new();
  Graph *g = new_graph(a);
  Node *x = par(g, true, sh), *b = par(g, false, S(1, sh.d[0], 0, 0, 0));
  finish(g, ir_binary(g, OP_BIAS, x, b));
  bool ok = grad_ok(start(g, 2, 5));
  arena_free(a);
  return ok;
}

static bool t_conv(int64_t C, int64_t H, int64_t W, int64_t F, int64_t k,
                   int64_t stride, int64_t pad) {
  Arena *a = arena_new();
  Graph *g = new_graph(a);
  Node *in[2] = {par(g, true, S(3, C, H, W, 0)), par(g, false, S(4, F, C, k, k))};
  int64_t attrs[4] = {stride, pad, k, 0};
  finish(g, ir_node(g, OP_CONV2D, 2, in, attrs, NULL));
  bool ok = grad_ok(start(g, 2, 13));
  arena_free(a);
  return ok;
}

static bool t_pool(Op op, int64_t C, int64_t H, int64_t W, int64_t k, int64_t stride) {
  Arena *a = arena_new();
  Graph *g = new_graph(a);
  Node *x = par(g, true, S(3, C, H, W, 0));
  int64_t attrs[4] = {stride, 0, k, 0};
  finish(g, ir_node(g, op, 1, &x, attrs, NULL));
  bool ok = grad_ok(start(g, 2, 17));
  arena_free(a);
  return ok;
}

/* a global pool of a map [C, H, W] (as [C, HW, 1]) or a sequence [T, D] (as [1, T, D]) */
static bool t_global(Op op, Shape sh) {
  Arena *a = arena_new();
  Graph *g = new_graph(a);
  Node *x = par(g, true, sh);
  int64_t attrs[4] = {sh.rank == 3 ? sh.d[0] : 1, sh.rank == 3 ? sh.d[1] * sh.d[2] : sh.d[0],
                      sh.rank == 3 ? 1 : sh.d[1], 0};
  finish(g, ir_node(g, op, 1, &x, attrs, NULL));
  bool ok = grad_ok(start(g, 2, 19));
  arena_free(a);
  return ok;
}

/* an embedding of ids [T] (vocab V, some ids repeated, so that rows add up)
 * into [T, D] */
static bool t_embed(int64_t T, int64_t V, int64_t D) {
  Arena *a = arena_new();
  Graph *g = new_graph(a);
  Node *ids = ir_leaf(g, OP_INPUT, true, S(1, T, 0, 0, 0), "ids");
  ids->dtype = DT_I32;
  Node *w = par(g, false, S(2, V, D, 0, 0));
  finish(g, ir_binary(g, OP_EMBED, ids, w));
  Interp *I = start(g, 3, 37);
  for (int64_t k = 0; k < 3 * T; k++)
    I->val[ids->id][k] = (double)((k * 7 + 2) % V);
  bool ok = grad_ok(I);
  arena_free(a);
  return ok;
}

/* conv1d of a sequence [T, C] to [To, F], with or without its bias */
static bool t_conv1d(int64_t T, int64_t C, int64_t F, int64_t k, int64_t stride, int64_t pad,
                     bool bias) {
  Arena *a = arena_new();
  Graph *g = new_graph(a);
  Node *in[3] = {par(g, true, S(2, T, C, 0, 0)), par(g, false, S(3, F, C, k, 0)),
                 bias ? par(g, false, S(1, F, 0, 0, 0)) : NULL};
  int64_t attrs[4] = {stride, pad, k, 0};
  finish(g, ir_node(g, OP_CONV1D, bias ? 3 : 2, in, attrs, NULL));
  bool ok = grad_ok(start(g, 2, 39));
  arena_free(a);
  return ok;
}

/* concat of x [..., Dx] and y [..., Dy] along the last dimension; with
 * x_grad false, x is an input and only y's part of the gradient flows */
static bool t_concat(Shape sx, int64_t dy, bool x_grad) {
  Arena *a = arena_new();
  Graph *g = new_graph(a);
  Shape sy = sx;
  sy.d[sy.rank - 1] = dy;
  Node *x = x_grad ? par(g, true, sx) : ir_leaf(g, OP_INPUT, true, sx, "x");
  if (!x_grad)
    vec_push(g->a, &g->inputs, x);
  finish(g, ir_binary(g, OP_CONCAT, x, par(g, true, sy)));
  bool ok = grad_ok(start(g, 2, 47));
  arena_free(a);
  return ok;
}

/* mix of K values of shape sh: weights per sample, w[B, K] (an experts
 * gate), or row `row` of an unbatched w[T, K] (a cross-stitch unit) */
static bool t_mix(int K, int64_t T, int64_t row, Shape sh) {
  Arena *a = arena_new();
  Graph *g = new_graph(a);
  Node *in[17];
  in[0] = T ? par(g, false, S(2, T, K, 0, 0)) : par(g, true, S(1, K, 0, 0, 0));
  for (int k = 1; k <= K; k++)
    in[k] = par(g, true, sh);
  int64_t attrs[4] = {row, T, 0, 0};
  finish(g, ir_node(g, OP_MIX, K + 1, in, attrs, NULL));
  bool ok = grad_ok(start(g, 3, 23));
  arena_free(a);
  return ok;
}

/* batchnorm in training: the batch's statistics, through which it differentiates */
static bool t_batchnorm(Shape sh) {
  Arena *a = arena_new();
  Graph *g = new_graph(a);
  Node *x = par(g, true, sh);
  int64_t at[4] = {1, sh.rank == 2 ? sh.d[0] : 1, sh.rank == 2 ? sh.d[1] : sh.d[0],
                   sh.rank == 3 ? sh.d[1] * sh.d[2] : 1};
  Shape c = S(1, at[2], 0, 0, 0);
  Node *gamma = par(g, false, c), *beta = par(g, false, c);
  Node *mean = ir_node(g, OP_BN_MEAN, 1, &x, at, NULL);
  Node *var = ir_node(g, OP_BN_VAR, 2, (Node *[]){x, mean}, at, NULL);
  Node *y = ir_node(g, OP_BN_APPLY, 5, (Node *[]){x, mean, var, gamma, beta}, at, NULL);
  y->f[0] = 1e-5;
  finish(g, y);
  bool ok = grad_ok(start(g, 3, 23));
  arena_free(a);
  return ok;
}

static bool t_layernorm(Shape sh) {
  Arena *a = arena_new();
  Graph *g = new_graph(a);
  Node *x = par(g, true, sh);
  Shape d = S(1, sh.d[sh.rank - 1], 0, 0, 0);
  Node *y = ir_node(g, OP_LAYERNORM, 3, (Node *[]){x, par(g, false, d), par(g, false, d)}, NULL, NULL);
  y->f[0] = 1e-5;
  finish(g, y);
  bool ok = grad_ok(start(g, 2, 29));
  arena_free(a);
  return ok;
}

static bool t_sumsq(void) {
  Arena *a = arena_new();
  Graph *g = new_graph(a);
  finish(g, ir_unary(g, OP_SUMSQ, par(g, false, S(2, 3, 4, 0, 0))));
  bool ok = grad_ok(start(g, 1, 19));
  arena_free(a);
  return ok;
}

static Node *dropout(Graph *g, Node *x, double p) {
  Node *mask = ir_leaf(g, OP_DROPMASK, true, x->shape, NULL);
  mask->f[0] = p;
  mask->a[1] = 77;
  return ir_binary(g, OP_MUL, x, mask);
}

static bool t_dropout(void) {
  Arena *a = arena_new();
  Graph *g = new_graph(a);
  finish(g, dropout(g, par(g, true, S(1, 16, 0, 0, 0)), 0.4));
  bool ok = grad_ok(start(g, 3, 23));
  arena_free(a);
  return ok;
}

/* a mask keeps about 1 - p of its values, each exactly 1 / (1 - p) as
 * generated code computes it, and the others 0 */
static void t_dropout_mask(double p) {
  Arena *a = arena_new();
  Graph *g = new_graph(a);
  Node *mask = ir_leaf(g, OP_DROPMASK, true, S(1, 1000, 0, 0, 0), NULL);
  mask->f[0] = p;
  g->nforward = g->update_start = g->nodes.len;
  Interp *I = interp_new(g, 8);
  I->step_seed = 12345;
  interp_forward(I);
  int64_t n = 8000, kept = 0, bad = 0;
  double keep = 1 / (1 - (double)(float)p);
  for (int64_t i = 0; i < n; i++) {
    double v = I->val[mask->id][i];
    kept += v != 0;
    bad += v != 0 && v != keep;
  }
  double rate = (double)kept / (double)n, sd = sqrt(p * (1 - p) / (double)n);
  char name[64];
  snprintf(name, sizeof name, "dropout_mask_keeps_%g", 1 - p);
  CHECK(name, bad == 0 && fabs(rate - (1 - p)) < 5 * sd);
  interp_free(I);
  arena_free(a);
}

/* a loss on logits times `scale` (1e4: extreme), with valid labels */
static bool t_loss(Op op, int64_t K, double scale, double *loss_out) {
  Arena *a = arena_new();
  Graph *g = new_graph(a);
  int64_t B = 4;
  Node *z = par(g, true, S(1, K, 0, 0, 0));
  Node *y = op == OP_MSE_LOSS ? par(g, true, S(1, K, 0, 0, 0))
                              : ir_leaf(g, OP_LABEL, true, S(0, 0, 0, 0, 0), "y");
  finish(g, ir_binary(g, op, z, y));
  Interp *I = start(g, B, 29);
  for (int64_t k = 0; k < B * K; k++)
    I->val[z->id][k] *= scale;
  if (op != OP_MSE_LOSS)
    for (int64_t b = 0; b < B; b++)
      I->val[y->id][b] = (double)((b * 3 + 1) % (op == OP_CE_LOSS ? K : 2));
  interp_forward(I);
  *loss_out = interp_scalar(I, g->total) / 1.7;
  bool ok = grad_ok(I);
  arena_free(a);
  return ok;
}

/* ---- optimizers: one or two steps against hand-computed values ----------------- */

/* loss = sum(w^2), so the gradient is 2 w */
static Interp *opt_graph(Arena *a, Optimizer o, const double *w0) {
  model.train.opt = o;
  Graph *g = new_graph(a);
  Node *w = par(g, false, S(1, 3, 0, 0, 0));
  g->total = ir_unary(g, OP_SUMSQ, w);
  g->nforward = g->nodes.len;
  autodiff(g);
  add_updates(g);
  Interp *I = interp_new(g, 1);
  memcpy(I->val[w->id], w0, 3 * sizeof(double));
  return I;
}

static bool close_all(const double *x, const double *y) {
  for (int i = 0; i < 3; i++)
    if (fabs(x[i] - y[i]) > 1e-12 * (1 + fabs(y[i])))
      return false;
  return true;
}

static void t_sgd(bool nesterov) {
  const double w0[3] = {0.5, -1.25, 2}, lr = 0.1, mu = 0.9;
  Arena *a = arena_new();
  Interp *I = opt_graph(a, (Optimizer){.kind = OPT_SGD, .lr = lr, .momentum = mu,
                                       .nesterov = nesterov}, w0);
  double *w = I->val[((Node *)I->g->params.data[0])->id];
  double v[3], want[3];
  interp_step(I);
  for (int i = 0; i < 3; i++) {
    double g = 2 * w0[i];
    v[i] = g;
    want[i] = w0[i] - lr * (nesterov ? g + mu * v[i] : v[i]);
  }
  bool ok1 = close_all(w, want);
  double w1[3];
  memcpy(w1, want, sizeof w1);
  interp_step(I);
  for (int i = 0; i < 3; i++) {
    double g = 2 * w1[i];
    v[i] = mu * v[i] + g;
    want[i] = w1[i] - lr * (nesterov ? g + mu * v[i] : v[i]);
  }
  CHECK(nesterov ? "sgd_nesterov_two_steps" : "sgd_momentum_two_steps",
        ok1 && close_all(w, want));
  interp_free(I);
  arena_free(a);
}

static void t_adam(double wd) {
  const double w0[3] = {0.5, -1.25, 2}, lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  Arena *a = arena_new();
  Interp *I = opt_graph(a, (Optimizer){.kind = wd ? OPT_ADAMW : OPT_ADAM, .lr = lr,
                                       .beta1 = b1, .beta2 = b2, .eps = eps,
                                       .weight_decay = wd}, w0);
  double *w = I->val[((Node *)I->g->params.data[0])->id];
  double m[3] = {0}, v[3] = {0}, cur[3], want[3];
  memcpy(cur, w0, sizeof cur);
  bool ok = true;
  for (int t = 1; t <= 2; t++) {
    interp_step(I);
    for (int i = 0; i < 3; i++) {
      double g = 2 * cur[i];
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      double mhat = m[i] / (1 - pow(b1, t)), vhat = v[i] / (1 - pow(b2, t));
      want[i] = cur[i] * (1 - lr * wd) - lr * mhat / (sqrt(vhat) + eps);
    }
    if (t == 1) /* step one: the update is lr * sign(g) */
      for (int i = 0; i < 3; i++)
        ok &= fabs((cur[i] * (1 - lr * wd) - want[i]) - lr * (w0[i] > 0 ? 1 : -1)) < 1e-6;
    ok &= close_all(w, want);
    memcpy(cur, want, sizeof cur);
  }
  CHECK(wd ? "adamw_two_steps" : "adam_two_steps", ok);
  interp_free(I);
  arena_free(a);
}

/* torch.optim.RMSprop, three steps: weight decay into g, the square
 * average, then the step (or the momentum buffer's) */
static void t_rmsprop(double mu, double wd) {
  const double w0[3] = {0.5, -1.25, 2}, lr = 0.01, alpha = 0.99, eps = 1e-8;
  Arena *a = arena_new();
  Interp *I = opt_graph(a, (Optimizer){.kind = OPT_RMSPROP, .lr = lr, .alpha = alpha,
                                       .eps = eps, .momentum = mu, .weight_decay = wd}, w0);
  double *w = I->val[((Node *)I->g->params.data[0])->id];
  double s[3] = {0}, b[3] = {0}, cur[3], want[3];
  memcpy(cur, w0, sizeof cur);
  bool ok = I->g->states.len == (mu > 0 ? 2 : 1);
  for (int t = 1; t <= 3; t++) {
    interp_step(I);
    for (int i = 0; i < 3; i++) {
      double g = 2 * cur[i] + wd * cur[i];
      s[i] = alpha * s[i] + (1 - alpha) * g * g;
      double d = g / (sqrt(s[i]) + eps);
      b[i] = mu * b[i] + d;
      want[i] = cur[i] - lr * (mu > 0 ? b[i] : d);
    }
    if (t == 1 && mu == 0 && wd == 0) /* step one: lr * sign(g) / sqrt(1 - alpha) */
      for (int i = 0; i < 3; i++)
        ok &= fabs((cur[i] - want[i]) - lr * (w0[i] > 0 ? 1 : -1) / sqrt(1 - alpha)) < 1e-6;
    ok &= close_all(w, want);
    memcpy(cur, want, sizeof cur);
  }
  CHECK(mu > 0 ? "rmsprop_momentum_three_steps" : wd > 0 ? "rmsprop_weight_decay_three_steps"
                                                         : "rmsprop_three_steps", ok);
  interp_free(I);
  arena_free(a);
}

/* clip: norm(MAX) with SGD: g = 2 w, scaled by min(1, MAX / (||g|| + 1e-6))
 * before the step (clip_grad_norm_); ||g|| = 2 ||w|| = 2 * 2.4622 here */
static void t_clip(double max) {
  const double w0[3] = {0.5, -1.25, 2}, lr = 0.1;
  Arena *a = arena_new();
  model.train.clip = max;
  Interp *I = opt_graph(a, (Optimizer){.kind = OPT_SGD, .lr = lr}, w0);
  model.train.clip = 0;
  Node *p = I->g->params.data[0];
  double *w = I->val[p->id], want[3], norm = 0;
  for (int i = 0; i < 3; i++)
    norm += 4 * w0[i] * w0[i];
  norm = sqrt(norm);
  double c = max / (norm + 1e-6) < 1 ? max / (norm + 1e-6) : 1;
  interp_step(I);
  for (int i = 0; i < 3; i++)
    want[i] = w0[i] - lr * 2 * w0[i] * c;
  bool ok = close_all(w, want);
  double gn = 0; /* the gradient itself is clipped, as clip_grad_norm_ leaves it */
  for (int i = 0; i < 3; i++)
    gn += I->val[((Node *)I->g->grads.data[0])->id][i] * I->val[((Node *)I->g->grads.data[0])->id][i];
  ok &= fabs(sqrt(gn) - (c < 1 ? max / (norm + 1e-6) * norm : norm)) < 1e-9;
  CHECK(max < norm ? "clip_norm_scales_the_gradient" : "clip_norm_above_the_norm_keeps_it", ok);
  interp_free(I);
  arena_free(a);
}

/* The checker must catch a gradient that is 1% off. */
static void t_checker_fails(void) {
  Arena *a = arena_new();
  Graph *g = new_graph(a);
  Node *x = par(g, true, S(1, 4, 0, 0, 0)), *w = par(g, false, S(2, 3, 4, 0, 0));
  finish(g, ir_binary(g, OP_MATMUL, x, w));
  g->grads.data[1] = ir_scale(g, g->grads.data[1], 1.01);
  g->update_start = g->nodes.len;
  Interp *I = start(g, 2, 31);
  CHECK("gradcheck_rejects_wrong_gradient", gradcheck_run(I, 0, 1, true) == 1);
  interp_free(I);
  arena_free(a);
}

/* ---- per-task gradients of a real spec ------------------------------------------- */

static Model *load_spec(Arena *a, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  char *buf = arena_alloc(a, 1 << 20);
  size_t n = fread(buf, 1, (1 << 20) - 1, f);
  fclose(f);
  Source *src = arena_alloc(a, sizeof(Source));
  *src = (Source){.path = path, .text = buf, .len = (int)n};
  Spec *spec = parse_spec(a, src);
  return spec ? sema(a, src, spec, "specs") : NULL;
}

/* autodiff from each task's objective: the shared trunk's gradients of the
 * tasks sum to the total's, and each matches central differences of its
 * objective */
static void t_per_task(const char *path, const char *tag) {
  Arena *a = arena_new();
  Model *m = load_spec(a, path);
  char name[128];
  snprintf(name, sizeof name, "per_task%s_spec_loads", tag);
  CHECK(name, m != NULL);
  if (!m) {
    arena_free(a);
    return;
  }
  Graph *g = lower(a, m, true);
  int T = g->objectives.len;
  Node **roots = arena_alloc(a, sizeof(Node *) * (size_t)T);
  for (int t = 0; t < T; t++)
    roots[t] = ((Objective *)g->objectives.data[t])->value;
  autodiff(g);
  Vec *per = arena_alloc(a, sizeof(Vec) * (size_t)T);
  for (int t = 0; t < T; t++) {
    GradSet *gs = ad_backward(g, 1, &roots[t], NULL, NULL);
    for (int i = 0; i < g->params.len; i++)
      vec_push(a, &per[t], grad_of(gs, g->params.data[i]));
  }
  g->update_start = g->nodes.len;
  Interp *I = interp_new(g, 2);
  interp_init_params(I, 5);
  interp_random_batch(I, 6);
  interp_run(I, 0, g->nodes.len);
  int shared = 0;
  bool sums = true;
  for (int i = 0; i < g->params.len; i++) {
    Node *p = g->params.data[i], *dp = g->grads.data[i];
    if (p->share != SHARE_SHARED)
      continue;
    shared++;
    for (int64_t k = 0; k < shape_numel(p->shape); k++) {
      double s = 0, want = I->val[dp->id][k];
      for (int t = 0; t < T; t++)
        s += per[t].data[i] ? I->val[((Node *)per[t].data[i])->id][k] : 0;
      sums &= fabs(s - want) <= 1e-12 * (1 + fabs(want));
    }
  }
  snprintf(name, sizeof name, "per_task%s_gradients_of_the_shared_sum_to_the_total", tag);
  CHECK(name, shared > 0 && sums);
  for (int t = 0; t < T; t++) {
    snprintf(name, sizeof name, "per_task%s_gradient_of_%s_matches_central_differences", tag,
             ((Objective *)g->objectives.data[t])->name);
    CHECK(name, gradcheck_root(I, roots[t], &per[t], 4, 9 + (uint64_t)t, true) == 0);
  }
  interp_free(I);
  arena_free(a);
}

/* whose a parameter is, by its name: "shared", or the task's index after
 * "private " or "own "; "missing" when no parameter has the name */
static const char *owner(Graph *g, const char *name) {
  for (int i = 0; i < g->params.len; i++) {
    Node *p = g->params.data[i];
    if (strcmp(p->name, name))
      continue;
    if (p->share == SHARE_SHARED)
      return p->task == -1 ? "shared" : "shared with a task";
    return arena_printf(g->a, "%s %d", p->share == SHARE_PRIVATE ? "private" : "own", p->task);
  }
  return "missing";
}

/* what balancing reads (DESIGN.md): shared experts and stitch matrices are
 * shared parameters, a task's own experts its private ones, gates its own */
static void t_shares(void) {
  Arena *a = arena_new();
  Model *m = load_spec(a, "tests/grad/experts_cgc.mtl");
  Model *m2 = load_spec(a, "tests/grad/stitch_towers.mtl");
  CHECK("share_specs_load", m && m2);
  if (m && m2) {
    Graph *g = lower(a, m, true), *g2 = lower(a, m2, true);
    CHECK("share_of_shared_expert", !strcmp(owner(g, "cgc.expert2.conv2d1.weight"), "shared"));
    CHECK("share_of_tasks_own_expert", !strcmp(owner(g, "cgc.b.expert1.batchnorm1.bias"), "private 1"));
    CHECK("share_of_gate", !strcmp(owner(g, "cgc.gate.a.weight"), "own 0") &&
                               !strcmp(owner(g, "cgc.gate.b.bias"), "own 1"));
    CHECK("share_of_stitch_matrix", !strcmp(owner(g2, "tower.stitch2.alpha"), "shared"));
    CHECK("share_of_stitched_copy", !strcmp(owner(g2, "tower.c.dense1.weight"), "private 2"));
  }
  arena_free(a);
}

/* a stitch's matrix starts at self on the diagonal, (1 - self) / (T - 1)
 * elsewhere, through the runtime's initialization */
static void t_stitch_init(void) {
  Arena *a = arena_new();
  Model *m = load_spec(a, "tests/grad/stitch_towers.mtl");
  CHECK("stitch_init_spec_loads", m != NULL);
  if (!m) {
    arena_free(a);
    return;
  }
  Graph *g = lower(a, m, true);
  Interp *I = interp_new(g, 1);
  interp_init_params(I, 3);
  static const char *const names[] = {"tower.stitch1.alpha", "tower.stitch2.alpha",
                                      "tower.residual1.stitch1.alpha"};
  static const double selfs[] = {0.9, 0.7, 0.5};
  int found = 0;
  bool ok = true;
  for (int i = 0; i < g->params.len; i++) {
    Node *p = g->params.data[i];
    for (int k = 0; k < 3; k++) {
      if (strcmp(p->name, names[k]))
        continue;
      found++;
      ok &= p->shape.rank == 2 && p->shape.d[0] == 3 && p->shape.d[1] == 3;
      for (int e = 0; ok && e < 9; e++) {
        double want = e / 3 == e % 3 ? selfs[k] : (1 - selfs[k]) / 2;
        ok &= fabs(I->val[p->id][e] - want) < 1e-7;
      }
    }
  }
  CHECK("stitch_matrices_start_at_self_and_the_rest_shared_out", found == 3 && ok);
  interp_free(I);
  arena_free(a);
}

int main(void) {
  char name[96];
#define OPCHECK(label, expr)                                                   \
  do {                                                                         \
    snprintf(name, sizeof name, "grad_%s", label);                             \
    CHECK(name, expr);                                                         \
  } while (0)
  OPCHECK("matmul_3x5x4", t_matmul(3, 5, 4));
  OPCHECK("matmul_1x1x1", t_matmul(1, 1, 1));
  OPCHECK("matmul_2x17x3", t_matmul(2, 17, 3));
  OPCHECK("bias_vector", t_bias(S(1, 4, 0, 0, 0)));
  OPCHECK("bias_image", t_bias(S(3, 3, 2, 5, 0)));
  OPCHECK("conv2d_k3_s1_p0", t_conv(2, 5, 5, 3, 3, 1, 0));
  OPCHECK("conv2d_k3_s2_p1_nonsquare", t_conv(1, 7, 6, 2, 3, 2, 1));
  OPCHECK("conv2d_k1", t_conv(3, 4, 4, 2, 1, 1, 0));
  OPCHECK("conv2d_k5_s3_p2", t_conv(2, 6, 6, 2, 5, 3, 2));
  OPCHECK("conv2d_k2_s2_p1", t_conv(2, 5, 4, 3, 2, 2, 1));
  OPCHECK("maxpool_2_2", t_pool(OP_MAXPOOL, 2, 4, 4, 2, 2));
  OPCHECK("maxpool_3_2_nondividing", t_pool(OP_MAXPOOL, 1, 7, 8, 3, 2));
  OPCHECK("maxpool_2_1_overlapping", t_pool(OP_MAXPOOL, 2, 5, 5, 2, 1));
  OPCHECK("maxpool_2_2_odd", t_pool(OP_MAXPOOL, 1, 5, 6, 2, 2));
  OPCHECK("avgpool_2_2", t_pool(OP_AVGPOOL, 2, 4, 4, 2, 2));
  OPCHECK("avgpool_3_2_nondividing", t_pool(OP_AVGPOOL, 1, 7, 8, 3, 2));
  OPCHECK("avgpool_2_1_overlapping", t_pool(OP_AVGPOOL, 2, 5, 5, 2, 1));
  OPCHECK("global_avgpool_map", t_global(OP_GPOOL_AVG, S(3, 3, 2, 5, 0)));
  OPCHECK("global_avgpool_sequence", t_global(OP_GPOOL_AVG, S(2, 4, 3, 0, 0)));
  OPCHECK("global_maxpool_map", t_global(OP_GPOOL_MAX, S(3, 3, 2, 5, 0)));
  OPCHECK("global_maxpool_sequence", t_global(OP_GPOOL_MAX, S(2, 4, 3, 0, 0)));
  OPCHECK("embedding_5x4_repeated_ids", t_embed(5, 4, 3));
  OPCHECK("embedding_1x1", t_embed(1, 1, 1));
  OPCHECK("conv1d_k3_s1_p1", t_conv1d(6, 3, 4, 3, 1, 1, true));
  OPCHECK("conv1d_k2_s2_p0_no_bias", t_conv1d(7, 2, 3, 2, 2, 0, false));
  OPCHECK("conv1d_k5_s3_p2", t_conv1d(8, 2, 2, 5, 3, 2, true));
  OPCHECK("conv1d_k1", t_conv1d(4, 3, 2, 1, 1, 0, true));
  OPCHECK("conv1d_k4_pad_wider_than_sequence", t_conv1d(2, 1, 2, 4, 1, 3, true));
  OPCHECK("global_maxpool_sequence_long", t_global(OP_GPOOL_MAX, S(2, 9, 2, 0, 0)));
  OPCHECK("global_avgpool_sequence_one_step", t_global(OP_GPOOL_AVG, S(2, 1, 3, 0, 0)));
  OPCHECK("concat_vectors", t_concat(S(1, 3, 0, 0, 0), 2, true));
  OPCHECK("concat_sequences", t_concat(S(2, 4, 2, 0, 0), 3, true));
  OPCHECK("concat_of_an_input", t_concat(S(1, 2, 0, 0, 0), 4, false));
  OPCHECK("batchnorm_map", t_batchnorm(S(3, 3, 2, 2, 0)));
  OPCHECK("batchnorm_vector", t_batchnorm(S(1, 5, 0, 0, 0)));
  OPCHECK("batchnorm_sequence", t_batchnorm(S(2, 3, 4, 0, 0)));
  OPCHECK("layernorm_vector", t_layernorm(S(1, 6, 0, 0, 0)));
  OPCHECK("layernorm_map", t_layernorm(S(3, 2, 3, 4, 0)));
  OPCHECK("softmax_vector", t_unary(OP_SOFTMAX, S(1, 5, 0, 0, 0), 0));
  OPCHECK("softmax_rows", t_unary(OP_SOFTMAX, S(2, 3, 4, 0, 0), 0));
  OPCHECK("reshape", t_unary(OP_RESHAPE, S(3, 3, 2, 2, 0), 0));
  OPCHECK("mix_gate_3_vectors", t_mix(3, 0, 0, S(1, 5, 0, 0, 0)));
  OPCHECK("mix_gate_1_map", t_mix(1, 0, 0, S(3, 2, 3, 2, 0)));
  OPCHECK("mix_gate_16_vectors", t_mix(16, 0, 0, S(1, 2, 0, 0, 0)));
  OPCHECK("mix_stitch_row_0_of_2", t_mix(2, 2, 0, S(3, 2, 2, 3, 0)));
  OPCHECK("mix_stitch_row_2_of_3", t_mix(3, 3, 2, S(1, 4, 0, 0, 0)));
  for (int k = 0; k < NUM_LAYERS; k++)
    if (layer_rules[k].flags & LF_ACTIVATION) {
      snprintf(name, sizeof name, "grad_%s", layer_rules[k].name);
      CHECK(name, t_act((LayerKind)k, S(3, 3, 2, 2, 0)));
      snprintf(name, sizeof name, "nan_%s", layer_rules[k].name);
      CHECK(name, t_act_special((LayerKind)k));
    }
  OPCHECK("scale", t_unary(OP_SCALE, S(1, 5, 0, 0, 0), -2.5));
  OPCHECK("add", t_binary(OP_ADD, S(1, 6, 0, 0, 0), false));
  OPCHECK("sub", t_binary(OP_SUB, S(3, 2, 2, 3, 0), false));
  OPCHECK("mul", t_binary(OP_MUL, S(1, 6, 0, 0, 0), false));
  OPCHECK("add_scalar_broadcast", t_binary(OP_ADD, S(1, 6, 0, 0, 0), true));
  OPCHECK("sub_scalar_broadcast", t_binary(OP_SUB, S(2, 2, 3, 0, 0), true));
  OPCHECK("mul_scalar_broadcast", t_binary(OP_MUL, S(3, 2, 2, 2, 0), true));
  OPCHECK("sum", t_sum());
  OPCHECK("sumsq", t_sumsq());
  OPCHECK("dropout_mask", t_dropout());
  double loss;
  OPCHECK("ce_loss", t_loss(OP_CE_LOSS, 5, 1, &loss));
  OPCHECK("ce_loss_2_classes", t_loss(OP_CE_LOSS, 2, 3, &loss));
  OPCHECK("ce_loss_logits_1e4", t_loss(OP_CE_LOSS, 5, 1e4, &loss) && isfinite(loss));
  OPCHECK("bce_loss", t_loss(OP_BCE_LOSS, 1, 1, &loss));
  OPCHECK("bce_loss_logits_1e4", t_loss(OP_BCE_LOSS, 1, 1e4, &loss) && isfinite(loss));
  OPCHECK("mse_loss", t_loss(OP_MSE_LOSS, 3, 1, &loss));

  /* every forward op of the table and every activation had a check above */
  int missing = 0;
  for (int op = 0; op < NUM_OPS; op++)
    if (op_info[op].kind == OPK_F && !covered[op])
      printf("    op %s has no gradient check\n", op_info[op].text), missing++;
  for (int k = 0; k < NUM_LAYERS; k++)
    if ((layer_rules[k].flags & LF_ACTIVATION) && !covered_act[k])
      printf("    activation %s has no gradient check\n", layer_rules[k].name), missing++;
  CHECK("every_forward_op_and_activation_has_a_gradient_check", missing == 0);

  t_dropout_mask(0.3);
  t_dropout_mask(0.5);
  t_sgd(false);
  t_sgd(true);
  t_adam(0);
  t_adam(0.1);
  t_rmsprop(0, 0);
  t_rmsprop(0.9, 0);
  t_rmsprop(0, 0.01);
  t_clip(1.0);
  t_clip(100.0);
  t_checker_fails();
  t_per_task("specs/fashion_hard.mtl", "");
  t_per_task("tests/grad/experts_stacked.mtl", "_stacked_experts");
  t_shares();
  t_stitch_init();
  return failures ? 1 : 0;
}
