/* mtl_train.c: the training loop. Drives a model through its MtlModelInfo:
 * one allocation per buffer group, a seeded shuffle per epoch, batches
 * gathered into fixed buffers, the learning-rate schedule and its warmup,
 * per-task losses and regularizer values, valid and test metrics, a
 * progress line on a terminal, a JSON log line and a checkpoint per epoch,
 * the best epoch by a watched valid value (its own checkpoint, early
 * stopping: mtl_monitor.c), Ctrl-C; mtl_eval for a saved checkpoint. Everything the
 * loop's future depends on (parameters, optimizer state, the global step,
 * the epoch, the shuffle RNG) is in the checkpoint, so training 2 epochs
 * equals training 1, saving and resuming for 1, bit for bit. A loss, a
 * parameter or an optimizer state that turns non-finite stops the run
 * (exit status 1) before it is saved. Reads and writes files only through
 * mtl_data.c and mtl_ckpt.c, and the log's whole lines through
 * mtl_write.c; a failed write of the log or of stdout fails the run. Data
 * parallel over ranks (mtl_dist.h) when mtl_train is given a communicator. */
#include "mtl_dist.h"
#include "mtl_monitor.h"
#include "mtl_write.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
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

/* warmup=N: the first N steps ramp linearly to the schedule's rate, step
 * t (1-based) at t / N of it */
double mtl_step_lr(const MtlModelInfo *m, double lr, int64_t t) {
  return m->warmup > 0 && t < m->warmup ? lr * (double)t / (double)m->warmup : lr;
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

/* OpenBLAS's threads (mtl_set_threads): one inside a team's workers
 * (mtl_team.c), the team's number for evaluation, which runs on the
 * calling thread alone */
static int eval_threads; /* > 0: a team trains */

/* Per-task test metrics over the whole split, in batches of batch_max. */
static void evaluate(Bufs *b, const MtlSplit *s, Metric *mt) {
  const MtlModelInfo *m = b->m;
  float loss[64];
  memset(mt, 0, (size_t)m->n_tasks * sizeof *mt);
  if (eval_threads > 0)
    mtl_set_threads(eval_threads);
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
  if (eval_threads > 0)
    mtl_set_threads(1);
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

/* What an epoch reports: per-task train losses (per-sample means), the
 * regularizers' values (means over samples of the step's value), valid and
 * test metrics, and the best epoch so far by the watched valid value. */
typedef struct {
  int64_t epoch, epochs; /* 1-based */
  double lr, secs;
  const double *train, *reg;
  const double *weights;      /* the epoch's mean balancing weights; NULL under static */
  const Metric *valid, *test; /* NULL when the split is not bound */
  const MtlMonitor *mon;      /* NULL without a valid split */
  bool improved;
} Epoch;

/* {"item": {"loss": ..., "accuracy": ...}, ...} */
static void log_metrics(FILE *f, const MtlModelInfo *m, const Metric *mt) {
  fputs("{", f);
  for (int t = 0; t < m->n_tasks; t++) {
    const MtlTaskInfo *k = &m->tasks[t];
    fputs(t ? ", " : "", f);
    json_str(f, k->name);
    fputs(": {\"loss\": ", f);
    json_num(f, mt[t].n ? mt[t].loss / (double)mt[t].n : NAN);
    if ((k->metrics & MTL_METRIC_ACCURACY) && k->kind != MTL_LABEL_REAL && mt[t].n)
      fputs(", \"accuracy\": ", f), json_num(f, mt[t].correct / (double)mt[t].n);
    if ((k->metrics & MTL_METRIC_MSE) && mt[t].values)
      fputs(", \"mse\": ", f), json_num(f, mt[t].se / (double)mt[t].values);
    if ((k->metrics & MTL_METRIC_MAE) && mt[t].values)
      fputs(", \"mae\": ", f), json_num(f, mt[t].ae / (double)mt[t].values);
    fputs("}", f);
  }
  fputs("}", f);
}

/* {"NAME": x, ...} over the tasks' or the regularizers' names */
static void log_values(FILE *f, const char *key, const MtlModelInfo *m, bool regs,
                       const double *x) {
  fprintf(f, ", \"%s\": {", key);
  for (int i = 0; i < (regs ? m->n_regs : m->n_tasks); i++) {
    fputs(i ? ", " : "", f);
    json_str(f, regs ? m->regs[i].name : m->tasks[i].name);
    fputs(": ", f);
    json_num(f, x[i]);
  }
  fputs("}", f);
}

/* a balanced step's line: {"step": 12, "epoch": 1, "weights": {...}} */
static void log_step(FILE *f, const MtlModelInfo *m, int64_t step, int64_t epoch,
                     const double *w) {
  fprintf(f, "{\"step\": %" PRId64 ", \"epoch\": %" PRId64, step, epoch);
  log_values(f, "weights", m, false, w);
  fputs("}\n", f);
}

static void log_epoch(FILE *f, const MtlModelInfo *m, const Epoch *ep) {
  fprintf(f, "{\"epoch\": %" PRId64 ", \"lr\": ", ep->epoch);
  json_num(f, ep->lr);
  log_values(f, "train_loss", m, false, ep->train);
  if (ep->weights) /* the epoch's mean weights */
    log_values(f, "weights", m, false, ep->weights);
  if (m->n_regs)
    log_values(f, "reg", m, true, ep->reg);
  if (ep->valid)
    fputs(", \"valid\": ", f), log_metrics(f, m, ep->valid);
  if (ep->test)
    fputs(", \"test\": ", f), log_metrics(f, m, ep->test);
  if (ep->mon) {
    fputs(", \"watch\": ", f);
    json_str(f, ep->mon->name);
    fprintf(f, ", \"best_epoch\": %" PRId64 ", \"best\": %s", ep->mon->best_epoch,
            ep->improved ? "true" : "false");
  }
  fprintf(f, ", \"seconds\": %.3f}\n", isfinite(ep->secs) ? ep->secs : 0.0);
  fflush(f);
}

/* "  valid item acc 0.8912 loss 0.3011, category acc ..." */
static void print_metrics(const MtlModelInfo *m, const char *split, const Metric *mt) {
  printf("  %s", split);
  for (int t = 0; t < m->n_tasks; t++) {
    char buf[160];
    metric_text(buf, sizeof buf, &m->tasks[t], &mt[t]);
    printf("%s %s %s", t ? "," : "", m->tasks[t].name, buf);
  }
}

/* epoch 3/10  train loss item 0.3121 category 0.1402  reg l2_distance(tower) 0.0123
 *   valid item acc ...  test item acc ... (12.3 s) */
static void print_epoch(const MtlModelInfo *m, const Epoch *ep) {
  int ew = snprintf(NULL, 0, "%" PRId64, ep->epochs);
  printf("epoch %*" PRId64 "/%" PRId64, ew, ep->epoch, ep->epochs);
  if (m->schedule != MTL_SCHED_CONSTANT || m->warmup > 0)
    printf("  lr %.3e", ep->lr);
  printf("  train loss");
  for (int t = 0; t < m->n_tasks; t++)
    printf(" %s %.4f", m->tasks[t].name, ep->train[t]);
  if (ep->weights) {
    printf("  weights");
    for (int t = 0; t < m->n_tasks; t++)
      printf(" %s %.4f", m->tasks[t].name, ep->weights[t]);
  }
  if (m->n_regs)
    printf("  reg");
  for (int r = 0; r < m->n_regs; r++)
    printf(" %s %.4g", m->regs[r].name, ep->reg[r]);
  if (ep->valid)
    print_metrics(m, "valid", ep->valid);
  if (ep->test)
    print_metrics(m, "test", ep->test);
  printf("  (%.1f s)\n", ep->secs);
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
  if (m->n_tasks > 64 || m->n_tasks < 1 || m->n_regs < 0 || m->n_regs > 64 ||
      m->batch_max < 1) {
    mtl_set_error("model %s: %d tasks, %d regularizers and batch_max %" PRId64 " (want 1..64 "
                  "tasks, at most 64 regularizers)", m->name, m->n_tasks, m->n_regs,
                  m->batch_max);
    return false;
  }
  bool phased = m->balance != MTL_BAL_STATIC;
  if ((int)m->balance < 0 || m->balance >= MTL_BAL_COUNT ||
      (phased ? !m->train_begin || !m->train_end : !m->train_step)) {
    mtl_set_error("model %s: balance %d without its training entry points (a bug in mtlc)",
                  m->name, (int)m->balance);
    return false;
  }
  return true;
}

typedef struct {
  const MtlModelInfo *m;
  const MtlTrainOpts *o;
  Bufs b;
  MtlSplit train, test, valid;
  bool have_test, have_valid;
  int64_t B, epochs, step;
  int64_t opt_start;   /* the step the optimizer's state started at */
  MtlRng rng;
  MtlBalancer *bal;
  double weights[64]; /* the epoch's mean weights */
  int log; /* the --log file, or -1 */
  bool tty;
  const MtlComm *comm; /* data parallel: more than one rank, else NULL */
  bool lead;           /* rank 0, or the only process: prints, logs, saves */
  bool local_fault;    /* this rank's own setup failed */
  MtlMonitor mon;      /* rank 0's, broadcast after every epoch */
  MtlDistTimes times;  /* data parallel: the allreduce's share of the steps */
  int threads;         /* --threads, else the cores */
  MtlTeam *team;       /* batch-parallel threads of this process (--threads), or NULL */
  char *best_path;     /* the best epoch's checkpoint, beside --save's */
  int64_t saved_epoch, best_saved; /* what the checkpoints hold: epochs, 0: none */
  bool interrupted;
} Trainer;

/* "training stopped, CKPT not overwritten": how a run that goes
 * non-finite ends */
static void stopped(char *buf, size_t cap, const Trainer *tr) {
  snprintf(buf, cap, "training stopped%s%s%s", tr->o->save ? ", " : "",
           tr->o->save ? tr->o->save : "", tr->o->save ? " not overwritten" : "");
}

/* A non-finite loss spreads to every parameter it reaches (a shared
 * trunk's, so every task's): the run stops at the step, before an epoch's
 * checkpoint could overwrite the last good one. */
static bool losses_finite(const Trainer *tr, const float *losses, int64_t epoch, int64_t s,
                          int64_t steps) {
  char end[4200], where[4200] = "";
  for (int t = 0; t < tr->m->n_tasks; t++)
    if (!isfinite(losses[t])) {
      const MtlTaskInfo *k = &tr->m->tasks[t];
      stopped(end, sizeof end, tr);
      if (k->line > 0 && tr->m->spec) /* where the task is declared, as the compiler's messages */
        snprintf(where, sizeof where, "%s:%d: ", tr->m->spec, k->line);
      /* where it came from, by mtlc's interpreter on the step's state
       * (before its update: the balancer stops a step whose loss is not
       * finite) */
      const char *origin = NULL;
      if (tr->o->explain && !tr->comm)
        origin = tr->o->explain(tr->o->explain_ctx, tr->b.params, tr->b.stats,
                                (const void *const *)tr->b.data,
                                tr->train.n - s * tr->B < tr->B ? tr->train.n - s * tr->B : tr->B,
                                tr->b.hyper, step_seed(tr->m->seed, tr->step));
      mtl_set_error("%stask %s: the training loss is %s at step %" PRId64 " (epoch %" PRId64
                    ", batch %" PRId64 " of %" PRId64 ")%s%s; %s (a smaller learning rate may "
                    "help)", where, k->name, mtl_nonfinite_name(losses[t]), tr->step,
                    epoch + 1, s + 1, steps, origin ? "; the first value that is not finite: " : "",
                    origin ? origin : "", end);
      return false;
    }
  return true;
}

/* The update after the last loss can overflow too: parameters, running
 * statistics and optimizer state are checked before anything is saved or
 * reported. */
static bool state_finite(const Trainer *tr, int64_t epoch) {
  const MtlModelInfo *m = tr->m;
  const struct {
    const char *what;
    const MtlTensor *t;
    int n;
    const float *base;
  } groups[] = {{"parameter", m->param_tensors, m->n_param_tensors, tr->b.params},
                {"running statistic", m->stat_tensors, m->n_stat_tensors, tr->b.stats},
                {"optimizer state", m->state_tensors, m->n_state_tensors, tr->b.state}};
  char end[4200];
  for (size_t g = 0; g < sizeof groups / sizeof *groups; g++) {
    const MtlTensor *ts = groups[g].t;
    for (int i = 0; i < groups[g].n; i++)
      for (int64_t j = 0; j < ts[i].numel; j++) {
        float x = groups[g].base[ts[i].offset + j];
        if (isfinite(x))
          continue;
        stopped(end, sizeof end, tr);
        mtl_set_error("%s %s: value %" PRId64 " is %s after step %" PRId64 " (epoch %" PRId64
                      "); %s", groups[g].what, ts[i].name, j, mtl_nonfinite_name(x), tr->step,
                      epoch + 1, end);
        return false;
      }
  }
  return true;
}

/* One line of the log, an epoch's (EP) or else a balanced step's weights
 * (W), written whole with one write: on a failure (a full disk) the file
 * is cut back to its last whole line and the run fails naming the log. */
static bool log_line(Trainer *tr, const Epoch *ep, int64_t step, int64_t epoch, const double *w) {
  char *line = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&line, &n);
  if (!f) {
    mtl_set_error("%s: cannot write the log: out of memory", tr->o->log);
    return false;
  }
  if (ep)
    log_epoch(f, tr->m, ep);
  else
    log_step(f, tr->m, step, epoch, w);
  bool ok = fclose(f) == 0;
  off_t at = lseek(tr->log, 0, SEEK_END);
  if (!ok)
    errno = ENOMEM;
  ok = ok && mtl_write_all(tr->log, line, n);
  if (!ok) {
    int saved = errno;
    if (at >= 0 && ftruncate(tr->log, at) != 0)
      at = -1; /* not a file that can be cut (/dev/full): nothing to undo */
    mtl_set_error("%s: cannot write the log: %s", tr->o->log, strerror(saved));
  }
  free(line);
  return ok;
}

/* Ctrl-C: the loop stops between steps, says what was saved, and
 * mtl_train returns 130; a second Ctrl-C kills at once. */
static volatile sig_atomic_t stop_requested;
static void on_sigint(int sig) {
  (void)sig;
  stop_requested = 1;
}

/* Whether to stop before this step: Ctrl-C here, or on any rank (the
 * ranks stop at the same step) */
static bool stop_now(const Trainer *tr) {
  return tr->comm ? mtl_dist_any(tr->comm, stop_requested) : stop_requested;
}

/* One epoch over the train split; fills loss[t] (per-sample means),
 * reg[r] (the regularizers' values, averaged the same way), the mean
 * balancing weights, and *lr_last, the last step's rate. False when
 * interrupted, or (mtl_error() set) when a rank failed, when a loss, a
 * gradient or a weight is not finite or the log cannot be written. */
static bool train_epoch(Trainer *tr, int64_t epoch, double lr, double *loss, double *reg,
                        double *lr_last) {
  const MtlModelInfo *m = tr->m;
  double b1 = m->beta1, b2 = m->beta2;
  if (b1 == 0 && b2 == 0)
    b1 = 0.9, b2 = 0.999;
  int64_t n = tr->train.n, steps = (n + tr->B - 1) / tr->B;
  double t0 = now(), drawn = 0;
  float losses[128];
  int T = m->n_tasks;
  for (int k = 0; k < T + m->n_regs; k++)
    *(k < T ? &loss[k] : &reg[k - T]) = 0;
  for (int k = 0; k < T; k++)
    tr->weights[k] = 0;
  shuffle(tr->b.idx, n, &tr->rng);
  *lr_last = lr;
  if (tr->team && !mtl_team_sync(tr->team))
    return false;
  for (int64_t s = 0; s < steps; s++) {
    double t_step = now();
    if (stop_now(tr)) {
      tr->interrupted = true;
      if (tr->tty)
        fputs("\r\033[K", stderr);
      if (tr->lead)
        fprintf(stderr, "mtlc: interrupted in epoch %" PRId64 ", after step %" PRId64 " of %"
                PRId64 "\n", epoch + 1, s, steps);
      return false;
    }
    int64_t from = s * tr->B, B = n - from < tr->B ? n - from : tr->B, lo = 0, nb = B;
    if (tr->team)
      mtl_team_span(tr->team, B, &lo, &nb);
    else if (tr->comm)
      mtl_dist_shard(tr->comm, B, &lo, &nb);
    gather(&tr->b, &tr->train, tr->b.idx + from + lo, nb);
    int64_t t = ++tr->step, t_opt = t - tr->opt_start;
    float *hyper = tr->b.hyper;
    *lr_last = mtl_step_lr(m, lr, t);
    hyper[MTL_HYPER_LR] = (float)*lr_last;
    hyper[MTL_HYPER_C1] = (float)(1 - pow(b1, (double)t_opt));
    hyper[MTL_HYPER_C2] = (float)(1 - pow(b2, (double)t_opt));
    memset(tr->b.grads, 0, (size_t)m->n_params * sizeof(float));
    const double *w = NULL; /* the balancer's weights */
    if (tr->team) {
      if (!mtl_team_step(tr->team, (const void *const *)tr->b.data, B, step_seed(m->seed, t), t,
                         epoch, losses, tr->comm ? &tr->times : NULL)) {
        if (tr->tty)
          fputs("\r\033[K", stderr);
        (void)losses_finite(tr, losses, epoch, s, steps); /* a loss's message names its line */
        return false;
      }
      if (m->balance != MTL_BAL_STATIC)
        w = mtl_balance_weights(tr->bal);
    } else if (tr->comm && m->balance == MTL_BAL_STATIC) {
      for (int k = 0; k < T && MTL_HYPER_TASKS + k < m->n_hyper; k++)
        hyper[MTL_HYPER_TASKS + k] = (float)m->tasks[k].weight;
      if (!mtl_dist_step(tr->comm, m, tr->b.params, tr->b.grads, tr->b.state, tr->b.stats,
                         tr->b.act, (const void *const *)tr->b.data, nb, B, hyper,
                         step_seed(m->seed, t), losses, &tr->times))
        return false;
    } else if (tr->comm) { /* a method that weighs losses (mtl_train refuses the others) */
      MtlStep st = {tr->b.params, tr->b.grads, tr->b.state, tr->b.stats, tr->b.act,
                    (const void *const *)tr->b.data, nb, hyper, step_seed(m->seed, t), losses, t,
                    epoch};
      if (!mtl_dist_balance_step(tr->comm, m, tr->bal, &st, B, &tr->times)) {
        (void)losses_finite(tr, losses, epoch, s, steps); /* a loss's message names its line */
        return false;
      }
      w = mtl_balance_weights(tr->bal);
    } else {
      /* the balancer sets the tasks' weights in hyper[] and runs the step */
      MtlStep st = {tr->b.params, tr->b.grads, tr->b.state, tr->b.stats, tr->b.act,
                    (const void *const *)tr->b.data, B, hyper, step_seed(m->seed, t), losses, t,
                    epoch};
      if (!mtl_balance_step(tr->bal, &st)) {
        if (tr->tty)
          fputs("\r\033[K", stderr);
        (void)losses_finite(tr, losses, epoch, s, steps); /* a loss's message names its line */
        return false;
      }
      w = mtl_balance_weights(tr->bal);
    }
    for (int k = 0; k < T + m->n_regs; k++)
      *(k < T ? &loss[k] : &reg[k - T]) += (double)losses[k] * (double)B;
    for (int k = 0; w && k < T; k++)
      tr->weights[k] += w[k] / (double)steps;
    if (!losses_finite(tr, losses, epoch, s, steps))
      return false;
    if (tr->log >= 0 && w && m->balance != MTL_BAL_STATIC && !log_line(tr, NULL, t, epoch + 1, w))
      return false;
    double tn = now();
    if (tr->tty && (tn - drawn > 0.1 || s + 1 == steps)) {
      progress(m, epoch + 1, tr->epochs, s + 1, steps, from + B, n,
               (double)(from + B) / (tn - t0 + 1e-9), loss);
      drawn = tn;
    }
    if (tr->comm) { /* the whole step: the stop flag, the shard, grad_step to update */
      tr->times.steps++;
      tr->times.step_s += now() - t_step;
    }
  }
  if (tr->tty)
    fputs("\r\033[K", stderr);
  for (int k = 0; k < T + m->n_regs; k++)
    *(k < T ? &loss[k] : &reg[k - T]) /= (double)n;
  mtl_balance_epoch_end(tr->bal, loss);
  return true;
}

/* what was printed reached its file (a full disk, a closed pipe) */
static bool stdout_ok(void) {
  if (fflush(stdout) == 0 && !ferror(stdout))
    return true;
  mtl_set_error("cannot write the standard output: %s", strerror(errno));
  return false;
}

/* The watched value of the valid metrics: a task's loss or metric, or the
 * weighted sum of the tasks' losses. */
static double watched(const MtlModelInfo *m, const MtlMonitor *w, const Metric *mt) {
  if (w->task < 0) {
    double sum = 0;
    for (int t = 0; t < m->n_tasks; t++)
      sum += m->tasks[t].weight * (mt[t].n ? mt[t].loss / (double)mt[t].n : 0);
    return sum;
  }
  const Metric *x = &mt[w->task];
  switch (w->metric) {
  case MTL_METRIC_ACCURACY: return x->n ? x->correct / (double)x->n : 0;
  case MTL_METRIC_MSE: return x->values ? x->se / (double)x->values : 0;
  case MTL_METRIC_MAE: return x->values ? x->ae / (double)x->values : 0;
  default: return x->n ? x->loss / (double)x->n : 0;
  }
}

/* The epoch's checkpoint, and the best one when this epoch is the best. */
static bool save(Trainer *tr, int64_t e, bool improved) {
  const MtlModelInfo *m = tr->m;
  static MtlCkptMeta meta; /* 4 KB: not on the stack */
  meta = (MtlCkptMeta){.step = tr->step, .epoch = e, .opt_start = tr->opt_start,
                       .best_epoch = tr->mon.best_epoch, .since_best = tr->mon.since,
                       .best = tr->mon.best};
  memcpy(meta.rng, tr->rng.s, sizeof meta.rng);
  if (m->balance != MTL_BAL_STATIC) {
    snprintf(meta.balance, sizeof meta.balance, "%s", mtl_balance_name(m->balance));
    meta.n_balance_state = mtl_balance_save(tr->bal, meta.balance_state);
  }
  if (!mtl_ckpt_save(tr->o->save, m, tr->b.params, tr->b.state, tr->b.stats, &meta))
    return false;
  tr->saved_epoch = e;
  if (!improved || !tr->best_path)
    return true;
  if (!mtl_ckpt_save(tr->best_path, m, tr->b.params, tr->b.state, tr->b.stats, &meta))
    return false;
  tr->best_saved = e;
  if (!tr->o->quiet)
    printf("  valid %s is the best so far (%.6g): saved %s\n", tr->mon.name, tr->mon.best,
           tr->best_path);
  return true;
}

static bool run_epochs(Trainer *tr, int64_t first) {
  const MtlModelInfo *m = tr->m;
  double loss[64] = {0}, reg[64] = {0};
  Metric test[64] = {{0}}, valid[64] = {{0}};
  for (int64_t e = first; e < tr->epochs && !mtl_monitor_stop(&tr->mon); e++) {
    double t0 = now(), lr = mtl_schedule_lr(m, e, tr->epochs), lr_last;
    if (!train_epoch(tr, e, lr, loss, reg, &lr_last) || !state_finite(tr, e))
      return false; /* interrupted, a rank failed, or not finite */
    /* rank 0 evaluates and decides; the others learn whether to stop */
    if (tr->have_valid && tr->lead)
      evaluate(&tr->b, &tr->valid, valid);
    if (tr->have_test && tr->lead)
      evaluate(&tr->b, &tr->test, test);
    bool improved = tr->have_valid && tr->lead &&
                    mtl_monitor_update(&tr->mon, e + 1, watched(m, &tr->mon, valid));
    if (tr->comm && !tr->comm->bcast(&tr->mon, sizeof tr->mon)) {
      mtl_set_error("rank %d: rank 0's early-stop decision did not arrive", tr->comm->rank);
      return false;
    }
    Epoch ep = {.epoch = e + 1, .epochs = tr->epochs, .lr = lr_last, .secs = now() - t0,
                .train = loss, .reg = reg,
                .weights = m->balance != MTL_BAL_STATIC ? tr->weights : NULL, .valid = tr->have_valid ? valid : NULL,
                .test = tr->have_test ? test : NULL, .mon = tr->have_valid ? &tr->mon : NULL,
                .improved = improved};
    if (!tr->o->quiet) {
      print_epoch(m, &ep);
      if (!stdout_ok())
        return false;
    }
    /* the log first: a save that fails leaves the epoch's line, not a gap */
    if (tr->log >= 0 && !log_line(tr, &ep, 0, 0, NULL))
      return false;
    if (tr->o->save && !save(tr, e + 1, improved))
      return false;
  }
  if (mtl_monitor_stop(&tr->mon) && !tr->o->quiet)
    printf("early stop: valid %s has not improved for %" PRId64 " epoch%s; the best was epoch %"
           PRId64 " (%.6g)%s%s\n", tr->mon.name, tr->mon.since, tr->mon.since == 1 ? "" : "s",
           tr->mon.best_epoch, tr->mon.best, tr->best_saved ? ", in " : "",
           tr->best_saved ? tr->best_path : "");
  return true;
}

/* After Ctrl-C: what the checkpoints hold, or that nothing was saved. */
static void report_interrupt(const Trainer *tr) {
  if (!tr->o->save || !tr->saved_epoch) {
    fprintf(stderr, "mtlc: nothing was saved%s\n", tr->o->save ? " in this run" :
            " (--save CKPT keeps a checkpoint after every epoch)");
    return;
  }
  fprintf(stderr, "mtlc: %s holds epoch %" PRId64, tr->o->save, tr->saved_epoch);
  if (tr->best_saved)
    fprintf(stderr, "; %s holds epoch %" PRId64 ", the best by valid %s", tr->best_path,
            tr->best_saved, tr->mon.name);
  fprintf(stderr, "; --resume %s continues from it\n", tr->o->save);
}

/* The splits: train (required), test and valid (when bound). */
static bool load_splits(Trainer *tr) {
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
  return mtl_load_split(&tr->test, m, "test", o->overrides, o->n_overrides, o->limit_test,
                        &tr->have_test) &&
         mtl_load_split(&tr->valid, m, "valid", o->overrides, o->n_overrides, o->limit_test,
                        &tr->have_valid);
}

/* --resume: the state of the loop; another optimizer's state (or none)
 * starts fresh, said in a note. */
static bool resume(Trainer *tr, int64_t *first) {
  const MtlModelInfo *m = tr->m;
  const char *path = tr->o->resume, *opt = mtl_optimizer_name(m->optimizer);
  static MtlCkptMeta meta; /* 4 KB: not on the stack */
  if (!mtl_ckpt_load(path, m, tr->b.params, tr->b.state, tr->b.stats, &meta))
    return false;
  tr->step = meta.step, *first = meta.epoch, tr->opt_start = meta.opt_start;
  memcpy(tr->rng.s, meta.rng, sizeof meta.rng);
  if (m->balance != MTL_BAL_STATIC && strcmp(meta.balance, mtl_balance_name(m->balance)) != 0) {
    mtl_set_error("%s: saved %s%s, and model %s balances with %s; it cannot resume "
                  "training", path, meta.balance[0] ? "under balance " : "without a "
                  "balancer's state", meta.balance, m->name, mtl_balance_name(m->balance));
    return false;
  }
  if (m->balance != MTL_BAL_STATIC &&
      !mtl_balance_load(tr->bal, meta.balance_state, meta.n_balance_state, path))
    return false;
  tr->mon.best_epoch = meta.best_epoch, tr->mon.since = meta.since_best, tr->mon.best = meta.best;
  int64_t steps = (tr->train.n + tr->B - 1) / tr->B; /* per epoch */
  if (*first < tr->epochs && (tr->epochs - *first) > (INT64_MAX - tr->step) / steps) {
    mtl_set_error("%s: step %" PRId64 " and %" PRId64 " more epochs of %" PRId64 " steps pass "
                  "the largest step count", path, tr->step, tr->epochs - *first, steps);
    return false;
  }
  bool other = meta.optimizer[0] && strcmp(meta.optimizer, opt);
  if (meta.state_fresh && m->n_state_tensors) {
    tr->opt_start = meta.step;
    fprintf(stderr, "mtlc: note: %s holds no %s state%s%s%s; it starts fresh at step %" PRId64
            "\n", path, opt, other ? " (it was saved with " : "", other ? meta.optimizer : "",
            other ? ")" : "", meta.step);
  } else if (other) {
    fprintf(stderr, "mtlc: note: %s was saved with %s; its optimizer state carries over to %s\n",
            path, meta.optimizer, opt);
  }
  if (*first >= tr->epochs && !tr->o->quiet)
    printf("%s: trained %" PRId64 " epochs already, of %" PRId64 "\n", path, *first, tr->epochs);
  return true;
}

/* Data, buffers, initial or resumed state (rank 0's alone), the log. */
static bool setup(Trainer *tr, int64_t *first_epoch) {
  const MtlModelInfo *m = tr->m;
  const MtlTrainOpts *o = tr->o;
  if (!load_splits(tr))
    return false;
  if (tr->mon.patience > 0 && !tr->have_valid) {
    mtl_set_error("model %s: early_stop watches the valid split, which is not bound; add a "
                  "data valid block or give --data valid.NAME=PATH", m->name);
    return false;
  }
  if (o->watch && !tr->have_valid) {
    mtl_set_error("model %s: --best %s watches the valid split, which is not bound; add a "
                  "data valid block or give --data valid.NAME=PATH", m->name, o->watch);
    return false;
  }
  if (!bufs_alloc(&tr->b, m, tr->train.n, true) || !(tr->bal = mtl_balancer_new(m)))
    return false;
  /* a team of threads in one process, and in each rank given --threads */
  int ranks = tr->comm ? tr->comm->size : 1;
  if ((!tr->comm || tr->o->threads > 1) && mtl_team_pays(m, tr->B / ranks, tr->threads)) {
    MtlTeamBufs mine = {tr->b.params, tr->b.grads, tr->b.state, tr->b.stats, tr->b.act,
                        tr->b.hyper, tr->bal};
    if (!(tr->team = mtl_team_new(m, tr->threads, &mine, tr->comm)))
      return false;
    mtl_set_threads(1);
    eval_threads = tr->threads;
  }
  int64_t first = 0;
  if (tr->comm && !tr->lead) {
    /* rank 0's state comes in train() */
  } else if (o->resume) {
    if (!resume(tr, &first))
      return false;
  } else {
    m->init(tr->b.params, tr->b.stats, m->seed);
    mtl_rng_seed(&tr->rng, m->seed ^ SHUFFLE_STREAM);
    mtl_norm_stats(&tr->train, m, tr->b.stats);
  }
  *first_epoch = first;
  if (o->log && (tr->log = open(o->log, O_WRONLY | O_CREAT | O_CLOEXEC |
                                 (o->resume ? O_APPEND : O_TRUNC), 0666)) < 0) {
    mtl_set_error("%s: cannot open the log: %s", o->log, strerror(errno));
    return false;
  }
  return true;
}

/* the options every rank must share, hashed */
static uint64_t options_hash(const Trainer *tr) {
  const MtlTrainOpts *o = tr->o;
  int64_t v[] = {tr->B, tr->epochs, o->limit_train, o->limit_test, o->resume != NULL,
                 o->threads};
  uint64_t h = mtl_hash(0xcbf29ce484222325ull, v, sizeof v);
  for (int i = 0; i < o->n_overrides; i++) {
    const MtlOverride *ov = &o->overrides[i];
    h = mtl_hash_str(mtl_hash_str(mtl_hash_str(h, ov->split), ov->name), ov->path);
    int64_t csv[] = {ov->csv, ov->csv_column, ov->n_csv_columns, ov->delimiter};
    h = mtl_hash(h, csv, sizeof csv); /* :column=, :columns=, :delimiter= */
    if (ov->n_csv_columns > 0)
      h = mtl_hash(h, ov->csv_columns, (size_t)ov->n_csv_columns * sizeof *ov->csv_columns);
  }
  return mtl_hash_str(h, o->watch); /* --best: every rank must accept it */
}

/* Set up (every rank agreeing that it could), rank 0's state to every
 * rank (with the loop's: the epoch, the optimizer's first step, the
 * monitor), normalize(auto) by its statistics, then the epochs. */
/* rank 0's balancer state (resumed, or fresh) to every rank: DWA's loss
 * history, RLW's random stream, FAMO's logits */
static bool sync_balancer(Trainer *tr) {
  if (tr->m->balance == MTL_BAL_STATIC)
    return true;
  static uint64_t words[MTL_BALANCE_STATE_MAX]; /* 4 KB: not on the stack */
  int32_t n = tr->lead ? mtl_balance_save(tr->bal, words) : 0;
  return tr->comm->bcast(&n, sizeof n) && n >= 0 && n <= MTL_BALANCE_STATE_MAX &&
         tr->comm->bcast(words, (int64_t)n * (int64_t)sizeof *words) &&
         (tr->lead || mtl_balance_load(tr->bal, words, n, "rank 0's balancer state"));
}

static bool train(Trainer *tr, bool *started) {
  const MtlModelInfo *m = tr->m;
  int64_t first = 0;
  bool ok = setup(tr, &first);
  tr->local_fault = !ok;
  if (tr->comm) {
    if (!mtl_dist_agree(tr->comm, ok))
      return false;
    if (!mtl_dist_sync(tr->comm, m, tr->b.params, tr->b.state, tr->b.stats, &tr->step,
                       tr->rng.s))
      return false;
    if (!tr->comm->bcast(&first, sizeof first) ||
        !tr->comm->bcast(&tr->opt_start, sizeof tr->opt_start) ||
        !tr->comm->bcast(&tr->mon, sizeof tr->mon) || !sync_balancer(tr)) {
      mtl_set_error("rank %d: rank 0's state did not arrive", tr->comm->rank);
      return false;
    }
  } else if (!ok) {
    return false;
  }
  *started = true;
  mtl_normalize_auto(&tr->train, m, tr->b.stats);
  mtl_normalize_auto(&tr->test, m, tr->b.stats);
  mtl_normalize_auto(&tr->valid, m, tr->b.stats);
  return run_epochs(tr, first);
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

char *mtl_best_path(const char *save) {
  const char *slash = strrchr(save, '/'), *dot = strrchr(save, '.');
  size_t n = strlen(save), at = dot && (!slash || dot > slash + 1) ? (size_t)(dot - save) : n;
  char *p = malloc(n + 6);
  if (p)
    snprintf(p, n + 6, "%.*s.best%s", (int)at, save, save + at);
  return p;
}

int mtl_train(const MtlModelInfo *m, const MtlTrainOpts *o) {
  if (!check_model(m) || !mtl_check_overrides(m, o->overrides, o->n_overrides))
    return fail();
  const MtlComm *c = o->comm && o->comm->size > 1 ? o->comm : NULL;
  MtlTrainOpts mine = *o;
  if (c && c->rank > 0)
    mine.quiet = true, mine.save = mine.log = NULL;
  Trainer tr = {.m = m, .o = &mine, .comm = c, .lead = !c || c->rank == 0, .log = -1};
  tr.B = o->batch > 0 ? o->batch : m->batch;
  tr.epochs = o->epochs > 0 ? o->epochs : m->epochs;
  if (c && !mtl_dist_check(c, m, options_hash(&tr), tr.B))
    return tr.lead ? fail() : 1;
  if (tr.B < 1 || tr.B > m->batch_max) {
    mtl_set_error("batch %" PRId64 " is not in 1..%" PRId64 ", the largest model %s was "
                  "built for", tr.B, m->batch_max, m->name);
    return fail();
  }
  if (!mtl_monitor_init(&tr.mon, m, o->watch))
    return fail();
  /* a team of threads (setup): in one process, or in each rank given
   * --threads N; else OpenBLAS's threads */
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  long want = o->threads > 0 ? o->threads : cores > 1 ? cores : 1;
  tr.threads = (int)(want < 64 ? want : 64);
  if (o->threads > 0)
    mtl_set_threads(o->threads);
  bool ok = !mine.save || save_dir_ok(mine.save);
  if (c && !mtl_dist_agree(c, ok))
    return ok && !tr.lead ? 1 : fail_rank(c);
  if (!ok)
    return fail();
  if (mine.save && !(tr.best_path = mtl_best_path(mine.save))) {
    mtl_set_error("out of memory");
    return fail();
  }
  tr.tty = !mine.quiet && isatty(fileno(stderr));
  struct sigaction sa = {.sa_handler = on_sigint, .sa_flags = SA_RESETHAND}, old;
  sigemptyset(&sa.sa_mask);
  stop_requested = 0;
  sigaction(SIGINT, &sa, &old);
  bool started = false;
  ok = train(&tr, &started);
  sigaction(SIGINT, &old, NULL);
  if (c && mtl_dist_stats_wanted())
    mtl_dist_report(c, &tr.times);
  if (!ok && c && started && !tr.interrupted) {
    /* a fault mid-training: the other ranks wait in a collective */
    fail_rank(c);
    c->abort(1);
  }
  if (tr.log >= 0 && close(tr.log) != 0 && ok) {
    mtl_set_error("%s: cannot write the log: %s", o->log, strerror(errno));
    ok = false;
  }
  ok = ok && stdout_ok();
  if (tr.interrupted && tr.lead)
    report_interrupt(&tr);
  mtl_team_free(tr.team);
  eval_threads = 0;
  bufs_free(&tr.b);
  mtl_balancer_free(tr.bal);
  mtl_split_free(&tr.train);
  mtl_split_free(&tr.test);
  mtl_split_free(&tr.valid);
  free(tr.best_path);
  if (tr.interrupted)
    return 130;
  if (ok)
    return 0;
  /* the rank that failed says why; rank 0 says which one it was */
  return !c || tr.lead || tr.local_fault ? fail_rank(c) : 1;
}

int mtl_eval_split(const MtlModelInfo *m, const char *ckpt, const char *split,
                   const MtlOverride *ov, int n_ov, int64_t limit) {
  if (!check_model(m) || !mtl_check_overrides(m, ov, n_ov))
    return fail();
  MtlSplit test = {0};
  Bufs b = {0};
  Metric mt[64];
  bool found = false;
  bool ok = bufs_alloc(&b, m, 0, false) && mtl_ckpt_load(ckpt, m, b.params, NULL, b.stats, NULL) &&
            mtl_load_split(&test, m, split, ov, n_ov, limit, &found);
  if (ok && !found) {
    mtl_set_error("model %s: no %s data; bind it in a data block or give --data "
                  "%s.NAME=PATH", m->name, split, split);
    ok = false;
  }
  if (ok) {
    mtl_normalize_auto(&test, m, b.stats);
    evaluate(&b, &test, mt);
    int w = name_width(m);
    for (int t = 0; t < m->n_tasks; t++) {
      char buf[160];
      metric_text(buf, sizeof buf, &m->tasks[t], &mt[t]);
      printf("%-*s  %s\n", w, m->tasks[t].name, buf);
    }
    ok = stdout_ok();
  }
  bufs_free(&b);
  mtl_split_free(&test);
  return ok ? 0 : fail();
}

int mtl_eval(const MtlModelInfo *m, const char *ckpt, const MtlOverride *ov, int n_ov,
             int64_t limit) {
  return mtl_eval_split(m, ckpt, "test", ov, n_ov, limit);
}
