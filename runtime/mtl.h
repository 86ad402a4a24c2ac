/* mtl.h: the mtlc runtime, libmtlrt. Two layers:
 *
 *   kernel layer   what generated code calls: GEMM dispatch (OpenBLAS, or a
 *                  portable fallback when built with CBLAS=0), dropout masks,
 *                  seeded initialization, the PRNG. Small; inference-only
 *                  code needs none of it.
 *   trainer layer  what `mtlc train` and standalone trainers use: data
 *                  loading, batching, schedules, the training loop, metrics,
 *                  logs and checkpoints.
 *
 * A generated model describes itself with an MtlModelInfo (mtl_model.h); the
 * trainer layer works from that description alone, so the same trainer
 * drives C built into a shared object, C linked statically, or JIT code.
 * Errors in user data (a missing, corrupt or truncated file, a bad
 * checkpoint) are reported with the file's name and make the call fail;
 * nothing here exits the process except mtl_fatal's callers' choice. */
#ifndef MTL_H
#define MTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtl_balance.h"
#include "mtl_kernel.h"
#include "mtl_model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- trainer layer: errors --------------------------------------------- */

/* The last error's message, like "data/x.idx: truncated: ...". Functions
 * that can fail return false or NULL and set it. */
const char *mtl_error(void);
void mtl_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "[60000, 28, 28]", for messages */
void mtl_shape_text(char *buf, size_t cap, const int64_t *d, int rank);
/* s[0, n) fit for a message: printable ASCII and valid UTF-8 as they are;
 * control characters (ESC too), C1 and bidirectional controls, invalid
 * bytes and backslashes escaped (\x1b, \u202e, \\); cut with "..." to
 * fit cap. Every name or text read from a file goes through it, so no
 * file can drive the terminal that shows an error. */
void mtl_printable(char *buf, size_t cap, const char *s, size_t n);
/* "NaN", "+inf" or "-inf", for messages about a value that is not finite */
const char *mtl_nonfinite_name(double x);

/* ---- data ----------------------------------------------------------------- */

/* One column of a data set: n samples of `width` values each. Inputs are
 * f32 (IDX ubyte images scaled to [0, 1], then normalized); class and
 * binary labels i32; real labels f32. */
typedef struct {
  MtlDtype dtype;
  int64_t n, width;
  void *data; /* n * width elements */
} MtlArray;

/* Reads a file by its content: IDX (gzip'ed or not), NumPy .npy (f32, u8,
 * i32, i64, f64), or CSV (comma-separated) when csv_column >= 0 (a label)
 * or csv_columns is given (an input, or a real label). `want` is the dtype
 * to produce; `width` the values per sample it must have (checked).
 * Unsigned bytes (IDX or .npy) read as f32 are scaled to [0, 1]. */
bool mtl_load(MtlArray *out, const char *path, MtlDtype want, int64_t width,
              int csv_column, const int64_t *csv_columns, int n_csv_columns);
void mtl_array_free(MtlArray *a);
void mtl_normalize(MtlArray *a, float mean, float std);
/* x = (x - mean[c]) / std[c] in float, c the channel of each element
 * (channels and inner as MtlInputInfo's); n values: 1 for every channel,
 * or one per channel */
void mtl_normalize_channels(MtlArray *a, const float *mean, const float *std, int64_t n,
                            int64_t channels, int64_t inner);
/* every label in [0, classes); else an error naming the path, the sample
 * and the value */
bool mtl_check_labels(const MtlArray *a, int64_t classes, const char *path);

/* A text file of one sample a line as n x length i32 ids (mtl_text.c; the
 * rules are MtlTextKind's): chars, or words of the vocabulary file `vocab`.
 * max_ids > 0: a vocabulary whose ids reach it is an error. */
bool mtl_text_load(MtlArray *out, const char *path, MtlTextKind kind, int64_t length,
                   const char *vocab, bool lowercase, int64_t max_ids);
/* every id in [0, vocab) (vocab > 0); else an error naming the path, the
 * row (from 1) and the input */
bool mtl_check_ids(const MtlArray *a, int64_t vocab, const char *path, const char *input);

/* A split: one array per model input, then one per bound label, in the
 * order of MtlModelInfo's inputs and labels. */
typedef struct {
  const char *name; /* "train", "test", "valid" */
  int64_t n;
  int n_arrays;
  MtlArray *arrays;
} MtlSplit;

/* Loads split `name` for the model, with paths overridden by --data
 * bindings (SPLIT.NAME=PATH). `limit` > 0 keeps only the first limit
 * samples. Checks sample counts agree and labels are in range. Returns false
 * with mtl_error() set, or true; a split with no bindings at all gives
 * `*found = false` and no error. */
typedef struct {
  const char *split, *name, *path;
  /* CSV options given with the path replace the spec's (csv true); a
   * delimiter of 0 keeps the spec's */
  bool csv;
  int csv_column;
  const int64_t *csv_columns;
  int n_csv_columns;
  int delimiter;
} MtlOverride;
bool mtl_load_split(MtlSplit *out, const MtlModelInfo *m, const char *name,
                    const MtlOverride *ov, int n_ov, int64_t limit, bool *found);
void mtl_split_free(MtlSplit *s);
/* Every override names a split (train, test, valid) and an input or a
 * label read from data; else an error listing what can be bound. */
bool mtl_check_overrides(const MtlModelInfo *m, const MtlOverride *ov, int n_ov);
/* --data's argument, SPLIT.NAME=PATH, optionally followed by CSV options:
 * :column=N, :columns=0-5 (or 0,2,4-6), :delimiter=D (one character, or
 * tab, semicolon, comma, space). The path ends at the first ':' that
 * starts one of them. Its strings are malloc'ed. False with mtl_error(). */
bool mtl_parse_override(const char *arg, MtlOverride *out);

/* normalize(auto): input k's per-channel mean and population standard
 * deviation over split s (the train split), into its statistics tensors
 * in stats (MtlInputInfo.norm_stat); a channel that never varies gets std
 * 1. For every input whose train binding says normalize(auto). */
void mtl_norm_stats(const MtlSplit *train, const MtlModelInfo *m, float *stats);
/* Normalizes the inputs that split s binds with normalize(auto), with the
 * statistics in stats (computed, or from a checkpoint). */
void mtl_normalize_auto(MtlSplit *s, const MtlModelInfo *m, const float *stats);

/* ---- checkpoints: safetensors ----------------------------------------------- */

/* Parameters and optimizer state as F32 tensors named after the spec; step,
 * epoch, the RNG state, the optimizer and the model name in __metadata__
 * ("format": "pt", so PyTorch's loaders accept it), and under a balance
 * method other than static its name and the balancer's state ("balance",
 * "balance_state": 64-bit words in hexadecimal). Written to a temporary
 * file beside PATH, created exclusively, fsync'ed and renamed over PATH: a
 * good checkpoint is never lost; a killed save's temporary is removed by
 * the next save. */
typedef struct {
  int64_t step, epoch;
  uint64_t rng[4];
  char balance[32]; /* the balance method's name, "" for none (static) */
  uint64_t balance_state[MTL_BALANCE_STATE_MAX]; /* the balancer's (mtl_balance.h) */
  int n_balance_state;
  int64_t opt_start; /* the step the optimizer's state started at (Adam's t is step - opt_start) */
  /* the best epoch by the watched valid value, its value, and the epochs
   * since it last improved (early stopping); best_epoch 0: none yet */
  int64_t best_epoch, since_best;
  double best;
  /* set by loading: the optimizer the file names ("" if none), and whether
   * its optimizer state is not this model's (another optimizer's, or
   * none): then the state is zero and starts fresh */
  char optimizer[16];
  bool state_fresh;
} MtlCkptMeta;

bool mtl_ckpt_save(const char *path, const MtlModelInfo *m, const float *params,
                   const float *state, const float *stats, const MtlCkptMeta *meta);
/* The model's identity: a hash (FNV-1a, 64 bits) of its name and of its
 * parameters' and running statistics' names and shapes, in order.
 * Checkpoints carry it in __metadata__ as "model_hash" (16 hex digits). */
uint64_t mtl_model_hash(const MtlModelInfo *m);
/* __metadata__'s "model" (into model, cap bytes) and "model_hash" of a
 * checkpoint, from its header alone; found: whether it has a hash. False
 * (mtl_error set) when the file cannot be read or its header is not JSON. */
bool mtl_ckpt_identity(const char *path, char *model, size_t cap, uint64_t *hash, bool *found);
/* Validates the header (its length capped), every offset, size, dtype and
 * name against the model, and that the tensors cover the data exactly,
 * before it copies; every value must be finite. PATH must be a regular
 * file. state may be NULL (eval); stats is needed when the model has
 * running statistics. Another optimizer's state in the file (tensors named
 * PARAM.SUFFIX after a parameter of the model) is skipped, and state that
 * does not match leaves meta->state_fresh set; parameters or statistics
 * that are missing, or tensors the network does not have, are an error
 * that lists them. */
bool mtl_ckpt_load(const char *path, const MtlModelInfo *m, float *params,
                   float *state, float *stats, MtlCkptMeta *meta);
/* "sgd", "adam", "adamw", "rmsprop" */
const char *mtl_optimizer_name(MtlOptKind k);

/* ---- training ------------------------------------------------------------------ */

typedef struct {
  int64_t epochs, batch; /* 0: the spec's */
  int threads;           /* training threads (mtl_team.c), 0: the cores; with a
                          * communicator, OpenBLAS's threads (0: its default) */
  const char *save, *resume, *log;
  const MtlOverride *overrides;
  int n_overrides;
  int64_t limit_train, limit_test; /* 0: all samples (limit_test: test and valid) */
  bool quiet;
  const char *watch; /* TASK.METRIC or loss: the valid value that picks the best
                      * epoch; NULL: the spec's early_stop on=, else loss */
  /* data parallel over these ranks when it has more than one
   * (mtl_dist.h); only rank 0 prints, logs and saves */
  const struct MtlComm *comm;
  /* optional, one process: when a training loss is not finite, where the
   * first non-finite value of the step's forward pass came from (its spec
   * line), from the step's parameters before its update, statistics,
   * batch, hyper[] and seed; or NULL. mtlc runs its interpreter. */
  const char *(*explain)(void *ctx, const float *params, const float *stats,
                         const void *const *data, int64_t B, const float *hyper, uint64_t seed);
  void *explain_ctx;
} MtlTrainOpts;

/* Trains with the model's recipe, printing per-epoch train loss, the
 * regularizers' values, and valid and test metrics per task. With save,
 * a checkpoint after every epoch, and with a valid split the best epoch's
 * in mtl_best_path(save). Returns 0; 1 after printing an error; 130 after
 * Ctrl-C, having said what was saved. */
int mtl_train(const MtlModelInfo *m, const MtlTrainOpts *o);
/* "runs/m.safetensors" -> "runs/m.best.safetensors" (malloc'ed) */
char *mtl_best_path(const char *save);
/* Loads a checkpoint and prints per-task test metrics (or another
 * split's: test, valid or train). */
int mtl_eval(const MtlModelInfo *m, const char *ckpt, const MtlOverride *ov,
             int n_ov, int64_t limit);
int mtl_eval_split(const MtlModelInfo *m, const char *ckpt, const char *split,
                   const MtlOverride *ov, int n_ov, int64_t limit);

/* A trainer's main, for generated main.c: options --epochs, --batch,
 * --data, --limit, --save, --best, --resume, --log, --threads, --eval,
 * --help; returns the exit status. */
int mtl_main(const MtlModelInfo *m, int argc, char **argv);
/* The same, data parallel over comm's ranks (mtl_dist.h; NULL: one
 * process): a generated main.c built with -DMTL_MPI calls it. */
int mtl_main_comm(const MtlModelInfo *m, int argc, char **argv, const struct MtlComm *comm);

/* The learning rate of epoch `epoch` (0-based) under the model's schedule. */
double mtl_schedule_lr(const MtlModelInfo *m, int64_t epoch, int64_t epochs);
/* lr at global step t (1-based) after the model's warmup: t / warmup of it
 * for t < warmup */
double mtl_step_lr(const MtlModelInfo *m, double lr, int64_t t);

#ifdef __cplusplus
}
#endif

#endif
