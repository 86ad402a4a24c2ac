/* mtl_kernel.h: the runtime's kernel layer, what generated code calls.
 * Generated sources include this header and no other of the runtime's. */
#ifndef MTL_KERNEL_H
#define MTL_KERNEL_H

#include <stdint.h>

#include "mtl_model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* C = alpha op(A) op(B) + beta C, row-major; op(X) = X^T when trans. */
void mtl_sgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
               float alpha, const float *A, int64_t lda, const float *B,
               int64_t ldb, float beta, float *C, int64_t ldc);
/* 1 when mtl_sgemm runs its own kernels (x86-64 with AVX-512, and no
 * MTL_GEMM=blas in the environment), 0 when it calls BLAS */
int mtl_gemm_own(void);

/* out[i] = 0 with probability p, else 1/(1-p); element i's draw is a
 * function of (seed, stream, i) only: the reference interpreter draws the
 * same masks. */
void mtl_dropout_mask(float *out, int64_t n, float p, uint64_t seed,
                      uint64_t stream);

/* Data parallelism's sums inside a step: batchnorm's batch statistics
 * (and its backward's per-channel sums), so that N ranks normalize by the
 * global batch's statistics as one process does (SyncBatchNorm). buf[0, n)
 * becomes the sum over the ranks of each rank's values, weighted by the
 * rank's share of the global batch (MTL_SYNC_SHARE: each rank's mean over
 * its samples becomes the global batch's mean) or as they are
 * (MTL_SYNC_SUM). Nothing happens without a hook: in one process, and
 * outside a data-parallel step. mtl_dist.c sets the hook around the
 * generated steps it calls; every rank makes the same calls in the same
 * order, an empty shard's included. */
enum { MTL_SYNC_SHARE = 0, MTL_SYNC_SUM = 1 };
void mtl_sync(float *buf, int64_t n, int mode);
typedef void MtlSyncFn(void *ctx, float *buf, int64_t n, int mode);
void mtl_set_sync(MtlSyncFn *fn, void *ctx); /* NULL: none */

/* xoshiro256**, seeded through splitmix64: the compiler's interpreter and
 * the runtime share it, so a seed means the same numbers everywhere. */
typedef struct {
  uint64_t s[4];
} MtlRng;
void mtl_rng_seed(MtlRng *r, uint64_t seed);
uint64_t mtl_rng_next(MtlRng *r);
double mtl_rng_uniform(MtlRng *r); /* [0, 1) */
double mtl_rng_normal(MtlRng *r);
uint64_t mtl_rng_below(MtlRng *r, uint64_t n); /* [0, n), unbiased */
uint64_t mtl_splitmix64(uint64_t *state);

/* PyTorch's default for Linear and Conv2d weights and biases: uniform in
 * [-bound, bound), bound = 1/sqrt(fan_in). Draws in double, stores float. */
void mtl_init_uniform(float *out, int64_t n, double bound, MtlRng *r);

/* Every tensor of a group as its init says (mtl_model.h's MtlInit), in
 * order, the uniform ones from one stream seeded with seed: a model's init,
 * written once, for generated code and mtlc's interpreter alike. */
void mtl_init_tensors(const MtlTensor *t, int n, float *base, uint64_t seed);

/* threads for GEMM (OpenBLAS's pool); no effect without BLAS */
void mtl_set_threads(int n);

#ifdef __cplusplus
}
#endif

#endif
