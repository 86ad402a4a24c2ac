/* back/back.h: the back ends, which render a unit's kernels and programs:
 * standalone C (emit_c.c; cbuild.c compiles and loads it), and LLVM
 * (emit_llvm.c: a JIT in process, or .ll and object files; built into
 * libmtlc-llvm.so and loaded on use by llvmload.c); and the model's
 * self-description they share (modinfo.c, described by abi.c). */
#ifndef MTLC_BACK_H
#define MTLC_BACK_H
#include "kir/kir.h"

/* ---- modinfo.c: the unit's MtlModelInfo, entry points left NULL ---------------- */
MtlModelInfo *unit_info(Unit *u);

/* ---- emit_c.c --------------------------------------------------------------------- */
/* Writes DIR/NAME.c and DIR/NAME.h; with_main adds DIR/main.c: all whole or
 * none replaced (runtime/mtl_write.c). Returns false after printing an
 * error. `cmdline` goes in the front matter. */
bool emit_c(Unit *u, const char *dir, bool with_main, const char *cmdline);

/* PATH (p[0, n): the LLVM back end's object file or IR) and NAME.h beside
 * it, written together: both whole, or neither. */
bool emit_c_with_header(Unit *u, const char *path, const void *p, size_t n, const char *cmdline);

/* ---- llvmload.c: the LLVM back end (jit.c, in libmtlc-llvm.so), loaded on use ----- */
/* seconds spent building and optimizing the module, and in the JIT */
const MtlModelInfo *jit_load(Unit *u, double *codegen_s, double *jit_s);
/* textual IR, or (obj) an object file for the host or `triple` */
bool emit_llvm_file(Unit *u, const char *path, bool obj, const char *triple,
                    const char *cmdline);

/* ---- cbuild.c: compile the C and load it ------------------------------------------- */
const MtlModelInfo *cbuild_load(Unit *u, const char *cmdline, bool verbose);
/* false, after an error, when a symbol the model's code exports (NAME_init,
 * ...) is one that libc, libm, OpenBLAS or the runtime defines */
bool exports_free(Unit *u);

#endif
