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

/* Each command's synopsis and what it does: `mtlc --help` lists them all,
 * `mtlc CMD --help` shows one, and the man page mtlc(1) is made from them
 * (tools/man.sh). */
static const struct {
  const char *synopsis, *text;
} help[] = {
    {"check SPEC", "parse and check a spec; report every error"},
    {"summary SPEC", "per block and task: layers, output shapes, parameters,\n"
                     "forward FLOPs per sample; then totals"},
    {"ir SPEC [--grad]", "the graph IR as text; --grad adds the backward pass and\n"
                         "the optimizer update"},
    {"kir SPEC [--batch N] [--infer [--task NAME]...]",
     "the kernel IR as text: each distinct kernel once, then the\n"
     "train, eval and forward programs as calls with their buffers;\n"
     "--infer: the inference-only program and its weights' layout"},
    {"check-grad SPEC [--seed N] [--batch N] [--samples N]",
     "every parameter gradient against central differences\n"
     "(double precision, eps 1e-6); exit 1 if any is off.\n"
     "--samples: elements checked per tensor (default 16,\n"
     "0 = all); --batch default 2, --seed default 1"},
    {"check-codegen SPEC [--backend c|jit] [--seed N] [--batch N]",
     "generated code against the interpreter: outputs, losses,\n"
     "regularizers, gradients, one update (relative 1e-4);\n"
     "--batch default 3"},
    {"emit-c SPEC -o DIR [--main] [--batch N]\n"
     "       emit-c SPEC --infer -o DIR [--weights CKPT [--weights-blob]] [--task NAME]...\n"
     "              [--batch N]",
     "standalone C: DIR/NAME.c and DIR/NAME.h (and a trainer,\n"
     "DIR/main.c, with --main); --batch: the largest batch the\n"
     "code accepts (default: the spec's).\n"
     "--infer: inference only, for deployment: NAME_predict in\n"
     "  C99 with the standard headers alone, no allocation; the\n"
     "  weights of CKPT embedded (or in DIR/NAME.bin with\n"
     "  --weights-blob); --task: only these tasks' heads;\n"
     "  --batch: samples per call (default 1)"},
    {"emit-llvm SPEC -o FILE [--obj [--target TRIPLE]] [--batch N]\n"
     "       emit-llvm SPEC --infer --weights CKPT -o FILE [--obj [--target TRIPLE]]\n"
     "                 [--task NAME]... [--batch N]",
     "the LLVM back end's module: textual IR, or with --obj an\n"
     "object file (host, or TRIPLE) and NAME.h beside it;\n"
     "--infer: the inference-only form through LLVM"},
    {"train SPEC [--backend jit|c] [--epochs N] [--batch N]\n"
     "           [--data SPLIT.NAME=PATH[:OPTIONS]] [--save CKPT] [--best WATCH]\n"
     "           [--resume CKPT] [--log FILE] [--threads N] [--limit N] [-v]",
     "train with the spec's recipe; per epoch the train loss of\n"
     "each task, each regularizer's value, and valid and test\n"
     "metrics.\n"
     "--data: bind input or label NAME of split train, test or\n"
     "  valid to a file, replacing the spec's; CSV options after\n"
     "  the path: :column=N (a label), :columns=0-5 or 0,2,4-6\n"
     "  (an input or a real label), :delimiter=D (a character,\n"
     "  or tab, semicolon)\n"
     "--save: a checkpoint after every epoch, and with a valid\n"
     "  split the best epoch's in CKPT with .best before its\n"
     "  extension\n"
     "--best: what picks the best epoch: TASK.METRIC (like\n"
     "  item.accuracy) or loss, the weighted sum of the valid\n"
     "  losses (default: the spec's early_stop on=, else loss)\n"
     "--resume: continue from a checkpoint (another optimizer's\n"
     "  state starts fresh); --log: a JSON line per epoch;\n"
     "--limit N: the first N samples of each split; -v: how\n"
     "  long each compiler phase took. Ctrl-C stops, says what\n"
     "  was saved, exit status 130. Under mpirun -np N: data\n"
     "  parallel over N ranks; rank 0 alone prints, logs, saves"},
    {"eval SPEC --load CKPT [--split test|valid|train] [--backend jit|c]\n"
     "           [--data SPLIT.NAME=PATH[:OPTIONS]] [--limit N]",
     "per-task metrics of a checkpoint on the test split, or\n"
     "on the one --split names; a checkpoint of the same\n"
     "network trained with another optimizer loads too"},
    {"bench SPEC [--backend jit|c] [--batch N] [--threads N] [--steps N]\n"
     "           [--reps N] [--infer] [--dump DIR]",
     "training throughput (or, with --infer, forward latency)\n"
     "on random data in memory, as JSON; used by make bench"},
    {"plot LOG -o FILE", "a training log (--log) as a picture, FILE.svg or FILE.png:\n"
                         "per task the train and valid loss, then each metric on the\n"
                         "valid and test splits, the regularizers and the balancing\n"
                         "weights, by epoch"},
    {"graph SPEC -o FILE", "the model as a Graphviz graph, FILE.svg, FILE.png or\n"
                           "FILE.dot: inputs, shared blocks, private copies and\n"
                           "heads, one cluster per task, shapes on the edges"},
    {"predict SPEC --load CKPT INPUT... [--json] [--backend jit|c]",
     "per-task predictions of the samples in each INPUT: IDX,\n"
     ".npy, CSV rows, or PGM/PNG images for image-like inputs"},
    {"check-infer SPEC --load CKPT [--batch N] [--task NAME]... [--data SPLIT.NAME=PATH]\n"
     "           [--limit N]",
     "the inference-only C (gcc or $CC, -O3) against mtlc eval's\n"
     "outputs on the test split: same classes, logits within 1e-5"},
    {"gen-data multifashion -o DIR [--seed N] [--fashion DIR] [--limit N]\n"
     "       gen-data scales -o DIR [--seed N]",
     "the balancing benchmark's data sets, no spec: MultiFashion\n"
     "(two Fashion-MNIST items on a 36x36 canvas) as IDX files;\n"
     "the unbalanced-scales CSVs: a regression whose loss is\n"
     "about 1,000 times a classification's"},
};

static void print_command_help(FILE *f, int k) {
  fprintf(f, "  %s\n", help[k].synopsis);
  for (const char *t = help[k].text; *t;) {
    const char *nl = strchr(t, '\n');
    int n = nl ? (int)(nl - t) : (int)strlen(t);
    fprintf(f, "                  %.*s\n", n, t);
    t += n + (nl != NULL);
  }
}

/* `mtlc CMD --help`: one command's synopsis and text */
static void print_one(int k) {
  printf("usage: mtlc %s\n\n%s\n", help[k].synopsis, help[k].text);
}

static void print_usage(FILE *f) {
  fputs("usage: mtlc <command> [options] SPEC\n\ncommands:\n", f);
  for (int k = 0; k < (int)(sizeof help / sizeof *help); k++)
    print_command_help(f, k);
  fputs("  help [COMMAND]  this text, or one command's\n"
        "\n"
        "options:\n"
        "  -h, --help      this text (after a command: that command's)\n"
        "  --version       mtlc's version\n"
        "\n"
        "Errors are printed as FILE:LINE:COL: error: MESSAGE. Exit status: 0 ok,\n"
        "1 an error: the spec, a file or the command line is wrong; 130\n"
        "interrupted (Ctrl-C during training).\n", f);
}

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

/* in the order of help[] */
typedef enum {
  CMD_CHECK, CMD_SUMMARY, CMD_IR, CMD_KIR, CMD_CHECK_GRAD, CMD_CHECK_CODEGEN, CMD_EMIT_C,
  CMD_EMIT_LLVM, CMD_TRAIN, CMD_EVAL, CMD_BENCH, CMD_PLOT, CMD_GRAPH, CMD_PREDICT,
  CMD_CHECK_INFER, CMD_GEN_DATA, NUM_CMDS
} Command;

static const char *const cmd_names[NUM_CMDS] = {
    "check", "summary", "ir", "kir", "check-grad", "check-codegen", "emit-c", "emit-llvm",
    "train", "eval", "bench", "plot", "graph", "predict", "check-infer", "gen-data"};

/* which options each command takes */
#define C(x) (1u << CMD_##x)
static const struct {
  const char *name;
  unsigned cmds;
  bool has_arg;
} options[] = {
    {"--grad", C(IR), false},
    {"--seed", C(CHECK_GRAD) | C(CHECK_CODEGEN), true},
    {"--batch", C(KIR) | C(CHECK_GRAD) | C(CHECK_CODEGEN) | C(EMIT_C) | C(EMIT_LLVM) | C(TRAIN) | C(BENCH) | C(CHECK_INFER), true},
    {"--steps", C(BENCH), true},
    {"--reps", C(BENCH), true},
    {"--infer", C(BENCH) | C(EMIT_C) | C(EMIT_LLVM) | C(KIR), false},
    {"--weights", C(EMIT_C) | C(EMIT_LLVM), true},
    {"--weights-blob", C(EMIT_C), false},
    {"--task", C(EMIT_C) | C(EMIT_LLVM) | C(CHECK_INFER) | C(KIR), true},
    {"--json", C(PREDICT), false},
    {"--dump", C(BENCH), true},
    {"--samples", C(CHECK_GRAD), true},
    {"-o", C(EMIT_C) | C(EMIT_LLVM) | C(PLOT) | C(GRAPH), true},
    {"--main", C(EMIT_C), false},
    {"--obj", C(EMIT_LLVM), false},
    {"--target", C(EMIT_LLVM), true},
    {"--backend", C(TRAIN) | C(EVAL) | C(CHECK_CODEGEN) | C(BENCH) | C(PREDICT), true},
    {"--epochs", C(TRAIN), true},
    {"--data", C(TRAIN) | C(EVAL) | C(CHECK_INFER), true},
    {"--save", C(TRAIN), true},
    {"--best", C(TRAIN), true},
    {"--resume", C(TRAIN), true},
    {"--log", C(TRAIN), true},
    {"--threads", C(TRAIN) | C(BENCH), true},
    {"--limit", C(TRAIN) | C(EVAL) | C(CHECK_INFER), true},
    {"--load", C(EVAL) | C(PREDICT) | C(CHECK_INFER), true},
    {"--split", C(EVAL), true},
    {"-v", C(TRAIN) | C(EVAL), false},
};
#undef C

typedef struct {
  Command cmd;
  const char *spec, *out, *backend, *save, *resume, *log, *load, *target, *dump, *watch, *split;
  bool grad, with_main, verbose, batch_given, obj, infer, json;
  DeployOpts deploy;
  const char *inputs[256]; /* predict's */
  int n_inputs;
  int64_t seed, batch, samples, epochs, threads, limit, steps, reps;
  MtlOverride data[64];
  int n_data;
} Opts;

/* --data SPLIT.NAME=PATH[:OPTIONS], parsed by the runtime (mtl_cli.c) */
static bool parse_binding(const char *arg, Opts *o) {
  if (o->n_data == 64) {
    fprintf(stderr, "mtlc: at most 64 --data bindings\n");
    return false;
  }
  if (!mtl_parse_override(arg, &o->data[o->n_data])) {
    fprintf(stderr, "mtlc: %s\n", mtl_error());
    return false;
  }
  o->n_data++;
  return true;
}

static int parse_args(int argc, char **argv, Opts *o) {
  for (int i = 2; i < argc; i++) {
    const char *arg = argv[i];
    if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
      print_one(o->cmd);
      return 0;
    }
    if (arg[0] != '-' || !arg[1]) {
      if (o->spec && o->cmd == CMD_PREDICT && o->n_inputs < 256) {
        o->inputs[o->n_inputs++] = arg;
        continue;
      }
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
    else if (!strcmp(arg, "--json")) o->json = true;
    else if (!strcmp(arg, "--weights")) o->deploy.weights = v;
    else if (!strcmp(arg, "--weights-blob")) o->deploy.blob = true;
    else if (!strcmp(arg, "--task")) {
      if (o->deploy.ntasks == 64)
        return usage_error("%s", "at most 64 --task options");
      o->deploy.tasks[o->deploy.ntasks++] = v;
    }
    else if (!strcmp(arg, "--target")) o->target = v;
    else if (!strcmp(arg, "-v")) o->verbose = true;
    else if (!strcmp(arg, "-o")) o->out = v;
    else if (!strcmp(arg, "--backend")) o->backend = v;
    else if (!strcmp(arg, "--save")) o->save = v;
    else if (!strcmp(arg, "--resume")) o->resume = v;
    else if (!strcmp(arg, "--log")) o->log = v;
    else if (!strcmp(arg, "--load")) o->load = v;
    else if (!strcmp(arg, "--data")) ok = parse_binding(v, o);
    else if (!strcmp(arg, "--best")) o->watch = v;
    else if (!strcmp(arg, "--split")) o->split = v;
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
    return usage_error(o->cmd == CMD_PLOT ? "'%s' needs a training log (train --log FILE)"
                                          : "'%s' needs a spec file", cmd_names[o->cmd]);
  if ((o->cmd == CMD_PLOT || o->cmd == CMD_GRAPH) && !o->out)
    return usage_error("%s needs -o FILE", cmd_names[o->cmd]);
  if (o->cmd == CMD_EMIT_C && !o->out)
    return usage_error("%s", "emit-c needs -o FOLDER");
  if (o->cmd == CMD_EMIT_LLVM && !o->out)
    return usage_error("%s", "emit-llvm needs -o FILE (.ll, or .o with --obj)");
  if (o->target && !o->obj)
    return usage_error("%s", "--target goes with --obj");
  if ((o->cmd == CMD_EVAL || o->cmd == CMD_PREDICT || o->cmd == CMD_CHECK_INFER) && !o->load)
    return usage_error("'%s' needs --load CHECKPOINT", cmd_names[o->cmd]);
  if (o->split && strcmp(o->split, "test") && strcmp(o->split, "valid") && strcmp(o->split, "train"))
    return usage_error("unknown split '%s' (splits: train, test, valid)", o->split);
  if (o->cmd == CMD_PREDICT && !o->n_inputs)
    return usage_error("%s", "predict needs at least one INPUT file after the spec");
  bool emit = o->cmd == CMD_EMIT_C || o->cmd == CMD_EMIT_LLVM || o->cmd == CMD_KIR;
  if (emit && !o->infer && (o->deploy.weights || o->deploy.blob || o->deploy.ntasks))
    return usage_error("%s", "--weights, --weights-blob and --task go with --infer");
  if (o->deploy.blob && !o->deploy.weights)
    return usage_error("%s", "--weights-blob needs --weights CHECKPOINT");
  if (o->cmd == CMD_EMIT_LLVM && o->infer && !o->deploy.weights)
    return usage_error("%s", "emit-llvm --infer needs --weights CHECKPOINT");
  if (o->infer && o->with_main)
    return usage_error("%s", "--main trains; it does not go with --infer");
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
                                      const char *cmdline, double t_parse, double t_check,
                                      Unit **unit) {
  bool use_c = o->backend && !strcmp(o->backend, "c");
  Unit *u = build_unit(a, m, batch);
  if (unit)
    *unit = u;
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
    for (int i = 0; argc > 2 && !strcmp(cmd, "help") && i < NUM_CMDS; i++)
      if (!strcmp(argv[2], cmd_names[i])) {
        print_one(i);
        return 0;
      }
    if (argc > 2 && !strcmp(cmd, "help"))
      return usage_error("no command '%s' to help with", argv[2]);
    print_usage(stdout);
    return 0;
  }
  if (!strcmp(cmd, "gen-data")) /* no spec: a data set */
    return gen_data(argc - 2, argv + 2);
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
  int rc = parse_args(argc, argv, &o);
  if (rc >= 0) {
    arena_free(a);
    return rc;
  }
  if (o.cmd == CMD_PLOT) {
    rc = plot_log(o.spec, o.out);
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
  } else if (o.cmd == CMD_GRAPH) {
    rc = model_graph(a, m, o.out);
  } else if (o.cmd == CMD_IR) {
    Graph *g = lower(a, m, true);
    if (o.grad) {
      if (m->balance.kind == MTL_BAL_STATIC)
        autodiff(g);
      else
        balance_autodiff(g); /* the balancing pass instead */
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
  } else if (o.cmd == CMD_EMIT_C && o.infer) {
    o.deploy.batch = o.batch_given ? o.batch : 1;
    rc = emit_infer(m, &o.deploy, o.out, cmdline, a);
  } else if (o.cmd == CMD_EMIT_LLVM && o.infer) {
    o.deploy.batch = o.batch_given ? o.batch : 1;
    rc = emit_infer_llvm(m, &o.deploy, o.out, o.obj, o.target, cmdline, a);
  } else if (o.cmd == CMD_CHECK_INFER) {
    o.deploy.batch = o.batch_given ? o.batch : 1;
    o.deploy.weights = o.load;
    rc = check_infer(m, &o.deploy, o.data, o.n_data, o.limit, cmdline, a);
  } else if (o.cmd == CMD_PREDICT) {
    PredictOpts p = {.ckpt = o.load, .inputs = o.inputs, .n_inputs = o.n_inputs,
                     .json = o.json, .backend = o.backend};
    rc = run_predict(m, &p, a);
  } else if (o.cmd == CMD_EMIT_C) {
    Unit *u = build_unit(a, m, o.batch_given ? o.batch : m->train.batch);
    rc = exports_free(u, kir_exports) && emit_c(u, o.out, o.with_main, cmdline) ? 0 : 1;
  } else if (o.cmd == CMD_EMIT_LLVM) {
    Unit *u = build_unit(a, m, o.batch_given ? o.batch : m->train.batch);
    rc = exports_free(u, kir_exports) && emit_llvm_file(u, o.out, o.obj, o.target, cmdline) ? 0 : 1;
  } else if (o.cmd == CMD_KIR && o.infer) {
    o.deploy.batch = o.batch_given ? o.batch : 1;
    float *w;
    Infer *inf = deploy_build(a, m, &o.deploy, &w);
    if (inf)
      infer_print(stdout, inf);
    rc = inf ? 0 : 1;
  } else if (o.cmd == CMD_KIR) {
    kir_print(stdout, build_unit(a, m, o.batch_given ? o.batch : m->train.batch));
  } else if (o.cmd == CMD_BENCH) {
    double t1 = now();
    const MtlModelInfo *info = load_model(a, m, &o, o.batch_given ? o.batch : m->train.batch,
                                          cmdline, t_parse, t_check, NULL);
    BenchOpts b = {.arena = a, .backend = o.backend ? o.backend : "jit", .dump = o.dump,
                   .threads = (int)o.threads, .reps = (int)o.reps, .steps = o.steps,
                   .infer = o.infer, .compile_s = now() - t1 + t_parse + t_check};
    rc = info ? run_bench(m, info, &b) : 1;
  } else if (o.cmd == CMD_TRAIN || o.cmd == CMD_EVAL) {
    int64_t batch = o.batch_given ? o.batch : m->train.batch;
    Unit *u = NULL;
    const MtlModelInfo *info = load_model(a, m, &o, batch, cmdline, t_parse, t_check, &u);
    if (!info)
      rc = 1;
    else if (o.cmd == CMD_EVAL)
      rc = mtl_eval_split(info, o.load, o.split ? o.split : "test", o.data, o.n_data, o.limit);
    else {
      bool mpi_ok;
      const MtlComm *comm = mpi_launched(&mpi_ok);
      MtlTrainOpts t = {.comm = comm, .epochs = o.epochs, .batch = batch, .threads = (int)o.threads,
                        .save = o.save, .resume = o.resume, .log = o.log,
                        .overrides = o.data, .n_overrides = o.n_data,
                        .limit_train = o.limit, .limit_test = o.limit, .watch = o.watch,
                        .explain = nonfinite_origin, .explain_ctx = u};
      rc = mpi_ok ? mtl_train(info, &t) : 1;
      if (comm)
        comm->finish();
    }
  }
  arena_free(a);
  return rc;
}
