/* mtl_solve.c: the small solvers of the balancing methods, in double
 * precision, on a T x T Gramian of the tasks' gradients (or on a matrix
 * made from one): MGDA's min-norm point, PCGrad's projections, CAGrad's
 * inner problem, IMTL-G's closed form, Aligned-MTL's eigen-decomposition,
 * Nash-MTL's bargaining weights, UPGrad's box-constrained QP. Where LibMTL
 * calls a Python solver (scipy for CAGrad, cvxpy with ECOS for Nash-MTL,
 * quadprog for UPGrad) these solve the same problem to a stated tolerance
 * with an iteration cap; where LibMTL writes its own iteration (MGDA) they
 * take its steps, with its constants. No allocation: callers pass `work`
 * (MTL_SOLVE_WORK(T) doubles). The balancer (mtl_balance.c) decides what
 * each method asks of them. */
#include "mtl_balance.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* ---- linear algebra --------------------------------------------------------- */

bool mtl_solve_linear(double *A, double *b, int n) {
  double scale = 0;
  for (int i = 0; i < n * n; i++)
    scale = fmax(scale, fabs(A[i]));
  for (int k = 0; k < n; k++) {
    int p = k;
    for (int i = k + 1; i < n; i++)
      if (fabs(A[i * n + k]) > fabs(A[p * n + k]))
        p = i;
    if (!(fabs(A[p * n + k]) > 1e-300 + 1e-15 * scale))
      return false;
    if (p != k) {
      for (int j = 0; j < n; j++) {
        double t = A[k * n + j];
        A[k * n + j] = A[p * n + j], A[p * n + j] = t;
      }
      double t = b[k];
      b[k] = b[p], b[p] = t;
    }
    for (int i = k + 1; i < n; i++) {
      double f = A[i * n + k] / A[k * n + k];
      for (int j = k; j < n; j++)
        A[i * n + j] -= f * A[k * n + j];
      b[i] -= f * b[k];
    }
  }
  for (int k = n - 1; k >= 0; k--) {
    double s = b[k];
    for (int j = k + 1; j < n; j++)
      s -= A[k * n + j] * b[j];
    b[k] = s / A[k * n + k];
  }
  return true;
}

/* x' A y over n */
static double quad(const double *A, const double *x, const double *y, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) {
    double r = 0;
    for (int j = 0; j < n; j++)
      r += A[i * n + j] * y[j];
    s += x[i] * r;
  }
  return s;
}

int mtl_sym_eigen(const double *A, int T, double *lambda, double *V, double *work) {
  double *a = work; /* T x T, rotated toward diagonal */
  memcpy(a, A, sizeof(double) * (size_t)(T * T));
  for (int i = 0; i < T * T; i++)
    V[i] = i % (T + 1) == 0;
  double total = 0;
  for (int i = 0; i < T * T; i++)
    total += a[i] * a[i];
  int sweep = 0;
  for (; sweep < 100; sweep++) {
    double off = 0;
    for (int i = 0; i < T; i++)
      for (int j = 0; j < T; j++)
        if (i != j)
          off += a[i * T + j] * a[i * T + j];
    if (off <= 1e-30 * total || off == 0)
      break;
    for (int p = 0; p < T; p++)
      for (int q = p + 1; q < T; q++) {
        double apq = a[p * T + q];
        if (apq == 0)
          continue;
        double theta = (a[q * T + q] - a[p * T + p]) / (2 * apq);
        double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
        double c = 1 / sqrt(t * t + 1), s = t * c;
        for (int k = 0; k < T; k++) { /* columns p, q */
          double akp = a[k * T + p], akq = a[k * T + q];
          a[k * T + p] = c * akp - s * akq, a[k * T + q] = s * akp + c * akq;
        }
        for (int k = 0; k < T; k++) { /* rows p, q */
          double apk = a[p * T + k], aqk = a[q * T + k];
          a[p * T + k] = c * apk - s * aqk, a[q * T + k] = s * apk + c * aqk;
        }
        for (int k = 0; k < T; k++) {
          double vkp = V[k * T + p], vkq = V[k * T + q];
          V[k * T + p] = c * vkp - s * vkq, V[k * T + q] = s * vkp + c * vkq;
        }
      }
  }
  for (int i = 0; i < T; i++)
    lambda[i] = a[i * T + i];
  return sweep < 100 ? sweep : -1;
}

/* ---- MGDA (LibMTL's _find_min_norm_element) ------------------------------------- */

double mtl_mgda_pair(double v11, double v12, double v22, double *cost) {
  if (v12 >= v11) {
    *cost = v11;
    return 0.999;
  }
  if (v12 >= v22) {
    *cost = v22;
    return 0.001;
  }
  double gamma = -((v12 - v22) / (v11 + v22 - 2 * v12));
  *cost = v22 + gamma * (v12 - v22);
  return gamma;
}

/* the Euclidean projection onto the simplex, LibMTL's _projection2simplex */
static void simplex_project(const double *y, int n, double *out, double *sorted) {
  memcpy(sorted, y, sizeof(double) * (size_t)n);
  for (int i = 1; i < n; i++) /* descending */
    for (int j = i; j > 0 && sorted[j - 1] < sorted[j]; j--) {
      double t = sorted[j];
      sorted[j] = sorted[j - 1], sorted[j - 1] = t;
    }
  double sum = 0, tmpsum = 0;
  for (int i = 0; i < n; i++)
    sum += y[i];
  double tmax_f = (sum - 1) / n;
  for (int i = 0; i < n - 1; i++) {
    tmpsum += sorted[i];
    double tmax = (tmpsum - 1) / (i + 1.0);
    if (tmax > sorted[i + 1]) {
      tmax_f = tmax;
      break;
    }
  }
  for (int i = 0; i < n; i++)
    out[i] = fmax(y[i] - tmax_f, 0);
}

/* LibMTL's _next_point: a step along the projected gradient to the
 * simplex's boundary, projected back */
static void mgda_next(const double *cur, const double *grad, int n, double *next, double *tmp) {
  double mean = 0;
  for (int i = 0; i < n; i++)
    mean += grad[i];
  mean /= n;
  double t = 1;
  bool any1 = false;
  double t1 = INFINITY, t2 = INFINITY;
  for (int i = 0; i < n; i++) {
    double pg = grad[i] - mean;
    if (pg < 0) {
      double r = -cur[i] / pg;
      if (r > 1e-7)
        t1 = fmin(t1, r), any1 = true;
    } else if (pg > 0) {
      double r = (1 - cur[i]) / pg;
      if (r > 1e-7)
        t2 = fmin(t2, r);
    }
  }
  if (any1)
    t = t1;
  if (t2 < INFINITY)
    t = fmin(t, t2);
  for (int i = 0; i < n; i++)
    tmp[i] = (grad[i] - mean) * t + cur[i];
  simplex_project(tmp, n, next, tmp + n);
}

int mtl_mgda_solve(const double *G, int T, const double *start, double *sol, double *work) {
  double *grad = work, *next = work + T, *tmp = work + 2 * T; /* tmp: 2T */
  double dmin = 1e8;
  int bi = 0, bj = T > 1 ? 1 : 0;
  double bc = 1;
  for (int i = 0; i < T; i++)
    for (int j = i + 1; j < T; j++) {
      double d, c = mtl_mgda_pair(G[i * T + i], G[i * T + j], G[j * T + j], &d);
      if (d < dmin)
        dmin = d, bi = i, bj = j, bc = c;
    }
  for (int i = 0; i < T; i++)
    sol[i] = 0;
  if (start)
    memcpy(sol, start, sizeof(double) * (size_t)T);
  else if (T == 1)
    sol[0] = 1;
  else {
    sol[bi] = bc;
    sol[bj] = 1 - bc;
  }
  if (T < 3 && !start)
    return 0;
  for (int it = 0; it < 250; it++) {
    for (int i = 0; i < T; i++) {
      double r = 0;
      for (int j = 0; j < T; j++)
        r += G[i * T + j] * sol[j];
      grad[i] = -r;
    }
    mgda_next(sol, grad, T, next, tmp);
    double v11 = quad(G, sol, sol, T), v12 = quad(G, sol, next, T), v22 = quad(G, next, next, T);
    double nd, nc = mtl_mgda_pair(v11, v12, v22, &nd);
    double change = 0;
    for (int i = 0; i < T; i++) {
      double ns = nc * sol[i] + (1 - nc) * next[i];
      change += fabs(ns - sol[i]);
      tmp[i] = ns;
    }
    if (change < 1e-5)
      return it + 1;
    memcpy(sol, tmp, sizeof(double) * (size_t)T);
  }
  return 250;
}

/* ---- PCGrad ------------------------------------------------------------------------ */

/* pc_i = sum_k A[i][k] g_k starts as g_i; visiting j in task i's order, a
 * conflict <pc_i, g_j> < 0 removes its projection on g_j. The combined
 * gradient, sum_i pc_i, has coefficient out[j] on g_j. */
void mtl_pcgrad_coefs(const double *G, int T, const int *order, double *out) {
  double A[64 * 64];
  for (int i = 0; i < T * T; i++)
    A[i] = i % (T + 1) == 0;
  for (int j = 0; j < T; j++)
    out[j] = 1;
  for (int i = 0; i < T; i++)
    for (int q = 0; q < T; q++) {
      int j = order[i * T + q];
      double gij = 0;
      for (int k = 0; k < T; k++)
        gij += A[i * T + k] * G[k * T + j];
      if (gij < 0) {
        double f = gij / (G[j * T + j] + 1e-8);
        A[i * T + j] -= f;
        out[j] -= f;
      }
    }
}

/* ---- CAGrad --------------------------------------------------------------------------- */

/* f(x) = x' G b + c sqrt(x' G x + 1e-8), with its gradient and Hessian */
static double cagrad_f(const double *G, const double *a, int T, double c, const double *x,
                       double *g, double *H, double *Gx) {
  double xa = 0, q = 0;
  for (int i = 0; i < T; i++) {
    double r = 0;
    for (int j = 0; j < T; j++)
      r += G[i * T + j] * x[j];
    Gx[i] = r;
    q += x[i] * r;
    xa += x[i] * a[i];
  }
  double s = sqrt(q + 1e-8);
  if (g)
    for (int i = 0; i < T; i++)
      g[i] = a[i] + c * Gx[i] / s;
  if (H)
    for (int i = 0; i < T; i++)
      for (int j = 0; j < T; j++)
        H[i * T + j] = c * (G[i * T + j] / s - Gx[i] * Gx[j] / (s * s * s));
  return xa + c * s;
}

/* the Newton step on the free set F, keeping sum(x) = 1: H d + g = mu 1
 * over F, sum d = 0; d is 0 off F */
static bool eq_newton(const double *H, const double *g, const bool *free, int T, double *d,
                      double *mu, double *K) {
  int idx[64], n = 0;
  double tr = 0;
  for (int i = 0; i < T; i++)
    if (free[i])
      idx[n++] = i, tr += fabs(H[i * T + i]);
  int m = n + 1;
  double *rhs = K + m * m;
  for (int r = 0; r < n; r++) {
    for (int s = 0; s < n; s++)
      K[r * m + s] = H[idx[r] * T + idx[s]] + (r == s ? 1e-13 * (tr + 1e-300) : 0);
    K[r * m + n] = -1, K[n * m + r] = 1;
    rhs[r] = -g[idx[r]];
  }
  K[n * m + n] = 0, rhs[n] = 0;
  if (!mtl_solve_linear(K, rhs, m))
    return false;
  for (int i = 0; i < T; i++)
    d[i] = 0;
  for (int r = 0; r < n; r++)
    d[idx[r]] = rhs[r];
  *mu = rhs[n];
  return true;
}

int mtl_cagrad_solve(const double *G, int T, double c, double *x, double *work) {
  double *a = work, *g = a + T, *d = g + T, *Gx = d + T, *y = Gx + T, *H = y + T;
  double *K = H + T * T; /* (T + 1)^2 + T + 1 */
  bool free[64];
  for (int i = 0; i < T; i++) {
    double r = 0;
    for (int j = 0; j < T; j++)
      r += G[i * T + j] / T;
    a[i] = r;
    x[i] = 1.0 / T;
    free[i] = true;
  }
  int it = 0;
  for (; it < 200; it++) {
    double f = cagrad_f(G, a, T, c, x, g, H, Gx), mu;
    if (!eq_newton(H, g, free, T, d, &mu, K))
      return -1;
    double dmax = 0, gd = 0;
    for (int i = 0; i < T; i++)
      dmax = fmax(dmax, fabs(d[i])), gd += g[i] * d[i];
    if (dmax <= 1e-12 || gd >= 0) {
      int add = -1; /* a bound variable whose gradient is below the multiplier */
      double worst = -1e-13 * (1 + fabs(mu));
      for (int i = 0; i < T; i++)
        if (!free[i] && g[i] - mu < worst)
          worst = g[i] - mu, add = i;
      if (add < 0)
        break;
      free[add] = true;
      continue;
    }
    double tmax = 1;
    int block = -1;
    for (int i = 0; i < T; i++)
      if (free[i] && d[i] < 0 && -x[i] / d[i] < tmax)
        tmax = -x[i] / d[i], block = i;
    double tau = tmax;
    for (int k = 0; k < 60; k++) {
      for (int i = 0; i < T; i++)
        y[i] = fmax(x[i] + tau * d[i], 0);
      if (cagrad_f(G, a, T, c, y, NULL, NULL, Gx) <= f + 1e-4 * tau * gd)
        break;
      tau *= 0.5;
      block = -1;
    }
    memcpy(x, y, sizeof(double) * (size_t)T);
    if (block >= 0 && tau == tmax)
      x[block] = 0, free[block] = false;
    else if (tau < 1e-12 * tmax)
      break; /* no decrease left at double precision */
  }
  double sum = 0;
  for (int i = 0; i < T; i++)
    sum += x[i];
  for (int i = 0; i < T; i++)
    x[i] /= sum;
  return it;
}

/* ---- IMTL-G ------------------------------------------------------------------------------ */

/* With u_t = g_t / |g_t|, D's rows g_0 - g_i and U's rows u_0 - u_j
 * (i, j = 1..T-1): alpha[1..] = g_0 U' (D U')^-1, alpha[0] = 1 - their sum.
 * Every product is one of the Gramian's entries over the norms. */
int mtl_imtl_solve(const double *G, int T, double *alpha, double *work) {
  int n = T - 1;
  double *M = work, *x = work + n * n, nrm[64];
  for (int t = 0; t < T; t++)
    nrm[t] = sqrt(G[t * T + t]);
  for (int t = 0; t < T; t++)
    if (!(nrm[t] > 0))
      return -1;
  for (int j = 1; j < T; j++)
    x[j - 1] = G[0] / nrm[0] - G[j] / nrm[j];
  /* (D U')[i][j] = <g_0 - g_i, u_0 - u_j>; alpha M = x, so M' alpha' = x' */
  for (int i = 1; i < T; i++)
    for (int j = 1; j < T; j++) {
      double dij = G[0] / nrm[0] - G[j] / nrm[j] - G[i * T] / nrm[0] + G[i * T + j] / nrm[j];
      M[(j - 1) * n + (i - 1)] = dij;
    }
  if (n > 0 && !mtl_solve_linear(M, x, n))
    return -1;
  double s = 0;
  for (int j = 1; j < T; j++)
    alpha[j] = x[j - 1], s += x[j - 1];
  alpha[0] = 1 - s;
  return 0;
}

/* ---- Aligned-MTL ------------------------------------------------------------------------- */

int mtl_aligned_solve(const double *G, int T, double *alpha, double *work) {
  double *lambda = work, *V = work + T, *w2 = V + T * T;
  if (mtl_sym_eigen(G, T, lambda, V, w2) < 0)
    return -1;
  double top = -INFINITY;
  for (int i = 0; i < T; i++)
    top = fmax(top, lambda[i]);
  double tol = top * T * FLT_EPSILON, low = INFINITY;
  bool keep[64];
  for (int i = 0; i < T; i++) {
    keep[i] = lambda[i] > tol;
    if (keep[i])
      low = fmin(low, lambda[i]);
  }
  for (int j = 0; j < T; j++)
    alpha[j] = 0;
  if (low == INFINITY)
    return 0; /* no direction: every gradient is zero */
  /* B = sqrt(low) V S^-1 V' (kept eigenpairs); alpha_j = sum_i B_ij */
  for (int i = 0; i < T; i++)
    for (int j = 0; j < T; j++) {
      double b = 0;
      for (int k = 0; k < T; k++)
        if (keep[k])
          b += V[i * T + k] * V[j * T + k] / sqrt(lambda[k]);
      alpha[j] += sqrt(low) * b;
    }
  return 0;
}

/* ---- Nash-MTL -------------------------------------------------------------------------------- */

/* the barrier's constraint values q_i = log(nf a_i) + log((Gn a)_i), or
 * false outside their domain */
static bool nash_q(const double *Gn, int T, double nf, const double *a, double *q, double *Ga) {
  for (int i = 0; i < T; i++) {
    double r = 0;
    for (int j = 0; j < T; j++)
      r += Gn[i * T + j] * a[j];
    Ga[i] = r;
    if (!(a[i] > 0) || !(r > 0))
      return false;
    q[i] = log(nf * a[i]) + log(r);
    if (!(q[i] > 0))
      return false;
  }
  return true;
}

int mtl_nash_step(const double *Gn, int T, double nf, const double *prev, double *a,
                  double *work) {
  double *c = work, *q = c + T, *Ga = q + T, *g = Ga + T, *d = g + T, *y = d + T;
  double *H = y + T, *Gp = H + T * T;
  /* c = Gn 1 + (1/nf) (1/prev + Gn (1 / (Gn prev))) */
  for (int i = 0; i < T; i++) {
    double r = 0;
    for (int j = 0; j < T; j++)
      r += Gn[i * T + j] * prev[j];
    if (r == 0 || !(prev[i] > 0))
      return -1;
    Gp[i] = 1 / r;
  }
  bool inside = true;
  for (int i = 0; i < T; i++) {
    double s = 0, r = 0;
    for (int j = 0; j < T; j++)
      s += Gn[i * T + j], r += Gn[i * T + j] * Gp[j];
    c[i] = s + (1 / prev[i] + r) / nf;
    inside &= Gp[i] > 0;
  }
  /* a strictly feasible start, scaled up until every q_i >= 1: prev, or,
   * when some (Gn prev)_i <= 0 (conflicting gradients), the min-norm
   * point of the hull nudged inside: (Gn w)_i >= w' Gn w > 0 there */
  memcpy(a, prev, sizeof(double) * (size_t)T);
  if (!inside) {
    mtl_mgda_solve(Gn, T, NULL, a, y);
    double eps = 1e-2;
    for (; eps > 1e-12; eps /= 4) {
      bool pos = true;
      for (int i = 0; i < T; i++) {
        double r = 0;
        for (int j = 0; j < T; j++)
          r += Gn[i * T + j] * (a[j] + eps);
        pos &= r > 0;
      }
      if (pos)
        break;
    }
    for (int i = 0; i < T; i++)
      a[i] += eps;
  }
  double k = 1;
  for (int i = 0; i < T; i++) {
    double r = 0;
    for (int j = 0; j < T; j++)
      r += Gn[i * T + j] * a[j];
    double qi = log(nf * a[i]) + log(r); /* scaling by k adds 2 log k */
    if (qi < 1)
      k = fmax(k, exp((1 - qi) / 2));
  }
  for (int i = 0; i < T; i++)
    a[i] *= k;
  if (!nash_q(Gn, T, nf, a, q, Ga))
    return -1;
  double t = 1;
  int steps = 0;
  for (int outer = 0; outer < 40; outer++) {
    for (int inner = 0; inner < 60; inner++, steps++) {
      /* phi = t c'a - sum log q_i; grad and Hessian */
      nash_q(Gn, T, nf, a, q, Ga);
      double phi = 0;
      for (int i = 0; i < T; i++) {
        g[i] = t * c[i];
        phi += t * c[i] * a[i] - log(q[i]);
      }
      for (int i = 0; i < T * T; i++)
        H[i] = 0;
      for (int i = 0; i < T; i++) {
        /* dq_i = e_i / a_i + Gn_i / Ga_i */
        double qi = q[i];
        for (int r = 0; r < T; r++) {
          double dr = (r == i ? 1 / a[i] : 0) + Gn[i * T + r] / Ga[i];
          g[r] -= dr / qi;
          for (int s = 0; s < T; s++) {
            double ds = (s == i ? 1 / a[i] : 0) + Gn[i * T + s] / Ga[i];
            /* d2q_i = -e_i e_i' / a_i^2 - Gn_i Gn_i' / Ga_i^2 */
            double d2 = -(r == i && s == i ? 1 / (a[i] * a[i]) : 0) -
                        Gn[i * T + r] * Gn[i * T + s] / (Ga[i] * Ga[i]);
            H[r * T + s] += dr * ds / (qi * qi) - d2 / qi;
          }
        }
      }
      for (int i = 0; i < T; i++)
        d[i] = -g[i];
      if (!mtl_solve_linear(H, d, T))
        return -1;
      double dec = 0;
      for (int i = 0; i < T; i++)
        dec -= g[i] * d[i];
      if (dec / 2 < 1e-14)
        break;
      double tau = 1;
      for (int ls = 0; ls < 80; ls++, tau *= 0.5) {
        for (int i = 0; i < T; i++)
          y[i] = a[i] + tau * d[i];
        if (!nash_q(Gn, T, nf, y, q, Ga))
          continue;
        double phy = 0;
        for (int i = 0; i < T; i++)
          phy += t * c[i] * y[i] - log(q[i]);
        if (phy <= phi - 0.25 * tau * dec)
          break;
      }
      if (!nash_q(Gn, T, nf, y, q, Ga))
        break;
      memcpy(a, y, sizeof(double) * (size_t)T);
      for (int i = 0; i < T; i++)
        if (!(a[i] < 1e15))
          return -1; /* unbounded below: no solution, as ECOS would say */
    }
    if (T / t < 1e-12)
      return steps;
    t *= 10;
  }
  return steps;
}

/* LibMTL's solve_optimization: from the previous weights, up to max_iter
 * convex steps, each linearized at the last one; it stops when the Nash
 * condition Gn a = 1/a nearly holds at the last point (norm < 1e-3) or a
 * step moves less than 1e-6, and keeps the last point (not the step's).
 * A failed step counts as no move. */
int mtl_nash_solve(const double *G, int T, int max_iter, double *alpha, double *work) {
  double *Gn = work, *next = Gn + T * T, *sub = next + T;
  double nf = 0;
  for (int i = 0; i < T * T; i++)
    nf += G[i] * G[i];
  nf = sqrt(nf);
  if (!(nf > 0))
    return -1;
  for (int i = 0; i < T * T; i++)
    Gn[i] = G[i] / nf;
  int it = 0;
  for (; it < max_iter; it++) {
    if (mtl_nash_step(Gn, T, nf, alpha, next, sub) < 0)
      memcpy(next, alpha, sizeof(double) * (size_t)T);
    double cond = 0, move = 0;
    for (int i = 0; i < T; i++) {
      double r = 0;
      for (int j = 0; j < T; j++)
        r += Gn[i * T + j] * alpha[j];
      double e = r - 1 / (alpha[i] + 1e-10);
      cond += e * e;
      move += (next[i] - alpha[i]) * (next[i] - alpha[i]);
    }
    if (sqrt(cond) < 1e-3 || sqrt(move) < 1e-6)
      break;
    memcpy(alpha, next, sizeof(double) * (size_t)T);
  }
  return it;
}

/* ---- UPGrad's QP ---------------------------------------------------------------------------- */

/* v = u + z, z >= 0: minimize 1/2 z'Qz + (Qu)'z. Lawson and Hanson's
 * active-set method with the passive set solved exactly (Cholesky-free
 * elimination; Q's principal blocks are positive definite). */
int mtl_box_qp(const double *Q, const double *u, int T, double *v, double *work) {
  double *q = work, *z = q + T, *s = z + T, *w = s + T, *M = w + T, *rhs = M + T * T;
  bool P[64] = {false};
  double scale = 0;
  for (int i = 0; i < T; i++) {
    double r = 0;
    for (int j = 0; j < T; j++)
      r += Q[i * T + j] * u[j];
    q[i] = r, z[i] = 0;
    scale = fmax(scale, fabs(r));
  }
  double tol = 1e-14 * (scale + 1e-300);
  int steps = 0;
  for (; steps < 3 * T + 30; steps++) {
    int j = -1;
    double best = tol;
    for (int i = 0; i < T; i++) {
      double r = q[i];
      for (int k = 0; k < T; k++)
        r += Q[i * T + k] * z[k];
      w[i] = -r;
      if (!P[i] && w[i] > best)
        best = w[i], j = i;
    }
    if (j < 0)
      break;
    P[j] = true;
    for (int inner = 0; inner <= T; inner++) {
      int idx[64], n = 0;
      for (int i = 0; i < T; i++)
        if (P[i])
          idx[n++] = i;
      for (int r = 0; r < n; r++) {
        for (int c = 0; c < n; c++)
          M[r * n + c] = Q[idx[r] * T + idx[c]];
        rhs[r] = -q[idx[r]];
      }
      if (!mtl_solve_linear(M, rhs, n))
        return -1;
      for (int i = 0; i < T; i++)
        s[i] = 0;
      bool pos = true;
      for (int r = 0; r < n; r++)
        s[idx[r]] = rhs[r], pos &= rhs[r] > 0;
      if (pos) {
        memcpy(z, s, sizeof(double) * (size_t)T);
        break;
      }
      double alpha = 1; /* back toward z, stopping at the first bound */
      for (int i = 0; i < T; i++)
        if (P[i] && s[i] <= 0)
          alpha = fmin(alpha, z[i] / (z[i] - s[i]));
      for (int i = 0; i < T; i++) {
        z[i] += alpha * (s[i] - z[i]);
        if (P[i] && z[i] <= 1e-300)
          P[i] = false, z[i] = 0;
      }
    }
  }
  for (int i = 0; i < T; i++)
    v[i] = u[i] + z[i];
  return steps < 3 * T + 30 ? steps : -1;
}
