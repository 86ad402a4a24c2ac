/* ops/ops.h: what the op families' files share (ops/dense.c, conv.c,
 * pool.c, act.c, norm.c, loss.c, optim.c, tensor.c, mix.c). A family's file keeps
 * everything of its layers and ops together, as kann and ggml do: a
 * layer's arguments, shape rule and lowering (the check and lowering
 * stages call them through layer_rules[]), and each op's shape rule,
 * backward rule, interpreter kernel and lowering to kernel IR (through the
 * tables of ops/tables.c). Adding a layer touches layers.def, its family's
 * file and its tests. */
#ifndef MTLC_OPS_H
#define MTLC_OPS_H
#include "check/sema.h"
#include "kir/kir.h"

#include <math.h>
#include <string.h>

/* ---- the per-op rules, one of each per row of ops.def ---------------------- */

#define OP(name, text, arity, kind, flags, operands)                           \
  void shape_##name(Node *n);                                                  \
  void bwd_##name(Ad *ad, Node *n, Node *dy);                                  \
  void interp_##name(Interp *I, Node *n, double *out, double **x);             \
  void kir_##name(KB *kb, Node *n);
#include "ops/ops.def"
#undef OP

typedef void ShapeFn(Node *n);
typedef void BwdFn(Ad *ad, Node *n, Node *dy);
typedef void InterpFn(Interp *I, Node *n, double *out, double **x);
typedef void KirFn(KB *kb, Node *n);
extern ShapeFn *const shape_rule[NUM_OPS];
extern BwdFn *const bwd_rule[NUM_OPS];
extern InterpFn *const interp_rule[NUM_OPS];
extern KirFn *const kir_rule[NUM_OPS];

/* ---- the per-layer rules: sig_ID per row of layers.def, and per family -------- */

#define ACTIVATION LF_ACTIVATION
#define KEEPS_SHAPE LF_KEEPS_SHAPE
#define BODY LF_BODY
#define IDS LF_IDS
#define ACROSS_TASKS LF_ACROSS_TASKS
#define LAYER(id, name, family, flags, summary) extern const Sig sig_##id;
#include "ops/layers.def"
#undef LAYER
#define FAMILY(f)                                                              \
  bool f##_args(Sema *s, Layer *l, Value **v);                                 \
  bool f##_shape(Sema *s, Layer *l, Shape in);                                 \
  Node *f##_lower(Lower *L, const NetVal *v, Node *x);
FAMILY(dense)
FAMILY(conv)
FAMILY(pool)
FAMILY(act)
FAMILY(norm)
FAMILY(tensor)
FAMILY(embed)
FAMILY(conv1d)
FAMILY(mix)
#undef FAMILY

/* conv2d's arguments, which conv1d shares: filters, kernel, stride, pad, bias */
extern const Param conv_params[5];

/* the activations' math (ops/act.c), for the interpreter's and the kernels'
 * shared uses */
Node *act_node(Graph *g, LayerKind k, double arg, Node *x);

/* ---- shorthand for the rules ------------------------------------------------- */

/* op rules that a leaf or an op of another kind does not have */
#define NO_SHAPE(name)                                                         \
  void shape_##name(Node *n) { (void)n; }
#define NO_BWD(name)                                                           \
  void bwd_##name(Ad *ad, Node *n, Node *dy) {                                 \
    (void)ad, (void)n, (void)dy;                                               \
    unreachable();                                                             \
  }
#define NO_INTERP(name)                                                        \
  void interp_##name(Interp *I, Node *n, double *out, double **x) {            \
    (void)I, (void)n, (void)out, (void)x;                                      \
  }
#define NO_KIR(name)                                                           \
  void kir_##name(KB *kb, Node *n) { (void)kb, (void)n; }
#define SAME_SHAPE_AS(name, k)                                                 \
  void shape_##name(Node *n) {                                                 \
    n->shape = n->in[k]->shape;                                                \
    n->batched = n->in[k]->batched;                                            \
  }
#define SCALAR_SHAPE(name)                                                     \
  void shape_##name(Node *n) {                                                 \
    n->shape = (Shape){0};                                                     \
    n->batched = false;                                                        \
  }

/* the signatures of the four op rules, for their definitions */
#define UNUSED __attribute__((unused))
#define SHAPE(name) void shape_##name(Node *n)
#define BWD(name) void bwd_##name(Ad *ad, Node *n, Node *dy)
#define INTERP(name) void interp_##name(Interp *I, Node *n UNUSED, double *out, double **x)
#define KIR(name) void kir_##name(KB *kb, Node *n UNUSED)

/* the interpreter's view of a node: its element count at the batch */
#define LEN(n) node_numel((n), I->batch)

/* kernel IR: expressions and statements over the node being lowered */
#define FC(f) kx_f(kb, f)
#define IC(i) kx_i(kb, i)
#define BATCH kx_batch(kb)
#define LD(buf, idx) kx_load(kb, buf, idx)
#define ADD(x, y) kx_bin(kb, XB_ADD, x, y)
#define SUB(x, y) kx_bin(kb, XB_SUB, x, y)
#define MUL(x, y) kx_bin(kb, XB_MUL, x, y)
#define DIV(x, y) kx_bin(kb, XB_DIV, x, y)
#define MAX(x, y) kx_bin(kb, XB_MAX, x, y)
#define LOOP(hi) kb_loop(kb, hi)
#define END kb_end(kb)
#define OUT kb_out(kb)
#define IN(k) kb_in(kb, k)
#define COUNT(n) kx_count(kb, n)
#define STORE(buf, idx, val) kb_store(kb, buf, idx, val, false)
#define ACCUM(buf, idx, val) kb_store(kb, buf, idx, val, true)
#define LOCAL(init) kb_local(kb, init)
#define SET(local, val) kb_set(kb, local, val)

Shape shp(int rank, int64_t d0, int64_t d1, int64_t d2, int64_t d3);

#endif
