/* mtl_train.c: the training loop. Drives a model through its MtlModelInfo:
 * one allocation per buffer group, a seeded shuffle per epoch, batches
 * gathered into fixed buffers, the learning-rate schedule, per-task losses
 * and test metrics, a progress line on a terminal, a JSON log line and a
 * checkpoint per epoch; mtl_eval for a saved checkpoint. Everything the
 * loop's future depends on (parameters, optimizer state, the global step,
 * the epoch, the shuffle RNG) is in the checkpoint, so training 2 epochs
 * equals training 1, saving and resuming for 1, bit for bit. Reads and
 * writes files only through mtl_data.c and mtl_ckpt.c (and the log). */
#include "mtl.h"
#include "mtl_dist.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__unix__) || defined(__APPLE__)
#include <sys/ioctl.h>
#endif

#ifndef MTL_NO_BLAS
void openblas_set_num_threads(int);
#endif

#define SHUFFLE_STREAM 0x73687566666c6521ull /* "shuffle!": apart from init's */

double mtl_schedule_lr(const MtlModelInfo *m, int64_t epoch, int64_t epochs) {
  switch (m->schedule) {
  case MTL_SCHED_STEP:
    return m->step_every > 0 ? m->lr * pow(m->step_gamma, (double)(epoch / m->step_every)) : m->lr;
  case MTL_SCHED_COSINE:
    return epochs > 0 ? m->lr * (1 + cos(3.14159265358979323846 * (double)epoch / (double)epochs)) / 2 : m->lr;
  case MTL_SCHED_CONSTANT:
    break;
  }
  return m->lr;
}

/* the dropout seed of global step t (1-based) */
static uint64_t step_seed(uint64_t seed, int64_t t) {
  uint64_t x = seed ^ ((uint64_t)t * 0xd1b54a32d192ed03ull);
  return mtl_splitmix64(&x);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int fail(void) {
  fprintf(stderr, "mtlc: %s\n", mtl_error());
  return 1;
}

/* an error of one rank of several names the rank */
static int fail_rank(const MtlComm *c) {
  if (c && c->size > 1 && c->rank > 0)
    fprintf(stderr, "mtlc: rank %d: %s\n", c->rank, mtl_error());
  else
    fail();
  return 1;
}

/* ---- buffers ------------------------------------------------------------------- */

/* The model's buffer groups and the trainer's, each one allocation. */
typedef struct {
  const MtlModelInfo *m;
  float *params, *grads, *state, *stats, *act;
  float *hyper;   /* the step's hyperparameters: n_hyper */
  void *batch;    /* one gathered batch: inputs, then labels */
  void **data;    /* n_inputs + n_labels pointers into batch */
  float *out;     /* eval outputs: batch_max * width per task */
  float **outputs;
  int64_t *idx;   /* the epoch's sample order */
} Bufs;

static int64_t array_width(const MtlModelInfo *m, int k) {
  if (k < m->n_inputs)
    return m->inputs[k].numel;
  const MtlLabelInfo *l = &m->labels[k - m->n_inputs];
  return l->kind == MTL_LABEL_REAL ? l->width : 1;
}

static bool bufs_alloc(Bufs *b, const MtlModelInfo *m, int64_t n_train, bool train) {
  int n = m->n_inputs + m->n_labels;
  int64_t row = 0, outw = 0;
  for (int k = 0; k < n; k++)
    row += array_width(m, k);
  for (int t = 0; t < m->n_tasks; t++)
    outw += m->tasks[t].width;
  *b = (Bufs){.m = m};
  b->params = calloc((size_t)m->n_params + 1, sizeof(float));
  b->stats = calloc((size_t)m->n_stats + 1, sizeof(float));
  b->hyper = calloc((size_t)(m->n_hyper > MTL_HYPER_TASKS ? m->n_hyper : MTL_HYPER_TASKS) + 1,
                    sizeof(float));
  b->act = calloc((size_t)m->n_act + 1, sizeof(float));
  b->data = calloc((size_t)n + 1, sizeof(void *));
  b->out = calloc((size_t)(m->batch_max * outw) + 1, sizeof(float));
  b->outputs = calloc((size_t)m->n_tasks + 1, sizeof(float *));
  bool ok = b->params && b->stats && b->hyper && b->act && b->data && b->out && b->outputs;
  if (train) {
    b->grads = calloc((size_t)m->n_params + 1, sizeof(float));
    b->state = calloc((size_t)m->n_state + 1, sizeof(float));
    b->batch = calloc((size_t)(m->batch_max * row) + 1, 4);
    b->idx = calloc((size_t)n_train + 1, sizeof(int64_t));
    ok = ok && b->grads && b->state && b->batch && b->idx;
  }
  if (!ok) {
    mtl_set_error("model %s: out of memory for its buffers", m->name);
    return false;
  }
  float *o = b->out;
  for (int t = 0; t < m->n_tasks; t++) {
    b->outputs[t] = o;
    o += m->batch_max * m->tasks[t].width;
  }
  return true;
}

static void bufs_free(Bufs *b) {
  free(b->params), free(b->grads), free(b->state), free(b->stats), free(b->hyper), free(b->act);
  free(b->batch), free(b->data), free(b->out), free(b->outputs), free(b->idx);
}

/* Rows idx[0, B) of every array, gathered into b->batch; b->data points at
 * each array's part. */
static void gather(Bufs *b, const MtlSplit *s, const int64_t *idx, int64_t B) {
  char *p = b->batch;
  for (int k = 0; k < s->n_arrays; k++) {
    const MtlArray *a = &s->arrays[k];
    size_t row = (size_t)a->width * 4;
    b->data[k] = p;
    for (int64_t i = 0; i < B; i++, p += row)
      memcpy(p, (const char *)a->data + (size_t)idx[i] * row, row);
    p += (size_t)(b->m->batch_max - B) * row;
  }
}

/* a fresh order each epoch: Fisher-Yates over 0..n-1 */
static void shuffle(int64_t *idx, int64_t n, MtlRng *r) {
  for (int64_t i = 0; i < n; i++)
    idx[i] = i;
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)mtl_rng_below(r, (uint64_t)i + 1), t = idx[i];
    idx[i] = idx[j], idx[j] = t;
  }
}

/* ---- metrics ---------------------------------------------------------------------- */

typedef struct {
  double loss, correct, se, ae; /* sums over samples (se, ae: over values) */
  int64_t n, values;
} Metric;

/* task t's class (or binary) label of sample i, through its lookups */
static int32_t class_label(const MtlModelInfo *m, const MtlSplit *s, int t, int64_t i) {
  const MtlTaskInfo *k = &m->tasks[t];
  if (k->label >= 0)
    return ((const int32_t *)s->arrays[m->n_inputs + k->label].data)[i];
  return k->lookup[class_label(m, s, k->derive_from, i)];
}

static void score(Metric *mt, const MtlModelInfo *m, const MtlSplit *s, int t,
                  const float *out, int64_t from, int64_t B) {
  const MtlTaskInfo *k = &m->tasks[t];
  int64_t w = k->width;
  for (int64_t i = 0; i < B; i++) {
    const float *o = out + i * w;
    if (k->kind == MTL_LABEL_CLASS) {
      int64_t best = 0;
      for (int64_t j = 1; j < w; j++)
        if (o[j] > o[best])
          best = j;
      mt->correct += best == class_label(m, s, t, from + i);
    } else if (k->kind == MTL_LABEL_BINARY) {
      mt->correct += (o[0] > 0) == (class_label(m, s, t, from + i) != 0);
    } else if (k->label >= 0) {
      const float *y = (const float *)s->arrays[m->n_inputs + k->label].data + (from + i) * w;
      for (int64_t j = 0; j < w; j++) {
        double d = (double)o[j] - (double)y[j];
        mt->se += d * d, mt->ae += fabs(d);
      }
      mt->values += w;
    }
  }
  mt->n += B;
}

/* Per-task test metrics over the whole split, in batches of batch_max. */
static void evaluate(Bufs *b, const MtlSplit *s, Metric *mt) {
  const MtlModelInfo *m = b->m;
  float loss[64];
  memset(mt, 0, (size_t)m->n_tasks * sizeof *mt);
  for (int64_t from = 0; from < s->n; from += m->batch_max) {
    int64_t B = s->n - from < m->batch_max ? s->n - from : m->batch_max;
    for (int k = 0; k < s->n_arrays; k++)
      b->data[k] = (char *)s->arrays[k].data + (size_t)(from * s->arrays[k].width) * 4;
    m->eval_step(b->params, b->stats, b->act, (const void *const *)b->data, B, loss, b->outputs);
    for (int t = 0; t < m->n_tasks; t++) {
      mt[t].loss += (double)loss[t] * (double)B;
      score(&mt[t], m, s, t, b->outputs[t], from, B);
    }
  }
}

/* ---- reporting --------------------------------------------------------------------- */

static int name_width(const MtlModelInfo *m) {
  int w = 0;
  for (int t = 0; t < m->n_tasks; t++)
    if ((int)strlen(m->tasks[t].name) > w)
      w = (int)strlen(m->tasks[t].name);
  return w;
}

/* "acc 0.8912 loss 0.3011" for one task's test metrics */
static void metric_text(char *buf, size_t cap, const MtlTaskInfo *k, const Metric *mt) {
  size_t n = 0;
  if (mt->n && (k->metrics & MTL_METRIC_ACCURACY) && k->kind != MTL_LABEL_REAL)
    n += (size_t)snprintf(buf + n, cap - n, "acc %.4f ", mt->correct / (double)mt->n);
  if (mt->values && (k->metrics & MTL_METRIC_MSE) && n < cap)
    n += (size_t)snprintf(buf + n, cap - n, "mse %.4f ", mt->se / (double)mt->values);
  if (mt->values && (k->metrics & MTL_METRIC_MAE) && n < cap)
    n += (size_t)snprintf(buf + n, cap - n, "mae %.4f ", mt->ae / (double)mt->values);
  if (n < cap)
    snprintf(buf + n, cap - n, "loss %.4f", mt->n ? mt->loss / (double)mt->n : 0.0);
}

/* a JSON number: JSON has no NaN or infinity */
static void json_num(FILE *f, double x) {
  if (isfinite(x))
    fprintf(f, "%.9g", x);
  else
    fputs("null", f);
}

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++)
    if (*s == '"' || *s == '\\')
      fprintf(f, "\\%c", *s);
    else if ((unsigned char)*s < 0x20)
      fprintf(f, "\\u%04x", *s);
    else
      fputc(*s, f);
  fputc('"', f);
}

static void log_epoch(FILE *f, const MtlModelInfo *m, int64_t epoch, double lr,
                      const double *train, const Metric *test, bool have_test, double secs) {
  fprintf(f, "{\"epoch\": %" PRId64 ", \"lr\": ", epoch);
  json_num(f, lr);
  fputs(", \"train_loss\": {", f);
  for (int t = 0; t < m->n_tasks; t++) {
    fputs(t ? ", " : "", f);
    json_str(f, m->tasks[t].name);
    fputs(": ", f);
    json_num(f, train[t]);
  }
  fputs("}", f);
  if (have_test) {
    fputs(", \"test\": {", f);
    for (int t = 0; t < m->n_tasks; t++) {
      const MtlTaskInfo *k = &m->tasks[t];
      const Metric *mt = &test[t];
      fputs(t ? ", " : "", f);
      json_str(f, k->name);
      fputs(": {\"loss\": ", f);
      json_num(f, mt->n ? mt->loss / (double)mt->n : NAN);
      if ((k->metrics & MTL_METRIC_ACCURACY) && k->kind != MTL_LABEL_REAL && mt->n)
        fputs(", \"accuracy\": ", f), json_num(f, mt->correct / (double)mt->n);
      if ((k->metrics & MTL_METRIC_MSE) && mt->values)
        fputs(", \"mse\": ", f), json_num(f, mt->se / (double)mt->values);
      if ((k->metrics & MTL_METRIC_MAE) && mt->values)
        fputs(", \"mae\": ", f), json_num(f, mt->ae / (double)mt->values);
      fputs("}", f);
    }
    fputs("}", f);
  }
  fprintf(f, ", \"seconds\": %.3f}\n", isfinite(secs) ? secs : 0.0);
  fflush(f);
}

/* epoch 3/10  train loss item 0.3121 category 0.1402  test item acc ... (12.3 s) */
static void print_epoch(const MtlModelInfo *m, int64_t epoch, int64_t epochs, double lr,
                        const double *train, const Metric *test, bool have_test, double secs) {
  int ew = snprintf(NULL, 0, "%" PRId64, epochs);
  printf("epoch %*" PRId64 "/%" PRId64, ew, epoch, epochs);
  if (m->schedule != MTL_SCHED_CONSTANT)
    printf("  lr %.3e", lr);
  printf("  train loss");
  for (int t = 0; t < m->n_tasks; t++)
    printf(" %s %.4f", m->tasks[t].name, train[t]);
  if (have_test) {
    printf("  test");
    for (int t = 0; t < m->n_tasks; t++) {
      char buf[160];
      metric_text(buf, sizeof buf, &m->tasks[t], &test[t]);
      printf("%s %s %s", t ? "," : "", m->tasks[t].name, buf);
    }
  }
  printf("  (%.1f s)\n", secs);
  fflush(stdout);
}

static int term_width(void) {
#ifdef TIOCGWINSZ
  struct winsize w;
  if (ioctl(fileno(stderr), TIOCGWINSZ, &w) == 0 && w.ws_col > 0)
    return w.ws_col;
#endif
  return 80;
}

/* the progress line on a terminal, redrawn in place, cut to its width */
static void progress(const MtlModelInfo *m, int64_t epoch, int64_t epochs, int64_t step,
                     int64_t steps, int64_t seen, int64_t n, double rate, const double *loss) {
  double left = (double)(n - seen) + (double)n * (double)(epochs - epoch);
  double eta = rate > 0 ? left / rate : 0; /* the whole run's, tests aside */
  char line[1024];
  size_t k = (size_t)snprintf(line, sizeof line, "  epoch %" PRId64 "/%" PRId64 "  step %" PRId64
                              "/%" PRId64 "  %.0f samples/s  ETA %d:%02d:%02d  loss", epoch,
                              epochs, step, steps, rate, (int)eta / 3600, (int)eta / 60 % 60,
                              (int)eta % 60);
  for (int t = 0; t < m->n_tasks && k < sizeof line; t++)
    k += (size_t)snprintf(line + k, sizeof line - k, " %s %.4f", m->tasks[t].name,
                          seen ? loss[t] / (double)seen : 0.0);
  int w = term_width() - 1;
  fprintf(stderr, "\r%.*s\033[K", w < 20 ? 20 : w, line);
  fflush(stderr);
}

/* ---- the loop ------------------------------------------------------------------------- */

static bool check_model(const MtlModelInfo *m) {
  if (m->abi != MTL_MODEL_ABI) {
    mtl_set_error("model %s: built for runtime ABI %d, this runtime is %d; rebuild it",
                  m->name, m->abi, MTL_MODEL_ABI);
    return false;
  }
  if (m->n_tasks > 64 || m->n_tasks < 1 || m->batch_max < 1) {
    mtl_set_error("model %s: %d tasks and batch_max %" PRId64 " (want 1..64 tasks)", m->name,
                  m->n_tasks, m->batch_max);
    return false;
  }
  return true;
}

typedef struct {
  const MtlModelInfo *m;
  const MtlTrainOpts *o;
  Bufs b;
  MtlSplit train, test;
  bool have_test;
  int64_t B, epochs, step;
  MtlRng rng;
  FILE *log;
  bool tty;
  const MtlComm *comm; /* data parallel: more than one rank, else NULL */
  bool lead;           /* rank 0, or the only process: prints, logs, saves */
  bool local_fault;    /* this rank's own setup failed */
} Trainer;

/* One epoch over the train split; fills loss[t], the per-sample mean. */
static bool train_epoch(Trainer *tr, int64_t epoch, double lr, double *loss) {
  const MtlModelInfo *m = tr->m;
  double b1 = m->beta1, b2 = m->beta2;
  if (b1 == 0 && b2 == 0)
    b1 = 0.9, b2 = 0.999;
  int64_t n = tr->train.n, steps = (n + tr->B - 1) / tr->B;
  double t0 = now(), drawn = 0;
  float losses[64];
  for (int t = 0; t < m->n_tasks; t++)
    loss[t] = 0;
  shuffle(tr->b.idx, n, &tr->rng);
  for (int64_t s = 0; s < steps; s++) {
    int64_t from = s * tr->B, B = n - from < tr->B ? n - from : tr->B, lo = 0, nb = B;
    if (tr->comm)
      mtl_dist_shard(tr->comm, B, &lo, &nb);
    gather(&tr->b, &tr->train, tr->b.idx + from + lo, nb);
    int64_t t = ++tr->step;
    float *hyper = tr->b.hyper;
    hyper[MTL_HYPER_LR] = (float)lr;
    hyper[MTL_HYPER_C1] = (float)(1 - pow(b1, (double)t));
    hyper[MTL_HYPER_C2] = (float)(1 - pow(b2, (double)t));
    for (int k = 0; k < m->n_tasks && MTL_HYPER_TASKS + k < m->n_hyper; k++)
      hyper[MTL_HYPER_TASKS + k] = (float)m->tasks[k].weight;
    memset(tr->b.grads, 0, (size_t)m->n_params * sizeof(float));
    if (!tr->comm)
      m->train_step(tr->b.params, tr->b.grads, tr->b.state, tr->b.stats, tr->b.act,
                    (const void *const *)tr->b.data, B, hyper, step_seed(m->seed, t), losses);
    else if (!mtl_dist_step(tr->comm, m, tr->b.params, tr->b.grads, tr->b.state, tr->b.stats,
                            tr->b.act, (const void *const *)tr->b.data, nb, B, hyper,
                            step_seed(m->seed, t), losses))
      return false;
    for (int k = 0; k < m->n_tasks; k++)
      loss[k] += (double)losses[k] * (double)B;
    double tn = now();
    if (tr->tty && (tn - drawn > 0.1 || s + 1 == steps)) {
      progress(m, epoch + 1, tr->epochs, s + 1, steps, from + B, n,
               (double)(from + B) / (tn - t0 + 1e-9), loss);
      drawn = tn;
    }
  }
  if (tr->tty)
    fputs("\r\033[K", stderr);
  for (int t = 0; t < m->n_tasks; t++)
    loss[t] /= (double)n;
  return true;
}

static bool run_epochs(Trainer *tr, int64_t first) {
  const MtlModelInfo *m = tr->m;
  double loss[64] = {0};
  Metric test[64] = {{0}};
  for (int64_t e = first; e < tr->epochs; e++) {
    double t0 = now(), lr = mtl_schedule_lr(m, e, tr->epochs);
    if (!train_epoch(tr, e, lr, loss))
      return false;
    if (tr->have_test && tr->lead)
      evaluate(&tr->b, &tr->test, test);
    double secs = now() - t0;
    if (!tr->o->quiet)
      print_epoch(m, e + 1, tr->epochs, lr, loss, test, tr->have_test, secs);
    if (tr->o->save) {
      MtlCkptMeta meta = {.step = tr->step, .epoch = e + 1};
      memcpy(meta.rng, tr->rng.s, sizeof meta.rng);
      if (!mtl_ckpt_save(tr->o->save, m, tr->b.params, tr->b.state, tr->b.stats, &meta))
        return false;
    }
    if (tr->log)
      log_epoch(tr->log, m, e + 1, lr, loss, test, tr->have_test, secs);
  }
  return true;
}

/* Data, buffers, initial or resumed state (rank 0's alone), the log. */
static bool setup(Trainer *tr, int64_t *first_epoch) {
  const MtlModelInfo *m = tr->m;
  const MtlTrainOpts *o = tr->o;
  bool found;
  if (!mtl_load_split(&tr->train, m, "train", o->overrides, o->n_overrides, o->limit_train, &found))
    return false;
  if (!found) {
    mtl_set_error("model %s: no train data; bind it in a data block or give --data train.NAME=PATH",
                  m->name);
    return false;
  }
  if (!mtl_load_split(&tr->test, m, "test", o->overrides, o->n_overrides, o->limit_test,
                      &tr->have_test))
    return false;
  if (!bufs_alloc(&tr->b, m, tr->train.n, true))
    return false;
  int64_t first = 0;
  *first_epoch = 0;
  if (tr->comm && !tr->lead) {
    /* rank 0's state comes below */
  } else if (o->resume) {
    MtlCkptMeta meta;
    if (!mtl_ckpt_load(o->resume, m, tr->b.params, tr->b.state, tr->b.stats, &meta))
      return false;
    tr->step = meta.step, first = meta.epoch;
    *first_epoch = first;
    memcpy(tr->rng.s, meta.rng, sizeof meta.rng);
    if (first >= tr->epochs && !o->quiet && tr->lead)
      printf("%s: trained %" PRId64 " epochs already, of %" PRId64 "\n", o->resume, first,
             tr->epochs);
  } else {
    m->init(tr->b.params, tr->b.stats, m->seed);
    mtl_rng_seed(&tr->rng, m->seed ^ SHUFFLE_STREAM);
  }
  if (o->log && !(tr->log = fopen(o->log, o->resume ? "a" : "w"))) {
    mtl_set_error("%s: cannot open the log: %s", o->log, strerror(errno));
    return false;
  }
  return true;
}

/* the options every rank must share, hashed */
static uint64_t options_hash(const Trainer *tr) {
  const MtlTrainOpts *o = tr->o;
  int64_t v[] = {tr->B, tr->epochs, o->limit_train, o->limit_test, o->resume != NULL};
  uint64_t h = mtl_hash(0xcbf29ce484222325ull, v, sizeof v);
  for (int i = 0; i < o->n_overrides; i++)
    h = mtl_hash_str(mtl_hash_str(mtl_hash_str(h, o->overrides[i].split), o->overrides[i].name),
                     o->overrides[i].path);
  return h;
}

/* Set up (every rank agreeing that it could), rank 0's state to every
 * rank, then the epochs. */
static bool train(Trainer *tr, int64_t *first, bool *started) {
  bool ok = setup(tr, first);
  tr->local_fault = !ok;
  if (tr->comm) {
    if (!mtl_dist_agree(tr->comm, ok))
      return false;
    if (!mtl_dist_sync(tr->comm, tr->m, tr->b.params, tr->b.state, tr->b.stats, &tr->step,
                       tr->rng.s))
      return false;
    int64_t e = *first;
    if (!tr->comm->bcast(&e, sizeof e))
      return false;
    *first = e;
  } else if (!ok) {
    return false;
  }
  *started = true;
  return run_epochs(tr, *first);
}

/* Where the checkpoint will go must be a writable folder: found out before
 * the first epoch, not after it. */
static bool save_dir_ok(const char *path) {
  struct stat st;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
    mtl_set_error("%s: is a folder; --save needs a checkpoint file's path, like %s/model.safetensors",
                  path, path);
    return false;
  }
  char dir[4096];
  const char *slash = strrchr(path, '/');
  size_t n = slash ? (size_t)(slash - path) : 0;
  if (n >= sizeof dir)
    n = sizeof dir - 1;
  memcpy(dir, path, n);
  dir[n] = '\0';
  if (!slash)
    strcpy(dir, ".");
  else if (n == 0)
    strcpy(dir, "/");
  if (access(dir, W_OK | X_OK) != 0) {
    mtl_set_error("%s: cannot save a checkpoint there: folder '%s': %s", path, dir,
                  strerror(errno));
    return false;
  }
  return true;
}

int mtl_train(const MtlModelInfo *m, const MtlTrainOpts *o) {
  if (!check_model(m))
    return fail();
  const MtlComm *c = o->comm && o->comm->size > 1 ? o->comm : NULL;
  MtlTrainOpts mine = *o;
  if (c && c->rank > 0)
    mine.quiet = true, mine.save = mine.log = NULL;
  Trainer tr = {.m = m, .o = &mine, .comm = c, .lead = !c || c->rank == 0};
  tr.B = o->batch > 0 ? o->batch : m->batch;
  tr.epochs = o->epochs > 0 ? o->epochs : m->epochs;
  if (c && !mtl_dist_check(c, m, options_hash(&tr), tr.B))
    return tr.lead ? fail() : 1;
  if (tr.B < 1 || tr.B > m->batch_max) {
    mtl_set_error("batch %" PRId64 " is not in 1..%" PRId64 ", the largest model %s was "
                  "built for", tr.B, m->batch_max, m->name);
    return fail();
  }
#ifndef MTL_NO_BLAS
  if (o->threads > 0)
    openblas_set_num_threads(o->threads);
#endif
  bool ok = !mine.save || save_dir_ok(mine.save);
  if (c && !mtl_dist_agree(c, ok))
    return ok && !tr.lead ? 1 : fail_rank(c);
  if (!ok)
    return fail();
  tr.tty = !mine.quiet && isatty(fileno(stderr));
  bool started = false;
  int64_t first = 0;
  ok = train(&tr, &first, &started);
  if (!ok && c && started) {
    /* a fault mid-training: the other ranks wait in a collective */
    fail_rank(c);
    c->abort(1);
  }
  if (tr.log && fclose(tr.log) != 0 && ok) {
    mtl_set_error("%s: cannot write the log: %s", o->log, strerror(errno));
    ok = false;
  }
  bufs_free(&tr.b);
  mtl_split_free(&tr.train);
  mtl_split_free(&tr.test);
  if (ok)
    return 0;
  /* the rank that failed says why; rank 0 says which one it was */
  return !c || tr.lead || tr.local_fault ? fail_rank(c) : 1;
}

int mtl_eval(const MtlModelInfo *m, const char *ckpt, const MtlOverride *ov, int n_ov,
             int64_t limit) {
  if (!check_model(m))
    return fail();
  MtlSplit test = {0};
  Bufs b = {0};
  Metric mt[64];
  bool found = false;
  bool ok = bufs_alloc(&b, m, 0, false) && mtl_ckpt_load(ckpt, m, b.params, NULL, b.stats, NULL) &&
            mtl_load_split(&test, m, "test", ov, n_ov, limit, &found);
  if (ok && !found) {
    mtl_set_error("model %s: no test data; bind it in a data block or give --data "
                  "test.NAME=PATH", m->name);
    ok = false;
  }
  if (ok) {
    evaluate(&b, &test, mt);
    int w = name_width(m);
    for (int t = 0; t < m->n_tasks; t++) {
      char buf[160];
      metric_text(buf, sizeof buf, &m->tasks[t], &mt[t]);
      printf("%-*s  %s\n", w, m->tasks[t].name, buf);
    }
  }
  bufs_free(&b);
  mtl_split_free(&test);
  return ok ? 0 : fail();
}
