/* ops/conv.c: the conv2d layer and its ops. conv2d(filters, kernel=,
 * stride=1, pad=0, bias=true) on [C, H, W] gives [F, Ho, Wo] with
 * Ho = (H + 2 pad - k) / stride + 1 (PyTorch's Conv2d, square windows,
 * zero padding); its bias is dense's bias op along the channels.
 *   conv2d     x[B, C, H, W] * W[F, C, k, k] -> y[B, F, Ho, Wo]
 *   conv2d_dx  dy, W -> dx       conv2d_dw  dy, x -> dW
 * Kernels run per sample, each one GEMM over that sample's windows (im2col
 * from a zero-padded copy, so the window loops need no bounds checks and
 * vectorize); with few filters, the weight gradient's windows are laid
 * out a window a row, so that its GEMM reads no operand transposed.
 * Attributes: a0 stride, a1 pad, a2 kernel size. */
#include "ops/ops.h"

enum { FILTERS, KERNEL, STRIDE, PAD }; /* i[] */

/* ---- the layer ------------------------------------------------------------- */

const Param conv_params[5] = {{"filters", T_INT, REQ, 1, BIG},
                               {"kernel", T_INT, REQ, 1, 4096},
                               {"stride", T_INT, 0, 1, 4096},
                               {"pad", T_INT, 0, 0, 4096},
                               {"bias", T_BOOL, 0, 0, 0}};
const Sig sig_CONV2D = {NULL, 2, conv_params, 5, "conv2d(32, kernel=3, pad=1)", "Conv2d",
                        "filters and kernel", "channels"};

bool conv_args(Sema *s, Layer *l, Value **v) {
  (void)s;
  l->i[FILTERS] = int_arg(v[0], 0);
  l->i[KERNEL] = int_arg(v[1], 0);
  l->i[STRIDE] = int_arg(v[2], 1);
  l->i[PAD] = int_arg(v[3], 0);
  l->bias = bool_arg(v[4], true);
  return true;
}

bool conv_shape(Sema *s, Layer *l, Shape in) {
  Call *c = l->call;
  Arena *a = s->a;
  int64_t k = l->i[KERNEL], pad = l->i[PAD], F = l->i[FILTERS];
  if (in.rank != 3) {
    ERR(c->span, "conv2d needs an input of shape [C, H, W], but here it gets "
        "%s; %s", shape_str(a, in), image_hint(s, in));
    return false;
  }
  int64_t h = in.d[1] + 2 * pad - k, w = in.d[2] + 2 * pad - k;
  if (h < 0 || w < 0) {
    int64_t fit = in.d[1] < in.d[2] ? in.d[1] : in.d[2];
    ERR(c->span, "conv2d window %lldx%lld does not fit input %s%s; use kernel=%lld or "
        "less, or pad the input", (long long)k, (long long)k, shape_str(a, in),
        pad ? arena_printf(a, " padded by %lld", (long long)pad) : "",
        (long long)(fit + 2 * pad));
    return false;
  }
  l->out = shp(3, F, h / l->i[STRIDE] + 1, w / l->i[STRIDE] + 1, 0);
  int64_t hw = l->out.d[1] * l->out.d[2], ckk = in.d[0] * k * k;
  if (layer_too_big(s, c, l->out) || layer_too_many_weights(s, c, (double)ckk * (double)F))
    return false;
  l->params = ckk * F + (l->bias ? F : 0);
  l->flops = sat_add(sat_mul(2 * ckk * F, hw), l->bias ? F * hw : 0);
  return true;
}

Node *conv_lower(Lower *L, const NetVal *v, Node *x) {
  Layer *l = v->layer;
  Graph *g = lower_graph(L);
  int64_t C = l->in.d[0], k = l->i[KERNEL], F = l->i[FILTERS];
  double bound = 1 / sqrt((double)(C * k * k));
  Node *w = lower_param(L, v, "weight", shp(4, F, C, k, k), MTL_INIT_UNIFORM, bound);
  Node *b = l->bias ? lower_param(L, v, "bias", shp(1, F, 0, 0, 0), MTL_INIT_UNIFORM, bound)
                    : NULL;
  int64_t attrs[4] = {l->i[STRIDE], l->i[PAD], k, 0};
  Node *y = ir_node(g, OP_CONV2D, 2, (Node *[]){x, w}, attrs, NULL);
  return b ? ir_binary(g, OP_BIAS, y, b) : y;
}

/* ---- the ops --------------------------------------------------------------- */

static int64_t out_dim(int64_t in, int64_t k, int64_t stride, int64_t pad) {
  return (in + 2 * pad - k) / stride + 1;
}

SHAPE(CONV2D) {
  Shape x = n->in[0]->shape, w = n->in[1]->shape;
  MTLC_ASSERT(x.rank == 3 && w.rank == 4 && x.d[0] == w.d[1]);
  n->shape = shp(3, w.d[0], out_dim(x.d[1], n->a[2], n->a[0], n->a[1]),
                 out_dim(x.d[2], n->a[2], n->a[0], n->a[1]), 0);
  n->batched = true;
}
NO_SHAPE(CONV2D_DX)
SHAPE(CONV2D_DW) {
  n->shape = shp(4, n->in[0]->shape.d[0], n->in[1]->shape.d[0], n->a[2], n->a[2]);
  n->batched = false;
}

BWD(CONV2D) {
  Node *x = n->in[0], *w = n->in[1];
  if (x->needs_grad)
    ad_accum(ad, x, ad_node(ad, OP_CONV2D_DX, 2, (Node *[]){dy, w}, n, &x->shape));
  ad_accum(ad, w, ad_node(ad, OP_CONV2D_DW, 2, (Node *[]){dy, x}, n, NULL));
}
NO_BWD(CONV2D_DX)
NO_BWD(CONV2D_DW)

/* conv geometry: input [C, H, W], output [F, Ho, Wo], kernel K */
typedef struct {
  int64_t C, H, W, F, Ho, Wo, K, S, P;
} Geo;

static Geo geo(const Node *x, const Node *y, const int64_t *a) {
  return (Geo){x->shape.d[0], x->shape.d[1], x->shape.d[2], y->shape.d[0],
               y->shape.d[1], y->shape.d[2], a[2],          a[0], a[1]};
}

/* the interpreter: every in-bounds tap (b, f, oh, ow, c, kh, kw) */
#define FOR_TAPS(g, batch, body)                                               \
  for (int64_t b = 0; b < (batch); b++)                                       \
    for (int64_t f = 0; f < (g).F; f++)                                        \
      for (int64_t oh = 0; oh < (g).Ho; oh++)                                  \
        for (int64_t ow = 0; ow < (g).Wo; ow++)                                \
          for (int64_t c = 0; c < (g).C; c++)                                  \
            for (int64_t kh = 0; kh < (g).K; kh++)                             \
              for (int64_t kw = 0; kw < (g).K; kw++) {                         \
                int64_t ih = oh * (g).S - (g).P + kh;                          \
                int64_t iw = ow * (g).S - (g).P + kw;                          \
                if (ih < 0 || ih >= (g).H || iw < 0 || iw >= (g).W)            \
                  continue;                                                    \
                int64_t xi = ((b * (g).C + c) * (g).H + ih) * (g).W + iw;      \
                int64_t yi = ((b * (g).F + f) * (g).Ho + oh) * (g).Wo + ow;    \
                int64_t wi = (((f * (g).C) + c) * (g).K + kh) * (g).K + kw;    \
                body;                                                          \
              }

INTERP(CONV2D) {
  Geo g = geo(n->in[0], n, n->a);
  memset(out, 0, sizeof(double) * (size_t)LEN(n));
  FOR_TAPS(g, I->batch, out[yi] += x[0][xi] * x[1][wi])
}

INTERP(CONV2D_DX) { /* dy, W -> dx */
  Geo g = geo(n, n->in[0], n->a);
  memset(out, 0, sizeof(double) * (size_t)LEN(n));
  FOR_TAPS(g, I->batch, out[xi] += x[0][yi] * x[1][wi])
}

INTERP(CONV2D_DW) { /* dy, x -> dW */
  Geo g = geo(n->in[1], n->in[0], n->a);
  memset(out, 0, sizeof(double) * (size_t)LEN(n));
  FOR_TAPS(g, I->batch, out[wi] += x[0][yi] * x[1][xi])
}

/* ---- kernels: im2col + GEMM per sample ------------------------------------------ */

/* xp[C, H + 2P, W + 2P]: sample b of x in the middle, zeros around */
static Buf *pad_sample(KB *kb, Geo g, Buf *x, Expr *b) {
  if (!g.P)
    return NULL;
  int64_t hp = g.H + 2 * g.P, wp = g.W + 2 * g.P;
  Buf *xp = kb_scratch(kb, g.C * hp * wp, "one sample, zero-padded");
  kb_zero(kb, xp, IC(g.C * hp * wp));
  Expr *c = LOOP(IC(g.C));
  Expr *h = LOOP(IC(g.H));
  Expr *w = LOOP(IC(g.W));
  STORE(xp, ADD(MUL(ADD(MUL(c, IC(hp)), ADD(h, IC(g.P))), IC(wp)), ADD(w, IC(g.P))),
        LD(x, ADD(MUL(ADD(MUL(ADD(MUL(b, IC(g.C)), c), IC(g.H)), h), IC(g.W)), w)));
  END, END, END;
  return xp;
}

/* col[(c K + kh) K + kw, oh Wo + ow] = src[c, oh S + kh, ow S + kw], src one
 * (padded) sample at `base`; with back, src[...] += col[...] (col2im) */
static void im2col(KB *kb, Geo g, Buf *src, Expr *base, Buf *col, bool back) {
  int64_t hs = g.H + 2 * g.P, ws = g.W + 2 * g.P, hw = g.Ho * g.Wo;
  Expr *c = LOOP(IC(g.C));
  Expr *kh = LOOP(IC(g.K));
  Expr *kw = LOOP(IC(g.K));
  Expr *row = LOCAL(MUL(ADD(MUL(ADD(MUL(c, IC(g.K)), kh), IC(g.K)), kw), IC(hw)));
  Expr *oh = LOOP(IC(g.Ho));
  Expr *srow = LOCAL(ADD(base, MUL(ADD(MUL(c, IC(hs)), ADD(MUL(oh, IC(g.S)), kh)), IC(ws))));
  Expr *ow = LOOP(IC(g.Wo));
  Expr *ci = ADD(row, ADD(MUL(oh, IC(g.Wo)), ow));
  Expr *si = ADD(srow, ADD(MUL(ow, IC(g.S)), kw));
  if (!back)
    STORE(col, ci, LD(src, si));
  else
    ACCUM(src, si, LD(col, ci));
  END, END, END, END, END;
}

/* the windows of sample b */
static void windows(KB *kb, Geo g, Buf *x, Expr *b, Buf *col) {
  Buf *xp = pad_sample(kb, g, x, b);
  im2col(kb, g, xp ? xp : x, xp ? IC(0) : MUL(b, IC(g.C * g.H * g.W)), col, false);
}

/* the windows of sample b transposed, one window a row:
 * colt[oh Wo + ow, (c K + kh) K + kw], for the weight gradient's GEMM,
 * which then reads both operands along its rows */
static void windows_t(KB *kb, Geo g, Buf *x, Expr *b, Buf *colt) {
  Buf *xp = pad_sample(kb, g, x, b);
  Buf *src = xp ? xp : x;
  Expr *base = xp ? IC(0) : MUL(b, IC(g.C * g.H * g.W));
  int64_t hs = g.H + 2 * g.P, ws = g.W + 2 * g.P, ckk = g.C * g.K * g.K;
  Expr *oh = LOOP(IC(g.Ho));
  Expr *ow = LOOP(IC(g.Wo));
  Expr *row = LOCAL(MUL(ADD(MUL(oh, IC(g.Wo)), ow), IC(ckk)));
  Expr *c = LOOP(IC(g.C));
  Expr *kh = LOOP(IC(g.K));
  Expr *srow = LOCAL(ADD(base, ADD(MUL(ADD(MUL(c, IC(hs)), ADD(MUL(oh, IC(g.S)), kh)), IC(ws)),
                                   MUL(ow, IC(g.S)))));
  Expr *crow = LOCAL(ADD(row, MUL(ADD(MUL(c, IC(g.K)), kh), IC(g.K))));
  Expr *kw = LOOP(IC(g.K));
  STORE(colt, ADD(crow, kw), LD(src, ADD(srow, kw)));
  END, END, END, END, END;
}

KIR(CONV2D) { /* y_b[F, HoWo] = W[F, CKK] col_b[CKK, HoWo] */
  Geo g = geo(n->in[0], n, n->a);
  int64_t ckk = g.C * g.K * g.K, hw = g.Ho * g.Wo;
  Buf *col = kb_scratch(kb, ckk * hw, "the windows of one sample");
  Expr *b = LOOP(BATCH);
  windows(kb, g, IN(0), b, col);
  kb_gemm(kb, 0, 0, IC(g.F), IC(hw), IC(ckk), IN(1), IC(0), IC(ckk), col, IC(0), IC(hw), OUT,
          MUL(b, IC(g.F * hw)), IC(hw), 0);
  END;
}

/* dW[F, CKK] += dy_b[F, HoWo] col_b[CKK, HoWo]^T. With few filters (F <
 * 32) the GEMM's B^T costs more than the windows laid out a window a row
 * (colt_b[HoWo, CKK], B not transposed: measured, LeNet's 10 and 20
 * filters 2.5x faster in mtl_gemm.c); with more, writing those rows costs
 * more than it saves (fashion_hard 14% slower). Measured again with
 * mtl_gemm.c's own B^T path: B^T throughout, LeNet 27% slower; rows
 * throughout, fashion_hard 22% slower. */
KIR(CONV2D_DW) {
  Geo g = geo(n->in[1], n->in[0], n->a);
  int64_t ckk = g.C * g.K * g.K, hw = g.Ho * g.Wo;
  bool rows = g.F < 32;
  Buf *col = kb_scratch(kb, ckk * hw, rows ? "the windows of one sample, a window a row"
                                           : "the windows of one sample");
  kb_zero(kb, OUT, IC(g.F * ckk));
  Expr *b = LOOP(BATCH);
  (rows ? windows_t : windows)(kb, g, IN(1), b, col);
  kb_gemm(kb, 0, !rows, IC(g.F), IC(ckk), IC(hw), IN(0), MUL(b, IC(g.F * hw)), IC(hw), col, IC(0),
          IC(rows ? ckk : hw), OUT, IC(0), IC(ckk), 1);
  END;
}

KIR(CONV2D_DX) { /* col_b = W^T dy_b; col2im into a padded sample; its middle */
  Geo g = geo(n, n->in[0], n->a);
  int64_t ckk = g.C * g.K * g.K, hw = g.Ho * g.Wo;
  int64_t hp = g.H + 2 * g.P, wp = g.W + 2 * g.P;
  Buf *col = kb_scratch(kb, ckk * hw, "the windows of one sample");
  Buf *dxp = g.P ? kb_scratch(kb, g.C * hp * wp, "one sample's gradient, zero-padded") : NULL;
  if (!g.P)
    kb_zero(kb, OUT, COUNT(n));
  Expr *b = LOOP(BATCH);
  kb_gemm(kb, 1, 0, IC(ckk), IC(hw), IC(g.F), IN(1), IC(0), IC(ckk), IN(0), MUL(b, IC(g.F * hw)),
          IC(hw), col, IC(0), IC(hw), 0);
  if (!g.P) {
    im2col(kb, g, OUT, MUL(b, IC(g.C * g.H * g.W)), col, true);
  } else {
    kb_zero(kb, dxp, IC(g.C * hp * wp));
    im2col(kb, g, dxp, IC(0), col, true);
    Expr *c = LOOP(IC(g.C));
    Expr *h = LOOP(IC(g.H));
    Expr *w = LOOP(IC(g.W));
    STORE(OUT, ADD(MUL(ADD(MUL(ADD(MUL(b, IC(g.C)), c), IC(g.H)), h), IC(g.W)), w),
          LD(dxp, ADD(MUL(ADD(MUL(c, IC(hp)), ADD(h, IC(g.P))), IC(wp)), ADD(w, IC(g.P)))));
    END, END, END;
  }
  END;
}
