/* ops/optim.c: the optimizer updates, effects in place on a parameter and
 * its state, as PyTorch's SGD (momentum, nesterov) and Adam/AdamW
 * (decoupled weight decay). The learning rate and Adam's bias corrections
 * 1 - beta^t are inputs (hyper[] leaves) that the runtime sets each step;
 * graph/autodiff.c's add_updates makes one update per parameter. */
#include "ops/ops.h"

SAME_SHAPE_AS(SGD, 0)
SAME_SHAPE_AS(ADAM, 0)
NO_BWD(SGD)
NO_BWD(ADAM)

/* v = momentum v + g; step along v, or g + momentum v with nesterov */
INTERP(SGD) {
  (void)out;
  double mu = n->f[0], lr = x[2][0];
  for (int64_t i = 0, e = LEN(n); i < e; i++) {
    double g = x[1][i], d = g;
    if (n->nin == 4) {
      x[3][i] = mu * x[3][i] + g;
      d = n->a[0] ? g + mu * x[3][i] : x[3][i];
    }
    x[0][i] -= lr * d;
  }
}

/* param, grad, lr, c1 = 1 - beta1^t, c2, m, v */
INTERP(ADAM) {
  (void)out;
  double b1 = n->f[0], b2 = n->f[1], eps = n->f[2], wd = n->f[3];
  double lr = x[2][0], c1 = x[3][0], c2 = x[4][0];
  double *p = x[0], *m = x[5], *v = x[6];
  for (int64_t i = 0, e = LEN(n); i < e; i++) {
    double g = x[1][i];
    p[i] -= lr * wd * p[i];
    m[i] = b1 * m[i] + (1 - b1) * g;
    v[i] = b2 * v[i] + (1 - b2) * g * g;
    p[i] -= lr * (m[i] / c1) / (sqrt(v[i] / c2) + eps);
  }
}

KIR(SGD) {
  Buf *p = IN(0), *g = IN(1);
  Expr *lr = LOCAL(LD(IN(2), IC(0)));
  Expr *i = LOOP(IC(shape_numel(n->shape)));
  Expr *gi = LOCAL(LD(g, i));
  Expr *d = gi;
  if (n->nin == 4) {
    Buf *v = IN(3);
    Expr *vi = LOCAL(ADD(MUL(FC(n->f[0]), LD(v, i)), gi));
    STORE(v, i, vi);
    d = n->a[0] ? ADD(gi, MUL(FC(n->f[0]), vi)) : vi;
  }
  STORE(p, i, SUB(LD(p, i), MUL(lr, d)));
  END;
}

KIR(ADAM) {
  Buf *p = IN(0), *g = IN(1), *m = IN(5), *v = IN(6);
  double b1 = n->f[0], b2 = n->f[1], eps = n->f[2], wd = n->f[3];
  Expr *lr = LOCAL(LD(IN(2), IC(0)));
  Expr *i = LOOP(IC(shape_numel(n->shape)));
  Expr *gi = LOCAL(LD(g, i));
  Expr *pi = LOCAL(LD(p, i));
  if (wd)
    SET(pi, SUB(pi, MUL(MUL(lr, FC(wd)), pi)));
  Expr *mi = LOCAL(ADD(MUL(FC(b1), LD(m, i)), MUL(FC(1 - b1), gi)));
  Expr *vi = LOCAL(ADD(MUL(FC(b2), LD(v, i)), MUL(MUL(FC(1 - b2), gi), gi)));
  STORE(m, i, mi);
  STORE(v, i, vi);
  Expr *mhat = DIV(mi, LD(IN(3), IC(0))), *vhat = DIV(vi, LD(IN(4), IC(0)));
  STORE(p, i, SUB(pi, DIV(MUL(lr, mhat), ADD(kx_un(kb, XU_SQRT, vhat), FC(eps)))));
  END;
}
