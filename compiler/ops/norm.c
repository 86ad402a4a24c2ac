/* ops/norm.c: normalization layers, with PyTorch's semantics.
 *   batchnorm(momentum=0.1, eps=1e-5)  per channel of [C, H, W] (BatchNorm2d),
 *       per feature of [D] (BatchNorm1d) and of [T, D] (the last dimension,
 *       as Keras does for sequences). In training it normalizes with the
 *       batch's mean and biased variance and updates the running statistics,
 *       running = (1 - momentum) running + momentum batch, with the unbiased
 *       variance; at evaluation it uses the running statistics. Scale
 *       (weight) starts at 1, shift (bias) at 0, running mean 0, var 1.
 *   layernorm(eps=1e-5)  over the last dimension of each sample (LayerNorm
 *       with normalized_shape the last dimension), learned scale and shift.
 * Batch statistics see x as [B, O, C, I] (attributes a1 O, a2 C, a3 I) and
 * reduce everything but C. Batchnorm's backward goes through the batch
 * statistics in one op (batchnorm_dx):
 *   dx = rstd (g - mean(g) - xhat mean(g xhat)),  g = dy gamma,
 * the means over the N = B O I values of a channel. Under data
 * parallelism the batch is the global one (SyncBatchNorm): the kernels sum
 * the per-channel means and variances, batchnorm_dx's two sums and the
 * running update's count over the ranks (K_SYNC; nothing in one process),
 * each rank's means weighted by its share of the batch. batchnorm_dx then
 * divides the global sums by its own N: its dy is the gradient of its own
 * shard's mean loss, 1/share times its part of the global batch's. */
#include "ops/ops.h"
#include "mtl_kernel.h"

enum { MOMENTUM, EPS }; /* f[] */

/* ---- the layers ----------------------------------------------------------------- */

static const Param p_bn[] = {{"momentum", T_NUM, 0, 0, 1}, {"eps", T_NUM, MIN_EXCL | NO_MAX, 0, 0}};
const Sig sig_BATCHNORM = {NULL, 0, p_bn, 2, "batchnorm(momentum=0.1)", NULL, NULL, NULL};
static const Param p_ln[] = {{"eps", T_NUM, MIN_EXCL | NO_MAX, 0, 0}};
const Sig sig_LAYERNORM = {NULL, 0, p_ln, 1, "layernorm(eps=1e-5)", NULL, NULL, NULL};

bool norm_args(Sema *s, Layer *l, Value **v) {
  (void)s;
  if (l->kind == L_BATCHNORM) {
    l->f[MOMENTUM] = num_or(v[0], 0.1);
    l->f[EPS] = num_or(v[1], 1e-5);
  } else {
    l->f[EPS] = num_or(v[0], 1e-5);
  }
  return true;
}

/* [O, C, I] of one sample: the channel axis and what is around it */
static void bn_axes(Shape in, int64_t *O, int64_t *C, int64_t *In) {
  *O = in.rank == 2 ? in.d[0] : 1;
  *C = in.rank == 2 ? in.d[1] : in.d[0];
  *In = in.rank == 3 ? in.d[1] * in.d[2] : 1;
}

/* two FLOPs per element (scale and shift) */
bool norm_shape(Sema *s, Layer *l, Shape in) {
  if (l->kind == L_BATCHNORM && in.rank > 3) {
    ERR(l->call->span, "batchnorm works on [C, H, W], [T, D] and [D], not %s",
        shape_str(s->a, in));
    return false;
  }
  int64_t O, C, In;
  bn_axes(in, &O, &C, &In);
  int64_t n = l->kind == L_BATCHNORM ? C : in.d[in.rank - 1];
  l->out = in;
  l->params = 2 * n;
  l->flops = 2 * shape_numel(in);
  return true;
}

Node *norm_lower(Lower *L, const NetVal *v, Node *x) {
  Layer *l = v->layer;
  Graph *g = lower_graph(L);
  if (l->kind == L_LAYERNORM) {
    int64_t D = x->shape.d[x->shape.rank - 1];
    Node *gamma = lower_param(L, v, "weight", shp(1, D, 0, 0, 0), MTL_INIT_CONST, 1);
    Node *beta = lower_param(L, v, "bias", shp(1, D, 0, 0, 0), MTL_INIT_CONST, 0);
    Node *y = ir_node(g, OP_LAYERNORM, 3, (Node *[]){x, gamma, beta}, NULL, NULL);
    y->f[0] = l->f[EPS];
    return y;
  }
  int64_t a[4] = {0};
  bn_axes(x->shape, &a[1], &a[2], &a[3]);
  Shape c = shp(1, a[2], 0, 0, 0);
  Node *gamma = lower_param(L, v, "weight", c, MTL_INIT_CONST, 1);
  Node *beta = lower_param(L, v, "bias", c, MTL_INIT_CONST, 0);
  Node *rm = lower_stat(L, v, "running_mean", c, MTL_INIT_CONST, 0);
  Node *rv = lower_stat(L, v, "running_var", c, MTL_INIT_CONST, 1);
  Node *mean = rm, *var = rv;
  if (lower_training(L)) {
    a[0] = 1;
    mean = ir_node(g, OP_BN_MEAN, 1, &x, a, NULL);
    var = ir_node(g, OP_BN_VAR, 2, (Node *[]){x, mean}, a, NULL);
    lower_effect(L, OP_BN_RUNNING, 4, (Node *[]){rm, rv, mean, var}, a, l->f[MOMENTUM]);
  }
  Node *y = ir_node(g, OP_BN_APPLY, 5, (Node *[]){x, mean, var, gamma, beta}, a, NULL);
  y->f[0] = l->f[EPS];
  return y;
}

/* ---- batchnorm: shapes and gradients ----------------------------------------------- */

static void channel_shape(Node *n) {
  n->shape = shp(1, n->a[2], 0, 0, 0);
  n->batched = false;
}
SHAPE(BN_MEAN) { channel_shape(n); }
SHAPE(BN_VAR) { channel_shape(n); }
SAME_SHAPE_AS(BN_APPLY, 0)
SAME_SHAPE_AS(BN_DX, 0)
SHAPE(BN_DGAMMA) { channel_shape(n); }
SHAPE(BN_DBETA) { channel_shape(n); }
SAME_SHAPE_AS(BN_RUNNING, 0)

NO_BWD(BN_MEAN) /* batchnorm's rule goes through the statistics */
NO_BWD(BN_VAR)
BWD(BN_APPLY) {
  Node *x = n->in[0], *mean = n->in[1], *var = n->in[2], *gamma = n->in[3], *beta = n->in[4];
  MTLC_ASSERT(n->a[0]); /* evaluation's batchnorm has no backward */
  if (x->needs_grad)
    ad_accum(ad, x, ad_node(ad, OP_BN_DX, 5, (Node *[]){dy, x, mean, var, gamma}, n, NULL));
  ad_accum(ad, gamma, ad_node(ad, OP_BN_DGAMMA, 4, (Node *[]){dy, x, mean, var}, n, NULL));
  ad_accum(ad, beta, ad_node(ad, OP_BN_DBETA, 1, &dy, n, NULL));
}
NO_BWD(BN_DX)
NO_BWD(BN_DGAMMA)
NO_BWD(BN_DBETA)
NO_BWD(BN_RUNNING)

/* ---- batchnorm: the interpreter --------------------------------------------------- */

/* every element of channel c: body with xi its index */
#define FOR_CHANNEL(n, c, body)                                                \
  for (int64_t b = 0; b < I->batch; b++)                                      \
    for (int64_t o = 0; o < (n)->a[1]; o++)                                    \
      for (int64_t i = 0; i < (n)->a[3]; i++) {                                \
        int64_t xi = (((b * (n)->a[1] + o) * (n)->a[2]) + (c)) * (n)->a[3] + i; \
        body;                                                                  \
      }
#define COUNT_N(n) ((double)(I->batch * (n)->a[1] * (n)->a[3]))

INTERP(BN_MEAN) {
  for (int64_t c = 0; c < n->a[2]; c++) {
    double s = 0;
    FOR_CHANNEL(n, c, s += x[0][xi])
    out[c] = s / COUNT_N(n);
  }
}

INTERP(BN_VAR) { /* x, mean */
  for (int64_t c = 0; c < n->a[2]; c++) {
    double s = 0;
    FOR_CHANNEL(n, c, s += (x[0][xi] - x[1][c]) * (x[0][xi] - x[1][c]))
    out[c] = s / COUNT_N(n);
  }
}

INTERP(BN_APPLY) { /* x, mean, var, gamma, beta */
  for (int64_t c = 0; c < n->a[2]; c++) {
    double rstd = 1 / sqrt(x[2][c] + n->f[0]);
    FOR_CHANNEL(n, c, out[xi] = (x[0][xi] - x[1][c]) * rstd * x[3][c] + x[4][c])
  }
}

INTERP(BN_DX) { /* dy, x, mean, var, gamma */
  double N = COUNT_N(n);
  for (int64_t c = 0; c < n->a[2]; c++) {
    double rstd = 1 / sqrt(x[3][c] + n->f[0]), g = x[4][c], sg = 0, sgx = 0;
    FOR_CHANNEL(n, c, {
      double xhat = (x[1][xi] - x[2][c]) * rstd;
      sg += x[0][xi] * g;
      sgx += x[0][xi] * g * xhat;
    })
    FOR_CHANNEL(n, c, {
      double xhat = (x[1][xi] - x[2][c]) * rstd;
      out[xi] = rstd * (x[0][xi] * g - sg / N - xhat * sgx / N);
    })
  }
}

INTERP(BN_DGAMMA) { /* dy, x, mean, var */
  for (int64_t c = 0; c < n->a[2]; c++) {
    double rstd = 1 / sqrt(x[3][c] + n->f[0]), s = 0;
    FOR_CHANNEL(n, c, s += x[0][xi] * (x[1][xi] - x[2][c]) * rstd)
    out[c] = s;
  }
}

INTERP(BN_DBETA) {
  for (int64_t c = 0; c < n->a[2]; c++) {
    double s = 0;
    FOR_CHANNEL(n, c, s += x[0][xi])
    out[c] = s;
  }
}

/* running = (1 - m) running + m batch; the variance unbiased, N / (N - 1)
 * (1 when a channel has one value: PyTorch refuses that batch) */
INTERP(BN_RUNNING) { /* running_mean, running_var, mean, var */
  (void)out;
  double m = n->f[0], N = COUNT_N(n), unbias = N > 1 ? N / (N - 1) : 1;
  for (int64_t c = 0; c < n->a[2]; c++) {
    x[0][c] = (1 - m) * x[0][c] + m * x[2][c];
    x[1][c] = (1 - m) * x[1][c] + m * x[3][c] * unbias;
  }
}

/* ---- batchnorm: kernels ------------------------------------------------------------- */

/* for c: ... (one END) */
static Expr *channel_loop(KB *kb, const Node *n) { return LOOP(IC(n->a[2])); }

/* inside a channel's loop: for b, o, i (three ENDs); xi the element */
static Expr *channel_elems(KB *kb, const Node *n, Expr *c) {
  int64_t O = n->a[1], C = n->a[2], In = n->a[3];
  Expr *b = LOOP(BATCH);
  Expr *o = LOOP(IC(O));
  Expr *i = LOOP(IC(In));
  return ADD(MUL(ADD(MUL(ADD(MUL(b, IC(O)), o), IC(C)), c), IC(In)), i);
}

/* A sum over a channel's elements, inside its loop: each sample's
 * elements go into k partials of its own (p[]), added to the sums (s[])
 * after the sample, so the sums' rounding grows with a sample's elements,
 * not the batch's, and a data-parallel rank's partials are those one
 * process makes of the same samples. sum_open: for b (the partials 0),
 * for o, i; xi the element. sum_close: the loops' ENDs, s += p between. */
static Expr *sum_open(KB *kb, const Node *n, Expr *c, int k, Expr **p) {
  int64_t O = n->a[1], C = n->a[2], In = n->a[3];
  Expr *b = LOOP(BATCH);
  for (int j = 0; j < k; j++)
    p[j] = LOCAL(FC(0));
  Expr *o = LOOP(IC(O));
  Expr *i = LOOP(IC(In));
  return ADD(MUL(ADD(MUL(ADD(MUL(b, IC(O)), o), IC(C)), c), IC(In)), i);
}

static void sum_close(KB *kb, int k, Expr **s, Expr **p) {
  END, END;
  for (int j = 0; j < k; j++)
    SET(s[j], ADD(s[j], p[j]));
  END;
}

static Expr *count_n(KB *kb, const Node *n) { return kx_tof(kb, MUL(BATCH, IC(n->a[1] * n->a[3]))); }

KIR(BN_MEAN) {
  Expr *c = channel_loop(kb, n);
  Expr *s = LOCAL(FC(0)), *p;
  Expr *xi = sum_open(kb, n, c, 1, &p);
  SET(p, ADD(p, LD(IN(0), xi)));
  sum_close(kb, 1, &s, &p);
  STORE(OUT, c, DIV(s, count_n(kb, n)));
  END;
  kb_sync(kb, OUT, IC(n->a[2]), MTL_SYNC_SHARE);
}

KIR(BN_VAR) {
  Expr *c = channel_loop(kb, n);
  Expr *mean = LOCAL(LD(IN(1), c));
  Expr *s = LOCAL(FC(0)), *p;
  Expr *xi = sum_open(kb, n, c, 1, &p);
  Expr *d = LOCAL(SUB(LD(IN(0), xi), mean));
  SET(p, ADD(p, MUL(d, d)));
  sum_close(kb, 1, &s, &p);
  STORE(OUT, c, DIV(s, count_n(kb, n)));
  END;
  kb_sync(kb, OUT, IC(n->a[2]), MTL_SYNC_SHARE);
}

static Expr *rstd_of(KB *kb, const Node *n, Buf *var, Expr *c) {
  return LOCAL(DIV(FC(1), kx_un(kb, XU_SQRT, ADD(LD(var, c), FC(n->f[0])))));
}

KIR(BN_APPLY) {
  Expr *c = channel_loop(kb, n);
  Expr *rstd = rstd_of(kb, n, IN(2), c);
  Expr *mean = LOCAL(LD(IN(1), c));
  Expr *scale = LOCAL(MUL(rstd, LD(IN(3), c)));
  Expr *shift = LOCAL(LD(IN(4), c));
  Expr *xi = channel_elems(kb, n, c);
  STORE(OUT, xi, ADD(MUL(SUB(LD(IN(0), xi), mean), scale), shift));
  END, END, END;
  END;
}

/* in two passes over the channels, the per-channel sums of g and g xhat
 * between them in scratch, summed over the ranks of a data-parallel step */
KIR(BN_DX) { /* dy, x, mean, var, gamma */
  int64_t C = n->a[2];
  Buf *sums = kb_scratch(kb, 2 * C, "sums of dy gamma and dy gamma xhat, by channel");
  Expr *c = channel_loop(kb, n);
  Expr *rstd = rstd_of(kb, n, IN(3), c);
  Expr *mean = LOCAL(LD(IN(2), c));
  Expr *g = LOCAL(LD(IN(4), c));
  Expr *sg[2] = {LOCAL(FC(0)), LOCAL(FC(0))}, *p[2]; /* of g, of g xhat */
  Expr *xi = sum_open(kb, n, c, 2, p);
  Expr *dg = LOCAL(MUL(LD(IN(0), xi), g));
  SET(p[0], ADD(p[0], dg));
  SET(p[1], ADD(p[1], MUL(dg, MUL(SUB(LD(IN(1), xi), mean), rstd))));
  sum_close(kb, 2, sg, p);
  STORE(sums, c, sg[0]);
  STORE(sums, ADD(c, IC(C)), sg[1]);
  END;
  kb_sync(kb, sums, IC(2 * C), MTL_SYNC_SHARE);
  c = channel_loop(kb, n);
  rstd = rstd_of(kb, n, IN(3), c);
  mean = LOCAL(LD(IN(2), c));
  g = LOCAL(LD(IN(4), c));
  Expr *inv_n = LOCAL(DIV(FC(1), count_n(kb, n)));
  Expr *mg = LOCAL(MUL(LD(sums, c), inv_n)), *mgx = LOCAL(MUL(LD(sums, ADD(c, IC(C))), inv_n));
  xi = channel_elems(kb, n, c);
  Expr *xhat = MUL(SUB(LD(IN(1), xi), mean), rstd);
  STORE(OUT, xi, MUL(rstd, SUB(SUB(MUL(LD(IN(0), xi), g), mg), MUL(xhat, mgx))));
  END, END, END;
  END;
}

KIR(BN_DGAMMA) { /* dy, x, mean, var */
  Expr *c = channel_loop(kb, n);
  Expr *rstd = rstd_of(kb, n, IN(3), c);
  Expr *mean = LOCAL(LD(IN(2), c));
  Expr *s = LOCAL(FC(0)), *p;
  Expr *xi = sum_open(kb, n, c, 1, &p);
  SET(p, ADD(p, MUL(LD(IN(0), xi), MUL(SUB(LD(IN(1), xi), mean), rstd))));
  sum_close(kb, 1, &s, &p);
  STORE(OUT, c, s);
  END;
}

KIR(BN_DBETA) {
  Expr *c = channel_loop(kb, n);
  Expr *s = LOCAL(FC(0)), *p;
  Expr *xi = sum_open(kb, n, c, 1, &p);
  SET(p, ADD(p, LD(IN(0), xi)));
  sum_close(kb, 1, &s, &p);
  STORE(OUT, c, s);
  END;
}

KIR(BN_RUNNING) { /* running_mean, running_var, mean, var */
  double m = n->f[0];
  Buf *count = kb_scratch(kb, 1, "a channel's values in the batch, over the ranks");
  STORE(count, IC(0), count_n(kb, n));
  kb_sync(kb, count, IC(1), MTL_SYNC_SUM);
  Expr *N = LOCAL(LD(count, IC(0)));
  Expr *unbias = LOCAL(kx_sel(kb, kx_bin(kb, XB_GT, N, FC(1)), DIV(N, SUB(N, FC(1))), FC(1)));
  Expr *c = channel_loop(kb, n);
  STORE(IN(0), c, ADD(MUL(FC(1 - m), LD(IN(0), c)), MUL(FC(m), LD(IN(2), c))));
  STORE(IN(1), c, ADD(MUL(FC(1 - m), LD(IN(1), c)), MUL(FC(m), MUL(LD(IN(3), c), unbias))));
  END;
}

/* ---- layernorm over the last dimension ---------------------------------------------- */

SAME_SHAPE_AS(LAYERNORM, 0)
SAME_SHAPE_AS(LN_DX, 0)
static void last_shape(Node *n) {
  n->shape = shp(1, n->in[0]->shape.d[n->in[0]->shape.rank - 1], 0, 0, 0);
  n->batched = false;
}
SHAPE(LN_DGAMMA) { last_shape(n); }
SHAPE(LN_DBETA) { last_shape(n); }

BWD(LAYERNORM) {
  Node *x = n->in[0], *gamma = n->in[1], *beta = n->in[2];
  if (x->needs_grad)
    ad_accum(ad, x, ad_node(ad, OP_LN_DX, 3, (Node *[]){dy, x, gamma}, n, NULL));
  ad_accum(ad, gamma, ad_node(ad, OP_LN_DGAMMA, 2, (Node *[]){dy, x}, n, NULL));
  ad_accum(ad, beta, ad_node(ad, OP_LN_DBETA, 1, &dy, n, NULL));
}
NO_BWD(LN_DX)
NO_BWD(LN_DGAMMA)
NO_BWD(LN_DBETA)

/* the rows: R = (B) numel / D rows of D */
static int64_t ln_d(const Node *x) { return x->shape.d[x->shape.rank - 1]; }

/* mean and rstd of row r of x */
static void ln_stats(const double *x, int64_t D, double eps, double *mean, double *rstd) {
  double s = 0, v = 0;
  for (int64_t k = 0; k < D; k++)
    s += x[k];
  *mean = s / (double)D;
  for (int64_t k = 0; k < D; k++)
    v += (x[k] - *mean) * (x[k] - *mean);
  *rstd = 1 / sqrt(v / (double)D + eps);
}

INTERP(LAYERNORM) {
  int64_t D = ln_d(n);
  for (int64_t r = 0, rows = LEN(n) / D; r < rows; r++) {
    double mean, rstd;
    ln_stats(x[0] + r * D, D, n->f[0], &mean, &rstd);
    for (int64_t k = 0; k < D; k++)
      out[r * D + k] = (x[0][r * D + k] - mean) * rstd * x[1][k] + x[2][k];
  }
}

INTERP(LN_DX) { /* dy, x, gamma */
  int64_t D = ln_d(n);
  for (int64_t r = 0, rows = LEN(n) / D; r < rows; r++) {
    const double *dy = x[0] + r * D, *xr = x[1] + r * D;
    double mean, rstd, sg = 0, sgx = 0;
    ln_stats(xr, D, n->f[0], &mean, &rstd);
    for (int64_t k = 0; k < D; k++) {
      sg += dy[k] * x[2][k];
      sgx += dy[k] * x[2][k] * (xr[k] - mean) * rstd;
    }
    for (int64_t k = 0; k < D; k++)
      out[r * D + k] = rstd * (dy[k] * x[2][k] - sg / (double)D -
                               (xr[k] - mean) * rstd * sgx / (double)D);
  }
}

INTERP(LN_DGAMMA) { /* dy, x */
  int64_t D = ln_d(n->in[1]);
  memset(out, 0, sizeof(double) * (size_t)D);
  for (int64_t r = 0, rows = LEN(n->in[1]) / D; r < rows; r++) {
    double mean, rstd;
    ln_stats(x[1] + r * D, D, n->f[0], &mean, &rstd);
    for (int64_t k = 0; k < D; k++)
      out[k] += x[0][r * D + k] * (x[1][r * D + k] - mean) * rstd;
  }
}

INTERP(LN_DBETA) {
  int64_t D = ln_d(n->in[0]);
  memset(out, 0, sizeof(double) * (size_t)D);
  for (int64_t r = 0, rows = LEN(n->in[0]) / D; r < rows; r++)
    for (int64_t k = 0; k < D; k++)
      out[k] += x[0][r * D + k];
}

/* for r over rows: base, mean, rstd of x's row (one END) */
static Expr *ln_row(KB *kb, const Node *x, Buf *xb, double eps, Expr **mean, Expr **rstd) {
  int64_t D = ln_d(x);
  Expr *r = LOOP(kx_bin(kb, XB_DIV, COUNT(x), IC(D)));
  Expr *base = LOCAL(MUL(r, IC(D)));
  Expr *s = LOCAL(FC(0));
  Expr *k = LOOP(IC(D));
  SET(s, ADD(s, LD(xb, ADD(base, k))));
  END;
  *mean = LOCAL(DIV(s, FC((double)D)));
  Expr *v = LOCAL(FC(0));
  k = LOOP(IC(D));
  Expr *d = LOCAL(SUB(LD(xb, ADD(base, k)), *mean));
  SET(v, ADD(v, MUL(d, d)));
  END;
  *rstd = LOCAL(DIV(FC(1), kx_un(kb, XU_SQRT, ADD(DIV(v, FC((double)D)), FC(eps)))));
  return base;
}

KIR(LAYERNORM) {
  Expr *mean, *rstd;
  Expr *base = ln_row(kb, n, IN(0), n->f[0], &mean, &rstd);
  Expr *k = LOOP(IC(ln_d(n)));
  Expr *i = ADD(base, k);
  STORE(OUT, i, ADD(MUL(MUL(SUB(LD(IN(0), i), mean), rstd), LD(IN(1), k)), LD(IN(2), k)));
  END;
  END;
}

KIR(LN_DX) { /* dy, x, gamma */
  int64_t D = ln_d(n);
  Expr *mean, *rstd;
  Expr *base = ln_row(kb, n, IN(1), n->f[0], &mean, &rstd);
  Expr *sg = LOCAL(FC(0)), *sgx = LOCAL(FC(0));
  Expr *k = LOOP(IC(D));
  Expr *dg = LOCAL(MUL(LD(IN(0), ADD(base, k)), LD(IN(2), k)));
  SET(sg, ADD(sg, dg));
  SET(sgx, ADD(sgx, MUL(dg, MUL(SUB(LD(IN(1), ADD(base, k)), mean), rstd))));
  END;
  Expr *mg = LOCAL(DIV(sg, FC((double)D))), *mgx = LOCAL(DIV(sgx, FC((double)D)));
  k = LOOP(IC(D));
  Expr *i = ADD(base, k);
  Expr *xhat = MUL(SUB(LD(IN(1), i), mean), rstd);
  STORE(OUT, i, MUL(rstd, SUB(SUB(MUL(LD(IN(0), i), LD(IN(2), k)), mg), MUL(xhat, mgx))));
  END;
  END;
}

KIR(LN_DGAMMA) { /* dy, x */
  int64_t D = ln_d(n->in[1]);
  kb_zero(kb, OUT, IC(D));
  Expr *mean, *rstd;
  Expr *base = ln_row(kb, n->in[1], IN(1), n->f[0], &mean, &rstd);
  Expr *k = LOOP(IC(D));
  Expr *i = ADD(base, k);
  ACCUM(OUT, k, MUL(LD(IN(0), i), MUL(SUB(LD(IN(1), i), mean), rstd)));
  END;
  END;
}

KIR(LN_DBETA) {
  int64_t D = ln_d(n->in[0]);
  kb_zero(kb, OUT, IC(D));
  Expr *r = LOOP(kx_bin(kb, XB_DIV, COUNT(n->in[0]), IC(D)));
  Expr *k = LOOP(IC(D));
  ACCUM(OUT, k, LD(IN(0), ADD(MUL(r, IC(D)), k)));
  END, END;
}
