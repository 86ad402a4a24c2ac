/* mtl_dist.h: data-parallel training. A communicator (MtlComm) is what
 * the training loop needs of MPI, as functions: the runtime includes no MPI
 * header and links no MPI library. runtime/mtl_mpi.c makes one over
 * MPI_COMM_WORLD; mtlc loads it from build/libmtlc-mpi.so only when it runs
 * under mpirun, and a standalone trainer links it with -DMTL_MPI.
 *
 * Each step, every rank takes its share of the global batch (the spec's
 * batch, split as evenly as it goes: the first B % N ranks one sample
 * more), runs grad_step on it, scales its gradients and losses by its share
 * (n_r / B) and sums them over the ranks; every rank then applies the same
 * update_step. Rank 0's initial parameters, optimizer state, running
 * statistics, step and shuffle RNG are broadcast first, so the ranks start
 * and stay identical. */
#ifndef MTL_DIST_H
#define MTL_DIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtl_balance.h"
#include "mtl_model.h"

typedef struct MtlComm {
  int rank, size;
  /* rank 0's bytes to every rank */
  bool (*bcast)(void *buf, int64_t bytes);
  /* the elementwise sum over the ranks, in place, the same on every rank */
  bool (*allreduce_sum)(float *buf, int64_t n);
  /* every rank's value, by rank, into all[size] */
  bool (*allgather_u64)(uint64_t mine, uint64_t *all);
  /* ends every rank of the job (a fault after training started) */
  void (*abort)(int code);
  /* MPI_Finalize */
  void (*finish)(void);
} MtlComm;

/* The communicator of the job this process runs in (MPI_Init on first
 * call), from mtl_mpi.c: in libmtlc-mpi.so, or linked with -DMTL_MPI. */
const MtlComm *mtl_mpi_comm(void);

/* ---- what mtl_train.c calls (mtl_dist.c) ---------------------------------------- */

/* Before training, on every rank: the global batch B is at least the
 * number of ranks, and every rank has the same model and options (their
 * hash, compared). The same answer on every rank; false with mtl_error()
 * set (rank 0 prints it). */
bool mtl_dist_check(const MtlComm *c, const MtlModelInfo *m, uint64_t options_hash, int64_t B);
/* Whether every rank's `ok` is true; otherwise the first rank that failed,
 * in mtl_error() where ours did not. */
bool mtl_dist_agree(const MtlComm *c, bool ok);
/* This rank's share of a batch of B: samples [*from, *from + *n). */
void mtl_dist_shard(const MtlComm *c, int64_t B, int64_t *from, int64_t *n);
/* Rank 0's parameters, optimizer state, running statistics, step and RNG
 * state to every rank. */
bool mtl_dist_sync(const MtlComm *c, const MtlModelInfo *m, float *params, float *state,
                   float *stats, int64_t *step, uint64_t rng[4]);
/* Where a data-parallel run's time went, on this rank (MTL_DIST_STATS=1):
 * the allreduce calls of mtl_dist_step against whole steps of the loop. */
typedef struct MtlDistTimes {
  int64_t steps;
  int64_t floats;  /* reduced, summed over the steps */
  double reduce_s; /* in mtl_dist_step's allreduce calls */
  double step_s;   /* in whole steps (mtl_train's loop adds them) */
} MtlDistTimes;

/* One data-parallel step on this rank's n samples of the global batch B:
 * grad_step, the weighted sum of gradients, losses and running statistics
 * over the ranks, update_step. grads must be zeroed. losses[] (the tasks',
 * then the regularizers') come back as the global batch's. The allreduce
 * calls' time and floats go into *times (NULL: not measured). */
bool mtl_dist_step(const MtlComm *c, const MtlModelInfo *m, float *params, float *grads,
                   float *state, float *stats, float *act, const void *const *data, int64_t n,
                   int64_t B, const float *hyper, uint64_t step_seed, float *losses,
                   MtlDistTimes *times);
/* The same under a balance method that weighs losses (mtl_balance.h):
 * st is this rank's shard (st->B samples of the global batch B); the
 * balancer reads the global batch's losses, every rank computes the same
 * weights, and the gradients are summed as above before update_step. */
bool mtl_dist_balance_step(const MtlComm *c, const MtlModelInfo *m, MtlBalancer *b,
                           const MtlStep *st, int64_t B, MtlDistTimes *times);
/* Whether MTL_DIST_STATS asks for the line below (set, not empty or 0). */
bool mtl_dist_stats_wanted(void);
/* On rank 0, one line to stderr: ranks, steps, floats and bytes reduced
 * per step, allreduce time of step time (nothing without steps). */
void mtl_dist_report(const MtlComm *c, const MtlDistTimes *times);
/* Whether `mine` is true on any rank (Ctrl-C on one stops all at the same
 * step); the same answer on every rank. */
bool mtl_dist_any(const MtlComm *c, bool mine);
/* FNV-1a over bytes, chained from h (the options' and model's hash) */
uint64_t mtl_hash(uint64_t h, const void *p, size_t n);
uint64_t mtl_hash_str(uint64_t h, const char *s);

#endif
