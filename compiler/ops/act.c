/* ops/act.c: activations and softmax. Every elementwise activation is one
 * op, act (a0: the layer, f0: its argument), with one backward op,
 * act_bwd; a row of acts[] below is all of an activation's math: its value
 * and its backward in double for the interpreter and as kernel-IR
 * expressions, and whether the backward reads the output (relu, sigmoid,
 * tanh: nothing else is kept) or the input (gelu, leaky_relu). Adding an
 * activation is a row of layers.def, its signature and a row here.
 * softmax is over the last dimension (PyTorch's softmax(dim=-1)). A bias
 * whose one reader is an activation is folded into the activation's kernel
 * (kir/build.c decides; kir_ACT reads the bias's inputs). */
#include "ops/ops.h"

enum { ARG }; /* f[]: leaky_relu's slope, elu's alpha */

typedef struct {
  double (*f)(double x, double a);
  double (*bwd)(double dy, double xy, double a); /* xy: y if through_output, else x */
  Expr *(*kf)(KB *kb, Expr *x, double a);
  Expr *(*kbwd)(KB *kb, Expr *dy, Expr *xy, double a);
  bool through_output;
} ActRule;

/* relu: max(x, 0), a NaN kept (as PyTorch does: fmax(x, 0) would make it
 * 0, and an input file of NaNs a plausible loss); the gradient where y > 0 */
static double relu_f(double x, double a) { (void)a; return x < 0 ? 0 : x; }
static double relu_b(double dy, double y, double a) { (void)a; return y > 0 ? dy : 0; }
static Expr *relu_kf(KB *kb, Expr *x, double a) { (void)a; return MAX(FC(0), x); /* 0 > x ? 0 : x */ }
static Expr *relu_kb(KB *kb, Expr *dy, Expr *y, double a) {
  (void)a;
  return kx_sel(kb, kx_bin(kb, XB_GT, y, FC(0)), dy, FC(0));
}

/* sigmoid: 1 / (1 + exp(-x)); dy y (1 - y) */
static double sigmoid_f(double x, double a) { (void)a; return 1 / (1 + exp(-x)); }
static double sigmoid_b(double dy, double y, double a) { (void)a; return dy * y * (1 - y); }
static Expr *sigmoid_kf(KB *kb, Expr *x, double a) {
  (void)a;
  return DIV(FC(1), ADD(FC(1), kx_un(kb, XU_EXP, kx_un(kb, XU_NEG, x))));
}
static Expr *sigmoid_kb(KB *kb, Expr *dy, Expr *y, double a) {
  (void)a;
  return MUL(MUL(dy, y), SUB(FC(1), y));
}

/* tanh; dy (1 - y^2) */
static double tanh_f(double x, double a) { (void)a; return tanh(x); }
static double tanh_b(double dy, double y, double a) { (void)a; return dy * (1 - y * y); }
static Expr *tanh_kf(KB *kb, Expr *x, double a) { (void)a; return kx_un(kb, XU_TANH, x); }
static Expr *tanh_kb(KB *kb, Expr *dy, Expr *y, double a) {
  (void)a;
  return MUL(dy, SUB(FC(1), MUL(y, y)));
}

/* gelu, exact: x Phi(x) = x (1 + erf(x / sqrt 2)) / 2;
 * d/dx = Phi(x) + x phi(x), phi(x) = exp(-x^2 / 2) / sqrt(2 pi) */
#define SQRT1_2 0.70710678118654752440
#define INV_SQRT_2PI 0.39894228040143267794
static double gelu_f(double x, double a) { (void)a; return 0.5 * x * (1 + erf(x * SQRT1_2)); }
static double gelu_b(double dy, double x, double a) {
  (void)a;
  return dy * (0.5 * (1 + erf(x * SQRT1_2)) + x * INV_SQRT_2PI * exp(-0.5 * x * x));
}
static Expr *gelu_kf(KB *kb, Expr *x, double a) {
  (void)a;
  return MUL(MUL(FC(0.5), x), ADD(FC(1), kx_un(kb, XU_ERF, MUL(x, FC(SQRT1_2)))));
}
static Expr *gelu_kb(KB *kb, Expr *dy, Expr *x, double a) {
  (void)a;
  Expr *cdf = MUL(FC(0.5), ADD(FC(1), kx_un(kb, XU_ERF, MUL(x, FC(SQRT1_2)))));
  Expr *pdf = MUL(FC(INV_SQRT_2PI), kx_un(kb, XU_EXP, MUL(FC(-0.5), MUL(x, x))));
  return MUL(dy, ADD(cdf, MUL(x, pdf)));
}

/* leaky_relu(slope): x where x > 0, else slope x; the gradient likewise */
static double leaky_f(double x, double a) { return x > 0 ? x : a * x; }
static double leaky_b(double dy, double x, double a) { return x > 0 ? dy : a * dy; }
static Expr *leaky_kf(KB *kb, Expr *x, double a) {
  return kx_sel(kb, kx_bin(kb, XB_GT, x, FC(0)), x, MUL(x, FC(a)));
}
static Expr *leaky_kb(KB *kb, Expr *dy, Expr *x, double a) {
  return kx_sel(kb, kx_bin(kb, XB_GT, x, FC(0)), dy, MUL(dy, FC(a)));
}

/* elu(alpha): x where x > 0, alpha (exp(x) - 1) elsewhere; its gradient
 * there alpha exp(x) */
static double elu_f(double x, double a) { return x > 0 ? x : a * (exp(x) - 1); }
static double elu_b(double dy, double x, double a) { return x > 0 ? dy : dy * a * exp(x); }
static Expr *elu_kf(KB *kb, Expr *x, double a) {
  return kx_sel(kb, kx_bin(kb, XB_GT, x, FC(0)), x, MUL(FC(a), SUB(kx_un(kb, XU_EXP, x), FC(1))));
}
static Expr *elu_kb(KB *kb, Expr *dy, Expr *x, double a) {
  return kx_sel(kb, kx_bin(kb, XB_GT, x, FC(0)), dy, MUL(dy, MUL(FC(a), kx_un(kb, XU_EXP, x))));
}

static const ActRule acts[NUM_LAYERS] = {
    [L_RELU] = {relu_f, relu_b, relu_kf, relu_kb, true},
    [L_SIGMOID] = {sigmoid_f, sigmoid_b, sigmoid_kf, sigmoid_kb, true},
    [L_TANH] = {tanh_f, tanh_b, tanh_kf, tanh_kb, true},
    [L_GELU] = {gelu_f, gelu_b, gelu_kf, gelu_kb, false},
    [L_LEAKY_RELU] = {leaky_f, leaky_b, leaky_kf, leaky_kb, false},
    [L_ELU] = {elu_f, elu_b, elu_kf, elu_kb, false},
};

static const ActRule *act_rule(const Node *n) {
  const ActRule *r = &acts[n->a[0]];
  MTLC_ASSERT(n->a[0] >= 0 && n->a[0] < NUM_LAYERS && r->f);
  return r;
}

/* ---- the layers ------------------------------------------------------------- */

const Sig sig_RELU = {NULL, 0, NULL, 0, "relu", NULL, NULL, NULL};
const Sig sig_SIGMOID = {NULL, 0, NULL, 0, "sigmoid", NULL, NULL, NULL};
const Sig sig_TANH = {NULL, 0, NULL, 0, "tanh", NULL, NULL, NULL};
const Sig sig_GELU = {NULL, 0, NULL, 0, "gelu", NULL, NULL, NULL};
static const Param p_leaky[] = {{"slope", T_NUM, NO_MAX, -1e30, 0}};
const Sig sig_LEAKY_RELU = {NULL, 1, p_leaky, 1, "leaky_relu(0.01)", NULL, NULL, NULL};
static const Param p_elu[] = {{"alpha", T_NUM, NO_MAX, -1e30, 0}};
const Sig sig_ELU = {NULL, 1, p_elu, 1, "elu(1.0)", NULL, NULL, NULL};
const Sig sig_SOFTMAX = {NULL, 0, NULL, 0, "softmax", NULL, NULL, NULL};

bool act_args(Sema *s, Layer *l, Value **v) {
  (void)s;
  l->f[ARG] = l->kind == L_LEAKY_RELU ? num_or(v[0], 0.01) : l->kind == L_ELU ? num_or(v[0], 1) : 0;
  return true;
}

/* one FLOP per element; softmax three (its max, exp and sum, division) */
bool act_shape(Sema *s, Layer *l, Shape in) {
  (void)s;
  l->out = in;
  l->flops = shape_numel(in) * (l->kind == L_SOFTMAX ? 3 : 1);
  return true;
}

Node *act_node(Graph *g, LayerKind k, double arg, Node *x) {
  Node *y = ir_unary(g, OP_ACT, x);
  y->a[0] = k;
  y->f[0] = arg;
  return y;
}

Node *act_lower(Lower *L, const NetVal *v, Node *x) {
  Graph *g = lower_graph(L);
  if (v->layer->kind == L_SOFTMAX)
    return ir_unary(g, OP_SOFTMAX, x);
  return act_node(g, v->layer->kind, v->layer->f[ARG], x);
}

/* ---- act and act_bwd ------------------------------------------------------------ */

SAME_SHAPE_AS(ACT, 0)
SAME_SHAPE_AS(ACT_BWD, 0)

BWD(ACT) {
  Node *xy = act_rule(n)->through_output ? n : n->in[0];
  ad_accum(ad, n->in[0], ad_node(ad, OP_ACT_BWD, 2, (Node *[]){dy, xy}, n, NULL));
}
NO_BWD(ACT_BWD)

INTERP(ACT) {
  const ActRule *r = act_rule(n);
  for (int64_t i = 0, e = LEN(n); i < e; i++)
    out[i] = r->f(x[0][i], n->f[0]);
}

INTERP(ACT_BWD) {
  const ActRule *r = act_rule(n);
  for (int64_t i = 0, e = LEN(n); i < e; i++)
    out[i] = r->bwd(x[0][i], x[1][i], n->f[0]);
}

/* y = act(x), or with the bias before it folded in,
 * y[b, f, s] = act(x[b, f, s] + bias[f]): one pass instead of two */
KIR(ACT) {
  const ActRule *r = act_rule(n);
  Node *in = n->in[0];
  if (!kb_fused(kb, in)) {
    Expr *i = LOOP(COUNT(n));
    STORE(OUT, i, r->kf(kb, LD(IN(0), i), n->f[0]));
    END;
    return;
  }
  Buf *x = kb_buf(kb, in->in[0]), *bias = kb_buf(kb, in->in[1]);
  int64_t F = n->shape.d[0], S = shape_numel(n->shape) / F;
  Expr *b = LOOP(BATCH);
  Expr *f = LOOP(IC(F));
  Expr *bf = LOCAL(LD(bias, f));
  Expr *s = LOOP(IC(S));
  Expr *i = ADD(MUL(ADD(MUL(b, IC(F)), f), IC(S)), s);
  STORE(OUT, i, r->kf(kb, ADD(LD(x, i), bf), n->f[0]));
  END, END, END;
}

KIR(ACT_BWD) {
  const ActRule *r = act_rule(n);
  Expr *i = LOOP(COUNT(n));
  STORE(OUT, i, r->kbwd(kb, LD(IN(0), i), LD(IN(1), i), n->f[0]));
  END;
}

/* ---- softmax over the last dimension --------------------------------------------- */

SAME_SHAPE_AS(SOFTMAX, 0)
SAME_SHAPE_AS(SOFTMAX_BWD, 0)

BWD(SOFTMAX) { /* dx = y (dy - sum(dy y)) */
  ad_accum(ad, n->in[0], ad_node(ad, OP_SOFTMAX_BWD, 2, (Node *[]){dy, n}, NULL, NULL));
}
NO_BWD(SOFTMAX_BWD)

static int64_t last_dim(const Node *n) { return n->shape.d[n->shape.rank - 1]; }

INTERP(SOFTMAX) {
  int64_t D = last_dim(n);
  for (int64_t r = 0, rows = LEN(n) / D; r < rows; r++) {
    const double *z = x[0] + r * D;
    double m = z[0], s = 0;
    for (int64_t k = 1; k < D; k++)
      m = z[k] > m ? z[k] : m;
    for (int64_t k = 0; k < D; k++)
      s += exp(z[k] - m);
    for (int64_t k = 0; k < D; k++)
      out[r * D + k] = exp(z[k] - m) / s;
  }
}

INTERP(SOFTMAX_BWD) { /* dy, y */
  int64_t D = last_dim(n);
  for (int64_t r = 0, rows = LEN(n) / D; r < rows; r++) {
    double dot = 0;
    for (int64_t k = 0; k < D; k++)
      dot += x[0][r * D + k] * x[1][r * D + k];
    for (int64_t k = 0; k < D; k++)
      out[r * D + k] = x[1][r * D + k] * (x[0][r * D + k] - dot);
  }
}

KIR(SOFTMAX) {
  int64_t D = last_dim(n);
  Expr *r = LOOP(kx_bin(kb, XB_DIV, COUNT(n), IC(D)));
  Expr *base = LOCAL(MUL(r, IC(D)));
  Expr *m = LOCAL(FC(-INFINITY));
  Expr *k = LOOP(IC(D));
  SET(m, MAX(m, LD(IN(0), ADD(base, k))));
  END;
  Expr *s = LOCAL(FC(0));
  k = LOOP(IC(D));
  Expr *e = LOCAL(kx_un(kb, XU_EXP, SUB(LD(IN(0), ADD(base, k)), m)));
  STORE(OUT, ADD(base, k), e);
  SET(s, ADD(s, e));
  END;
  Expr *inv = LOCAL(DIV(FC(1), s));
  k = LOOP(IC(D));
  STORE(OUT, ADD(base, k), MUL(LD(OUT, ADD(base, k)), inv));
  END;
  END;
}

KIR(SOFTMAX_BWD) { /* dy, y */
  int64_t D = last_dim(n);
  Expr *r = LOOP(kx_bin(kb, XB_DIV, COUNT(n), IC(D)));
  Expr *base = LOCAL(MUL(r, IC(D)));
  Expr *dot = LOCAL(FC(0));
  Expr *k = LOOP(IC(D));
  SET(dot, ADD(dot, MUL(LD(IN(0), ADD(base, k)), LD(IN(1), ADD(base, k)))));
  END;
  k = LOOP(IC(D));
  STORE(OUT, ADD(base, k), MUL(LD(IN(1), ADD(base, k)), SUB(LD(IN(0), ADD(base, k)), dot)));
  END;
  END;
}
