/* graph/ir.c: the graph IR: node builders and the text form printed by
 * `mtlc ir`. Nodes are appended in topological order, and a node's shape is
 * fixed when it is built: its op's shape rule (ops/FAMILY.c) derives it
 * from the inputs and attributes or, for the few ops whose output shape is
 * not a function of their inputs (reshape and some backward ops), the
 * builder presets it. No evaluation here. */
#include "graph/graph.h"

#include <stdarg.h>
#include <string.h>

typedef void ShapeFn(Node *n);
extern ShapeFn *const shape_rule[NUM_OPS];

int64_t shape_numel(Shape s) {
  int64_t n = 1;
  for (int i = 0; i < s.rank; i++)
    n *= s.d[i];
  return n;
}

bool shape_eq(Shape a, Shape b) {
  if (a.rank != b.rank)
    return false;
  for (int i = 0; i < a.rank; i++)
    if (a.d[i] != b.d[i])
      return false;
  return true;
}

int shape_text(char *buf, size_t cap, Shape s) {
  int k = snprintf(buf, cap, "[");
  for (int i = 0; i < s.rank; i++)
    k += snprintf(buf + k, cap - (size_t)k, "%s%lld", i ? ", " : "", (long long)s.d[i]);
  return k + snprintf(buf + k, cap - (size_t)k, "]");
}

const char *dtype_name(DType t) { return t == DT_I32 ? "i32" : "f32"; }

int64_t node_numel(const Node *n, int64_t batch) {
  return shape_numel(n->shape) * (n->batched ? batch : 1);
}

/* ---- builders --------------------------------------------------------------- */

Node *ir_node(Graph *g, Op op, int nin, Node **in, const int64_t *attrs,
              const Shape *preset) {
  int arity = op_info[op].arity;
  MTLC_ASSERT(arity < 0 ? nin >= 1 : nin == arity || (op == OP_SGD && nin >= 3));
  Node *n = arena_alloc(g->a, sizeof(Node));
  n->id = g->nodes.len;
  n->op = op;
  n->nin = nin;
  n->in = arena_alloc(g->a, sizeof(Node *) * (size_t)(nin ? nin : 1));
  n->span = g->cur_span;
  n->where = g->cur_where;
  n->task = -1;
  if (attrs)
    memcpy(n->a, attrs, sizeof n->a);
  for (int i = 0; i < nin; i++) {
    n->in[i] = in[i];
    n->needs_grad |= in[i]->needs_grad;
  }
  if (op_info[op].kind != OPK_F)
    n->needs_grad = false;
  if (nin && op_info[op].kind != OPK_L)
    n->dtype = DT_F32;
  if (op_info[op].flags & OPF_PRESET) {
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
  Node *n = ir_node(g, op, 0, NULL, NULL, op_info[op].flags & OPF_PRESET ? &sh : NULL);
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

Node *ir_const(Graph *g, double f) {
  Node *n = ir_leaf(g, OP_CONST, false, (Shape){0}, NULL);
  n->f[0] = f;
  return n;
}

Node *ir_hyper(Graph *g, int slot) {
  while (g->hypers.len <= slot)
    vec_push(g->a, &g->hypers, NULL);
  if (g->hypers.data[slot])
    return g->hypers.data[slot];
  static const char *const names[] = {"lr", "adam_c1", "adam_c2"};
  const char *name = slot < MTL_HYPER_TASKS ? names[slot]
                     : arena_printf(g->a, "weight_%s",
                                    ((Task *)g->m->tasks.data[slot - MTL_HYPER_TASKS])->name);
  Node *n = ir_leaf(g, OP_HYPER, false, (Shape){0}, name);
  n->a[0] = slot;
  return g->hypers.data[slot] = n;
}

const char *node_op_text(Arena *a, const Node *n) {
  if (n->op == OP_ACT)
    return layer_rules[n->a[0]].name;
  if (n->op == OP_ACT_BWD)
    return arena_printf(a, "%s_bwd", layer_rules[n->a[0]].name);
  return op_info[n->op].text;
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
  case OP_CONV2D: case OP_CONV2D_DX: case OP_CONV2D_DW: case OP_CONV1D: case OP_CONV1D_DX:
  case OP_CONV1D_DW: case OP_CONV1D_DB:
    return snprintf(b, cap, " kernel=%lld stride=%lld pad=%lld", (long long)n->a[2],
                    (long long)n->a[0], (long long)n->a[1]);
  case OP_MAXPOOL: case OP_AVGPOOL: case OP_MAXPOOL_BWD: case OP_AVGPOOL_BWD:
    return snprintf(b, cap, " size=%lld stride=%lld", (long long)n->a[2], (long long)n->a[0]);
  case OP_ACT: case OP_ACT_BWD:
    return n->a[0] == L_LEAKY_RELU ? snprintf(b, cap, " slope=%g", n->f[0]) : 0;
  case OP_BN_APPLY: case OP_LAYERNORM: case OP_BN_DX: case OP_BN_DGAMMA: case OP_LN_DX:
  case OP_LN_DGAMMA:
    return snprintf(b, cap, " eps=%g", n->f[0]);
  case OP_BN_RUNNING: return snprintf(b, cap, " momentum=%g", n->f[0]);
  case OP_DROPMASK: return snprintf(b, cap, " p=%g", n->f[0]);
  case OP_MIX: case OP_MIX_DX: case OP_MIX_DW:
    k = n->a[1] ? snprintf(b, cap, " row=%lld of %lld", (long long)n->a[0], (long long)n->a[1]) : 0;
    return k + (n->op == OP_MIX_DX ? snprintf(b + k, cap - (size_t)k, " k=%lld", (long long)n->a[2]) : 0);
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
  char *name = (char *)node_op_text(g->a, n);
  int k = snprintf(op, sizeof op, "%%%d = %s", n->id, name);
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
