/* mtl_gemm.c: mtl_sgemm, the GEMM that generated code calls. On x86-64
 * CPUs with AVX-512 it runs GEMMs of its own: register tiles of 1 to 8
 * rows by up to 32 floats (at most 16 of the 32 vector registers), each
 * the sum over k of one broadcast element of op(A) times 32 consecutive
 * elements of a row of B, read in place; a right edge narrower than the
 * tile is loaded and stored under a mask. Where op(B) = B^T, B goes
 * through a thread's 64 KiB panel, 256 x 64 floats at a time, transposed
 * 16 x 16 in registers, and the same tiles read the panel. The shapes
 * mtlc's kernels make (per-sample convolutions, small dense layers) are
 * where OpenBLAS's blocking costs most; measured on the machine of
 * bench/RESULTS.md against OpenBLAS's Haswell kernels: 1.6x to 2.4x where
 * op(B) = B, 1.3x to 1.7x where it is B^T (fashion_hard's second
 * convolution's weight gradient, its dense layer), and LeNet's 10-filter
 * convolutions 1.2x to 1.4x more with tiles of 5 + 5 rows and masked
 * edges than with 8 + 2 rows and edges copied out. The tiles never depend
 * on M but through the tile heights, and a row's sum is the same products
 * added in the same order whatever the tile: a row of C is the same bits
 * whatever M is and whichever thread calls (test_runtime's
 * gemm/rows-independent-of-M), so a sample's rounding does not depend on
 * the batch it is in (a rank's share of it). With MTL_GEMM=blas in the
 * environment, alpha other than 1, beta other than 0 or 1, or on other
 * CPUs, OpenBLAS's cblas_sgemm runs instead (and a row's rounding may
 * then depend on M); built with MTL_NO_BLAS, a portable loop takes
 * BLAS's place. */
#include "mtl.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#endif

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
enum { KC = 1024 }; /* k per pass over C: A's rows stay in cache between column strips */

/* c[MR x 16 NV] (+)= sum over k < K of a(r, k) b[k, 0 .. 16 NV), with
 * a(r, k) = A[r ar + k ak] and b's rows ldb apart; the last of the NV
 * vectors of b and c only in the lanes of mask (a right edge narrower than
 * the tile: masked loads and stores, nothing copied, nothing read beyond
 * it). beta 1 adds to c. Each element's sum is the same products added in
 * the same order, whatever MR, NV and mask: a row's result never depends
 * on the tile it fell in. Multiply, then add, as C11 would (no FMA). */
#define TILE(MR, NV, MK, NAME)                                                        \
  AVX512 static void NAME(int64_t K, const float *A, int64_t ar, int64_t ak, \
                                       const float *B, int64_t ldb, float *C, int64_t ldc, \
                                       int beta, __mmask16 mask) {                      \
    __m512 acc[MR][NV];                                                                 \
    _Pragma("GCC unroll 8") for (int r = 0; r < MR; r++)                                \
      _Pragma("GCC unroll 2") for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_ps(); \
    for (int64_t k = 0; k < K; k++) {                                                   \
      __m512 b[NV];                                                                     \
      _Pragma("GCC unroll 2") for (int v = 0; v < NV - 1; v++) b[v] =                   \
          _mm512_loadu_ps(B + k * ldb + 16 * v);                                        \
      b[NV - 1] = MK ? _mm512_maskz_loadu_ps(mask, B + k * ldb + 16 * (NV - 1))          \
                     : _mm512_loadu_ps(B + k * ldb + 16 * (NV - 1));                    \
      _Pragma("GCC unroll 8") for (int r = 0; r < MR; r++) {                            \
        __m512 a = _mm512_set1_ps(A[r * ar + k * ak]);                                  \
        _Pragma("GCC unroll 2") for (int v = 0; v < NV; v++) acc[r][v] =                \
            _mm512_add_ps(acc[r][v], _mm512_mul_ps(a, b[v]));                           \
      }                                                                                 \
    }                                                                                   \
    _Pragma("GCC unroll 8") for (int r = 0; r < MR; r++)                                \
      _Pragma("GCC unroll 2") for (int v = 0; v < NV; v++) {                            \
        float *p = C + r * ldc + 16 * v;                                                \
        if (MK && v == NV - 1) {                                                        \
          __m512 c = beta ? _mm512_add_ps(_mm512_maskz_loadu_ps(mask, p), acc[r][v]) : acc[r][v]; \
          _mm512_mask_storeu_ps(p, mask, c);                                            \
        } else {                                                                        \
          _mm512_storeu_ps(p, beta ? _mm512_add_ps(_mm512_loadu_ps(p), acc[r][v]) : acc[r][v]); \
        }                                                                               \
      }                                                                                 \
  }
#define TILES(MR)                                                                     \
  TILE(MR, 1, 0, tile_##MR##x1) TILE(MR, 2, 0, tile_##MR##x2)                           \
  TILE(MR, 1, 1, mtile_##MR##x1) TILE(MR, 2, 1, mtile_##MR##x2)
TILES(1)
TILES(2)
TILES(3)
TILES(4)
TILES(5)
TILES(6)
TILES(7)
TILES(8)

typedef void Tile(int64_t, const float *, int64_t, int64_t, const float *, int64_t, float *,
                  int64_t, int, __mmask16);
static Tile *const tiles[2][2][9] = { /* [masked][vectors - 1][rows] */
    {{0, tile_1x1, tile_2x1, tile_3x1, tile_4x1, tile_5x1, tile_6x1, tile_7x1, tile_8x1},
     {0, tile_1x2, tile_2x2, tile_3x2, tile_4x2, tile_5x2, tile_6x2, tile_7x2, tile_8x2}},
    {{0, mtile_1x1, mtile_2x1, mtile_3x1, mtile_4x1, mtile_5x1, mtile_6x1, mtile_7x1, mtile_8x1},
     {0, mtile_1x2, mtile_2x2, mtile_3x2, mtile_4x2, mtile_5x2, mtile_6x2, mtile_7x2, mtile_8x2}}};

/* C[M x N] (+)= op(A)[M x K] B[K x N] by the tiles, alpha 1, beta 0 or 1
 * (op(A)'s element (i, k) at A[i ar + k ak]). Rows in ceil(M / 8) tiles of
 * as equal a height as can be (10 rows: 5 + 5, not 8 + 2, whose 4
 * accumulators cannot hide the adds' latency); columns 32 at a time, the
 * last 1 to 31 under a mask. */
AVX512 static void run_tiles(int64_t M, int64_t N, int64_t K, const float *A, int64_t ar,
                             int64_t ak, const float *B, int64_t ldb, int beta, float *C,
                             int64_t ldc) {
  int64_t nt = (M + 7) / 8, h = M / nt, tall = M % nt; /* tall tiles have h + 1 rows */
  for (int64_t j = 0; j < N; j += 32) {
    int64_t w = N - j < 32 ? N - j : 32;
    int nv = w > 16 ? 2 : 1, mk = w % 16 != 0;
    __mmask16 mask = (__mmask16)(mk ? (1u << (w % 16)) - 1 : 0xffff);
    for (int64_t t = 0, i = 0; t < nt; t++) {
      int64_t m = h + (t < tall);
      tiles[mk][nv - 1][m](K, A + i * ar, ar, ak, B + j, ldb, C + i * ldc + j, ldc, beta, mask);
      i += m;
    }
  }
}

/* C (+)= op(A) B, alpha 1, beta 0 or 1, K in chunks of KC */
AVX512 static void own_gemm(int ta, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                            const float *B, int64_t ldb, int beta, float *C, int64_t ldc) {
  int64_t ar = ta ? 1 : lda, ak = ta ? lda : 1;
  for (int64_t k0 = 0; k0 < K; k0 += KC) {
    int64_t kc = K - k0 < KC ? K - k0 : KC;
    run_tiles(M, N, kc, A + k0 * ak, ar, ak, B + k0 * ldb, ldb, beta || k0 > 0, C, ldc);
  }
}

/* op(B) = B^T: B's rows [j0, j0 + nc) and columns [k0, k0 + kc) go into
 * a thread's panel transposed (panel[k][j], NC floats a row), 16 x 16 at a
 * time in registers; the tiles then read the panel as they read B. Rows
 * and columns past the edges are zeros. */
enum { KT = 256, NC = 64 };               /* a panel: KT x NC floats, 64 KiB */
static _Thread_local float panel[KT * NC];

AVX512 static void transpose_panel(const float *B, int64_t ldb, int64_t j0, int64_t nc,
                                   int64_t k0, int64_t kc) {
  for (int64_t jb = 0; jb < nc; jb += 16)
    for (int64_t kb = 0; kb < kc; kb += 16) {
      int64_t kn = kc - kb < 16 ? kc - kb : 16, jn = nc - jb < 16 ? nc - jb : 16;
      __mmask16 km = (__mmask16)(kn == 16 ? 0xffff : (1u << kn) - 1);
      __m512 r[16], t[16], u[16];
      for (int i = 0; i < 16; i++)
        r[i] = i < jn ? _mm512_maskz_loadu_ps(km, B + (j0 + jb + i) * ldb + k0 + kb)
                      : _mm512_setzero_ps();
      for (int i = 0; i < 16; i += 2) { /* pairs of rows, interleaved */
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
      }
      for (int g = 0; g < 16; g += 4) { /* u[g + c]: rows g .. g + 3 at columns 4 l + c */
        __m512d a = _mm512_castps_pd(t[g]), b = _mm512_castps_pd(t[g + 2]);
        __m512d c = _mm512_castps_pd(t[g + 1]), d = _mm512_castps_pd(t[g + 3]);
        u[g] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
        u[g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
        u[g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(c, d));
        u[g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(c, d));
      }
      for (int c = 0; c < 4; c++) { /* column 4 l + c: lane g of it from u[4 g + c], lane l */
        __m512 lo01 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x44);
        __m512 hi01 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xee);
        __m512 lo23 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x44);
        __m512 hi23 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xee);
        __m512 col[4] = {_mm512_shuffle_f32x4(lo01, lo23, 0x88), _mm512_shuffle_f32x4(lo01, lo23, 0xdd),
                         _mm512_shuffle_f32x4(hi01, hi23, 0x88), _mm512_shuffle_f32x4(hi01, hi23, 0xdd)};
        for (int l = 0; l < 4; l++)
          if (4 * l + c < kn)
            _mm512_storeu_ps(panel + (kb + 4 * l + c) * NC + jb, col[l]);
      }
    }
}

/* C (+)= op(A) B^T, alpha 1, beta 0 or 1: K in chunks of KT, N in panels
 * of NC columns, each transposed once and run through the tiles for every
 * row. Every element is the same sum, in the same order, whatever M is. */
AVX512 static void own_gemm_nt(int ta, int64_t M, int64_t N, int64_t K, const float *A,
                               int64_t lda, const float *B, int64_t ldb, int beta, float *C,
                               int64_t ldc) {
  int64_t ar = ta ? 1 : lda, ak = ta ? lda : 1;
  for (int64_t k0 = 0; k0 < K; k0 += KT) {
    int64_t kc = K - k0 < KT ? K - k0 : KT;
    for (int64_t j0 = 0; j0 < N; j0 += NC) {
      int64_t nc = N - j0 < NC ? N - j0 : NC;
      transpose_panel(B, ldb, j0, nc, k0, kc);
      run_tiles(M, nc, kc, A + k0 * ak, ar, ak, panel, NC, beta || k0 > 0, C + j0, ldc);
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
  if (alpha == 1 && (beta == 0 || beta == 1) && K > 0 && own_mode()) {
    if (trans_b)
      own_gemm_nt(trans_a, M, N, K, A, lda, B, ldb, beta != 0, C, ldc);
    else
      own_gemm(trans_a, M, N, K, A, lda, B, ldb, beta != 0, C, ldc);
    return;
  }
#endif
  blas_gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
