/* kir/gemm.c: GEMMs as generated loop nests, for code that must not call
 * BLAS (inference-only programs, kir/infer.c) and for any program whose
 * GEMMs have constant shapes. C[M, N] = op(A)[M, K] op(B)[K, N] (+ C) is
 * cut into register tiles of MR x NR: each tile's sums live in an array
 * local (kb_local_array, which the back ends render as registers once the
 * constant loops over it are unrolled), the K loop streams one element of
 * each of MR rows of op(A) and NR consecutive elements of one row of
 * op(B), and the NR loop is the one the C compiler or LLVM vectorizes.
 * Every shape is a constant, so the tiles at the right and bottom edges
 * are loop nests of their own, specialized to the leftover sizes. The
 * expansion is plain kernel IR: both back ends render it with nothing of
 * their own, and a program that wants it sets Unit.gen_gemm. What this
 * leaves to others: packing (the operands are read in place) and
 * parallelism. */
#include "kir/kir.h"

/* the tile: MR rows, NR columns; MTLC_TILE=MRxNR overrides it, for tuning */
static void tile_shape(int64_t M, int64_t N, int64_t *mr, int64_t *nr) {
  int64_t r = 8, c = 32;
  if (M <= 2) /* a batch-1 dense layer: one wide row */
    r = M, c = 128;
  const char *env = getenv("MTLC_TILE");
  long long er, ec;
  if (env && sscanf(env, "%lldx%lld", &er, &ec) == 2 && er > 0 && ec > 0)
    r = er, c = ec;
  *mr = r < M ? r : M;
  *nr = c < N ? c : N;
}

typedef struct {
  KB *kb;
  int ta, tb;
  Expr *K;
  Buf *A, *B, *C;
  Expr *offa, *offb, *offc, *lda, *ldb, *ldc;
  bool accumulate;
} Gemm;

/* a loop of n trips, or the constant 0 for one trip; `looped` says which */
static Expr *loop_or_zero(KB *kb, int64_t n, bool *looped) {
  *looped = n > 1;
  return n > 1 ? kb_loop(kb, kx_i(kb, n)) : kx_i(kb, 0);
}

static Expr *add(KB *kb, Expr *x, Expr *y) { return kx_bin(kb, XB_ADD, x, y); }
static Expr *mul(KB *kb, Expr *x, Expr *y) { return kx_bin(kb, XB_MUL, x, y); }

/* element (row, col) of a row-major matrix at off with leading dimension
 * ld, transposed when t */
static Expr *at(KB *kb, Buf *m, Expr *off, Expr *ld, int t, Expr *row, Expr *col) {
  Expr *i = t ? add(kb, mul(kb, col, ld), row) : add(kb, mul(kb, row, ld), col);
  return kx_load(kb, m, add(kb, off, i));
}

/* one MR x NR tile of C at (i, j) */
static void tile(Gemm *g, Expr *i, Expr *j, int64_t mr, int64_t nr) {
  KB *kb = g->kb;
  Expr *acc = kb_local_array(kb, mr * nr);
  Expr *e = kb_loop(kb, kx_i(kb, mr * nr));
  kb_set_elem(kb, acc, e, kx_f(kb, 0));
  kb_end(kb);
  Expr *k = kb_loop(kb, g->K);
  bool rl;
  Expr *r = loop_or_zero(kb, mr, &rl);
  Expr *a = kb_local(kb, at(kb, g->A, g->offa, g->lda, g->ta, add(kb, i, r), k));
  Expr *c = kb_loop(kb, kx_i(kb, nr));
  Expr *ei = add(kb, mul(kb, r, kx_i(kb, nr)), c);
  kb_set_elem(kb, acc, ei,
              add(kb, kx_elem(kb, acc, ei),
                  mul(kb, a, at(kb, g->B, g->offb, g->ldb, g->tb, k, add(kb, j, c)))));
  kb_end(kb);
  if (rl)
    kb_end(kb);
  kb_end(kb);
  r = loop_or_zero(kb, mr, &rl);
  c = kb_loop(kb, kx_i(kb, nr));
  Expr *ci = add(kb, g->offc, add(kb, mul(kb, add(kb, i, r), g->ldc), add(kb, j, c)));
  kb_store(kb, g->C, ci, kx_elem(kb, acc, add(kb, mul(kb, r, kx_i(kb, nr)), c)), g->accumulate);
  kb_end(kb);
  if (rl)
    kb_end(kb);
}

/* the tiles of a band of rows from i: full-width tiles, then the right edge */
static void band(Gemm *g, Expr *i, int64_t mr, int64_t N, int64_t nr) {
  KB *kb = g->kb;
  int64_t full = N / nr, left = N % nr;
  if (full) {
    bool jl;
    Expr *jt = loop_or_zero(kb, full, &jl);
    tile(g, i, mul(kb, jt, kx_i(kb, nr)), mr, nr);
    if (jl)
      kb_end(kb);
  }
  if (left)
    tile(g, i, kx_i(kb, full * nr), mr, left);
}

bool kb_gemm_loops(KB *kb, int ta, int tb, Expr *M, Expr *N, Expr *K, Buf *A, Expr *offa,
                   Expr *lda, Buf *B, Expr *offb, Expr *ldb, Buf *C, Expr *offc, Expr *ldc,
                   double beta) {
  if (M->kind != X_I || N->kind != X_I || K->kind != X_I || M->i < 1 || N->i < 1 || K->i < 1)
    return false;
  Gemm g = {kb, ta, tb, K, A, B, C, offa, offb, offc, lda, ldb, ldc, beta != 0};
  int64_t mr, nr;
  tile_shape(M->i, N->i, &mr, &nr);
  int64_t full = M->i / mr, left = M->i % mr;
  if (full) {
    bool il;
    Expr *it = loop_or_zero(kb, full, &il);
    band(&g, mul(kb, it, kx_i(kb, mr)), mr, N->i, nr);
    if (il)
      kb_end(kb);
  }
  if (left)
    band(&g, kx_i(kb, full * mr), left, N->i, nr);
  return true;
}
