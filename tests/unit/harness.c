/* harness.c: runs a generated model's entry points on random data, with
 * every buffer allocated at exactly its declared size, so that
 * AddressSanitizer and UndefinedBehaviorSanitizer see any access out of
 * bounds or any undefined operation in the generated code. Built by
 * tests/t_codegen.sh with -DMODEL_HEADER and -DMODEL_INFO. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "mtl_kernel.h"
#include MODEL_HEADER

static void *alloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size);
  if (!p)
    abort();
  return p;
}

static int run(const MtlModelInfo *m, int64_t B, uint64_t seed) {
  MtlRng r;
  mtl_rng_seed(&r, seed);
  float *params = alloc((size_t)m->n_params, sizeof(float));
  float *grads = alloc((size_t)m->n_params, sizeof(float));
  float *state = alloc((size_t)m->n_state, sizeof(float));
  float *stats = alloc((size_t)m->n_stats, sizeof(float));
  float *hyper = alloc((size_t)m->n_hyper, sizeof(float));
  float *act = alloc((size_t)m->n_act, sizeof(float));
  float *losses = alloc((size_t)(m->n_tasks + m->n_regs), sizeof(float)); /* tasks, then regularizers */
  void **data = alloc((size_t)(m->n_inputs + m->n_labels), sizeof(void *));
  float **outs = alloc((size_t)m->n_tasks, sizeof(float *));
  for (int i = 0; i < m->n_inputs; i++) {
    float *x = alloc((size_t)(B * m->inputs[i].numel), sizeof(float));
    for (int64_t k = 0; k < B * m->inputs[i].numel; k++)
      x[k] = m->inputs[i].dtype == MTL_F32 ? (float)mtl_rng_normal(&r) : 0;
    data[i] = x;
  }
  for (int i = 0; i < m->n_labels; i++) {
    const MtlLabelInfo *l = &m->labels[i];
    if (l->kind == MTL_LABEL_REAL) {
      float *y = alloc((size_t)(B * l->width), sizeof(float));
      for (int64_t k = 0; k < B * l->width; k++)
        y[k] = (float)mtl_rng_normal(&r);
      data[m->n_inputs + i] = y;
    } else {
      int32_t *y = alloc((size_t)B, sizeof(int32_t));
      for (int64_t k = 0; k < B; k++)
        y[k] = (int32_t)mtl_rng_below(&r, (uint64_t)(l->kind == MTL_LABEL_BINARY ? 2 : l->width));
      data[m->n_inputs + i] = y;
    }
  }
  for (int t = 0; t < m->n_tasks; t++)
    outs[t] = alloc((size_t)(B * m->tasks[t].width), sizeof(float));
  m->init(params, stats, seed);
  int bad = 0;
  for (int64_t step = 1; step <= 2; step++) {
    hyper[MTL_HYPER_LR] = (float)m->lr;
    hyper[MTL_HYPER_C1] = (float)(1 - pow(m->beta1, (double)step));
    hyper[MTL_HYPER_C2] = (float)(1 - pow(m->beta2, (double)step));
    for (int t = 0; t < m->n_tasks && MTL_HYPER_TASKS + t < m->n_hyper; t++)
      hyper[MTL_HYPER_TASKS + t] = (float)m->tasks[t].weight;
    m->train_step(params, grads, state, stats, act, (const void *const *)data, B, hyper,
                  seed + (uint64_t)step, losses);
    for (int t = 0; t < m->n_tasks + m->n_regs; t++)
      bad |= !isfinite(losses[t]);
  }
  m->eval_step(params, stats, act, (const void *const *)data, B, losses, outs);
  m->forward(params, stats, act, (const void *const *)data, B, outs);
  for (int t = 0; t < m->n_tasks; t++)
    bad |= !isfinite(losses[t]) || !isfinite(outs[t][0]);
  for (int i = 0; i < m->n_inputs + m->n_labels; i++)
    free(data[i]);
  for (int t = 0; t < m->n_tasks; t++)
    free(outs[t]);
  free(data), free(outs), free(params), free(grads), free(state), free(stats), free(hyper);
  free(act), free(losses);
  return bad;
}

int main(void) {
  const MtlModelInfo *m = &MODEL_INFO;
  int bad = run(m, m->batch_max, 1) | run(m, 1, 2);
  printf("%s\n", bad ? "non-finite loss or output" : "ok");
  return bad;
}
