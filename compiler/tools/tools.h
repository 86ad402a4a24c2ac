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

/* ---- gendata.c: mtlc gen-data (argv after the command) ----------------------------- */
int gen_data(int argc, char **argv);

#endif
