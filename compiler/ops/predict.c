/* ops/predict.c: the op that only inference-only programs use (kir/infer.c
 * adds it after each class or binary task's logits): argmax, the class a
 * task predicts. Softmax and sigmoid, the probabilities, are the
 * activations' ops (ops/act.c). It is never differentiated.
 *   argmax  x[B, K] -> [B] int32: the index of the first largest value, as
 *           the trainer's accuracy counts it; of one value (a binary
 *           task's logit), 1 when it is positive, else 0 */
#include "ops/ops.h"

SHAPE(ARGMAX) {
  n->shape = (Shape){0};
  n->batched = true;
  n->dtype = DT_I32;
}

NO_BWD(ARGMAX)

INTERP(ARGMAX) {
  int64_t K = shape_numel(n->in[0]->shape);
  for (int64_t b = 0; b < I->batch; b++) {
    const double *v = x[0] + b * K;
    int64_t best = 0;
    for (int64_t j = 1; j < K; j++)
      if (v[j] > v[best])
        best = j;
    out[b] = K == 1 ? (double)(v[0] > 0) : (double)best;
  }
}

KIR(ARGMAX) {
  int64_t K = shape_numel(n->in[0]->shape);
  Expr *b = LOOP(BATCH);
  if (K == 1) {
    STORE(OUT, b, kx_sel(kb, kx_bin(kb, XB_GT, LD(IN(0), b), FC(0)), IC(1), IC(0)));
    END;
    return;
  }
  Expr *best = LOCAL(IC(0));
  Expr *top = LOCAL(LD(IN(0), MUL(b, IC(K))));
  Expr *j = LOOP(IC(K));
  Expr *v = LOCAL(LD(IN(0), ADD(MUL(b, IC(K)), j)));
  Expr *more = LOCAL(kx_bin(kb, XB_GT, v, top));
  SET(best, kx_sel(kb, more, j, best));
  SET(top, kx_sel(kb, more, v, top));
  END;
  STORE(OUT, b, best);
  END;
}
