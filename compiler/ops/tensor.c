/* ops/tensor.c: leaves, elementwise arithmetic, reductions and the layers
 * that only move or mask values: flatten, dropout, residual and concat
 * (whose chains and joins are the nets' structure, check/nets.c and
 * graph/lower.c).
 *   leaves   input, label, param, state, stat, hyper, dropmask, const
 *   add, sub, mul   same shapes, or the second a scalar (broadcast, and its
 *            gradient a sum)
 *   scale (f0 x), sumsq and sum (to a scalar), lookup (a label table),
 *   reshape (a view: the same buffer)
 *   concat [..., Dx] and [..., Dy] to [..., Dx + Dy] (row by row along the
 *            last dimension), and concat_part, its gradient's slices */
#include "ops/ops.h"

enum { P }; /* f[]: dropout's probability */

/* ---- the layers ---------------------------------------------------------------- */

const Sig sig_FLATTEN = {NULL, 0, NULL, 0, "flatten", NULL, NULL, NULL};
static const Param p_dropout[] = {{"p", T_NUM, REQ | MAX_EXCL, 0, 1}};
const Sig sig_DROPOUT = {NULL, 1, p_dropout, 1, "dropout(0.5)", NULL, NULL, NULL};
const Sig sig_RESIDUAL = {NULL, 0, NULL, 0, "residual { dense(128) relu }", NULL, NULL, NULL};
const Sig sig_CONCAT = {NULL, 0, NULL, 0, "concat { cat -> embedding(10, 4) flatten }", NULL, NULL,
                        NULL};

bool tensor_args(Sema *s, Layer *l, Value **v) {
  (void)s;
  if (l->kind == L_DROPOUT)
    l->f[P] = v[0]->num;
  return true;
}

bool tensor_shape(Sema *s, Layer *l, Shape in) {
  (void)s;
  switch (l->kind) {
  case L_FLATTEN:
    l->out = shp(1, shape_numel(in), 0, 0, 0);
    return true;
  case L_DROPOUT:
    l->out = in;
    l->flops = shape_numel(in);
    return true;
  default: /* residual: the nets' structure */
    unreachable();
    return false;
  }
}

/* a dropout mask's stream: a function of the spec entity, so that an edit
 * elsewhere does not change it (24 bits: the runtime shifts it by 40) */
static int64_t stream_of(const char *where) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (const char *p = where; p && *p; p++)
    h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
  return (int64_t)(h & 0xffffff);
}

Node *tensor_lower(Lower *L, const NetVal *v, Node *x) {
  Graph *g = lower_graph(L);
  Layer *l = v->layer;
  switch (l->kind) {
  case L_FLATTEN: {
    if (x->shape.rank == 1)
      return x;
    Shape flat = shp(1, shape_numel(x->shape), 0, 0, 0);
    return ir_node(g, OP_RESHAPE, 1, &x, NULL, &flat);
  }
  case L_DROPOUT: {
    if (!lower_training(L) || l->f[P] == 0)
      return x; /* identity at evaluation */
    Node *mask = ir_leaf(g, OP_DROPMASK, true, x->shape, NULL);
    mask->f[0] = l->f[P];
    mask->a[1] = stream_of(g->cur_where);
    return ir_binary(g, OP_MUL, x, mask);
  }
  default:
    unreachable();
    return NULL;
  }
}

/* ---- leaves ----------------------------------------------------------------------- */

NO_SHAPE(INPUT)
NO_SHAPE(LABEL)
NO_SHAPE(PARAM)
NO_SHAPE(STATE)
NO_SHAPE(STAT)
SCALAR_SHAPE(HYPER)
NO_SHAPE(DROPMASK)
SCALAR_SHAPE(CONST)
NO_BWD(INPUT)
NO_BWD(LABEL)
NO_BWD(PARAM)
NO_BWD(STATE)
NO_BWD(STAT)
NO_BWD(HYPER)
NO_BWD(DROPMASK)
NO_BWD(CONST)
NO_INTERP(INPUT)
NO_INTERP(LABEL)
NO_INTERP(PARAM)
NO_INTERP(STATE)
NO_INTERP(STAT)
NO_KIR(INPUT)
NO_KIR(LABEL)
NO_KIR(PARAM)
NO_KIR(STATE)
NO_KIR(STAT)
NO_KIR(HYPER) /* a buffer of the caller's hyper[] */

INTERP(HYPER) { (void)x, out[0] = I->hyper[n->a[0]]; }

/* a mask element is a function of the step's seed, the stream and the index */
INTERP(DROPMASK) {
  (void)x;
  double p = (float)n->f[0]; /* as generated code sees it */
  for (int64_t i = 0, e = LEN(n); i < e; i++) {
    uint64_t h = I->step_seed ^ ((uint64_t)n->a[1] << 40) ^ (uint64_t)i;
    double u = (double)(mtl_splitmix64(&h) >> 11) * 0x1.0p-53;
    out[i] = u < p ? 0 : 1 / (1 - p);
  }
}

KIR(DROPMASK) { kb_dropout(kb, OUT, COUNT(n), (float)n->f[0], n->a[1]); }

INTERP(CONST) { (void)I, (void)x, out[0] = n->f[0]; }
KIR(CONST) { STORE(OUT, IC(0), FC(n->f[0])); }

/* ---- lookup: a derived label --------------------------------------------------------- */

SHAPE(LOOKUP) {
  n->shape = n->in[0]->shape;
  n->batched = n->in[0]->batched;
  n->dtype = DT_I32;
}
NO_BWD(LOOKUP)

INTERP(LOOKUP) {
  for (int64_t b = 0; b < I->batch; b++) {
    int64_t k = (int64_t)x[0][b];
    MTLC_ASSERT(k >= 0 && k < n->ntable);
    out[b] = (double)n->table[k];
  }
}

KIR(LOOKUP) {
  Buf *t = kb_table(kb, n->table, n->ntable, "label table");
  Expr *b = LOOP(BATCH);
  STORE(OUT, b, LD(t, kx_toi(kb, LD(IN(0), b))));
  END;
}

/* ---- reshape: a view -------------------------------------------------------------------- */

NO_SHAPE(RESHAPE)
BWD(RESHAPE) {
  ad_accum(ad, n->in[0], ad_node(ad, OP_RESHAPE, 1, &dy, NULL, &n->in[0]->shape));
}
INTERP(RESHAPE) { memcpy(out, x[0], sizeof(double) * (size_t)LEN(n)); }
NO_KIR(RESHAPE) /* the same buffer as its input */

/* ---- elementwise, with a scalar second operand broadcast -------------------------------- */

static bool is_scalar(const Node *n) { return n->shape.rank == 0 && !n->batched; }

static void binary_shape(Node *n) {
  Node *x = n->in[0], *y = n->in[1];
  MTLC_ASSERT(is_scalar(y) || (x->batched == y->batched && shape_eq(x->shape, y->shape)));
  n->shape = x->shape;
  n->batched = x->batched;
}
SHAPE(ADD) { binary_shape(n); }
SHAPE(SUB) { binary_shape(n); }
SHAPE(MUL) { binary_shape(n); }
SAME_SHAPE_AS(SCALE, 0)
SCALAR_SHAPE(SUMSQ)
SCALAR_SHAPE(SUM)
SAME_SHAPE_AS(SUMSQ_BWD, 1)
NO_SHAPE(FILL)

/* the gradient of a broadcast scalar: the sum of its elements' */
static Node *unbroadcast(Ad *ad, Node *y, Node *dy) {
  return is_scalar(y) && !is_scalar(dy) ? ad_node(ad, OP_SUM, 1, &dy, NULL, NULL) : dy;
}

BWD(ADD) {
  ad_accum(ad, n->in[0], dy);
  if (n->in[1]->needs_grad)
    ad_accum(ad, n->in[1], unbroadcast(ad, n->in[1], dy));
}

BWD(SUB) {
  ad_accum(ad, n->in[0], dy);
  if (n->in[1]->needs_grad)
    ad_accum(ad, n->in[1], ir_scale(ad_graph(ad), unbroadcast(ad, n->in[1], dy), -1));
}

BWD(MUL) {
  Graph *g = ad_graph(ad);
  if (n->in[0]->needs_grad)
    ad_accum(ad, n->in[0], ir_binary(g, OP_MUL, dy, n->in[1]));
  if (n->in[1]->needs_grad)
    ad_accum(ad, n->in[1], unbroadcast(ad, n->in[1], ir_binary(g, OP_MUL, dy, n->in[0])));
}

BWD(SCALE) { ad_accum(ad, n->in[0], ir_scale(ad_graph(ad), dy, n->f[0])); }
BWD(SUMSQ) {
  ad_accum(ad, n->in[0], ad_node(ad, OP_SUMSQ_BWD, 2, (Node *[]){dy, n->in[0]}, NULL, NULL));
}
BWD(SUM) {
  Node *x = n->in[0];
  Node *d = ad_node(ad, OP_FILL, 1, &dy, NULL, &x->shape);
  d->batched = x->batched;
  ad_accum(ad, x, d);
}
NO_BWD(SUMSQ_BWD)
NO_BWD(FILL)

#define ELEMENTWISE(name, expr)                                                \
  INTERP(name) {                                                               \
    bool one = n->nin > 1 && is_scalar(n->in[1]);                              \
    for (int64_t i = 0, e = LEN(n); i < e; i++) {                              \
      double y = n->nin > 1 ? x[1][one ? 0 : i] : 0;                           \
      (void)y;                                                                 \
      out[i] = (expr);                                                         \
    }                                                                          \
  }
ELEMENTWISE(ADD, x[0][i] + y)
ELEMENTWISE(SUB, x[0][i] - y)
ELEMENTWISE(MUL, x[0][i] * y)
ELEMENTWISE(SCALE, n->f[0] * x[0][i])
ELEMENTWISE(SUMSQ_BWD, 2 * x[0][0] * x[1][i])
ELEMENTWISE(FILL, x[0][0])

INTERP(SUMSQ) {
  double s = 0;
  for (int64_t i = 0, e = LEN(n->in[0]); i < e; i++)
    s += x[0][i] * x[0][i];
  out[0] = s;
}

INTERP(SUM) {
  double s = 0;
  for (int64_t i = 0, e = LEN(n->in[0]); i < e; i++)
    s += x[0][i];
  out[0] = s;
}

/* out[i] = expr of x (input 0 at i) and y (input 1 at i, or at 0: a scalar) */
#define ELEMENTWISE_KIR(name, expr)                                            \
  KIR(name) {                                                                  \
    Expr *i = LOOP(COUNT(n));                                                  \
    Expr *x = LD(IN(0), i);                                                    \
    Expr *y = n->nin > 1 ? LD(IN(1), is_scalar(n->in[1]) ? IC(0) : i) : NULL;  \
    (void)x, (void)y;                                                          \
    STORE(OUT, i, (expr));                                                     \
    END;                                                                       \
  }
ELEMENTWISE_KIR(ADD, ADD(x, y))
ELEMENTWISE_KIR(SUB, SUB(x, y))
ELEMENTWISE_KIR(MUL, MUL(x, y))
ELEMENTWISE_KIR(SCALE, MUL(x, FC(n->f[0])))

KIR(SUMSQ_BWD) { /* ds, x: 2 ds x */
  Expr *d = LOCAL(MUL(FC(2), LD(IN(0), IC(0))));
  Expr *i = LOOP(COUNT(n));
  STORE(OUT, i, MUL(d, LD(IN(1), i)));
  END;
}

KIR(FILL) { /* ds to every element */
  Expr *d = LOCAL(LD(IN(0), IC(0)));
  Expr *i = LOOP(COUNT(n));
  STORE(OUT, i, d);
  END;
}

KIR(SUMSQ) {
  Expr *s = LOCAL(FC(0));
  Expr *i = LOOP(COUNT(n->in[0]));
  Expr *x = LD(IN(0), i);
  SET(s, ADD(s, MUL(x, x)));
  END;
  STORE(OUT, IC(0), s);
}

KIR(SUM) {
  Expr *s = LOCAL(FC(0));
  Expr *i = LOOP(COUNT(n->in[0]));
  SET(s, ADD(s, LD(IN(0), i)));
  END;
  STORE(OUT, IC(0), s);
}

/* ---- concat along the last dimension, and its parts' gradients ------------------------ */

static int64_t last(const Node *n) { return n->shape.d[n->shape.rank - 1]; }

SHAPE(CONCAT) {
  Node *x = n->in[0], *y = n->in[1];
  MTLC_ASSERT(x->batched && y->batched && x->shape.rank == y->shape.rank);
  n->shape = x->shape;
  n->shape.d[n->shape.rank - 1] += last(y);
  n->batched = true;
}
NO_SHAPE(CONCAT_PART) /* the part's shape; a0 its first column */

BWD(CONCAT) {
  for (int k = 0; k < 2; k++) {
    Node *p = n->in[k];
    if (!p->needs_grad)
      continue;
    int64_t at[4] = {k ? last(n->in[0]) : 0, 0, 0, 0};
    Node *d = ir_node(ad_graph(ad), OP_CONCAT_PART, 1, &dy, at, &p->shape);
    ad_accum(ad, p, d);
  }
}
NO_BWD(CONCAT_PART)

INTERP(CONCAT) {
  int64_t Dx = last(n->in[0]), Dy = last(n->in[1]), D = Dx + Dy;
  for (int64_t r = 0, rows = LEN(n) / D; r < rows; r++) {
    memcpy(out + r * D, x[0] + r * Dx, sizeof(double) * (size_t)Dx);
    memcpy(out + r * D + Dx, x[1] + r * Dy, sizeof(double) * (size_t)Dy);
  }
}

INTERP(CONCAT_PART) { /* dy */
  int64_t Dp = last(n), D = last(n->in[0]);
  for (int64_t r = 0, rows = LEN(n) / Dp; r < rows; r++)
    memcpy(out + r * Dp, x[0] + r * D + n->a[0], sizeof(double) * (size_t)Dp);
}

/* out[r, at + j] = part[r, j], each part in turn */
KIR(CONCAT) {
  int64_t D = last(n), rows = shape_numel(n->shape) / D;
  for (int k = 0, at = 0; k < 2; at += (int)last(n->in[k]), k++) {
    int64_t Dp = last(n->in[k]);
    Expr *r = LOOP(MUL(BATCH, IC(rows)));
    Expr *j = LOOP(IC(Dp));
    STORE(OUT, ADD(MUL(r, IC(D)), ADD(j, IC(at))), LD(IN(k), ADD(MUL(r, IC(Dp)), j)));
    END, END;
  }
}

KIR(CONCAT_PART) { /* dy */
  int64_t Dp = last(n), D = last(n->in[0]), rows = shape_numel(n->shape) / Dp;
  Expr *r = LOOP(MUL(BATCH, IC(rows)));
  Expr *j = LOOP(IC(Dp));
  STORE(OUT, ADD(MUL(r, IC(Dp)), j), LD(IN(0), ADD(MUL(r, IC(D)), ADD(j, IC(n->a[0])))));
  END, END;
}
