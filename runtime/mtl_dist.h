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
/* ---- threads as ranks (mtl_team.c) ----------------------------------------------- */

/* A team of n threads of this process that train data parallel as n ranks
 * do, each worker with its own copy of the parameters, optimizer state,
 * statistics, activations, hyperparameters and balancer (worker 0's are
 * the caller's, `mine`), taking its share of every batch through
 * mtl_dist_step or mtl_dist_balance_step; their allreduce adds the
 * workers' buffers in worker order, so no result depends on the
 * scheduling. Worker 0 is the calling thread; the others wait in a pool.
 * NULL with mtl_error() set when the model does not fit (mtl_team_fits)
 * or the threads cannot start. */
typedef struct MtlTeam MtlTeam;
typedef struct {
  float *params, *grads, *state, *stats, *act, *hyper;
  MtlBalancer *bal;
} MtlTeamBufs;
/* whether n threads can train m at batch B: 2..64 threads, a sample each,
 * the step in halves (and a gradient method's Gramian table) */
bool mtl_team_fits(const MtlModelInfo *m, int64_t B, int n);
/* whether n threads train m at batch B faster as a team than as OpenBLAS's
 * threads inside one step: it fits, and the forward pass makes at least 4
 * FLOPs a sample for each parameter (convolutions and sequences reuse
 * their weights; a dense layer makes 2, and its whole-batch GEMMs split
 * better inside OpenBLAS than the team's sum of every gradient costs) */
bool mtl_team_pays(const MtlModelInfo *m, int64_t B, int n);
/* parent: the ranks of an MPI job, each process a team of n (every rank
 * the same n): worker w is rank parent->rank * n + w of parent->size * n,
 * and the workers' sum is summed over the ranks by worker 0; NULL: one
 * process */
MtlTeam *mtl_team_new(const MtlModelInfo *m, int n, const MtlTeamBufs *mine,
                      const MtlComm *parent);
void mtl_team_free(MtlTeam *t);
int mtl_team_size(const MtlTeam *t);
/* worker 0's parameters, state, statistics and balancer to the others:
 * before the first step, and after anything but a step changed them */
bool mtl_team_sync(MtlTeam *t);
/* the rows [*from, *from + *n) of a global batch of B that this process's
 * workers take (all of them in one process) */
void mtl_team_span(const MtlTeam *t, int64_t B, int64_t *from, int64_t *n);
/* One step of a global batch of B samples, data[] this process's rows of
 * it (mtl_team_span), worker 0's hyper[] the step's hyperparameters (under
 * static the tasks' weights go there): losses[] the global batch's;
 * worker 0's collectives counted in *times (NULL: not). False with
 * mtl_error() set. */
bool mtl_team_step(MtlTeam *t, const void *const *data, int64_t B, uint64_t seed, int64_t step,
                   int64_t epoch, float *losses, MtlDistTimes *times);

/* FNV-1a over bytes, chained from h (the options' and model's hash) */
uint64_t mtl_hash(uint64_t h, const void *p, size_t n);
uint64_t mtl_hash_str(uint64_t h, const char *s);

#endif
