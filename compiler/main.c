/* main.c: the mtlc driver. Each subcommand reads as the list of passes it
 * runs: read the spec, parse, check, then its own output. Exit codes: 0 ok,
 * 1 user error (a bad spec or file), 2 usage error. */
#include "tools/tools.h"
#include "back/mpiload.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MAX_SPEC_BYTES (16 << 20)

static const char usage_text[] =
    "usage: mtlc <command> [options] SPEC\n"
    "\n"
    "commands:\n"
    "  check SPEC      parse and check a spec; report every error\n"
    "  summary SPEC    per block and task: layers, output shapes, parameters,\n"
    "                  forward FLOPs per sample; then totals\n"
    "  ir SPEC [--grad]\n"
    "                  the graph IR as text; --grad adds the backward pass and\n"
    "                  the optimizer update\n"
    "  kir SPEC [--batch N]\n"
    "                  the kernel IR as text: each distinct kernel once, then the\n"
    "                  train, eval and forward programs as calls with their buffers\n"
    "  check-grad SPEC [--seed N] [--batch N] [--samples N]\n"
    "                  every parameter gradient against central differences\n"
    "                  (double precision, eps 1e-6); exit 1 if any is off.\n"
    "                  --samples: elements checked per tensor (default 16,\n"
    "                  0 = all); --batch default 2, --seed default 1\n"
    "  check-codegen SPEC [--backend c|jit] [--seed N] [--batch N]\n"
    "                  generated code against the interpreter: outputs, losses,\n"
    "                  gradients, one update (relative 1e-4); --batch default 3\n"
    "  emit-c SPEC -o DIR [--main] [--batch N]\n"
    "                  standalone C: DIR/NAME.c and DIR/NAME.h (and a trainer,\n"
    "                  DIR/main.c, with --main); --batch: the largest batch the\n"
    "                  code accepts (default: the spec's)\n"
    "  emit-llvm SPEC -o FILE [--obj [--target TRIPLE]] [--batch N]\n"
    "                  the LLVM back end's module: textual IR, or with --obj an\n"
    "                  object file (host, or TRIPLE) and NAME.h beside it\n"
    "  train SPEC [--backend jit|c] [--epochs N] [--batch N] [--data SPLIT.NAME=PATH]\n"
    "             [--save CKPT] [--resume CKPT] [--log FILE] [--threads N]\n"
    "             [--limit N] [-v]\n"
    "                  train with the spec's recipe; per-epoch train loss and\n"
    "                  test metrics per task. --limit N: the first N samples\n"
    "                  of each split; --save: a checkpoint after every epoch\n"
    "                  -v: how long each compiler phase took\n"
    "  bench SPEC [--backend jit|c] [--batch N] [--threads N] [--steps N]\n"
    "             [--reps N] [--infer] [--dump DIR]\n"
    "                  training throughput (or, with --infer, forward latency)\n"
    "                  on random data in memory, as JSON; used by make bench\n"
    "  eval SPEC --load CKPT [--backend jit|c] [--data SPLIT.NAME=PATH] [--limit N]\n"
    "                  per-task test metrics of a checkpoint\n"
    "  help            this text\n"
    "\n"
    "options:\n"
    "  -h, --help      this text\n"
    "  --version       mtlc's version\n"
    "\n"
    "Errors are printed as FILE:LINE:COL: error: MESSAGE. Exit status: 0 ok,\n"
    "1 an error: the spec, a file or the command line is wrong.\n";

static int usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, "mtlc: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n(run 'mtlc --help' for usage)\n");
  return 1;
}

/* Reads a whole spec into an arena-owned, NUL-terminated buffer. */
static Source *read_source(Arena *a, const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) {
    fprintf(stderr, "mtlc: cannot read '%s': %s\n", path, strerror(errno));
    return NULL;
  }
  if (!S_ISREG(st.st_mode)) {
    fprintf(stderr, "mtlc: cannot read '%s': not a regular file\n", path);
    return NULL;
  }
  if (st.st_size > MAX_SPEC_BYTES) {
    fprintf(stderr, "mtlc: '%s' is %lld bytes; a spec may be at most %d\n",
            path, (long long)st.st_size, MAX_SPEC_BYTES);
    return NULL;
  }
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "mtlc: cannot read '%s': %s\n", path, strerror(errno));
    return NULL;
  }
  Source *src = arena_alloc(a, sizeof(Source));
  char *buf = arena_alloc(a, (size_t)st.st_size + 1);
  size_t n = fread(buf, 1, (size_t)st.st_size, f);
  bool bad = ferror(f);
  fclose(f);
  if (bad) {
    fprintf(stderr, "mtlc: cannot read '%s': read error\n", path);
    return NULL;
  }
  buf[n] = '\0';
  src->path = path;
  src->text = buf;
  src->len = (int)n;
  return src;
}

static const char *dir_of(Arena *a, const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash)
    return ".";
  if (slash == path)
    return "/";
  return arena_strndup(a, path, (size_t)(slash - path));
}

/* the command line, for generated files' front matter */
static char *command_line(Arena *a, int argc, char **argv) {
  char *s = "mtlc";
  for (int i = 1; i < argc; i++)
    s = arena_printf(a, "%s %s", s, argv[i]);
  return s;
}

/* an integer option value in [min, max] */
static bool parse_count(const char *opt, const char *arg, int64_t min, int64_t max, int64_t *out) {
  char *end;
  errno = 0;
  long long v = arg ? strtoll(arg, &end, 10) : 0;
  if (!arg || !*arg || *end || errno || v < min || v > max) {
    fprintf(stderr, "mtlc: %s needs a whole number from %lld to %lld%s%s%s\n", opt,
            (long long)min, (long long)max, arg ? ", not '" : "", arg ? arg : "", arg ? "'" : "");
    fprintf(stderr, "(run 'mtlc --help' for usage)\n");
    return false;
  }
  *out = v;
  return true;
}

typedef enum {
  CMD_CHECK, CMD_SUMMARY, CMD_IR, CMD_KIR, CMD_CHECK_GRAD, CMD_CHECK_CODEGEN, CMD_EMIT_C,
  CMD_EMIT_LLVM, CMD_TRAIN, CMD_EVAL, CMD_BENCH, NUM_CMDS
} Command;

static const char *const cmd_names[NUM_CMDS] = {
    "check", "summary", "ir", "kir", "check-grad", "check-codegen", "emit-c", "emit-llvm",
    "train", "eval", "bench"};

/* which options each command takes */
#define C(x) (1u << CMD_##x)
static const struct {
  const char *name;
  unsigned cmds;
  bool has_arg;
} options[] = {
    {"--grad", C(IR), false},
    {"--seed", C(CHECK_GRAD) | C(CHECK_CODEGEN), true},
    {"--batch", C(KIR) | C(CHECK_GRAD) | C(CHECK_CODEGEN) | C(EMIT_C) | C(EMIT_LLVM) | C(TRAIN) | C(BENCH), true},
    {"--steps", C(BENCH), true},
    {"--reps", C(BENCH), true},
    {"--infer", C(BENCH), false},
    {"--dump", C(BENCH), true},
    {"--samples", C(CHECK_GRAD), true},
    {"-o", C(EMIT_C) | C(EMIT_LLVM), true},
    {"--main", C(EMIT_C), false},
    {"--obj", C(EMIT_LLVM), false},
    {"--target", C(EMIT_LLVM), true},
    {"--backend", C(TRAIN) | C(EVAL) | C(CHECK_CODEGEN) | C(BENCH), true},
    {"--epochs", C(TRAIN), true},
    {"--data", C(TRAIN) | C(EVAL), true},
    {"--save", C(TRAIN), true},
    {"--resume", C(TRAIN), true},
    {"--log", C(TRAIN), true},
    {"--threads", C(TRAIN) | C(BENCH), true},
    {"--limit", C(TRAIN) | C(EVAL), true},
    {"--load", C(EVAL), true},
    {"-v", C(TRAIN) | C(EVAL), false},
};
#undef C

typedef struct {
  Command cmd;
  const char *spec, *out, *backend, *save, *resume, *log, *load, *target, *dump;
  bool grad, with_main, verbose, batch_given, obj, infer;
  int64_t seed, batch, samples, epochs, threads, limit, steps, reps;
  MtlOverride data[64];
  int n_data;
} Opts;

/* --data SPLIT.NAME=PATH */
static bool parse_binding(Arena *a, const char *arg, Opts *o) {
  char *s = arena_strdup(a, arg), *dot = strchr(s, '.'), *eq = strchr(s, '=');
  if (!dot || !eq || dot > eq || dot == s || eq == dot + 1 || !eq[1]) {
    fprintf(stderr, "mtlc: --data needs SPLIT.NAME=PATH, like "
                    "train.image=data/x.idx, not '%s'\n", arg);
    return false;
  }
  if (o->n_data == 64) {
    fprintf(stderr, "mtlc: at most 64 --data bindings\n");
    return false;
  }
  *dot = *eq = '\0';
  o->data[o->n_data++] = (MtlOverride){s, dot + 1, eq + 1};
  return true;
}

static int parse_args(Arena *a, int argc, char **argv, Opts *o) {
  for (int i = 2; i < argc; i++) {
    const char *arg = argv[i];
    if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
      fputs(usage_text, stdout);
      return 0;
    }
    if (arg[0] != '-' || !arg[1]) {
      if (o->spec)
        return usage_error("more than one spec given ('%s')", arg);
      o->spec = arg;
      continue;
    }
    int k = -1;
    for (int j = 0; j < (int)(sizeof options / sizeof options[0]); j++)
      if (!strcmp(arg, options[j].name) && (options[j].cmds & (1u << o->cmd)))
        k = j;
    if (k < 0) {
      fprintf(stderr, "mtlc: '%s' does not take option '%s'\n", cmd_names[o->cmd], arg);
      fprintf(stderr, "(run 'mtlc --help' for usage)\n");
      return 1;
    }
    const char *v = NULL;
    if (options[k].has_arg) {
      if (i + 1 >= argc) {
        fprintf(stderr, "mtlc: %s needs a value\n(run 'mtlc --help' for usage)\n", arg);
        return 1;
      }
      v = argv[++i];
    }
    bool ok = true;
    if (!strcmp(arg, "--grad")) o->grad = true;
    else if (!strcmp(arg, "--main")) o->with_main = true;
    else if (!strcmp(arg, "--obj")) o->obj = true;
    else if (!strcmp(arg, "--infer")) o->infer = true;
    else if (!strcmp(arg, "--dump")) o->dump = v;
    else if (!strcmp(arg, "--steps")) ok = parse_count(arg, v, 1, 1 << 30, &o->steps);
    else if (!strcmp(arg, "--reps")) ok = parse_count(arg, v, 1, 1000, &o->reps);
    else if (!strcmp(arg, "--target")) o->target = v;
    else if (!strcmp(arg, "-v")) o->verbose = true;
    else if (!strcmp(arg, "-o")) o->out = v;
    else if (!strcmp(arg, "--backend")) o->backend = v;
    else if (!strcmp(arg, "--save")) o->save = v;
    else if (!strcmp(arg, "--resume")) o->resume = v;
    else if (!strcmp(arg, "--log")) o->log = v;
    else if (!strcmp(arg, "--load")) o->load = v;
    else if (!strcmp(arg, "--data")) ok = parse_binding(a, v, o);
    else if (!strcmp(arg, "--seed")) ok = parse_count(arg, v, 0, INT64_MAX / 4, &o->seed);
    else if (!strcmp(arg, "--samples")) ok = parse_count(arg, v, 0, INT32_MAX, &o->samples);
    else if (!strcmp(arg, "--epochs")) ok = parse_count(arg, v, 1, 1000000, &o->epochs);
    else if (!strcmp(arg, "--threads")) ok = parse_count(arg, v, 0, 256, &o->threads);
    else if (!strcmp(arg, "--limit")) ok = parse_count(arg, v, 1, INT64_MAX / 4, &o->limit);
    else if (!strcmp(arg, "--batch")) {
      ok = parse_count(arg, v, 1, 1 << 20, &o->batch);
      o->batch_given = true;
    }
    if (!ok)
      return 1;
  }
  if (!o->spec)
    return usage_error("'%s' needs a spec file", cmd_names[o->cmd]);
  if (o->cmd == CMD_EMIT_C && !o->out)
    return usage_error("%s", "emit-c needs -o FOLDER");
  if (o->cmd == CMD_EMIT_LLVM && !o->out)
    return usage_error("%s", "emit-llvm needs -o FILE (.ll, or .o with --obj)");
  if (o->target && !o->obj)
    return usage_error("%s", "--target goes with --obj");
  if (o->cmd == CMD_EVAL && !o->load)
    return usage_error("%s", "eval needs --load CHECKPOINT");
  if (o->backend && strcmp(o->backend, "c") && strcmp(o->backend, "jit"))
    return usage_error("unknown backend '%s' (backends: c, jit)", o->backend);
  return -1;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* the model's code through the chosen back end (default: the JIT) */
static const MtlModelInfo *load_model(Arena *a, Model *m, Opts *o, int64_t batch,
                                      const char *cmdline, double t_parse, double t_check) {
  bool use_c = o->backend && !strcmp(o->backend, "c");
  Unit *u = build_unit(a, m, batch);
  double t0 = now(), codegen = 0, jit = 0;
  const MtlModelInfo *info = use_c ? cbuild_load(u, cmdline, o->verbose)
                                   : jit_load(u, &codegen, &jit);
  if (use_c)
    codegen = now() - t0;
  if (o->verbose && info) {
    fprintf(stderr, "mtlc: parse %.1f ms, check %.1f ms, lower %.1f ms, autodiff %.1f ms, "
                    "kernels %.1f ms, ", 1e3 * t_parse, 1e3 * t_check, 1e3 * u->t_lower,
            1e3 * u->t_autodiff, 1e3 * u->t_kernels);
    if (use_c)
      fprintf(stderr, "C compiler and load %.1f ms\n", 1e3 * codegen);
    else
      fprintf(stderr, "LLVM codegen and O3 %.1f ms, JIT %.1f ms\n", 1e3 * codegen, 1e3 * jit);
    fprintf(stderr, "mtlc: arena %lld floats (%.1f MiB) at batch %lld; parameters %lld floats\n",
            (long long)u->n_act, (double)u->n_act * 4 / (1 << 20), (long long)batch,
            (long long)u->n_params);
  }
  return info;
}

int main(int argc, char **argv) {
  if (argc < 2)
    return usage_error("%s", "no command given");
  const char *cmd = argv[1];
  if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
    fputs(usage_text, stdout);
    return 0;
  }
  if (!strcmp(cmd, "--version")) {
    printf("mtlc %s\n", MTLC_VERSION);
    return 0;
  }
  Opts o = {.seed = 1, .batch = 0, .samples = 16, .steps = 20, .reps = 5};
  o.cmd = NUM_CMDS;
  for (int i = 0; i < NUM_CMDS; i++)
    if (!strcmp(cmd, cmd_names[i]))
      o.cmd = (Command)i;
  if (o.cmd == NUM_CMDS)
    return usage_error("unknown command '%s'", cmd);

  Arena *a = arena_new();
  int rc = parse_args(a, argc, argv, &o);
  if (rc >= 0) {
    arena_free(a);
    return rc;
  }
  double t0 = now(), t_parse = 0, t_check = 0;
  Model *m = NULL;
  Source *src = read_source(a, o.spec);
  Spec *spec = src ? parse_spec(a, src) : NULL;
  t_parse = now() - t0;
  if (spec)
    m = sema(a, src, spec, dir_of(a, o.spec));
  t_check = now() - t0 - t_parse;
  const char *cmdline = command_line(a, argc, argv);
  rc = m ? 0 : 1;
  if (!m) {
  } else if (o.cmd == CMD_SUMMARY) {
    print_summary(stdout, m);
  } else if (o.cmd == CMD_IR) {
    Graph *g = lower(a, m, true);
    if (o.grad) {
      autodiff(g);
      add_updates(g);
    }
    ir_print(stdout, g, o.grad);
  } else if (o.cmd == CMD_CHECK_GRAD) {
    rc = check_grad(m, (uint64_t)o.seed, o.batch_given ? o.batch : 2, (int)o.samples, false);
  } else if (o.cmd == CMD_CHECK_CODEGEN) {
    Unit *u = build_unit(a, m, o.batch_given ? o.batch : 3);
    bool use_c = !o.backend || !strcmp(o.backend, "c");
    const MtlModelInfo *info = use_c ? cbuild_load(u, cmdline, false) : jit_load(u, NULL, NULL);
    rc = info ? check_codegen(u, info, (uint64_t)o.seed, false) : 1;
  } else if (o.cmd == CMD_EMIT_C) {
    Unit *u = build_unit(a, m, o.batch_given ? o.batch : m->train.batch);
    rc = exports_free(u) && emit_c(u, o.out, o.with_main, cmdline) ? 0 : 1;
  } else if (o.cmd == CMD_EMIT_LLVM) {
    Unit *u = build_unit(a, m, o.batch_given ? o.batch : m->train.batch);
    rc = exports_free(u) && emit_llvm_file(u, o.out, o.obj, o.target, cmdline) ? 0 : 1;
  } else if (o.cmd == CMD_KIR) {
    kir_print(stdout, build_unit(a, m, o.batch_given ? o.batch : m->train.batch));
  } else if (o.cmd == CMD_BENCH) {
    double t1 = now();
    const MtlModelInfo *info = load_model(a, m, &o, o.batch_given ? o.batch : m->train.batch,
                                          cmdline, t_parse, t_check);
    BenchOpts b = {.arena = a, .backend = o.backend ? o.backend : "jit", .dump = o.dump,
                   .threads = (int)o.threads, .reps = (int)o.reps, .steps = o.steps,
                   .infer = o.infer, .compile_s = now() - t1 + t_parse + t_check};
    rc = info ? run_bench(m, info, &b) : 1;
  } else if (o.cmd == CMD_TRAIN || o.cmd == CMD_EVAL) {
    int64_t batch = o.batch_given ? o.batch : m->train.batch;
    const MtlModelInfo *info = load_model(a, m, &o, batch, cmdline, t_parse, t_check);
    if (!info)
      rc = 1;
    else if (o.cmd == CMD_EVAL)
      rc = mtl_eval(info, o.load, o.data, o.n_data, o.limit);
    else {
      bool mpi_ok;
      const MtlComm *comm = mpi_launched(&mpi_ok);
      MtlTrainOpts t = {.comm = comm,.epochs = o.epochs, .batch = batch, .threads = (int)o.threads,
                        .save = o.save, .resume = o.resume, .log = o.log,
                        .overrides = o.data, .n_overrides = o.n_data,
                        .limit_train = o.limit, .limit_test = o.limit};
      rc = mpi_ok ? mtl_train(info, &t) : 1;
      if (comm)
        comm->finish();
    }
  }
  arena_free(a);
  return rc;
}
