/* mtl_balance.h: balancing the tasks at run time (LANGUAGE.md version 1,
 * `balance:`; the methods are runtime/mtl_balance.def). A model balanced by
 * a method other than static trains in two phases a step (mtl_model.h):
 * train_begin runs the forward pass and, for a gradient method, each task's
 * backward pass to the shared parameters (or to a shared block's output)
 * and their Gramian; then the balancer reads the losses and the Gramian,
 * runs the method's solver in double precision, and hands train_end the
 * weights in hyper[]; train_end combines, runs the rest of the backward pass
 * and the update. The balancer allocates once, at mtl_balancer_new; a step
 * allocates nothing. Its state (DWA's loss history, GradNorm's initial
 * losses, FAMO's logits and their Adam moments, Nash-MTL's last weights,
 * the random stream of RLW and PCGrad) goes into checkpoints as 64-bit
 * words, so that resuming is bit for bit. Definitions follow LibMTL's
 * weighting/ files; specs/README.md says where and why they depart. */
#ifndef MTL_BALANCE_H
#define MTL_BALANCE_H

#include <stdbool.h>
#include <stdint.h>

#include "mtl_model.h"

typedef struct MtlBalancer MtlBalancer;

/* the method's name as a spec writes it; mgda(on=) for MGDA-UB */
const char *mtl_balance_name(MtlBalanceKind k);
/* what the method needs (mtl_balance.def's NEEDS): 0 the tasks' losses,
 * 1 their gradients of the shared parameters, 2 of a shared block's output */
int mtl_balance_needs(MtlBalanceKind k);
/* NULL with mtl_error() set when out of memory; the model's own seed
 * seeds the random stream */
MtlBalancer *mtl_balancer_new(const MtlModelInfo *m);
void mtl_balancer_free(MtlBalancer *b);

/* One training step's buffers, as train_step takes them. hyper[] has
 * n_hyper floats: the caller sets the learning rate and Adam's corrections,
 * the balancer the rest. step is 1-based and global, epoch 0-based. */
typedef struct {
  float *params, *grads, *state, *stats, *act;
  const void *const *data;
  int64_t B;
  float *hyper;
  uint64_t seed;
  float *losses; /* the step's per-task losses, before its update */
  int64_t step, epoch;
} MtlStep;

/* One step: the model's train_step (static), or its two phases around the
 * method. Returns false with mtl_error() set, the update not made, when a
 * task's loss or gradient is not finite (naming the task and the step). */
bool mtl_balance_step(MtlBalancer *b, const MtlStep *s);

/* Data parallel (mtl_dist.c): the step on this rank's shard, the losses
 * made the global batch's before the method reads them (losses); under a
 * gradient method, the Gramian made the global batch's too (gram: the
 * tasks' vectors train_begin left in act[] summed over the ranks, their
 * Gramian into bal[]); and train_end's work done by the caller (finish:
 * grad_step, the gradients' sum over the ranks, update_step). Each
 * returns false with mtl_error() set. */
typedef struct {
  void *ctx;
  bool (*losses)(void *ctx, float *losses);
  bool (*gram)(void *ctx, const MtlStep *s, float *bal);
  bool (*finish)(void *ctx, const MtlStep *s);
} MtlBalanceHooks;
bool mtl_balance_step_hooked(MtlBalancer *b, const MtlStep *s, const MtlBalanceHooks *h);
/* the last step's weights, per task: the coefficient of the task's
 * gradient in the update of the shared parameters (for a loss-based
 * method, its loss's weight) */
const double *mtl_balance_weights(const MtlBalancer *b);
/* the end of an epoch, with its per-sample mean train losses */
void mtl_balance_epoch_end(MtlBalancer *b, const double *mean_loss);

/* The state a checkpoint keeps: at most MTL_BALANCE_STATE_MAX words. */
#define MTL_BALANCE_STATE_MAX (16 + 8 * 64)
int mtl_balance_save(const MtlBalancer *b, uint64_t *words);
/* false with mtl_error() set (naming `path`) when the words do not fit the
 * model's method and task count */
bool mtl_balance_load(MtlBalancer *b, const uint64_t *words, int n, const char *path);

/* ---- the solvers, in double precision (mtl_solve.c) --------------------------
 * G is a T x T Gramian, row-major, T <= 64; work has room for
 * MTL_SOLVE_WORK(T) doubles. Each returns the iterations it took, or -1
 * when it found no solution (the caller keeps its previous weights). */
#define MTL_SOLVE_WORK(T) (8 * (T) * (T) + 16 * (T) + 16)

/* MGDA's two-vector step (LibMTL's _min_norm_element_from2): the gamma of
 * the min-norm point gamma v1 + (1 - gamma) v2, clamped to [0.001, 0.999]
 * at the ends; its squared norm in *cost */
double mtl_mgda_pair(double v11, double v12, double v22, double *cost);
/* LibMTL's MGDA: the best pair, then (T > 2) at most 250 projected steps
 * with line search, stopping when the L1 change is below 1e-5; from the
 * best pair's point, or (start != NULL) from start */
int mtl_mgda_solve(const double *G, int T, const double *start, double *sol, double *work);
/* PCGrad's projections as coefficients: out[j] is 1 minus what the other
 * gradients' projections took of g_j; order[i * T ..] is the random order
 * task i visits the others in */
void mtl_pcgrad_coefs(const double *G, int T, const int *order, double *out);
/* CAGrad's inner problem: x on the simplex minimizing
 * x' G b + c sqrt(x' G x + 1e-8), b = 1/T; active-set Newton until its step
 * is below 1e-12 (largest component) and no bound variable should be
 * freed, at most 200 iterations */
int mtl_cagrad_solve(const double *G, int T, double c, double *x, double *work);
/* IMTL-G's closed form: alpha with sum 1 from the Gramian */
int mtl_imtl_solve(const double *G, int T, double *alpha, double *work);
/* Aligned-MTL: alpha = column sums of sqrt(lambda_min) V S^-1 V' over the
 * eigenvalues above max(lambda) T FLT_EPSILON (cyclic Jacobi, to an
 * off-diagonal norm below 1e-15 of the whole, at most 100 sweeps) */
int mtl_aligned_solve(const double *G, int T, double *alpha, double *work);
/* the symmetric eigenproblem: A = V diag(lambda) V', V's columns */
int mtl_sym_eigen(const double *A, int T, double *lambda, double *V, double *work);
/* Nash-MTL's weights as LibMTL computes them: at most max_iter convex
 * approximations of the bargaining problem, each solved by a log-barrier
 * Newton method to a duality gap below 1e-12 (at most 40 barrier steps of
 * at most 60 Newton steps); alpha holds the previous weights on entry */
int mtl_nash_solve(const double *G, int T, int max_iter, double *alpha, double *work);
/* one convex step of Nash-MTL: minimize c'a subject to
 * log(nf a_i) + log((Gn a)_i) >= 0, a >= 0 */
int mtl_nash_step(const double *Gn, int T, double nf, const double *prev, double *a, double *work);
/* UPGrad's projection: v minimizing v' Q v subject to v >= u, Q positive
 * definite; active set (Lawson-Hanson), exact, at most 3T + 30 steps */
int mtl_box_qp(const double *Q, const double *u, int T, double *v, double *work);
/* solves A x = b (n x n, row-major, destroyed) by Gaussian elimination with
 * partial pivoting; false when A is singular */
bool mtl_solve_linear(double *A, double *b, int n);

#endif
