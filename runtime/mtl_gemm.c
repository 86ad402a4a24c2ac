/* mtl_gemm.c: mtl_sgemm, the GEMM that generated code calls. On x86-64
 * CPUs with AVX-512, where op(B) = B, it runs GEMMs of its own: register
 * tiles of up to 8 x 32 floats (16 of the 32 vector registers), each the
 * sum over k of one broadcast element of op(A) times 32 consecutive
 * elements of a row of B, both read in place (only a right edge narrower
 * than 16 is copied out, zero-padded, into a thread's own 64 KiB panel;
 * K is cut into chunks that fit it). The shapes mtlc's kernels make
 * (per-sample convolutions, small dense layers) are where OpenBLAS's
 * blocking costs most: measured on the machine of bench/RESULTS.md, 1.6x
 * to 2.4x OpenBLAS's Haswell kernels. B^T goes to OpenBLAS's cblas_sgemm:
 * copying its panels costs more than the tiles gain at few rows of op(A),
 * and a choice by rows would make a sample's rounding depend on the batch
 * it is in (a rank's share of it). So does everything with MTL_GEMM=blas
 * in the environment, or on other CPUs; built with MTL_NO_BLAS, a
 * portable loop takes BLAS's place. A row of C is computed the same way
 * whatever M is and whichever thread calls. */
#include "mtl.h"

#include <stdlib.h>
#include <string.h>

#ifndef MTL_NO_BLAS
#include <cblas.h>
#endif

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define MTL_OWN_GEMM 1
#endif

#ifdef MTL_NO_BLAS
/* the portable loop of a build without BLAS */
static void loop_gemm(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha,
                      const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                      float *C, int64_t ldc) {
  for (int64_t i = 0; i < M; i++) {
    float *c = C + i * ldc;
    if (beta == 0)
      for (int64_t j = 0; j < N; j++)
        c[j] = 0;
    else if (beta != 1)
      for (int64_t j = 0; j < N; j++)
        c[j] *= beta;
    for (int64_t k = 0; k < K; k++) {
      float a = alpha * (ta ? A[k * lda + i] : A[i * lda + k]);
      if (tb)
        for (int64_t j = 0; j < N; j++)
          c[j] += a * B[j * ldb + k];
      else
        for (int64_t j = 0; j < N; j++)
          c[j] += a * B[k * ldb + j];
    }
  }
}
#endif

static void blas_gemm(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha,
                      const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                      float *C, int64_t ldc) {
#ifndef MTL_NO_BLAS
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              (int)M, (int)N, (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
#else
  loop_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

#ifdef MTL_OWN_GEMM
#define AVX512 __attribute__((target("avx512f")))
typedef float v16 __attribute__((vector_size(64), aligned(4))); /* unaligned loads */

enum { KC = 1024 };                        /* k per chunk: a panel is KC x 16 */
static _Thread_local float panel[KC * 16]; /* a right edge of B, copied */
static _Thread_local float edge[8 * 16];   /* its tile, before a partial store */

/* c[MR x 16 NV] (+)= sum over k < K of a(r, k) b[k, 0 .. 16 NV), with
 * a(r, k) = A[r ar + k ak] and b's rows ldb apart. beta 1 adds to c. */
#define TILE(MR, NV)                                                                 \
  AVX512 static void tile_##MR##x##NV(int64_t K, const float *A, int64_t ar, int64_t ak, \
                                       const float *B, int64_t ldb, float *C, int64_t ldc, \
                                       int beta) {                                     \
    v16 acc[MR][NV];                                                                   \
    _Pragma("GCC unroll 8") for (int r = 0; r < MR; r++)                               \
      _Pragma("GCC unroll 2") for (int v = 0; v < NV; v++) acc[r][v] = (v16){0};       \
    for (int64_t k = 0; k < K; k++) {                                                  \
      v16 b[NV];                                                                       \
      _Pragma("GCC unroll 2") for (int v = 0; v < NV; v++) b[v] =                      \
          *(const v16 *)(B + k * ldb + 16 * v);                                        \
      _Pragma("GCC unroll 8") for (int r = 0; r < MR; r++) {                           \
        float a = A[r * ar + k * ak];                                                  \
        _Pragma("GCC unroll 2") for (int v = 0; v < NV; v++) acc[r][v] += a * b[v];    \
      }                                                                                \
    }                                                                                  \
    _Pragma("GCC unroll 8") for (int r = 0; r < MR; r++)                               \
      _Pragma("GCC unroll 2") for (int v = 0; v < NV; v++) {                           \
        v16 *p = (v16 *)(C + r * ldc + 16 * v);                                        \
        *p = beta ? *p + acc[r][v] : acc[r][v];                                        \
      }                                                                                \
  }
TILE(8, 2)
TILE(4, 2)
TILE(2, 2)
TILE(1, 2)
TILE(8, 1)
TILE(4, 1)
TILE(2, 1)
TILE(1, 1)

typedef void Tile(int64_t, const float *, int64_t, int64_t, const float *, int64_t, float *,
                  int64_t, int);
static Tile *const tiles[2][9] = {{0, tile_1x1, tile_2x1, 0, tile_4x1, 0, 0, 0, tile_8x1},
                                  {0, tile_1x2, tile_2x2, 0, tile_4x2, 0, 0, 0, tile_8x2}};

/* columns [j, j + w) of B's rows [k0, k0 + kc) into the panel, 16 wide,
 * zero beyond w < 16 */
AVX512 static void copy_panel(const float *B, int64_t ldb, int64_t k0, int64_t kc, int64_t j,
                              int64_t w) {
  for (int64_t k = 0; k < kc; k++) {
    float *dst = panel + k * 16;
    memcpy(dst, B + (k0 + k) * ldb + j, sizeof(float) * (size_t)w);
    memset(dst + w, 0, sizeof(float) * (size_t)(16 - w));
  }
}

/* C (+)= op(A) B, alpha 1, beta 0 or 1 */
AVX512 static void own_gemm(int ta, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                            const float *B, int64_t ldb, int beta, float *C, int64_t ldc) {
  int64_t ar = ta ? 1 : lda, ak = ta ? lda : 1;
  for (int64_t k0 = 0; k0 < K; k0 += KC) {
    int64_t kc = K - k0 < KC ? K - k0 : KC;
    int b = beta || k0 > 0;
    for (int64_t j = 0; j < N;) {
      int64_t w = N - j >= 32 ? 32 : N - j >= 16 ? 16 : N - j;
      int nv = w == 32 ? 2 : 1;
      const float *bp = B + k0 * ldb + j;
      int64_t bld = ldb;
      if (w < 16) {
        copy_panel(B, ldb, k0, kc, j, w);
        bp = panel, bld = 16;
      }
      for (int64_t i = 0; i < M;) {
        int64_t m = M - i >= 8 ? 8 : M - i >= 4 ? 4 : M - i >= 2 ? 2 : 1;
        const float *ap = A + i * ar + k0 * ak;
        float *cp = C + i * ldc + j;
        if (w >= 16) {
          tiles[nv - 1][m](kc, ap, ar, ak, bp, bld, cp, ldc, b);
        } else { /* the right edge: through `edge`, then its w columns */
          tiles[0][m](kc, ap, ar, ak, bp, bld, edge, 16, 0);
          for (int64_t r = 0; r < m; r++)
            for (int64_t q = 0; q < w; q++)
              cp[r * ldc + q] = b ? cp[r * ldc + q] + edge[r * 16 + q] : edge[r * 16 + q];
        }
        i += m;
      }
      j += w;
    }
  }
}

/* 1: own GEMMs, 0: BLAS's (or the loop's); decided once */
static int own_mode(void) {
  static int mode = -1; /* threads may race to set it, to the same value */
  int m = __atomic_load_n(&mode, __ATOMIC_RELAXED);
  if (m < 0) {
    const char *e = getenv("MTL_GEMM");
    __builtin_cpu_init();
    m = __builtin_cpu_supports("avx512f") && !(e && !strcmp(e, "blas"));
    __atomic_store_n(&mode, m, __ATOMIC_RELAXED);
  }
  return m;
}
#endif

int mtl_gemm_own(void) {
#ifdef MTL_OWN_GEMM
  return own_mode();
#else
  return 0;
#endif
}

void mtl_sgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
               const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
               int64_t ldc) {
  if (M <= 0 || N <= 0)
    return;
#ifdef MTL_OWN_GEMM
  if (alpha == 1 && (beta == 0 || beta == 1) && K > 0 && !trans_b && own_mode()) {
    own_gemm(trans_a, M, N, K, A, lda, B, ldb, beta != 0, C, ldc);
    return;
  }
#endif
  blas_gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
