/* ops/embed.c: the embedding layer and its ops. embedding(vocab, dim) on
 * i32 ids [T] gives the sequence [T, dim]: row ids[t] of a learned table
 * W [vocab, dim] (PyTorch's Embedding; its default init, N(0, 1)). It is
 * the one layer of the table that takes ids (flag IDS); the ids' range is
 * the data's business: the runtime checks every id against the smallest
 * vocabulary an input feeds when it loads the file (runtime/mtl_text.c).
 *   embedding     y[b, t, :] = W[ids[b, t], :]
 *   embedding_dw  dW[v, :] = sum of dy[b, t, :] over the (b, t) with
 *                 ids[b, t] = v: a scatter-add into the rows the batch
 *                 used; every other row's gradient is 0
 * The ids get no gradient. The update after it is dense (every row), as
 * PyTorch's Embedding(sparse=False): specs/README.md says why. */
#include "ops/ops.h"

enum { VOCAB, DIM }; /* i[] */

/* ---- the layer ------------------------------------------------------------- */

static const Param p_embed[] = {{"vocab", T_INT, REQ, 1, BIG}, {"dim", T_INT, REQ, 1, BIG}};
const Sig sig_EMBEDDING = {NULL, 2, p_embed, 2, "embedding(1000, 32)", NULL, NULL, NULL};

bool embed_args(Sema *s, Layer *l, Value **v) {
  (void)s;
  l->i[VOCAB] = l->vocab = int_arg(v[0], 0);
  l->i[DIM] = int_arg(v[1], 0);
  return true;
}

bool embed_shape(Sema *s, Layer *l, Shape in) {
  Call *c = l->call;
  if (in.rank != 1) {
    ERR(c->span, "embedding turns i32 ids [T] into a sequence [T, dim], but here it "
        "gets %s; declare the input as i32[T]", shape_str(s->a, in));
    return false;
  }
  int64_t V = l->i[VOCAB], D = l->i[DIM];
  if (layer_too_many_weights(s, c, (double)V * (double)D))
    return false;
  l->out = shp(2, in.d[0], D, 0, 0);
  l->params = V * D;
  l->flops = 0; /* a copy of rows: no arithmetic */
  return true;
}

Node *embed_lower(Lower *L, const NetVal *v, Node *x) {
  Layer *l = v->layer;
  Node *w = lower_param(L, v, "weight", shp(2, l->i[VOCAB], l->i[DIM], 0, 0), MTL_INIT_NORMAL,
                        1);
  return ir_binary(lower_graph(L), OP_EMBED, x, w);
}

/* ---- the ops --------------------------------------------------------------- */

SHAPE(EMBED) {
  Shape ids = n->in[0]->shape, w = n->in[1]->shape;
  MTLC_ASSERT(ids.rank == 1 && w.rank == 2 && n->in[0]->dtype == DT_I32);
  n->shape = shp(2, ids.d[0], w.d[1], 0, 0);
  n->batched = true;
}
NO_SHAPE(EMBED_DW) /* W's shape */

BWD(EMBED) {
  Node *ids = n->in[0], *w = n->in[1];
  Node *dw = ad_node(ad, OP_EMBED_DW, 2, (Node *[]){dy, ids}, NULL, &w->shape);
  dw->batched = false;
  ad_accum(ad, w, dw);
}
NO_BWD(EMBED_DW)

INTERP(EMBED) {
  int64_t T = n->shape.d[0], D = n->shape.d[1], V = n->in[1]->shape.d[0];
  for (int64_t r = 0; r < I->batch * T; r++) {
    int64_t id = (int64_t)x[0][r];
    MTLC_ASSERT(id >= 0 && id < V);
    memcpy(out + r * D, x[1] + id * D, sizeof(double) * (size_t)D);
  }
}

INTERP(EMBED_DW) { /* dy, ids */
  int64_t D = n->shape.d[1], rows = LEN(n->in[1]);
  memset(out, 0, sizeof(double) * (size_t)LEN(n));
  for (int64_t r = 0; r < rows; r++)
    for (int64_t d = 0; d < D; d++)
      out[(int64_t)x[1][r] * D + d] += x[0][r * D + d];
}

/* y[r, d] = W[ids[r], d] over the B T rows r */
KIR(EMBED) {
  int64_t T = n->shape.d[0], D = n->shape.d[1];
  Expr *r = LOOP(MUL(BATCH, IC(T)));
  Expr *row = LOCAL(MUL(LD(IN(0), r), IC(D)));
  Expr *d = LOOP(IC(D));
  STORE(OUT, ADD(MUL(r, IC(D)), d), LD(IN(1), ADD(row, d)));
  END, END;
}

/* dW = 0, then dW[ids[r], d] += dy[r, d] */
KIR(EMBED_DW) { /* dy, ids */
  int64_t T = n->in[1]->shape.d[0], D = n->shape.d[1];
  kb_zero(kb, OUT, COUNT(n));
  Expr *r = LOOP(MUL(BATCH, IC(T)));
  Expr *row = LOCAL(MUL(LD(IN(1), r), IC(D)));
  Expr *d = LOOP(IC(D));
  ACCUM(OUT, ADD(row, d), LD(IN(0), ADD(MUL(r, IC(D)), d)));
  END, END;
}
