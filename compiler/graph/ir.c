/* ir.c: the graph IR: the op table's metadata and shape rules, node
 * builders, and the text form printed by `mtlc ir`. Nodes are appended in
 * topological order, and a node's shape is fixed when it is built: a shape
 * rule either derives it from the inputs and attributes or, for the few ops
 * whose output shape is not a function of their inputs (reshape and some
 * backward ops), takes it preset by the builder. No evaluation here. */
#include "graph/graph.h"

#include <string.h>

const OpInfo op_info[NUM_OPS] = {
#define OP(name, text, arity, kind) [OP_##name] = {text, arity, OPK_##kind},
#include "graph/ops.def"
#undef OP
};

int64_t shape_numel(Shape s) {
  int64_t n = 1;
  for (int i = 0; i < s.rank; i++)
    n *= s.d[i];
  return n;
}

int64_t node_numel(const Node *n, int64_t batch) {
  return shape_numel(n->shape) * (n->batched ? batch : 1);
}

static Shape shp(int rank, int64_t d0, int64_t d1, int64_t d2, int64_t d3) {
  return (Shape){rank, {d0, d1, d2, d3}};
}

/* ---- shape rules: set n->shape and n->batched from inputs and attributes --- */

#define SHAPE(name) static void shape_##name(Node *n)
#define SAME_AS(name, k)                                                       \
  SHAPE(name) {                                                                \
    n->shape = n->in[k]->shape;                                                \
    n->batched = n->in[k]->batched;                                            \
  }
#define PRESET(name)                                                           \
  SHAPE(name) { (void)n; }
#define SCALAR(name)                                                           \
  SHAPE(name) {                                                                \
    n->shape = (Shape){0};                                                     \
    n->batched = false;                                                        \
  }

PRESET(INPUT)
PRESET(LABEL)
PRESET(PARAM)
PRESET(STATE)
PRESET(DROPMASK)
SCALAR(CONST)
SAME_AS(LOOKUP, 0)
SHAPE(MATMUL) {
  MTLC_ASSERT(n->in[0]->shape.rank == 1 && n->in[1]->shape.rank == 2);
  MTLC_ASSERT(n->in[0]->shape.d[0] == n->in[1]->shape.d[1]);
  n->shape = shp(1, n->in[1]->shape.d[0], 0, 0, 0);
  n->batched = true;
}
SAME_AS(BIAS, 0)
/* conv and pools: a0 stride, a1 pad, a2 kernel (or window) size */
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
SHAPE(MAXPOOL) {
  Shape x = n->in[0]->shape;
  MTLC_ASSERT(x.rank == 3);
  n->shape = shp(3, x.d[0], out_dim(x.d[1], n->a[2], n->a[0], 0),
                 out_dim(x.d[2], n->a[2], n->a[0], 0), 0);
  n->batched = true;
}
SHAPE(AVGPOOL) { shape_MAXPOOL(n); }
PRESET(RESHAPE)
SAME_AS(RELU, 0)
SAME_AS(SIGMOID, 0)
SAME_AS(TANH, 0)
SAME_AS(ADD, 0)
SAME_AS(SUB, 0)
SAME_AS(MUL, 0)
SAME_AS(SCALE, 0)
SCALAR(SUMSQ)
SCALAR(CE_LOSS)
SCALAR(BCE_LOSS)
SCALAR(MSE_LOSS)
SHAPE(MATMUL_NN) {
  n->shape = shp(1, n->in[1]->shape.d[1], 0, 0, 0);
  n->batched = true;
}
SHAPE(MATMUL_TN) {
  n->shape = shp(2, n->in[0]->shape.d[0], n->in[1]->shape.d[0], 0, 0);
  n->batched = false;
}
SHAPE(BIAS_GRAD) {
  n->shape = shp(1, n->in[0]->shape.d[0], 0, 0, 0);
  n->batched = false;
}
PRESET(CONV2D_DX)
SHAPE(CONV2D_DW) {
  n->shape = shp(4, n->in[0]->shape.d[0], n->in[1]->shape.d[0], n->a[2], n->a[2]);
  n->batched = false;
}
SAME_AS(MAXPOOL_BWD, 1)
PRESET(AVGPOOL_BWD)
SAME_AS(RELU_BWD, 0)
SAME_AS(SIGMOID_BWD, 0)
SAME_AS(TANH_BWD, 0)
SAME_AS(SUMSQ_BWD, 1)
SAME_AS(CE_BWD, 1)
SAME_AS(BCE_BWD, 1)
SAME_AS(MSE_BWD, 1)
SAME_AS(SGD, 0)
SAME_AS(ADAM, 0)

typedef void ShapeFn(Node *n);
static ShapeFn *const shape_rule[NUM_OPS] = {
#define OP(name, text, arity, kind) [OP_##name] = shape_##name,
#include "graph/ops.def"
#undef OP
};
static const bool preset_op[NUM_OPS] = {
    [OP_INPUT] = 1, [OP_LABEL] = 1, [OP_PARAM] = 1, [OP_STATE] = 1,
    [OP_DROPMASK] = 1, [OP_RESHAPE] = 1, [OP_CONV2D_DX] = 1, [OP_AVGPOOL_BWD] = 1,
};

/* ---- builders --------------------------------------------------------------- */

Node *ir_node(Graph *g, Op op, int nin, Node **in, const int64_t *attrs,
              const Shape *preset) {
  MTLC_ASSERT(nin <= 4 && (nin == op_info[op].arity ||
                           (op == OP_SGD && nin == 2)));
  Node *n = arena_alloc(g->a, sizeof(Node));
  n->id = g->nodes.len;
  n->op = op;
  n->nin = nin;
  n->span = g->cur_span;
  n->task = -1;
  if (attrs)
    memcpy(n->a, attrs, sizeof n->a);
  for (int i = 0; i < nin; i++) {
    n->in[i] = in[i];
    n->needs_grad |= in[i]->needs_grad;
  }
  if (op_info[op].kind != OPK_F)
    n->needs_grad = false;
  if (preset_op[op]) {
    MTLC_ASSERT(preset);
    n->shape = *preset;
    if (nin)
      n->batched = in[0]->batched;
  } else {
    MTLC_ASSERT(!preset);
    shape_rule[op](n);
  }
  vec_push(g->a, &g->nodes, n);
  return n;
}

Node *ir_leaf(Graph *g, Op op, bool batched, Shape sh, const char *name) {
  Node *n = ir_node(g, op, 0, NULL, NULL, op == OP_CONST ? NULL : &sh);
  n->batched = batched;
  n->name = name;
  n->needs_grad = op == OP_PARAM;
  return n;
}

Node *ir_unary(Graph *g, Op op, Node *x) { return ir_node(g, op, 1, &x, NULL, NULL); }

Node *ir_binary(Graph *g, Op op, Node *x, Node *y) {
  Node *in[2] = {x, y};
  return ir_node(g, op, 2, in, NULL, NULL);
}

Node *ir_scale(Graph *g, Node *x, double f) {
  Node *n = ir_unary(g, OP_SCALE, x);
  n->f[0] = f;
  return n;
}

/* ---- text form ---------------------------------------------------------------- */

int node_shape_text(char *buf, size_t cap, const Node *n) {
  int k = snprintf(buf, cap, "[%s", n->batched ? (n->shape.rank ? "B, " : "B") : "");
  for (int i = 0; i < n->shape.rank; i++)
    k += snprintf(buf + k, cap - (size_t)k, "%s%lld", i ? ", " : "",
                  (long long)n->shape.d[i]);
  return k + snprintf(buf + k, cap - (size_t)k, "]");
}

static int attrs_text(char *b, size_t cap, const Node *n) {
  int k = 0;
  switch (n->op) {
  case OP_CONV2D: case OP_CONV2D_DX: case OP_CONV2D_DW:
    return snprintf(b, cap, " kernel=%lld stride=%lld pad=%lld", (long long)n->a[2],
                    (long long)n->a[0], (long long)n->a[1]);
  case OP_MAXPOOL: case OP_AVGPOOL: case OP_MAXPOOL_BWD: case OP_AVGPOOL_BWD:
    return snprintf(b, cap, " size=%lld stride=%lld", (long long)n->a[2], (long long)n->a[0]);
  case OP_DROPMASK: return snprintf(b, cap, " p=%g", n->f[0]);
  case OP_CONST: case OP_SCALE: return snprintf(b, cap, " %g", n->f[0]);
  case OP_LOOKUP:
    k = snprintf(b, cap, " [");
    for (int i = 0; i < n->ntable && (size_t)k < cap; i++)
      k += snprintf(b + k, cap - (size_t)k, "%s%lld", i ? ", " : "", (long long)n->table[i]);
    return k + snprintf(b + k, cap - (size_t)k, "]");
  case OP_SGD:
    return snprintf(b, cap, " momentum=%g%s", n->f[0], n->a[0] ? " nesterov" : "");
  case OP_ADAM:
    k = snprintf(b, cap, " beta1=%g beta2=%g eps=%g", n->f[0], n->f[1], n->f[2]);
    if (n->f[3])
      k += snprintf(b + k, cap - (size_t)k, " weight_decay=%g", n->f[3]);
    return k;
  default: return 0;
  }
}

/*   %5 = conv2d %0, %3 kernel=3 stride=1 pad=1     [B, 32, 28, 28]   # 23:5 */
static void print_node(FILE *out, Graph *g, const Node *n) {
  char op[512], sh[96];
  int k = snprintf(op, sizeof op, "%%%d = %s", n->id, op_info[n->op].text);
  if (n->name && op_info[n->op].kind == OPK_L)
    k += snprintf(op + k, sizeof op - (size_t)k, " %s", n->name);
  for (int i = 0; i < n->nin; i++)
    k += snprintf(op + k, sizeof op - (size_t)k, "%s%%%d", i ? ", " : " ", n->in[i]->id);
  if ((size_t)k < sizeof op)
    attrs_text(op + k, sizeof op - (size_t)k, n);
  node_shape_text(sh, sizeof sh, n);
  bool hash = false, more = n->span.hi > n->span.lo || n->grad_of || n == g->total;
  for (int t = 0; t < g->outputs.len; t++)
    more |= g->outputs.data[t] == n || g->losses.data[t] == n;
  if (more)
    fprintf(out, "  %-50s %-18s", op, sh);
  else
    fprintf(out, "  %-50s %s", op, sh);
  if (n->span.hi > n->span.lo) {
    Source *src = g->m->src;
    int line = span_line(src, n->span.lo), col = 1;
    for (int i = n->span.lo; i > 0 && src->text[i - 1] != '\n'; i--)
      col++;
    fprintf(out, " # %d:%d", line, col);
    hash = true;
  }
  const char *sep = hash ? ", " : " # ";
  for (int t = 0; t < g->outputs.len; t++)
    if (g->outputs.data[t] == n)
      fprintf(out, "%soutput of %s", sep, ((Task *)g->m->tasks.data[t])->name), sep = ", ";
  for (int t = 0; t < g->losses.len; t++)
    if (g->losses.data[t] == n)
      fprintf(out, "%sloss of %s", sep, ((Task *)g->m->tasks.data[t])->name), sep = ", ";
  if (n == g->total)
    fprintf(out, "%stotal loss", sep), sep = ", ";
  if (n->grad_of)
    fprintf(out, "%sgradient of %s", sep, n->grad_of->name);
  fputc('\n', out);
}

void ir_print(FILE *out, Graph *g, bool with_grad) {
  fprintf(out, "graph %s  # B is the batch\n", g->m->name);
  fputs("forward:\n", out);
  int end = with_grad ? g->nodes.len : g->nforward;
  for (int i = 0; i < end; i++) {
    Node *n = g->nodes.data[i];
    if (i == g->nforward)
      fputs("backward:\n", out);
    if (i == g->update_start && g->updates.len)
      fputs("update:\n", out);
    print_node(out, g, n);
  }
}
