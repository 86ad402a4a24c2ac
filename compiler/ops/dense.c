/* ops/dense.c: the dense layer and its ops. dense(units, bias=true) on a
 * vector [D] is y = x W^T + b with W [units, D] (PyTorch's Linear):
 *   matmul     y[B, U] = x[B, D] W[U, D]^T
 *   bias       y[B, F, ...] = x + b[F], along dim 1 (conv2d's bias too)
 * and their gradients matmul_nn (dx = dy W), matmul_tn (dW = dy^T x) and
 * bias_grad (db = dy summed over the batch and the positions). GEMM-shaped
 * work is a call to the runtime's sgemm. */
#include "ops/ops.h"

enum { UNITS }; /* i[] */

/* ---- the layer ------------------------------------------------------------- */

static const Param p_dense[] = {{"units", T_INT, REQ, 1, BIG}, {"bias", T_BOOL, 0, 0, 0}};
const Sig sig_DENSE = {NULL, 1, p_dense, 2, "dense(128)", "Linear", "only its output size",
                       "size"};

bool dense_args(Sema *s, Layer *l, Value **v) {
  (void)s;
  l->i[UNITS] = int_arg(v[0], 0);
  l->bias = bool_arg(v[1], true);
  return true;
}

bool dense_shape(Sema *s, Layer *l, Shape in) {
  Call *c = l->call;
  if (in.rank != 1) {
    ERR(c->span, "dense needs a vector input, but here it gets %s; put "
        "flatten before it", shape_str(s->a, in));
    return false;
  }
  int64_t U = l->i[UNITS];
  if (layer_too_many_weights(s, c, (double)in.d[0] * (double)U))
    return false;
  l->out = shp(1, U, 0, 0, 0);
  l->params = in.d[0] * U + (l->bias ? U : 0);
  l->flops = 2 * in.d[0] * U + (l->bias ? U : 0);
  return true;
}

/* PyTorch's default init: weight and bias uniform in +-1/sqrt(fan_in) */
Node *dense_lower(Lower *L, const NetVal *v, Node *x) {
  Layer *l = v->layer;
  Graph *g = lower_graph(L);
  int64_t D = l->in.d[0], U = l->i[UNITS];
  double bound = 1 / sqrt((double)D);
  Node *w = lower_param(L, v, "weight", shp(2, U, D, 0, 0), MTL_INIT_UNIFORM, bound);
  Node *b = l->bias ? lower_param(L, v, "bias", shp(1, U, 0, 0, 0), MTL_INIT_UNIFORM, bound)
                    : NULL;
  Node *y = ir_binary(g, OP_MATMUL, x, w);
  return b ? ir_binary(g, OP_BIAS, y, b) : y;
}

/* ---- matmul ------------------------------------------------------------------ */

SHAPE(MATMUL) {
  MTLC_ASSERT(n->in[0]->shape.rank == 1 && n->in[1]->shape.rank == 2);
  MTLC_ASSERT(n->in[0]->shape.d[0] == n->in[1]->shape.d[1]);
  n->shape = shp(1, n->in[1]->shape.d[0], 0, 0, 0);
  n->batched = true;
}

/* y = x W^T: dx = dy W, dW = dy^T x */
BWD(MATMUL) {
  Node *x = n->in[0], *w = n->in[1];
  if (x->needs_grad)
    ad_accum(ad, x, ad_node(ad, OP_MATMUL_NN, 2, (Node *[]){dy, w}, NULL, NULL));
  ad_accum(ad, w, ad_node(ad, OP_MATMUL_TN, 2, (Node *[]){dy, x}, NULL, NULL));
}

/* out[b, u] = sum_d x[b, d] W[u, d] */
INTERP(MATMUL) {
  int64_t D = n->in[0]->shape.d[0], U = n->shape.d[0];
  for (int64_t b = 0; b < I->batch; b++)
    for (int64_t u = 0; u < U; u++) {
      double s = 0;
      for (int64_t d = 0; d < D; d++)
        s += x[0][b * D + d] * x[1][u * D + d];
      out[b * U + u] = s;
    }
}

/* y[B, U] = x[B, D] W[U, D]^T */
KIR(MATMUL) {
  int64_t D = n->in[0]->shape.d[0], U = n->shape.d[0];
  kb_gemm(kb, 0, 1, BATCH, IC(U), IC(D), IN(0), IC(0), IC(D), IN(1), IC(0), IC(D), OUT, IC(0),
          IC(U), 0);
}

SHAPE(MATMUL_NN) {
  n->shape = shp(1, n->in[1]->shape.d[1], 0, 0, 0);
  n->batched = true;
}
NO_BWD(MATMUL_NN)

INTERP(MATMUL_NN) { /* dy[B, U] W[U, D] -> [B, D] */
  int64_t U = n->in[0]->shape.d[0], D = n->shape.d[0];
  for (int64_t b = 0; b < I->batch; b++)
    for (int64_t d = 0; d < D; d++) {
      double s = 0;
      for (int64_t u = 0; u < U; u++)
        s += x[0][b * U + u] * x[1][u * D + d];
      out[b * D + d] = s;
    }
}

/* dx[B, D] = dy[B, U] W[U, D] */
KIR(MATMUL_NN) {
  int64_t U = n->in[0]->shape.d[0], D = n->shape.d[0];
  kb_gemm(kb, 0, 0, BATCH, IC(D), IC(U), IN(0), IC(0), IC(U), IN(1), IC(0), IC(D), OUT, IC(0),
          IC(D), 0);
}

SHAPE(MATMUL_TN) {
  n->shape = shp(2, n->in[0]->shape.d[0], n->in[1]->shape.d[0], 0, 0);
  n->batched = false;
}
NO_BWD(MATMUL_TN)

INTERP(MATMUL_TN) { /* dy[B, U]^T x[B, D] -> [U, D] */
  int64_t U = n->shape.d[0], D = n->shape.d[1];
  for (int64_t u = 0; u < U; u++)
    for (int64_t d = 0; d < D; d++) {
      double s = 0;
      for (int64_t b = 0; b < I->batch; b++)
        s += x[0][b * U + u] * x[1][b * D + d];
      out[u * D + d] = s;
    }
}

/* dW[U, D] = dy[B, U]^T x[B, D] */
KIR(MATMUL_TN) {
  int64_t U = n->shape.d[0], D = n->shape.d[1];
  kb_gemm(kb, 1, 0, IC(U), IC(D), BATCH, IN(0), IC(0), IC(U), IN(1), IC(0), IC(D), OUT, IC(0),
          IC(D), 0);
}

/* ---- bias ---------------------------------------------------------------------- */

SAME_SHAPE_AS(BIAS, 0)

BWD(BIAS) {
  ad_accum(ad, n->in[0], dy);
  ad_accum(ad, n->in[1], ad_node(ad, OP_BIAS_GRAD, 1, &dy, NULL, NULL));
}

/* out[b, f, s] = x[b, f, s] + bias[f] */
INTERP(BIAS) {
  int64_t F = n->shape.d[0], S = shape_numel(n->shape) / F;
  for (int64_t b = 0; b < I->batch; b++)
    for (int64_t f = 0; f < F; f++)
      for (int64_t s = 0; s < S; s++) {
        int64_t i = (b * F + f) * S + s;
        out[i] = x[0][i] + x[1][f];
      }
}

/* y[b, f, s] = x[b, f, s] + bias[f] */
KIR(BIAS) {
  int64_t F = n->shape.d[0], S = shape_numel(n->shape) / F;
  Expr *b = LOOP(BATCH);
  Expr *f = LOOP(IC(F));
  Expr *bias = LOCAL(LD(IN(1), f));
  Expr *s = LOOP(IC(S));
  Expr *i = ADD(MUL(ADD(MUL(b, IC(F)), f), IC(S)), s);
  STORE(OUT, i, ADD(LD(IN(0), i), bias));
  END, END, END;
}

SHAPE(BIAS_GRAD) {
  n->shape = shp(1, n->in[0]->shape.d[0], 0, 0, 0);
  n->batched = false;
}
NO_BWD(BIAS_GRAD)

INTERP(BIAS_GRAD) {
  Node *dy = n->in[0];
  int64_t F = n->shape.d[0], S = shape_numel(dy->shape) / F;
  for (int64_t f = 0; f < F; f++) {
    double s = 0;
    for (int64_t b = 0; b < I->batch; b++)
      for (int64_t k = 0; k < S; k++)
        s += x[0][(b * F + f) * S + k];
    out[f] = s;
  }
}

/* db[f] = sum over b and s of dy[b, f, s]: first over the batch into
 * acc[F, S] (independent adds that vectorize), then over s */
KIR(BIAS_GRAD) {
  Node *dy = n->in[0];
  int64_t F = n->shape.d[0], S = shape_numel(dy->shape) / F;
  Buf *acc = kb_scratch(kb, F * S, "sum over the batch");
  Expr *i = LOOP(IC(F * S));
  STORE(acc, i, FC(0));
  END;
  Expr *b = LOOP(BATCH);
  i = LOOP(IC(F * S));
  ACCUM(acc, i, LD(IN(0), ADD(MUL(b, IC(F * S)), i)));
  END, END;
  Expr *f = LOOP(IC(F));
  Expr *sum = LOCAL(FC(0));
  Expr *s = LOOP(IC(S));
  SET(sum, ADD(sum, LD(acc, ADD(MUL(f, IC(S)), s))));
  END;
  STORE(OUT, f, sum);
  END;
}
