/* ops/mix.c: the sharing architectures' layer and ops: weighted sums of
 * values that several tasks' nets meet in.
 *   stitch(self=0.9)  in a private block, a cross-stitch unit: a T x T
 *            matrix alpha (tower.stitch1.alpha), a_ii = self and
 *            a_ij = (1 - self) / (T - 1) at the start; copy i's value
 *            becomes sum_j a_ij x_j. Its values are check/sharing.c's.
 *   an experts block's gate, softmax(dense(E + P)) of the block's input
 *            flattened (mix.gate.item.weight), and its gated sum.
 *   mix      y = sum_k w_k x_k over K values of one shape, with weights
 *            per sample, w[B, K] (an experts block's gate: MMoE, CGC), or
 *            row a0 of an unbatched matrix w[a1, K] (a cross-stitch unit,
 *            Misra et al. 2016: x'_i = sum_j alpha_ij x_j)
 *   mix_dx   the gradient of x_k (k = a2): w_k dy
 *   mix_dw   the gradient of the weights: dw[b, k] = <dy[b], x_k[b]> per
 *            sample, or row a0 of [a1, K] summed over the batch (the other
 *            rows 0: the other tasks' stitch values add theirs)
 * Which values meet, the gates, and the stitch's lock step are the nets'
 * structure (check/experts.c, graph/lower.c). */
#include "ops/ops.h"

#define MAX_MIXED 16

enum { SELF }; /* f[]: a stitch's initial a_ii */

/* ---- the stitch layer --------------------------------------------------------------- */

static const Param p_stitch[] = {{"self", T_NUM, 0, 0, 1}};
const Sig sig_STITCH = {NULL, 1, p_stitch, 1, "stitch(self=0.9)", NULL, NULL, NULL};

/* only in a private block: it mixes the tasks' copies */
bool mix_args(Sema *s, Layer *l, Value **v) {
  Block *b = s->block;
  if (!b || !b->is_private) {
    ERR(l->call->span, "stitch mixes the tasks' copies of a private block, so it "
        "belongs in one; %s", !b ? "a task's own layers have one copy, the task's"
        : b->is_experts ? arena_printf(s->a, "the tasks share the experts of '%s'", b->name)
        : arena_printf(s->a, "'%s' is a shared block, one copy for every task", b->name));
    return false;
  }
  l->f[SELF] = num_or(v[0], 0.9);
  return true;
}

/* T copies: a T x T matrix, shared by the copies (the block's, not a
 * copy's); each copy's value, T multiply-adds per element */
bool mix_shape(Sema *s, Layer *l, Shape in) {
  int64_t T = s->block->ncopies;
  l->out = in;
  l->flops = sat_mul(2 * T, shape_numel(in));
  s->block->stitch_params = sat_add(s->block->stitch_params, T * T);
  return true;
}

/* x'_row = sum_j alpha[row, j] x_j, alpha starting at self on the
 * diagonal and (1 - self) / (T - 1) elsewhere */
Node *mix_lower(Lower *L, const NetVal *v, Node *x) {
  (void)x;
  int T = v->in.len;
  Node *in[MAX_MIXED + 1];
  in[0] = lower_param(L, v, "alpha", shp(2, T, T, 0, 0), MTL_INIT_STITCH, v->layer->f[SELF]);
  for (int j = 0; j < T; j++)
    in[1 + j] = lower_in(L, v, j);
  int64_t attrs[4] = {v->row, T, 0, 0};
  return ir_node(lower_graph(L), OP_MIX, T + 1, in, attrs, NULL);
}

/* ---- an experts block's gate and gated sum -------------------------------------------- */

/* softmax(x W^T + b) of the block's input flattened, W [K, D] and b [K]
 * initialized as PyTorch's Linear */
Node *experts_lower_gate(Lower *L, const NetVal *v, Node *x) {
  Graph *g = lower_graph(L);
  int64_t D = shape_numel(x->shape), K = v->shape.d[0];
  if (x->shape.rank != 1) {
    Shape flat = shp(1, D, 0, 0, 0);
    x = ir_node(g, OP_RESHAPE, 1, &x, NULL, &flat);
  }
  double bound = 1 / sqrt((double)D);
  Node *w = lower_param(L, v, "weight", shp(2, K, D, 0, 0), MTL_INIT_UNIFORM, bound);
  Node *b = lower_param(L, v, "bias", shp(1, K, 0, 0, 0), MTL_INIT_UNIFORM, bound);
  return ir_unary(g, OP_SOFTMAX, ir_binary(g, OP_BIAS, ir_binary(g, OP_MATMUL, x, w), b));
}

/* sum_k gate[k] expert_k */
Node *experts_lower_sum(Lower *L, const NetVal *v) {
  Node *in[MAX_MIXED + 1];
  for (int k = 0; k < v->in.len; k++)
    in[k] = lower_in(L, v, k);
  int64_t attrs[4] = {0};
  return ir_node(lower_graph(L), OP_MIX, v->in.len, in, attrs, NULL);
}

/* ---- mix: y = sum_k w_k x_k ----------------------------------------------------- */

static bool per_sample(const Node *n) { return n->a[1] == 0; }

SHAPE(MIX) {
  Node *w = n->in[0], *x = n->in[1];
  int64_t K = n->nin - 1;
  MTLC_ASSERT(K >= 1 && K <= 16);
  for (int k = 1; k <= K; k++)
    MTLC_ASSERT(n->in[k]->batched && shape_eq(n->in[k]->shape, x->shape));
  MTLC_ASSERT(per_sample(n) ? w->batched && w->shape.rank == 1 && w->shape.d[0] == K
                            : !w->batched && w->shape.rank == 2 && w->shape.d[0] == n->a[1] &&
                                  w->shape.d[1] == K && n->a[0] < n->a[1]);
  n->shape = x->shape;
  n->batched = true;
}
SAME_SHAPE_AS(MIX_DX, 0)
SHAPE(MIX_DW) {
  int64_t K = n->nin - 1;
  n->shape = per_sample(n) ? shp(1, K, 0, 0, 0) : shp(2, n->a[1], K, 0, 0);
  n->batched = per_sample(n);
}

BWD(MIX) {
  Node *w = n->in[0];
  for (int k = 1; k < n->nin; k++)
    if (n->in[k]->needs_grad) {
      Node *d = ad_node(ad, OP_MIX_DX, 2, (Node *[]){dy, w}, n, NULL);
      d->a[2] = k - 1;
      ad_accum(ad, n->in[k], d);
    }
  if (w->needs_grad) {
    Node *in[17] = {dy};
    memcpy(in + 1, n->in + 1, sizeof(Node *) * (size_t)(n->nin - 1));
    ad_accum(ad, w, ad_node(ad, OP_MIX_DW, n->nin, in, n, NULL));
  }
}
NO_BWD(MIX_DX)
NO_BWD(MIX_DW)

/* where weight k of sample b is in w */
static int64_t w_at(const Node *n, int64_t K, int64_t b, int64_t k) {
  return (per_sample(n) ? b : n->a[0]) * K + k;
}

INTERP(MIX) {
  int64_t K = n->nin - 1, N = shape_numel(n->shape);
  for (int64_t b = 0; b < I->batch; b++)
    for (int64_t i = 0; i < N; i++) {
      double s = 0;
      for (int64_t k = 0; k < K; k++)
        s += x[0][w_at(n, K, b, k)] * x[1 + k][b * N + i];
      out[b * N + i] = s;
    }
}

INTERP(MIX_DX) { /* dy, w */
  int64_t K = n->in[1]->shape.d[n->in[1]->shape.rank - 1], N = shape_numel(n->shape);
  for (int64_t b = 0; b < I->batch; b++)
    for (int64_t i = 0; i < N; i++)
      out[b * N + i] = x[1][w_at(n, K, b, n->a[2])] * x[0][b * N + i];
}

INTERP(MIX_DW) { /* dy, x_1..x_K */
  int64_t K = n->nin - 1, N = shape_numel(n->in[0]->shape);
  memset(out, 0, sizeof(double) * (size_t)LEN(n));
  for (int64_t b = 0; b < I->batch; b++)
    for (int64_t k = 0; k < K; k++) {
      double s = 0;
      for (int64_t i = 0; i < N; i++)
        s += x[0][b * N + i] * x[1 + k][b * N + i];
      out[w_at(n, K, b, k)] += s;
    }
}

/* the weight of value k for sample b, as an expression */
static Expr *w_expr(KB *kb, Node *n, Buf *w, int64_t K, Expr *b, int64_t k) {
  return LD(w, ADD(MUL(per_sample(n) ? b : IC(n->a[0]), IC(K)), IC(k)));
}

/* per sample: its K weights in locals, then y[b, i] = sum_k w_k x_k[b, i] */
KIR(MIX) {
  int64_t K = n->nin - 1, N = shape_numel(n->shape);
  Expr *b = LOOP(BATCH);
  Expr *w[16];
  for (int64_t k = 0; k < K; k++)
    w[k] = LOCAL(w_expr(kb, n, IN(0), K, b, k));
  Expr *base = LOCAL(MUL(b, IC(N)));
  Expr *i = LOOP(IC(N));
  Expr *at = ADD(base, i);
  Expr *s = MUL(w[0], LD(IN(1), at));
  for (int64_t k = 1; k < K; k++)
    s = ADD(s, MUL(w[k], LD(IN(1 + (int)k), at)));
  STORE(OUT, at, s);
  END, END;
}

KIR(MIX_DX) { /* dy, w */
  int64_t K = n->in[1]->shape.d[n->in[1]->shape.rank - 1], N = shape_numel(n->shape);
  Expr *b = LOOP(BATCH);
  Expr *w = LOCAL(w_expr(kb, n, IN(1), K, b, n->a[2]));
  Expr *base = LOCAL(MUL(b, IC(N)));
  Expr *i = LOOP(IC(N));
  STORE(OUT, ADD(base, i), MUL(w, LD(IN(0), ADD(base, i))));
  END, END;
}

/* per sample and value a dot product; a stitch's row sums them over the
 * batch into its row, the rest of the matrix zero */
KIR(MIX_DW) { /* dy, x_1..x_K */
  int64_t K = n->nin - 1, N = shape_numel(n->in[0]->shape);
  if (!per_sample(n))
    kb_zero(kb, OUT, IC(shape_numel(n->shape)));
  Expr *b = LOOP(BATCH);
  Expr *base = LOCAL(MUL(b, IC(N)));
  for (int64_t k = 0; k < K; k++) {
    Expr *s = LOCAL(FC(0));
    Expr *i = LOOP(IC(N));
    SET(s, ADD(s, MUL(LD(IN(0), ADD(base, i)), LD(IN(1 + (int)k), ADD(base, i)))));
    END;
    Expr *at = ADD(MUL(per_sample(n) ? b : IC(n->a[0]), IC(K)), IC(k));
    kb_store(kb, OUT, at, s, !per_sample(n));
  }
  END;
}
