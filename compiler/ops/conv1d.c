/* ops/conv1d.c: the conv1d layer and its ops. conv1d(filters, kernel=,
 * stride=1, pad=0, bias=true) on a sequence [T, C] gives [To, F] with
 * To = (T + 2 pad - k) / stride + 1: PyTorch's Conv1d (zero padding, its
 * weight layout W [F, C, k] and its default init), on Keras' channels-last
 * sequences, so that an embedding's output [T, D] feeds it as is.
 *   conv1d     y[b, o, f] = b[f] + sum over c, j of x[b, o stride - pad + j, c] W[f, c, j]
 *   conv1d_dx  dy, W -> dx       conv1d_dw  dy, x -> dW       conv1d_db  dy -> db
 * The bias is an input of the op itself (its rows start at it, then the
 * GEMM adds to them), not dense's bias op, which runs along dimension 1.
 * Kernels see the whole batch as one matrix: the windows of every sample
 * as rows col[B To, C k] (im2col, zeros where a window hangs over the
 * padding), then one GEMM for y = col W^T, one for dW = dy^T col, and one
 * for dcol = dy W that col2im adds into dx. Attributes: a0 stride, a1 pad,
 * a2 kernel size. */
#include "ops/ops.h"

enum { FILTERS, KERNEL, STRIDE, PAD }; /* i[], as conv2d's */

/* ---- the layer ------------------------------------------------------------- */

const Sig sig_CONV1D = {NULL, 2, conv_params, 5, "conv1d(64, kernel=5, pad=2)", "Conv1d",
                        "filters and kernel", "channels"};

bool conv1d_args(Sema *s, Layer *l, Value **v) { return conv_args(s, l, v); }

static int64_t out_len(int64_t T, int64_t k, int64_t stride, int64_t pad) {
  return (T + 2 * pad - k) / stride + 1;
}

bool conv1d_shape(Sema *s, Layer *l, Shape in) {
  Call *c = l->call;
  Arena *a = s->a;
  int64_t k = l->i[KERNEL], pad = l->i[PAD], F = l->i[FILTERS];
  if (in.rank != 2) {
    ERR(c->span, "conv1d needs a sequence [T, D], but here it gets %s; %s", shape_str(a, in),
        in.rank == 3 ? "a [C, H, W] map takes conv2d" : "an embedding gives one: "
        "ids -> embedding(V, D) -> conv1d(...)");
    return false;
  }
  if (in.d[0] + 2 * pad < k) {
    ERR(c->span, "conv1d window %lld does not fit sequence %s%s; use kernel=%lld or less, "
        "or pad the input", (long long)k, shape_str(a, in),
        pad ? arena_printf(a, " padded by %lld", (long long)pad) : "",
        (long long)(in.d[0] + 2 * pad));
    return false;
  }
  l->out = shp(2, out_len(in.d[0], k, l->i[STRIDE], pad), F, 0, 0);
  int64_t ck = in.d[1] * k;
  if (layer_too_big(s, c, l->out) || layer_too_many_weights(s, c, (double)ck * (double)F))
    return false;
  l->params = ck * F + (l->bias ? F : 0);
  l->flops = sat_add(sat_mul(2 * ck * F, l->out.d[0]), l->bias ? F * l->out.d[0] : 0);
  return true;
}

Node *conv1d_lower(Lower *L, const NetVal *v, Node *x) {
  Layer *l = v->layer;
  int64_t C = l->in.d[1], k = l->i[KERNEL], F = l->i[FILTERS];
  double bound = 1 / sqrt((double)(C * k));
  Node *in[3] = {x, lower_param(L, v, "weight", shp(3, F, C, k, 0), MTL_INIT_UNIFORM, bound),
                 l->bias ? lower_param(L, v, "bias", shp(1, F, 0, 0, 0), MTL_INIT_UNIFORM, bound)
                         : NULL};
  int64_t attrs[4] = {l->i[STRIDE], l->i[PAD], k, 0};
  return ir_node(lower_graph(L), OP_CONV1D, l->bias ? 3 : 2, in, attrs, NULL);
}

/* ---- shapes and gradients ---------------------------------------------------- */

SHAPE(CONV1D) {
  Shape x = n->in[0]->shape, w = n->in[1]->shape;
  MTLC_ASSERT(x.rank == 2 && w.rank == 3 && x.d[1] == w.d[1] && w.d[2] == n->a[2]);
  MTLC_ASSERT(n->nin == 2 || (n->nin == 3 && n->in[2]->shape.d[0] == w.d[0]));
  n->shape = shp(2, out_len(x.d[0], n->a[2], n->a[0], n->a[1]), w.d[0], 0, 0);
  n->batched = true;
}
NO_SHAPE(CONV1D_DX)
SHAPE(CONV1D_DW) {
  n->shape = shp(3, n->in[0]->shape.d[1], n->in[1]->shape.d[1], n->a[2], 0);
  n->batched = false;
}
SHAPE(CONV1D_DB) {
  n->shape = shp(1, n->in[0]->shape.d[1], 0, 0, 0);
  n->batched = false;
}

BWD(CONV1D) {
  Node *x = n->in[0], *w = n->in[1];
  if (x->needs_grad)
    ad_accum(ad, x, ad_node(ad, OP_CONV1D_DX, 2, (Node *[]){dy, w}, n, &x->shape));
  ad_accum(ad, w, ad_node(ad, OP_CONV1D_DW, 2, (Node *[]){dy, x}, n, NULL));
  if (n->nin == 3)
    ad_accum(ad, n->in[2], ad_node(ad, OP_CONV1D_DB, 1, &dy, n, NULL));
}
NO_BWD(CONV1D_DX)
NO_BWD(CONV1D_DW)
NO_BWD(CONV1D_DB)

/* geometry: input [T, C], output [To, F], kernel K */
typedef struct {
  int64_t T, C, To, F, K, S, P;
} Geo;

static Geo geo(const Node *x, const Node *y, const int64_t *a) {
  return (Geo){x->shape.d[0], x->shape.d[1], y->shape.d[0], y->shape.d[1], a[2], a[0], a[1]};
}

/* the interpreter: every in-bounds tap (b, o, f, c, j) */
#define FOR_TAPS(g, batch, body)                                               \
  for (int64_t b = 0; b < (batch); b++)                                       \
    for (int64_t o = 0; o < (g).To; o++)                                       \
      for (int64_t f = 0; f < (g).F; f++)                                      \
        for (int64_t c = 0; c < (g).C; c++)                                    \
          for (int64_t j = 0; j < (g).K; j++) {                                \
            int64_t t = o * (g).S - (g).P + j;                                 \
            if (t < 0 || t >= (g).T)                                           \
              continue;                                                        \
            int64_t xi = (b * (g).T + t) * (g).C + c;                          \
            int64_t yi = (b * (g).To + o) * (g).F + f;                         \
            int64_t wi = (f * (g).C + c) * (g).K + j;                          \
            body;                                                              \
          }

INTERP(CONV1D) {
  Geo g = geo(n->in[0], n, n->a);
  for (int64_t i = 0, e = LEN(n); i < e; i++)
    out[i] = n->nin == 3 ? x[2][i % g.F] : 0;
  FOR_TAPS(g, I->batch, out[yi] += x[0][xi] * x[1][wi])
}

INTERP(CONV1D_DX) { /* dy, W -> dx */
  Geo g = geo(n, n->in[0], n->a);
  memset(out, 0, sizeof(double) * (size_t)LEN(n));
  FOR_TAPS(g, I->batch, out[xi] += x[0][yi] * x[1][wi])
}

INTERP(CONV1D_DW) { /* dy, x -> dW */
  Geo g = geo(n->in[1], n->in[0], n->a);
  memset(out, 0, sizeof(double) * (size_t)LEN(n));
  FOR_TAPS(g, I->batch, out[wi] += x[0][yi] * x[1][xi])
}

INTERP(CONV1D_DB) { /* dy -> db */
  int64_t F = n->shape.d[0];
  memset(out, 0, sizeof(double) * (size_t)F);
  for (int64_t i = 0, e = LEN(n->in[0]); i < e; i++)
    out[i % F] += x[0][i];
}

/* ---- kernels: im2col over the batch + one GEMM -------------------------------------- */

/* col[(b To + o) C K + c K + j] = x[b, o S - P + j, c], 0 where that is
 * padding; with back, x[...] += col[...] instead (col2im). Per tap j the
 * outputs o whose input lies inside are [lo, hi), known here. */
static void im2col(KB *kb, Geo g, Buf *x, Buf *col, bool back) {
  int64_t ck = g.C * g.K;
  for (int64_t j = 0; j < g.K; j++) {
    int64_t lo = 0, hi = g.To;
    while (lo < g.To && lo * g.S - g.P + j < 0)
      lo++;
    while (hi > lo && (hi - 1) * g.S - g.P + j >= g.T)
      hi--;
    Expr *b = LOOP(BATCH);
    if (!back) { /* the padding's zeros: outputs [0, lo) and [hi, To) */
      for (int side = 0; side < 2; side++) {
        int64_t from = side ? hi : 0, count = side ? g.To - hi : lo;
        if (count <= 0)
          continue;
        Expr *o = LOOP(IC(count));
        Expr *c = LOOP(IC(g.C));
        STORE(col, ADD(MUL(ADD(MUL(b, IC(g.To)), ADD(o, IC(from))), IC(ck)),
                       ADD(MUL(c, IC(g.K)), IC(j))), FC(0));
        END, END;
      }
    }
    if (hi > lo) {
      Expr *o = LOOP(IC(hi - lo));
      Expr *row = LOCAL(MUL(ADD(MUL(b, IC(g.To)), ADD(o, IC(lo))), IC(ck)));
      Expr *src = LOCAL(MUL(ADD(MUL(b, IC(g.T)), ADD(MUL(ADD(o, IC(lo)), IC(g.S)),
                                                    IC(j - g.P))), IC(g.C)));
      Expr *c = LOOP(IC(g.C));
      Expr *ci = ADD(row, ADD(MUL(c, IC(g.K)), IC(j))), *xi = ADD(src, c);
      if (back)
        ACCUM(x, xi, LD(col, ci));
      else
        STORE(col, ci, LD(x, xi));
      END, END;
    }
    END;
  }
}

static Buf *col_scratch(KB *kb, Geo g) {
  return kb_scratch(kb, kb_batch_max(kb) * g.To * g.C * g.K, "the windows of the batch");
}

KIR(CONV1D) { /* y[B To, F] = b (each row), then += col[B To, CK] W[F, CK]^T */
  Geo g = geo(n->in[0], n, n->a);
  int64_t ck = g.C * g.K;
  Buf *col = col_scratch(kb, g);
  im2col(kb, g, IN(0), col, false);
  Expr *rows = MUL(BATCH, IC(g.To));
  if (n->nin == 3) {
    Expr *r = LOOP(rows);
    Expr *f = LOOP(IC(g.F));
    STORE(OUT, ADD(MUL(r, IC(g.F)), f), LD(IN(2), f));
    END, END;
  }
  kb_gemm(kb, 0, 1, rows, IC(g.F), IC(ck), col, IC(0), IC(ck), IN(1), IC(0), IC(ck), OUT, IC(0),
          IC(g.F), n->nin == 3 ? 1 : 0);
}

KIR(CONV1D_DW) { /* dW[F, CK] = dy[B To, F]^T col[B To, CK] */
  Geo g = geo(n->in[1], n->in[0], n->a);
  int64_t ck = g.C * g.K;
  Buf *col = col_scratch(kb, g);
  im2col(kb, g, IN(1), col, false);
  kb_gemm(kb, 1, 0, IC(g.F), IC(ck), MUL(BATCH, IC(g.To)), IN(0), IC(0), IC(g.F), col, IC(0),
          IC(ck), OUT, IC(0), IC(ck), 0);
}

KIR(CONV1D_DX) { /* dcol[B To, CK] = dy[B To, F] W[F, CK]; dx = 0, then col2im */
  Geo g = geo(n, n->in[0], n->a);
  int64_t ck = g.C * g.K;
  Buf *col = col_scratch(kb, g);
  kb_gemm(kb, 0, 0, MUL(BATCH, IC(g.To)), IC(ck), IC(g.F), IN(0), IC(0), IC(g.F), IN(1), IC(0),
          IC(ck), col, IC(0), IC(ck), 0);
  kb_zero(kb, OUT, COUNT(n));
  im2col(kb, g, OUT, col, true);
}

KIR(CONV1D_DB) { /* db[f] = sum over the B To rows of dy[r, f] */
  int64_t F = n->shape.d[0], To = n->in[0]->shape.d[0];
  kb_zero(kb, OUT, IC(F));
  Expr *r = LOOP(MUL(BATCH, IC(To)));
  Expr *f = LOOP(IC(F));
  ACCUM(OUT, f, LD(IN(0), ADD(MUL(r, IC(F)), f)));
  END, END;
}
