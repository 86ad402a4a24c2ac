/* mtl_dist.c: data-parallel training over a communicator (mtl_dist.h):
 * the checks at start, the broadcast of rank 0's state, the shards and
 * the step. No MPI here: the communicator's functions are. */
#include "mtl.h"
#include "mtl_balance.h"
#include "mtl_dist.h"
#include "mtl_kernel.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

uint64_t mtl_hash(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    h = (h ^ b[i]) * FNV_PRIME;
  return h;
}

uint64_t mtl_hash_str(uint64_t h, const char *s) {
  return s ? mtl_hash(h, s, strlen(s) + 1) : mtl_hash(h, "", 0) * FNV_PRIME;
}

static uint64_t hash_tensors(uint64_t h, const MtlTensor *t, int n) {
  for (int i = 0; i < n; i++) {
    h = mtl_hash_str(h, t[i].name);
    h = mtl_hash(h, &t[i].offset, sizeof t[i].offset);
    h = mtl_hash(h, &t[i].numel, sizeof t[i].numel);
    h = mtl_hash(h, t[i].shape, sizeof t[i].shape);
  }
  return h;
}

/* all of the model's description the ranks must share: names, shapes,
 * recipe, data (mtl_model_hash, the checkpoints', is names and shapes) */
static uint64_t dist_model_hash(const MtlModelInfo *m) {
  uint64_t h = mtl_hash_str(FNV_OFFSET, m->name);
  int64_t sizes[] = {m->abi, m->batch_max, m->n_params, m->n_state, m->n_stats, m->n_act,
                     m->n_hyper, m->n_tasks, m->n_regs, m->optimizer, m->schedule, m->step_every,
                     m->batch, m->epochs, (int64_t)m->seed, m->n_gram_inputs};
  double reals[] = {m->lr, m->beta1, m->beta2, m->step_gamma};
  h = mtl_hash(h, sizes, sizeof sizes);
  h = mtl_hash(h, reals, sizeof reals);
  int32_t balance[] = {(int32_t)m->balance, m->n_balance_args}; /* dwa and rlw differ here only */
  h = mtl_hash(h, balance, sizeof balance);
  if (m->n_balance_args > 0)
    h = mtl_hash(h, m->balance_args, (size_t)m->n_balance_args * sizeof *m->balance_args);
  h = hash_tensors(h, m->param_tensors, m->n_param_tensors);
  h = hash_tensors(h, m->state_tensors, m->n_state_tensors);
  h = hash_tensors(h, m->stat_tensors, m->n_stat_tensors);
  for (int t = 0; t < m->n_tasks; t++) {
    h = mtl_hash_str(h, m->tasks[t].name);
    h = mtl_hash(h, &m->tasks[t].weight, sizeof m->tasks[t].weight);
    h = mtl_hash(h, &m->tasks[t].width, sizeof m->tasks[t].width);
  }
  for (int i = 0; i < m->n_bindings; i++) {
    const MtlBinding *b = &m->bindings[i];
    h = mtl_hash_str(mtl_hash_str(mtl_hash_str(h, b->split), b->name), b->path);
  }
  return h;
}

bool mtl_dist_agree(const MtlComm *c, bool ok) {
  uint64_t all[1024], *v = c->size <= 1024 ? all : calloc((size_t)c->size, sizeof *v);
  bool agreed = v && c->allgather_u64(ok, v);
  int bad = -1;
  for (int r = 0; agreed && r < c->size; r++)
    if (!v[r] && bad < 0)
      bad = r;
  if (v != all)
    free(v);
  if (!agreed) {
    mtl_set_error("rank %d: the ranks could not exchange their state", c->rank);
    return false;
  }
  if (bad >= 0 && ok)
    mtl_set_error("rank %d failed (its message is above); every rank stops", bad);
  return bad < 0;
}

bool mtl_dist_check(const MtlComm *c, const MtlModelInfo *m, uint64_t options_hash, int64_t B) {
  if (B < c->size) {
    mtl_set_error("the global batch %" PRId64 " is smaller than the %d ranks: each rank needs "
                  "a sample of every batch; give --batch %d or more, or fewer ranks",
                  B, c->size, c->size);
    return false;
  }
  if (!m->grad_step || !m->update_step) {
    mtl_set_error("model %s has no grad_step and update_step for data parallelism; "
                  "rebuild it with this mtlc", m->name);
    return false;
  }
  if (mtl_balance_needs(m->balance) != 0 && (m->n_gram_inputs < 1 || m->n_gram_inputs % m->n_tasks)) {
    mtl_set_error("model %s has no description of its Gramian for data parallelism; "
                  "rebuild it with this mtlc", m->name);
    return false;
  }
  uint64_t mine = mtl_hash(dist_model_hash(m), &options_hash, sizeof options_hash);
  uint64_t all[1024], *v = c->size <= 1024 ? all : calloc((size_t)c->size, sizeof *v);
  if (!v || !c->allgather_u64(mine, v)) {
    if (v != all)
      free(v);
    mtl_set_error("rank %d: the ranks could not exchange their spec's hash", c->rank);
    return false;
  }
  int differ = 0, first = -1;
  for (int r = 1; r < c->size; r++)
    if (v[r] != v[0]) {
      differ++;
      if (first < 0)
        first = r;
    }
  bool ok = differ == 0;
  if (!ok)
    mtl_set_error("the ranks disagree on the spec or the training options: rank %d's hash "
                  "%016" PRIx64 " is not rank 0's %016" PRIx64 " (%d of %d ranks differ); "
                  "start every rank with the same spec, data and options",
                  first, v[first], v[0], differ, c->size);
  if (v != all)
    free(v);
  return ok;
}

void mtl_dist_shard(const MtlComm *c, int64_t B, int64_t *from, int64_t *n) {
  int64_t base = B / c->size, extra = B % c->size, r = c->rank;
  *n = base + (r < extra);
  *from = r * base + (r < extra ? r : extra);
}

bool mtl_dist_sync(const MtlComm *c, const MtlModelInfo *m, float *params, float *state,
                   float *stats, int64_t *step, uint64_t rng[4]) {
  bool ok = c->bcast(params, m->n_params * 4) && c->bcast(state, m->n_state * 4) &&
            c->bcast(stats, m->n_stats * 4) && c->bcast(step, sizeof *step) &&
            c->bcast(rng, 4 * sizeof *rng);
  if (!ok)
    mtl_set_error("rank %d: rank 0's parameters did not arrive", c->rank);
  return ok;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* x[n] times this rank's share w of the global batch; an empty shard's
 * (n_samples 0) are zeros, whatever its step left there */
static void scale(float *x, int64_t n, float w, int64_t n_samples) {
  for (int64_t i = 0; i < n; i++)
    x[i] = n_samples > 0 ? x[i] * w : 0;
}

/* the running statistics' change in the step, times the share */
static void stats_delta(float *stats, const float *before, int64_t n, float w, int64_t n_samples) {
  for (int64_t i = 0; i < n; i++)
    stats[i] = n_samples > 0 ? (stats[i] - before[i]) * w : 0;
}

/* ---- the sums inside a step (mtl_sync: batchnorm's statistics) ------------------ */

typedef struct {
  const MtlComm *c;
  int64_t n; /* this rank's samples */
  float w;   /* its share of the global batch */
  bool ok;   /* every allreduce went through */
  MtlDistTimes *times;
} Sync;

static void dist_sync(void *ctx, float *buf, int64_t n, int mode) {
  Sync *s = ctx;
  if (mode == MTL_SYNC_SHARE || s->n == 0)
    scale(buf, n, s->w, s->n);
  double t0 = s->times ? now() : 0;
  if (!s->c->allreduce_sum(buf, n))
    s->ok = false;
  if (s->times)
    s->times->reduce_s += now() - t0, s->times->floats += n;
}

static bool sync_done(Sync *s) {
  mtl_set_sync(NULL, NULL);
  if (!s->ok)
    mtl_set_error("rank %d: the batch statistics' allreduce failed", s->c->rank);
  return s->ok;
}

bool mtl_dist_step(const MtlComm *c, const MtlModelInfo *m, float *params, float *grads,
                   float *state, float *stats, float *act, const void *const *data, int64_t n,
                   int64_t B, const float *hyper, uint64_t step_seed, float *losses,
                   MtlDistTimes *times) {
  /* rank 0 draws the dropout masks one process would; the others their own */
  uint64_t seed = step_seed ^ ((uint64_t)c->rank * 0x9e3779b97f4a7c15ull);
  int nl = m->n_tasks + m->n_regs; /* the tasks' losses, then the regularizers' values */
  /* the running statistics before the step: the ranks average what the
   * step changed, so those it leaves (normalize(auto)'s) stay exact */
  float *before = m->n_stats ? malloc((size_t)m->n_stats * sizeof *before) : NULL;
  if (m->n_stats && !before) {
    mtl_set_error("rank %d: out of memory", c->rank);
    return false;
  }
  if (before)
    memcpy(before, stats, (size_t)m->n_stats * sizeof *before);
  for (int t = 0; t < nl; t++)
    losses[t] = 0;
  float w = (float)((double)n / (double)B);
  /* an empty shard (a small last batch) runs too: its batchnorm sums are
   * part of every rank's */
  Sync sy = {c, n, w, true, times};
  mtl_set_sync(dist_sync, &sy);
  m->grad_step(params, grads, state, stats, act, data, n, hyper, seed, losses);
  if (!sync_done(&sy)) {
    free(before);
    return false;
  }
  scale(grads, m->n_params, w, n);
  scale(losses, nl, w, n);
  stats_delta(stats, before, m->n_stats, w, n);
  /* the time includes waiting for the slowest rank's grad_step: what the
   * ranks' skew costs is communication's share too */
  double t0 = times ? now() : 0;
  bool ok = c->allreduce_sum(grads, m->n_params) && c->allreduce_sum(losses, nl) &&
            c->allreduce_sum(stats, m->n_stats);
  if (times) {
    times->reduce_s += now() - t0;
    times->floats += m->n_params + nl + m->n_stats;
  }
  for (int64_t i = 0; i < m->n_stats; i++)
    stats[i] += before[i];
  free(before);
  if (!ok) {
    mtl_set_error("rank %d: the gradients' allreduce failed", c->rank);
    return false;
  }
  m->update_step(params, grads, state, stats, act, data, n, hyper, seed, losses);
  return true;
}

bool mtl_dist_stats_wanted(void) {
  const char *v = getenv("MTL_DIST_STATS");
  return v && v[0] && strcmp(v, "0") != 0;
}

void mtl_dist_report(const MtlComm *c, const MtlDistTimes *t) {
  if (c->rank != 0 || t->steps < 1)
    return;
  double k = (double)t->floats / (double)t->steps, step = 1e3 * t->step_s / (double)t->steps,
         reduce = 1e3 * t->reduce_s / (double)t->steps;
  fprintf(stderr, "mtlc: data parallel: %d ranks, %" PRId64 " steps, %.0f floats (%.0f bytes) "
          "reduced per step, allreduce %.3f ms of %.3f ms per step (%.1f%%)\n", c->size,
          t->steps, k, 4 * k, reduce, step, step > 0 ? 100 * reduce / step : 0.0);
}

bool mtl_dist_any(const MtlComm *c, bool mine) {
  float f = mine ? 1.0f : 0.0f;
  return c->allreduce_sum(&f, 1) ? f > 0 : mine;
}

/* ---- a balanced step ------------------------------------------------------------------ */

typedef struct {
  const MtlComm *c;
  const MtlModelInfo *m;
  int64_t n; /* this rank's samples */
  float w;   /* its share of the global batch, n / B */
  const float *before; /* the running statistics before the step */
  MtlDistTimes *times; /* NULL: not measured */
} Shard;

/* the sum over the ranks of x[n], timed and counted */
static bool shard_sum(const Shard *s, float *x, int64_t n) {
  double t0 = s->times ? now() : 0;
  bool ok = s->c->allreduce_sum(x, n);
  if (s->times)
    s->times->reduce_s += now() - t0, s->times->floats += n;
  return ok;
}

/* the shard's losses to the global batch's: the share-weighted sum */
static bool shard_losses(void *ctx, float *losses) {
  const Shard *s = ctx;
  int nl = s->m->n_tasks + s->m->n_regs;
  for (int t = 0; t < nl; t++) /* an empty shard's are stale */
    losses[t] = s->n > 0 ? losses[t] * s->w : 0;
  if (!shard_sum(s, losses, nl)) {
    mtl_set_error("rank %d: the losses' allreduce failed", s->c->rank);
    return false;
  }
  return true;
}

/* whether gram_inputs[i] is its vector's first entry: a vector two tasks
 * share (a tensor neither reaches: zeros) is summed once */
static bool first_use(const MtlGramInput *in, int i) {
  for (int j = 0; j < i; j++)
    if (in[j].offset == in[i].offset)
      return false;
  return true;
}

/* Under a gradient method: the tasks' vectors the Gramian is made of
 * (gradients of the shared tensors, or of a shared block's output summed
 * over the batch), each a mean over this shard, to the global batch's:
 * their share-weighted sum over the ranks, in one allreduce, back into
 * act[] where train_end reads them; then their Gramian, in double, into
 * bal[]. The Gramian of the sum is not the sum of the ranks' Gramians. */
static bool shard_gram(void *ctx, const MtlStep *st, float *bal) {
  const Shard *s = ctx;
  const MtlModelInfo *m = s->m;
  const MtlGramInput *in = m->gram_inputs;
  int T = m->n_tasks, ni = m->n_gram_inputs; /* mtl_dist_check saw the table */
  int64_t total = 0;
  for (int i = 0; i < ni; i++)
    if (first_use(in, i))
      total += in[i].numel;
  float *pack = malloc((size_t)total * sizeof *pack + 1);
  if (!pack) {
    mtl_set_error("rank %d: out of memory", s->c->rank);
    return false;
  }
  for (int pass = 0; pass < 2; pass++) { /* 0: scaled into pack; 1: back into act[] */
    int64_t at = 0;
    for (int i = 0; i < ni; i++) {
      if (!first_use(in, i))
        continue;
      float *v = st->act + in[i].offset;
      for (int64_t k = 0; k < in[i].numel; k++)
        if (pass == 0) /* an empty shard's are stale */
          pack[at + k] = s->n > 0 ? v[k] * s->w : 0;
        else
          v[k] = pack[at + k];
      at += in[i].numel;
    }
    if (pass == 0 && !shard_sum(s, pack, total)) {
      free(pack);
      mtl_set_error("rank %d: the per-task gradients' allreduce failed", s->c->rank);
      return false;
    }
  }
  free(pack);
  for (int a = 0; a < T; a++)
    for (int b = a; b < T; b++) {
      double d = 0;
      for (int term = 0; term < ni; term += T) {
        const float *x = st->act + in[term + a].offset, *y = st->act + in[term + b].offset;
        for (int64_t k = 0; k < in[term].numel; k++)
          d += (double)x[k] * (double)y[k];
      }
      bal[a * T + b] = bal[b * T + a] = (float)d;
    }
  return true;
}

/* train_end's work: its backward half, the sums over the ranks, the update */
static bool shard_finish(void *ctx, const MtlStep *st) {
  const Shard *s = ctx;
  const MtlModelInfo *m = s->m;
  float scratch[128]; /* the losses stay the global batch's */
  m->grad_step(st->params, st->grads, st->state, st->stats, st->act, st->data, st->B,
               st->hyper, st->seed, scratch);
  /* the balancer's own parameter's gradient (uncertainty's), the same on
   * every rank, sums back to itself: the shares add up to 1 */
  scale(st->grads, m->n_params, s->w, s->n);
  stats_delta(st->stats, s->before, m->n_stats, s->w, s->n);
  bool ok = shard_sum(s, st->grads, m->n_params) && shard_sum(s, st->stats, m->n_stats);
  for (int64_t i = 0; i < m->n_stats; i++)
    st->stats[i] += s->before[i];
  if (!ok) {
    mtl_set_error("rank %d: the gradients' allreduce failed", s->c->rank);
    return false;
  }
  m->update_step(st->params, st->grads, st->state, st->stats, st->act, st->data, st->B,
                 st->hyper, st->seed, scratch);
  return true;
}

bool mtl_dist_balance_step(const MtlComm *c, const MtlModelInfo *m, MtlBalancer *b,
                           const MtlStep *st, int64_t B, MtlDistTimes *times) {
  MtlStep mine = *st;
  /* rank 0 draws the dropout masks one process would; the others their own */
  mine.seed = st->seed ^ ((uint64_t)c->rank * 0x9e3779b97f4a7c15ull);
  float *before = m->n_stats ? malloc((size_t)m->n_stats * sizeof *before) : NULL;
  if (m->n_stats && !before) {
    mtl_set_error("rank %d: out of memory", c->rank);
    return false;
  }
  if (before)
    memcpy(before, st->stats, (size_t)m->n_stats * sizeof *before);
  Shard s = {c, m, st->B, (float)((double)st->B / (double)B), before, times};
  MtlBalanceHooks hooks = {&s, shard_losses, shard_gram, shard_finish};
  Sync sy = {c, st->B, s.w, true, times};
  mtl_set_sync(dist_sync, &sy);
  bool ok = mtl_balance_step_hooked(b, &mine, &hooks);
  ok = sync_done(&sy) && ok;
  free(before);
  return ok;
}
