/* back/back.h: the back ends: standalone C, and LLVM (a JIT in process, or
 * .ll and object files); the model's self-description they share. */
#ifndef MTLC_BACK_H
#define MTLC_BACK_H
#include "kir/kir.h"

/* ---- modinfo.c: the module's MtlModelInfo, entry points left NULL ---------------- */
MtlModelInfo *module_info(Module *mod);

/* ---- emit_c.c --------------------------------------------------------------------- */
/* Writes DIR/NAME.c and DIR/NAME.h; with_main adds DIR/main.c. Returns false
 * after printing an error. `cmdline` goes in the front matter. */
bool emit_c(Module *mod, const char *dir, bool with_main, const char *cmdline);

/* only NAME.h, beside an object file from the LLVM back end */
bool emit_c_header(Module *mod, const char *dir, const char *cmdline);

/* ---- llvmload.c: the LLVM back end (jit.c, in libmtlc-llvm.so), loaded on use ----- */
/* seconds spent building and optimizing the module, and in the JIT */
const MtlModelInfo *jit_load(Module *mod, double *codegen_s, double *jit_s);
/* textual IR, or (obj) an object file for the host or `triple` */
bool emit_llvm_file(Module *mod, const char *path, bool obj, const char *triple,
                    const char *cmdline);

/* ---- cbuild.c: compile the C and load it ------------------------------------------- */
const MtlModelInfo *cbuild_load(Module *mod, const char *cmdline, bool verbose);

#endif
