/* back/paths.c: where mtlc finds what it needs at run time, relative to
 * its own executable, so that a build tree and an installed copy both work
 * and neither has the other's paths compiled in:
 *   build tree   ROOT/build/mtlc       ROOT/runtime/mtl_NAME.h, ROOT/build/libmtlc-llvm.so
 *   installed    PREFIX/bin/mtlc       PREFIX/include/mtlc/mtl_NAME.h,
 *                                      PREFIX/lib/mtlc/libmtlc-llvm.so
 * (and libmtlc-mpi.so beside libmtlc-llvm.so, when MPI was built).
 * $MTLC_RUNTIME (the headers' folder), $MTLC_LLVM_LIB (the back end's
 * file) and $MTLC_MPI_LIB override them. */
#include "back/back.h"

#include <limits.h>
#include <string.h>
#include <unistd.h>

/* the folder of the running executable, or "." */
static const char *exe_dir(void) {
  static char dir[PATH_MAX];
  if (!dir[0]) {
    ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
    dir[n > 0 ? n : 0] = '\0';
    char *slash = strrchr(dir, '/');
    if (slash)
      *slash = '\0';
    else
      strcpy(dir, ".");
  }
  return dir;
}

/* $env, else the first of the candidate folders (relative to the
 * executable's) that holds `file`: that folder (want_dir) or the file.
 * The first candidate when none does, for the error message. */
static const char *locate(const char *env, const char *const cands[2], const char *file,
                          bool want_dir, char *out, size_t cap) {
  const char *e = getenv(env);
  if (e && *e)
    return e;
  for (int i = 1; i >= 0; i--) {
    snprintf(out, cap, "%s/%s/%s", exe_dir(), cands[i], file);
    if (access(out, R_OK) == 0)
      break;
  }
  if (want_dir)
    *strrchr(out, '/') = '\0';
  return out;
}

const char *mtlc_runtime_dir(void) {
  static char path[PATH_MAX + 64];
  static const char *const cands[] = {"../include/mtlc", "../runtime"};
  return locate("MTLC_RUNTIME", cands, "mtl_kernel.h", true, path, sizeof path);
}

const char *mtlc_llvm_lib(void) {
  static char path[PATH_MAX + 64];
  static const char *const cands[] = {"../lib/mtlc", "."};
  return locate("MTLC_LLVM_LIB", cands, "libmtlc-llvm.so", false, path, sizeof path);
}

const char *mtlc_mpi_lib(void) {
  static char path[PATH_MAX + 64];
  static const char *const cands[] = {"../lib/mtlc", "."};
  return locate("MTLC_MPI_LIB", cands, "libmtlc-mpi.so", false, path, sizeof path);
}
