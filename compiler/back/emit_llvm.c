/* back/emit_llvm.c: renders a unit (kir/kir.h) as an LLVM module through
 * the LLVM C API: one internal function per distinct kernel, whose buffers
 * are noalias, nocapture parameters (64-byte aligned where every call
 * passes a block of a group), with real loops of constant trip count (or
 * B); entry points NAME_init, NAME_train_step, NAME_eval_step and
 * NAME_forward (NAME_train_begin and NAME_train_end instead of
 * NAME_train_step under a balance method other than static; the halves
 * NAME_grad_step and NAME_update_step of the step, or of train_end, for
 * data parallelism, except under a gradient method) with the same C ABI as
 * the C back end; and NAME_info, the
 * model's MtlModelInfo, as constants built from back/abi.c's description,
 * every member's offset checked against the C compiler's. The module is verified, then
 * optimized with the new pass manager at O3 for the target machine (the
 * host's CPU and features unless another triple is asked for). No IR text
 * templates and no C compiler: only API calls. O3 runs without loop
 * unrolling (see emit_llvm), to keep compile time low. Fast-math flags are not set
 * (the C API of LLVM 14 has no call for them), so results follow IEEE order
 * like the C back end's. jit.c runs the module; `mtlc emit-llvm` writes it. */
#include "back/abi.h"
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
  Unit *u;
  LLVMTypeRef f32, f64, i64, i32, i8, i1, vd, pf32, pi32, pi8, ppi8, pf64, pi64;
  /* the kernel being emitted */
  const Kernel *k;
  LLVMValueRef fn;
  LLVMBasicBlockRef alloca_bb;
  LLVMValueRef param[MAX_KERNEL_PARAMS];
  LLVMValueRef B, seed;
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

static bool param_int(LC *c, int arg) { return c->k->params[arg].dtype == DT_I32; }

static LLVMValueRef elem_ptr(LC *c, int arg, LLVMValueRef idx) {
  return LLVMBuildInBoundsGEP2(c->b, param_int(c, arg) ? c->i32 : c->f32, c->param[arg], &idx, 1,
                               "");
}

static LLVMValueRef expr(LC *c, const Expr *e);

/* element i of array local l */
static LLVMValueRef local_elem(LC *c, int64_t l, const Expr *i) {
  LLVMValueRef idx = to_i64(c, expr(c, i));
  return LLVMBuildInBoundsGEP2(c->b, c->f32, c->local[l], &idx, 1, "");
}

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
    if (e->a) /* an element of an array local */
      return LLVMBuildLoad2(c->b, c->f32, local_elem(c, e->i, e->a), "");
    return LLVMBuildLoad2(c->b, e->is_int ? c->i64 : c->f32, c->local[e->i], "");
  case X_BATCH: return c->B;
  case X_LOAD: {
    bool is_int = param_int(c, e->arg);
    LLVMValueRef v = LLVMBuildLoad2(c->b, is_int ? c->i32 : c->f32,
                                    elem_ptr(c, e->arg, to_i64(c, expr(c, e->a))), "");
    return is_int ? LLVMBuildSExt(c->b, v, c->i64, "") : v;
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
    case XU_ERF: return call1f(c, "erff", x);
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

static LLVMValueRef buf_at(LC *c, int arg, const Expr *off) {
  return elem_ptr(c, arg, to_i64(c, expr(c, off)));
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

/* an innermost loop of 5 to 15 trips, not a power of 2: the rows of a
 * convolution's windows. The loop vectorizer runs it as one vector of 16
 * under a mask, and where such loops add into overlapping rows (col2im)
 * each masked load waits for the masked store before it: LeNet's second
 * convolution's input gradient took 4 times as long as gcc's build of the
 * same C. Emitted as a loop over the largest power of 2 below the trip
 * count, which vectorizes without masks, and the rest unrolled. */
static int64_t short_loop(const Stmt *s) {
  if (s->kind != K_FOR || s->hi->kind != X_I || s->hi->i <= 4 || s->hi->i >= 16 ||
      (s->hi->i & (s->hi->i - 1)) == 0)
    return 0;
  for (int i = 0; i < s->body.len; i++) {
    const Stmt *t = s->body.data[i];
    if (t->kind == K_FOR || t->kind == K_LOCAL)
      return 0;
  }
  int64_t p = 1;
  while (p * 2 <= s->hi->i)
    p *= 2;
  return p;
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
  int64_t split = short_loop(s);
  switch (s->kind) {
  case K_FOR: {
    LLVMValueRef hi = split ? LLVMConstInt(c->i64, (unsigned long long)split, 0)
                            : to_i64(c, expr(c, s->hi));
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
    for (int64_t k = split; split && k < s->hi->i; k++) { /* the rest */
      c->var[s->var] = LLVMConstInt(c->i64, (unsigned long long)k, 0);
      stmts(c, &s->body);
    }
    return;
  }
  case K_STORE: {
    LLVMValueRef p = elem_ptr(c, s->arg, to_i64(c, expr(c, s->idx)));
    LLVMValueRef v = expr(c, s->val);
    if (param_int(c, s->arg))
      v = LLVMBuildTrunc(b, to_i64(c, v), c->i32, "");
    if (s->accum)
      v = LLVMBuildFAdd(b, LLVMBuildLoad2(b, c->f32, p, ""), v, "");
    LLVMBuildStore(b, v, p);
    return;
  }
  case K_LOCAL: {
    MTLC_ASSERT(s->var < MAX_LOCALS);
    if (s->n) { /* an array: its first element's address */
      LLVMValueRef arr = LLVMBuildAlloca(c->ab, LLVMArrayType(c->f32, (unsigned)s->n), "");
      LLVMValueRef zero = LLVMConstInt(c->i64, 0, 0), idx[2] = {zero, zero};
      c->local[s->var] = LLVMBuildInBoundsGEP2(c->ab, LLVMArrayType(c->f32, (unsigned)s->n),
                                                arr, idx, 2, "");
      return;
    }
    LLVMTypeRef t = s->is_int ? c->i64 : c->f32;
    c->local[s->var] = LLVMBuildAlloca(c->ab, t, "");
    LLVMValueRef v = expr(c, s->val);
    LLVMBuildStore(b, s->is_int ? to_i64(c, v) : v, c->local[s->var]);
    return;
  }
  case K_SET: {
    if (s->idx) {
      LLVMValueRef p = local_elem(c, s->var, s->idx);
      LLVMBuildStore(b, expr(c, s->val), p);
      return;
    }
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
    LLVMValueRef a[5] = {c->param[s->arg], to_i64(c, expr(c, s->val)),
                         LLVMConstReal(c->f32, s->p), c->seed,
                         LLVMConstInt(c->i64, (unsigned long long)s->stream, 0)};
    call(c, f, a, 5);
    return;
  }
  case K_SYNC: {
    LLVMTypeRef t[3] = {c->pf32, c->i64, c->i32};
    LLVMValueRef f = fn_decl(c, "mtl_sync", c->vd, t, 3);
    LLVMValueRef a[3] = {c->param[s->arg], to_i64(c, expr(c, s->val)),
                         LLVMConstInt(c->i32, (unsigned)s->mode, 0)};
    call(c, f, a, 3);
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

/* void k(params..., [i64 B], [i64 seed]) */
static LLVMValueRef kernel(LC *c, const Kernel *k) {
  c->k = k;
  LLVMTypeRef args[MAX_KERNEL_PARAMS + 2];
  int n = 0;
  for (int i = 0; i < k->nparams; i++)
    args[n++] = k->params[i].dtype == DT_I32 ? c->pi32 : c->pf32;
  if (k->uses_batch)
    args[n++] = c->i64;
  if (k->uses_seed)
    args[n++] = c->i64;
  LLVMValueRef f = c->fn = LLVMAddFunction(c->mod, k->name, LLVMFunctionType(c->vd, args, (unsigned)n, 0));
  LLVMSetLinkage(f, LLVMInternalLinkage);
  add_attr(c, f, LLVMAttributeFunctionIndex, "nounwind", 0);
  if (getenv("MTLC_PROFILE_KERNELS")) /* keep each kernel a function, for perf */
    add_attr(c, f, LLVMAttributeFunctionIndex, "noinline", 0);
  for (int i = 0; i < k->nparams; i++) {
    c->param[i] = LLVMGetParam(f, (unsigned)i);
    add_attr(c, f, (unsigned)i + 1, "noalias", 0);
    add_attr(c, f, (unsigned)i + 1, "nocapture", 0);
    /* the groups are 16-byte aligned blocks carved at multiples of 64 bytes;
     * what the caller passes (data, outputs, losses, hyper) may be any array */
    add_attr(c, f, (unsigned)i + 1, "align", k->params[i].group ? 16 : 4);
    if (!k->params[i].written)
      add_attr(c, f, (unsigned)i + 1, "readonly", 0);
  }
  c->B = k->uses_batch ? LLVMGetParam(f, (unsigned)k->nparams) : NULL;
  c->seed = k->uses_seed ? LLVMGetParam(f, (unsigned)(k->nparams + k->uses_batch)) : NULL;
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
  LLVMValueRef params, grads, state, stats, act, data, outputs, losses, hyper, seed, B, bal;
} EntryArgs;

static LLVMValueRef const_table(LC *c, const Buf *b) {
  LLVMValueRef g = LLVMGetNamedGlobal(c->mod, b->name);
  if (g)
    return LLVMConstBitCast(g, c->pi32);
  LLVMValueRef *v = arena_alloc(c->u->a, sizeof(LLVMValueRef) * (size_t)(b->ntable + 1));
  for (int i = 0; i < b->ntable; i++)
    v[i] = LLVMConstInt(c->i32, (unsigned long long)(int64_t)b->table[i], 1);
  LLVMValueRef init = LLVMConstArray(c->i32, v, (unsigned)b->ntable);
  g = LLVMAddGlobal(c->mod, LLVMTypeOf(init), b->name);
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

/* a call's actual buffer, in the entry point's terms */
static LLVMValueRef entry_buf(LC *c, EntryArgs *e, const Program *p, const Buf *b) {
  LLVMTypeRef t = b->dtype == DT_I32 ? c->pi32 : c->pf32;
  switch (b->kind) {
  case BUF_PARAM: return gep(c, c->f32, e->params, b->offset);
  case BUF_GRAD: return gep(c, c->f32, e->grads, b->offset);
  case BUF_STATE: return gep(c, c->f32, e->state, b->offset);
  case BUF_STAT: return gep(c, c->f32, e->stats, b->offset);
  case BUF_ACT: /* an i32 buffer in the float arena: the same 4 bytes an element */
    return LLVMBuildBitCast(c->b, gep(c, c->f32, e->act, p->offset[b->id]), t, "");
  case BUF_DATA:
    return LLVMBuildBitCast(c->b, LLVMBuildLoad2(c->b, c->pi8, gep(c, c->pi8, e->data, b->index), ""), t, "");
  case BUF_OUT:
    return LLVMBuildLoad2(c->b, c->pf32, gep(c, c->pf32, e->outputs, b->index), "");
  case BUF_LOSS: return gep(c, c->f32, e->losses, b->index);
  case BUF_HYPER: return gep(c, c->f32, e->hyper, b->index);
  case BUF_CONST: return const_table(c, b);
  case BUF_BAL: return gep(c, c->f32, e->bal, b->offset);
  }
  unreachable();
  return NULL;
}

static LLVMValueRef entry(LC *c, const char *name, LLVMTypeRef *args, int n) {
  LLVMValueRef f = LLVMAddFunction(c->mod, name, LLVMFunctionType(c->vd, args, (unsigned)n, 0));
  add_attr(c, f, LLVMAttributeFunctionIndex, "nounwind", 0);
  return f;
}

/* the entry point of a program's calls [from, to), in order */
static void program(LC *c, Program *p, int from, int to, LLVMValueRef f,
                    void (*bind)(LC *, LLVMValueRef, EntryArgs *)) {
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->ctx, f, "entry"));
  EntryArgs e = {0};
  bind(c, f, &e);
  for (int i = from; i < to; i++) {
    const KCall *kc = p->calls.data[i];
    const Kernel *k = kc->k;
    LLVMValueRef a[MAX_KERNEL_PARAMS + 2];
    int n = 0;
    for (int j = 0; j < k->nparams; j++)
      a[n++] = entry_buf(c, &e, p, kc->args[j]);
    if (k->uses_batch)
      a[n++] = e.B;
    if (k->uses_seed)
      a[n++] = e.seed;
    call(c, k->backend, a, n);
  }
  LLVMBuildRetVoid(c->b);
}

static void bind_train(LC *c, LLVMValueRef f, EntryArgs *e) {
  e->params = LLVMGetParam(f, 0), e->grads = LLVMGetParam(f, 1);
  e->state = LLVMGetParam(f, 2), e->stats = LLVMGetParam(f, 3);
  e->act = LLVMGetParam(f, 4), e->data = LLVMGetParam(f, 5);
  e->B = LLVMGetParam(f, 6), e->hyper = LLVMGetParam(f, 7);
  e->seed = LLVMGetParam(f, 8), e->losses = LLVMGetParam(f, 9);
  if (LLVMCountParams(f) > 10) /* train_begin, train_end */
    e->bal = LLVMGetParam(f, 10);
  (void)c;
}

static void bind_eval(LC *c, LLVMValueRef f, EntryArgs *e) {
  e->params = LLVMGetParam(f, 0), e->stats = LLVMGetParam(f, 1);
  e->act = LLVMGetParam(f, 2), e->data = LLVMGetParam(f, 3);
  e->B = LLVMGetParam(f, 4), e->losses = LLVMGetParam(f, 5);
  e->outputs = LLVMGetParam(f, 6);
  (void)c;
}

static void bind_forward(LC *c, LLVMValueRef f, EntryArgs *e) {
  e->params = LLVMGetParam(f, 0), e->stats = LLVMGetParam(f, 1);
  e->act = LLVMGetParam(f, 2), e->data = LLVMGetParam(f, 3);
  e->B = LLVMGetParam(f, 4), e->outputs = LLVMGetParam(f, 5);
  (void)c;
}

/* ---- NAME_info as constants, from back/abi.c (every pointer an i8*) ----------------- */

static LLVMValueRef cstr(LC *c, const char *s) {
  LLVMValueRef init = LLVMConstStringInContext(c->ctx, s, (unsigned)strlen(s), 0);
  LLVMValueRef g = LLVMAddGlobal(c->mod, LLVMTypeOf(init), ".str");
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
  return LLVMConstBitCast(g, c->pi8);
}

static LLVMTypeRef field_type(LC *c, AbiKind k) {
  switch (k) {
  case AF_I32: return c->i32;
  case AF_I64: case AF_U64: return c->i64;
  case AF_F32: return c->f32;
  case AF_F64: return c->f64;
  case AF_DIMS: return LLVMArrayType(c->i64, 4);
  case AF_STR: case AF_TABLE: case AF_FN: return c->pi8;
  }
  unreachable();
  return NULL;
}

/* the struct's LLVM type; on the host, each member where the C compiler
 * puts it */
static LLVMTypeRef struct_type(LC *c, const AbiStruct *s, LLVMTargetDataRef td, bool host) {
  LLVMTypeRef t = LLVMGetTypeByName2(c->ctx, s->name);
  if (t)
    return t;
  LLVMTypeRef el[64];
  MTLC_ASSERT(s->nfields <= 64);
  for (int i = 0; i < s->nfields; i++)
    el[i] = field_type(c, s->fields[i].kind);
  t = LLVMStructCreateNamed(c->ctx, s->name);
  LLVMStructSetBody(t, el, (unsigned)s->nfields, 0);
  if (host) {
    MTLC_ASSERT(LLVMABISizeOfType(td, t) == s->size);
    for (int i = 0; i < s->nfields; i++)
      MTLC_ASSERT(LLVMOffsetOfElement(td, t, (unsigned)i) == s->fields[i].offset);
  }
  return t;
}

static LLVMValueRef private_const(LC *c, LLVMValueRef init, const char *name) {
  LLVMValueRef g = LLVMAddGlobal(c->mod, LLVMTypeOf(init), name);
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  return g;
}

static LLVMValueRef struct_value(LC *c, const AbiStruct *s, const void *v, LLVMTargetDataRef td,
                                 bool host, const char *model);

static LLVMValueRef scalar_value(LC *c, AbiKind k, const AbiField *f, const void *v) {
  switch (k) {
  case AF_I32: return LLVMConstInt(c->i32, (unsigned long long)abi_int(v, f), 1);
  case AF_I64: case AF_U64: return LLVMConstInt(c->i64, (unsigned long long)abi_int(v, f), 1);
  case AF_F32: return LLVMConstReal(c->f32, abi_real(v, f));
  case AF_F64: return LLVMConstReal(c->f64, abi_real(v, f));
  case AF_STR: return cstr(c, abi_ptr(v, f));
  case AF_DIMS: {
    const int64_t *d = (const int64_t *)((const char *)v + f->offset);
    LLVMValueRef e[4];
    for (int i = 0; i < 4; i++)
      e[i] = LLVMConstInt(c->i64, (unsigned long long)d[i], 1);
    return LLVMConstArray(c->i64, e, 4);
  }
  default: unreachable(); return NULL;
  }
}

/* a table member: a private constant array of its elements, as an i8* */
static LLVMValueRef table_value(LC *c, const AbiStruct *s, const AbiField *f, const void *v,
                                LLVMTargetDataRef td, bool host, const char *model) {
  int n = abi_count(v, s, f);
  if (!n)
    return LLVMConstNull(c->pi8);
  const char *elems = abi_ptr(v, f);
  LLVMValueRef *e = arena_alloc(c->u->a, sizeof(LLVMValueRef) * (size_t)n);
  LLVMTypeRef t;
  if (f->elem) {
    t = struct_type(c, f->elem, td, host);
    for (int i = 0; i < n; i++)
      e[i] = struct_value(c, f->elem, elems + (size_t)i * f->elem->size, td, host, model);
  } else {
    t = field_type(c, f->elem_kind);
    for (int i = 0; i < n; i++) {
      AbiField one = {.kind = f->elem_kind, .offset = (size_t)i * abi_elem_size(f)};
      e[i] = scalar_value(c, f->elem_kind, &one, elems);
    }
  }
  return LLVMConstBitCast(private_const(c, LLVMConstArray(t, e, (unsigned)n), ".table"), c->pi8);
}

static LLVMValueRef struct_value(LC *c, const AbiStruct *s, const void *v, LLVMTargetDataRef td,
                                 bool host, const char *model) {
  LLVMValueRef e[64];
  for (int i = 0; i < s->nfields; i++) {
    const AbiField *f = &s->fields[i];
    if (f->kind == AF_TABLE)
      e[i] = table_value(c, s, f, v, td, host, model);
    else if (f->kind == AF_FN)
      e[i] = !abi_fn_defined(v, f) ? LLVMConstNull(c->pi8)
             : LLVMConstBitCast(
                   LLVMGetNamedFunction(c->mod, arena_printf(c->u->a, "%s_%s", model, f->fn)),
                   c->pi8);
    else
      e[i] = scalar_value(c, f->kind, f, v);
  }
  return LLVMConstNamedStruct(struct_type(c, s, td, host), e, (unsigned)s->nfields);
}

static LLVMValueRef info_global(LC *c, const MtlModelInfo *m, LLVMTargetDataRef td, bool host) {
  LLVMValueRef init = struct_value(c, &abi_model_info, m, td, host, m->name);
  LLVMValueRef g = LLVMAddGlobal(c->mod, LLVMTypeOf(init), arena_printf(c->u->a, "%s_info", m->name));
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, 1);
  return g;
}

/* a member of NAME_info, loaded */
static LLVMValueRef info_member(LC *c, LLVMValueRef info, const char *name, LLVMTypeRef t) {
  const AbiStruct *s = &abi_model_info;
  for (int i = 0; i < s->nfields; i++)
    if (!strcmp(s->fields[i].name, name)) {
      LLVMValueRef p = LLVMBuildStructGEP2(c->b, LLVMGetElementType(LLVMTypeOf(info)), info,
                                           (unsigned)i, "");
      return LLVMBuildLoad2(c->b, t, p, "");
    }
  unreachable();
  return NULL;
}

/* NAME_init: zero, then the runtime's initialization of each group from
 * NAME_info's tables */
static void init_body(LC *c, LLVMValueRef f, LLVMValueRef info, const MtlModelInfo *m) {
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->ctx, f, "entry"));
  LLVMValueRef params = LLVMGetParam(f, 0), stats = LLVMGetParam(f, 1), seed = LLVMGetParam(f, 2);
  LLVMBuildMemSet(c->b, params, LLVMConstInt(c->i8, 0, 0),
                  LLVMConstInt(c->i64, (unsigned long long)(m->n_params * 4), 0), 16);
  if (m->n_stats)
    LLVMBuildMemSet(c->b, stats, LLVMConstInt(c->i8, 0, 0),
                    LLVMConstInt(c->i64, (unsigned long long)(m->n_stats * 4), 0), 16);
  LLVMTypeRef it[4] = {c->pi8, c->i32, c->pf32, c->i64};
  LLVMValueRef fn = fn_decl(c, "mtl_init_tensors", c->vd, it, 4);
  const char *groups[2][2] = {{"param_tensors", "n_param_tensors"}, {"stat_tensors", "n_stat_tensors"}};
  LLVMValueRef base[2] = {params, stats};
  for (int g = 0; g < 2; g++) {
    LLVMValueRef a[4] = {info_member(c, info, groups[g][0], c->pi8),
                         info_member(c, info, groups[g][1], c->i32), base[g], seed};
    call(c, fn, a, 4);
  }
  LLVMBuildRetVoid(c->b);
}

/* ---- the module ------------------------------------------------------------------------ */

/* The baseline CPU of another triple: LLVM calls it "generic", but
 * "generic-rv64" and "generic-rv32" for RISC-V (with the M, A, F, D and C
 * extensions of the usual RV64GC). */
static void generic_cpu(const char *triple, const char **cpu, const char **features) {
  *cpu = "generic", *features = "";
  if (!strncmp(triple, "riscv64", 7))
    *cpu = "generic-rv64", *features = "+m,+a,+f,+d,+c";
  else if (!strncmp(triple, "riscv32", 7))
    *cpu = "generic-rv32", *features = "+m,+a,+f,+d,+c";
}

/* Triples whose objects mtlc cannot make right: RISC-V Linux passes floats
 * in FP registers (lp64d, ilp32d), an ABI that LLVM 14's C API cannot ask
 * for (it has no call for the target options' ABI name), so its objects
 * would be soft-float ones that glibc's cannot link with. NULL, or why. */
static const char *unsupported(const char *triple) {
  if (!strncmp(triple, "riscv", 5) && strstr(triple, "linux"))
    return "RISC-V Linux objects need the lp64d/ilp32d ABI, which mtlc cannot ask LLVM 14 for "
           "through its C API; use a bare-metal triple (riscv64-unknown-elf, soft-float "
           "calling convention) or emit-c and the system's compiler";
  return NULL;
}

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
  const char *why = host ? NULL : unsupported(triple);
  if (why) {
    fprintf(stderr, "mtlc: target '%s': %s\n", triple_or_null, why);
    exit(1);
  }
  if (LLVMGetTargetFromTriple(triple, &target, &err)) {
    fprintf(stderr, "mtlc: LLVM: target '%s': %s\n", triple_or_null ? triple_or_null : triple, err);
    LLVMDisposeMessage(err);
    exit(1);
  }
  char *cpu = host ? LLVMGetHostCPUName() : NULL, *features = host ? LLVMGetHostCPUFeatures() : NULL;
  const char *any_cpu, *any_features;
  generic_cpu(triple, &any_cpu, &any_features);
  LLVMTargetMachineRef tm = LLVMCreateTargetMachine(
      target, triple, host ? cpu : any_cpu, host ? features : any_features,
      LLVMCodeGenLevelAggressive, LLVMRelocPIC, LLVMCodeModelDefault);
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

/* the module's context, types and target */
static void module_begin(LC *c, Unit *u, LLVMContextRef ctx, LLVMTargetMachineRef tm,
                         LLVMTargetDataRef *td) {
  *c = (LC){.ctx = ctx, .u = u};
  c->mod = LLVMModuleCreateWithNameInContext(u->m->name, ctx);
  *td = LLVMCreateTargetDataLayout(tm);
  char *triple = LLVMGetTargetMachineTriple(tm);
  LLVMSetTarget(c->mod, triple);
  LLVMDisposeMessage(triple);
  LLVMSetModuleDataLayout(c->mod, *td);
  c->b = LLVMCreateBuilderInContext(ctx);
  c->ab = LLVMCreateBuilderInContext(ctx);
  c->f32 = LLVMFloatTypeInContext(ctx), c->f64 = LLVMDoubleTypeInContext(ctx);
  c->i64 = LLVMInt64TypeInContext(ctx), c->i32 = LLVMInt32TypeInContext(ctx);
  c->i8 = LLVMInt8TypeInContext(ctx), c->i1 = LLVMInt1TypeInContext(ctx);
  c->vd = LLVMVoidTypeInContext(ctx);
  c->pf32 = LLVMPointerType(c->f32, 0), c->pi32 = LLVMPointerType(c->i32, 0);
  c->pi8 = LLVMPointerType(c->i8, 0), c->ppi8 = LLVMPointerType(c->pi8, 0);
  c->pf64 = LLVMPointerType(c->f64, 0), c->pi64 = LLVMPointerType(c->i64, 0);
}

/* the host's CPU and features on every function; verify; O3. tiles: the
 * inference-only module's generated GEMMs (kir/gemm.c), whose register tiles
 * are small loops over a local array: O3 runs without unrolling, so that the
 * loop vectorizer sees the tile's inner loop (unrolled first, it was
 * vectorized across the outer one with gathers, 28 times slower than gcc's
 * build of the same C); then the vectorized tile loops are unrolled fully and
 * SROA keeps the tile in registers. */
static void module_end(LC *c, LLVMTargetMachineRef tm, LLVMTargetDataRef td, bool host,
                       bool optimize, bool tiles) {
  if (host) {
    char *cpu = LLVMGetHostCPUName(), *features = LLVMGetHostCPUFeatures();
    for (LLVMValueRef f = LLVMGetFirstFunction(c->mod); f; f = LLVMGetNextFunction(f)) {
      if (LLVMIsDeclaration(f))
        continue;
      LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex,
                              LLVMCreateStringAttribute(c->ctx, "target-cpu", 10, cpu, (unsigned)strlen(cpu)));
      LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex,
                              LLVMCreateStringAttribute(c->ctx, "target-features", 15, features,
                                                        (unsigned)strlen(features)));
    }
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(features);
  }
  LLVMDisposeBuilder(c->b);
  LLVMDisposeBuilder(c->ab);
  LLVMDisposeTargetData(td);
  char *msg = NULL;
  if (LLVMVerifyModule(c->mod, LLVMReturnStatusAction, &msg)) {
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
    const char *env = getenv("MTLC_UNROLL");
    LLVMPassBuilderOptionsSetLoopUnrolling(po, !tiles && env && *env == '1');
    llvm_fail(LLVMRunPasses(c->mod, "default<O3>", tm, po), "optimizing");
    if (tiles)
      llvm_fail(LLVMRunPasses(c->mod, "function(loop-unroll<O3>,sroa,instcombine,gvn,simplifycfg)", tm, po),
                "unrolling the register tiles");
    LLVMDisposePassBuilderOptions(po);
  }
}

/* ---- the inference-only module (kir/infer.c) ------------------------------------------- */

/* a call's actual buffer: the weights global, the workspace, the structs */
static LLVMValueRef infer_buf(LC *c, const Infer *inf, LLVMValueRef w, LLVMValueRef in,
                              LLVMValueRef out, LLVMValueRef ws, const Buf *b) {
  LLVMTypeRef t = b->dtype == DT_I32 ? c->pi32 : c->pf32;
  switch (b->kind) {
  case BUF_PARAM: case BUF_STAT: {
    const InferWeight *iw = infer_weight_of(inf, b);
    MTLC_ASSERT(iw);
    return gep(c, c->f32, w, iw->offset);
  }
  case BUF_ACT: return LLVMBuildBitCast(c->b, gep(c, c->f32, ws, inf->p->offset[b->id]), t, "");
  case BUF_DATA:
    return LLVMBuildBitCast(c->b, gep(c, c->i8, in, ((InferInput *)inf->inputs.data[b->index])->offset), t, "");
  case BUF_OUT:
    return LLVMBuildBitCast(c->b, gep(c, c->i8, out, ((InferOutput *)inf->outputs.data[b->index])->offset), t, "");
  case BUF_CONST: return const_table(c, b);
  default: unreachable(); return NULL;
  }
}

LLVMModuleRef emit_llvm_infer(Infer *inf, const float *weights, LLVMContextRef ctx,
                              LLVMTargetMachineRef tm, bool host) {
  LC c;
  LLVMTargetDataRef td;
  Unit *u = inf->u;
  module_begin(&c, u, ctx, tm, &td);
  for (int i = 0; i < u->kernels.len; i++) {
    Kernel *k = u->kernels.data[i];
    k->backend = kernel(&c, k);
  }
  int64_t n = inf->n_weights ? inf->n_weights : 1;
  LLVMValueRef *v = arena_alloc(u->a, sizeof(LLVMValueRef) * (size_t)n);
  for (int64_t i = 0; i < n; i++)
    v[i] = LLVMConstReal(c.f32, inf->n_weights ? (double)weights[i] : 0.0);
  LLVMValueRef wg = private_const(&c, LLVMConstArray(c.f32, v, (unsigned)n),
                                  arena_printf(u->a, "%s_w", u->m->name));
  LLVMSetAlignment(wg, 64);
  LLVMTypeRef args[3] = {c.pi8, c.pi8, c.pi8};
  LLVMValueRef f = entry(&c, arena_printf(u->a, "%s_predict", u->m->name), args, 3);
  LLVMPositionBuilderAtEnd(c.b, LLVMAppendBasicBlockInContext(ctx, f, "entry"));
  LLVMValueRef w = LLVMConstBitCast(wg, c.pf32), ws = LLVMBuildBitCast(c.b, LLVMGetParam(f, 2), c.pf32, "");
  for (int i = 0; i < inf->p->calls.len; i++) {
    const KCall *kc = inf->p->calls.data[i];
    LLVMValueRef a[MAX_KERNEL_PARAMS];
    MTLC_ASSERT(!kc->k->uses_batch && !kc->k->uses_seed);
    for (int j = 0; j < kc->k->nparams; j++)
      a[j] = infer_buf(&c, inf, w, LLVMGetParam(f, 0), LLVMGetParam(f, 1), ws, kc->args[j]);
    call(&c, kc->k->backend, a, kc->k->nparams);
  }
  LLVMBuildRetVoid(c.b);
  module_end(&c, tm, td, host, true, true);
  return c.mod;
}

/* ---- the training module ------------------------------------------------------------------ */

LLVMModuleRef emit_llvm(Unit *m, LLVMContextRef ctx, LLVMTargetMachineRef tm, bool host,
                        bool optimize) {
  LC c;
  LLVMTargetDataRef td;
  module_begin(&c, m, ctx, tm, &td);
  LLVMTypeRef ppf32 = LLVMPointerType(c.pf32, 0);
  const char *n = m->m->name;
  MtlModelInfo *info = unit_info(m);

  /* the kernels, the entry points (init's body after NAME_info, which names
   * it and which it reads), then NAME_info */
  for (int i = 0; i < m->kernels.len; i++) {
    Kernel *k = m->kernels.data[i];
    k->backend = kernel(&c, k);
  }
  LLVMTypeRef in[3] = {c.pf32, c.pf32, c.i64};
  LLVMValueRef init = entry(&c, arena_printf(m->a, "%s_init", n), in, 3);
  LLVMTypeRef tr[11] = {c.pf32, c.pf32, c.pf32, c.pf32, c.pf32, c.ppi8, c.i64, c.pf32, c.i64, c.pf32,
                        c.pf32};
  Program *t = m->train;
  if (m->m->balance.kind == MTL_BAL_STATIC) {
    program(&c, t, 0, t->calls.len, entry(&c, arena_printf(m->a, "%s_train_step", n), tr, 10),
            bind_train);
  } else { /* two phases around the runtime's balancer */
    program(&c, t, 0, t->split, entry(&c, arena_printf(m->a, "%s_train_begin", n), tr, 11),
            bind_train);
    program(&c, t, t->split, t->calls.len,
            entry(&c, arena_printf(m->a, "%s_train_end", n), tr, 11), bind_train);
  }
  if (m->grad) { /* the halves of data parallelism */
    program(&c, m->grad, 0, m->grad->calls.len,
            entry(&c, arena_printf(m->a, "%s_grad_step", n), tr, 10), bind_train);
    program(&c, m->update, 0, m->update->calls.len,
            entry(&c, arena_printf(m->a, "%s_update_step", n), tr, 10), bind_train);
  }
  LLVMTypeRef ev[7] = {c.pf32, c.pf32, c.pf32, c.ppi8, c.i64, c.pf32, ppf32};
  program(&c, m->eval, 0, m->eval->calls.len,
          entry(&c, arena_printf(m->a, "%s_eval_step", n), ev, 7), bind_eval);
  LLVMTypeRef fw[6] = {c.pf32, c.pf32, c.pf32, c.ppi8, c.i64, ppf32};
  program(&c, m->forward, 0, m->forward->calls.len,
          entry(&c, arena_printf(m->a, "%s_forward", n), fw, 6), bind_forward);
  LLVMValueRef info_g = info_global(&c, info, td, host);
  init_body(&c, init, info_g, info);
  module_end(&c, tm, td, host, optimize, false);
  return c.mod;
}
