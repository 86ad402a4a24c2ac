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
/* pieces the inference-only emitter shares: a kernel as a static C
 * function, the small inline helpers kernels call, a float literal, the
 * one writer of mtlc's outputs, a folder made when missing */
void emitc_kernel(FILE *out, const Kernel *k);
void emitc_helpers(FILE *out);
/* only those the kernels use (clang warns of an unused static inline) */
void emitc_helpers_used(FILE *out, const Vec *kernels);
void emitc_float(FILE *out, double f);
/* an output file: rendered by body(f, ctx), or (body NULL) bytes[0, n) */
typedef struct {
  const char *path;
  void (*body)(FILE *, void *);
  void *ctx;
  const void *bytes;
  size_t n;
} EmitFile;
/* Renders up to 4 files in memory, then writes them together through
 * runtime/mtl_write.c: all whole, or none replaced. False after printing
 * an error. */
bool emitc_write_files(EmitFile *files, int n);
bool emitc_mkdir(const char *dir);
/* PATH's folder: "." without a slash, "" for one at the root */
const char *emitc_dir_of(Arena *a, const char *path);

/* ---- emit_infer.c: the inference-only form, for deployment ----------------------- */
/* DIR/NAME.c and DIR/NAME.h: NAME_predict and what it needs, C99 and the
 * standard headers alone. weights: the inference weights (inf->n_weights
 * floats) to embed as static const arrays, or with blob to write as
 * DIR/NAME.bin; NULL: none (the caller passes a blob at run time). All
 * whole, or none replaced. */
bool emit_infer_c(Infer *inf, const char *dir, const float *weights, bool blob,
                  const char *cmdline);
/* PATH (p[0, n): an object file or IR from emit-llvm --infer) and NAME.h
 * beside it, written together: both whole, or neither */
bool emit_infer_with_header(Infer *inf, const char *path, const void *p, size_t n,
                            const char *cmdline);
/* the blob's bytes: a 32-byte header (magic, version, byte order, the
 * layout's hash, the count), then the floats, little-endian */
#define MTL_BLOB_HEADER 32

/* ---- llvmload.c: the LLVM back end (jit.c, in libmtlc-llvm.so), loaded on use ----- */
/* seconds spent building and optimizing the module, and in the JIT */
const MtlModelInfo *jit_load(Unit *u, double *codegen_s, double *jit_s);
/* textual IR, or (obj) an object file for the host or `triple` */
bool emit_llvm_file(Unit *u, const char *path, bool obj, const char *triple,
                    const char *cmdline);

/* ---- paths.c: the runtime's headers and the LLVM back end, found beside mtlc ---------- */
const char *mtlc_runtime_dir(void); /* the folder of mtl_kernel.h, mtl_model.h */
const char *mtlc_llvm_lib(void);    /* libmtlc-llvm.so */
const char *mtlc_mpi_lib(void);     /* libmtlc-mpi.so */

/* the inference-only form (emit-llvm --infer): object code or text at path,
 * weights embedded, NAME.h beside it */
bool emit_llvm_infer_file(Infer *inf, const float *weights, const char *path, bool obj,
                          const char *triple, const char *cmdline);

/* ---- cbuild.c: compile the C and load it ------------------------------------------- */
const MtlModelInfo *cbuild_load(Unit *u, const char *cmdline, bool verbose);
/* false, after an error, when a symbol the model's code exports (NAME_ and
 * each of exports: kir_exports, infer_exports) is one that libc, libm,
 * OpenBLAS or the runtime defines, or its NAME.h would hide a header */
bool exports_free(Unit *u, const char *const *exports);
/* cc FLAGS -fPIC -shared: DIR/NAME.c to DIR/NAME.so; false after printing
 * the compiler's output */
bool cbuild_so(Arena *a, const char *dir, const char *name, const char *flags, bool verbose);
/* removes what cbuild_so and the emitters left in DIR, and DIR */
void cbuild_clean(Arena *a, const char *dir, const char *name);

#endif
