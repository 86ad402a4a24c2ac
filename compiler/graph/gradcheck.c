/* graph/gradcheck.c: `mtlc check-grad`. Random parameters (PyTorch's
 * default initialization, seeded) and a random batch with labels valid for
 * each task; every parameter tensor's gradient from the IR (autodiff, run
 * by the interpreter in double) against central differences of a scalar
 * root (the total loss, or any objective), eps 1e-6. An element passes when |analytic - numeric| <= 1e-5 + 1e-3
 * |numeric| (PyTorch's gradcheck tolerances). Large tensors are sampled:
 * `samples` elements each (0: every element). */
#include "graph/graph.h"

#include <math.h>
#include <string.h>

#define EPS 1e-6
#define ATOL 1e-5
#define RTOL 1e-3

static double root_value(Interp *I, Node *root) {
  interp_forward(I);
  return interp_scalar(I, root);
}

/* Checks every parameter of I's graph, whose values are set: forward and
 * backward once, then central differences per checked element. */
int gradcheck_root(Interp *I, Node *root, Vec *grads, int samples, uint64_t seed, bool quiet) {
  Graph *g = I->g;
  interp_run(I, 0, g->update_start); /* forward and backward; no update */
  if (!quiet)
    printf("%-36s %-16s %8s %12s %12s %12s\n", "parameter", "shape", "checked",
           "max |grad|", "max abs err", "max rel err");
  bool all_ok = true;
  Rng r;
  rng_seed(&r, seed);
  for (int i = 0; i < g->params.len; i++) {
    Node *p = g->params.data[i], *dp = grads->data[i];
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

int gradcheck_run(Interp *I, int samples, uint64_t seed, bool quiet) {
  return gradcheck_root(I, I->g->total, &I->g->grads, samples, seed, quiet);
}

int check_grad(Model *m, uint64_t seed, int64_t batch, int samples, bool quiet) {
  Arena *a = arena_new();
  Graph *g = lower(a, m, true);
  autodiff(g);
  Interp *I = interp_new(g, batch);
  interp_init_params(I, seed);
  interp_random_batch(I, seed + 1);
  I->step_seed = seed + 2;
  int rc = gradcheck_run(I, samples, seed + 3, quiet);
  if (!quiet)
    printf("%s: %d parameter tensors, batch %lld, seed %llu, eps %g, atol %g, "
           "rtol %g\n", rc ? "FAILED" : "ok", g->params.len, (long long)batch,
           (unsigned long long)seed, EPS, ATOL, RTOL);
  interp_free(I);
  arena_free(a);
  return rc;
}
