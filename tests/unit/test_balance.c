/* test_balance.c: unit tests of the balancing methods' solvers
 * (runtime/mtl_solve.c) and of the balancer's refusals
 * (runtime/mtl_balance.c), on Gramians made from random vectors: well
 * conditioned ones, conflicting ones (negative inner products), singular
 * ones (fewer dimensions than tasks, or a task's gradient a multiple of
 * another's, or zero).
 *   - MGDA: two tasks against the closed form; its iteration from another
 *     start (Frank-Wolfe-like steps) against the closed form too; three and
 *     four tasks against the exact min-norm point found by brute force over
 *     the supports.
 *   - UPGrad's box QP and CAGrad's inner problem against brute force: every
 *     active set of the QP; a grid over the simplex and the KKT conditions.
 *   - PCGrad's coefficients against the projections done on the vectors;
 *     IMTL-G's property (equal projections on every unit gradient);
 *     Aligned-MTL's eigen-decomposition and its closed form on orthogonal
 *     gradients; Nash-MTL's weights solving alpha_i (G alpha)_i = 1.
 *   - A NaN or infinite loss, or a gradient that is not finite, stops the
 *     step with an error that names the task and the step.
 * Prints [PASS]/[FAIL] per check. */
#include "mtl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int failures;

static void check(const char *name, bool ok, const char *fmt, double a, double b) {
  if (ok) {
    printf("[PASS] unit/balance/%s\n", name);
    return;
  }
  printf("[FAIL] unit/balance/%s: ", name);
  printf(fmt, a, b);
  printf("\n");
  failures++;
}

static MtlRng rng;

/* kinds of Gramians */
enum { WELL, CONFLICT, SINGULAR, NKINDS };
static const char *const kind_name[] = {"well-conditioned", "conflicting", "singular"};

/* G = J J' for T gradients of n values: random; conflicting (each pair
 * pulled to opposite sides); singular (n < T, or a gradient repeated) */
static void gramian(double *G, int T, int kind) {
  double J[8][16];
  int n = kind == SINGULAR ? (T > 2 ? T - 1 : 1) : 12;
  for (int t = 0; t < T; t++)
    for (int k = 0; k < n; k++)
      J[t][k] = mtl_rng_normal(&rng) * (1 + t);
  if (kind == CONFLICT)
    for (int t = 1; t < T; t++)
      for (int k = 0; k < n; k++)
        J[t][k] -= 1.5 * J[0][k] * (t % 2 ? 1 : -0.5);
  if (kind == SINGULAR && T == 2)
    for (int k = 0; k < n; k++)
      J[1][k] = 2 * J[0][k];
  for (int s = 0; s < T; s++)
    for (int t = 0; t < T; t++) {
      double d = 0;
      for (int k = 0; k < n; k++)
        d += J[s][k] * J[t][k];
      G[s * T + t] = d;
    }
}

static double quadf(const double *G, const double *x, int T) {
  double s = 0;
  for (int i = 0; i < T; i++)
    for (int j = 0; j < T; j++)
      s += x[i] * G[i * T + j] * x[j];
  return s;
}

/* ---- MGDA ------------------------------------------------------------------------- */

/* the exact min-norm point of the convex hull: for every support S, the
 * KKT system G_SS x = mu 1, sum x = 1; the feasible point of least norm */
static double min_norm_brute(const double *G, int T, double *best) {
  double fbest = INFINITY;
  for (int mask = 1; mask < 1 << T; mask++) {
    int idx[8], n = 0;
    for (int i = 0; i < T; i++)
      if (mask >> i & 1)
        idx[n++] = i;
    double A[81], b[9];
    int m = n + 1;
    for (int r = 0; r < n; r++) {
      for (int c = 0; c < n; c++)
        A[r * m + c] = G[idx[r] * T + idx[c]];
      A[r * m + n] = -1, A[n * m + r] = 1, b[r] = 0;
    }
    A[n * m + n] = 0, b[n] = 1;
    if (!mtl_solve_linear(A, b, m))
      continue;
    double x[8] = {0};
    bool ok = true;
    for (int r = 0; r < n; r++)
      ok &= b[r] >= -1e-12, x[idx[r]] = fmax(b[r], 0);
    if (!ok)
      continue;
    double f = quadf(G, x, T);
    if (f < fbest)
      fbest = f, memcpy(best, x, sizeof(double) * (size_t)T);
  }
  return fbest;
}

static void test_mgda(void) {
  double work[MTL_SOLVE_WORK(8)];
  for (int kind = 0; kind < NKINDS; kind++) {
    double worst = 0, worst_fw = 0;
    for (int rep = 0; rep < 50; rep++) {
      double G[4], sol[2], fw[2];
      gramian(G, 2, kind);
      double v11 = G[0], v12 = G[1], v22 = G[3], gamma;
      /* the closed form: gamma v1 + (1 - gamma) v2 of least norm, LibMTL's
       * ends 0.999 and 0.001 */
      if (v12 >= v11)
        gamma = 0.999;
      else if (v12 >= v22)
        gamma = 0.001;
      else
        gamma = (v22 - v12) / (v11 + v22 - 2 * v12);
      mtl_mgda_solve(G, 2, NULL, sol, work);
      worst = fmax(worst, fabs(sol[0] - gamma) + fabs(sol[1] - (1 - gamma)));
      /* the iteration, from the middle, ends at the closed form's point
       * (of the unclamped optimum) */
      double start[2] = {0.5, 0.5}, opt = fmin(fmax((v22 - v12) / (v11 + v22 - 2 * v12), 0), 1);
      if (!(v11 + v22 - 2 * v12 > 0))
        opt = 0.5;
      mtl_mgda_solve(G, 2, start, fw, work);
      double f_fw = quadf(G, fw, 2), xo[2] = {opt, 1 - opt}, f_opt = quadf(G, xo, 2);
      worst_fw = fmax(worst_fw, (f_fw - f_opt) / fmax(f_opt, 1e-12 * (v11 + v22)));
    }
    char name[96];
    snprintf(name, sizeof name, "mgda two tasks: the closed form, %s", kind_name[kind]);
    check(name, worst < 1e-12, "largest difference %.3g", worst, 0);
    snprintf(name, sizeof name, "mgda two tasks: its iteration reaches the closed form, %s",
             kind_name[kind]);
    check(name, worst_fw < 1e-4, "relative excess of the norm %.3g", worst_fw, 0);
  }
  for (int T = 3; T <= 4; T++)
    for (int kind = 0; kind < NKINDS; kind++) {
      double worst = 0, below = 0;
      for (int rep = 0; rep < 30; rep++) {
        double G[16], sol[4], opt[4];
        gramian(G, T, kind);
        mtl_mgda_solve(G, T, NULL, sol, work);
        double f_opt = min_norm_brute(G, T, opt), f = quadf(G, sol, T), sum = 0;
        for (int i = 0; i < T; i++)
          sum += sol[i];
        double scale = G[0] + G[T + 1] + G[2 * T + 2];
        worst = fmax(worst, fmax((f - f_opt) / scale, fabs(sum - 1)));
        below = fmin(below, (f - f_opt) / scale);
      }
      /* LibMTL's iteration stops when a step changes the weights by less
       * than 1e-5 (L1), short of the minimum: within 1% of the trace */
      char name[128];
      snprintf(name, sizeof name, "mgda %d tasks against brute force: not below it, within 1%% "
               "of the trace above, %s", T, kind_name[kind]);
      check(name, worst < 1e-2 && below > -1e-12, "norm above the minimum by %.3g of the trace "
            "(below it by %.3g)", worst, -below);
    }
}

/* ---- UPGrad's box QP ---------------------------------------------------------------- */

/* every active set: z_P = solve, z >= 0, gradient >= 0 off P */
static bool box_qp_brute(const double *Q, const double *u, int T, double *v) {
  double q[8];
  for (int i = 0; i < T; i++) {
    q[i] = 0;
    for (int j = 0; j < T; j++)
      q[i] += Q[i * T + j] * u[j];
  }
  for (int mask = 0; mask < 1 << T; mask++) {
    int idx[8], n = 0;
    for (int i = 0; i < T; i++)
      if (mask >> i & 1)
        idx[n++] = i;
    double A[64], b[8], z[8] = {0};
    for (int r = 0; r < n; r++) {
      for (int c = 0; c < n; c++)
        A[r * n + c] = Q[idx[r] * T + idx[c]];
      b[r] = -q[idx[r]];
    }
    if (n && !mtl_solve_linear(A, b, n))
      continue;
    bool ok = true;
    for (int r = 0; r < n; r++)
      ok &= b[r] >= 0, z[idx[r]] = b[r];
    for (int i = 0; ok && i < T; i++) {
      double gi = q[i];
      for (int j = 0; j < T; j++)
        gi += Q[i * T + j] * z[j];
      if (!(mask >> i & 1))
        ok = gi >= -1e-12;
    }
    if (ok) {
      for (int i = 0; i < T; i++)
        v[i] = u[i] + z[i];
      return true;
    }
  }
  return false;
}

static void test_box_qp(void) {
  double work[MTL_SOLVE_WORK(8)];
  for (int T = 2; T <= 5; T++)
    for (int kind = 0; kind < NKINDS; kind++) {
      double worst = 0;
      bool all = true;
      for (int rep = 0; rep < 30; rep++) {
        double G[64], Q[64], tr = 0;
        gramian(G, T, kind);
        for (int t = 0; t < T; t++)
          tr += G[t * T + t];
        for (int i = 0; i < T * T; i++) /* UPGrad's: over the trace, plus 1e-4 I */
          Q[i] = G[i] / tr + (i % (T + 1) == 0 ? 1e-4 : 0);
        for (int i = 0; i < T; i++) {
          double u[8] = {0}, v[8], vb[8];
          u[i] = 1.0 / T;
          all &= mtl_box_qp(Q, u, T, v, work) >= 0 && box_qp_brute(Q, u, T, vb);
          for (int k = 0; k < T; k++)
            worst = fmax(worst, fabs(v[k] - vb[k]));
        }
      }
      char name[96];
      snprintf(name, sizeof name, "upgrad's QP, %d tasks, against every active set, %s", T,
               kind_name[kind]);
      check(name, all && worst < 1e-9, "largest difference %.3g (solved: %g)", worst, all);
    }
}

/* ---- CAGrad ------------------------------------------------------------------------------ */

static double cagrad_obj(const double *G, int T, double c, const double *x) {
  double xa = 0;
  for (int i = 0; i < T; i++)
    for (int j = 0; j < T; j++)
      xa += x[i] * G[i * T + j] / T;
  return xa + c * sqrt(quadf(G, x, T) + 1e-8);
}

static void test_cagrad(void) {
  double work[MTL_SOLVE_WORK(8)];
  for (int T = 2; T <= 4; T++)
    for (int kind = 0; kind < NKINDS; kind++) {
      double worst = 0, kkt = 0;
      for (int rep = 0; rep < 20; rep++) {
        double G[16], x[4], mean = 0;
        gramian(G, T, kind);
        for (int i = 0; i < T * T; i++)
          mean += G[i] / (T * T);
        double c = 0.5 * sqrt(fabs(mean) + 1e-8) + 1e-8;
        mtl_cagrad_solve(G, T, c, x, work);
        double f = cagrad_obj(G, T, c, x), best = INFINITY;
        /* brute force: a grid over the simplex (steps 1/600, 1/120, 1/40) */
        int steps = T == 2 ? 600 : T == 3 ? 120 : 40;
        int k[4] = {0};
        for (;;) {
          int s = 0;
          for (int i = 0; i < T - 1; i++)
            s += k[i];
          if (s <= steps) {
            double y[4];
            for (int i = 0; i < T - 1; i++)
              y[i] = (double)k[i] / steps;
            y[T - 1] = (double)(steps - s) / steps;
            best = fmin(best, cagrad_obj(G, T, c, y));
          }
          int i = 0;
          while (i < T - 1 && ++k[i] > steps)
            k[i++] = 0;
          if (i == T - 1)
            break;
        }
        worst = fmax(worst, (f - best) / fabs(best));
        /* KKT: the gradient is one value on the support, no less off it */
        double g[4], mu = INFINITY, s = sqrt(quadf(G, x, T) + 1e-8);
        for (int i = 0; i < T; i++) {
          double a = 0, gx = 0;
          for (int j = 0; j < T; j++)
            a += G[i * T + j] / T, gx += G[i * T + j] * x[j];
          g[i] = a + c * gx / s;
          if (x[i] > 1e-9)
            mu = fmin(mu, g[i]);
        }
        for (int i = 0; i < T; i++)
          kkt = fmax(kkt, x[i] > 1e-9 ? fabs(g[i] - mu) / (fabs(mu) + 1e-12)
                                      : fmax(mu - g[i], 0) / (fabs(mu) + 1e-12));
      }
      char name[96];
      snprintf(name, sizeof name, "cagrad %d tasks: no grid point better, KKT holds, %s", T,
               kind_name[kind]);
      check(name, worst < 1e-12 && kkt < 1e-7, "above the grid's best by %.3g, KKT %.3g", worst,
            kkt);
    }
}

/* ---- PCGrad, IMTL, Aligned-MTL, Nash-MTL ---------------------------------------------- */

static void test_pcgrad(void) {
  double worst = 0;
  for (int rep = 0; rep < 40; rep++) {
    int T = 2 + rep % 3, n = 6, order[64];
    double J[4][6], G[16], pc[4][6], w[4];
    for (int t = 0; t < T; t++)
      for (int k = 0; k < n; k++)
        J[t][k] = mtl_rng_normal(&rng) - (t ? 0.7 * J[0][k] : 0);
    for (int s = 0; s < T; s++)
      for (int t = 0; t < T; t++) {
        G[s * T + t] = 0;
        for (int k = 0; k < n; k++)
          G[s * T + t] += J[s][k] * J[t][k];
      }
    for (int i = 0; i < T; i++)
      for (int q = 0; q < T; q++)
        order[i * T + q] = (i + q) % T;
    mtl_pcgrad_coefs(G, T, order, w);
    memcpy(pc, J, sizeof pc);
    for (int i = 0; i < T; i++) /* the projections, on the vectors */
      for (int q = 0; q < T; q++) {
        int j = order[i * T + q];
        double d = 0;
        for (int k = 0; k < n; k++)
          d += pc[i][k] * J[j][k];
        if (d < 0)
          for (int k = 0; k < n; k++)
            pc[i][k] -= d * J[j][k] / (G[j * T + j] + 1e-8);
      }
    for (int k = 0; k < n; k++) {
      double sum = 0, comb = 0;
      for (int i = 0; i < T; i++)
        sum += pc[i][k], comb += w[i] * J[i][k];
      worst = fmax(worst, fabs(sum - comb));
    }
  }
  check("pcgrad's coefficients give the projected vectors' sum", worst < 1e-12,
        "largest difference %.3g", worst, 0);
}

static void test_imtl(void) {
  double work[MTL_SOLVE_WORK(8)], worst = 0;
  for (int rep = 0; rep < 30; rep++) {
    int T = 2 + rep % 3, n = 7;
    double J[4][7], G[16], a[4];
    for (int t = 0; t < T; t++)
      for (int k = 0; k < n; k++)
        J[t][k] = mtl_rng_normal(&rng) * (1 + t);
    for (int s = 0; s < T; s++)
      for (int t = 0; t < T; t++) {
        G[s * T + t] = 0;
        for (int k = 0; k < n; k++)
          G[s * T + t] += J[s][k] * J[t][k];
      }
    mtl_imtl_solve(G, T, a, work);
    double g[7] = {0}, proj[4], sum = 0;
    for (int t = 0; t < T; t++)
      for (int k = 0; k < n; k++)
        g[k] += a[t] * J[t][k];
    for (int t = 0; t < T; t++) {
      proj[t] = 0;
      for (int k = 0; k < n; k++)
        proj[t] += g[k] * J[t][k] / sqrt(G[t * T + t]);
      sum += a[t];
    }
    for (int t = 1; t < T; t++)
      worst = fmax(worst, fabs(proj[t] - proj[0]) / fabs(proj[0]));
    worst = fmax(worst, fabs(sum - 1));
  }
  check("imtl: the combination projects equally on every unit gradient", worst < 1e-9,
        "largest relative difference %.3g", worst, 0);
}

static void test_aligned(void) {
  double work[MTL_SOLVE_WORK(8)], worst = 0;
  for (int rep = 0; rep < 20; rep++) {
    int T = 2 + rep % 4;
    double G[64], lam[8], V[64];
    gramian(G, T, rep % NKINDS);
    mtl_sym_eigen(G, T, lam, V, work);
    for (int i = 0; i < T; i++)
      for (int j = 0; j < T; j++) {
        double a = 0, o = 0;
        for (int k = 0; k < T; k++)
          a += V[i * T + k] * lam[k] * V[j * T + k], o += V[k * T + i] * V[k * T + j];
        worst = fmax(worst, fmax(fabs(a - G[i * T + j]) / (fabs(G[0]) + fabs(G[T + 1])),
                                 fabs(o - (i == j))));
      }
  }
  check("symmetric eigenproblem: V diag(lambda) V' = G, V orthonormal", worst < 1e-12,
        "largest difference %.3g", worst, 0);
  /* orthogonal gradients: alpha_t = sqrt(lambda_min / lambda_t) */
  double G[9] = {4, 0, 0, 0, 1, 0, 0, 0, 9}, a[3], want[3] = {0.5, 1, 1.0 / 3};
  mtl_aligned_solve(G, 3, a, work);
  double d = fabs(a[0] - want[0]) + fabs(a[1] - want[1]) + fabs(a[2] - want[2]);
  check("aligned_mtl on orthogonal gradients: sqrt(lambda_min / lambda_t)", d < 1e-12,
        "difference %.3g", d, 0);
}

/* One convex step's KKT conditions: feasible, and c = sum_i l_i grad q_i
 * over the active constraints with l >= 0 (least squares for l). */
static double nash_kkt(const double *Gn, int T, double nf, const double *prev, const double *a) {
  double c[4], Gp[4], Ga[4], grad[4][4], q[4];
  for (int i = 0; i < T; i++) {
    Gp[i] = Ga[i] = 0;
    for (int j = 0; j < T; j++)
      Gp[i] += Gn[i * T + j] * prev[j], Ga[i] += Gn[i * T + j] * a[j];
  }
  for (int i = 0; i < T; i++) {
    double s = 0, r = 0;
    for (int j = 0; j < T; j++)
      s += Gn[i * T + j], r += Gn[i * T + j] / Gp[j];
    c[i] = s + (1 / prev[i] + r) / nf;
    q[i] = log(nf * a[i]) + log(Ga[i]);
    for (int r2 = 0; r2 < T; r2++)
      grad[i][r2] = (r2 == i ? 1 / a[i] : 0) + Gn[i * T + r2] / Ga[i];
  }
  /* the normal equations over the active constraints */
  int act[4], n = 0;
  double worst = 0;
  for (int i = 0; i < T; i++) {
    worst = fmax(worst, -q[i]);
    if (q[i] < 1e-6)
      act[n++] = i;
  }
  double A[16], l[4];
  for (int r = 0; r < n; r++) {
    l[r] = 0;
    for (int s = 0; s < n; s++) {
      A[r * n + s] = 0;
      for (int k = 0; k < T; k++)
        A[r * n + s] += grad[act[r]][k] * grad[act[s]][k];
    }
    for (int k = 0; k < T; k++)
      l[r] += grad[act[r]][k] * c[k];
  }
  if (n && !mtl_solve_linear(A, l, n))
    return INFINITY;
  double cn = 0;
  for (int k = 0; k < T; k++) {
    double r = c[k];
    for (int s = 0; s < n; s++)
      r -= l[s] * grad[act[s]][k];
    worst = fmax(worst, fabs(r)), cn = fmax(cn, fabs(c[k]));
  }
  for (int s = 0; s < n; s++)
    worst = fmax(worst, -l[s] * cn);
  return worst / cn;
}

static void test_nash(void) {
  double work[MTL_SOLVE_WORK(8)], worst = 0, kkt = 0;
  int steps = 0, unbounded = 0;
  for (int rep = 0; rep < 30; rep++) {
    int T = 2 + rep % 3;
    double G[16], Gn[16], a[4] = {1, 1, 1, 1}, one[4] = {1, 1, 1, 1}, x[4], nf = 0;
    gramian(G, T, rep % 2 ? CONFLICT : WELL);
    for (int i = 0; i < T * T; i++)
      nf += G[i] * G[i];
    nf = sqrt(nf);
    for (int i = 0; i < T * T; i++)
      Gn[i] = G[i] / nf;
    if (mtl_nash_step(Gn, T, nf, one, x, work) >= 0)
      kkt = fmax(kkt, nash_kkt(Gn, T, nf, one, x)), steps++;
    else
      unbounded++;
    if (rep % 2)
      continue;
    mtl_nash_solve(G, T, 100, a, work);
    for (int i = 0; i < T; i++) {
      double r = 0;
      for (int j = 0; j < T; j++)
        r += G[i * T + j] * a[j];
      worst = fmax(worst, fabs(a[i] * r - 1));
    }
  }
  check("nash_mtl: alpha_i (G alpha)_i = 1 (the bargaining solution) on well-conditioned "
        "gradients", worst < 1e-6, "largest |alpha_i (G alpha)_i - 1| %.3g", worst, 0);
  check("nash_mtl: each convex step meets its KKT conditions, conflicting gradients too",
        kkt < 1e-6 && steps >= 20, "KKT residual %.3g, %g steps solved", kkt, steps);
  (void)unbounded; /* a linearization at 1 can be unbounded below: LibMTL keeps 1 then */
}

/* ---- the balancer's refusals ------------------------------------------------------------- */

static float fake_loss[2];
static float fake_gram[4];

static void fake_step(float *params, float *grads, float *state, float *stats, float *act,
                      const void *const *data, int64_t B, const float *hyper, uint64_t seed,
                      float *losses) {
  (void)params, (void)grads, (void)state, (void)stats, (void)act, (void)data, (void)B;
  (void)hyper, (void)seed;
  memcpy(losses, fake_loss, sizeof fake_loss);
}

static void fake_begin(float *params, float *grads, float *state, float *stats, float *act,
                       const void *const *data, int64_t B, const float *hyper, uint64_t seed,
                       float *losses, float *bal) {
  fake_step(params, grads, state, stats, act, data, B, hyper, seed, losses);
  memcpy(bal, fake_gram, sizeof fake_gram);
}

static void fake_end(float *params, float *grads, float *state, float *stats, float *act,
                     const void *const *data, int64_t B, const float *hyper, uint64_t seed,
                     float *losses, float *bal) {
  (void)bal;
  fake_step(params, grads, state, stats, act, data, B, hyper, seed, losses);
  params[0] += 1; /* an update happened */
}

static bool refuses(MtlBalanceKind k, float l0, float l1, float g11, const char *want1,
                    const char *want2, bool *updated) {
  static const MtlTaskInfo tasks[2] = {{.name = "left", .weight = 1}, {.name = "right", .weight = 1}};
  MtlModelInfo m = {.abi = MTL_MODEL_ABI, .name = "fake", .n_tasks = 2, .tasks = tasks,
                    .n_hyper = MTL_HYPER_TASKS + 6, .balance = k, .balance_param = -1,
                    .n_bal = 4, .train_step = fake_step, .train_begin = fake_begin,
                    .train_end = fake_end};
  fake_loss[0] = l0, fake_loss[1] = l1;
  fake_gram[0] = 1, fake_gram[1] = fake_gram[2] = 0.5f, fake_gram[3] = g11;
  MtlBalancer *b = mtl_balancer_new(&m);
  float params[1] = {0}, hyper[16] = {0}, losses[2];
  MtlStep st = {params, params, params, params, params, NULL, 1, hyper, 0, losses, 7, 2};
  bool ok = mtl_balance_step(b, &st);
  mtl_balancer_free(b);
  *updated = params[0] != 0;
  const char *e = mtl_error();
  return !ok && strstr(e, want1) && strstr(e, want2) && strstr(e, "step 7");
}

static void test_refusals(void) {
  bool updated;
  bool r = refuses(MTL_BAL_PCGRAD, 0.5f, NAN, 1, "task 'right'", "nan", &updated);
  check("a nan loss stops a pcgrad step before its update, naming the task and the step",
        r && !updated, "refused %g, updated %g", r, updated);
  r = refuses(MTL_BAL_DWA, INFINITY, 1, 1, "task 'left'", "inf", &updated);
  check("an infinite loss stops a dwa step before its update, naming the task and the step",
        r && !updated, "refused %g, updated %g", r, updated);
  r = refuses(MTL_BAL_MGDA, 1, 1, INFINITY, "gradient of task 'right'", "not finite", &updated);
  check("a gradient that is not finite stops an mgda step before its update", r && !updated,
        "refused %g, updated %g", r, updated);
  r = refuses(MTL_BAL_STATIC, 1, NAN, 1, "task 'right'", "nan", &updated);
  check("a nan loss under static stops training, naming the task and the step", r,
        "refused %g, updated %g", r, updated);
  r = refuses(MTL_BAL_MGDA, 1, 1, 1, "", "", &updated);
  check("finite losses and gradients: the step is taken", !r && updated, "refused %g, updated %g",
        r, updated);
}

int main(void) {
  mtl_rng_seed(&rng, 2024);
  test_mgda();
  test_box_qp();
  test_cagrad();
  test_pcgrad();
  test_imtl();
  test_aligned();
  test_nash();
  test_refusals();
  return failures ? 1 : 0;
}
