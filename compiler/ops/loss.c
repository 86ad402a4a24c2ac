/* ops/loss.c: the losses, each the mean over the batch (PyTorch's
 * reduction='mean'), and their gradients:
 *   ce_loss   softmax cross-entropy of logits [B, K] and class labels [B]
 *             (CrossEntropyLoss), through log-sum-exp, so logits of 1e4 stay
 *             finite
 *   bce_loss  binary cross-entropy with logits [B, 1] (BCEWithLogitsLoss),
 *             max(z, 0) - z y + log(1 + exp(-|z|))
 *   mse_loss  mean squared error over every value of [B, D] (MSELoss)
 * Tasks choose their loss in check/tasks.c; lowering puts one per task. */
#include "ops/ops.h"

SCALAR_SHAPE(CE_LOSS)
SCALAR_SHAPE(BCE_LOSS)
SCALAR_SHAPE(MSE_LOSS)
SAME_SHAPE_AS(CE_BWD, 1)
SAME_SHAPE_AS(BCE_BWD, 1)
SAME_SHAPE_AS(MSE_BWD, 1)

static void loss_bwd(Ad *ad, Op op, Node *n, Node *dl) {
  Node *dpred = ad_node(ad, op, 3, (Node *[]){dl, n->in[0], n->in[1]}, NULL, NULL);
  if (n->in[0]->needs_grad)
    ad_accum(ad, n->in[0], dpred);
  if (op == OP_MSE_BWD && n->in[1]->needs_grad) /* d/dtarget = -d/dpred */
    ad_accum(ad, n->in[1], ir_scale(ad_graph(ad), dpred, -1));
}
BWD(CE_LOSS) { loss_bwd(ad, OP_CE_BWD, n, dy); }
BWD(BCE_LOSS) { loss_bwd(ad, OP_BCE_BWD, n, dy); }
BWD(MSE_LOSS) { loss_bwd(ad, OP_MSE_BWD, n, dy); }
NO_BWD(CE_BWD)
NO_BWD(BCE_BWD)
NO_BWD(MSE_BWD)

/* ---- the interpreter ---------------------------------------------------------- */

/* log softmax(z)[y] by log-sum-exp; p gets softmax(z) when given */
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

INTERP(CE_LOSS) {
  int64_t K = n->in[0]->shape.d[0];
  double s = 0;
  for (int64_t b = 0; b < I->batch; b++)
    s -= log_softmax_at(x[0] + b * K, K, (int64_t)x[1][b], NULL);
  out[0] = s / (double)I->batch;
}

INTERP(CE_BWD) { /* dl, logits, labels */
  int64_t K = n->shape.d[0];
  for (int64_t b = 0; b < I->batch; b++) {
    int64_t y = (int64_t)x[2][b];
    log_softmax_at(x[1] + b * K, K, y, out + b * K);
    out[b * K + y] -= 1;
    for (int64_t k = 0; k < K; k++)
      out[b * K + k] *= x[0][0] / (double)I->batch;
  }
}

INTERP(BCE_LOSS) {
  (void)n;
  double s = 0;
  for (int64_t b = 0; b < I->batch; b++) {
    double z = x[0][b], y = x[1][b];
    s += (z > 0 ? z : 0) - z * y + log1p(exp(-fabs(z)));
  }
  out[0] = s / (double)I->batch;
}

INTERP(BCE_BWD) {
  (void)n;
  for (int64_t b = 0; b < I->batch; b++) {
    double z = x[1][b];
    double sig = z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z));
    out[b] = x[0][0] * (sig - x[2][b]) / (double)I->batch;
  }
}

INTERP(MSE_LOSS) {
  int64_t e = LEN(n->in[0]);
  double s = 0;
  for (int64_t i = 0; i < e; i++)
    s += (x[0][i] - x[1][i]) * (x[0][i] - x[1][i]);
  out[0] = s / (double)e;
}

INTERP(MSE_BWD) {
  int64_t e = LEN(n);
  for (int64_t i = 0; i < e; i++)
    out[i] = x[0][0] * 2 * (x[1][i] - x[2][i]) / (double)e;
}

/* ---- kernels ------------------------------------------------------------------- */

/* labels are int32 */
static Expr *label_at(KB *kb, Buf *label, Expr *idx) { return kx_toi(kb, LD(label, idx)); }

/* m = max_k z[b, k]; s = sum_k exp(z[b, k] - m) */
static void softmax_stats(KB *kb, Buf *z, Expr *b, int64_t K, Expr **m, Expr **s) {
  *m = LOCAL(FC(-INFINITY));
  Expr *k = LOOP(IC(K));
  SET(*m, MAX(*m, LD(z, ADD(MUL(b, IC(K)), k))));
  END;
  *s = LOCAL(FC(0));
  k = LOOP(IC(K));
  SET(*s, ADD(*s, kx_un(kb, XU_EXP, SUB(LD(z, ADD(MUL(b, IC(K)), k)), *m))));
  END;
}

KIR(CE_LOSS) {
  int64_t K = n->in[0]->shape.d[0];
  Expr *total = LOCAL(FC(0));
  Expr *b = LOOP(BATCH), *m, *s;
  softmax_stats(kb, IN(0), b, K, &m, &s);
  Expr *zy = LD(IN(0), ADD(MUL(b, IC(K)), label_at(kb, IN(1), b)));
  /* (m - z_y) + log s, not m + log s - z_y: with logits near 1e8, m + log s
   * rounds to m in float and equal logits would cost 0, not log K */
  SET(total, ADD(total, ADD(SUB(m, zy), kx_un(kb, XU_LOG, s))));
  END;
  STORE(OUT, IC(0), DIV(total, kx_tof(kb, BATCH)));
}

KIR(CE_BWD) { /* dl, logits, labels */
  int64_t K = n->shape.d[0];
  Expr *scale = LOCAL(DIV(LD(IN(0), IC(0)), kx_tof(kb, BATCH)));
  Expr *b = LOOP(BATCH), *m, *s;
  softmax_stats(kb, IN(1), b, K, &m, &s);
  Expr *y = LOCAL(label_at(kb, IN(2), b));
  Expr *k = LOOP(IC(K));
  Expr *i = ADD(MUL(b, IC(K)), k);
  Expr *p = DIV(kx_un(kb, XU_EXP, SUB(LD(IN(1), i), m)), s);
  Expr *onehot = kx_sel(kb, kx_bin(kb, XB_EQ, k, y), FC(1), FC(0));
  STORE(OUT, i, MUL(scale, SUB(p, onehot)));
  END, END;
}

/* max(z, 0) - z y + log(1 + exp(-|z|)) */
KIR(BCE_LOSS) {
  Expr *total = LOCAL(FC(0));
  Expr *b = LOOP(BATCH);
  Expr *z = LOCAL(LD(IN(0), b));
  Expr *y = kx_tof(kb, label_at(kb, IN(1), b));
  Expr *term = ADD(SUB(MAX(z, FC(0)), MUL(z, y)),
                   kx_un(kb, XU_LOG1P, kx_un(kb, XU_EXP, kx_un(kb, XU_NEG, kx_un(kb, XU_ABS, z)))));
  SET(total, ADD(total, term));
  END;
  STORE(OUT, IC(0), DIV(total, kx_tof(kb, BATCH)));
}

KIR(BCE_BWD) { /* dl, logits, labels: dl (sigmoid(z) - y) / B */
  Expr *scale = LOCAL(DIV(LD(IN(0), IC(0)), kx_tof(kb, BATCH)));
  Expr *b = LOOP(BATCH);
  Expr *z = LOCAL(LD(IN(1), b));
  Expr *e = LOCAL(kx_un(kb, XU_EXP, kx_un(kb, XU_NEG, kx_un(kb, XU_ABS, z)))); /* in (0, 1] */
  Expr *sig = kx_sel(kb, kx_bin(kb, XB_GE, z, FC(0)), DIV(FC(1), ADD(FC(1), e)),
                     DIV(e, ADD(FC(1), e)));
  STORE(OUT, b, MUL(scale, SUB(sig, kx_tof(kb, label_at(kb, IN(2), b)))));
  END;
}

KIR(MSE_LOSS) {
  Expr *total = LOCAL(FC(0));
  Expr *i = LOOP(COUNT(n->in[0]));
  Expr *d = LOCAL(SUB(LD(IN(0), i), kx_tof(kb, LD(IN(1), i))));
  SET(total, ADD(total, MUL(d, d)));
  END;
  STORE(OUT, IC(0), DIV(total, kx_tof(kb, COUNT(n->in[0]))));
}

KIR(MSE_BWD) { /* dl, pred, target: dl 2 (pred - target) / (B D) */
  Expr *scale = LOCAL(DIV(MUL(FC(2), LD(IN(0), IC(0))), kx_tof(kb, COUNT(n))));
  Expr *i = LOOP(COUNT(n));
  STORE(OUT, i, MUL(scale, SUB(LD(IN(1), i), kx_tof(kb, LD(IN(2), i)))));
  END;
}
