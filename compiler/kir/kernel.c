/* kernel.c: graph IR to kernel IR, and the memory plan. Each node that
 * computes something becomes one kernel (kl_NAME, one per op in ops.def):
 * loops with trip counts known at compile time or equal to the batch B,
 * float arithmetic in single precision, GEMM-shaped work (dense, and
 * convolutions through im2col) as calls to the runtime's sgemm. Buffers
 * live in four groups (parameters, gradients, optimizer state,
 * activations); activations, intermediate gradients and scratch get fixed
 * offsets in one arena, reused once their last reader has run. Three
 * programs come out of one model: the train step (forward, backward,
 * update), evaluation (no dropout; losses and outputs) and the forward pass
 * alone. No rendering here: emit_c.c and emit_llvm.c do that. */
#include "kir/kir.h"

#include <math.h>
#include <string.h>
#include <time.h>

#define ALIGN 16 /* floats: 64 bytes */

typedef struct {
  Arena *a;
  Program *p;
  Kernel *k;
  Vec *stack[16];
  int depth;
} KB;

/* ---- expressions ------------------------------------------------------------ */

static Expr *ex(KB *kb, ExprKind kind, bool is_int) {
  Expr *e = arena_alloc(kb->a, sizeof(Expr));
  e->kind = kind;
  e->is_int = is_int;
  return e;
}

Expr *kx_const(Arena *a, double f) {
  Expr *e = arena_alloc(a, sizeof(Expr));
  e->kind = X_F;
  e->f = f;
  return e;
}

static Expr *FC(KB *kb, double f) { return kx_const(kb->a, f); }

static Expr *I(KB *kb, int64_t i) {
  Expr *e = ex(kb, X_I, true);
  e->i = i;
  return e;
}

static Expr *V(KB *kb, int var) {
  Expr *e = ex(kb, X_VAR, true);
  e->i = var;
  return e;
}

static Expr *LOC(KB *kb, int local, bool is_int) {
  Expr *e = ex(kb, X_LOCAL, is_int);
  e->i = local;
  return e;
}

static Expr *BATCH(KB *kb) { return ex(kb, X_BATCH, true); }

static Expr *HYPER(KB *kb, int i) {
  Expr *e = ex(kb, X_HYPER, false);
  e->i = i;
  return e;
}

static Expr *LD(KB *kb, Buf *b, Expr *idx) {
  Expr *e = ex(kb, X_LOAD, b->is_int);
  e->buf = b;
  e->a = idx;
  return e;
}

static Expr *bin(KB *kb, BinOp op, Expr *x, Expr *y) {
  MTLC_ASSERT(x->is_int == y->is_int);
  if (x->kind == X_I && y->kind == X_I) {
    int64_t a = x->i, b = y->i;
    switch (op) {
    case XB_ADD: return I(kb, a + b);
    case XB_SUB: return I(kb, a - b);
    case XB_MUL: return I(kb, a * b);
    default: break;
    }
  }
  if (x->is_int && op == XB_MUL && ((x->kind == X_I && x->i == 0) || (y->kind == X_I && y->i == 0)))
    return I(kb, 0);
  if (op == XB_MUL && y->kind == (x->is_int ? X_I : X_F) && (x->is_int ? y->i == 1 : y->f == 1))
    return x;
  if (op == XB_MUL && x->kind == (x->is_int ? X_I : X_F) && (x->is_int ? x->i == 1 : x->f == 1))
    return y;
  if ((op == XB_ADD || op == XB_SUB) && x->is_int && y->kind == X_I && y->i == 0)
    return x;
  if (op == XB_ADD && x->is_int && x->kind == X_I && x->i == 0)
    return y;
  bool cmp = op >= XB_LT && op <= XB_AND;
  Expr *e = ex(kb, X_BIN, cmp ? true : x->is_int);
  e->op = op;
  e->a = x;
  e->b = y;
  return e;
}

static Expr *un(KB *kb, UnOp op, Expr *x) {
  Expr *e = ex(kb, X_UN, x->is_int);
  e->op = op;
  e->a = x;
  return e;
}

static Expr *sel(KB *kb, Expr *c, Expr *x, Expr *y) {
  MTLC_ASSERT(x->is_int == y->is_int);
  Expr *e = ex(kb, X_SEL, x->is_int);
  e->a = c, e->b = x, e->c = y;
  return e;
}

static Expr *TOF(KB *kb, Expr *x) {
  if (!x->is_int)
    return x;
  Expr *e = ex(kb, X_TOF, false);
  e->a = x;
  return e;
}

static Expr *TOI(KB *kb, Expr *x) {
  if (x->is_int)
    return x;
  Expr *e = ex(kb, X_TOI, true);
  e->a = x;
  return e;
}

#define ADD(x, y) bin(kb, XB_ADD, x, y)
#define SUB(x, y) bin(kb, XB_SUB, x, y)
#define MUL(x, y) bin(kb, XB_MUL, x, y)
#define DIV(x, y) bin(kb, XB_DIV, x, y)

/* ---- statements ----------------------------------------------------------------- */

static Stmt *stmt(KB *kb, StmtKind kind) {
  Stmt *s = arena_alloc(kb->a, sizeof(Stmt));
  s->kind = kind;
  vec_push(kb->a, kb->stack[kb->depth - 1], s);
  return s;
}

/* for (v = 0; v < hi; v++) { ... end(kb) */
static Expr *loop(KB *kb, Expr *hi) {
  Stmt *s = stmt(kb, K_FOR);
  s->var = kb->k->nvars++;
  s->hi = hi;
  MTLC_ASSERT(kb->depth < 16);
  kb->stack[kb->depth++] = &s->body;
  return V(kb, s->var);
}

static void end(KB *kb) { kb->depth--; }

static void store(KB *kb, Buf *b, Expr *idx, Expr *val, bool accum) {
  Stmt *s = stmt(kb, K_STORE);
  s->buf = b;
  s->idx = idx;
  s->val = b->is_int ? TOI(kb, val) : TOF(kb, val);
  s->accum = accum;
}

static Expr *local(KB *kb, Expr *init) {
  Stmt *s = stmt(kb, K_LOCAL);
  s->var = kb->k->nlocals++;
  s->val = init;
  s->is_int = init->is_int;
  return LOC(kb, s->var, init->is_int);
}

static void set(KB *kb, Expr *loc, Expr *val) {
  Stmt *s = stmt(kb, K_SET);
  s->var = (int)loc->i;
  s->val = val;
}

static void gemm(KB *kb, int ta, int tb, Expr *M, Expr *N, Expr *K, Buf *A,
                 Expr *offa, Expr *lda, Buf *B, Expr *offb, Expr *ldb, Buf *C,
                 Expr *offc, Expr *ldc, double beta) {
  Stmt *s = stmt(kb, K_GEMM);
  s->ta = ta, s->tb = tb, s->M = M, s->N = N, s->K = K;
  s->A = A, s->offa = offa, s->lda = lda;
  s->B = B, s->offb = offb, s->ldb = ldb;
  s->C = C, s->offc = offc, s->ldc = ldc;
  s->alpha = 1, s->beta = beta;
}

/* ---- kernels, one per op ------------------------------------------------------------ */

#define KL(name) static void kl_##name(KB *kb, Node *n)
#define NO_KERNEL(name)                                                        \
  KL(name) { (void)kb, (void)n; }
#define BUF(node) (kb->p->buf[(node)->id])
#define OUT BUF(n)
#define IN(k) BUF(n->in[k])

/* element count of a node: B * numel, or numel */
static Expr *count(KB *kb, Node *n) {
  Expr *c = I(kb, shape_numel(n->shape));
  return n->batched ? MUL(BATCH(kb), c) : c;
}

NO_KERNEL(INPUT)
NO_KERNEL(LABEL)
NO_KERNEL(PARAM)
NO_KERNEL(STATE)
NO_KERNEL(RESHAPE) /* a view of its input: same buffer */
NO_KERNEL(SGD)     /* updates are emitted by kl_update */
NO_KERNEL(ADAM)

KL(DROPMASK) {
  Stmt *s = stmt(kb, K_DROPOUT);
  s->buf = OUT;
  s->val = count(kb, n);
  s->p = (float)n->f[0];
  s->stream = n->id;
}

KL(CONST) { store(kb, OUT, I(kb, 0), FC(kb, n->f[0]), false); }

static Buf *table_buf(KB *kb, Node *n) {
  Buf *t = arena_alloc(kb->a, sizeof(Buf));
  t->kind = BUF_CONST;
  t->is_int = true;
  t->ntable = n->ntable;
  t->size = n->ntable;
  t->table = arena_alloc(kb->a, sizeof(int32_t) * (size_t)n->ntable);
  for (int i = 0; i < n->ntable; i++)
    t->table[i] = (int32_t)n->table[i];
  t->name = arena_printf(kb->a, "%slookup%d", kb->k->prefix, n->id);
  t->what = "label table";
  return t;
}

/* labels are int32 in data, float where derived */
static Expr *label_at(KB *kb, Node *lbl, Expr *idx) {
  return TOI(kb, LD(kb, BUF(lbl), idx));
}

KL(LOOKUP) {
  Buf *t = table_buf(kb, n);
  Expr *b = loop(kb, BATCH(kb));
  store(kb, OUT, b, TOF(kb, LD(kb, t, label_at(kb, n->in[0], b))), false);
  end(kb);
}

/* y[B, U] = x[B, D] W[U, D]^T */
KL(MATMUL) {
  int64_t D = n->in[0]->shape.d[0], U = n->shape.d[0];
  gemm(kb, 0, 1, BATCH(kb), I(kb, U), I(kb, D), IN(0), I(kb, 0), I(kb, D), IN(1), I(kb, 0),
       I(kb, D), OUT, I(kb, 0), I(kb, U), 0);
}

/* dx[B, D] = dy[B, U] W[U, D] */
KL(MATMUL_NN) {
  int64_t U = n->in[0]->shape.d[0], D = n->shape.d[0];
  gemm(kb, 0, 0, BATCH(kb), I(kb, D), I(kb, U), IN(0), I(kb, 0), I(kb, U), IN(1), I(kb, 0),
       I(kb, D), OUT, I(kb, 0), I(kb, D), 0);
}

/* dW[U, D] = dy[B, U]^T x[B, D] */
KL(MATMUL_TN) {
  int64_t U = n->shape.d[0], D = n->shape.d[1];
  gemm(kb, 1, 0, I(kb, U), I(kb, D), BATCH(kb), IN(0), I(kb, 0), I(kb, U), IN(1), I(kb, 0),
       I(kb, D), OUT, I(kb, 0), I(kb, D), 0);
}

/* y[b, f, s] = x[b, f, s] + bias[f] */
KL(BIAS) {
  int64_t F = n->shape.d[0], S = shape_numel(n->shape) / F;
  Expr *b = loop(kb, BATCH(kb));
  Expr *f = loop(kb, I(kb, F));
  Expr *bias = local(kb, LD(kb, IN(1), f));
  Expr *s = loop(kb, I(kb, S));
  Expr *i = ADD(MUL(ADD(MUL(b, I(kb, F)), f), I(kb, S)), s);
  store(kb, OUT, i, ADD(LD(kb, IN(0), i), bias), false);
  end(kb), end(kb), end(kb);
}

/* db[f] = sum over b and s of dy[b, f, s]: first over the batch into
 * acc[F, S] (independent adds that vectorize), then over s */
static Buf *scratch(KB *kb, Node *n, int slot, int64_t size, const char *what);

KL(BIAS_GRAD) {
  Node *dy = n->in[0];
  int64_t F = n->shape.d[0], S = shape_numel(dy->shape) / F;
  Buf *acc = scratch(kb, n, 0, F * S, "sum over the batch");
  Expr *i = loop(kb, I(kb, F * S));
  store(kb, acc, i, FC(kb, 0), false);
  end(kb);
  Expr *b = loop(kb, BATCH(kb));
  i = loop(kb, I(kb, F * S));
  store(kb, acc, i, LD(kb, IN(0), ADD(MUL(b, I(kb, F * S)), i)), true);
  end(kb), end(kb);
  Expr *f = loop(kb, I(kb, F));
  Expr *sum = local(kb, FC(kb, 0));
  Expr *s = loop(kb, I(kb, S));
  set(kb, sum, ADD(sum, LD(kb, acc, ADD(MUL(f, I(kb, S)), s))));
  end(kb);
  store(kb, OUT, f, sum, false);
  end(kb);
}

/* ---- convolution: im2col + GEMM per sample ---- */

typedef struct {
  int64_t C, H, W, F, Ho, Wo, K, S, P;
} Geo;

static Geo geo(const Node *x, const Node *y, const int64_t *a) {
  return (Geo){x->shape.d[0], x->shape.d[1], x->shape.d[2], y->shape.d[0],
               y->shape.d[1], y->shape.d[2], a[2], a[0], a[1]};
}

static void zero(KB *kb, Buf *b, Expr *n) {
  Expr *i = loop(kb, n);
  store(kb, b, i, FC(kb, 0), false);
  end(kb);
}

/* Convolutions run per sample, each one GEMM over that sample's windows:
 *   col[CKK, HoWo] = the windows of x_b, read from a zero-padded copy
 *   y_b[F, HoWo]   = W[F, CKK] col
 * The per-sample blocks stay in cache; the padded copy keeps the window
 * loops free of bounds checks, so they vectorize. */


/* xp[C, H + 2P, W + 2P]: sample b of x in the middle, zeros around */
static Buf *pad_sample(KB *kb, Node *n, Geo g, Buf *x, Expr *b) {
  if (!g.P)
    return NULL;
  int64_t hp = g.H + 2 * g.P, wp = g.W + 2 * g.P;
  Buf *xp = scratch(kb, n, 0, g.C * hp * wp, "one sample, zero-padded");
  zero(kb, xp, I(kb, g.C * hp * wp));
  Expr *c = loop(kb, I(kb, g.C));
  Expr *h = loop(kb, I(kb, g.H));
  Expr *w = loop(kb, I(kb, g.W));
  store(kb, xp, ADD(MUL(ADD(MUL(c, I(kb, hp)), ADD(h, I(kb, g.P))), I(kb, wp)), ADD(w, I(kb, g.P))),
        LD(kb, x, ADD(MUL(ADD(MUL(ADD(MUL(b, I(kb, g.C)), c), I(kb, g.H)), h), I(kb, g.W)), w)),
        false);
  end(kb), end(kb), end(kb);
  return xp;
}

/* col[(c K + kh) K + kw, oh Wo + ow] = src[c, oh S + kh, ow S + kw], src one
 * (padded) sample at `base`; with back, src[...] += col[...] (col2im) */
static void im2col(KB *kb, Geo g, Buf *src, Expr *base, Buf *col, bool back) {
  int64_t hs = g.H + 2 * g.P, ws = g.W + 2 * g.P, hw = g.Ho * g.Wo;
  Expr *c = loop(kb, I(kb, g.C));
  Expr *kh = loop(kb, I(kb, g.K));
  Expr *kw = loop(kb, I(kb, g.K));
  Expr *row = local(kb, MUL(ADD(MUL(ADD(MUL(c, I(kb, g.K)), kh), I(kb, g.K)), kw), I(kb, hw)));
  Expr *oh = loop(kb, I(kb, g.Ho));
  Expr *srow = local(kb, ADD(base, MUL(ADD(MUL(c, I(kb, hs)), ADD(MUL(oh, I(kb, g.S)), kh)),
                                       I(kb, ws))));
  Expr *ow = loop(kb, I(kb, g.Wo));
  Expr *ci = ADD(row, ADD(MUL(oh, I(kb, g.Wo)), ow));
  Expr *si = ADD(srow, ADD(MUL(ow, I(kb, g.S)), kw));
  if (!back)
    store(kb, col, ci, LD(kb, src, si), false);
  else
    store(kb, src, si, LD(kb, col, ci), true);
  end(kb), end(kb), end(kb), end(kb), end(kb);
}

/* the windows of sample b */
static void windows(KB *kb, Node *n, Geo g, Buf *x, Expr *b, Buf *col) {
  Buf *xp = pad_sample(kb, n, g, x, b);
  im2col(kb, g, xp ? xp : x, xp ? I(kb, 0) : MUL(b, I(kb, g.C * g.H * g.W)), col, false);
}

KL(CONV2D) { /* y_b[F, HoWo] = W[F, CKK] col_b[CKK, HoWo] */
  Geo g = geo(n->in[0], n, n->a);
  int64_t ckk = g.C * g.K * g.K, hw = g.Ho * g.Wo;
  Buf *col = scratch(kb, n, 1, ckk * hw, "the windows of one sample");
  Expr *b = loop(kb, BATCH(kb));
  windows(kb, n, g, IN(0), b, col);
  gemm(kb, 0, 0, I(kb, g.F), I(kb, hw), I(kb, ckk), IN(1), I(kb, 0), I(kb, ckk), col, I(kb, 0),
       I(kb, hw), OUT, MUL(b, I(kb, g.F * hw)), I(kb, hw), 0);
  end(kb);
}

KL(CONV2D_DW) { /* dW[F, CKK] += dy_b[F, HoWo] col_b[CKK, HoWo]^T */
  Geo g = geo(n->in[1], n->in[0], n->a);
  int64_t ckk = g.C * g.K * g.K, hw = g.Ho * g.Wo;
  Buf *col = scratch(kb, n, 1, ckk * hw, "the windows of one sample");
  zero(kb, OUT, I(kb, g.F * ckk));
  Expr *b = loop(kb, BATCH(kb));
  windows(kb, n, g, IN(1), b, col);
  gemm(kb, 0, 1, I(kb, g.F), I(kb, ckk), I(kb, hw), IN(0), MUL(b, I(kb, g.F * hw)), I(kb, hw),
       col, I(kb, 0), I(kb, hw), OUT, I(kb, 0), I(kb, ckk), 1);
  end(kb);
}

KL(CONV2D_DX) { /* col_b = W^T dy_b; col2im into a padded sample; its middle */
  Geo g = geo(n, n->in[0], n->a);
  int64_t ckk = g.C * g.K * g.K, hw = g.Ho * g.Wo;
  int64_t hp = g.H + 2 * g.P, wp = g.W + 2 * g.P;
  Buf *col = scratch(kb, n, 1, ckk * hw, "the windows of one sample");
  Buf *dxp = g.P ? scratch(kb, n, 0, g.C * hp * wp, "one sample's gradient, zero-padded") : NULL;
  if (!g.P)
    zero(kb, OUT, count(kb, n));
  Expr *b = loop(kb, BATCH(kb));
  gemm(kb, 1, 0, I(kb, ckk), I(kb, hw), I(kb, g.F), IN(1), I(kb, 0), I(kb, ckk), IN(0),
       MUL(b, I(kb, g.F * hw)), I(kb, hw), col, I(kb, 0), I(kb, hw), 0);
  if (!g.P) {
    im2col(kb, g, OUT, MUL(b, I(kb, g.C * g.H * g.W)), col, true);
  } else {
    zero(kb, dxp, I(kb, g.C * hp * wp));
    im2col(kb, g, dxp, I(kb, 0), col, true);
    Expr *c = loop(kb, I(kb, g.C));
    Expr *h = loop(kb, I(kb, g.H));
    Expr *w = loop(kb, I(kb, g.W));
    store(kb, OUT, ADD(MUL(ADD(MUL(ADD(MUL(b, I(kb, g.C)), c), I(kb, g.H)), h), I(kb, g.W)), w),
          LD(kb, dxp, ADD(MUL(ADD(MUL(c, I(kb, hp)), ADD(h, I(kb, g.P))), I(kb, wp)),
                          ADD(w, I(kb, g.P)))), false);
    end(kb), end(kb), end(kb);
  }
  end(kb);
}

/* ---- pooling: window a2, stride a0, no padding ---- */

typedef struct {
  Expr *b, *c, *oh, *ow, *yi, *base;
} PoolLoops;

static PoolLoops pool_loops(KB *kb, const Node *x, const Node *y) {
  int64_t C = x->shape.d[0], H = x->shape.d[1], W = x->shape.d[2];
  int64_t Ho = y->shape.d[1], Wo = y->shape.d[2];
  PoolLoops l;
  l.b = loop(kb, BATCH(kb));
  l.c = loop(kb, I(kb, C));
  l.oh = loop(kb, I(kb, Ho));
  l.ow = loop(kb, I(kb, Wo));
  Expr *bc = ADD(MUL(l.b, I(kb, C)), l.c);
  l.yi = ADD(MUL(ADD(MUL(bc, I(kb, Ho)), l.oh), I(kb, Wo)), l.ow);
  l.base = MUL(bc, I(kb, H * W));
  return l;
}

/* index of window element (kh, kw) */
static Expr *pool_at(KB *kb, const Node *x, const int64_t *a, PoolLoops *l,
                     Expr *kh, Expr *kw) {
  int64_t W = x->shape.d[2], S = a[0];
  return ADD(l->base, ADD(MUL(ADD(MUL(l->oh, I(kb, S)), kh), I(kb, W)),
                          ADD(MUL(l->ow, I(kb, S)), kw)));
}

static void pool_end(KB *kb) { end(kb), end(kb), end(kb), end(kb); }

KL(MAXPOOL) {
  PoolLoops l = pool_loops(kb, n->in[0], n);
  Expr *m = local(kb, FC(kb, -INFINITY));
  Expr *kh = loop(kb, I(kb, n->a[2])), *kw = loop(kb, I(kb, n->a[2]));
  set(kb, m, bin(kb, XB_MAX, m, LD(kb, IN(0), pool_at(kb, n->in[0], n->a, &l, kh, kw))));
  end(kb), end(kb);
  store(kb, OUT, l.yi, m, false);
  pool_end(kb);
}

KL(AVGPOOL) {
  PoolLoops l = pool_loops(kb, n->in[0], n);
  Expr *s = local(kb, FC(kb, 0));
  Expr *kh = loop(kb, I(kb, n->a[2])), *kw = loop(kb, I(kb, n->a[2]));
  set(kb, s, ADD(s, LD(kb, IN(0), pool_at(kb, n->in[0], n->a, &l, kh, kw))));
  end(kb), end(kb);
  store(kb, OUT, l.yi, MUL(s, FC(kb, 1.0 / (double)(n->a[2] * n->a[2]))), false);
  pool_end(kb);
}

/* the gradient goes to the first maximum of each window */
KL(MAXPOOL_BWD) { /* dy, x */
  Node *x = n->in[1];
  zero(kb, OUT, count(kb, n));
  PoolLoops l = pool_loops(kb, x, n->in[0]);
  Expr *first = pool_at(kb, x, n->a, &l, I(kb, 0), I(kb, 0));
  Expr *best = local(kb, LD(kb, IN(1), first));
  Expr *arg = local(kb, first);
  Expr *kh = loop(kb, I(kb, n->a[2])), *kw = loop(kb, I(kb, n->a[2]));
  Expr *at = local(kb, pool_at(kb, x, n->a, &l, kh, kw));
  Expr *v = local(kb, LD(kb, IN(1), at));
  set(kb, arg, sel(kb, bin(kb, XB_GT, v, best), at, arg));
  set(kb, best, bin(kb, XB_MAX, best, v));
  end(kb), end(kb);
  store(kb, OUT, arg, LD(kb, IN(0), l.yi), true);
  pool_end(kb);
}

KL(AVGPOOL_BWD) { /* dy */
  zero(kb, OUT, count(kb, n));
  PoolLoops l = pool_loops(kb, n, n->in[0]);
  Expr *d = local(kb, MUL(LD(kb, IN(0), l.yi), FC(kb, 1.0 / (double)(n->a[2] * n->a[2]))));
  Expr *kh = loop(kb, I(kb, n->a[2])), *kw = loop(kb, I(kb, n->a[2]));
  store(kb, OUT, pool_at(kb, n, n->a, &l, kh, kw), d, true);
  end(kb), end(kb);
  pool_end(kb);
}

/* ---- elementwise ---- */

#define ELEMENTWISE(name, expr)                                                \
  KL(name) {                                                                   \
    Expr *i = loop(kb, count(kb, n));                                          \
    Expr *x = LD(kb, IN(0), i);                                                \
    Expr *y = n->nin > 1 ? LD(kb, IN(1), n->in[1]->shape.rank || n->in[1]->batched ? i : I(kb, 0)) : NULL; \
    (void)x, (void)y;                                                          \
    store(kb, OUT, i, (expr), false);                                          \
    end(kb);                                                                   \
  }

/* An activation, with the bias before it folded in when the planner fused
 * the two: y[b, f, s] = act(x[b, f, s] + bias[f]), one pass instead of two. */
static Expr *activate(KB *kb, Op op, Expr *x) {
  switch (op) {
  case OP_RELU: return bin(kb, XB_MAX, x, FC(kb, 0));
  case OP_SIGMOID: return DIV(FC(kb, 1), ADD(FC(kb, 1), un(kb, XU_EXP, un(kb, XU_NEG, x))));
  case OP_TANH: return un(kb, XU_TANH, x);
  default: unreachable();
  }
  return NULL;
}

static void activation(KB *kb, Node *n) {
  Node *in = n->in[0];
  if (!kb->p->fused || !kb->p->fused[in->id]) {
    Expr *i = loop(kb, count(kb, n));
    store(kb, OUT, i, activate(kb, n->op, LD(kb, IN(0), i)), false);
    end(kb);
    return;
  }
  Buf *x = BUF(in->in[0]), *bias = BUF(in->in[1]);
  int64_t F = n->shape.d[0], S = shape_numel(n->shape) / F;
  Expr *b = loop(kb, BATCH(kb));
  Expr *f = loop(kb, I(kb, F));
  Expr *bf = local(kb, LD(kb, bias, f));
  Expr *s = loop(kb, I(kb, S));
  Expr *i = ADD(MUL(ADD(MUL(b, I(kb, F)), f), I(kb, S)), s);
  store(kb, OUT, i, activate(kb, n->op, ADD(LD(kb, x, i), bf)), false);
  end(kb), end(kb), end(kb);
}

KL(RELU) { activation(kb, n); }
KL(SIGMOID) { activation(kb, n); }
KL(TANH) { activation(kb, n); }
ELEMENTWISE(ADD, ADD(x, y))
ELEMENTWISE(SUB, SUB(x, y))
ELEMENTWISE(MUL, MUL(x, y))
ELEMENTWISE(SCALE, MUL(x, FC(kb, n->f[0])))
ELEMENTWISE(RELU_BWD, sel(kb, bin(kb, XB_GT, y, FC(kb, 0)), x, FC(kb, 0)))
ELEMENTWISE(SIGMOID_BWD, MUL(MUL(x, y), SUB(FC(kb, 1), y)))
ELEMENTWISE(TANH_BWD, MUL(x, SUB(FC(kb, 1), MUL(y, y))))

KL(SUMSQ_BWD) { /* ds, x: 2 ds x */
  Expr *d = local(kb, MUL(FC(kb, 2), LD(kb, IN(0), I(kb, 0))));
  Expr *i = loop(kb, count(kb, n));
  store(kb, OUT, i, MUL(d, LD(kb, IN(1), i)), false);
  end(kb);
}

KL(SUMSQ) {
  Expr *s = local(kb, FC(kb, 0));
  Expr *i = loop(kb, count(kb, n->in[0]));
  Expr *x = LD(kb, IN(0), i);
  set(kb, s, ADD(s, MUL(x, x)));
  end(kb);
  store(kb, OUT, I(kb, 0), s, false);
}

/* ---- losses ---- */

/* m = max_k z[b, k]; s = sum_k exp(z[b, k] - m) */
static void softmax_stats(KB *kb, Buf *z, Expr *b, int64_t K, Expr **m, Expr **s) {
  *m = local(kb, FC(kb, -INFINITY));
  Expr *k = loop(kb, I(kb, K));
  set(kb, *m, bin(kb, XB_MAX, *m, LD(kb, z, ADD(MUL(b, I(kb, K)), k))));
  end(kb);
  *s = local(kb, FC(kb, 0));
  k = loop(kb, I(kb, K));
  set(kb, *s, ADD(*s, un(kb, XU_EXP, SUB(LD(kb, z, ADD(MUL(b, I(kb, K)), k)), *m))));
  end(kb);
}

KL(CE_LOSS) {
  int64_t K = n->in[0]->shape.d[0];
  Expr *total = local(kb, FC(kb, 0));
  Expr *b = loop(kb, BATCH(kb)), *m, *s;
  softmax_stats(kb, IN(0), b, K, &m, &s);
  Expr *zy = LD(kb, IN(0), ADD(MUL(b, I(kb, K)), label_at(kb, n->in[1], b)));
  set(kb, total, ADD(total, SUB(ADD(m, un(kb, XU_LOG, s)), zy)));
  end(kb);
  store(kb, OUT, I(kb, 0), DIV(total, TOF(kb, BATCH(kb))), false);
}

KL(CE_BWD) { /* dl, logits, labels */
  int64_t K = n->shape.d[0];
  Expr *scale = local(kb, DIV(LD(kb, IN(0), I(kb, 0)), TOF(kb, BATCH(kb))));
  Expr *b = loop(kb, BATCH(kb)), *m, *s;
  softmax_stats(kb, IN(1), b, K, &m, &s);
  Expr *y = local(kb, label_at(kb, n->in[2], b));
  Expr *k = loop(kb, I(kb, K));
  Expr *i = ADD(MUL(b, I(kb, K)), k);
  Expr *p = DIV(un(kb, XU_EXP, SUB(LD(kb, IN(1), i), m)), s);
  Expr *onehot = sel(kb, bin(kb, XB_EQ, k, y), FC(kb, 1), FC(kb, 0));
  store(kb, OUT, i, MUL(scale, SUB(p, onehot)), false);
  end(kb), end(kb);
}

/* max(z, 0) - z y + log(1 + exp(-|z|)) */
KL(BCE_LOSS) {
  Expr *total = local(kb, FC(kb, 0));
  Expr *b = loop(kb, BATCH(kb));
  Expr *z = local(kb, LD(kb, IN(0), b));
  Expr *y = TOF(kb, label_at(kb, n->in[1], b));
  Expr *term = ADD(SUB(bin(kb, XB_MAX, z, FC(kb, 0)), MUL(z, y)),
                   un(kb, XU_LOG1P, un(kb, XU_EXP, un(kb, XU_NEG, un(kb, XU_ABS, z)))));
  set(kb, total, ADD(total, term));
  end(kb);
  store(kb, OUT, I(kb, 0), DIV(total, TOF(kb, BATCH(kb))), false);
}

KL(BCE_BWD) { /* dl, logits, labels: dl (sigmoid(z) - y) / B */
  Expr *scale = local(kb, DIV(LD(kb, IN(0), I(kb, 0)), TOF(kb, BATCH(kb))));
  Expr *b = loop(kb, BATCH(kb));
  Expr *z = local(kb, LD(kb, IN(1), b));
  Expr *e = local(kb, un(kb, XU_EXP, un(kb, XU_NEG, un(kb, XU_ABS, z)))); /* in (0, 1] */
  Expr *sig = sel(kb, bin(kb, XB_GE, z, FC(kb, 0)), DIV(FC(kb, 1), ADD(FC(kb, 1), e)),
                  DIV(e, ADD(FC(kb, 1), e)));
  store(kb, OUT, b, MUL(scale, SUB(sig, TOF(kb, label_at(kb, n->in[2], b)))), false);
  end(kb);
}

KL(MSE_LOSS) {
  Expr *total = local(kb, FC(kb, 0));
  Expr *i = loop(kb, count(kb, n->in[0]));
  Expr *d = local(kb, SUB(LD(kb, IN(0), i), TOF(kb, LD(kb, IN(1), i))));
  set(kb, total, ADD(total, MUL(d, d)));
  end(kb);
  store(kb, OUT, I(kb, 0), DIV(total, TOF(kb, count(kb, n->in[0]))), false);
}

KL(MSE_BWD) { /* dl, pred, target: dl 2 (pred - target) / (B D) */
  Expr *scale = local(kb, DIV(MUL(FC(kb, 2), LD(kb, IN(0), I(kb, 0))), TOF(kb, count(kb, n))));
  Expr *i = loop(kb, count(kb, n));
  store(kb, OUT, i, MUL(scale, SUB(LD(kb, IN(1), i), TOF(kb, LD(kb, IN(2), i)))), false);
  end(kb);
}

typedef void KlFn(KB *kb, Node *n);
static KlFn *const kernel_rule[NUM_OPS] = {
#define OP(name, text, arity, kind) [OP_##name] = kl_##name,
#include "graph/ops.def"
#undef OP
};

/* Optimizer updates, in place: PyTorch's SGD and Adam/AdamW. */
static void kl_update(KB *kb, Node *n) {
  Buf *p = BUF(n->in[0]), *g = BUF(n->in[1]);
  Expr *lr = local(kb, HYPER(kb, 0));
  Expr *i = loop(kb, I(kb, shape_numel(n->shape)));
  Expr *gi = local(kb, LD(kb, g, i));
  if (n->op == OP_SGD) {
    Expr *d = gi;
    if (n->nin == 3) {
      Buf *v = BUF(n->in[2]);
      Expr *vi = local(kb, ADD(MUL(FC(kb, n->f[0]), LD(kb, v, i)), gi));
      store(kb, v, i, vi, false);
      d = n->a[0] ? ADD(gi, MUL(FC(kb, n->f[0]), vi)) : vi;
    }
    store(kb, p, i, SUB(LD(kb, p, i), MUL(lr, d)), false);
  } else {
    Buf *m = BUF(n->in[2]), *v = BUF(n->in[3]);
    double b1 = n->f[0], b2 = n->f[1], eps = n->f[2], wd = n->f[3];
    Expr *pi = local(kb, LD(kb, p, i));
    if (wd)
      set(kb, pi, SUB(pi, MUL(MUL(lr, FC(kb, wd)), pi)));
    Expr *mi = local(kb, ADD(MUL(FC(kb, b1), LD(kb, m, i)), MUL(FC(kb, 1 - b1), gi)));
    Expr *vi = local(kb, ADD(MUL(FC(kb, b2), LD(kb, v, i)), MUL(MUL(FC(kb, 1 - b2), gi), gi)));
    store(kb, m, i, mi, false);
    store(kb, v, i, vi, false);
    Expr *mhat = DIV(mi, HYPER(kb, 1)), *vhat = DIV(vi, HYPER(kb, 2));
    store(kb, p, i, SUB(pi, DIV(MUL(lr, mhat), ADD(un(kb, XU_SQRT, vhat), FC(kb, eps)))), false);
  }
  end(kb);
}

/* ---- buffers and the memory plan ------------------------------------------------------- */

typedef struct {
  int64_t off, size;
  int last; /* position of the last reader */
} Live;

typedef struct {
  Module *mod;
  Program *p;
  Vec live; /* Live* */
  int64_t top;
  Buf **scratch; /* by node id, three slots each */
  int *last;     /* by node id: position of the last reader */
  int pos;
} Planner;

static Planner *cur_plan; /* for scratch(): set while a program is built */

static int64_t round_up(int64_t x) { return (x + ALIGN - 1) / ALIGN * ALIGN; }

/* first fit among the live blocks, or the top */
static int64_t alloc_act(Planner *pl, int64_t size, int last) {
  size = round_up(size ? size : 1);
  int64_t off = 0;
  for (bool moved = true; moved;) {
    moved = false;
    for (int i = 0; i < pl->live.len; i++) {
      Live *l = pl->live.data[i];
      if (off < l->off + l->size && l->off < off + size) {
        off = l->off + l->size;
        moved = true;
      }
    }
  }
  Live *l = arena_alloc(pl->mod->a, sizeof(Live));
  l->off = off, l->size = size, l->last = last;
  vec_push(pl->mod->a, &pl->live, l);
  if (off + size > pl->top)
    pl->top = off + size;
  return off;
}

static void release_dead(Planner *pl) {
  for (int i = 0; i < pl->live.len;) {
    Live *l = pl->live.data[i];
    if (l->last < pl->pos)
      pl->live.data[i] = pl->live.data[--pl->live.len];
    else
      i++;
  }
}

static Buf *new_buf(Arena *a, BufKind kind, int64_t off, int64_t size, const char *name,
                    const char *what) {
  Buf *b = arena_alloc(a, sizeof(Buf));
  b->kind = kind, b->offset = off, b->size = size, b->name = name, b->what = what;
  return b;
}

/* scratch block `slot` of node n, `size` floats, live only while n's
 * kernel runs */
static Buf *scratch(KB *kb, Node *n, int slot, int64_t size, const char *what) {
  Planner *pl = cur_plan;
  Buf **s = &pl->scratch[n->id * 3 + slot];
  if (!*s) {
    int64_t off = alloc_act(pl, size, pl->pos);
    *s = new_buf(kb->a, BUF_ACT, off, size, arena_printf(kb->a, "s%d_%d", n->id, slot), what);
  }
  return *s;
}

static const char *c_ident(Arena *a, const char *prefix, const char *name) {
  char *s = arena_printf(a, "%s%s", prefix, name);
  for (char *q = s; *q; q++)
    if (*q == '.')
      *q = '_';
  return s;
}

static const char *shape_comment(Arena *a, const Node *n) {
  char buf[96];
  node_shape_text(buf, sizeof buf, n);
  return arena_strdup(a, buf);
}

/* the node a view (reshape) reads through to */
static Node *root(Node *n) {
  while (n->op == OP_RESHAPE)
    n = n->in[0];
  return n;
}

static bool is_data(const Node *n) { return n->op == OP_INPUT || n->op == OP_LABEL; }

/* Buffers of the groups that persist across programs: matched by name
 * (parameters, states) or by position (inputs, labels). */
static Buf *group_buf(Module *mod, Program *p, Node *n) {
  Vec *v = n->op == OP_PARAM ? &mod->params : n->op == OP_STATE ? &mod->states : &mod->data;
  for (int i = 0; i < v->len; i++) {
    Node *o = v->data[i];
    bool same = n->op == OP_LABEL ? o->op == OP_LABEL && o->task == n->task
                : n->op == OP_INPUT ? o->op == OP_INPUT && !strcmp(o->name, n->name)
                                    : !strcmp(o->name, n->name);
    if (same)
      return mod->train->buf[o->id];
  }
  (void)p;
  unreachable();
  return NULL;
}

static bool is_output(Graph *g, Node *n) {
  for (int i = 0; i < g->outputs.len; i++)
    if (g->outputs.data[i] == n || g->losses.data[i] == n)
      return true;
  return false;
}

static Kernel *new_kernel(Module *mod, Program *p, Node *x) {
  Graph *g = p->g;
  Arena *a = mod->a;
  Kernel *k = arena_alloc(a, sizeof(Kernel));
  k->node = x;
  k->prefix = g == mod->train->g ? "tr_" : "ev_";
  k->name = arena_printf(a, "k%d_%s", x->id, op_info[x->op].text);
  const char *where = "";
  if (x->span.hi > x->span.lo) {
    Source *src = g->m->src;
    int lo = x->span.lo, hi = x->span.hi, e = lo;
    while (e < hi && src->text[e] != '\n')
      e++;
    where = arena_printf(a, "  (%s:%d: %.*s)", src->path, span_line(src, lo), e - lo,
                         src->text + lo);
  }
  bool folded = x->nin && p->fused && p->fused[x->in[0]->id];
  k->comment = arena_printf(a, "%s%s -> %s%s%s", folded ? "bias, " : "", op_info[x->op].text,
                            shape_comment(a, x),
                            x->grad_of ? arena_printf(a, ", gradient of %s", x->grad_of->name) : "",
                            where);
  return k;
}

/* Buffers for every node, then its kernel, in node order; an activation's
 * block is free again once its last reader has run. */
static void build_program(Module *mod, Program *p, bool *emit) {
  Graph *g = p->g;
  Arena *a = mod->a;
  int n = g->nodes.len;
  Planner pl = {.mod = mod, .p = p};
  pl.scratch = arena_alloc(a, sizeof(Buf *) * (size_t)n * 3);
  pl.last = arena_alloc(a, sizeof(int) * (size_t)n);
  cur_plan = &pl;
  if (!p->buf)
    p->buf = arena_alloc(a, sizeof(Buf *) * (size_t)n);
  /* a bias whose one reader is an activation is folded into it */
  int *readers = arena_alloc(a, sizeof(int) * (size_t)n);
  p->fused = arena_alloc(a, sizeof(bool) * (size_t)n);
  for (int i = 0; i < n; i++) {
    Node *x = g->nodes.data[i];
    for (int k = 0; emit[i] && k < x->nin; k++)
      readers[x->in[k]->id]++;
  }
  for (int i = 0; i < n; i++) {
    Node *x = g->nodes.data[i];
    bool act = x->op == OP_RELU || x->op == OP_SIGMOID || x->op == OP_TANH;
    if (emit[i] && act && x->in[0]->op == OP_BIAS && readers[x->in[0]->id] == 1 &&
        !is_output(g, x->in[0]) && !x->in[0]->grad_of)
      p->fused[x->in[0]->id] = true;
  }
  for (int i = 0; i < n; i++)
    pl.last[i] = -1;
  for (int i = 0; i < n; i++) {
    Node *x = g->nodes.data[i];
    if (!emit[i] || p->fused[i])
      continue;
    for (int k = 0; k < x->nin; k++) {
      Node *in = x->in[k];
      int nread = p->fused[in->id] ? 2 : 1; /* a fused bias: read its inputs instead */
      for (int r = 0; r < nread; r++) {
        Node *rt = root(p->fused[in->id] ? in->in[r] : in);
        pl.last[rt->id] = pl.last[rt->id] > i ? pl.last[rt->id] : i;
      }
    }
    if (is_output(g, x))
      pl.last[root(x)->id] = n;
  }
  for (int i = 0; i < n; i++) {
    Node *x = g->nodes.data[i];
    if (!emit[i] || p->fused[i])
      continue;
    pl.pos = i;
    release_dead(&pl);
    if (x->op == OP_PARAM || x->op == OP_STATE || is_data(x)) {
      if (!p->buf[i])
        p->buf[i] = group_buf(mod, p, x);
      continue;
    }
    if (x->op == OP_RESHAPE) {
      p->buf[i] = p->buf[x->in[0]->id];
      continue;
    }
    if (x->grad_of && p->kind == PROG_TRAIN) {
      Buf *pb = p->buf[x->grad_of->id];
      p->buf[i] = new_buf(a, BUF_GRAD, pb->offset, pb->size, c_ident(a, "d_", x->grad_of->name),
                          arena_printf(a, "gradient of %s", pb->what));
    } else if (op_info[x->op].kind != OPK_U) {
      int64_t size = node_numel(x, mod->batch_max);
      int64_t off = alloc_act(&pl, size, pl.last[i] < 0 ? i : pl.last[i]);
      const char *where = "";
      if (x->span.hi > x->span.lo)
        where = arena_printf(a, ", line %d", span_line(g->m->src, x->span.lo));
      p->buf[i] = new_buf(a, BUF_ACT, off, size, arena_printf(a, "t%d", x->id),
                          arena_printf(a, "%s %s%s", op_info[x->op].text,
                                       shape_comment(a, x), where));
    }
    Kernel *k = new_kernel(mod, p, x);
    KB kb = {.a = a, .p = p, .k = k};
    kb.stack[kb.depth++] = &k->body;
    if (op_info[x->op].kind == OPK_U)
      kl_update(&kb, x);
    else
      kernel_rule[x->op](&kb, x);
    MTLC_ASSERT(kb.depth == 1);
    if (k->body.len)
      vec_push(a, &p->kernels, k);
  }
  p->act_size = pl.top;
  cur_plan = NULL;
}

/* Copies of outputs and losses to the caller's arrays, as kernels. */
static void add_copies(Module *mod, Program *p, bool outputs, bool losses) {
  Graph *g = p->g;
  for (int pass = 0; pass < 2; pass++) {
    if (!(pass ? losses : outputs))
      continue;
    for (int t = 0; t < g->outputs.len; t++) {
      Kernel *k = arena_alloc(mod->a, sizeof(Kernel));
      KB kb = {.a = mod->a, .p = p, .k = k};
      kb.stack[kb.depth++] = &k->body;
      Task *task = g->m->tasks.data[t];
      k->prefix = p->kind == PROG_TRAIN ? "tr_" : "ev_";
      k->name = arena_printf(mod->a, "copy_%s_%s", pass ? "loss" : "output", task->name);
      k->comment = arena_printf(mod->a, "task %s: its %s to the caller", task->name,
                                pass ? "mean loss" : "output");
      k->copies_output = !pass;
      if (!pass) {
        Node *o = g->outputs.data[t];
        Buf *dst = new_buf(mod->a, BUF_OUT, 0, node_numel(o, mod->batch_max),
                           arena_printf(mod->a, "out_%s", task->name), "task output");
        dst->index = t;
        Expr *i = loop(&kb, count(&kb, o));
        store(&kb, dst, i, LD(&kb, p->buf[o->id], i), false);
        end(&kb);
      } else {
        Buf *dst = new_buf(mod->a, BUF_LOSS, t, g->m->tasks.len, "losses", "per-task losses");
        store(&kb, dst, I(&kb, t), LD(&kb, p->buf[((Node *)g->losses.data[t])->id], I(&kb, 0)),
              false);
      }
      vec_push(mod->a, &p->kernels, k);
    }
  }
}

/* marks what the outputs need, reading no label */
static void mark_forward(Graph *g, bool *emit) {
  bool *uses_label = xcalloc((size_t)g->nodes.len, 1);
  for (int i = 0; i < g->nodes.len; i++) {
    Node *x = g->nodes.data[i];
    uses_label[i] = x->op == OP_LABEL;
    for (int k = 0; k < x->nin; k++)
      uses_label[i] |= uses_label[x->in[k]->id];
  }
  for (int t = 0; t < g->outputs.len; t++)
    emit[((Node *)g->outputs.data[t])->id] = true;
  for (int i = g->nodes.len - 1; i >= 0; i--) {
    Node *x = g->nodes.data[i];
    if (!emit[i])
      continue;
    MTLC_ASSERT(!uses_label[i]);
    for (int k = 0; k < x->nin; k++)
      emit[x->in[k]->id] = true;
  }
  free(uses_label);
}

/* consecutive 64-byte aligned blocks of one group, one per node; returns
 * the group's size in floats */
static int64_t lay_out(Module *mod, BufKind kind, Vec *nodes, Vec *into) {
  Arena *a = mod->a;
  int64_t off = 0;
  for (int i = 0; i < nodes->len; i++) {
    Node *x = nodes->data[i];
    int64_t size = shape_numel(x->shape);
    mod->train->buf[x->id] = new_buf(a, kind, off, size, c_ident(a, "", x->name),
                                     arena_printf(a, "%s %s", x->name, shape_comment(a, x)));
    vec_push(a, into, x);
    off += round_up(size);
  }
  return off;
}

static void group_bufs(Module *mod) {
  Arena *a = mod->a;
  Program *p = mod->train;
  Graph *g = p->g;
  mod->n_params = lay_out(mod, BUF_PARAM, &g->params, &mod->params);
  mod->n_state = lay_out(mod, BUF_STATE, &g->states, &mod->states);
  int k = 0;
  for (int pass = 0; pass < 2; pass++) {
    Vec *v = pass ? &g->labels : &g->inputs;
    for (int i = 0; i < v->len; i++, k++) {
      Node *x = v->data[i];
      Buf *b = new_buf(a, BUF_DATA, 0, node_numel(x, mod->batch_max),
                       c_ident(a, pass ? "label_" : "input_", x->name),
                       arena_printf(a, "%s %s %s", pass ? "label" : "input", x->name,
                                    shape_comment(a, x)));
      b->index = k;
      Task *t = pass ? g->m->tasks.data[x->task] : NULL;
      b->is_int = t && t->label != LBL_REAL;
      p->buf[x->id] = b;
      vec_push(a, &mod->data, x);
    }
  }
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

Module *build_module(Arena *a, Model *m, int64_t batch_max) {
  double t0 = now();
  Module *mod = arena_alloc(a, sizeof(Module));
  mod->m = m;
  mod->a = a;
  mod->batch_max = batch_max;

  Program *tr = mod->train = arena_alloc(a, sizeof(Program));
  tr->kind = PROG_TRAIN;
  tr->g = lower(a, m, true);
  double t1 = now();
  autodiff(tr->g);
  add_updates(tr->g);
  double t2 = now();
  tr->buf = arena_alloc(a, sizeof(Buf *) * (size_t)tr->g->nodes.len);
  group_bufs(mod);
  bool *emit = arena_alloc(a, (size_t)tr->g->nodes.len);
  memset(emit, 1, (size_t)tr->g->nodes.len);
  build_program(mod, tr, emit);
  add_copies(mod, tr, false, true);

  Program *ev = mod->eval = arena_alloc(a, sizeof(Program));
  ev->kind = PROG_EVAL;
  ev->g = lower(a, m, false);
  bool *all = arena_alloc(a, (size_t)ev->g->nodes.len);
  memset(all, 1, (size_t)ev->g->nodes.len);
  build_program(mod, ev, all);
  add_copies(mod, ev, true, true);

  /* the forward pass: the evaluation kernels that read no label */
  Program *fw = mod->forward = arena_alloc(a, sizeof(Program));
  fw->kind = PROG_FORWARD;
  fw->g = ev->g;
  fw->buf = ev->buf;
  fw->act_size = ev->act_size;
  bool *need = arena_alloc(a, (size_t)ev->g->nodes.len);
  mark_forward(ev->g, need);
  for (int i = 0; i < ev->kernels.len; i++) {
    Kernel *k = ev->kernels.data[i];
    if (k->node ? need[k->node->id] : k->copies_output)
      vec_push(a, &fw->kernels, k);
  }
  mod->n_act = tr->act_size;
  if (mod->eval->act_size > mod->n_act)
    mod->n_act = mod->eval->act_size;
  if (mod->forward->act_size > mod->n_act)
    mod->n_act = mod->forward->act_size;
  mod->t_lower = t1 - t0;
  mod->t_autodiff = t2 - t1;
  mod->t_kernels = now() - t2;
  return mod;
}

/* ---- what a kernel touches, for the back ends ---------------------------------------- */

static void use(KernelUses *u, const Buf *b, bool write) {
  for (int i = 0; i < u->n; i++)
    if (u->buf[i] == b) {
      u->written[i] |= write;
      return;
    }
  MTLC_ASSERT(u->n < MAX_KERNEL_BUFS);
  u->buf[u->n] = b;
  u->written[u->n++] = write;
}

static void uses_expr(KernelUses *u, const Expr *e) {
  if (!e)
    return;
  if (e->kind == X_LOAD)
    use(u, e->buf, false);
  if (e->kind == X_BATCH)
    u->batch = true;
  if (e->kind == X_HYPER)
    u->hyper = true;
  uses_expr(u, e->a);
  uses_expr(u, e->b);
  uses_expr(u, e->c);
}

static void uses_stmts(KernelUses *u, const Vec *body) {
  for (int i = 0; i < body->len; i++) {
    const Stmt *s = body->data[i];
    uses_expr(u, s->hi);
    uses_expr(u, s->idx);
    uses_expr(u, s->val);
    uses_expr(u, s->M), uses_expr(u, s->N), uses_expr(u, s->K);
    uses_expr(u, s->offa), uses_expr(u, s->offb), uses_expr(u, s->offc);
    if (s->kind == K_STORE || s->kind == K_DROPOUT)
      use(u, s->buf, true);
    if (s->kind == K_DROPOUT)
      u->seed = true;
    if (s->kind == K_GEMM) {
      use(u, s->A, false);
      use(u, s->B, false);
      use(u, s->C, true);
    }
    if (s->kind == K_FOR)
      uses_stmts(u, &s->body);
  }
}

void kernel_uses(const Kernel *k, KernelUses *u) {
  memset(u, 0, sizeof *u);
  uses_stmts(u, &k->body);
}
