/* mpiload.c: MPI lives in its own shared object, build/libmtlc-mpi.so
 * (runtime/mtl_mpi.c, built with mpicc), loaded only when mtlc runs under
 * an MPI launcher: plain `mtlc train` needs neither a launcher nor the
 * MPI library installed. A launcher is known by what it puts in the
 * environment: Open MPI's OMPI_COMM_WORLD_SIZE, MPICH's PMI_SIZE, PMIx's
 * PMIX_RANK (Slurm's srun). */
#include "back/mpiload.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef MTLC_LIB_DIR
#define MTLC_LIB_DIR "build"
#endif

static bool under_launcher(void) {
  static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", NULL};
  for (int i = 0; vars[i]; i++)
    if (getenv(vars[i]))
      return true;
  return false;
}

/* $MTLC_MPI_LIB, else beside the mtlc executable, else where it was built */
static void lib_path(char *path, size_t cap) {
  const char *env = getenv("MTLC_MPI_LIB");
  if (env && *env) {
    snprintf(path, cap, "%s", env);
    return;
  }
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  *path = '\0';
  if (n > 0) {
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
      *slash = '\0';
    snprintf(path, cap, "%s/libmtlc-mpi.so", self);
  }
  if (!*path || access(path, R_OK) != 0)
    snprintf(path, cap, "%s/libmtlc-mpi.so", MTLC_LIB_DIR);
}

const MtlComm *mpi_launched(bool *ok) {
  *ok = true;
  if (!under_launcher())
    return NULL;
  char path[PATH_MAX + 32];
  lib_path(path, sizeof path);
  /* global: Open MPI's own plugins resolve against libmpi */
  void *h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
  typedef const MtlComm *CommFn(void);
  CommFn *f = h ? (CommFn *)dlsym(h, "mtl_mpi_comm") : NULL;
  const MtlComm *c = f ? f() : NULL;
  if (!c) {
    fprintf(stderr, "mtlc: running under an MPI launcher, but cannot load MPI from %s: %s\n"
                    "(build it with 'make mpi', which needs libopenmpi-dev: tools/deps.sh --mpi)\n",
            path, h && f ? "MPI_Init failed" : dlerror());
    *ok = false;
  }
  return c;
}
