/* llvm_backend.h: what emit_llvm.c offers jit.c. Kept out of mtlc.h so that
 * only these two files see the LLVM C API. */
#ifndef LLVM_BACKEND_H
#define LLVM_BACKEND_H
#include "back/back.h"

#include <llvm-c/Error.h>
#include <llvm-c/TargetMachine.h>

/* prints LLVM's message and exits 1 when err is set */
void llvm_fail(LLVMErrorRef err, const char *what);
/* the host's target machine (NULL triple), or another triple's */
LLVMTargetMachineRef llvm_target_machine(const char *triple_or_null);
/* the module for `m`, verified, and optimized at O3 when asked */
LLVMModuleRef emit_llvm(Unit *m, LLVMContextRef ctx, LLVMTargetMachineRef tm, bool host,
                        bool optimize);
/* the inference-only module: NAME_predict(in, out, workspace), weights embedded */
LLVMModuleRef emit_llvm_infer(Infer *inf, const float *weights, LLVMContextRef ctx,
                              LLVMTargetMachineRef tm, bool host);
/* the entry points llvmload.c looks up */
const MtlModelInfo *llvm_jit_load(Unit *u, double *codegen_s, double *jit_s);
bool llvm_emit_file(Unit *u, const char *path, bool obj, const char *triple,
                    const char *cmdline);
bool llvm_emit_infer_file(Infer *inf, const float *weights, const char *path, bool obj,
                          const char *triple, const char *cmdline);
#endif
