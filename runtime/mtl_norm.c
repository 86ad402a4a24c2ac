/* mtl_norm.c: normalize(auto). The per-channel mean and standard deviation
 * of an input over the train split, computed once when training starts
 * (not when it resumes: then they come from the checkpoint), kept in the
 * model's running statistics (MtlInputInfo.norm_stat), and applied to
 * every split that binds the input with normalize(auto). Loading files and
 * the spec's own normalize(mean=, std=) are mtl_data.c's. */
#include "mtl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* the binding of input k in split, by the spec (overrides keep its options) */
static const MtlBinding *spec_binding(const MtlModelInfo *m, const char *split, int k) {
  for (int i = 0; i < m->n_bindings; i++)
    if (!strcmp(m->bindings[i].split, split) && !strcmp(m->bindings[i].name, m->inputs[k].name))
      return &m->bindings[i];
  return NULL;
}

static bool is_auto(const MtlModelInfo *m, const char *split, int k) {
  const MtlBinding *b = spec_binding(m, split, k);
  return b && b->normalize == MTL_NORM_AUTO && m->inputs[k].norm_stat >= 0 &&
         m->inputs[k].dtype == MTL_F32;
}

/* Population statistics in double, as sklearn's StandardScaler and
 * Keras' Normalization layer compute them. */
void mtl_norm_stats(const MtlSplit *train, const MtlModelInfo *m, float *stats) {
  for (int k = 0; train->arrays && k < m->n_inputs; k++) {
    if (!is_auto(m, train->name, k))
      continue;
    const MtlInputInfo *in = &m->inputs[k];
    const MtlArray *a = &train->arrays[k];
    const float *x = a->data;
    int64_t C = in->channels;
    double *sum = calloc((size_t)(2 * C), sizeof(double)), *sq = sum + C;
    float *mean = stats + m->stat_tensors[in->norm_stat].offset;
    float *std = stats + m->stat_tensors[in->norm_stat + 1].offset;
    if (!sum)
      continue; /* out of memory: the statistics stay 0 and 1 */
    for (int pass = 0; pass < 2; pass++) {
      for (int64_t i = 0; i < train->n * a->width; i++) {
        int64_t c = (i % a->width) / in->inner % C;
        double d = (double)x[i] - (pass ? (double)mean[c] : 0);
        if (pass)
          sq[c] += d * d;
        else
          sum[c] += d;
      }
      double count = (double)train->n * (double)(a->width / C);
      for (int64_t c = 0; c < C; c++) {
        if (!pass) {
          mean[c] = (float)(sum[c] / count);
          continue;
        }
        double sd = sqrt(sq[c] / count);
        std[c] = sd > 0 && isfinite(sd) ? (float)sd : 1.0f;
      }
    }
    free(sum);
  }
}

void mtl_normalize_auto(MtlSplit *s, const MtlModelInfo *m, const float *stats) {
  for (int k = 0; s->arrays && k < m->n_inputs; k++) {
    if (!is_auto(m, s->name, k))
      continue;
    const MtlInputInfo *in = &m->inputs[k];
    mtl_normalize_channels(&s->arrays[k], stats + m->stat_tensors[in->norm_stat].offset,
                           stats + m->stat_tensors[in->norm_stat + 1].offset, in->channels,
                           in->channels, in->inner);
  }
}
