/* ops/pool.c: pooling. maxpool(size, stride=size) and avgpool(size,
 * stride=size) over the windows of a [C, H, W] map (no padding, square
 * windows; a window that does not fit at the edge is dropped, as in
 * PyTorch); global_avgpool and global_maxpool over every position: [C, H,
 * W] to [C] (PyTorch's adaptive pooling to 1x1, flattened) and [T, D] to
 * [D] (Keras' GlobalAveragePooling1D, channels last). The gradient of a
 * maximum goes to the first maximum of its window. Window attributes: a0
 * stride, a2 size; global pools see x as [O, R, I] and reduce R: a0 O, a1
 * R, a2 I. */
#include "ops/ops.h"

enum { SIZE, STRIDE }; /* i[] */

/* ---- the layers ------------------------------------------------------------ */

static const Param p_pool[] = {{"size", T_INT, REQ, 1, 4096}, {"stride", T_INT, 0, 1, 4096}};
const Sig sig_MAXPOOL = {NULL, 2, p_pool, 2, "maxpool(2)", NULL, NULL, NULL};
const Sig sig_AVGPOOL = {NULL, 2, p_pool, 2, "avgpool(2)", NULL, NULL, NULL};
const Sig sig_GLOBAL_AVGPOOL = {NULL, 0, NULL, 0, "global_avgpool", NULL, NULL, NULL};
const Sig sig_GLOBAL_MAXPOOL = {NULL, 0, NULL, 0, "global_maxpool", NULL, NULL, NULL};

static bool is_global(LayerKind k) { return k == L_GLOBAL_AVGPOOL || k == L_GLOBAL_MAXPOOL; }

bool pool_args(Sema *s, Layer *l, Value **v) {
  (void)s;
  if (!is_global(l->kind)) {
    l->i[SIZE] = int_arg(v[0], 0);
    l->i[STRIDE] = int_arg(v[1], l->i[SIZE]);
  }
  return true;
}

static bool global_shape(Sema *s, Layer *l, Shape in) {
  if (in.rank != 3 && in.rank != 2) {
    ERR(l->call->span, "%s pools [C, H, W] maps to [C] and [T, D] sequences to [D], "
        "but here it gets %s", l->call->name, shape_str(s->a, in));
    return false;
  }
  l->out = in.rank == 3 ? shp(1, in.d[0], 0, 0, 0) : shp(1, in.d[1], 0, 0, 0);
  l->flops = shape_numel(in);
  return true;
}

bool pool_shape(Sema *s, Layer *l, Shape in) {
  if (is_global(l->kind))
    return global_shape(s, l, in);
  Call *c = l->call;
  Arena *a = s->a;
  const char *name = layer_rules[l->kind].name;
  int64_t k = l->i[SIZE];
  if (in.rank != 3) {
    ERR(c->span, "%s needs an input of shape [C, H, W], but here it gets "
        "%s; %s", name, shape_str(a, in), image_hint(s, in));
    return false;
  }
  int64_t h = in.d[1] - k, w = in.d[2] - k;
  if (h < 0 || w < 0) {
    int64_t fit = in.d[1] < in.d[2] ? in.d[1] : in.d[2];
    const char *fix = fit >= 2 ? arena_printf(a, "use %s(%lld) or less", name, (long long)fit)
                               : arena_printf(a, "remove it: the map is already %lldx%lld",
                                              (long long)in.d[1], (long long)in.d[2]);
    ERR(c->span, "%s window %lldx%lld does not fit input %s; %s", name, (long long)k,
        (long long)k, shape_str(a, in), fix);
    return false;
  }
  l->out = shp(3, in.d[0], h / l->i[STRIDE] + 1, w / l->i[STRIDE] + 1, 0);
  l->flops = k * k * in.d[0] * l->out.d[1] * l->out.d[2];
  return true;
}

Node *pool_lower(Lower *L, const NetVal *v, Node *x) {
  Layer *l = v->layer;
  Graph *g = lower_graph(L);
  if (is_global(l->kind)) {
    Shape s = x->shape;
    int64_t attrs[4] = {s.rank == 3 ? s.d[0] : 1, s.rank == 3 ? s.d[1] * s.d[2] : s.d[0],
                        s.rank == 3 ? 1 : s.d[1], 0};
    return ir_node(g, l->kind == L_GLOBAL_AVGPOOL ? OP_GPOOL_AVG : OP_GPOOL_MAX, 1, &x, attrs,
                   NULL);
  }
  int64_t attrs[4] = {l->i[STRIDE], 0, l->i[SIZE], 0};
  return ir_node(g, l->kind == L_MAXPOOL ? OP_MAXPOOL : OP_AVGPOOL, 1, &x, attrs, NULL);
}

/* ---- window pools: shapes and gradients ------------------------------------------ */

SHAPE(MAXPOOL) {
  Shape x = n->in[0]->shape;
  MTLC_ASSERT(x.rank == 3);
  n->shape = shp(3, x.d[0], (x.d[1] - n->a[2]) / n->a[0] + 1, (x.d[2] - n->a[2]) / n->a[0] + 1, 0);
  n->batched = true;
}
SHAPE(AVGPOOL) { shape_MAXPOOL(n); }
SAME_SHAPE_AS(MAXPOOL_BWD, 1)
NO_SHAPE(AVGPOOL_BWD)

BWD(MAXPOOL) {
  ad_accum(ad, n->in[0], ad_node(ad, OP_MAXPOOL_BWD, 2, (Node *[]){dy, n->in[0]}, n, NULL));
}
BWD(AVGPOOL) { ad_accum(ad, n->in[0], ad_node(ad, OP_AVGPOOL_BWD, 1, &dy, n, &n->in[0]->shape)); }
NO_BWD(MAXPOOL_BWD)
NO_BWD(AVGPOOL_BWD)

/* the interpreter: every window; maxpool's gradient to its first maximum */
static void pool(Interp *I, const Node *xn, const Node *yn, const int64_t *a, bool is_max,
                 const double *xv, double *yv, const double *dy, double *dx) {
  int64_t C = xn->shape.d[0], H = xn->shape.d[1], W = xn->shape.d[2];
  int64_t Ho = yn->shape.d[1], Wo = yn->shape.d[2], K = a[2], S = a[0];
  for (int64_t b = 0; b < I->batch; b++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t oh = 0; oh < Ho; oh++)
        for (int64_t ow = 0; ow < Wo; ow++) {
          const int64_t base = (b * C + c) * H * W, yi = ((b * C + c) * Ho + oh) * Wo + ow;
          int64_t arg = -1;
          double acc = 0;
          for (int64_t kh = 0; kh < K; kh++)
            for (int64_t kw = 0; kw < K; kw++) {
              int64_t xi = base + (oh * S + kh) * W + ow * S + kw;
              if (!is_max) {
                acc += xv ? xv[xi] : 0;
                if (dx)
                  dx[xi] += dy[yi] / (double)(K * K);
              } else if (arg < 0 || xv[xi] > xv[arg]) {
                arg = xi;
              }
            }
          if (yv)
            yv[yi] = is_max ? xv[arg] : acc / (double)(K * K);
          if (dx && is_max)
            dx[arg] += dy[yi];
        }
}

INTERP(MAXPOOL) { pool(I, n->in[0], n, n->a, true, x[0], out, NULL, NULL); }
INTERP(AVGPOOL) { pool(I, n->in[0], n, n->a, false, x[0], out, NULL, NULL); }
INTERP(MAXPOOL_BWD) { /* dy, x */
  memset(out, 0, sizeof(double) * (size_t)LEN(n));
  pool(I, n->in[1], n->in[0], n->a, true, x[1], NULL, x[0], out);
}
INTERP(AVGPOOL_BWD) { /* dy */
  memset(out, 0, sizeof(double) * (size_t)LEN(n));
  pool(I, n, n->in[0], n->a, false, NULL, NULL, x[0], out);
}

/* ---- window pools: kernels ---------------------------------------------------- */

typedef struct {
  Expr *b, *c, *oh, *ow, *yi, *base;
} PoolLoops;

static PoolLoops pool_loops(KB *kb, const Node *x, const Node *y) {
  int64_t C = x->shape.d[0], H = x->shape.d[1], W = x->shape.d[2];
  int64_t Ho = y->shape.d[1], Wo = y->shape.d[2];
  PoolLoops l;
  l.b = LOOP(BATCH);
  l.c = LOOP(IC(C));
  l.oh = LOOP(IC(Ho));
  l.ow = LOOP(IC(Wo));
  Expr *bc = ADD(MUL(l.b, IC(C)), l.c);
  l.yi = ADD(MUL(ADD(MUL(bc, IC(Ho)), l.oh), IC(Wo)), l.ow);
  l.base = MUL(bc, IC(H * W));
  return l;
}

/* index of window element (kh, kw) */
static Expr *pool_at(KB *kb, const Node *x, const int64_t *a, PoolLoops *l, Expr *kh, Expr *kw) {
  int64_t W = x->shape.d[2], S = a[0];
  return ADD(l->base, ADD(MUL(ADD(MUL(l->oh, IC(S)), kh), IC(W)), ADD(MUL(l->ow, IC(S)), kw)));
}

static void pool_end(KB *kb) { END, END, END, END; }

KIR(MAXPOOL) {
  PoolLoops l = pool_loops(kb, n->in[0], n);
  Expr *m = LOCAL(FC(-INFINITY));
  Expr *kh = LOOP(IC(n->a[2])), *kw = LOOP(IC(n->a[2]));
  SET(m, MAX(m, LD(IN(0), pool_at(kb, n->in[0], n->a, &l, kh, kw))));
  END, END;
  STORE(OUT, l.yi, m);
  pool_end(kb);
}

KIR(AVGPOOL) {
  PoolLoops l = pool_loops(kb, n->in[0], n);
  Expr *s = LOCAL(FC(0));
  Expr *kh = LOOP(IC(n->a[2])), *kw = LOOP(IC(n->a[2]));
  SET(s, ADD(s, LD(IN(0), pool_at(kb, n->in[0], n->a, &l, kh, kw))));
  END, END;
  STORE(OUT, l.yi, MUL(s, FC(1.0 / (double)(n->a[2] * n->a[2]))));
  pool_end(kb);
}

/* the gradient goes to the first maximum of each window. Where the
 * windows tile the input (stride = size, nothing left over, as in
 * maxpool(2) on an even map), each window writes its elements once, the
 * gradient at its maximum and 0 elsewhere: no pass zeroing the output
 * first, no read-modify-write scattered into it; windows of up to 4x4 are
 * written out element by element, no loops of 2 for the back ends to
 * unroll (LeNet's first pool took a third of the time this way, and
 * LLVM, which does not unroll, ran the loops slower than the scatter).
 * Otherwise the output is zeroed and each window adds its gradient to
 * its maximum, windows overlapping or not. */
KIR(MAXPOOL_BWD) { /* dy, x */
  Node *x = n->in[1], *y = n->in[0];
  int64_t S = n->a[0], K = n->a[2];
  bool tiles = S == K && y->shape.d[1] * S == x->shape.d[1] && y->shape.d[2] * S == x->shape.d[2];
  bool flat = tiles && K <= 4;
  if (!tiles)
    kb_zero(kb, OUT, COUNT(n));
  PoolLoops l = pool_loops(kb, x, y);
  Expr *first = pool_at(kb, x, n->a, &l, IC(0), IC(0));
  Expr *best = LOCAL(LD(IN(1), first));
  Expr *arg = LOCAL(first);
  if (flat) {
    Expr *at[16];
    for (int64_t i = 0; i < K * K; i++) {
      at[i] = LOCAL(pool_at(kb, x, n->a, &l, IC(i / K), IC(i % K)));
      if (i == 0)
        continue;
      Expr *v = LOCAL(LD(IN(1), at[i]));
      SET(arg, kx_sel(kb, kx_bin(kb, XB_GT, v, best), at[i], arg));
      SET(best, MAX(best, v));
    }
    Expr *d = LOCAL(LD(IN(0), l.yi));
    for (int64_t i = 0; i < K * K; i++)
      STORE(OUT, at[i], kx_sel(kb, kx_bin(kb, XB_EQ, at[i], arg), d, FC(0)));
    pool_end(kb);
    return;
  }
  Expr *kh = LOOP(IC(K)), *kw = LOOP(IC(K));
  Expr *at = LOCAL(pool_at(kb, x, n->a, &l, kh, kw));
  Expr *v = LOCAL(LD(IN(1), at));
  SET(arg, kx_sel(kb, kx_bin(kb, XB_GT, v, best), at, arg));
  SET(best, MAX(best, v));
  END, END;
  if (tiles) {
    Expr *d = LOCAL(LD(IN(0), l.yi));
    Expr *kh2 = LOOP(IC(K)), *kw2 = LOOP(IC(K));
    Expr *at2 = LOCAL(pool_at(kb, x, n->a, &l, kh2, kw2));
    STORE(OUT, at2, kx_sel(kb, kx_bin(kb, XB_EQ, at2, arg), d, FC(0)));
    END, END;
  } else {
    ACCUM(OUT, arg, LD(IN(0), l.yi));
  }
  pool_end(kb);
}

KIR(AVGPOOL_BWD) { /* dy */
  kb_zero(kb, OUT, COUNT(n));
  PoolLoops l = pool_loops(kb, n, n->in[0]);
  Expr *d = LOCAL(MUL(LD(IN(0), l.yi), FC(1.0 / (double)(n->a[2] * n->a[2]))));
  Expr *kh = LOOP(IC(n->a[2])), *kw = LOOP(IC(n->a[2]));
  ACCUM(OUT, pool_at(kb, n, n->a, &l, kh, kw), d);
  END, END;
  pool_end(kb);
}

/* ---- global pools: x as [O, R, I], reduced over R ------------------------------------ */

SHAPE(GPOOL_AVG) { /* one of O and I is 1 */
  n->shape = shp(1, n->a[0] * n->a[2], 0, 0, 0);
  n->batched = true;
}
SHAPE(GPOOL_MAX) { shape_GPOOL_AVG(n); }
NO_SHAPE(GPOOL_AVG_BWD)
SAME_SHAPE_AS(GPOOL_MAX_BWD, 1)

BWD(GPOOL_AVG) {
  ad_accum(ad, n->in[0], ad_node(ad, OP_GPOOL_AVG_BWD, 1, &dy, n, &n->in[0]->shape));
}
BWD(GPOOL_MAX) {
  ad_accum(ad, n->in[0], ad_node(ad, OP_GPOOL_MAX_BWD, 2, (Node *[]){dy, n->in[0]}, n, NULL));
}
NO_BWD(GPOOL_AVG_BWD)
NO_BWD(GPOOL_MAX_BWD)

/* calls body for every (b, o, i) with yi its output's index and xi(r) */
#define FOR_GLOBAL(n, body)                                                    \
  for (int64_t b = 0; b < I->batch; b++)                                      \
    for (int64_t o = 0; o < (n)->a[0]; o++)                                    \
      for (int64_t i = 0; i < (n)->a[2]; i++) {                                \
        int64_t yi = (b * (n)->a[0] + o) * (n)->a[2] + i;                      \
        int64_t x0 = (b * (n)->a[0] + o) * (n)->a[1] * (n)->a[2] + i;          \
        int64_t step = (n)->a[2], R = (n)->a[1];                               \
        body;                                                                  \
      }

INTERP(GPOOL_AVG) {
  FOR_GLOBAL(n, {
    double s = 0;
    for (int64_t r = 0; r < R; r++)
      s += x[0][x0 + r * step];
    out[yi] = s / (double)R;
  })
}

INTERP(GPOOL_MAX) {
  FOR_GLOBAL(n, {
    double m = x[0][x0];
    for (int64_t r = 1; r < R; r++)
      m = x[0][x0 + r * step] > m ? x[0][x0 + r * step] : m;
    out[yi] = m;
  })
}

INTERP(GPOOL_AVG_BWD) { /* dy; the forward's attributes */
  FOR_GLOBAL(n, {
    for (int64_t r = 0; r < R; r++)
      out[x0 + r * step] = x[0][yi] / (double)R;
  })
}

INTERP(GPOOL_MAX_BWD) { /* dy, x */
  memset(out, 0, sizeof(double) * (size_t)LEN(n));
  FOR_GLOBAL(n, {
    int64_t arg = x0;
    for (int64_t r = 1; r < R; r++)
      if (x[1][x0 + r * step] > x[1][arg])
        arg = x0 + r * step;
    out[arg] += x[0][yi];
  })
}

typedef struct {
  Expr *yi, *x0, *r; /* r: after global_r() */
  int64_t R, step;
} GLoops;

/* loops over b, o and i; three ends */
static GLoops global_loops(KB *kb, const Node *g) {
  int64_t O = g->a[0], R = g->a[1], In = g->a[2];
  GLoops l = {.R = R, .step = In};
  Expr *b = LOOP(BATCH);
  Expr *o = LOOP(IC(O));
  Expr *i = LOOP(IC(In));
  Expr *bo = ADD(MUL(b, IC(O)), o);
  l.yi = LOCAL(ADD(MUL(bo, IC(In)), i));
  l.x0 = LOCAL(ADD(MUL(bo, IC(R * In)), i));
  return l;
}

static Expr *global_at(KB *kb, GLoops *l, Expr *r) { return ADD(l->x0, MUL(r, IC(l->step))); }

KIR(GPOOL_AVG) {
  GLoops l = global_loops(kb, n);
  Expr *s = LOCAL(FC(0));
  Expr *r = LOOP(IC(l.R));
  SET(s, ADD(s, LD(IN(0), global_at(kb, &l, r))));
  END;
  STORE(OUT, l.yi, MUL(s, FC(1.0 / (double)l.R)));
  END, END, END;
}

KIR(GPOOL_MAX) {
  GLoops l = global_loops(kb, n);
  Expr *m = LOCAL(FC(-INFINITY));
  Expr *r = LOOP(IC(l.R));
  SET(m, MAX(m, LD(IN(0), global_at(kb, &l, r))));
  END;
  STORE(OUT, l.yi, m);
  END, END, END;
}

KIR(GPOOL_AVG_BWD) { /* dy */
  GLoops l = global_loops(kb, n);
  Expr *d = LOCAL(MUL(LD(IN(0), l.yi), FC(1.0 / (double)l.R)));
  Expr *r = LOOP(IC(l.R));
  STORE(OUT, global_at(kb, &l, r), d);
  END;
  END, END, END;
}

KIR(GPOOL_MAX_BWD) { /* dy, x */
  kb_zero(kb, OUT, COUNT(n));
  GLoops l = global_loops(kb, n);
  Expr *best = LOCAL(LD(IN(1), l.x0));
  Expr *arg = LOCAL(l.x0);
  Expr *r = LOOP(IC(l.R));
  Expr *at = LOCAL(global_at(kb, &l, r));
  Expr *v = LOCAL(LD(IN(1), at));
  SET(arg, kx_sel(kb, kx_bin(kb, XB_GT, v, best), at, arg));
  SET(best, MAX(best, v));
  END;
  ACCUM(OUT, arg, LD(IN(0), l.yi));
  END, END, END;
}
