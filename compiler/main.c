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
  bool is_check = !strcmp(cmd, "check"), is_summary = !strcmp(cmd, "summary");
  if (!is_check && !is_summary)
    return usage_error("unknown command '%s'", cmd);

  const char *spec_path = NULL;
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      fputs(usage_text, stdout);
      return 0;
    }
    if (argv[i][0] == '-' && argv[i][1])
      return usage_error("unknown option '%s'", argv[i]);
    if (spec_path)
      return usage_error("more than one spec given ('%s')", argv[i]);
    spec_path = argv[i];
  }
  if (!spec_path)
    return usage_error("'%s' needs a spec file", cmd);

  Arena *a = arena_new();
  Model *m = front_end(a, spec_path);
  if (m && is_summary)
    print_summary(stdout, m);
  arena_free(a);
  return m ? 0 : 1;
}
