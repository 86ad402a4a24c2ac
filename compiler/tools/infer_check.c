/* tools/infer_check.c: `mtlc check-infer`, the inference-only C against
 * what `mtlc eval` computes, on the same checkpoint and the whole test
 * split. The inference-only C is generated with the checkpoint's weights
 * in a blob (NAME.bin, checked and handed over by NAME_weights; the
 * embedded form differs only in where the same floats live, and
 * compiles slowly), compiled as C99 with -Wall -Wextra -Werror -pedantic
 * (and -O3 -march=native) by $CC or cc, and loaded (a spec without test
 * data is checked on 256 samples of random inputs); the reference is the
 * model's evaluation forward pass through the JIT (OpenBLAS GEMMs, the
 * checkpoint's parameters and running statistics unfolded). Per task:
 * the classes must be the reference logits' argmax on every sample, and
 * logits and probabilities within 1e-5 of the reference, relative to the
 * sample's largest reference logit in magnitude (absolute when that is
 * under 1: a float dot product's rounding scales with its terms, not with
 * its sum, so a relative bound on a logit near 0 means nothing). It prints what it
 * compared and exits 1 on any difference. */
#include "tools/tools.h"

#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#define TOL 1e-5

typedef void PredictFn(const float *w, const void *in, void *out, void *workspace);
typedef const float *WeightsFn(const void *blob, size_t bytes);

typedef struct {
  int64_t n, class_same;
  double logit_rel, prob_rel;
} Diff;

/* sample s of one output of the inference code against the reference row */
static void compare(Diff *d, const InferOutput *o, const char *out, int64_t s, const float *ref,
                    int64_t w) {
  double mag = 1, p[4096]; /* relative to the largest logit, absolute below 1 */
  for (int64_t j = 0; j < w; j++)
    mag = fmax(mag, fabs((double)ref[j]));
  if (o->kind == IO_CLASS) {
    d->class_same += ((const int32_t *)(const void *)(out + o->offset))[s] == deploy_class(ref, w);
    d->n++;
    return;
  }
  const float *got = (const float *)(const void *)(out + o->offset) + s * o->width;
  if (o->kind == IO_PROBS) {
    deploy_probs(ref, w, p);
    for (int64_t j = 0; j < w; j++)
      d->prob_rel = fmax(d->prob_rel, fabs((double)got[j] - p[j]));
    return;
  }
  for (int64_t j = 0; j < w; j++)
    d->logit_rel = fmax(d->logit_rel, fabs((double)got[j] - (double)ref[j]) / mag);
}

/* the compiled code's NAME_predict, and its weights from the blob it wrote */
static PredictFn *load_predict(Arena *a, Infer *inf, const float *w, const char *cmdline,
                               const float **weights) {
  const char *tmp = getenv("TMPDIR");
  char *dir = arena_printf(a, "%s/mtlc-infer-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir)) {
    fprintf(stderr, "mtlc: cannot make a temporary folder: %s\n", strerror(errno));
    return NULL;
  }
  const char *n = inf->u->m->name;
  void *f = NULL;
  if (emit_infer_c(inf, dir, w, true, cmdline) &&
      cbuild_so(a, dir, n, "-std=c99 -O3 -march=native -Wall -Wextra -Werror -pedantic", false)) {
    void *h = dlopen(arena_printf(a, "%s/%s.so", dir, n), RTLD_NOW | RTLD_LOCAL);
    WeightsFn *wf = h ? (WeightsFn *)dlsym(h, arena_printf(a, "%s_weights", n)) : NULL;
    f = h ? dlsym(h, arena_printf(a, "%s_predict", n)) : NULL;
    if (!f || !wf)
      fprintf(stderr, "mtlc: cannot load the inference-only code: %s\n", dlerror());
    FILE *bin = fopen(arena_printf(a, "%s/%s.bin", dir, n), "rb");
    size_t size = (size_t)MTL_BLOB_HEADER + 4 * (size_t)inf->n_weights;
    char *blob = xcalloc(size + 1, 1);
    bool read = bin && fread(blob, 1, size + 1, bin) == size;
    if (bin)
      fclose(bin);
    *weights = f && wf && read ? wf(blob, size) : NULL; /* blob lives on: the weights */
    if (f && !*weights) {
      fprintf(stderr, "mtlc: %s_weights refused the blob it was generated with\n", n);
      f = NULL;
    }
  }
  if (!getenv("MTLC_KEEP_TMP"))
    cbuild_clean(a, dir, n);
  return (PredictFn *)f;
}

/* a spec without test data: n samples of standard normal inputs (ids 0) */
static void random_split(MtlSplit *s, const MtlModelInfo *info, int64_t n) {
  MtlRng r;
  mtl_rng_seed(&r, 11);
  *s = (MtlSplit){"random", n, info->n_inputs, xcalloc((size_t)info->n_inputs, sizeof(MtlArray))};
  for (int k = 0; k < info->n_inputs; k++) {
    int64_t w = info->inputs[k].numel;
    float *x = xcalloc((size_t)(n * w), sizeof(float));
    for (int64_t i = 0; info->inputs[k].dtype == MTL_F32 && i < n * w; i++)
      x[i] = (float)mtl_rng_normal(&r);
    s->arrays[k] = (MtlArray){info->inputs[k].dtype, n, w, x};
  }
}

int check_infer(Model *m, const DeployOpts *o, const MtlOverride *data, int n_data,
                int64_t limit, const char *cmdline, Arena *a) {
  float *w;
  Infer *inf = deploy_build(a, m, o, &w);
  if (!inf)
    return 1;
  const float *weights = NULL;
  PredictFn *predict = load_predict(a, inf, w, cmdline, &weights);
  if (!predict)
    return 1;
  /* the reference: eval's forward pass, R samples a call, a multiple of the batch */
  int64_t Bi = inf->batch, R = Bi >= 64 ? Bi : 64 / Bi * Bi;
  const MtlModelInfo *info = jit_load(build_unit(a, m, R), NULL, NULL);
  float *params, *stats;
  MtlSplit test = {0};
  bool found = false;
  if (!info || !deploy_load(m, info, o->weights, &params, &stats))
    return 1;
  if (!mtl_load_split(&test, info, "test", data, n_data, limit, &found)) {
    fprintf(stderr, "mtlc: %s\n", mtl_error());
    return 1;
  }
  if (!found)
    random_split(&test, info, limit > 0 ? limit : 256);
  float *act = xcalloc((size_t)info->n_act + 1, sizeof(float));
  float *ref[64];
  for (int t = 0; t < info->n_tasks; t++)
    ref[t] = xcalloc((size_t)(R * info->tasks[t].width), sizeof(float));
  char *in = xcalloc((size_t)inf->in_bytes + 4, 1), *out = xcalloc((size_t)inf->out_bytes + 4, 1);
  void *ws = xcalloc((size_t)inf->workspace_bytes, 1);
  Diff *d = xcalloc((size_t)inf->outputs.len + 1, sizeof(Diff));
  const void *ptr[64];
  int64_t checked = 0;
  for (int64_t from = 0; from + Bi <= test.n; from += R) {
    int64_t B = test.n - from < R ? test.n - from : R;
    for (int k = 0; k < info->n_inputs; k++)
      ptr[k] = (const char *)test.arrays[k].data + (size_t)(from * test.arrays[k].width) * 4;
    info->forward(params, stats, act, ptr, B, ref);
    for (int64_t s = 0; s + Bi <= B; s += Bi, checked += Bi) {
      for (int k = 0; k < inf->inputs.len; k++) {
        const InferInput *ii = inf->inputs.data[k];
        memcpy(in + ii->offset, (const char *)ptr[k] + (size_t)(s * ii->width) * 4,
               (size_t)(Bi * ii->width) * 4);
      }
      predict(weights, in, out, ws);
      for (int i = 0; i < inf->outputs.len; i++) {
        const InferOutput *io = inf->outputs.data[i];
        const MtlTaskInfo *task = &info->tasks[io->task];
        for (int64_t b = 0; b < Bi; b++)
          compare(&d[i], io, out, b, ref[io->task] + (s + b) * task->width, task->width);
      }
    }
  }
  int bad = 0;
  printf("%s: the inference-only C (batch %lld) against eval's forward pass on %lld %s samples\n",
         m->name, (long long)Bi, (long long)checked, found ? "test" : "random");
  for (int i = 0; i < inf->outputs.len; i++) {
    const InferOutput *io = inf->outputs.data[i];
    bool ok = true;
    if (io->kind == IO_CLASS) {
      ok = d[i].class_same == d[i].n;
      printf("  %-24s the same class on %lld of %lld\n", io->name, (long long)d[i].class_same,
             (long long)d[i].n);
    } else if (io->kind == IO_PROBS) {
      ok = d[i].prob_rel <= TOL;
      printf("  %-24s largest difference %.3g\n", io->name, d[i].prob_rel);
    } else {
      ok = d[i].logit_rel <= TOL;
      printf("  %-24s largest difference %.3g of the sample's largest logit (or of 1)\n", io->name,
             d[i].logit_rel);
    }
    bad += !ok;
  }
  printf("%s\n", bad ? "FAIL" : "ok");
  mtl_split_free(&test);
  free(params), free(stats), free(act), free(in), free(out), free(ws), free(d);
  for (int t = 0; t < info->n_tasks; t++)
    free(ref[t]);
  return bad ? 1 : 0;
}
