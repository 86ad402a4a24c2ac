/* tools/tools.h: developer tools over generated code: mtlc bench and
 * mtlc check-codegen; and mtlc gen-data, the benchmark's data sets. */
#ifndef MTLC_TOOLS_H
#define MTLC_TOOLS_H
#include "back/back.h"

/* ---- bench.c: mtlc bench ------------------------------------------------------------- */
typedef struct {
  Arena *arena;
  const char *backend, *dump;
  int threads, reps;
  int64_t steps;
  bool infer;
  double compile_s;
} BenchOpts;
int run_bench(Model *m, const MtlModelInfo *info, const BenchOpts *o);

/* ---- codegen_check.c: generated code against the interpreter --------------------- */
int check_codegen(Unit *u, const MtlModelInfo *info, uint64_t seed, bool quiet);
/* where a training loss turned non-finite: the first forward value that is
 * not finite, with its spec line, or NULL (MtlTrainOpts.explain; unit is
 * the Unit) */
const char *nonfinite_origin(void *unit, const float *params, const float *stats,
                             const void *const *data, int64_t B, const float *hyper,
                             uint64_t seed);

/* ---- gendata.c: mtlc gen-data (argv after the command) ----------------------------- */
int gen_data(int argc, char **argv);

/* ---- plot.c: mtlc plot, a training log as SVG (or PNG) ------------------------------ */
int plot_log(const char *log, const char *out);

/* ---- graph.c: mtlc graph, the model as a Graphviz graph ---------------------------- */
int model_graph(Arena *a, Model *m, const char *out);

/* ---- deploy.c: emit-c --infer, emit-llvm --infer ------------------------------------ */
typedef struct {
  const char *weights; /* a checkpoint, or NULL */
  bool blob;           /* the weights in NAME.bin, not in the code */
  const char *tasks[64];
  int ntasks;          /* 0: every task */
  int64_t batch;
} DeployOpts;
const MtlModelInfo *deploy_trained_info(Arena *a, Model *m);
/* a task's probabilities from its logits (softmax; of one logit, sigmoid), in
 * double, and its class (the first largest; of one logit, 1 when positive),
 * as the inference-only code computes them */
void deploy_probs(const float *logits, int64_t w, double *p);
int32_t deploy_class(const float *logits, int64_t w);
/* keep[t]: task t was asked for; false after an error naming the unknown one */
bool deploy_tasks(Model *m, const DeployOpts *o, bool *keep);
/* a checkpoint's groups (malloc'ed), checked against the model */
bool deploy_load(Model *m, const MtlModelInfo *info, const char *ckpt, float **params,
                 float **stats);
Infer *deploy_build(Arena *a, Model *m, const DeployOpts *o, float **weights);
int emit_infer(Model *m, const DeployOpts *o, const char *dir, const char *cmdline, Arena *a);
int emit_infer_llvm(Model *m, const DeployOpts *o, const char *path, bool obj,
                    const char *triple, const char *cmdline, Arena *a);

/* ---- infer_check.c: mtlc check-infer ---------------------------------------------------- */
int check_infer(Model *m, const DeployOpts *o, const MtlOverride *data, int n_data,
                int64_t limit, const char *cmdline, Arena *a);

/* ---- predict.c: mtlc predict -------------------------------------------------------------- */
typedef struct {
  const char *ckpt;
  const char *const *inputs;
  int n_inputs;
  bool json;
  const char *backend;
} PredictOpts;
int run_predict(Model *m, const PredictOpts *o, Arena *a);

/* ---- image.c: PGM and PNG, to 8-bit gray --------------------------------------------------- */
/* 1 PGM, 2 PNG, 0 neither (by the file's first bytes) */
int image_kind(const char *path);
/* *pix: w x h bytes, row-major (malloc'ed); false after printing an error */
bool image_read(const char *path, uint8_t **pix, int *w, int *h);

#endif
