/* llvmload.c: the LLVM back end lives in its own shared object,
 * build/libmtlc-llvm.so (emit_llvm.c and jit.c), loaded on first use.
 * libLLVM is large: linking it into mtlc cost every start about 15 ms of
 * relocations, so `mtlc check` paid for a JIT it never ran. The object's
 * calls back into mtlc (module_info, the arena, ...) resolve against this
 * executable, which exports its symbols. */
#include "back/back.h"

#include <dlfcn.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

typedef const MtlModelInfo *JitLoadFn(Unit *, double *, double *);
typedef bool EmitLlvmFn(Unit *, const char *, bool, const char *, const char *);
typedef bool EmitInferFn(Infer *, const float *, const char *, bool, const char *, const char *);

/* $MTLC_LLVM_LIB, else beside the mtlc executable (paths.c) */
static void *backend(void) {
  static void *h;
  if (h)
    return h;
  const char *path = mtlc_llvm_lib();
  h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    fprintf(stderr, "mtlc: cannot load the LLVM back end: %s\n", dlerror());
    exit(1);
  }
  return h;
}

static void *symbol(const char *name) {
  void *p = dlsym(backend(), name);
  if (!p) {
    fprintf(stderr, "mtlc: the LLVM back end has no %s\n", name);
    exit(1);
  }
  return p;
}

const MtlModelInfo *jit_load(Unit *u, double *codegen_s, double *jit_s) {
  JitLoadFn *f = (JitLoadFn *)symbol("llvm_jit_load");
  return f(u, codegen_s, jit_s);
}

bool emit_llvm_file(Unit *u, const char *path, bool obj, const char *triple,
                    const char *cmdline) {
  EmitLlvmFn *f = (EmitLlvmFn *)symbol("llvm_emit_file");
  return f(u, path, obj, triple, cmdline);
}

bool emit_llvm_infer_file(Infer *inf, const float *weights, const char *path, bool obj,
                          const char *triple, const char *cmdline) {
  EmitInferFn *f = (EmitInferFn *)symbol("llvm_emit_infer_file");
  return f(inf, weights, path, obj, triple, cmdline);
}
