/* emit_llvm.c: renders a Module (kernel.c) as an LLVM module through the
 * LLVM C API: one internal function per kernel, whose buffers are noalias,
 * nocapture, 16-byte aligned parameters, with real loops of constant trip
 * count (or B); entry points NAME_init, NAME_train_step, NAME_eval_step and
 * NAME_forward with the same C ABI as the C back end; and NAME_info, the
 * model's MtlModelInfo, as constants. The module is verified, then
 * optimized with the new pass manager at O3 for the target machine (the
 * host's CPU and features unless another triple is asked for). No IR text
 * templates and no C compiler: only API calls. O3 runs without loop
 * unrolling (see emit_llvm), to keep compile time low. Fast-math flags are not set
 * (the C API of LLVM 14 has no call for them), so results follow IEEE order
 * like the C back end's. jit.c runs the module; `mtlc emit-llvm` writes it. */
#include "back/back.h"

#include <math.h>
#include <string.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "back/llvm_backend.h"

#define MAX_VARS 64
#define MAX_LOCALS 64

typedef struct {
  LLVMContextRef ctx;
  LLVMModuleRef mod;
  LLVMBuilderRef b, ab; /* code; allocas in the entry block */
  Module *m;
  LLVMTypeRef f32, f64, i64, i32, i8, i1, vd, pf32, pi32, pi8, ppi8, pf64, pi64;
  /* the kernel being emitted */
  LLVMValueRef fn;
  LLVMBasicBlockRef alloca_bb;
  KernelUses u;
  LLVMValueRef bufp[MAX_KERNEL_BUFS];
  LLVMValueRef B, hyper, seed;
  LLVMValueRef var[MAX_VARS];
  LLVMValueRef local[MAX_LOCALS];
} LC;

void llvm_fail(LLVMErrorRef err, const char *what) {
  if (!err)
    return;
  char *msg = LLVMGetErrorMessage(err);
  fprintf(stderr, "mtlc: LLVM: %s: %s\n", what, msg);
  LLVMDisposeErrorMessage(msg);
  exit(1);
}

static LLVMValueRef fn_decl(LC *c, const char *name, LLVMTypeRef ret, LLVMTypeRef *args,
                            int n) {
  LLVMValueRef f = LLVMGetNamedFunction(c->mod, name);
  if (f)
    return f;
  return LLVMAddFunction(c->mod, name, LLVMFunctionType(ret, args, (unsigned)n, 0));
}

static LLVMValueRef call(LC *c, LLVMValueRef f, LLVMValueRef *args, int n) {
  return LLVMBuildCall2(c->b, LLVMGetElementType(LLVMTypeOf(f)), f, args, (unsigned)n, "");
}

static LLVMValueRef call1f(LC *c, const char *name, LLVMValueRef x) {
  LLVMTypeRef t = c->f32;
  return call(c, fn_decl(c, name, c->f32, &t, 1), &x, 1);
}

static void add_attr(LC *c, LLVMValueRef f, unsigned idx, const char *name, uint64_t v) {
  unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
  LLVMAddAttributeAtIndex(f, idx, LLVMCreateEnumAttribute(c->ctx, kind, v));
}

/* ---- expressions ----------------------------------------------------------------- */

static LLVMValueRef to_i1(LC *c, LLVMValueRef v) {
  if (LLVMTypeOf(v) == c->i1)
    return v;
  return LLVMBuildICmp(c->b, LLVMIntNE, v, LLVMConstInt(c->i64, 0, 0), "");
}

static LLVMValueRef to_i64(LC *c, LLVMValueRef v) {
  return LLVMTypeOf(v) == c->i1 ? LLVMBuildZExt(c->b, v, c->i64, "") : v;
}

static int buf_index(LC *c, const Buf *b) {
  for (int i = 0; i < c->u.n; i++)
    if (c->u.buf[i] == b)
      return i;
  unreachable();
  return -1;
}

static LLVMValueRef elem_ptr(LC *c, const Buf *b, LLVMValueRef idx) {
  LLVMValueRef base = c->bufp[buf_index(c, b)];
  return LLVMBuildInBoundsGEP2(c->b, b->is_int ? c->i32 : c->f32, base, &idx, 1, "");
}

static LLVMValueRef expr(LC *c, const Expr *e);

static LLVMValueRef bin(LC *c, const Expr *e) {
  LLVMValueRef x = expr(c, e->a), y = expr(c, e->b);
  LLVMBuilderRef b = c->b;
  if (e->op == XB_AND)
    return LLVMBuildAnd(b, to_i1(c, x), to_i1(c, y), "");
  if (e->a->is_int) {
    x = to_i64(c, x), y = to_i64(c, y);
    switch (e->op) {
    case XB_ADD: return LLVMBuildNSWAdd(b, x, y, "");
    case XB_SUB: return LLVMBuildNSWSub(b, x, y, "");
    case XB_MUL: return LLVMBuildNSWMul(b, x, y, "");
    case XB_DIV: return LLVMBuildSDiv(b, x, y, "");
    case XB_REM: return LLVMBuildSRem(b, x, y, "");
    case XB_MAX: return LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGT, x, y, ""), x, y, "");
    case XB_MIN: return LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, x, y, ""), x, y, "");
    case XB_LT: return LLVMBuildICmp(b, LLVMIntSLT, x, y, "");
    case XB_LE: return LLVMBuildICmp(b, LLVMIntSLE, x, y, "");
    case XB_GT: return LLVMBuildICmp(b, LLVMIntSGT, x, y, "");
    case XB_GE: return LLVMBuildICmp(b, LLVMIntSGE, x, y, "");
    case XB_EQ: return LLVMBuildICmp(b, LLVMIntEQ, x, y, "");
    }
  } else {
    switch (e->op) {
    case XB_ADD: return LLVMBuildFAdd(b, x, y, "");
    case XB_SUB: return LLVMBuildFSub(b, x, y, "");
    case XB_MUL: return LLVMBuildFMul(b, x, y, "");
    case XB_DIV: return LLVMBuildFDiv(b, x, y, "");
    case XB_REM: return LLVMBuildFRem(b, x, y, "");
    /* a > b ? a : b, as the C back end and the interpreter: one vmaxps,
     * where llvm.maxnum's NaN rules cost a compare and a blend more */
    case XB_MAX: return LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, x, y, ""), x, y, "");
    case XB_MIN: return LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, x, y, ""), x, y, "");
    case XB_LT: return LLVMBuildFCmp(b, LLVMRealOLT, x, y, "");
    case XB_LE: return LLVMBuildFCmp(b, LLVMRealOLE, x, y, "");
    case XB_GT: return LLVMBuildFCmp(b, LLVMRealOGT, x, y, "");
    case XB_GE: return LLVMBuildFCmp(b, LLVMRealOGE, x, y, "");
    case XB_EQ: return LLVMBuildFCmp(b, LLVMRealOEQ, x, y, "");
    }
  }
  unreachable();
  return NULL;
}

static LLVMValueRef expr(LC *c, const Expr *e) {
  switch (e->kind) {
  case X_F: return LLVMConstReal(c->f32, (double)(float)e->f);
  case X_I: return LLVMConstInt(c->i64, (unsigned long long)e->i, 1);
  case X_VAR: return c->var[e->i];
  case X_LOCAL:
    return LLVMBuildLoad2(c->b, e->is_int ? c->i64 : c->f32, c->local[e->i], "");
  case X_BATCH: return c->B;
  case X_HYPER: {
    LLVMValueRef idx = LLVMConstInt(c->i64, (unsigned long long)e->i, 0);
    return LLVMBuildLoad2(c->b, c->f32, LLVMBuildInBoundsGEP2(c->b, c->f32, c->hyper, &idx, 1, ""), "");
  }
  case X_LOAD: {
    LLVMValueRef v = LLVMBuildLoad2(c->b, e->buf->is_int ? c->i32 : c->f32,
                                    elem_ptr(c, e->buf, to_i64(c, expr(c, e->a))), "");
    return e->buf->is_int ? LLVMBuildSExt(c->b, v, c->i64, "") : v;
  }
  case X_BIN: return bin(c, e);
  case X_UN: {
    LLVMValueRef x = expr(c, e->a);
    if (e->is_int) {
      MTLC_ASSERT(e->op == XU_NEG);
      return LLVMBuildNeg(c->b, x, "");
    }
    switch (e->op) {
    case XU_NEG: return LLVMBuildFNeg(c->b, x, "");
    case XU_EXP: return call1f(c, "llvm.exp.f32", x);
    case XU_LOG: return call1f(c, "llvm.log.f32", x);
    case XU_SQRT: return call1f(c, "llvm.sqrt.f32", x);
    case XU_ABS: return call1f(c, "llvm.fabs.f32", x);
    case XU_LOG1P: return call1f(c, "log1pf", x);
    case XU_TANH: return call1f(c, "tanhf", x);
    }
    unreachable();
    return NULL;
  }
  case X_SEL: {
    LLVMValueRef cond = to_i1(c, expr(c, e->a));
    LLVMValueRef x = expr(c, e->b), y = expr(c, e->c);
    if (e->is_int)
      x = to_i64(c, x), y = to_i64(c, y);
    return LLVMBuildSelect(c->b, cond, x, y, "");
  }
  case X_TOF: return LLVMBuildSIToFP(c->b, to_i64(c, expr(c, e->a)), c->f32, "");
  case X_TOI: return LLVMBuildFPToSI(c->b, expr(c, e->a), c->i64, "");
  }
  unreachable();
  return NULL;
}

/* ---- statements -------------------------------------------------------------------- */

static void stmts(LC *c, const Vec *body);

static LLVMValueRef buf_at(LC *c, const Buf *b, const Expr *off) {
  return elem_ptr(c, b, to_i64(c, expr(c, off)));
}

/* a loop of at most 4 trips whose body holds only such loops: pooling
 * windows. Emitted unrolled, since O3 runs without the unroller. */
static bool tiny_loop(const Stmt *s) {
  if (s->kind != K_FOR || s->hi->kind != X_I || s->hi->i > 4)
    return false;
  for (int i = 0; i < s->body.len; i++) {
    const Stmt *t = s->body.data[i];
    if ((t->kind == K_FOR && !tiny_loop(t)) || t->kind == K_LOCAL)
      return false; /* maxpool's backward ran slower unrolled */
  }
  return true;
}

static void stmt(LC *c, const Stmt *s) {
  LLVMBuilderRef b = c->b;
  if (tiny_loop(s)) {
    for (int64_t k = 0; k < s->hi->i; k++) {
      c->var[s->var] = LLVMConstInt(c->i64, (unsigned long long)k, 0);
      stmts(c, &s->body);
    }
    return;
  }
  switch (s->kind) {
  case K_FOR: {
    LLVMValueRef hi = to_i64(c, expr(c, s->hi));
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(b);
    LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "for");
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "body");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "done");
    LLVMBuildBr(b, head);
    LLVMPositionBuilderAtEnd(b, head);
    LLVMValueRef i = LLVMBuildPhi(b, c->i64, "i");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, i, hi, ""), body, done);
    LLVMPositionBuilderAtEnd(b, body);
    MTLC_ASSERT(s->var < MAX_VARS);
    c->var[s->var] = i;
    stmts(c, &s->body);
    LLVMValueRef next = LLVMBuildNSWAdd(b, i, LLVMConstInt(c->i64, 1, 0), "");
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(b);
    LLVMBuildBr(b, head);
    LLVMValueRef zero = LLVMConstInt(c->i64, 0, 0);
    LLVMAddIncoming(i, &zero, &pre, 1);
    LLVMAddIncoming(i, &next, &latch, 1);
    LLVMPositionBuilderAtEnd(b, done);
    return;
  }
  case K_STORE: {
    LLVMValueRef p = elem_ptr(c, s->buf, to_i64(c, expr(c, s->idx)));
    LLVMValueRef v = expr(c, s->val);
    if (s->buf->is_int)
      v = LLVMBuildTrunc(b, to_i64(c, v), c->i32, "");
    if (s->accum)
      v = LLVMBuildFAdd(b, LLVMBuildLoad2(b, c->f32, p, ""), v, "");
    LLVMBuildStore(b, v, p);
    return;
  }
  case K_LOCAL: {
    MTLC_ASSERT(s->var < MAX_LOCALS);
    LLVMTypeRef t = s->is_int ? c->i64 : c->f32;
    c->local[s->var] = LLVMBuildAlloca(c->ab, t, "");
    LLVMValueRef v = expr(c, s->val);
    LLVMBuildStore(b, s->is_int ? to_i64(c, v) : v, c->local[s->var]);
    return;
  }
  case K_SET: {
    LLVMValueRef v = expr(c, s->val);
    LLVMTypeRef t = LLVMGetAllocatedType(c->local[s->var]);
    LLVMBuildStore(b, t == c->i64 ? to_i64(c, v) : v, c->local[s->var]);
    return;
  }
  case K_GEMM: {
    LLVMTypeRef t[13] = {c->i32, c->i32, c->i64, c->i64, c->i64, c->f32, c->pf32, c->i64,
                         c->pf32, c->i64, c->f32, c->pf32, c->i64};
    LLVMValueRef f = fn_decl(c, "mtl_sgemm", c->vd, t, 13);
    LLVMValueRef a[13] = {
        LLVMConstInt(c->i32, (unsigned)s->ta, 0), LLVMConstInt(c->i32, (unsigned)s->tb, 0),
        to_i64(c, expr(c, s->M)), to_i64(c, expr(c, s->N)), to_i64(c, expr(c, s->K)),
        LLVMConstReal(c->f32, s->alpha), buf_at(c, s->A, s->offa),
        to_i64(c, expr(c, s->lda)), buf_at(c, s->B, s->offb), to_i64(c, expr(c, s->ldb)),
        LLVMConstReal(c->f32, s->beta), buf_at(c, s->C, s->offc), to_i64(c, expr(c, s->ldc))};
    call(c, f, a, 13);
    return;
  }
  case K_DROPOUT: {
    LLVMTypeRef t[5] = {c->pf32, c->i64, c->f32, c->i64, c->i64};
    LLVMValueRef f = fn_decl(c, "mtl_dropout_mask", c->vd, t, 5);
    LLVMValueRef a[5] = {c->bufp[buf_index(c, s->buf)], to_i64(c, expr(c, s->val)),
                         LLVMConstReal(c->f32, s->p), c->seed,
                         LLVMConstInt(c->i64, (unsigned long long)s->stream, 0)};
    call(c, f, a, 5);
    return;
  }
  }
  unreachable();
}

static void stmts(LC *c, const Vec *body) {
  for (int i = 0; i < body->len; i++)
    stmt(c, body->data[i]);
}

/* ---- kernels and entry points -------------------------------------------------------- */

/* void k(bufs..., i64 B, float *hyper, i64 seed) */
static LLVMValueRef kernel(LC *c, const Kernel *k) {
  kernel_uses(k, &c->u);
  LLVMTypeRef args[MAX_KERNEL_BUFS + 3];
  int n = 0;
  for (int i = 0; i < c->u.n; i++)
    args[n++] = c->u.buf[i]->is_int ? c->pi32 : c->pf32;
  args[n++] = c->i64;
  args[n++] = c->pf32;
  args[n++] = c->i64;
  char *name = arena_printf(c->m->a, "%s%s", k->prefix, k->name);
  LLVMValueRef f = c->fn = LLVMAddFunction(c->mod, name, LLVMFunctionType(c->vd, args, (unsigned)n, 0));
  LLVMSetLinkage(f, LLVMInternalLinkage);
  add_attr(c, f, LLVMAttributeFunctionIndex, "nounwind", 0);
  if (getenv("MTLC_PROFILE_KERNELS")) /* keep each kernel a function, for perf */
    add_attr(c, f, LLVMAttributeFunctionIndex, "noinline", 0);
  for (int i = 0; i < c->u.n; i++) {
    c->bufp[i] = LLVMGetParam(f, (unsigned)i);
    add_attr(c, f, (unsigned)i + 1, "noalias", 0);
    add_attr(c, f, (unsigned)i + 1, "nocapture", 0);
    /* the groups are 16-byte aligned blocks carved at multiples of 64 bytes;
     * what the caller passes (data, outputs, losses) may be any float array */
    BufKind bk = c->u.buf[i]->kind;
    bool group = bk == BUF_PARAM || bk == BUF_GRAD || bk == BUF_STATE || bk == BUF_ACT ||
                 bk == BUF_CONST;
    add_attr(c, f, (unsigned)i + 1, "align", group ? 16 : 4);
    if (!c->u.written[i])
      add_attr(c, f, (unsigned)i + 1, "readonly", 0);
  }
  c->B = LLVMGetParam(f, (unsigned)c->u.n);
  c->hyper = LLVMGetParam(f, (unsigned)c->u.n + 1);
  c->seed = LLVMGetParam(f, (unsigned)c->u.n + 2);
  c->alloca_bb = LLVMAppendBasicBlockInContext(c->ctx, f, "entry");
  LLVMBasicBlockRef start = LLVMAppendBasicBlockInContext(c->ctx, f, "start");
  LLVMPositionBuilderAtEnd(c->ab, c->alloca_bb);
  LLVMPositionBuilderAtEnd(c->b, start);
  stmts(c, &k->body);
  LLVMBuildRetVoid(c->b);
  LLVMPositionBuilderAtEnd(c->ab, c->alloca_bb);
  LLVMBuildBr(c->ab, start);
  return f;
}

typedef struct {
  LLVMValueRef params, grads, state, act, data, outputs, losses, hyper, seed, B;
} EntryArgs;

static LLVMValueRef const_table(LC *c, const Buf *b) {
  char *name = arena_printf(c->m->a, "%s_table", b->name);
  LLVMValueRef g = LLVMGetNamedGlobal(c->mod, name);
  if (g)
    return LLVMConstBitCast(g, c->pi32);
  LLVMValueRef *v = arena_alloc(c->m->a, sizeof(LLVMValueRef) * (size_t)b->ntable);
  for (int i = 0; i < b->ntable; i++)
    v[i] = LLVMConstInt(c->i32, (unsigned long long)(int64_t)b->table[i], 1);
  LLVMValueRef init = LLVMConstArray(c->i32, v, (unsigned)b->ntable);
  g = LLVMAddGlobal(c->mod, LLVMTypeOf(init), name);
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  LLVMSetAlignment(g, 16);
  return LLVMConstBitCast(g, c->pi32);
}

static LLVMValueRef gep(LC *c, LLVMTypeRef t, LLVMValueRef p, int64_t off) {
  LLVMValueRef idx = LLVMConstInt(c->i64, (unsigned long long)off, 0);
  return LLVMBuildInBoundsGEP2(c->b, t, p, &idx, 1, "");
}

/* a kernel's buffer, in the entry point's terms */
static LLVMValueRef entry_buf(LC *c, EntryArgs *e, const Buf *b) {
  LLVMTypeRef t = b->is_int ? c->pi32 : c->pf32;
  switch (b->kind) {
  case BUF_PARAM: return gep(c, c->f32, e->params, b->offset);
  case BUF_GRAD: return gep(c, c->f32, e->grads, b->offset);
  case BUF_STATE: return gep(c, c->f32, e->state, b->offset);
  case BUF_ACT: return gep(c, c->f32, e->act, b->offset);
  case BUF_DATA:
    return LLVMBuildBitCast(c->b, LLVMBuildLoad2(c->b, c->pi8, gep(c, c->pi8, e->data, b->index), ""), t, "");
  case BUF_OUT:
    return LLVMBuildLoad2(c->b, c->pf32, gep(c, c->pf32, e->outputs, b->index), "");
  case BUF_LOSS: return e->losses;
  case BUF_CONST: return const_table(c, b);
  }
  unreachable();
  return NULL;
}

static LLVMValueRef entry(LC *c, const char *name, LLVMTypeRef *args, int n) {
  LLVMValueRef f = LLVMAddFunction(c->mod, name, LLVMFunctionType(c->vd, args, (unsigned)n, 0));
  add_attr(c, f, LLVMAttributeFunctionIndex, "nounwind", 0);
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->ctx, f, "entry"));
  return f;
}

/* emits a program's kernels, then an entry point that calls them in order */
static void program(LC *c, Program *p, const char *prefix, const char *name, LLVMTypeRef *args,
                    int n, void (*bind)(LC *, LLVMValueRef, EntryArgs *)) {
  (void)prefix;
  LLVMValueRef *fns = arena_alloc(c->m->a, sizeof(LLVMValueRef) * (size_t)(p->kernels.len + 1));
  KernelUses *uses = arena_alloc(c->m->a, sizeof(KernelUses) * (size_t)(p->kernels.len + 1));
  for (int i = 0; i < p->kernels.len; i++) { /* each kernel rendered once */
    Kernel *k = p->kernels.data[i];
    if (!k->backend)
      k->backend = kernel(c, k);
    fns[i] = k->backend;
    kernel_uses(k, &uses[i]);
  }
  LLVMValueRef f = entry(c, name, args, n);
  EntryArgs e = {0};
  bind(c, f, &e);
  for (int i = 0; i < p->kernels.len; i++) {
    LLVMValueRef a[MAX_KERNEL_BUFS + 3];
    int k = 0;
    for (int j = 0; j < uses[i].n; j++)
      a[k++] = entry_buf(c, &e, uses[i].buf[j]);
    a[k++] = e.B;
    a[k++] = e.hyper ? e.hyper : LLVMConstNull(c->pf32);
    a[k++] = e.seed ? e.seed : LLVMConstInt(c->i64, 0, 0);
    call(c, fns[i], a, k);
  }
  LLVMBuildRetVoid(c->b);
}

static void bind_train(LC *c, LLVMValueRef f, EntryArgs *e) {
  e->params = LLVMGetParam(f, 0), e->grads = LLVMGetParam(f, 1);
  e->state = LLVMGetParam(f, 2), e->act = LLVMGetParam(f, 3);
  e->data = LLVMGetParam(f, 4), e->B = LLVMGetParam(f, 5);
  e->hyper = LLVMGetParam(f, 6), e->seed = LLVMGetParam(f, 7);
  e->losses = LLVMGetParam(f, 8);
  (void)c;
}

static void bind_eval(LC *c, LLVMValueRef f, EntryArgs *e) {
  e->params = LLVMGetParam(f, 0), e->act = LLVMGetParam(f, 1);
  e->data = LLVMGetParam(f, 2), e->B = LLVMGetParam(f, 3);
  e->losses = LLVMGetParam(f, 4), e->outputs = LLVMGetParam(f, 5);
  (void)c;
}

static void bind_forward(LC *c, LLVMValueRef f, EntryArgs *e) {
  e->params = LLVMGetParam(f, 0), e->act = LLVMGetParam(f, 1);
  e->data = LLVMBuildBitCast(c->b, LLVMGetParam(f, 2), c->ppi8, "");
  e->B = LLVMGetParam(f, 3), e->outputs = LLVMGetParam(f, 4);
}

/* NAME_init: zero, then PyTorch's default initialization per tensor */
static void init_fn(LC *c, const MtlModelInfo *info) {
  LLVMTypeRef args[2] = {c->pf32, c->i64};
  LLVMValueRef f = entry(c, arena_printf(c->m->a, "%s_init", info->name), args, 2);
  LLVMTypeRef rng_t = LLVMArrayType(c->i64, 4);
  LLVMValueRef rng = LLVMBuildAlloca(c->b, rng_t, "rng");
  LLVMValueRef rngp = LLVMBuildBitCast(c->b, rng, c->pi8, "");
  LLVMTypeRef st[2] = {c->pi8, c->i64};
  LLVMValueRef a2[2] = {rngp, LLVMGetParam(f, 1)};
  call(c, fn_decl(c, "mtl_rng_seed", c->vd, st, 2), a2, 2);
  LLVMValueRef params = LLVMGetParam(f, 0);
  LLVMBuildMemSet(c->b, params, LLVMConstInt(c->i8, 0, 0),
                  LLVMConstInt(c->i64, (unsigned long long)(info->n_params * 4), 0), 16);
  LLVMTypeRef it[4] = {c->pf32, c->i64, c->f64, c->pi8};
  LLVMValueRef init = fn_decl(c, "mtl_init_uniform", c->vd, it, 4);
  Graph *g = c->m->train->g;
  for (int i = 0; i < info->n_param_tensors; i++) {
    const MtlTensor *t = &info->param_tensors[i];
    Node *x = g->params.data[i];
    LLVMValueRef a[4] = {gep(c, c->f32, params, t->offset),
                         LLVMConstInt(c->i64, (unsigned long long)t->numel, 0),
                         LLVMConstReal(c->f64, 1 / sqrt((double)x->a[0])), rngp};
    call(c, init, a, 4);
  }
  LLVMBuildRetVoid(c->b);
}

/* ---- NAME_info as constants (every pointer an i8*) ------------------------------- */

static LLVMValueRef cstr(LC *c, const char *s) {
  LLVMValueRef init = LLVMConstStringInContext(c->ctx, s, (unsigned)strlen(s), 0);
  LLVMValueRef g = LLVMAddGlobal(c->mod, LLVMTypeOf(init), ".str");
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
  return LLVMConstBitCast(g, c->pi8);
}

static LLVMValueRef I32(LC *c, int64_t v) { return LLVMConstInt(c->i32, (unsigned long long)v, 1); }
static LLVMValueRef I64(LC *c, int64_t v) { return LLVMConstInt(c->i64, (unsigned long long)v, 1); }
static LLVMValueRef F64(LC *c, double v) { return LLVMConstReal(c->f64, v); }

static LLVMValueRef shape4(LC *c, const int64_t *d) {
  LLVMValueRef v[4] = {I64(c, d[0]), I64(c, d[1]), I64(c, d[2]), I64(c, d[3])};
  return LLVMConstArray(c->i64, v, 4);
}

/* a private constant array of structs (or ints), as an i8* */
static LLVMValueRef table(LC *c, LLVMTypeRef t, LLVMValueRef *v, int n) {
  if (!n)
    return LLVMConstNull(c->pi8);
  LLVMValueRef init = LLVMConstArray(t, v, (unsigned)n);
  LLVMValueRef g = LLVMAddGlobal(c->mod, LLVMTypeOf(init), ".table");
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  return LLVMConstBitCast(g, c->pi8);
}

#define STRUCT(...) LLVMStructTypeInContext(c->ctx, (LLVMTypeRef[]){__VA_ARGS__}, \
    sizeof((LLVMTypeRef[]){__VA_ARGS__}) / sizeof(LLVMTypeRef), 0)
#define CSTRUCT(t, ...) LLVMConstNamedStruct(t, (LLVMValueRef[]){__VA_ARGS__}, \
    sizeof((LLVMValueRef[]){__VA_ARGS__}) / sizeof(LLVMValueRef))

static LLVMTypeRef named(LC *c, const char *name, LLVMTypeRef body) {
  LLVMTypeRef t = LLVMStructCreateNamed(c->ctx, name);
  unsigned n = LLVMCountStructElementTypes(body);
  LLVMTypeRef *el = arena_alloc(c->m->a, sizeof(LLVMTypeRef) * n);
  LLVMGetStructElementTypes(body, el);
  LLVMStructSetBody(t, el, n, 0);
  return t;
}

static void info_global(LC *c, const MtlModelInfo *m, LLVMTargetDataRef td, bool host) {
  Arena *a = c->m->a;
  LLVMTypeRef p = c->pi8, i32 = c->i32, i64 = c->i64, f64 = c->f64, f32 = c->f32;
  LLVMTypeRef sh = LLVMArrayType(i64, 4);
  LLVMTypeRef tensor_t = named(c, "MtlTensor", STRUCT(p, i64, i64, i32, sh));
  LLVMTypeRef input_t = named(c, "MtlInputInfo", STRUCT(p, i32, sh, i64));
  LLVMTypeRef label_t = named(c, "MtlLabelInfo", STRUCT(p, i32, i64));
  LLVMTypeRef task_t = named(c, "MtlTaskInfo", STRUCT(p, i32, i64, i32, f64, i32, i32, p, i32));
  LLVMTypeRef bind_t = named(c, "MtlBinding", STRUCT(p, p, p, i32, f32, f32, i32, p, i32));
  LLVMTypeRef info_t = named(c, "MtlModelInfo",
                             STRUCT(i32, p, p, p, i64, i64, i64, i64, i32, p, i32, p, i32, p,
                                    i32, p, i32, p, i32, p, i32, f64, f64, f64, i32, i64, f64,
                                    i64, i64, i64, p, p, p, p));
  if (host) { /* the layouts must be the C compiler's */
    MTLC_ASSERT(LLVMABISizeOfType(td, tensor_t) == sizeof(MtlTensor));
    MTLC_ASSERT(LLVMABISizeOfType(td, input_t) == sizeof(MtlInputInfo));
    MTLC_ASSERT(LLVMABISizeOfType(td, label_t) == sizeof(MtlLabelInfo));
    MTLC_ASSERT(LLVMABISizeOfType(td, task_t) == sizeof(MtlTaskInfo));
    MTLC_ASSERT(LLVMABISizeOfType(td, bind_t) == sizeof(MtlBinding));
    MTLC_ASSERT(LLVMABISizeOfType(td, info_t) == sizeof(MtlModelInfo));
  }
  LLVMValueRef *v;
  int nt = m->n_param_tensors > m->n_state_tensors ? m->n_param_tensors : m->n_state_tensors;
  v = arena_alloc(a, sizeof(LLVMValueRef) * (size_t)(nt + m->n_inputs + m->n_labels + m->n_tasks + m->n_bindings + 1));
  LLVMValueRef tensors[2];
  for (int pass = 0; pass < 2; pass++) {
    const MtlTensor *ts = pass ? m->state_tensors : m->param_tensors;
    int n = pass ? m->n_state_tensors : m->n_param_tensors;
    for (int i = 0; i < n; i++)
      v[i] = CSTRUCT(tensor_t, cstr(c, ts[i].name), I64(c, ts[i].offset), I64(c, ts[i].numel),
                     I32(c, ts[i].rank), shape4(c, ts[i].shape));
    tensors[pass] = table(c, tensor_t, v, n);
  }
  for (int i = 0; i < m->n_inputs; i++)
    v[i] = CSTRUCT(input_t, cstr(c, m->inputs[i].name), I32(c, m->inputs[i].rank),
                   shape4(c, m->inputs[i].shape), I64(c, m->inputs[i].numel));
  LLVMValueRef inputs = table(c, input_t, v, m->n_inputs);
  for (int i = 0; i < m->n_labels; i++)
    v[i] = CSTRUCT(label_t, cstr(c, m->labels[i].name), I32(c, m->labels[i].kind),
                   I64(c, m->labels[i].width));
  LLVMValueRef labels = table(c, label_t, v, m->n_labels);
  for (int i = 0; i < m->n_tasks; i++) {
    const MtlTaskInfo *t = &m->tasks[i];
    LLVMValueRef look = LLVMConstNull(p);
    if (t->n_lookup) {
      LLVMValueRef *e = arena_alloc(a, sizeof(LLVMValueRef) * (size_t)t->n_lookup);
      for (int k = 0; k < t->n_lookup; k++)
        e[k] = I32(c, t->lookup[k]);
      look = table(c, i32, e, t->n_lookup);
    }
    v[i] = CSTRUCT(task_t, cstr(c, t->name), I32(c, t->kind), I64(c, t->width),
                   I32(c, t->metrics), F64(c, t->weight), I32(c, t->label),
                   I32(c, t->derive_from), look, I32(c, t->n_lookup));
  }
  LLVMValueRef tasks = table(c, task_t, v, m->n_tasks);
  for (int i = 0; i < m->n_bindings; i++) {
    const MtlBinding *b = &m->bindings[i];
    LLVMValueRef cols = LLVMConstNull(p);
    if (b->n_csv_columns) {
      LLVMValueRef *e = arena_alloc(a, sizeof(LLVMValueRef) * (size_t)b->n_csv_columns);
      for (int k = 0; k < b->n_csv_columns; k++)
        e[k] = I64(c, b->csv_columns[k]);
      cols = table(c, i64, e, b->n_csv_columns);
    }
    v[i] = CSTRUCT(bind_t, cstr(c, b->split), cstr(c, b->name), cstr(c, b->path),
                   I32(c, b->normalize), LLVMConstReal(f32, b->mean), LLVMConstReal(f32, b->std),
                   I32(c, b->csv_column), cols, I32(c, b->n_csv_columns));
  }
  LLVMValueRef bindings = table(c, bind_t, v, m->n_bindings);
  LLVMValueRef fns[4];
  const char *const entries[4] = {"init", "train_step", "eval_step", "forward"};
  for (int i = 0; i < 4; i++)
    fns[i] = LLVMConstBitCast(LLVMGetNamedFunction(c->mod, arena_printf(a, "%s_%s", m->name, entries[i])), p);
  LLVMValueRef init = CSTRUCT(
      info_t, I32(c, m->abi), cstr(c, m->name), cstr(c, m->spec), cstr(c, m->mtlc_version),
      I64(c, m->batch_max), I64(c, m->n_params), I64(c, m->n_state), I64(c, m->n_act),
      I32(c, m->n_param_tensors), tensors[0], I32(c, m->n_state_tensors), tensors[1],
      I32(c, m->n_inputs), inputs, I32(c, m->n_labels), labels, I32(c, m->n_tasks), tasks,
      I32(c, m->n_bindings), bindings, I32(c, m->optimizer), F64(c, m->lr), F64(c, m->beta1),
      F64(c, m->beta2), I32(c, m->schedule), I64(c, m->step_every), F64(c, m->step_gamma),
      I64(c, m->batch), I64(c, m->epochs), I64(c, (int64_t)m->seed), fns[0], fns[1], fns[2], fns[3]);
  LLVMValueRef g = LLVMAddGlobal(c->mod, info_t, arena_printf(a, "%s_info", m->name));
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, 1);
}

/* ---- the module ------------------------------------------------------------------------ */

LLVMTargetMachineRef llvm_target_machine(const char *triple_or_null) {
  static bool ready;
  if (!ready) {
    LLVMInitializeAllTargetInfos();
    LLVMInitializeAllTargets();
    LLVMInitializeAllTargetMCs();
    LLVMInitializeAllAsmPrinters();
    ready = true;
  }
  bool host = !triple_or_null;
  char *triple = host ? LLVMGetDefaultTargetTriple() : LLVMNormalizeTargetTriple(triple_or_null);
  LLVMTargetRef target;
  char *err = NULL;
  if (LLVMGetTargetFromTriple(triple, &target, &err)) {
    fprintf(stderr, "mtlc: LLVM: target '%s': %s\n", triple_or_null ? triple_or_null : triple, err);
    LLVMDisposeMessage(err);
    exit(1);
  }
  char *cpu = host ? LLVMGetHostCPUName() : NULL, *features = host ? LLVMGetHostCPUFeatures() : NULL;
  LLVMTargetMachineRef tm = LLVMCreateTargetMachine(
      target, triple, host ? cpu : "generic", host ? features : "", LLVMCodeGenLevelAggressive,
      LLVMRelocPIC, LLVMCodeModelDefault);
  if (host) {
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(features);
  }
  LLVMDisposeMessage(triple);
  if (!tm) {
    fprintf(stderr, "mtlc: LLVM: cannot make a target machine for '%s'\n",
            triple_or_null ? triple_or_null : "the host");
    exit(1);
  }
  return tm;
}

LLVMModuleRef emit_llvm(Module *m, LLVMContextRef ctx, LLVMTargetMachineRef tm, bool host,
                        bool optimize) {
  LC c = {.ctx = ctx, .m = m};
  c.mod = LLVMModuleCreateWithNameInContext(m->m->name, ctx);
  LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tm);
  char *triple = LLVMGetTargetMachineTriple(tm);
  LLVMSetTarget(c.mod, triple);
  LLVMDisposeMessage(triple);
  LLVMSetModuleDataLayout(c.mod, td);
  c.b = LLVMCreateBuilderInContext(ctx);
  c.ab = LLVMCreateBuilderInContext(ctx);
  c.f32 = LLVMFloatTypeInContext(ctx), c.f64 = LLVMDoubleTypeInContext(ctx);
  c.i64 = LLVMInt64TypeInContext(ctx), c.i32 = LLVMInt32TypeInContext(ctx);
  c.i8 = LLVMInt8TypeInContext(ctx), c.i1 = LLVMInt1TypeInContext(ctx);
  c.vd = LLVMVoidTypeInContext(ctx);
  c.pf32 = LLVMPointerType(c.f32, 0), c.pi32 = LLVMPointerType(c.i32, 0);
  c.pi8 = LLVMPointerType(c.i8, 0), c.ppi8 = LLVMPointerType(c.pi8, 0);
  c.pf64 = LLVMPointerType(c.f64, 0), c.pi64 = LLVMPointerType(c.i64, 0);
  LLVMTypeRef ppf32 = LLVMPointerType(c.pf32, 0);
  const char *n = m->m->name;
  MtlModelInfo *info = module_info(m);

  init_fn(&c, info);
  LLVMTypeRef tr[9] = {c.pf32, c.pf32, c.pf32, c.pf32, c.ppi8, c.i64, c.pf32, c.i64, c.pf32};
  program(&c, m->train, "tr_", arena_printf(m->a, "%s_train_step", n), tr, 9, bind_train);
  LLVMTypeRef ev[6] = {c.pf32, c.pf32, c.ppi8, c.i64, c.pf32, ppf32};
  program(&c, m->eval, "ev_", arena_printf(m->a, "%s_eval_step", n), ev, 6, bind_eval);
  LLVMTypeRef fw[5] = {c.pf32, c.pf32, ppf32, c.i64, ppf32};
  program(&c, m->forward, "ev_", arena_printf(m->a, "%s_forward", n), fw, 5, bind_forward);
  info_global(&c, info, td, host);

  /* the host's CPU and features on every function, for the optimizer */
  if (host) {
    char *cpu = LLVMGetHostCPUName(), *features = LLVMGetHostCPUFeatures();
    for (LLVMValueRef f = LLVMGetFirstFunction(c.mod); f; f = LLVMGetNextFunction(f)) {
      if (LLVMIsDeclaration(f))
        continue;
      LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex,
                              LLVMCreateStringAttribute(ctx, "target-cpu", 10, cpu, (unsigned)strlen(cpu)));
      LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex,
                              LLVMCreateStringAttribute(ctx, "target-features", 15, features,
                                                        (unsigned)strlen(features)));
    }
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(features);
  }
  LLVMDisposeBuilder(c.b);
  LLVMDisposeBuilder(c.ab);
  LLVMDisposeTargetData(td);

  char *msg = NULL;
  if (LLVMVerifyModule(c.mod, LLVMReturnStatusAction, &msg)) {
    fprintf(stderr, "mtlc: internal error: the LLVM module does not verify:\n%s\n", msg);
    abort();
  }
  LLVMDisposeMessage(msg);
  if (optimize) {
    LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
    LLVMPassBuilderOptionsSetLoopVectorization(po, 1);
    LLVMPassBuilderOptionsSetSLPVectorization(po, 1);
    /* unrolling tripled compile time (1.2 s against 0.4 s for fashion_hard)
     * for a few percent of throughput: spec to running code stays under a
     * second. MTLC_UNROLL=1 turns it back on. */
    const char *unroll = getenv("MTLC_UNROLL");
    LLVMPassBuilderOptionsSetLoopUnrolling(po, unroll && *unroll == '1');
    llvm_fail(LLVMRunPasses(c.mod, "default<O3>", tm, po), "optimizing");
    LLVMDisposePassBuilderOptions(po);
  }
  return c.mod;
}
