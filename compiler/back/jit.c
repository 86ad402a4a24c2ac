/* jit.c: runs the LLVM back end's module in process with ORC's LLJIT, and
 * writes it out for ahead-of-time use (`mtlc emit-llvm`: textual IR, or an
 * object file for the host or another triple, with the same NAME.h as the
 * C back end). The runtime is linked into mtlc and exported, so generated
 * code's calls to mtl_sgemm and friends resolve against this process.
 * Every LLVM error goes through llvm_fail: LLVM's message, exit 1. This
 * file and emit_llvm.c make build/libmtlc-llvm.so, which llvmload.c loads
 * on first use. */
#include "back/back.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <llvm-c/Core.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>

#include "back/llvm_backend.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void *lookup(LLVMOrcLLJITRef jit, const char *name) {
  LLVMOrcExecutorAddress addr = 0;
  llvm_fail(LLVMOrcLLJITLookup(jit, &addr, name), name);
  return (void *)(uintptr_t)addr;
}

const MtlModelInfo *llvm_jit_load(Unit *u, double *codegen_s, double *jit_s) {
  double t0 = now();
  LLVMOrcThreadSafeContextRef tsc = LLVMOrcCreateNewThreadSafeContext();
  LLVMContextRef ctx = LLVMOrcThreadSafeContextGetContext(tsc);
  LLVMTargetMachineRef tm = llvm_target_machine(NULL);
  LLVMModuleRef m = emit_llvm(u, ctx, tm, true, true);
  LLVMDisposeTargetMachine(tm);
  double t1 = now();

  LLVMOrcJITTargetMachineBuilderRef jtmb;
  llvm_fail(LLVMOrcJITTargetMachineBuilderDetectHost(&jtmb), "detecting the host");
  LLVMOrcLLJITBuilderRef builder = LLVMOrcCreateLLJITBuilder();
  LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, jtmb);
  LLVMOrcLLJITRef jit;
  llvm_fail(LLVMOrcCreateLLJIT(&jit, builder), "creating the JIT");
  LLVMOrcDefinitionGeneratorRef gen;
  llvm_fail(LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
                &gen, LLVMOrcLLJITGetGlobalPrefix(jit), NULL, NULL),
            "resolving the runtime's symbols");
  LLVMOrcJITDylibRef dylib = LLVMOrcLLJITGetMainJITDylib(jit);
  LLVMOrcJITDylibAddGenerator(dylib, gen);
  LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(m, tsc);
  LLVMOrcDisposeThreadSafeContext(tsc);
  llvm_fail(LLVMOrcLLJITAddLLVMIRModule(jit, dylib, tsm), "adding the module");

  /* the description is mtlc's own; the entry points are the JIT's. The
   * JIT stays alive for the rest of the process. */
  const char *n = u->m->name;
  MtlModelInfo *info = unit_info(u);
  MtlModelInfo proto; /* the entry points' types, from the struct */
  info->init = (__typeof__(proto.init))lookup(jit, arena_printf(u->a, "%s_init", n));
  if (u->grad) {
    info->grad_step = (__typeof__(proto.grad_step))lookup(jit, arena_printf(u->a, "%s_grad_step", n));
    info->update_step = (__typeof__(proto.update_step))lookup(jit, arena_printf(u->a, "%s_update_step", n));
  }
  if (u->m->balance.kind == MTL_BAL_STATIC) {
    info->train_step = (__typeof__(proto.train_step))lookup(jit, arena_printf(u->a, "%s_train_step", n));
  } else {
    info->train_begin = (__typeof__(proto.train_begin))lookup(jit, arena_printf(u->a, "%s_train_begin", n));
    info->train_end = (__typeof__(proto.train_end))lookup(jit, arena_printf(u->a, "%s_train_end", n));
  }
  info->eval_step = (__typeof__(proto.eval_step))lookup(jit, arena_printf(u->a, "%s_eval_step", n));
  info->forward = (__typeof__(proto.forward))lookup(jit, arena_printf(u->a, "%s_forward", n));
  double t2 = now();
  if (codegen_s)
    *codegen_s = t1 - t0;
  if (jit_s)
    *jit_s = t2 - t1;
  return info;
}

/* the module in memory: object code or text */
typedef struct {
  LLVMMemoryBufferRef buf;
  char *text;
  const void *p;
  size_t n;
} ModuleBytes;

static bool module_bytes(LLVMTargetMachineRef tm, LLVMModuleRef m, const char *path, bool obj,
                         ModuleBytes *b) {
  char *err = NULL;
  *b = (ModuleBytes){0};
  bool ok = obj ? !LLVMTargetMachineEmitToMemoryBuffer(tm, m, LLVMObjectFile, &err, &b->buf)
                : (b->text = LLVMPrintModuleToString(m)) != NULL;
  if (!ok)
    fprintf(stderr, "mtlc: %s: cannot generate the %s: %s\n", path, obj ? "object file" : "IR",
            err ? err : "out of memory");
  else if (obj)
    b->p = LLVMGetBufferStart(b->buf), b->n = LLVMGetBufferSize(b->buf);
  else
    b->p = b->text, b->n = strlen(b->text);
  LLVMDisposeMessage(err);
  return ok;
}

static void module_bytes_free(ModuleBytes *b) {
  if (b->buf)
    LLVMDisposeMemoryBuffer(b->buf);
  LLVMDisposeMessage(b->text);
}

/* In memory first, then PATH and its header written together by the one
 * writer of mtlc's outputs (emit_c.c, runtime/mtl_write.c): whole, or
 * neither. */
bool llvm_emit_infer_file(Infer *inf, const float *weights, const char *path, bool obj,
                          const char *triple, const char *cmdline) {
  LLVMContextRef ctx = LLVMContextCreate();
  LLVMTargetMachineRef tm = llvm_target_machine(triple);
  LLVMModuleRef m = emit_llvm_infer(inf, weights, ctx, tm, triple == NULL);
  ModuleBytes b;
  bool ok = module_bytes(tm, m, path, obj, &b) &&
            emit_infer_with_header(inf, path, b.p, b.n, cmdline);
  module_bytes_free(&b);
  LLVMDisposeModule(m);
  LLVMDisposeTargetMachine(tm);
  LLVMContextDispose(ctx);
  return ok;
}

bool llvm_emit_file(Unit *u, const char *path, bool obj, const char *triple,
                    const char *cmdline) {
  LLVMContextRef ctx = LLVMContextCreate();
  LLVMTargetMachineRef tm = llvm_target_machine(triple);
  LLVMModuleRef m = emit_llvm(u, ctx, tm, triple == NULL, true);
  ModuleBytes b;
  bool ok = module_bytes(tm, m, path, obj, &b) && emit_c_with_header(u, path, b.p, b.n, cmdline);
  module_bytes_free(&b);
  LLVMDisposeModule(m);
  LLVMDisposeTargetMachine(tm);
  LLVMContextDispose(ctx);
  return ok;
}
