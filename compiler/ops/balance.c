/* ops/balance.c: the ops of the balancing pass (graph/balance.c), which
 * hand the runtime's balancer what it needs and take back its weights:
 *   gram     the T tasks' gradients of one tensor -> their [T, T] Gramian
 *            (dot products by GEMM); a model's Gramian sums them
 *   wsum     sum_t w[t] x_t: the tasks' gradients combined by the weights
 *            the balancer wrote into hyper[] (w, a hyper vector [T])
 *   extgrad  a gradient the runtime computes (balance.loss_scale's), read
 *            from the gradient group where the runtime wrote it
 * None is differentiated: they come after the backward passes. */
#include "ops/ops.h"

SHAPE(GRAM) {
  n->shape = shp(2, n->nin, n->nin, 0, 0);
  n->batched = false;
}
NO_BWD(GRAM)

INTERP(GRAM) {
  int T = n->nin;
  int64_t e = LEN(n->in[0]);
  for (int s = 0; s < T; s++)
    for (int t = s; t < T; t++) {
      double d = 0;
      for (int64_t i = 0; i < e; i++)
        d += x[s][i] * x[t][i];
      out[s * T + t] = out[t * T + s] = d;
    }
}

/* out[s, t] = <x_s, x_t>: a 1 x 1 GEMM per pair, then the mirror half */
KIR(GRAM) {
  int T = n->nin;
  Expr *e = COUNT(n->in[0]);
  for (int s = 0; s < T; s++)
    for (int t = s; t < T; t++)
      kb_gemm(kb, 0, 1, IC(1), IC(1), e, IN(s), IC(0), e, IN(t), IC(0), e, OUT,
              IC(s * T + t), IC(1), 0);
  for (int s = 0; s < T; s++)
    for (int t = s + 1; t < T; t++)
      STORE(OUT, IC(t * T + s), LD(OUT, IC(s * T + t)));
}

SHAPE(WSUM) {
  n->shape = n->in[0]->shape;
  n->batched = n->in[0]->batched;
}
NO_BWD(WSUM)

INTERP(WSUM) {
  int T = n->nin - 1;
  double *w = x[T];
  for (int64_t i = 0, e = LEN(n); i < e; i++) {
    double s = w[0] * x[0][i];
    for (int t = 1; t < T; t++)
      s += w[t] * x[t][i];
    out[i] = s;
  }
}

KIR(WSUM) {
  int T = n->nin - 1;
  Expr *i = LOOP(COUNT(n));
  Expr *s = LOCAL(MUL(LD(IN(T), IC(0)), LD(IN(0), i)));
  for (int t = 1; t < T; t++)
    SET(s, ADD(s, MUL(LD(IN(T), IC(t)), LD(IN(t), i))));
  STORE(OUT, i, s);
  END;
}

NO_SHAPE(EXTGRAD)
NO_BWD(EXTGRAD)
NO_INTERP(EXTGRAD) /* its value is set by whoever runs the balancer */
NO_KIR(EXTGRAD)    /* the gradient group's block, where the runtime writes it */
