/* mtl_kernel.c: the kernel layer that generated code calls: OpenBLAS's
 * threads, dropout masks, seeded initialization and the PRNG (GEMM:
 * mtl_gemm.c). No allocation, no I/O. */
#include "mtl.h"

#include <math.h>

#ifndef MTL_NO_BLAS
void openblas_set_num_threads(int);
#endif

void mtl_set_threads(int n) {
#ifndef MTL_NO_BLAS
  if (n > 0)
    openblas_set_num_threads(n);
#else
  (void)n;
#endif
}

uint64_t mtl_splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void mtl_rng_seed(MtlRng *r, uint64_t seed) {
  for (int i = 0; i < 4; i++)
    r->s[i] = mtl_splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t mtl_rng_next(MtlRng *r) {
  uint64_t *s = r->s, result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0], s[3] ^= s[1], s[1] ^= s[2], s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double mtl_rng_uniform(MtlRng *r) {
  return (double)(mtl_rng_next(r) >> 11) * 0x1.0p-53;
}

double mtl_rng_normal(MtlRng *r) {
  double u = mtl_rng_uniform(r), v = mtl_rng_uniform(r);
  return sqrt(-2 * log(1 - u)) * cos(6.283185307179586 * v);
}

uint64_t mtl_rng_below(MtlRng *r, uint64_t n) {
  uint64_t limit = UINT64_MAX - UINT64_MAX % n, x;
  do
    x = mtl_rng_next(r);
  while (x >= limit);
  return x % n;
}

static _Thread_local MtlSyncFn *sync_fn; /* per thread: a team's workers each have one */
static _Thread_local void *sync_ctx;

void mtl_set_sync(MtlSyncFn *fn, void *ctx) {
  sync_fn = fn;
  sync_ctx = ctx;
}

void mtl_sync(float *buf, int64_t n, int mode) {
  if (sync_fn)
    sync_fn(sync_ctx, buf, n, mode);
}

void mtl_dropout_mask(float *out, int64_t n, float p, uint64_t seed,
                      uint64_t stream) {
  float keep = 1 / (1 - p);
  for (int64_t i = 0; i < n; i++) {
    uint64_t h = seed ^ (stream << 40) ^ (uint64_t)i;
    double u = (double)(mtl_splitmix64(&h) >> 11) * 0x1.0p-53;
    out[i] = u < (double)p ? 0 : keep;
  }
}

void mtl_init_uniform(float *out, int64_t n, double bound, MtlRng *r) {
  for (int64_t i = 0; i < n; i++)
    out[i] = (float)((2 * mtl_rng_uniform(r) - 1) * bound);
}

void mtl_init_tensors(const MtlTensor *t, int n, float *base, uint64_t seed) {
  MtlRng r;
  mtl_rng_seed(&r, seed);
  for (int i = 0; i < n; i++) {
    float *out = base + t[i].offset;
    int64_t T = t[i].rank == 2 && t[i].shape[0] > 1 ? t[i].shape[0] : 2;
    if (t[i].init == MTL_INIT_UNIFORM)
      mtl_init_uniform(out, t[i].numel, t[i].init_arg, &r);
    else if (t[i].init == MTL_INIT_NORMAL)
      for (int64_t k = 0; k < t[i].numel; k++)
        out[k] = (float)(mtl_rng_normal(&r) * t[i].init_arg);
    else if (t[i].init == MTL_INIT_STITCH) /* [T, T] */
      for (int64_t k = 0; k < t[i].numel; k++)
        out[k] = (float)(k / T == k % T ? t[i].init_arg
                                        : (1 - t[i].init_arg) / (double)(T - 1));
    else
      for (int64_t k = 0; k < t[i].numel; k++)
        out[k] = (float)t[i].init_arg;
  }
}
