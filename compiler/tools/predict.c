/* tools/predict.c: `mtlc predict SPEC --load CKPT INPUT...`, per-task
 * predictions of a trained model. Each INPUT holds samples of the model's
 * input: an IDX file or a .npy array (one sample per row), CSV rows (each
 * row one sample's values), or one PGM or PNG image when the input is an
 * image ([1, H, W], [H, W], or a vector of H x W values); values are read
 * and normalized as the spec's data bindings are (8-bit pixels scaled to
 * [0, 1], then the test split's normalize). The model runs through the
 * JIT (or --backend c) with the checkpoint's parameters, evaluation's
 * forward pass: exactly `mtlc eval`'s outputs. Prints a table, or JSON
 * with every task's logits, probabilities and class. */
#include "tools/tools.h"

#include <math.h>
#include <string.h>

typedef struct {
  const char *path;
  int64_t index; /* the sample within its file */
} Origin;

static const MtlBinding *norm_binding(const MtlModelInfo *info, const char *input) {
  const MtlBinding *b = NULL;
  for (int i = 0; i < info->n_bindings; i++) {
    const MtlBinding *x = &info->bindings[i];
    if (!strcmp(x->name, input) && x->normalize && (!b || !strcmp(x->split, "test")))
      b = x;
  }
  return b;
}

/* an image as one sample of an input of shape in */
static bool read_image(const char *path, const MtlInputInfo *in, MtlArray *out) {
  int64_t H = in->rank == 3 ? in->shape[1] : in->rank == 2 ? in->shape[0] : 0;
  int64_t W = in->rank == 3 ? in->shape[2] : in->rank == 2 ? in->shape[1] : 0;
  if ((in->rank == 3 && in->shape[0] != 1) || in->rank > 3 || in->dtype != MTL_F32) {
    char sh[96];
    mtl_shape_text(sh, sizeof sh, in->shape, in->rank);
    fprintf(stderr, "mtlc: %s: input %s is %s; images are read for gray inputs [1, H, W], "
                    "[H, W] or [H*W]\n", path, in->name, sh);
    return false;
  }
  uint8_t *pix;
  int w, h;
  if (!image_read(path, &pix, &w, &h))
    return false;
  if (in->rank == 1 ? (int64_t)w * h != in->numel : (w != W || h != H)) {
    fprintf(stderr, "mtlc: %s: the image is %dx%d; input %s wants %lldx%lld\n", path, w, h,
            in->name, (long long)(in->rank == 1 ? 0 : W), (long long)(in->rank == 1 ? 0 : H));
    free(pix);
    return false;
  }
  float *x = xcalloc((size_t)in->numel, sizeof(float));
  for (int64_t i = 0; i < in->numel; i++)
    x[i] = (float)pix[i] / 255.0f;
  free(pix);
  *out = (MtlArray){MTL_F32, 1, in->numel, x};
  return true;
}

static bool read_input(const char *path, const MtlInputInfo *in, MtlArray *out) {
  if (image_kind(path))
    return read_image(path, in, out);
  int64_t *cols = xcalloc((size_t)in->numel, sizeof(int64_t));
  for (int64_t i = 0; i < in->numel; i++)
    cols[i] = i;
  bool ok = mtl_load(out, path, in->dtype, in->numel, -1, cols, (int)in->numel);
  free(cols);
  if (!ok)
    fprintf(stderr, "mtlc: %s\n", mtl_error());
  return ok;
}

static void json_floats(const float *x, const double *d, int64_t n) {
  putchar('[');
  for (int64_t i = 0; i < n; i++) {
    double v = x ? (double)x[i] : (double)(float)d[i];
    printf(isfinite(v) ? "%s%.9g" : "%snull", i ? ", " : "", v);
  }
  putchar(']');
}

static void json_string(const char *s) {
  putchar('"');
  for (; *s; s++)
    if (*s == '"' || *s == '\\')
      printf("\\%c", *s);
    else if ((unsigned char)*s < 0x20)
      printf("\\u%04x", *s);
    else
      putchar(*s);
  putchar('"');
}

static void print_sample(const MtlModelInfo *info, float *const *out, int64_t b,
                         const Origin *o, bool json, bool last) {
  double p[4096];
  if (json) {
    fputs("  {\"input\": ", stdout);
    json_string(o->path);
    printf(", \"index\": %lld", (long long)o->index);
  } else {
    printf("%-28.28s %6lld", o->path, (long long)o->index);
  }
  for (int t = 0; t < info->n_tasks; t++) {
    const MtlTaskInfo *k = &info->tasks[t];
    const float *y = out[t] + b * k->width;
    bool real = k->kind == MTL_LABEL_REAL;
    if (!real)
      deploy_probs(y, k->width, p);
    int64_t c = real ? 0 : deploy_class(y, k->width);
    if (json) {
      printf(", \"%s\": {", k->name);
      if (!real)
        printf("\"class\": %lld, \"probs\": ", (long long)c), json_floats(NULL, p, k->width),
            printf(", \"logits\": ");
      else
        printf("\"values\": ");
      json_floats(y, NULL, k->width);
      putchar('}');
    } else if (real) {
      printf("  %12.5g%s", (double)y[0], k->width > 1 ? " ..." : "");
    } else {
      printf("  %5lld (%.3f)", (long long)c, (double)p[k->width == 1 ? 0 : c]);
    }
  }
  puts(json ? (last ? "}" : "},") : "");
}

int run_predict(Model *m, const PredictOpts *o, Arena *a) {
  Unit *u = build_unit(a, m, 64);
  bool use_c = o->backend && !strcmp(o->backend, "c");
  const MtlModelInfo *info = use_c ? cbuild_load(u, "mtlc predict", false) : jit_load(u, NULL, NULL);
  float *params, *stats;
  if (!info || !deploy_load(m, info, o->ckpt, &params, &stats))
    return 1;
  if (info->n_inputs != 1) {
    fprintf(stderr, "mtlc: predict reads models with one input; %s has %d\n", m->name,
            info->n_inputs);
    return 1;
  }
  const MtlInputInfo *in = &info->inputs[0];
  const MtlBinding *norm = norm_binding(info, in->name);
  /* every sample, in the order given */
  MtlArray *arr = xcalloc((size_t)o->n_inputs, sizeof(MtlArray));
  int64_t total = 0;
  for (int i = 0; i < o->n_inputs; i++) {
    if (!read_input(o->inputs[i], in, &arr[i]))
      return 1;
    if (norm && arr[i].dtype == MTL_F32 && norm->normalize == MTL_NORM_AUTO && in->norm_stat >= 0)
      mtl_normalize_channels(&arr[i], stats + info->stat_tensors[in->norm_stat].offset,
                             stats + info->stat_tensors[in->norm_stat + 1].offset, in->channels,
                             in->channels, in->inner); /* the checkpoint's statistics */
    else if (norm && arr[i].dtype == MTL_F32 && norm->normalize == MTL_NORM_GIVEN)
      mtl_normalize_channels(&arr[i], norm->mean, norm->std, norm->n_norm, in->channels, in->inner);
    total += arr[i].n;
  }
  float *act = xcalloc((size_t)info->n_act + 1, sizeof(float)), *outs[64];
  for (int t = 0; t < info->n_tasks; t++)
    outs[t] = xcalloc((size_t)(64 * info->tasks[t].width), sizeof(float));
  if (o->json)
    printf("{\"model\": \"%s\", \"predictions\": [\n", m->name);
  else {
    printf("%-28s %6s", "input", "sample");
    for (int t = 0; t < info->n_tasks; t++)
      printf("  %13s", info->tasks[t].name);
    putchar('\n');
  }
  int64_t done = 0;
  for (int i = 0; i < o->n_inputs; i++)
    for (int64_t from = 0; from < arr[i].n; from += 64) {
      int64_t B = arr[i].n - from < 64 ? arr[i].n - from : 64;
      const void *x = (const char *)arr[i].data + (size_t)(from * arr[i].width) * 4;
      info->forward(params, stats, act, &x, B, outs);
      for (int64_t b = 0; b < B; b++, done++) {
        Origin org = {o->inputs[i], from + b};
        print_sample(info, outs, b, &org, o->json, done + 1 == total);
      }
    }
  if (o->json)
    puts("]}");
  for (int i = 0; i < o->n_inputs; i++)
    mtl_array_free(&arr[i]);
  for (int t = 0; t < info->n_tasks; t++)
    free(outs[t]);
  free(arr), free(act), free(params), free(stats);
  return 0;
}
