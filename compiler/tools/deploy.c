/* tools/deploy.c: the driver of ahead-of-time deployment. `mtlc emit-c
 * --infer` and `emit-llvm --infer`: the tasks asked for, the trained
 * checkpoint checked against the spec (its model hash, every tensor's
 * name and shape, through the runtime's loader), the inference-only unit
 * (kir/infer.c), its weights computed from the checkpoint, then one back
 * end writes it. Everything that can fail on the user's input fails
 * before a file is written. */
#include "tools/tools.h"

#include <math.h>
#include <string.h>

void deploy_probs(const float *logits, int64_t w, double *p) {
  if (w == 1) {
    p[0] = 1 / (1 + exp(-(double)logits[0]));
    return;
  }
  double m = -INFINITY, s = 0;
  for (int64_t j = 0; j < w; j++)
    m = fmax(m, (double)logits[j]);
  for (int64_t j = 0; j < w; j++)
    s += p[j] = exp((double)logits[j] - m);
  for (int64_t j = 0; j < w; j++)
    p[j] /= s;
}

int32_t deploy_class(const float *logits, int64_t w) {
  if (w == 1)
    return logits[0] > 0;
  int64_t best = 0;
  for (int64_t j = 1; j < w; j++)
    if (logits[j] > logits[best])
      best = j;
  return (int32_t)best;
}

/* the trained model's description: what its checkpoints hold */
const MtlModelInfo *deploy_trained_info(Arena *a, Model *m) {
  return unit_info(build_unit(a, m, 1));
}

bool deploy_tasks(Model *m, const DeployOpts *o, bool *keep) {
  for (int t = 0; t < m->tasks.len; t++)
    keep[t] = o->ntasks == 0;
  for (int i = 0; i < o->ntasks; i++) {
    int found = -1;
    for (int t = 0; t < m->tasks.len; t++)
      if (!strcmp(((Task *)m->tasks.data[t])->name, o->tasks[i]))
        found = t;
    if (found < 0) {
      fprintf(stderr, "mtlc: --task %s: model %s has no such task; its tasks:", o->tasks[i],
              m->name);
      for (int t = 0; t < m->tasks.len; t++)
        fprintf(stderr, "%s %s", t ? "," : "", ((Task *)m->tasks.data[t])->name);
      fputc('\n', stderr);
      return false;
    }
    keep[found] = true;
  }
  return true;
}

/* A checkpoint's parameters and statistics, after checking that it is one
 * of this spec's model: every tensor's name and shape (the runtime's
 * loader), then its model hash when it has one (which also tells apart a
 * model of another name with the same tensors). */
bool deploy_load(Model *m, const MtlModelInfo *info, const char *ckpt, float **params,
                 float **stats) {
  *params = xcalloc((size_t)info->n_params + 1, sizeof(float));
  *stats = xcalloc((size_t)info->n_stats + 1, sizeof(float));
  char model[128];
  uint64_t hash = 0, want = mtl_model_hash(info);
  bool has_hash = false;
  bool ok = mtl_ckpt_load(ckpt, info, *params, NULL, *stats, NULL) &&
            mtl_ckpt_identity(ckpt, model, sizeof model, &hash, &has_hash);
  if (!ok)
    fprintf(stderr, "mtlc: %s\n", mtl_error());
  else if (has_hash && hash != want) {
    fprintf(stderr, "mtlc: %s: a checkpoint of model %s (hash %016llx), not of %s's model %s "
                    "(hash %016llx)\n", ckpt, *model ? model : "?", (unsigned long long)hash,
            m->src->path, m->name, (unsigned long long)want);
    ok = false;
  }
  if (!ok)
    free(*params), free(*stats);
  return ok;
}

typedef struct {
  const MtlModelInfo *info;
  const float *params, *stats;
} Trained;

static const float *trained_tensor(void *ctx, const char *name) {
  Trained *t = ctx;
  for (int i = 0; i < t->info->n_param_tensors; i++)
    if (!strcmp(t->info->param_tensors[i].name, name))
      return t->params + t->info->param_tensors[i].offset;
  for (int i = 0; i < t->info->n_stat_tensors; i++)
    if (!strcmp(t->info->stat_tensors[i].name, name))
      return t->stats + t->info->stat_tensors[i].offset;
  return NULL;
}

/* the inference unit, and its weights when a checkpoint is given */
/* normalize(auto) inputs: the checkpoint's statistics, for the header */
static void auto_stats(Arena *a, Infer *inf, const MtlModelInfo *info, const float *stats) {
  for (int i = 0; i < inf->inputs.len; i++) {
    InferInput *in = inf->inputs.data[i];
    for (int k = 0; in->norm && in->norm->normalize == NORM_AUTO && k < info->n_inputs; k++) {
      const MtlInputInfo *x = &info->inputs[k];
      if (strcmp(x->name, in->name) || x->norm_stat < 0 || !stats)
        continue;
      double *mean = arena_alloc(a, sizeof(double) * (size_t)x->channels);
      double *std = arena_alloc(a, sizeof(double) * (size_t)x->channels);
      for (int64_t c = 0; c < x->channels; c++) {
        mean[c] = stats[info->stat_tensors[x->norm_stat].offset + c];
        std[c] = stats[info->stat_tensors[x->norm_stat + 1].offset + c];
      }
      in->auto_mean = mean, in->auto_std = std, in->n_auto = x->channels;
    }
  }
}

Infer *deploy_build(Arena *a, Model *m, const DeployOpts *o, float **weights) {
  bool *keep = arena_alloc(a, (size_t)m->tasks.len + 1);
  if (!deploy_tasks(m, o, keep))
    return NULL;
  const MtlModelInfo *info = deploy_trained_info(a, m);
  float *params = NULL, *stats = NULL;
  if (o->weights && !deploy_load(m, info, o->weights, &params, &stats))
    return NULL;
  Infer *inf = build_infer(a, m, o->batch, keep, mtl_model_hash(info));
  *weights = NULL;
  if (o->weights) {
    Trained t = {info, params, stats};
    *weights = arena_alloc(a, sizeof(float) * (size_t)(inf->n_weights + 1));
    bool ok = infer_fill_weights(inf, trained_tensor, &t, *weights);
    auto_stats(a, inf, info, stats);
    free(params), free(stats);
    MTLC_ASSERT(ok); /* every tensor the layout names was checked to be there */
  }
  return inf;
}

int emit_infer(Model *m, const DeployOpts *o, const char *dir, const char *cmdline, Arena *a) {
  float *w;
  Infer *inf = deploy_build(a, m, o, &w);
  bool ok = inf && exports_free(inf->u, infer_exports) && emit_infer_c(inf, dir, w, o->blob, cmdline);
  return ok ? 0 : 1;
}

int emit_infer_llvm(Model *m, const DeployOpts *o, const char *path, bool obj,
                    const char *triple, const char *cmdline, Arena *a) {
  float *w;
  Infer *inf = deploy_build(a, m, o, &w);
  bool ok = inf && exports_free(inf->u, infer_exports) &&
            emit_llvm_infer_file(inf, w, path, obj, triple, cmdline);
  return ok ? 0 : 1;
}
