/* mtl_balance.c: the balancer, what a training step does around the model's
 * two phases under a method other than static (mtl_balance.h). Before
 * train_begin: weights that are known before the step (uncertainty's,
 * DWA's, RLW's draws) and IMTL's seeds. After it: the losses and the
 * Gramian of the per-task gradients (bal[]) are checked, the method gives
 * the weights (or the coefficients of the gradients) and the gradient of
 * its own parameter balance.loss_scale, if it has one, written into grads[]
 * for the model's optimizer to apply. After train_end: FAMO's second look
 * at the losses. The solvers are mtl_solve.c's; this file holds what LibMTL
 * keeps between steps and reads nothing but the model's description. */
#include "mtl.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAXT 64
#define BAL_STREAM 0x62616c616e636521ull /* "balance!": apart from init's and the shuffle's */

struct MtlBalancer {
  const MtlModelInfo *m;
  MtlBalanceKind kind;
  int T;
  const double *arg;      /* the method's arguments, in its signature's order */
  const MtlTensor *param; /* balance.loss_scale, or NULL */
  float *bal;             /* n_bal: what train_begin leaves (the T x T Gramian) */
  double *work;           /* MTL_SOLVE_WORK(T) */
  double G[MAXT * MAXT];
  double w[MAXT];         /* the last step's weights, as logged */
  float later[MAXT + 64];  /* FAMO: the losses after the update (then the regularizers') */
  /* kept in checkpoints */
  int64_t epochs;         /* epochs ended */
  double hist[2][MAXT];   /* DWA: the last two epochs' mean losses, hist[1] the newer */
  double first[MAXT];     /* GradNorm: the first epoch's mean losses */
  double famo_w[MAXT], famo_m[MAXT], famo_v[MAXT];
  int64_t famo_t;
  double nash[MAXT];      /* Nash-MTL: the last weights */
  int64_t nash_step;
  MtlRng rng;             /* RLW's draws, PCGrad's orders */
};

static const char *const names[] = {
#define BALANCE(id, name, needs, param) name,
#include "mtl_balance.def"
#undef BALANCE
};
static const int needs[] = {
#define LOSSES 0
#define GRADS 1
#define REP 2
#define BALANCE(id, name, needs, param) needs,
#include "mtl_balance.def"
#undef BALANCE
#undef LOSSES
#undef GRADS
#undef REP
};

int mtl_balance_needs(MtlBalanceKind k) { return needs[k]; }

const char *mtl_balance_name(MtlBalanceKind k) {
  if (k == MTL_BAL_MGDA_UB)
    return "mgda(on=)";
  return (int)k >= 0 && k < MTL_BAL_COUNT ? names[k] : "?";
}

MtlBalancer *mtl_balancer_new(const MtlModelInfo *m) {
  MtlBalancer *b = calloc(1, sizeof *b);
  int T = m->n_tasks;
  if (b) {
    b->bal = calloc((size_t)m->n_bal + 1, sizeof(float));
    b->work = calloc((size_t)MTL_SOLVE_WORK(T), sizeof(double));
  }
  if (!b || !b->bal || !b->work) {
    mtl_balancer_free(b);
    mtl_set_error("model %s: out of memory for its balancer", m->name);
    return NULL;
  }
  b->m = m;
  b->kind = m->balance;
  b->T = T;
  b->arg = m->balance_args;
  b->param = m->balance != MTL_BAL_STATIC && m->balance_param >= 0
                 ? &m->param_tensors[m->balance_param] : NULL;
  for (int t = 0; t < T; t++)
    b->nash[t] = 1, b->w[t] = m->tasks[t].weight;
  mtl_rng_seed(&b->rng, m->seed ^ BAL_STREAM);
  return b;
}

void mtl_balancer_free(MtlBalancer *b) {
  if (!b)
    return;
  free(b->bal);
  free(b->work);
  free(b);
}

const double *mtl_balance_weights(const MtlBalancer *b) { return b->w; }

void mtl_balance_epoch_end(MtlBalancer *b, const double *mean_loss) {
  for (int t = 0; t < b->T; t++) {
    b->hist[0][t] = b->hist[1][t];
    b->hist[1][t] = mean_loss[t];
    if (b->epochs == 0)
      b->first[t] = mean_loss[t];
  }
  b->epochs++;
}

/* ---- the methods ----------------------------------------------------------------- */

static double arg(const MtlBalancer *b, int i, double dflt) {
  return i < b->m->n_balance_args ? b->arg[i] : dflt;
}

/* out = n softmax(x) */
static void softmax(const double *x, int T, double n, double *out) {
  double mx = -INFINITY, s = 0;
  for (int t = 0; t < T; t++)
    mx = fmax(mx, x[t]);
  for (int t = 0; t < T; t++)
    s += out[t] = exp(x[t] - mx);
  for (int t = 0; t < T; t++)
    out[t] *= n / s;
}

/* the method's parameter, as double */
static void param_values(const MtlBalancer *b, const float *params, double *s) {
  for (int t = 0; t < b->T; t++)
    s[t] = params[b->param->offset + t];
}

/* Weights known before the step, and the seeds of the tasks' backward
 * passes. */
static void before(MtlBalancer *b, const MtlStep *st, double *w, double *seed) {
  int T = b->T;
  double s[MAXT];
  switch (b->kind) {
  case MTL_BAL_UNCERTAINTY: /* loss / (2 e^s) + s / 2 */
    param_values(b, st->params, s);
    for (int t = 0; t < T; t++)
      w[t] = 1 / (2 * exp(s[t]));
    break;
  case MTL_BAL_DWA: /* T softmax(r / temperature), r the last two epochs' ratio */
    if (b->epochs >= 2) {
      double r[MAXT] = {0};
      for (int t = 0; t < T; t++)
        r[t] = b->hist[1][t] / b->hist[0][t] / arg(b, 0, 2);
      softmax(r, T, T, w);
    }
    break;
  case MTL_BAL_RLW: { /* softmax of N(0, 1) draws */
    double z[MAXT] = {0};
    for (int t = 0; t < T; t++)
      z[t] = mtl_rng_normal(&b->rng);
    softmax(z, T, 1, w);
    break;
  }
  case MTL_BAL_IMTL: /* the tasks' losses scaled by e^s: their backward passes' seeds */
    param_values(b, st->params, s);
    for (int t = 0; t < T; t++)
      seed[t] = exp(s[t]);
    break;
  default:
    break;
  }
}

/* GradNorm (epochs after the first): weights T softmax(s); the gradient of
 * sum_t |w_t |g_t| - mean(w |g|) r_t^alpha| with respect to s, the second
 * term held constant; r_t the task's loss ratio to its first epoch's, over
 * their mean */
static void gradnorm(MtlBalancer *b, const float *losses, double *w, double *ds,
                     const float *params) {
  int T = b->T;
  double s[MAXT] = {0}, z[MAXT], nrm[MAXT], r[MAXT], sg[MAXT], gbar = 0, rbar = 0;
  param_values(b, params, s);
  softmax(s, T, 1, z);
  for (int t = 0; t < T; t++) {
    w[t] = T * z[t];
    nrm[t] = sqrt(fmax(b->G[t * T + t], 0));
    gbar += w[t] * nrm[t] / T;
    r[t] = losses[t] / b->first[t];
    rbar += r[t] / T;
  }
  double zsg = 0;
  for (int t = 0; t < T; t++) {
    double gap = w[t] * nrm[t] - gbar * pow(r[t] / rbar, arg(b, 0, 1.5));
    sg[t] = (gap > 0 ? 1 : gap < 0 ? -1 : 0) * nrm[t];
    zsg += z[t] * sg[t];
  }
  for (int k = 0; k < T; k++) /* through w = T softmax(s) */
    ds[k] = T * z[k] * (sg[k] - zsg);
}

/* FAMO's weights from the step's losses: z / (c D), D = loss + 1e-8,
 * z = softmax(logits), c = sum z / D */
static void famo_weights(MtlBalancer *b, const float *losses, double *w) {
  double z[MAXT], c = 0;
  softmax(b->famo_w, b->T, 1, z);
  for (int t = 0; t < b->T; t++)
    c += z[t] / ((double)losses[t] + 1e-8);
  for (int t = 0; t < b->T; t++)
    w[t] = z[t] / (c * ((double)losses[t] + 1e-8));
}

/* FAMO's logits after the update: the softmax's Jacobian times the drop in
 * log losses, one step of Adam (lr, L2 weight decay gamma, betas 0.9 and
 * 0.999, eps 1e-8: torch.optim.Adam's) */
static void famo_update(MtlBalancer *b, const float *before_, const float *after) {
  int T = b->T;
  double z[MAXT], delta[MAXT], zd = 0;
  double gamma = arg(b, 0, 0.01), lr = arg(b, 1, 0.025);
  softmax(b->famo_w, T, 1, z);
  for (int t = 0; t < T; t++) {
    delta[t] = log((double)before_[t] + 1e-8) - log((double)after[t] + 1e-8);
    zd += z[t] * delta[t];
  }
  b->famo_t++;
  double c1 = 1 - pow(0.9, (double)b->famo_t), c2 = 1 - pow(0.999, (double)b->famo_t);
  for (int t = 0; t < T; t++) {
    double g = z[t] * (delta[t] - zd) + gamma * b->famo_w[t];
    b->famo_m[t] = 0.9 * b->famo_m[t] + 0.1 * g;
    b->famo_v[t] = 0.999 * b->famo_v[t] + 0.001 * g * g;
    b->famo_w[t] -= lr / c1 * b->famo_m[t] / (sqrt(b->famo_v[t]) / sqrt(c2) + 1e-8);
  }
}

/* PCGrad: each task visits the others in a random order (Fisher-Yates,
 * as Python's random.shuffle) */
static void pcgrad(MtlBalancer *b, double *w) {
  int T = b->T, order[MAXT * MAXT];
  for (int i = 0; i < T; i++) {
    int *o = order + i * T;
    for (int k = 0; k < T; k++)
      o[k] = k;
    for (int k = T - 1; k > 0; k--) {
      int j = (int)mtl_rng_below(&b->rng, (uint64_t)k + 1), x = o[k];
      o[k] = o[j], o[j] = x;
    }
  }
  mtl_pcgrad_coefs(b->G, T, order, w);
}

/* CAGrad (rescale 1): g0 + lambda g_x over 1 + c^2, lambda = c |g0| / |g_x| */
static void cagrad(MtlBalancer *b, double *w) {
  int T = b->T;
  double ca = arg(b, 0, 0.5), mean = 0, x[MAXT];
  for (int i = 0; i < T * T; i++)
    mean += b->G[i] / (T * T);
  double c = ca * sqrt(mean + 1e-8) + 1e-8;
  mtl_cagrad_solve(b->G, T, c, x, b->work);
  double q = 0;
  for (int i = 0; i < T; i++)
    for (int j = 0; j < T; j++)
      q += x[i] * b->G[i * T + j] * x[j];
  double lambda = c / (sqrt(fmax(q, 0)) + 1e-8);
  for (int t = 0; t < T; t++)
    w[t] = (1.0 / T + lambda * x[t]) / (1 + ca * ca);
}

/* Nash-MTL: new weights every update_every steps, then the shared
 * gradient clipped to norm max_norm (clip_grad_norm_); the tasks' own
 * parameters get alpha unclipped */
static void nash(MtlBalancer *b, double *w, double *head) {
  int T = b->T;
  int64_t every = (int64_t)arg(b, 0, 1);
  double max_norm = arg(b, 2, 1.0);
  if (b->nash_step % (every > 0 ? every : 1) == 0)
    mtl_nash_solve(b->G, T, (int)arg(b, 1, 20), b->nash, b->work);
  b->nash_step++;
  double q = 0;
  for (int i = 0; i < T; i++)
    for (int j = 0; j < T; j++)
      q += b->nash[i] * b->G[i * T + j] * b->nash[j];
  double clip = max_norm > 0 ? fmin(1, max_norm / (sqrt(fmax(q, 0)) + 1e-6)) : 1;
  for (int t = 0; t < T; t++)
    head[t] = (float)b->nash[t], w[t] = (float)b->nash[t] * clip;
}

/* UPGrad: the Gramian over its trace (zero below norm_eps) plus reg_eps
 * I; each task's preference e_t / T projected, the projections summed */
static void upgrad(MtlBalancer *b, double *w) {
  int T = b->T;
  double norm_eps = arg(b, 0, 1e-4), reg_eps = arg(b, 1, 1e-4), tr = 0;
  double Q[MAXT * MAXT], u[MAXT], v[MAXT];
  for (int t = 0; t < T; t++)
    tr += b->G[t * T + t];
  for (int i = 0; i < T * T; i++)
    Q[i] = (tr < norm_eps ? 0 : b->G[i] / tr) + (i % (T + 1) == 0 ? reg_eps : 0);
  for (int t = 0; t < T; t++)
    w[t] = 0;
  for (int i = 0; i < T; i++) {
    for (int t = 0; t < T; t++)
      u[t] = t == i ? 1.0 / T : 0;
    if (mtl_box_qp(Q, u, T, v, b->work) < 0)
      memcpy(v, u, sizeof(double) * (size_t)T);
    for (int t = 0; t < T; t++)
      w[t] += v[t];
  }
}

/* The weights after train_begin, and the gradient of balance.loss_scale. */
static void after(MtlBalancer *b, const MtlStep *st, double *w, const double *seed,
                  double *head) {
  int T = b->T;
  const float *L = st->losses;
  double ds[MAXT] = {0};
  switch (b->kind) {
  case MTL_BAL_UNCERTAINTY: /* d/ds of L e^-s / 2 + s / 2 */
    for (int t = 0; t < T; t++)
      ds[t] = 0.5 - w[t] * L[t];
    break;
  case MTL_BAL_GLS: { /* (prod L)^(1/T): its gradient weights L_t by mean / (T L_t) */
    double lg = 0;
    for (int t = 0; t < T; t++)
      lg += log((double)L[t]) / T;
    for (int t = 0; t < T; t++)
      w[t] = exp(lg) / (T * (double)L[t]);
    break;
  }
  case MTL_BAL_FAMO: famo_weights(b, L, w); break;
  case MTL_BAL_GRADNORM:
    if (b->epochs >= 1)
      gradnorm(b, L, w, ds, st->params);
    break;
  case MTL_BAL_MGDA: case MTL_BAL_MGDA_UB: mtl_mgda_solve(b->G, T, NULL, w, b->work); break;
  case MTL_BAL_PCGRAD: pcgrad(b, w); break;
  case MTL_BAL_CAGRAD: cagrad(b, w); break;
  case MTL_BAL_IMTL: /* d/ds of e^s L - s */
    if (mtl_imtl_solve(b->G, T, w, b->work) < 0)
      for (int t = 0; t < T; t++)
        w[t] = 1.0 / T;
    for (int t = 0; t < T; t++)
      ds[t] = seed[t] * L[t] - 1;
    break;
  case MTL_BAL_ALIGNED_MTL: mtl_aligned_solve(b->G, T, w, b->work); break;
  case MTL_BAL_NASH_MTL: nash(b, w, head); break;
  case MTL_BAL_UPGRAD: upgrad(b, w); break;
  default: break;
  }
  if (b->param)
    for (int t = 0; t < T; t++)
      st->grads[b->param->offset + t] = (float)ds[t];
}

/* ---- a step ------------------------------------------------------------------------------- */

static bool finite_losses(const MtlBalancer *b, const MtlStep *st, const float *L, const char *when) {
  for (int t = 0; t < b->T; t++)
    if (!isfinite(L[t])) {
      mtl_set_error("step %" PRId64 " (epoch %" PRId64 "): the loss of task '%s' is %s%s; "
                    "training stops%s", st->step, st->epoch + 1, b->m->tasks[t].name,
                    isnan(L[t]) ? "nan" : L[t] > 0 ? "inf" : "-inf", when,
                    b->kind == MTL_BAL_STATIC ? "" : " before the update");
      return false;
    }
  return true;
}

bool mtl_balance_step(MtlBalancer *b, const MtlStep *st) {
  return mtl_balance_step_hooked(b, st, NULL);
}

bool mtl_balance_step_hooked(MtlBalancer *b, const MtlStep *st, const MtlBalanceHooks *hk) {
  const MtlModelInfo *m = b->m;
  int T = b->T;
  float *h = st->hyper;
  double w[MAXT], seed[MAXT], head[MAXT];
  for (int t = 0; t < T; t++)
    w[t] = b->kind == MTL_BAL_STATIC ? m->tasks[t].weight : 1, seed[t] = head[t] = 1;
  before(b, st, w, seed);
  for (int t = 0; t < T; t++) { /* hyper[] has n_hyper floats, perhaps no task's */
    if (MTL_HYPER_TASKS + t < m->n_hyper)
      h[MTL_HYPER_TASKS + t] = (float)w[t];
    if (MTL_HYPER_TASKS + T + t < m->n_hyper)
      h[MTL_HYPER_TASKS + T + t] = (float)seed[t];
  }
  if (b->kind == MTL_BAL_STATIC) {
    memcpy(b->w, w, sizeof(double) * (size_t)T);
    if (!m->grad_step || !m->update_step) {
      m->train_step(st->params, st->grads, st->state, st->stats, st->act, st->data, st->B, h,
                    st->seed, st->losses);
      return finite_losses(b, st, st->losses, " (after its update)");
    }
    /* train_step in its two halves, bit for bit: a loss that is not finite
     * stops the step before its update */
    m->grad_step(st->params, st->grads, st->state, st->stats, st->act, st->data, st->B, h,
                 st->seed, st->losses);
    if (!finite_losses(b, st, st->losses, ""))
      return false;
    m->update_step(st->params, st->grads, st->state, st->stats, st->act, st->data, st->B, h,
                   st->seed, st->losses);
    return true;
  }
  /* a rank's share of a small last batch may be empty: it runs too, for
   * the batchnorm sums every rank takes part in (mtl_sync) */
  m->train_begin(st->params, st->grads, st->state, st->stats, st->act, st->data, st->B, h,
                 st->seed, st->losses, b->bal);
  if (hk && !hk->losses(hk->ctx, st->losses))
    return false;
  if (!finite_losses(b, st, st->losses, ""))
    return false;
  if (needs[b->kind] != 0) {
    if (hk && !hk->gram(hk->ctx, st, b->bal))
      return false;
    for (int i = 0; i < T * T; i++)
      b->G[i] = b->bal[i];
    for (int t = 0; t < T; t++)
      if (!isfinite(b->G[t * T + t])) {
        mtl_set_error("step %" PRId64 " (epoch %" PRId64 "): the gradient of task '%s' is "
                      "not finite; training stops before the update", st->step, st->epoch + 1,
                      m->tasks[t].name);
        return false;
      }
  }
  after(b, st, w, seed, head);
  for (int t = 0; t < T; t++) {
    if (!isfinite(w[t])) {
      mtl_set_error("step %" PRId64 " (epoch %" PRId64 "): balance %s gave task '%s' a weight "
                    "that is not finite; training stops before the update", st->step,
                    st->epoch + 1, mtl_balance_name(b->kind), m->tasks[t].name);
      return false;
    }
    if (MTL_HYPER_TASKS + t < m->n_hyper)
      h[MTL_HYPER_TASKS + t] = (float)w[t];
    if (MTL_HYPER_TASKS + 2 * T + t < m->n_hyper)
      h[MTL_HYPER_TASKS + 2 * T + t] = (float)head[t];
    b->w[t] = (double)(float)w[t] * (double)(float)seed[t];
  }
  if (hk) {
    if (!hk->finish(hk->ctx, st))
      return false;
  } else {
    m->train_end(st->params, st->grads, st->state, st->stats, st->act, st->data, st->B, h,
                 st->seed, st->losses, b->bal);
  }
  if (b->kind == MTL_BAL_FAMO) { /* the same batch's losses after the update */
    m->train_begin(st->params, st->grads, st->state, st->stats, st->act, st->data, st->B, h,
                   st->seed, b->later, b->bal);
    if (hk && !hk->losses(hk->ctx, b->later))
      return false;
    if (!finite_losses(b, st, b->later, " after its update"))
      return false;
    famo_update(b, st->losses, b->later);
  }
  return true;
}

/* ---- checkpoints ------------------------------------------------------------------------------ */

static uint64_t bits(double x) {
  uint64_t u;
  memcpy(&u, &x, 8);
  return u;
}

static double real(uint64_t u) {
  double x;
  memcpy(&x, &u, 8);
  return x;
}

/* [kind, T, epochs, famo_t, nash_step, rng x4, then T each of hist[0],
 * hist[1], first, famo_w, famo_m, famo_v, nash] */
int mtl_balance_save(const MtlBalancer *b, uint64_t *words) {
  int T = b->T, n = 0;
  words[n++] = (uint64_t)b->kind, words[n++] = (uint64_t)T, words[n++] = (uint64_t)b->epochs;
  words[n++] = (uint64_t)b->famo_t, words[n++] = (uint64_t)b->nash_step;
  for (int i = 0; i < 4; i++)
    words[n++] = b->rng.s[i];
  const double *arrays[7] = {b->hist[0], b->hist[1], b->first, b->famo_w, b->famo_m, b->famo_v,
                             b->nash};
  for (int a = 0; a < 7; a++)
    for (int t = 0; t < T; t++)
      words[n++] = bits(arrays[a][t]);
  return n;
}

bool mtl_balance_load(MtlBalancer *b, const uint64_t *words, int n, const char *path) {
  int T = b->T;
  if (n != 9 + 7 * T || words[0] != (uint64_t)b->kind || words[1] != (uint64_t)T) {
    mtl_set_error("%s: the balancing state is not balance %s's for %d tasks; it cannot resume "
                  "this model", path, mtl_balance_name(b->kind), T);
    return false;
  }
  b->epochs = (int64_t)words[2], b->famo_t = (int64_t)words[3], b->nash_step = (int64_t)words[4];
  for (int i = 0; i < 4; i++)
    b->rng.s[i] = words[5 + i];
  double *arrays[7] = {b->hist[0], b->hist[1], b->first, b->famo_w, b->famo_m, b->famo_v, b->nash};
  for (int a = 0; a < 7; a++)
    for (int t = 0; t < T; t++)
      arrays[a][t] = real(words[9 + a * T + t]);
  return true;
}
