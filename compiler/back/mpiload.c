/* mpiload.c: MPI lives in its own shared object, build/libmtlc-mpi.so
 * (runtime/mtl_mpi.c, built with mpicc), loaded only when mtlc runs under
 * an MPI launcher: plain `mtlc train` needs neither a launcher nor the
 * MPI library installed. A launcher is known by what it puts in the
 * environment: Open MPI's OMPI_COMM_WORLD_SIZE, MPICH's PMI_SIZE, PMIx's
 * PMIX_RANK (Slurm's srun). */
#include "back/mpiload.h"
#include "back/back.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool under_launcher(void) {
  static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", NULL};
  for (int i = 0; vars[i]; i++)
    if (getenv(vars[i]))
      return true;
  return false;
}

const MtlComm *mpi_launched(bool *ok) {
  *ok = true;
  if (!under_launcher())
    return NULL;
  const char *path = mtlc_mpi_lib();
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
