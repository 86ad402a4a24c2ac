/* mtl_train.c: the training loop. Drives a model through its MtlModelInfo:
 * one allocation per buffer group, a seeded shuffle per epoch, batches
 * gathered into fixed buffers, the learning-rate schedule, per-task losses
 * and test metrics, a progress line on a terminal, a JSON log line and a
 * checkpoint per epoch; mtl_eval for a saved checkpoint. Everything the
 * loop's future depends on (parameters, optimizer state, the global step,
 * the epoch, the shuffle RNG) is in the checkpoint, so training 2 epochs
 * equals training 1, saving and resuming for 1, bit for bit. A loss, a
 * parameter or an optimizer state that turns non-finite stops the run
 * (exit status 1) before it is saved. Reads and writes files only through
 * mtl_data.c and mtl_ckpt.c, and the log's whole lines through
 * mtl_write.c; a failed write of the log or of stdout fails the run. */
#include "mtl_write.h"

#include <errno.h>
#include <fcntl.h>
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
  int log; /* the --log file, or -1 */
  bool tty;
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
      mtl_set_error("%stask %s: the training loss is %s at step %" PRId64 " (epoch %" PRId64
                    ", batch %" PRId64 " of %" PRId64 "); %s (a smaller learning rate may "
                    "help)", where, k->name, mtl_nonfinite_name(losses[t]), tr->step,
                    epoch + 1, s + 1, steps, end);
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

/* One epoch over the train split; fills loss[t], the per-sample mean.
 * False when a loss is not finite. */
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
    int64_t from = s * tr->B, B = n - from < tr->B ? n - from : tr->B;
    gather(&tr->b, &tr->train, tr->b.idx + from, B);
    int64_t t = ++tr->step;
    float *hyper = tr->b.hyper;
    hyper[MTL_HYPER_LR] = (float)lr;
    hyper[MTL_HYPER_C1] = (float)(1 - pow(b1, (double)t));
    hyper[MTL_HYPER_C2] = (float)(1 - pow(b2, (double)t));
    for (int k = 0; k < m->n_tasks && MTL_HYPER_TASKS + k < m->n_hyper; k++)
      hyper[MTL_HYPER_TASKS + k] = (float)m->tasks[k].weight;
    memset(tr->b.grads, 0, (size_t)m->n_params * sizeof(float));
    m->train_step(tr->b.params, tr->b.grads, tr->b.state, tr->b.stats, tr->b.act,
                  (const void *const *)tr->b.data, B, hyper, step_seed(m->seed, t), losses);
    for (int k = 0; k < m->n_tasks; k++)
      loss[k] += (double)losses[k] * (double)B;
    if (!losses_finite(tr, losses, epoch, s, steps))
      return false;
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

/* One epoch's log line, written whole with one write: on a failure (a
 * full disk) the file is cut back to its last whole line and the run
 * fails naming the log. */
static bool log_line(Trainer *tr, int64_t e, double lr, const double *loss, const Metric *test,
                     double secs) {
  char *line = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&line, &n);
  if (!f) {
    mtl_set_error("%s: cannot write the log: out of memory", tr->o->log);
    return false;
  }
  log_epoch(f, tr->m, e, lr, loss, test, tr->have_test, secs);
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

/* what was printed reached its file (a full disk, a closed pipe) */
static bool stdout_ok(void) {
  if (fflush(stdout) == 0 && !ferror(stdout))
    return true;
  mtl_set_error("cannot write the standard output: %s", strerror(errno));
  return false;
}

static bool run_epochs(Trainer *tr, int64_t first) {
  const MtlModelInfo *m = tr->m;
  double loss[64] = {0};
  Metric test[64] = {{0}};
  for (int64_t e = first; e < tr->epochs; e++) {
    double t0 = now(), lr = mtl_schedule_lr(m, e, tr->epochs);
    if (!train_epoch(tr, e, lr, loss) || !state_finite(tr, e))
      return false;
    if (tr->have_test)
      evaluate(&tr->b, &tr->test, test);
    double secs = now() - t0;
    if (!tr->o->quiet) {
      print_epoch(m, e + 1, tr->epochs, lr, loss, test, tr->have_test, secs);
      if (!stdout_ok())
        return false;
    }
    /* the log first: a save that fails leaves the epoch's line, not a gap */
    if (tr->log >= 0 && !log_line(tr, e + 1, lr, loss, test, secs))
      return false;
    if (tr->o->save) {
      MtlCkptMeta meta = {.step = tr->step, .epoch = e + 1};
      memcpy(meta.rng, tr->rng.s, sizeof meta.rng);
      if (!mtl_ckpt_save(tr->o->save, m, tr->b.params, tr->b.state, tr->b.stats, &meta))
        return false;
    }
  }
  return true;
}

/* Data, buffers, initial or resumed state, the log; then the epochs. */
static bool train(Trainer *tr) {
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
  if (o->resume) {
    MtlCkptMeta meta;
    if (!mtl_ckpt_load(o->resume, m, tr->b.params, tr->b.state, tr->b.stats, &meta))
      return false;
    tr->step = meta.step, first = meta.epoch;
    memcpy(tr->rng.s, meta.rng, sizeof meta.rng);
    int64_t steps = (tr->train.n + tr->B - 1) / tr->B; /* per epoch */
    if (first < tr->epochs && (tr->epochs - first) > (INT64_MAX - tr->step) / steps) {
      mtl_set_error("%s: step %" PRId64 " and %" PRId64 " more epochs of %" PRId64 " steps pass "
                    "the largest step count", o->resume, tr->step, tr->epochs - first, steps);
      return false;
    }
    if (first >= tr->epochs && !o->quiet)
      printf("%s: trained %" PRId64 " epochs already, of %" PRId64 "\n", o->resume, first,
             tr->epochs);
  } else {
    m->init(tr->b.params, tr->b.stats, m->seed);
    mtl_rng_seed(&tr->rng, m->seed ^ SHUFFLE_STREAM);
  }
  if (o->log && (tr->log = open(o->log, O_WRONLY | O_CREAT | O_CLOEXEC |
                                 (o->resume ? O_APPEND : O_TRUNC), 0666)) < 0) {
    mtl_set_error("%s: cannot open the log: %s", o->log, strerror(errno));
    return false;
  }
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

int mtl_train(const MtlModelInfo *m, const MtlTrainOpts *o) {
  if (!check_model(m))
    return fail();
  if (!mtl_check_overrides(m, o->overrides, o->n_overrides))
    return fail();
  Trainer tr = {.m = m, .o = o, .log = -1};
  tr.B = o->batch > 0 ? o->batch : m->batch;
  tr.epochs = o->epochs > 0 ? o->epochs : m->epochs;
  if (tr.B < 1 || tr.B > m->batch_max) {
    mtl_set_error("batch %" PRId64 " is not in 1..%" PRId64 ", the largest model %s was "
                  "built for", tr.B, m->batch_max, m->name);
    return fail();
  }
#ifndef MTL_NO_BLAS
  if (o->threads > 0)
    openblas_set_num_threads(o->threads);
#endif
  if (o->save && !save_dir_ok(o->save))
    return fail();
  tr.tty = !o->quiet && isatty(fileno(stderr));
  bool ok = train(&tr);
  if (tr.log >= 0 && close(tr.log) != 0 && ok) {
    mtl_set_error("%s: cannot write the log: %s", o->log, strerror(errno));
    ok = false;
  }
  ok = ok && stdout_ok();
  bufs_free(&tr.b);
  mtl_split_free(&tr.train);
  mtl_split_free(&tr.test);
  return ok ? 0 : fail();
}

int mtl_eval(const MtlModelInfo *m, const char *ckpt, const MtlOverride *ov, int n_ov,
             int64_t limit) {
  if (!check_model(m) || !mtl_check_overrides(m, ov, n_ov))
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
    ok = stdout_ok();
  }
  bufs_free(&b);
  mtl_split_free(&test);
  return ok ? 0 : fail();
}
