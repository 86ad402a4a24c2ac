/* graph/gradcheck.c: `mtlc check-grad`. Random parameters (PyTorch's
 * default initialization, seeded) and a random batch with labels valid for
 * each task; every parameter tensor's gradient from the IR (autodiff, run
 * by the interpreter in double) against central differences of a scalar
 * root (the total loss, or any objective), eps 1e-6. An element passes when |analytic - numeric| <= 1e-5 + 1e-3
 * |numeric| (PyTorch's gradcheck tolerances). Large tensors are sampled:
 * `samples` elements each (0: every element). */
#include "graph/graph.h"
#include "mtl_balance.h"

#include <math.h>
#include <string.h>

#define EPS 1e-6
#define ATOL 1e-5
#define RTOL 1e-3

static double root_value(Interp *I, Node *root) {
  interp_forward(I);
  return interp_scalar(I, root);
}

/* Checks the parameters in params, whose values are set: forward and
 * backward once, then central differences per checked element. */
int gradcheck_params(Interp *I, Node *root, Vec *params, Vec *grads, int samples, uint64_t seed,
                     bool quiet) {
  Graph *g = I->g;
  interp_run(I, 0, g->update_start); /* forward and backward; no update */
  if (!quiet)
    printf("%-36s %-16s %8s %12s %12s %12s\n", "parameter", "shape", "checked",
           "max |grad|", "max abs err", "max rel err");
  bool all_ok = true;
  Rng r;
  rng_seed(&r, seed);
  for (int i = 0; i < params->len; i++) {
    Node *p = params->data[i], *dp = grads->data[i];
    int64_t n = node_numel(p, I->batch);
    double *val = I->val[p->id];
    double *ana = malloc(sizeof(double) * (size_t)n);
    for (int64_t k = 0; k < n; k++)
      ana[k] = dp ? I->val[dp->id][k] : 0;
    int64_t count = samples <= 0 || n <= samples ? n : samples;
    double max_grad = 0, max_abs = 0, max_rel = 0;
    bool ok = true;
    for (int64_t c = 0; c < count; c++) {
      int64_t k = count == n ? c : (int64_t)(rng_next(&r) % (uint64_t)n);
      double orig = val[k];
      val[k] = orig + EPS;
      double lp = root_value(I, root);
      val[k] = orig - EPS;
      double lm = root_value(I, root);
      val[k] = orig;
      double num = (lp - lm) / (2 * EPS), err = fabs(ana[k] - num);
      double scale = fmax(fabs(num), fabs(ana[k]));
      double rel = scale > 0 ? err / scale : 0;
      max_grad = fmax(max_grad, fabs(ana[k]));
      max_abs = fmax(max_abs, err);
      max_rel = fmax(max_rel, rel);
      if (!(err <= ATOL + RTOL * fabs(num)))
        ok = false;
    }
    free(ana);
    all_ok &= ok;
    if (!quiet) {
      char shape[64] = "[";
      if (p->batched)
        strcat(shape, p->shape.rank ? "B, " : "B");
      for (int d = 0; d < p->shape.rank; d++)
        snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%lld",
                 d ? ", " : "", (long long)p->shape.d[d]);
      strcat(shape, "]");
      printf("%-36s %-16s %8lld %12.3e %12.3e %12.3e%s\n", p->name, shape,
             (long long)count, max_grad, max_abs, max_rel, ok ? "" : "  FAIL");
    }
  }
  interp_forward(I); /* leave the values as they were */
  return all_ok ? 0 : 1;
}

int gradcheck_root(Interp *I, Node *root, Vec *grads, int samples, uint64_t seed, bool quiet) {
  return gradcheck_params(I, root, &I->g->params, grads, samples, seed, quiet);
}

/* The values after x are computed again from x's perturbed elements;
 * those before it stay. */
int gradcheck_value(Interp *I, Node *root, Node *x, Node *dx, int samples, uint64_t seed,
                    bool quiet) {
  Graph *g = I->g;
  interp_run(I, 0, g->update_start);
  int64_t n = node_numel(x, I->batch);
  double *val = I->val[x->id], *ana = I->val[dx->id];
  int64_t count = samples <= 0 || n <= samples ? n : samples;
  double max_abs = 0, max_rel = 0;
  bool ok = true;
  Rng r;
  rng_seed(&r, seed);
  for (int64_t c = 0; c < count; c++) {
    int64_t k = count == n ? c : (int64_t)(rng_next(&r) % (uint64_t)n);
    double orig = val[k];
    val[k] = orig + EPS;
    interp_run(I, x->id + 1, g->nforward);
    double lp = interp_scalar(I, root);
    val[k] = orig - EPS;
    interp_run(I, x->id + 1, g->nforward);
    double lm = interp_scalar(I, root);
    val[k] = orig;
    double num = (lp - lm) / (2 * EPS), err = fabs(ana[k] - num);
    double scale = fmax(fabs(num), fabs(ana[k]));
    max_abs = fmax(max_abs, err);
    max_rel = fmax(max_rel, scale > 0 ? err / scale : 0);
    if (!(err <= ATOL + RTOL * fabs(num)))
      ok = false;
  }
  interp_forward(I);
  if (!quiet)
    printf("%-36s %-16s %8lld %12s %12.3e %12.3e%s\n", x->where ? x->where : "value",
           "(activation)", (long long)count, "", max_abs, max_rel, ok ? "" : "  FAIL");
  return ok ? 0 : 1;
}

int gradcheck_run(Interp *I, int samples, uint64_t seed, bool quiet) {
  return gradcheck_root(I, I->g->total, &I->g->grads, samples, seed, quiet);
}

/* whether the balancing weights apply to p's gradient: every parameter's
 * under a method that weighs losses (and Nash-MTL's); the shared ones' under
 * one that combines gradients; under mgda(on=) those before the block's
 * output, which no task's own pass reaches. The others get their own
 * task's gradient, checked with the tasks' passes. */
static bool weighted(Graph *g, Node *p) {
  int need = mtl_balance_needs(g->m->balance.kind);
  if (p->share == SHARE_BALANCE)
    return false; /* its gradient is the runtime's */
  if (need == 0 || g->m->balance.kind == MTL_BAL_NASH_MTL)
    return true;
  if (need == 1)
    return p->share == SHARE_SHARED;
  for (int t = 0; t < g->m->tasks.len; t++)
    if (grad_of(g->task_grads[t], p))
      return false;
  return true;
}

/* Under a balance method other than static: the combined gradients
 * against the total's, with weights apart from 1 (seeds 1; Nash-MTL's own
 * parameters' weights the same weights), then each task's own backward
 * pass: its gradients of the parameters it reaches, and with mgda(on=) of
 * the block's output. */
static int check_balanced(Interp *I, int samples, uint64_t seed, bool quiet) {
  Graph *g = I->g;
  Model *m = g->m;
  int T = m->tasks.len, need = mtl_balance_needs(m->balance.kind), rc = 0;
  for (int t = 0; t < T; t++) {
    double w = 0.5 + (double)t / T;
    I->hyper[MTL_HYPER_TASKS + t] = I->hyper[MTL_HYPER_TASKS + 2 * T + t] = w;
    I->hyper[MTL_HYPER_TASKS + T + t] = 1;
  }
  Vec params = {0}, grads = {0};
  for (int i = 0; i < g->params.len; i++) {
    Node *p = g->params.data[i];
    if (weighted(g, p))
      vec_push(g->a, &params, p), vec_push(g->a, &grads, g->grads.data[i]);
  }
  if (!quiet)
    printf("the combined gradients, of the total:\n");
  rc |= gradcheck_params(I, g->total, &params, &grads, samples, seed, quiet);
  for (int t = 0; need && t < T; t++) {
    Node *loss = g->losses.data[t];
    Vec pt = {0}, gt = {0};
    for (int i = 0; i < g->params.len; i++) {
      Node *p = g->params.data[i], *d = grad_of(g->task_grads[t], p);
      if (p->share == SHARE_BALANCE)
        continue;
      if (d || need == 1) /* mgda(on=): the trunk is the combined pass's */
        vec_push(g->a, &pt, p), vec_push(g->a, &gt, d);
    }
    if (!quiet)
      printf("task %s's own backward pass:\n", ((Task *)m->tasks.data[t])->name);
    rc |= gradcheck_params(I, loss, &pt, &gt, samples, seed + 1 + (uint64_t)t, quiet);
    if (need == 2)
      rc |= gradcheck_value(I, loss, g->rep, grad_of(g->task_grads[t], g->rep), samples,
                            seed + 1 + (uint64_t)t, quiet);
  }
  return rc;
}

int check_grad(Model *m, uint64_t seed, int64_t batch, int samples, bool quiet) {
  Arena *a = arena_new();
  Graph *g = lower(a, m, true);
  bool balanced = m->balance.kind != MTL_BAL_STATIC;
  if (balanced)
    balance_autodiff(g);
  else
    autodiff(g);
  Interp *I = interp_new(g, batch);
  interp_init_params(I, seed);
  interp_random_batch(I, seed + 1);
  I->step_seed = seed + 2;
  int rc = balanced ? check_balanced(I, samples, seed + 3, quiet)
                    : gradcheck_run(I, samples, seed + 3, quiet);
  if (!quiet)
    printf("%s: %d parameter tensors, batch %lld, seed %llu, eps %g, atol %g, "
           "rtol %g%s%s\n", rc ? "FAILED" : "ok", g->params.len, (long long)batch,
           (unsigned long long)seed, EPS, ATOL, RTOL, balanced ? ", balance " : "",
           balanced ? balance_text(a, &m->balance) : "");
  interp_free(I);
  arena_free(a);
  return rc;
}
