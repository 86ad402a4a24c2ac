/* mtl_team.c: batch-parallel training on the threads of one process
 * (mtl_dist.h's MtlTeam). The threads are the ranks of an in-process
 * communicator: each worker keeps its own copy of the parameters,
 * optimizer state, statistics and activations, takes its share of every
 * batch through mtl_dist_step as an MPI rank does, and the allreduce adds
 * the workers' buffers in worker order, so a result does not depend on
 * which thread ran first. Worker 0 is the calling thread; the others wait
 * in a pool between runs. */
#include "mtl.h"
#include "mtl_balance.h"
#include "mtl_dist.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORKERS 64

typedef struct Pool {
  int n;
  pthread_t th[MAX_WORKERS];
  pthread_mutex_t mu;
  pthread_cond_t go, done;
  int64_t gen;  /* runs started */
  int pending;  /* workers 1.. still in this run */
  bool quit;
  void (*fn)(void *ctx, int worker);
  void *ctx;
  pthread_barrier_t bar;
  void *slot[MAX_WORKERS]; /* each worker's buffer in a collective */
  MtlComm comm[MAX_WORKERS];
  const MtlComm *parent; /* the ranks, each process a team; NULL: one process */
  bool parent_ok;        /* the last allreduce over the ranks went through */
} Pool;

typedef struct {
  Pool *t;
  int w;
} Seat;

/* the team and worker this thread is, for the communicator's functions */
static _Thread_local Seat me;

static void wait_all(Pool *t) { pthread_barrier_wait(&t->bar); }

/* buf[0, n) summed over the workers: each adds its slice of every
 * worker's buffer, in worker order, into worker 0's, which (over MPI)
 * worker 0 then sums over the ranks; then all copy it */
static bool team_allreduce(float *buf, int64_t n) {
  Pool *t = me.t;
  int w = me.w;
  t->slot[w] = buf;
  wait_all(t);
  float *out = t->slot[0];
  for (int64_t i = n * w / t->n, end = n * (w + 1) / t->n; i < end; i++) {
    float s = out[i];
    for (int r = 1; r < t->n; r++)
      s += ((float *)t->slot[r])[i];
    out[i] = s;
  }
  wait_all(t);
  if (t->parent) {
    if (w == 0)
      t->parent_ok = t->parent->allreduce_sum(out, n);
    wait_all(t);
  }
  if (w != 0)
    memcpy(buf, out, (size_t)n * sizeof *buf);
  wait_all(t); /* worker 0's buffer stays as it is until every copy is made */
  return !t->parent || t->parent_ok;
}

static bool team_bcast(void *buf, int64_t bytes) {
  Pool *t = me.t;
  if (me.w == 0)
    t->slot[0] = buf;
  wait_all(t);
  if (me.w != 0)
    memcpy(buf, t->slot[0], (size_t)bytes);
  wait_all(t);
  return true;
}

static bool team_allgather(uint64_t mine, uint64_t *all) {
  Pool *t = me.t;
  t->slot[me.w] = &mine;
  wait_all(t);
  for (int r = 0; r < t->n; r++)
    all[r] = *(uint64_t *)t->slot[r];
  wait_all(t);
  return true;
}

static void team_abort(int code) { exit(code); }
static void team_finish(void) {}

static void pool_free(Pool *t);

static void *worker_main(void *arg) {
  Seat s = *(Seat *)arg;
  free(arg);
  me = s;
  Pool *t = s.t;
  int64_t seen = 0;
  for (;;) {
    pthread_mutex_lock(&t->mu);
    while (t->gen == seen && !t->quit)
      pthread_cond_wait(&t->go, &t->mu);
    if (t->quit) {
      pthread_mutex_unlock(&t->mu);
      return NULL;
    }
    seen = t->gen;
    pthread_mutex_unlock(&t->mu);
    t->fn(t->ctx, s.w);
    pthread_mutex_lock(&t->mu);
    if (--t->pending == 0)
      pthread_cond_signal(&t->done);
    pthread_mutex_unlock(&t->mu);
  }
}

static Pool *pool_new(int n, const MtlComm *parent) {
  if (n < 2 || n > MAX_WORKERS) {
    mtl_set_error("a team of %d threads: give 2 to %d", n, MAX_WORKERS);
    return NULL;
  }
  Pool *t = calloc(1, sizeof *t);
  if (!t) {
    mtl_set_error("out of memory");
    return NULL;
  }
  t->n = n;
  pthread_mutex_init(&t->mu, NULL);
  pthread_cond_init(&t->go, NULL);
  pthread_cond_init(&t->done, NULL);
  pthread_barrier_init(&t->bar, NULL, (unsigned)n);
  t->parent = parent;
  int r0 = parent ? parent->rank * n : 0, size = parent ? parent->size * n : n;
  for (int w = 0; w < n; w++) /* a rank of all the teams' workers */
    t->comm[w] = (MtlComm){r0 + w, size, team_bcast, team_allreduce, team_allgather,
                           parent ? parent->abort : team_abort, team_finish};
  for (int w = 1; w < n; w++) {
    Seat *s = malloc(sizeof *s);
    if (s)
      *s = (Seat){t, w};
    if (!s || pthread_create(&t->th[w], NULL, worker_main, s) != 0) {
      free(s);
      t->n = w; /* the threads started so far end in mtl_team_free */
      pool_free(t);
      mtl_set_error("cannot start %d threads", n);
      return NULL;
    }
  }
  return t;
}

static void pool_free(Pool *t) {
  if (!t)
    return;
  pthread_mutex_lock(&t->mu);
  t->quit = true;
  pthread_cond_broadcast(&t->go);
  pthread_mutex_unlock(&t->mu);
  for (int w = 1; w < t->n; w++)
    pthread_join(t->th[w], NULL);
  pthread_barrier_destroy(&t->bar);
  pthread_cond_destroy(&t->go);
  pthread_cond_destroy(&t->done);
  pthread_mutex_destroy(&t->mu);
  free(t);
}

/* fn(ctx, w) on every worker w at once, 0 on this thread; returns when all have */
static void pool_run(Pool *t, void (*fn)(void *ctx, int worker), void *ctx) {
  pthread_mutex_lock(&t->mu);
  t->fn = fn, t->ctx = ctx;
  t->pending = t->n - 1;
  t->gen++;
  pthread_cond_broadcast(&t->go);
  pthread_mutex_unlock(&t->mu);
  Seat saved = me;
  me = (Seat){t, 0};
  fn(ctx, 0);
  me = saved;
  pthread_mutex_lock(&t->mu);
  while (t->pending > 0)
    pthread_cond_wait(&t->done, &t->mu);
  pthread_mutex_unlock(&t->mu);
}

/* ---- the team: a pool, and each worker's copy of the training buffers ---------------- */

typedef struct {
  float *params, *grads, *state, *stats, *act, *hyper;
  MtlBalancer *bal;
  float losses[128];
  bool ok;
} Worker;

struct MtlTeam {
  const MtlModelInfo *m;
  Pool *pool;
  Worker w[MAX_WORKERS]; /* 0: the caller's buffers */
  /* the step being run */
  const void *const *data; /* this process's rows of the batch (mtl_team_span) */
  int64_t B, step, epoch;
  uint64_t seed;
  MtlDistTimes *times;     /* worker 0's collectives, or NULL */
};

static size_t n_hyper(const MtlModelInfo *m) {
  return (size_t)(m->n_hyper > MTL_HYPER_TASKS ? m->n_hyper : MTL_HYPER_TASKS);
}

static int64_t row_floats(const MtlModelInfo *m, int k) {
  if (k < m->n_inputs)
    return m->inputs[k].numel;
  const MtlLabelInfo *l = &m->labels[k - m->n_inputs];
  return l->kind == MTL_LABEL_REAL ? l->width : 1;
}

#define MAX_ARRAYS 64

bool mtl_team_fits(const MtlModelInfo *m, int64_t B, int n) {
  return n > 1 && n <= MAX_WORKERS && B >= n && m->grad_step && m->update_step &&
         m->n_inputs + m->n_labels <= MAX_ARRAYS && m->n_tasks + m->n_regs <= 128 &&
         (mtl_balance_needs(m->balance) == 0 ||
          (m->n_gram_inputs >= 1 && m->n_gram_inputs % m->n_tasks == 0));
}

bool mtl_team_pays(const MtlModelInfo *m, int64_t B, int n) {
  return mtl_team_fits(m, B, n) && m->flops >= 4 * m->n_params;
}

MtlTeam *mtl_team_new(const MtlModelInfo *m, int n, const MtlTeamBufs *mine,
                      const MtlComm *parent) {
  if (!mtl_team_fits(m, n, n)) {
    mtl_set_error("model %s cannot train on a team of %d threads", m->name, n);
    return NULL;
  }
  MtlTeam *t = calloc(1, sizeof *t);
  if (!t) {
    mtl_set_error("out of memory");
    return NULL;
  }
  t->m = m;
  t->w[0] = (Worker){mine->params, mine->grads, mine->state, mine->stats, mine->act,
                     mine->hyper, mine->bal, {0}, true};
  for (int w = 1; w < n; w++) {
    Worker *k = &t->w[w];
    k->params = calloc((size_t)m->n_params + 1, sizeof(float));
    k->grads = calloc((size_t)m->n_params + 1, sizeof(float));
    k->state = calloc((size_t)m->n_state + 1, sizeof(float));
    k->stats = calloc((size_t)m->n_stats + 1, sizeof(float));
    k->act = calloc((size_t)m->n_act + 1, sizeof(float));
    k->hyper = calloc(n_hyper(m) + 1, sizeof(float));
    k->bal = mtl_balancer_new(m);
    if (!k->params || !k->grads || !k->state || !k->stats || !k->act || !k->hyper || !k->bal) {
      mtl_team_free(t);
      mtl_set_error("model %s: out of memory for %d threads' buffers", m->name, n);
      return NULL;
    }
  }
  if (!(t->pool = pool_new(n, parent))) {
    mtl_team_free(t);
    return NULL;
  }
  return t;
}

void mtl_team_free(MtlTeam *t) {
  if (!t)
    return;
  pool_free(t->pool);
  for (int w = 1; w < MAX_WORKERS; w++) {
    Worker *k = &t->w[w];
    free(k->params), free(k->grads), free(k->state), free(k->stats), free(k->act);
    free(k->hyper);
    mtl_balancer_free(k->bal);
  }
  free(t);
}

int mtl_team_size(const MtlTeam *t) { return t->pool->n; }

bool mtl_team_sync(MtlTeam *t) {
  const MtlModelInfo *m = t->m;
  static uint64_t words[MTL_BALANCE_STATE_MAX]; /* 4 KB: not on the stack */
  int32_t nw = m->balance == MTL_BAL_STATIC ? 0 : mtl_balance_save(t->w[0].bal, words);
  for (int w = 1; w < t->pool->n; w++) {
    Worker *k = &t->w[w];
    memcpy(k->params, t->w[0].params, (size_t)m->n_params * sizeof(float));
    memcpy(k->state, t->w[0].state, (size_t)m->n_state * sizeof(float));
    memcpy(k->stats, t->w[0].stats, (size_t)m->n_stats * sizeof(float));
    if (nw > 0 && !mtl_balance_load(k->bal, words, nw, "the first thread's balancer state"))
      return false;
  }
  return true;
}

static void worker_step(void *ctx, int w) {
  MtlTeam *t = ctx;
  const MtlModelInfo *m = t->m;
  Worker *k = &t->w[w];
  const MtlComm *c = &t->pool->comm[w];
  int64_t lo, nb, span, span_n;
  mtl_dist_shard(c, t->B, &lo, &nb);
  mtl_team_span(t, t->B, &span, &span_n);
  const void *data[MAX_ARRAYS];
  for (int j = 0; j < m->n_inputs + m->n_labels; j++)
    data[j] = (const char *)t->data[j] + (size_t)((lo - span) * row_floats(m, j)) * 4;
  MtlDistTimes *times = w == 0 ? t->times : NULL;
  if (w != 0)
    memcpy(k->hyper, t->w[0].hyper, n_hyper(m) * sizeof(float));
  memset(k->grads, 0, (size_t)m->n_params * sizeof(float));
  if (m->balance == MTL_BAL_STATIC) {
    k->ok = mtl_dist_step(c, m, k->params, k->grads, k->state, k->stats, k->act, data, nb, t->B,
                          k->hyper, t->seed, k->losses, times);
  } else {
    MtlStep st = {k->params, k->grads, k->state, k->stats, k->act, data, nb, k->hyper, t->seed,
                  k->losses, t->step, t->epoch};
    k->ok = mtl_dist_balance_step(c, m, k->bal, &st, t->B, times);
  }
}

void mtl_team_span(const MtlTeam *t, int64_t B, int64_t *from, int64_t *n) {
  int64_t a, na, z, nz;
  mtl_dist_shard(&t->pool->comm[0], B, &a, &na);
  mtl_dist_shard(&t->pool->comm[t->pool->n - 1], B, &z, &nz);
  *from = a, *n = z + nz - a;
}

bool mtl_team_step(MtlTeam *t, const void *const *data, int64_t B, uint64_t seed, int64_t step,
                   int64_t epoch, float *losses, MtlDistTimes *times) {
  const MtlModelInfo *m = t->m;
  if (m->balance == MTL_BAL_STATIC) /* the balancer sets them otherwise */
    for (int k = 0; k < m->n_tasks && MTL_HYPER_TASKS + k < m->n_hyper; k++)
      t->w[0].hyper[MTL_HYPER_TASKS + k] = (float)m->tasks[k].weight;
  t->data = data, t->B = B, t->seed = seed, t->step = step, t->epoch = epoch, t->times = times;
  pool_run(t->pool, worker_step, t);
  memcpy(losses, t->w[0].losses, (size_t)(m->n_tasks + m->n_regs) * sizeof *losses);
  bool ok = true;
  for (int w = 0; w < t->pool->n; w++)
    ok = ok && t->w[w].ok;
  if (!ok && t->w[0].ok) /* its message is in that thread's mtl_error() */
    mtl_set_error("model %s: a training thread failed (out of memory, or the ranks' "
                  "allreduce)", m->name);
  return ok;
}
