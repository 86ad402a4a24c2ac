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

#include "mtl_kernel.h"
#include "mtl_model.h"

/* ---- trainer layer: errors --------------------------------------------- */

/* The last error's message, like "data/x.idx: truncated: ...". Functions
 * that can fail return false or NULL and set it. */
const char *mtl_error(void);
void mtl_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "[60000, 28, 28]", for messages */
void mtl_shape_text(char *buf, size_t cap, const int64_t *d, int rank);

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
 * i32, i64, f64), or CSV when csv_column >= 0 (a label) or csv_columns is
 * given (an input). `want` is the dtype to produce; `width` the values per
 * sample it must have (checked). */
bool mtl_load(MtlArray *out, const char *path, MtlDtype want, int64_t width,
              int csv_column, const int64_t *csv_columns, int n_csv_columns);
void mtl_array_free(MtlArray *a);
void mtl_normalize(MtlArray *a, float mean, float std);
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
} MtlOverride;
bool mtl_load_split(MtlSplit *out, const MtlModelInfo *m, const char *name,
                    const MtlOverride *ov, int n_ov, int64_t limit, bool *found);
void mtl_split_free(MtlSplit *s);

/* ---- checkpoints: safetensors ----------------------------------------------- */

/* Parameters and optimizer state as F32 tensors named after the spec; step,
 * epoch, the RNG state and the model name in __metadata__ ("format": "pt",
 * so PyTorch's loaders accept it). Written to PATH.tmp, fsync'ed, renamed
 * over PATH: a good checkpoint is never lost. */
typedef struct {
  int64_t step, epoch;
  uint64_t rng[4];
} MtlCkptMeta;

bool mtl_ckpt_save(const char *path, const MtlModelInfo *m, const float *params,
                   const float *state, const float *stats, const MtlCkptMeta *meta);
/* Validates every offset, size, dtype and name against the model; state may
 * be NULL (eval). */
bool mtl_ckpt_load(const char *path, const MtlModelInfo *m, float *params,
                   float *state, float *stats, MtlCkptMeta *meta);

/* ---- training ------------------------------------------------------------------ */

typedef struct {
  int64_t epochs, batch; /* 0: the spec's */
  int threads;           /* 0: leave OpenBLAS's default */
  const char *save, *resume, *log;
  const MtlOverride *overrides;
  int n_overrides;
  int64_t limit_train, limit_test; /* 0: all samples */
  bool quiet;
  /* data parallel over these ranks when it has more than one
   * (mtl_dist.h); only rank 0 prints, logs and saves */
  const struct MtlComm *comm;
} MtlTrainOpts;

/* Trains with the model's recipe, printing per-epoch train loss and test
 * metrics per task. Returns 0, or 1 after printing an error. */
int mtl_train(const MtlModelInfo *m, const MtlTrainOpts *o);
/* Loads a checkpoint and prints per-task test metrics. */
int mtl_eval(const MtlModelInfo *m, const char *ckpt, const MtlOverride *ov,
             int n_ov, int64_t limit);

/* The learning rate of epoch `epoch` (0-based) under the model's schedule. */
double mtl_schedule_lr(const MtlModelInfo *m, int64_t epoch, int64_t epochs);

#endif
