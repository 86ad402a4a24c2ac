/* main.c: the mtlc driver. Each subcommand reads as the list of passes it
 * runs: read the spec, parse, check, then its own output. Exit codes: 0 ok,
 * 1 user error (a bad spec or file), 2 usage error. */
#include "mtlc.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

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
    "  check-grad SPEC [--seed N] [--batch N] [--samples N]\n"
    "                  every parameter gradient against central differences\n"
    "                  (double precision, eps 1e-6); exit 1 if any is off.\n"
    "                  --samples: elements checked per tensor (default 16,\n"
    "                  0 = all); --batch default 2, --seed default 1\n"
    "  check-codegen SPEC [--seed N] [--batch N]\n"
    "                  the generated C against the interpreter: outputs, losses,\n"
    "                  gradients, one update (relative 1e-4); --batch default 3\n"
    "  emit-c SPEC -o DIR [--main] [--batch N]\n"
    "                  standalone C: DIR/NAME.c and DIR/NAME.h (and a trainer,\n"
    "                  DIR/main.c, with --main); --batch: the largest batch the\n"
    "                  code accepts (default: the spec's)\n"
    "  help            this text\n"
    "\n"
    "options:\n"
    "  -h, --help      this text\n"
    "  --version       mtlc's version\n"
    "\n"
    "Errors are printed as FILE:LINE:COL: error: MESSAGE. Exit status: 0 ok,\n"
    "1 the spec or a file is wrong, 2 the command line is wrong.\n";

static int usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, "mtlc: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n(run 'mtlc --help' for usage)\n");
  return 2;
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

/* read, parse, check */
static Model *front_end(Arena *a, const char *path) {
  Source *src = read_source(a, path);
  if (!src)
    return NULL;
  Spec *spec = parse_spec(a, src);
  if (!spec)
    return NULL;
  return sema(a, src, spec, dir_of(a, path));
}

/* a non-negative integer option value */
static bool parse_count(const char *opt, const char *arg, int64_t max, int64_t *out) {
  char *end;
  errno = 0;
  long long v = arg ? strtoll(arg, &end, 10) : 0;
  if (!arg || !*arg || *end || errno || v < 0 || v > max) {
    fprintf(stderr, "mtlc: %s needs a whole number from 0 to %lld%s%s%s\n", opt,
            (long long)max, arg ? ", not '" : "", arg ? arg : "", arg ? "'" : "");
    return false;
  }
  *out = v;
  return true;
}

typedef enum { CMD_CHECK, CMD_SUMMARY, CMD_IR, CMD_CHECK_GRAD, CMD_EMIT_C, CMD_CHECK_CODEGEN } Command;

/* the command line, for generated files' front matter */
static char *command_line(Arena *a, int argc, char **argv) {
  char *s = "mtlc";
  for (int i = 1; i < argc; i++)
    s = arena_printf(a, "%s %s", s, argv[i]);
  return s;
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
  static const char *const names[] = {"check", "summary", "ir", "check-grad", "emit-c",
                                      "check-codegen"};
  int c = -1;
  for (int i = 0; i < 6; i++)
    if (!strcmp(cmd, names[i]))
      c = i;
  if (c < 0)
    return usage_error("unknown command '%s'", cmd);
  Command command = (Command)c;

  const char *spec_path = NULL, *out_path = NULL;
  bool grad = false, with_main = false;
  int64_t seed = 1, batch = 2, samples = 16;
  bool batch_given = false;
  for (int i = 2; i < argc; i++) {
    const char *arg = argv[i];
    if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
      fputs(usage_text, stdout);
      return 0;
    }
    if (command == CMD_IR && !strcmp(arg, "--grad")) {
      grad = true;
    } else if (command == CMD_EMIT_C && !strcmp(arg, "--main")) {
      with_main = true;
    } else if (command == CMD_EMIT_C && !strcmp(arg, "-o")) {
      if (i + 1 >= argc)
        return usage_error("%s", "-o needs a folder");
      out_path = argv[++i];
    } else if (command == CMD_EMIT_C && !strcmp(arg, "--batch")) {
      if (!parse_count(arg, i + 1 < argc ? argv[++i] : NULL, 1 << 20, &batch) ||
          (batch == 0 && usage_error("%s", "--batch must be at least 1")))
        return 2;
      batch_given = true;
    } else if ((command == CMD_CHECK_GRAD || command == CMD_CHECK_CODEGEN) &&
               !strcmp(arg, "--seed")) {
      if (!parse_count(arg, i + 1 < argc ? argv[++i] : NULL, INT64_MAX / 4, &seed))
        return 2;
    } else if ((command == CMD_CHECK_GRAD || command == CMD_CHECK_CODEGEN) &&
               !strcmp(arg, "--batch")) {
      if (!parse_count(arg, i + 1 < argc ? argv[++i] : NULL, 4096, &batch) ||
          (batch == 0 && usage_error("%s", "--batch must be at least 1")))
        return 2;
      batch_given = true;
    } else if (command == CMD_CHECK_GRAD && !strcmp(arg, "--samples")) {
      if (!parse_count(arg, i + 1 < argc ? argv[++i] : NULL, INT32_MAX, &samples))
        return 2;
    } else if (arg[0] == '-' && arg[1]) {
      return usage_error("unknown option '%s'", arg);
    } else if (spec_path) {
      return usage_error("more than one spec given ('%s')", arg);
    } else {
      spec_path = arg;
    }
  }
  if (!spec_path)
    return usage_error("'%s' needs a spec file", cmd);
  if (command == CMD_EMIT_C && !out_path)
    return usage_error("%s", "emit-c needs -o FOLDER");

  Arena *a = arena_new();
  Model *m = front_end(a, spec_path);
  int rc = m ? 0 : 1;
  if (m && command == CMD_SUMMARY)
    print_summary(stdout, m);
  if (m && command == CMD_IR) {
    Graph *g = lower(a, m, true);
    if (grad) {
      autodiff(g);
      add_updates(g);
    }
    ir_print(stdout, g, grad);
  }
  if (m && command == CMD_CHECK_GRAD)
    rc = check_grad(m, (uint64_t)seed, batch, (int)samples, false);
  if (m && command == CMD_CHECK_CODEGEN) {
    Module *mod = build_module(a, m, batch_given ? batch : 3);
    const MtlModelInfo *info = cbuild_load(mod, command_line(a, argc, argv), false);
    rc = info ? check_codegen(mod, info, (uint64_t)seed, false) : 1;
  }
  if (m && command == CMD_EMIT_C) {
    Module *mod = build_module(a, m, batch_given ? batch : m->train.batch);
    rc = emit_c(mod, out_path, with_main, command_line(a, argc, argv)) ? 0 : 1;
  }
  arena_free(a);
  return rc;
}
