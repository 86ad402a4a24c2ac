/* ops/optim.c: the optimizer updates, effects in place on a parameter and
 * its state, as PyTorch's SGD (momentum, nesterov), Adam/AdamW (decoupled
 * weight decay) and RMSprop (not centered); and gradient clipping by the
 * global norm before them, as torch.nn.utils.clip_grad_norm_. The learning rate and Adam's bias corrections
 * 1 - beta^t are inputs (hyper[] leaves) that the runtime sets each step;
 * graph/autodiff.c's add_updates makes one update per parameter. */
#include "ops/ops.h"

SCALAR_SHAPE(CLIP_COEF)
SAME_SHAPE_AS(GRAD_SCALE, 0)
NO_BWD(CLIP_COEF)
NO_BWD(GRAD_SCALE)
SAME_SHAPE_AS(SGD, 0)
SAME_SHAPE_AS(ADAM, 0)
SAME_SHAPE_AS(RMSPROP, 0)
NO_BWD(SGD)
NO_BWD(ADAM)
NO_BWD(RMSPROP)

#define CLIP_EPS 1e-6 /* clip_grad_norm_'s */

/* the factor of every gradient: min(1, max / (||g|| + 1e-6)), ||g|| the
 * square root of the sum of every gradient's squares */
INTERP(CLIP_COEF) {
  (void)I;
  double c = n->f[0] / (sqrt(x[0][0]) + CLIP_EPS);
  out[0] = c < 1 ? c : 1;
}

KIR(CLIP_COEF) {
  Expr *norm = kx_un(kb, XU_SQRT, LD(IN(0), IC(0)));
  STORE(OUT, IC(0), kx_bin(kb, XB_MIN, DIV(FC(n->f[0]), ADD(norm, FC(CLIP_EPS))), FC(1)));
}

INTERP(GRAD_SCALE) {
  (void)out;
  for (int64_t i = 0, e = LEN(n); i < e; i++)
    x[0][i] *= x[1][0];
}

KIR(GRAD_SCALE) {
  Buf *g = IN(0);
  Expr *c = LOCAL(LD(IN(1), IC(0)));
  Expr *i = LOOP(IC(shape_numel(n->shape)));
  STORE(g, i, MUL(LD(g, i), c));
  END;
}

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

/* param, grad, lr, square_avg[, momentum_buffer]; g += wd p, then
 * s = alpha s + (1 - alpha) g^2 and step along g / (sqrt(s) + eps), or
 * along b = momentum b + g / (sqrt(s) + eps) (torch.optim.RMSprop) */
INTERP(RMSPROP) {
  (void)out;
  double alpha = n->f[0], eps = n->f[1], mu = n->f[2], wd = n->f[3], lr = x[2][0];
  double *p = x[0], *s = x[3];
  for (int64_t i = 0, e = LEN(n); i < e; i++) {
    double g = x[1][i] + wd * p[i];
    s[i] = alpha * s[i] + (1 - alpha) * g * g;
    double d = g / (sqrt(s[i]) + eps);
    if (n->nin == 5)
      d = x[4][i] = mu * x[4][i] + d;
    p[i] -= lr * d;
  }
}

KIR(RMSPROP) {
  Buf *p = IN(0), *g = IN(1), *s = IN(3);
  double alpha = n->f[0], eps = n->f[1], mu = n->f[2], wd = n->f[3];
  Expr *lr = LOCAL(LD(IN(2), IC(0)));
  Expr *i = LOOP(IC(shape_numel(n->shape)));
  Expr *pi = LOCAL(LD(p, i));
  Expr *gi = LOCAL(LD(g, i));
  if (wd)
    SET(gi, ADD(gi, MUL(FC(wd), pi)));
  Expr *si = LOCAL(ADD(MUL(FC(alpha), LD(s, i)), MUL(MUL(FC(1 - alpha), gi), gi)));
  STORE(s, i, si);
  Expr *d = LOCAL(DIV(gi, ADD(kx_un(kb, XU_SQRT, si), FC(eps))));
  if (n->nin == 5) {
    Buf *b = IN(4);
    SET(d, ADD(MUL(FC(mu), LD(b, i)), d));
    STORE(b, i, d);
  }
  STORE(p, i, SUB(pi, MUL(lr, d)));
  END;
}
