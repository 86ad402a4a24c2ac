/* interp.c: the reference interpreter. Runs the graph IR in double
 * precision with the simplest kernels that are obviously right: one
 * k_NAME per op in ops.def, plain loops, no blocking, no BLAS. It is the
 * oracle that gradient checks and both back ends are measured against; it
 * is not meant to be fast. Also the seeded initialization that the checks
 * use. */
#include "graph/graph.h"

#include <math.h>
#include <string.h>

/* ---- kernels: k_NAME(I, n, out, x0, x1, x2, x3) ------------------------------ */

#define KERNEL(name)                                                           \
  static void k_##name(Interp *I, Node *n, double *out, double **x)
#define NOTHING(name)                                                          \
  KERNEL(name) { (void)I, (void)n, (void)out, (void)x; }

static int64_t B(Interp *I) { return I->batch; }
static int64_t len(Interp *I, Node *n) { return node_numel(n, I->batch); }

NOTHING(INPUT)
NOTHING(LABEL)
NOTHING(PARAM)
NOTHING(STATE)

/* a mask element is a function of the step's seed, the node and the index */
KERNEL(DROPMASK) {
  (void)x;
  double p = (float)n->f[0]; /* as generated code sees it */
  for (int64_t i = 0, e = len(I, n); i < e; i++) {
    uint64_t h = I->step_seed ^ ((uint64_t)n->id << 40) ^ (uint64_t)i;
    double u = (double)(mtl_splitmix64(&h) >> 11) * 0x1.0p-53;
    out[i] = u < p ? 0 : 1 / (1 - p);
  }
}

KERNEL(CONST) { (void)I, (void)x; out[0] = n->f[0]; }

KERNEL(LOOKUP) {
  for (int64_t b = 0; b < B(I); b++) {
    int64_t k = (int64_t)x[0][b];
    MTLC_ASSERT(k >= 0 && k < n->ntable);
    out[b] = (double)n->table[k];
  }
}

/* out[b, u] = sum_d x[b, d] W[u, d] */
KERNEL(MATMUL) {
  int64_t D = n->in[0]->shape.d[0], U = n->shape.d[0];
  for (int64_t b = 0; b < B(I); b++)
    for (int64_t u = 0; u < U; u++) {
      double s = 0;
      for (int64_t d = 0; d < D; d++)
        s += x[0][b * D + d] * x[1][u * D + d];
      out[b * U + u] = s;
    }
}

/* out[b, f, s] = x[b, f, s] + bias[f] */
KERNEL(BIAS) {
  int64_t F = n->shape.d[0], S = shape_numel(n->shape) / F;
  for (int64_t b = 0; b < B(I); b++)
    for (int64_t f = 0; f < F; f++)
      for (int64_t s = 0; s < S; s++) {
        int64_t i = (b * F + f) * S + s;
        out[i] = x[0][i] + x[1][f];
      }
}

/* conv geometry: input [C, H, W], output [F, Ho, Wo], kernel K */
typedef struct {
  int64_t C, H, W, F, Ho, Wo, K, stride, pad;
} Conv;

static Conv conv_of(const Node *x, const Node *y, const int64_t *a) {
  return (Conv){x->shape.d[0], x->shape.d[1], x->shape.d[2], y->shape.d[0],
                y->shape.d[1], y->shape.d[2], a[2],          a[0], a[1]};
}

/* calls f(b, f, c, oh, ow, ih, iw, kh, kw) for every in-bounds tap */
#define FOR_TAPS(g, batch, body)                                               \
  for (int64_t b = 0; b < (batch); b++)                                       \
    for (int64_t f = 0; f < (g).F; f++)                                        \
      for (int64_t oh = 0; oh < (g).Ho; oh++)                                  \
        for (int64_t ow = 0; ow < (g).Wo; ow++)                                \
          for (int64_t c = 0; c < (g).C; c++)                                  \
            for (int64_t kh = 0; kh < (g).K; kh++)                             \
              for (int64_t kw = 0; kw < (g).K; kw++) {                         \
                int64_t ih = oh * (g).stride - (g).pad + kh;                   \
                int64_t iw = ow * (g).stride - (g).pad + kw;                   \
                if (ih < 0 || ih >= (g).H || iw < 0 || iw >= (g).W)            \
                  continue;                                                    \
                int64_t xi = ((b * (g).C + c) * (g).H + ih) * (g).W + iw;      \
                int64_t yi = ((b * (g).F + f) * (g).Ho + oh) * (g).Wo + ow;    \
                int64_t wi = (((f * (g).C) + c) * (g).K + kh) * (g).K + kw;    \
                body;                                                          \
              }

KERNEL(CONV2D) {
  Conv g = conv_of(n->in[0], n, n->a);
  memset(out, 0, sizeof(double) * (size_t)len(I, n));
  FOR_TAPS(g, B(I), out[yi] += x[0][xi] * x[1][wi])
}

KERNEL(CONV2D_DX) { /* dy, W -> dx */
  Conv g = conv_of(n, n->in[0], n->a);
  memset(out, 0, sizeof(double) * (size_t)len(I, n));
  FOR_TAPS(g, B(I), out[xi] += x[0][yi] * x[1][wi])
}

KERNEL(CONV2D_DW) { /* dy, x -> dW */
  Conv g = conv_of(n->in[1], n->in[0], n->a);
  memset(out, 0, sizeof(double) * (size_t)len(I, n));
  FOR_TAPS(g, B(I), out[wi] += x[0][yi] * x[1][xi])
}

/* pools: window a2, stride a0, no padding; maxpool's gradient goes to the
 * first maximum of each window */
static void pool(Interp *I, const Node *xn, const Node *yn, const int64_t *a,
                 bool is_max, const double *xv, double *yv, const double *dy,
                 double *dx) {
  int64_t C = xn->shape.d[0], H = xn->shape.d[1], W = xn->shape.d[2];
  int64_t Ho = yn->shape.d[1], Wo = yn->shape.d[2], K = a[2], S = a[0];
  for (int64_t b = 0; b < I->batch; b++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t oh = 0; oh < Ho; oh++)
        for (int64_t ow = 0; ow < Wo; ow++) {
          const int64_t base = (b * C + c) * H * W, yi = ((b * C + c) * Ho + oh) * Wo + ow;
          int64_t arg = -1;
          double acc = 0;
          for (int64_t kh = 0; kh < K; kh++)
            for (int64_t kw = 0; kw < K; kw++) {
              int64_t xi = base + (oh * S + kh) * W + ow * S + kw;
              if (!is_max) {
                acc += xv ? xv[xi] : 0;
                if (dx)
                  dx[xi] += dy[yi] / (double)(K * K);
              } else if (arg < 0 || xv[xi] > xv[arg]) {
                arg = xi;
              }
            }
          if (yv)
            yv[yi] = is_max ? xv[arg] : acc / (double)(K * K);
          if (dx && is_max)
            dx[arg] += dy[yi];
        }
}

KERNEL(MAXPOOL) { pool(I, n->in[0], n, n->a, true, x[0], out, NULL, NULL); }
KERNEL(AVGPOOL) { pool(I, n->in[0], n, n->a, false, x[0], out, NULL, NULL); }
KERNEL(MAXPOOL_BWD) { /* dy, x */
  memset(out, 0, sizeof(double) * (size_t)len(I, n));
  pool(I, n->in[1], n->in[0], n->a, true, x[1], NULL, x[0], out);
}
KERNEL(AVGPOOL_BWD) { /* dy */
  memset(out, 0, sizeof(double) * (size_t)len(I, n));
  pool(I, n, n->in[0], n->a, false, NULL, NULL, x[0], out);
}

KERNEL(RESHAPE) { (void)n; memcpy(out, x[0], sizeof(double) * (size_t)len(I, n)); }

#define ELEMENTWISE(name, expr)                                                \
  KERNEL(name) {                                                               \
    for (int64_t i = 0, e = len(I, n); i < e; i++)                             \
      out[i] = (expr);                                                         \
  }
ELEMENTWISE(RELU, x[0][i] > 0 ? x[0][i] : 0)
ELEMENTWISE(SIGMOID, 1 / (1 + exp(-x[0][i])))
ELEMENTWISE(TANH, tanh(x[0][i]))
ELEMENTWISE(ADD, x[0][i] + x[1][i])
ELEMENTWISE(SUB, x[0][i] - x[1][i])
ELEMENTWISE(MUL, x[0][i] * x[1][i])
ELEMENTWISE(SCALE, n->f[0] * x[0][i])
ELEMENTWISE(RELU_BWD, x[1][i] > 0 ? x[0][i] : 0)
ELEMENTWISE(SIGMOID_BWD, x[0][i] * x[1][i] * (1 - x[1][i]))
ELEMENTWISE(TANH_BWD, x[0][i] * (1 - x[1][i] * x[1][i]))
ELEMENTWISE(SUMSQ_BWD, 2 * x[0][0] * x[1][i])

KERNEL(SUMSQ) {
  double s = 0;
  for (int64_t i = 0, e = len(I, n->in[0]); i < e; i++)
    s += x[0][i] * x[0][i];
  out[0] = s;
}

KERNEL(MATMUL_NN) { /* dy[B, U] W[U, D] -> [B, D] */
  int64_t U = n->in[0]->shape.d[0], D = n->shape.d[0];
  for (int64_t b = 0; b < B(I); b++)
    for (int64_t d = 0; d < D; d++) {
      double s = 0;
      for (int64_t u = 0; u < U; u++)
        s += x[0][b * U + u] * x[1][u * D + d];
      out[b * D + d] = s;
    }
}

KERNEL(MATMUL_TN) { /* dy[B, U]^T x[B, D] -> [U, D] */
  int64_t U = n->shape.d[0], D = n->shape.d[1];
  for (int64_t u = 0; u < U; u++)
    for (int64_t d = 0; d < D; d++) {
      double s = 0;
      for (int64_t b = 0; b < B(I); b++)
        s += x[0][b * U + u] * x[1][b * D + d];
      out[u * D + d] = s;
    }
}

KERNEL(BIAS_GRAD) {
  Node *dy = n->in[0];
  int64_t F = n->shape.d[0], S = shape_numel(dy->shape) / F;
  for (int64_t f = 0; f < F; f++) {
    double s = 0;
    for (int64_t b = 0; b < B(I); b++)
      for (int64_t k = 0; k < S; k++)
        s += x[0][(b * F + f) * S + k];
    out[f] = s;
  }
}

/* softmax cross-entropy, mean over the batch; log-sum-exp keeps logits of
 * 1e4 finite */
static double log_softmax_at(const double *z, int64_t K, int64_t y, double *p) {
  double m = z[0];
  for (int64_t k = 1; k < K; k++)
    m = z[k] > m ? z[k] : m;
  double s = 0;
  for (int64_t k = 0; k < K; k++)
    s += exp(z[k] - m);
  if (p)
    for (int64_t k = 0; k < K; k++)
      p[k] = exp(z[k] - m) / s;
  return z[y] - m - log(s);
}

KERNEL(CE_LOSS) {
  int64_t K = n->in[0]->shape.d[0];
  double s = 0;
  for (int64_t b = 0; b < B(I); b++)
    s -= log_softmax_at(x[0] + b * K, K, (int64_t)x[1][b], NULL);
  out[0] = s / (double)B(I);
}

KERNEL(CE_BWD) { /* dl, logits, labels */
  int64_t K = n->shape.d[0];
  for (int64_t b = 0; b < B(I); b++) {
    int64_t y = (int64_t)x[2][b];
    log_softmax_at(x[1] + b * K, K, y, out + b * K);
    out[b * K + y] -= 1;
    for (int64_t k = 0; k < K; k++)
      out[b * K + k] *= x[0][0] / (double)B(I);
  }
}

/* binary cross-entropy with logits: max(z, 0) - z y + log(1 + exp(-|z|)) */
KERNEL(BCE_LOSS) {
  (void)n;
  double s = 0;
  for (int64_t b = 0; b < B(I); b++) {
    double z = x[0][b], y = x[1][b];
    s += (z > 0 ? z : 0) - z * y + log1p(exp(-fabs(z)));
  }
  out[0] = s / (double)B(I);
}

KERNEL(BCE_BWD) {
  (void)n;
  for (int64_t b = 0; b < B(I); b++) {
    double z = x[1][b];
    double sig = z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z));
    out[b] = x[0][0] * (sig - x[2][b]) / (double)B(I);
  }
}

KERNEL(MSE_LOSS) {
  int64_t e = len(I, n->in[0]);
  double s = 0;
  for (int64_t i = 0; i < e; i++)
    s += (x[0][i] - x[1][i]) * (x[0][i] - x[1][i]);
  out[0] = s / (double)e;
}

KERNEL(MSE_BWD) {
  int64_t e = len(I, n);
  for (int64_t i = 0; i < e; i++)
    out[i] = x[0][0] * 2 * (x[1][i] - x[2][i]) / (double)e;
}

/* PyTorch's SGD: v = momentum v + g; step along v, or g + momentum v with
 * nesterov. In place on the parameter and the velocity. */
KERNEL(SGD) {
  (void)out;
  double mu = n->f[0];
  for (int64_t i = 0, e = len(I, n); i < e; i++) {
    double g = x[1][i], d = g;
    if (n->nin == 3) {
      x[2][i] = mu * x[2][i] + g;
      d = n->a[0] ? g + mu * x[2][i] : x[2][i];
    }
    x[0][i] -= I->lr * d;
  }
}

/* Adam, and AdamW's decoupled weight decay (f3) */
KERNEL(ADAM) {
  (void)out;
  double b1 = n->f[0], b2 = n->f[1], eps = n->f[2], wd = n->f[3];
  double c1 = 1 - pow(b1, (double)I->step), c2 = 1 - pow(b2, (double)I->step);
  for (int64_t i = 0, e = len(I, n); i < e; i++) {
    double g = x[1][i];
    x[0][i] -= I->lr * wd * x[0][i];
    x[2][i] = b1 * x[2][i] + (1 - b1) * g;
    x[3][i] = b2 * x[3][i] + (1 - b2) * g * g;
    x[0][i] -= I->lr * (x[2][i] / c1) / (sqrt(x[3][i] / c2) + eps);
  }
}

typedef void KernelFn(Interp *I, Node *n, double *out, double **x);
static KernelFn *const kernel[NUM_OPS] = {
#define OP(name, text, arity, kind) [OP_##name] = k_##name,
#include "graph/ops.def"
#undef OP
};

/* ---- running ------------------------------------------------------------------- */

Interp *interp_new(Graph *g, int64_t batch) {
  Interp *I = xcalloc(1, sizeof(Interp));
  I->g = g;
  I->batch = batch;
  I->lr = g->m->train.opt.lr;
  I->val = xcalloc((size_t)g->nodes.len, sizeof(double *));
  for (int i = 0; i < g->nodes.len; i++) {
    Node *n = g->nodes.data[i];
    /* effects write into their first input; they own no buffer */
    if (op_info[n->op].kind == OPK_U)
      continue;
    I->val[i] = xcalloc((size_t)len(I, n) + 1, sizeof(double));
  }
  return I;
}

void interp_free(Interp *I) {
  if (!I)
    return;
  for (int i = 0; i < I->g->nodes.len; i++)
    free(I->val[i]);
  free(I->val);
  free(I);
}

/* PyTorch's defaults for Linear and Conv2d: weight and bias uniform in
 * +-1/sqrt(fan_in). Optimizer state starts at zero. */
void interp_init_params(Interp *I, uint64_t seed) {
  Rng r;
  rng_seed(&r, seed);
  for (int i = 0; i < I->g->params.len; i++) {
    Node *p = I->g->params.data[i];
    double bound = 1 / sqrt((double)p->a[0]);
    for (int64_t k = 0, e = len(I, p); k < e; k++)
      I->val[p->id][k] = (2 * rng_uniform(&r) - 1) * bound;
  }
  for (int i = 0; i < I->g->states.len; i++) {
    Node *s = I->g->states.data[i];
    memset(I->val[s->id], 0, sizeof(double) * (size_t)len(I, s));
  }
  I->step = 0;
}

/* Inputs N(0, 1); labels valid for their task: classes uniform, binary 0
 * or 1, reals N(0, 1). */
void interp_random_batch(Interp *I, uint64_t seed) {
  Rng r;
  rng_seed(&r, seed);
  for (int i = 0; i < I->g->inputs.len; i++) {
    Node *n = I->g->inputs.data[i];
    for (int64_t k = 0, e = len(I, n); k < e; k++)
      I->val[n->id][k] = rng_normal(&r);
  }
  for (int i = 0; i < I->g->labels.len; i++) {
    Node *n = I->g->labels.data[i];
    Task *t = I->g->m->tasks.data[n->task];
    for (int64_t k = 0, e = len(I, n); k < e; k++)
      I->val[n->id][k] = t->label == LBL_REAL ? rng_normal(&r)
                         : (double)(rng_next(&r) % (uint64_t)(t->label == LBL_BINARY ? 2 : t->label_n));
  }
}

void interp_run(Interp *I, int from, int to) {
  for (int i = from; i < to; i++) {
    Node *n = I->g->nodes.data[i];
    double *x[4] = {0};
    for (int k = 0; k < n->nin; k++)
      x[k] = I->val[n->in[k]->id];
    kernel[n->op](I, n, I->val[i], x);
  }
}

void interp_forward(Interp *I) { interp_run(I, 0, I->g->nforward); }

void interp_step(Interp *I) {
  I->step++;
  interp_run(I, 0, I->g->nodes.len);
}

double interp_scalar(Interp *I, Node *n) { return I->val[n->id][0]; }
