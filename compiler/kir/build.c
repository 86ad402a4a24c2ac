/* kir/build.c: the builder that the ops' kir_NAME rules (ops/FAMILY.c)
 * write kernels with, and the step that turns a finished body into a call:
 * its buffers become the kernel's parameters in order of first use, named
 * by their role in the node ("out", the op's operand names, "tmp0"), and a
 * kernel whose text equals an earlier one's is that kernel. Constant
 * integer arithmetic is folded as the expressions are built. */
#include "kir/kir.h"

#include <string.h>

typedef void KirFn(KB *kb, Node *n);
extern KirFn *const kir_rule[NUM_OPS];

struct KB {
  Unit *u;
  Program *p;
  Node *n;       /* the node being lowered */
  Buf **bufs;    /* by node id: the program's buffers */
  bool *fused;   /* by node id: a bias folded into its activation */
  Kernel *k;     /* being built */
  Buf *args[MAX_KERNEL_PARAMS];
  const char *argname[MAX_KERNEL_PARAMS];
  int nargs, nscratch;
  Vec *stack[16];
  int depth;
};

Node *kb_node(KB *kb) { return kb->n; }
Buf *kb_buf(KB *kb, const Node *n) { return kb->bufs[n->id]; }
Buf *kb_out(KB *kb) { return kb->bufs[kb->n->id]; }
Buf *kb_in(KB *kb, int k) { return kb->bufs[kb->n->in[k]->id]; }
bool kb_fused(KB *kb, const Node *n) { return kb->fused && kb->fused[n->id]; }

static Buf *new_buf(Unit *u, BufKind kind, DType dt, int64_t size, const char *name,
                    const char *what) {
  Buf *b = arena_alloc(u->a, sizeof(Buf));
  *b = (Buf){.id = u->bufs.len, .kind = kind, .dtype = dt, .size = size, .name = name,
             .what = what};
  vec_push(u->a, &u->bufs, b);
  return b;
}

Buf *kir_new_buf(Unit *u, BufKind kind, DType dt, int64_t size, const char *name, const char *what);
Buf *kir_new_buf(Unit *u, BufKind kind, DType dt, int64_t size, const char *name, const char *what) {
  return new_buf(u, kind, dt, size, name, what);
}

Buf *kb_scratch(KB *kb, int64_t size, const char *what) {
  Buf *b = new_buf(kb->u, BUF_ACT, DT_F32, size,
                   arena_printf(kb->u->a, "s%d_%d", kb->n->id, kb->nscratch++), what);
  b->scratch = true;
  return b;
}

int64_t kb_batch_max(KB *kb) { return kb->u->batch_max; }

/* one buffer per table: train and eval share it */
Buf *kb_table(KB *kb, const int64_t *t, int n, const char *what) {
  const char *name = arena_printf(kb->u->a, "lookup_%s", kb->n->where ? kb->n->where : "t");
  for (int i = 0; i < kb->u->bufs.len; i++) {
    Buf *o = kb->u->bufs.data[i];
    bool same = o->kind == BUF_CONST && o->ntable == n && !strcmp(o->name, name);
    for (int k = 0; same && k < n; k++)
      same = o->table[k] == (int32_t)t[k];
    if (same)
      return o;
  }
  Buf *b = new_buf(kb->u, BUF_CONST, DT_I32, n, name, what);
  b->table = arena_alloc(kb->u->a, sizeof(int32_t) * (size_t)(n ? n : 1));
  for (int i = 0; i < n; i++)
    b->table[i] = (int32_t)t[i];
  b->ntable = n;
  return b;
}

/* the k-th word of an op's operand names, or NULL */
static const char *operand(Arena *a, Op op, int k) {
  const char *s = op_info[op].operands;
  for (int i = 0; *s; i++) {
    size_t len = strcspn(s, " ");
    if (i == k)
      return arena_strndup(a, s, len);
    s += len;
    s += *s == ' ';
  }
  return NULL;
}

/* what buffer b is to the node being lowered: its output, an operand (or
 * an operand of a bias folded into it), scratch, a table */
static const char *role(KB *kb, const Buf *b) {
  Node *n = kb->n;
  Arena *a = kb->u->a;
  if (op_info[n->op].kind != OPK_U && b == kb_out(kb))
    return "out";
  for (int k = 0; k < n->nin; k++) {
    Node *in = n->in[k];
    if (kb->bufs[in->id] == b)
      return operand(a, n->op, k);
    if (kb_fused(kb, in))
      for (int j = 0; j < in->nin; j++)
        if (kb->bufs[in->in[j]->id] == b)
          return operand(a, in->op, j);
  }
  if (b->scratch)
    return "tmp";
  if (b->kind == BUF_CONST)
    return "table";
  return "a";
}

/* the parameter of the kernel being built that b is passed as */
static int kb_arg(KB *kb, Buf *b) {
  for (int i = 0; i < kb->nargs; i++)
    if (kb->args[i] == b)
      return i;
  MTLC_ASSERT(kb->nargs < MAX_KERNEL_PARAMS);
  const char *name = role(kb, b);
  if (!name)
    name = "a";
  /* one name once: tmp0, tmp1; a second x is x1 */
  int same = 0;
  bool numbered = !strcmp(name, "tmp") || !strcmp(name, "a");
  for (int i = 0; i < kb->nargs; i++) {
    const char *o = kb->argname[i];
    size_t len = strlen(name);
    if (!strncmp(o, name, len) && (!o[len] || (o[len] >= '0' && o[len] <= '9')))
      same++;
  }
  if (numbered || same)
    name = arena_printf(kb->u->a, "%s%d", name, same);
  kb->args[kb->nargs] = b;
  kb->argname[kb->nargs] = name;
  return kb->nargs++;
}

/* ---- expressions ------------------------------------------------------------------ */

static Expr *ex(KB *kb, ExprKind kind, bool is_int) {
  Expr *e = arena_alloc(kb->u->a, sizeof(Expr));
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

Expr *kx_f(KB *kb, double f) { return kx_const(kb->u->a, f); }

Expr *kx_i(KB *kb, int64_t i) {
  Expr *e = ex(kb, X_I, true);
  e->i = i;
  return e;
}

Expr *kx_batch(KB *kb) {
  if (kb->u->fixed_batch > 0)
    return kx_i(kb, kb->u->fixed_batch);
  return ex(kb, X_BATCH, true);
}

Expr *kx_load(KB *kb, Buf *b, Expr *idx) {
  Expr *e = ex(kb, X_LOAD, b->dtype == DT_I32);
  e->arg = kb_arg(kb, b);
  e->buf = b;
  e->a = idx;
  return e;
}

Expr *kx_bin(KB *kb, BinOp op, Expr *x, Expr *y) {
  MTLC_ASSERT(x->is_int == y->is_int);
  if (x->kind == X_I && y->kind == X_I) {
    int64_t a = x->i, b = y->i;
    switch (op) {
    case XB_ADD: return kx_i(kb, a + b);
    case XB_SUB: return kx_i(kb, a - b);
    case XB_MUL: return kx_i(kb, a * b);
    default: break;
    }
  }
  if (x->is_int && op == XB_MUL && ((x->kind == X_I && x->i == 0) || (y->kind == X_I && y->i == 0)))
    return kx_i(kb, 0);
  if (op == XB_MUL && y->kind == (x->is_int ? X_I : X_F) && (x->is_int ? y->i == 1 : y->f == 1))
    return x;
  if (op == XB_MUL && x->kind == (x->is_int ? X_I : X_F) && (x->is_int ? x->i == 1 : x->f == 1))
    return y;
  if ((op == XB_ADD || op == XB_SUB) && x->is_int && y->kind == X_I && y->i == 0)
    return x;
  if (op == XB_ADD && x->is_int && x->kind == X_I && x->i == 0)
    return y;
  if (op == XB_DIV && x->is_int && y->kind == X_I && y->i == 1)
    return x;
  bool cmp = op >= XB_LT && op <= XB_AND;
  Expr *e = ex(kb, X_BIN, cmp ? true : x->is_int);
  e->op = op;
  e->a = x;
  e->b = y;
  return e;
}

Expr *kx_un(KB *kb, UnOp op, Expr *x) {
  Expr *e = ex(kb, X_UN, x->is_int);
  e->op = op;
  e->a = x;
  return e;
}

Expr *kx_sel(KB *kb, Expr *c, Expr *x, Expr *y) {
  MTLC_ASSERT(x->is_int == y->is_int);
  Expr *e = ex(kb, X_SEL, x->is_int);
  e->a = c, e->b = x, e->c = y;
  return e;
}

Expr *kx_tof(KB *kb, Expr *x) {
  if (!x->is_int)
    return x;
  Expr *e = ex(kb, X_TOF, false);
  e->a = x;
  return e;
}

Expr *kx_toi(KB *kb, Expr *x) {
  if (x->is_int)
    return x;
  Expr *e = ex(kb, X_TOI, true);
  e->a = x;
  return e;
}

Expr *kx_count(KB *kb, const Node *n) {
  Expr *c = kx_i(kb, shape_numel(n->shape));
  return n->batched ? kx_bin(kb, XB_MUL, kx_batch(kb), c) : c;
}

/* ---- statements ------------------------------------------------------------------- */

static Stmt *stmt(KB *kb, StmtKind kind) {
  Stmt *s = arena_alloc(kb->u->a, sizeof(Stmt));
  s->kind = kind;
  vec_push(kb->u->a, kb->stack[kb->depth - 1], s);
  return s;
}

Expr *kb_loop(KB *kb, Expr *hi) {
  Stmt *s = stmt(kb, K_FOR);
  s->var = kb->k->nvars++;
  s->hi = hi;
  MTLC_ASSERT(kb->depth < 16);
  kb->stack[kb->depth++] = &s->body;
  Expr *v = ex(kb, X_VAR, true);
  v->i = s->var;
  return v;
}

void kb_end(KB *kb) {
  MTLC_ASSERT(kb->depth > 1);
  kb->depth--;
}

void kb_store(KB *kb, Buf *b, Expr *idx, Expr *val, bool accum) {
  int arg = kb_arg(kb, b);
  Stmt *s = stmt(kb, K_STORE);
  s->arg = arg;
  s->buf = b;
  s->idx = idx;
  s->val = b->dtype == DT_I32 ? kx_toi(kb, val) : kx_tof(kb, val);
  s->accum = accum;
}

Expr *kb_local(KB *kb, Expr *init) {
  Stmt *s = stmt(kb, K_LOCAL);
  s->var = kb->k->nlocals++;
  s->val = init;
  s->is_int = init->is_int;
  Expr *e = ex(kb, X_LOCAL, init->is_int);
  e->i = s->var;
  return e;
}

void kb_set(KB *kb, Expr *loc, Expr *val) {
  Stmt *s = stmt(kb, K_SET);
  s->var = (int)loc->i;
  s->val = val;
}

Expr *kb_local_array(KB *kb, int64_t n) {
  MTLC_ASSERT(n > 0);
  Stmt *s = stmt(kb, K_LOCAL);
  s->var = kb->k->nlocals++;
  s->n = n;
  Expr *e = ex(kb, X_LOCAL, false);
  e->i = s->var;
  return e;
}

Expr *kx_elem(KB *kb, Expr *array, Expr *i) {
  Expr *e = ex(kb, X_LOCAL, false);
  e->i = array->i;
  e->a = i;
  return e;
}

void kb_set_elem(KB *kb, Expr *array, Expr *i, Expr *val) {
  Stmt *s = stmt(kb, K_SET);
  s->var = (int)array->i;
  s->idx = i;
  s->val = kx_tof(kb, val);
}

void kb_zero(KB *kb, Buf *b, Expr *n) {
  Expr *i = kb_loop(kb, n);
  kb_store(kb, b, i, kx_f(kb, 0), false);
  kb_end(kb);
}

void kb_gemm(KB *kb, int ta, int tb, Expr *M, Expr *N, Expr *K, Buf *A, Expr *offa,
             Expr *lda, Buf *B, Expr *offb, Expr *ldb, Buf *C, Expr *offc, Expr *ldc,
             double beta) {
  if (kb->u->gen_gemm &&
      kb_gemm_loops(kb, ta, tb, M, N, K, A, offa, lda, B, offb, ldb, C, offc, ldc, beta))
    return;
  int a = kb_arg(kb, A), b = kb_arg(kb, B), c = kb_arg(kb, C);
  Stmt *s = stmt(kb, K_GEMM);
  s->ta = ta, s->tb = tb, s->M = M, s->N = N, s->K = K;
  s->A = a, s->offa = offa, s->lda = lda;
  s->B = b, s->offb = offb, s->ldb = ldb;
  s->C = c, s->offc = offc, s->ldc = ldc;
  s->bufA = A, s->bufB = B, s->bufC = C;
  s->alpha = 1, s->beta = beta;
}

void kb_dropout(KB *kb, Buf *out, Expr *n, double p, int64_t stream) {
  int arg = kb_arg(kb, out);
  Stmt *s = stmt(kb, K_DROPOUT);
  s->arg = arg;
  s->buf = out;
  s->val = n;
  s->p = p;
  s->stream = stream;
}

void kb_sync(KB *kb, Buf *b, Expr *n, int mode) {
  int arg = kb_arg(kb, b);
  Stmt *s = stmt(kb, K_SYNC);
  s->arg = arg;
  s->buf = b;
  s->val = n;
  s->mode = mode;
}

/* ---- a finished body: its parameters, its kernel, its call --------------------------- */

/* Parameters in a fixed order, whatever order the body first used them
 * in: the output, then the operands in the op's order (a folded bias's in
 * its place), then tables, then scratch. */
static int rank_of(KB *kb, int arg) {
  Buf *b = kb->args[arg];
  Node *n = kb->n;
  if (op_info[n->op].kind != OPK_U && b == kb_out(kb))
    return 0;
  for (int k = 0; k < n->nin; k++) {
    Node *in = n->in[k];
    if (kb->bufs[in->id] == b)
      return 1 + 8 * k;
    if (kb_fused(kb, in))
      for (int j = 0; j < in->nin && j < 8; j++)
        if (kb->bufs[in->in[j]->id] == b)
          return 1 + 8 * k + j;
  }
  return (b->kind == BUF_CONST ? 1000 : 2000) + arg;
}

/* each use's parameter, from the buffer it was built with: setting it
 * twice (an expression used in two places) does no harm */
static int arg_of(KB *kb, const Buf *b) {
  for (int i = 0; i < kb->nargs; i++)
    if (kb->args[i] == b)
      return i;
  unreachable();
  return -1;
}

static void remap_expr(KB *kb, Expr *e) {
  if (!e)
    return;
  if (e->kind == X_LOAD)
    e->arg = arg_of(kb, e->buf);
  remap_expr(kb, e->a);
  remap_expr(kb, e->b);
  remap_expr(kb, e->c);
}

static void remap(KB *kb, Vec *body) {
  for (int i = 0; i < body->len; i++) {
    Stmt *s = body->data[i];
    remap_expr(kb, s->hi), remap_expr(kb, s->idx), remap_expr(kb, s->val);
    remap_expr(kb, s->M), remap_expr(kb, s->N), remap_expr(kb, s->K);
    remap_expr(kb, s->offa), remap_expr(kb, s->offb), remap_expr(kb, s->offc);
    remap_expr(kb, s->lda), remap_expr(kb, s->ldb), remap_expr(kb, s->ldc);
    if (s->kind == K_STORE || s->kind == K_DROPOUT || s->kind == K_SYNC)
      s->arg = arg_of(kb, s->buf);
    if (s->kind == K_GEMM)
      s->A = arg_of(kb, s->bufA), s->B = arg_of(kb, s->bufB), s->C = arg_of(kb, s->bufC);
    if (s->kind == K_FOR)
      remap(kb, &s->body);
  }
}

static void order_params(KB *kb) {
  int n = kb->nargs, order[MAX_KERNEL_PARAMS], rank[MAX_KERNEL_PARAMS];
  for (int i = 0; i < n; i++)
    order[i] = i, rank[i] = rank_of(kb, i);
  for (int i = 1; i < n; i++) /* stable insertion sort by rank */
    for (int j = i; j > 0 && rank[order[j - 1]] > rank[order[j]]; j--) {
      int t = order[j];
      order[j] = order[j - 1], order[j - 1] = t;
    }
  Buf *args[MAX_KERNEL_PARAMS];
  const char *names[MAX_KERNEL_PARAMS];
  for (int i = 0; i < n; i++)
    args[i] = kb->args[order[i]], names[i] = kb->argname[order[i]];
  memcpy(kb->args, args, sizeof(Buf *) * (size_t)n);
  memcpy(kb->argname, names, sizeof(char *) * (size_t)n);
  remap(kb, &kb->k->body);
}

static void scan_expr(Kernel *k, const Expr *e) {
  if (!e)
    return;
  if (e->kind == X_LOAD)
    k->params[e->arg].read = true;
  if (e->kind == X_BATCH)
    k->uses_batch = true;
  scan_expr(k, e->a);
  scan_expr(k, e->b);
  scan_expr(k, e->c);
}

static void scan(Kernel *k, const Vec *body) {
  for (int i = 0; i < body->len; i++) {
    const Stmt *s = body->data[i];
    scan_expr(k, s->hi), scan_expr(k, s->idx), scan_expr(k, s->val);
    scan_expr(k, s->M), scan_expr(k, s->N), scan_expr(k, s->K);
    scan_expr(k, s->offa), scan_expr(k, s->offb), scan_expr(k, s->offc);
    scan_expr(k, s->lda), scan_expr(k, s->ldb), scan_expr(k, s->ldc);
    if (s->kind == K_STORE) {
      k->params[s->arg].written = true;
      k->params[s->arg].read |= s->accum;
    }
    if (s->kind == K_DROPOUT)
      k->params[s->arg].written = k->uses_seed = true;
    if (s->kind == K_SYNC)
      k->params[s->arg].read = k->params[s->arg].written = true;
    if (s->kind == K_GEMM) {
      k->params[s->A].read = k->params[s->B].read = true;
      k->params[s->C].written = true;
      k->params[s->C].read |= s->beta != 0;
    }
    if (s->kind == K_FOR)
      scan(k, &s->body);
  }
}

/* what x computes and where in the spec it came from */
static const char *comment_of(Unit *u, Program *p, const Node *x, bool folded) {
  Arena *a = u->a;
  const char *where = "";
  if (x->span.hi > x->span.lo) {
    Source *src = p->g->m->src;
    int lo = x->span.lo, hi = x->span.hi, e = lo;
    while (e < hi && src->text[e] != '\n')
      e++;
    where = arena_printf(a, "  (%s:%d: %.*s)", src->path, span_line(src, lo), e - lo,
                         src->text + lo);
  }
  char sh[96];
  node_shape_text(sh, sizeof sh, x);
  return arena_printf(a, "%s%s -> %s%s%s", folded ? "bias, " : "", node_op_text(a, x), sh,
                      x->grad_of ? arena_printf(a, ", gradient of %s", x->grad_of->name) : "",
                      where);
}

/* a C identifier from the spec entity and the op: trunk_conv2d1_conv2d */
static const char *kernel_name(Arena *a, const Node *x) {
  char *s = arena_printf(a, "%s_%s", x->where ? x->where : "k", node_op_text(a, x));
  for (char *q = s; *q; q++)
    if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9')))
      *q = '_';
  return s;
}

/* Lowers node x of program p to a kernel and appends its call; nothing
 * when its rule writes no body (leaves, views). */
/* the parameters, the kernel (an earlier one with the same text, or a new
 * one named after x) and the call of a finished body */
static void finish_call(KB *kb, Node *x, bool folded, const char *name, const char *comment) {
  Unit *u = kb->u;
  Arena *a = u->a;
  Kernel *k = kb->k;
  k->nparams = kb->nargs;
  k->params = arena_alloc(a, sizeof(KParam) * (size_t)(kb->nargs ? kb->nargs : 1));
  for (int i = 0; i < kb->nargs; i++)
    k->params[i] = (KParam){.name = kb->argname[i], .dtype = kb->args[i]->dtype};
  scan(k, &k->body);
  k->key = kir_kernel_text(a, k);
  Kernel *same = NULL;
  for (int i = 0; i < u->kernels.len && !same; i++) {
    Kernel *o = u->kernels.data[i];
    if (!strcmp(o->key, k->key))
      same = o;
  }
  if (same) {
    k = same;
  } else {
    k->name = name ? name : kernel_name(a, x);
    k->comment = comment ? comment : comment_of(u, kb->p, x, folded);
    vec_push(a, &u->kernels, k);
  }
  k->ncalls++;
  KCall *c = arena_alloc(a, sizeof(KCall));
  c->k = k;
  c->node = x;
  c->args = arena_alloc(a, sizeof(Buf *) * (size_t)(kb->nargs ? kb->nargs : 1));
  memcpy(c->args, kb->args, sizeof(Buf *) * (size_t)kb->nargs);
  vec_push(a, &kb->p->calls, c);
}

void kir_lower_node(Unit *u, Program *p, Buf **bufs, bool *fused, Node *x);
void kir_lower_node(Unit *u, Program *p, Buf **bufs, bool *fused, Node *x) {
  Kernel *k = arena_alloc(u->a, sizeof(Kernel));
  KB kb = {.u = u, .p = p, .n = x, .bufs = bufs, .fused = fused, .k = k};
  kb.stack[kb.depth++] = &k->body;
  kir_rule[x->op](&kb, x);
  MTLC_ASSERT(kb.depth == 1);
  if (!k->body.len)
    return;
  order_params(&kb);
  finish_call(&kb, x, x->nin && fused && fused[x->in[0]->id], NULL, NULL);
}

/* A task's output copied into its array: out[i] = x[i] over like's
 * elements (a task whose output is a view, or another task's output). */
void kir_copy(Unit *u, Program *p, Buf *from, Buf *to, Node *like);
void kir_copy(Unit *u, Program *p, Buf *from, Buf *to, Node *like) {
  Kernel *k = arena_alloc(u->a, sizeof(Kernel));
  KB kb = {.u = u, .p = p, .n = like, .k = k, .nargs = 2};
  kb.args[0] = to, kb.argname[0] = "out";
  kb.args[1] = from, kb.argname[1] = "x";
  kb.stack[kb.depth++] = &k->body;
  Expr *i = kb_loop(&kb, kx_count(&kb, like));
  kb_store(&kb, to, i, kx_load(&kb, from, i), false);
  kb_end(&kb);
  remap(&kb, &k->body);
  char sh[96];
  node_shape_text(sh, sizeof sh, like);
  finish_call(&kb, like, false, arena_printf(u->a, "copy_%lld", (long long)shape_numel(like->shape)),
              arena_printf(u->a, "a task's output %s, copied into its array", sh));
}
