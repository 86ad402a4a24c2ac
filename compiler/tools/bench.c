/* bench.c: `mtlc bench`, the measurements bench/run.sh collects. Training
 * throughput (forward, backward, update on a random batch already in
 * memory) or inference latency, each as several timed repetitions after a
 * warm-up, printed as one JSON object with the medians; peak resident
 * memory of this process; compile time. With --dump DIR it also writes the
 * initial parameters (a checkpoint), one input batch and the model's
 * outputs on it, so that peers can be checked against the same numbers.
 * It measures; it asserts nothing. */
#include "tools/tools.h"
#include "mtl_dist.h"

#include <math.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void *alloc(size_t n) {
  void *p = xcalloc(n, 1);
  return p;
}

static bool write_raw(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  bool ok = f && fwrite(p, 1, n, f) == n;
  if (f)
    ok &= fclose(f) == 0;
  if (!ok)
    fprintf(stderr, "mtlc: cannot write '%s'\n", path);
  return ok;
}

int run_bench(Model *m, const MtlModelInfo *info, const BenchOpts *o) {
  int64_t B = info->batch_max;
  MtlRng r;
  mtl_rng_seed(&r, 7);
  mtl_set_threads(o->threads);
  float *params = alloc(sizeof(float) * (size_t)info->n_params);
  float *grads = alloc(sizeof(float) * (size_t)info->n_params);
  float *state = alloc(sizeof(float) * (size_t)info->n_state);
  float *stats = alloc(sizeof(float) * (size_t)info->n_stats);
  float *hyper = alloc(sizeof(float) * (size_t)info->n_hyper);
  float *act = alloc(sizeof(float) * (size_t)info->n_act);
  float *losses = alloc(sizeof(float) * (size_t)(info->n_tasks + info->n_regs));
  void **data = alloc(sizeof(void *) * (size_t)(info->n_inputs + info->n_labels));
  float **outs = alloc(sizeof(float *) * (size_t)info->n_tasks);
  for (int i = 0; i < info->n_inputs; i++) {
    const MtlInputInfo *in = &info->inputs[i];
    float *x = alloc(sizeof(float) * (size_t)(B * in->numel));
    int32_t *ids = (int32_t *)x; /* i32: ids uniform in [0, vocab) */
    for (int64_t k = 0; k < B * in->numel; k++)
      if (in->dtype == MTL_I32)
        ids[k] = (int32_t)mtl_rng_below(&r, (uint64_t)(in->vocab > 0 ? in->vocab : 1));
      else
        x[k] = (float)mtl_rng_normal(&r);
    data[i] = x;
  }
  for (int i = 0; i < info->n_labels; i++) {
    const MtlLabelInfo *l = &info->labels[i];
    if (l->kind == MTL_LABEL_REAL) {
      float *y = alloc(sizeof(float) * (size_t)(B * l->width));
      for (int64_t k = 0; k < B * l->width; k++)
        y[k] = (float)mtl_rng_normal(&r);
      data[info->n_inputs + i] = y;
    } else {
      int32_t *y = alloc(sizeof(int32_t) * (size_t)B);
      for (int64_t k = 0; k < B; k++)
        y[k] = (int32_t)mtl_rng_below(&r, (uint64_t)(l->kind == MTL_LABEL_BINARY ? 2 : l->width));
      data[info->n_inputs + i] = y;
    }
  }
  for (int t = 0; t < info->n_tasks; t++)
    outs[t] = alloc(sizeof(float) * (size_t)(B * info->tasks[t].width));
  info->init(params, stats, 1);

  if (o->dump) {
    MtlCkptMeta meta = {0};
    bool ok = mtl_ckpt_save(arena_printf(o->arena, "%s/params.safetensors", o->dump),
                            info, params, state, stats, &meta);
    if (!ok) {
      fprintf(stderr, "mtlc: %s\n", mtl_error());
      return 1;
    }
    info->forward(params, stats, act, (const void *const *)data, B, outs);
    ok = write_raw(arena_printf(o->arena, "%s/input.f32", o->dump), data[0],
                   sizeof(float) * (size_t)(B * info->inputs[0].numel));
    for (int t = 0; t < info->n_tasks && ok; t++)
      ok = write_raw(arena_printf(o->arena, "%s/output_%s.f32", o->dump, info->tasks[t].name),
                     outs[t], sizeof(float) * (size_t)(B * info->tasks[t].width));
    if (!ok)
      return 1;
  }

  double *rate = alloc(sizeof(double) * (size_t)o->reps);
  hyper[MTL_HYPER_LR] = (float)info->lr, hyper[MTL_HYPER_C1] = 0.1f, hyper[MTL_HYPER_C2] = 0.001f;
  /* a training step goes through the balancer, as mtlc train's do; two
   * epochs' history first, so that every method takes its steady path */
  MtlBalancer *bal = o->infer ? NULL : mtl_balancer_new(info);
  double ones[64];
  for (int t = 0; t < info->n_tasks; t++)
    ones[t] = 1;
  for (int e = 0; bal && e < 2; e++)
    mtl_balance_epoch_end(bal, ones);
  MtlStep st = {params, grads, state, stats, act, (const void *const *)data, B, hyper, 1, losses,
                1, 2};
  if (!o->infer && !bal) {
    fprintf(stderr, "mtlc: %s\n", mtl_error());
    return 1;
  }
  /* training on more than one thread: a team, each its share of the
   * batch, as mtlc train does (OpenBLAS one thread inside each) */
  MtlTeam *team = NULL;
  if (!o->infer && mtl_team_pays(info, B, o->threads)) {
    MtlTeamBufs mine = {params, grads, state, stats, act, hyper, bal};
    mtl_set_threads(1);
    if (!(team = mtl_team_new(info, o->threads, &mine, NULL)) || !mtl_team_sync(team))
      return fprintf(stderr, "mtlc: %s\n", mtl_error()), 1;
  }
  for (int w = 0; w < 3; w++) { /* warm up */
    if (o->infer)
      info->forward(params, stats, act, (const void *const *)data, B, outs);
    else if (team ? !mtl_team_step(team, st.data, B, st.seed, st.step, st.epoch, losses, NULL)
                  : !mtl_balance_step(bal, &st))
      return fprintf(stderr, "mtlc: %s\n", mtl_error()), 1;
  }
  for (int rep = 0; rep < o->reps; rep++) {
    double t0 = now();
    for (int64_t s = 0; s < o->steps; s++) {
      if (o->infer) {
        info->forward(params, stats, act, (const void *const *)data, B, outs);
        continue;
      }
      st.seed = (uint64_t)s, st.step++;
      memset(grads, 0, sizeof(float) * (size_t)info->n_params);
      if (team ? !mtl_team_step(team, st.data, B, st.seed, st.step, st.epoch, losses, NULL)
               : !mtl_balance_step(bal, &st))
        return fprintf(stderr, "mtlc: %s\n", mtl_error()), 1;
    }
    double dt = now() - t0;
    /* training: samples per second; inference: microseconds per call */
    rate[rep] = o->infer ? 1e6 * dt / (double)o->steps : (double)(B * o->steps) / dt;
  }
  double *sorted = alloc(sizeof(double) * (size_t)o->reps);
  memcpy(sorted, rate, sizeof(double) * (size_t)o->reps);
  qsort(sorted, (size_t)o->reps, sizeof(double), cmp_double);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double flops = (double)m->total_flops * (o->infer ? 1 : 3); /* backward ~ 2x forward */
  double median = sorted[o->reps / 2];
  double gflops = o->infer ? flops * (double)B / (median * 1e-6) / 1e9 : median * flops / 1e9;
  mtl_team_free(team);
  mtl_balancer_free(bal);
  printf("{\"spec\": \"%s\", \"backend\": \"%s\", \"mode\": \"%s\", \"balance\": \"%s\", "
         "\"threads\": %d, \"gemm\": \"%s\", \"batch\": %lld, \"%s\": [", m->name,
         o->backend, o->infer ? "infer" : "train", balance_text(o->arena, &m->balance),
         o->threads, mtl_gemm_own() ? "own" : "blas",
         (long long)B, o->infer ? "us_per_call" : "samples_per_s");
  for (int i = 0; i < o->reps; i++)
    printf("%s%.6g", i ? ", " : "", rate[i]);
  printf("], \"median\": %.6g, \"min\": %.6g, \"max\": %.6g, \"gflops\": %.4g, "
         "\"peak_rss_mib\": %.1f, \"compile_s\": %.3f}\n",
         median, sorted[0], sorted[o->reps - 1], gflops, (double)ru.ru_maxrss / 1024.0,
         o->compile_s);
  return 0;
}
