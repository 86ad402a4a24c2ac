/* mtl_mpi.c: the communicator of mtl_dist.h over MPI_COMM_WORLD. The only
 * file that includes <mpi.h>: built with mpicc into build/libmtlc-mpi.so
 * (which mtlc loads when it runs under mpirun), or compiled into a
 * standalone trainer with -DMTL_MPI. Errors keep MPI's default handler,
 * MPI_ERRORS_ARE_FATAL: a rank that dies ends the job. */
#include "mtl_dist.h"

#include <limits.h>
#include <mpi.h>

static MtlComm comm;

static bool bcast(void *buf, int64_t bytes) {
  char *p = buf;
  for (int64_t done = 0; done < bytes;) {
    int n = bytes - done > INT_MAX ? INT_MAX : (int)(bytes - done);
    if (MPI_Bcast(p + done, n, MPI_BYTE, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
      return false;
    done += n;
  }
  return true;
}

static bool allreduce_sum(float *buf, int64_t n) {
  for (int64_t done = 0; done < n;) {
    int k = n - done > INT_MAX ? INT_MAX : (int)(n - done);
    if (MPI_Allreduce(MPI_IN_PLACE, buf + done, k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD) !=
        MPI_SUCCESS)
      return false;
    done += k;
  }
  return true;
}

static bool allgather_u64(uint64_t mine, uint64_t *all) {
  return MPI_Allgather(&mine, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, MPI_COMM_WORLD) ==
         MPI_SUCCESS;
}

static void abort_job(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

static void finish(void) {
  int done = 0;
  MPI_Finalized(&done);
  if (!done)
    MPI_Finalize();
}

const MtlComm *mtl_mpi_comm(void) {
  int inited = 0;
  MPI_Initialized(&inited);
  if (!inited && MPI_Init(NULL, NULL) != MPI_SUCCESS)
    return NULL;
  MPI_Comm_rank(MPI_COMM_WORLD, &comm.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &comm.size);
  comm.bcast = bcast;
  comm.allreduce_sum = allreduce_sum;
  comm.allgather_u64 = allgather_u64;
  comm.abort = abort_job;
  comm.finish = finish;
  return &comm;
}
