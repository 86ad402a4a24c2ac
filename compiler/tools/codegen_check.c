/* codegen_check.c: `mtlc check-codegen`. Generated code (float) against the
 * reference interpreter (double) on the same parameters, the same random
 * batch and the same dropout masks: per-task outputs (eval and forward),
 * per-task losses, every parameter's gradient, and every parameter and
 * optimizer state after one update. A tensor agrees when its largest
 * difference is at most 1e-4 of its largest magnitude. */
#include "tools/tools.h"

#include <math.h>
#include <string.h>

#define RTOL 1e-4

typedef struct {
  bool ok, quiet;
} Report;

static void compare(Report *r, const char *what, const float *got, const double *want,
                    int64_t n) {
  double diff = 0, mag = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)got[i] - want[i]);
    diff = d > diff || isnan(d) ? d : diff;
    mag = fmax(mag, fabs(want[i]));
  }
  double rel = mag > 0 ? diff / mag : diff;
  bool ok = rel <= RTOL || (mag < 1e-30 && diff < 1e-30);
  r->ok &= ok;
  if (!r->quiet || !ok)
    printf("%-44s %10lld %12.3e %12.3e%s\n", what, (long long)n, mag, rel, ok ? "" : "  FAIL");
}

/* the C code's data[] from the interpreter's batch (inputs rounded to float
 * first, so that both see the same numbers) */
static void **make_data(Module *mod, Interp *I, int64_t B) {
  void **data = xcalloc((size_t)mod->data.len, sizeof(void *));
  for (int i = 0; i < mod->data.len; i++) {
    Node *x = mod->data.data[i];
    Buf *b = mod->train->buf[x->id];
    int64_t n = node_numel(x, B);
    double *v = I->val[x->id];
    if (b->is_int) {
      int32_t *d = xcalloc((size_t)n, sizeof(int32_t));
      for (int64_t k = 0; k < n; k++)
        d[k] = (int32_t)v[k];
      data[i] = d;
    } else {
      float *d = xcalloc((size_t)n, sizeof(float));
      for (int64_t k = 0; k < n; k++)
        v[k] = d[k] = (float)v[k];
      data[i] = d;
    }
  }
  return data;
}

/* the interpreter's parameters from the generated init */
static void load_params(Module *mod, Program *p, Interp *I, const float *params) {
  for (int i = 0; i < p->g->params.len; i++) {
    Node *x = p->g->params.data[i];
    Buf *b = p->buf[x->id];
    for (int64_t k = 0; k < b->size; k++)
      I->val[x->id][k] = params[b->offset + k];
  }
  (void)mod;
}

static void copy_data(Module *mod, Interp *from, Interp *to) {
  Graph *g = to->g;
  for (int pass = 0; pass < 2; pass++) {
    Vec *v = pass ? &g->labels : &g->inputs;
    Vec *w = pass ? &from->g->labels : &from->g->inputs;
    for (int i = 0; i < v->len; i++) {
      Node *x = v->data[i], *y = w->data[i];
      memcpy(to->val[x->id], from->val[y->id], sizeof(double) * (size_t)node_numel(x, to->batch));
    }
  }
  (void)mod;
}

int check_codegen(Module *mod, const MtlModelInfo *info, uint64_t seed, bool quiet) {
  Model *m = mod->m;
  int64_t B = mod->batch_max, T = m->tasks.len;
  Report r = {true, quiet};
  float *params = xcalloc((size_t)mod->n_params + 1, sizeof(float));
  float *params0 = xcalloc((size_t)mod->n_params + 1, sizeof(float));
  float *grads = xcalloc((size_t)mod->n_params + 1, sizeof(float));
  float *state = xcalloc((size_t)mod->n_state + 1, sizeof(float));
  float *act = xcalloc((size_t)mod->n_act + 1, sizeof(float));
  float *losses = xcalloc((size_t)T, sizeof(float));
  float **outs = xcalloc((size_t)T, sizeof(float *)), **outs2 = xcalloc((size_t)T, sizeof(float *));
  for (int t = 0; t < T; t++) {
    Task *task = m->tasks.data[t];
    outs[t] = xcalloc((size_t)(B * task->out.d[0]), sizeof(float));
    outs2[t] = xcalloc((size_t)(B * task->out.d[0]), sizeof(float));
  }
  info->init(params, seed);
  memcpy(params0, params, sizeof(float) * (size_t)mod->n_params);

  /* train step */
  Interp *I = interp_new(mod->train->g, B);
  load_params(mod, mod->train, I, params);
  interp_random_batch(I, seed + 1);
  void **data = make_data(mod, I, B);
  Optimizer *o = &m->train.opt;
  float hyper[3] = {(float)o->lr, (float)(1 - o->beta1), (float)(1 - o->beta2)};
  I->step_seed = seed + 2;
  I->lr = hyper[0];
  interp_step(I);
  info->train_step(params, grads, state, act, (const void *const *)data, B, hyper, seed + 2, losses);

  if (!quiet)
    printf("%-44s %10s %12s %12s\n", "tensor", "elements", "max |ref|", "rel diff");
  Graph *g = mod->train->g;
  for (int t = 0; t < T; t++) {
    Node *l = g->losses.data[t];
    compare(&r, arena_printf(mod->a, "train loss of %s", ((Task *)m->tasks.data[t])->name),
            &losses[t], I->val[l->id], 1);
  }
  for (int i = 0; i < g->params.len; i++) {
    Node *p = g->params.data[i], *dp = g->grads.data[i];
    Buf *b = mod->train->buf[p->id];
    if (dp)
      compare(&r, arena_printf(mod->a, "gradient of %s", p->name), grads + b->offset,
              I->val[dp->id], b->size);
  }
  for (int i = 0; i < g->params.len; i++) {
    Node *p = g->params.data[i];
    Buf *b = mod->train->buf[p->id];
    compare(&r, arena_printf(mod->a, "%s after one step", p->name), params + b->offset,
            I->val[p->id], b->size);
  }
  for (int i = 0; i < g->states.len; i++) {
    Node *s = g->states.data[i];
    Buf *b = mod->train->buf[s->id];
    compare(&r, arena_printf(mod->a, "%s after one step", s->name), state + b->offset,
            I->val[s->id], b->size);
  }

  /* evaluation and inference, from the initial parameters */
  Interp *E = interp_new(mod->eval->g, B);
  load_params(mod, mod->eval, E, params0);
  copy_data(mod, I, E);
  interp_forward(E);
  info->eval_step(params0, act, (const void *const *)data, B, losses, outs);
  info->forward(params0, act, (const float *const *)data, B, outs2);
  for (int t = 0; t < T; t++) {
    Task *task = m->tasks.data[t];
    Node *out = mod->eval->g->outputs.data[t], *loss = mod->eval->g->losses.data[t];
    int64_t n = B * task->out.d[0];
    compare(&r, arena_printf(mod->a, "eval output of %s", task->name), outs[t], E->val[out->id], n);
    compare(&r, arena_printf(mod->a, "forward output of %s", task->name), outs2[t], E->val[out->id], n);
    compare(&r, arena_printf(mod->a, "eval loss of %s", task->name), &losses[t], E->val[loss->id], 1);
  }
  if (!quiet)
    printf("%s: generated code against the interpreter, batch %lld, seed %llu, rtol %g\n",
           r.ok ? "ok" : "FAILED", (long long)B, (unsigned long long)seed, RTOL);
  for (int i = 0; i < mod->data.len; i++)
    free(data[i]);
  for (int t = 0; t < T; t++)
    free(outs[t]), free(outs2[t]);
  free(data), free(outs), free(outs2);
  free(params), free(params0), free(grads), free(state), free(act), free(losses);
  interp_free(I);
  interp_free(E);
  return r.ok ? 0 : 1;
}
