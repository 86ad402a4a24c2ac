/* back/mpiload.h: MPI for data-parallel training, loaded only under a
 * launcher (mpiload.c). */
#ifndef MTLC_MPILOAD_H
#define MTLC_MPILOAD_H
#include <stdbool.h>

#include "mtl_dist.h"

/* NULL when this process was not started by an MPI launcher (mpirun,
 * mpiexec, srun); else the job's communicator from libmtlc-mpi.so, with
 * MPI initialized. *ok is false, after a message, when it runs under one
 * but cannot load MPI. */
const MtlComm *mpi_launched(bool *ok);

#endif
