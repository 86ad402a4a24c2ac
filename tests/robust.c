/* tests/robust.c: the robustness test of `mtlc check`. Every prefix of every
 * spec given, and N seeded mutations of it (bit flips; bytes inserted,
 * deleted or replaced with interesting ones; keywords and punctuation spliced
 * in; chunks duplicated), is written to a temporary file and checked by a
 * child `mtlc check FILE`. Each run must end with exit status 0 or 1, no
 * signal, within one second (an alarm set before exec; alarms survive exec).
 * It prints one [PASS] or [FAIL] line per spec; on failure, what failed and
 * where the failing input was saved. Runs are reproducible: the mutations
 * come from a fixed seed and the spec's name. It checks only how mtlc ends,
 * not what it says; C11 and POSIX, no dependencies.
 *
 *   robust [-n MUTATIONS] [-P STRIDE] [-s SEED] [-j JOBS] [-o FAILDIR]
 *          [-p LABEL] MTLC SPEC...
 * -P: prefixes every STRIDE bytes (default 1: every prefix); 0: the whole
 * file only. -o: where failing inputs go (default build). -p: the label in
 * front of each spec's name (default robust/).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_JOBS 16
#define MAX_REPORTS 5 /* failures described and saved per spec */

/* ---- a growable byte buffer ------------------------------------------- */

typedef struct {
  unsigned char *p;
  size_t len, cap;
} Buf;

static void *xrealloc(void *p, size_t n) {
  p = realloc(p, n ? n : 1);
  if (!p) {
    fprintf(stderr, "robust: out of memory\n");
    exit(2);
  }
  return p;
}

static void buf_set(Buf *b, const unsigned char *p, size_t n) {
  if (n > b->cap) {
    b->cap = n;
    b->p = xrealloc(b->p, n);
  }
  if (n)
    memcpy(b->p, p, n);
  b->len = n;
}

static void buf_insert(Buf *b, size_t at, const void *p, size_t n) {
  if (b->len + n > b->cap) {
    b->cap = (b->len + n) * 2;
    b->p = xrealloc(b->p, b->cap);
  }
  memmove(b->p + at + n, b->p + at, b->len - at);
  memcpy(b->p + at, p, n);
  b->len += n;
}

static void buf_delete(Buf *b, size_t at, size_t n) {
  if (at + n > b->len)
    n = b->len - at;
  memmove(b->p + at, b->p + at + n, b->len - at - n);
  b->len -= n;
}

/* ---- seeded mutations --------------------------------------------------- */

typedef struct {
  uint64_t s;
} Rng;

/* splitmix64: small, and every seed gives a good stream */
static uint64_t rng_next(Rng *r) {
  uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static size_t rng_below(Rng *r, size_t n) {
  return n ? (size_t)(rng_next(r) % n) : 0;
}

static uint64_t hash_str(const char *s) {
  uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
  return h;
}

static const unsigned char bytes[] = {'{', '}', '(', ')', '[', ']', '"', '#',
                                      '\0', 0xff, 0x80, '0', '1', '9', '\n',
                                      ':', ',', ';', '=', '-', '+', '.', 'e',
                                      '\\', ' ', '\t', '\r', '_', 'a', 0x7f};

/* keywords, layer and option names, numbers at the edges of the ranges */
static const char *const tokens[] = {
    "model", "input", "data", "shared", "private", "task", "label", "net",
    "loss", "weight", "metric", "regularize", "balance", "train", "class",
    "binary", "real", "f32", "true", "false", "dense", "conv2d", "maxpool",
    "avgpool", "flatten", "relu", "sigmoid", "tanh", "dropout", "lookup",
    "l2_distance", "l2", "static", "sgd", "adam", "adamw", "step", "cosine",
    "normalize", "csv", "->", "-", "0", "1", "-1", "2", "1e999", "-1e999",
    "1e-999", "0.5", "4096", "16777216", "16777217", "99999999999999999999",
    "4294967296", "9223372036854775807", "nan", "inf", ".5", "1.", "1e",
    "\"\"", "\"\\", "[]", "()", "{}", "[0, 1]", "x", "image", "trunk", "tower",
    "item", "category", "digit", "parity", "kernel=", "stride=", "pad=",
    "lambda=", "lr=", "columns=[", "column=", "on=", "every=", "gamma=",
    "net: image -> ", "task t { label: class(2) net: image -> dense(2) }",
    "\n# ", "\xc3\xa9", "\xef\xbb\xbf",
};
#define NTOKENS (sizeof tokens / sizeof tokens[0])

/* One to four random edits of b. */
static void mutate(Buf *b, Rng *r) {
  int nops = 1 + (int)rng_below(r, 4);
  for (int op = 0; op < nops; op++) {
    size_t at = rng_below(r, b->len + 1);
    unsigned char c = bytes[rng_below(r, sizeof bytes)];
    const char *tok = tokens[rng_below(r, NTOKENS)];
    switch (rng_below(r, 8)) {
    case 0: /* bit flip */
      if (at < b->len)
        b->p[at] ^= (unsigned char)(1u << rng_below(r, 8));
      break;
    case 1: /* insert an interesting byte */
      buf_insert(b, at, &c, 1);
      break;
    case 2: /* replace a byte with one */
      if (at < b->len)
        b->p[at] = c;
      break;
    case 3: /* delete a few bytes */
      buf_delete(b, at, 1 + rng_below(r, 8));
      break;
    case 4: /* splice a token in */
      buf_insert(b, at, tok, strlen(tok));
      break;
    case 5: /* replace a few bytes with a token */
      buf_delete(b, at, 1 + rng_below(r, 6));
      buf_insert(b, at, tok, strlen(tok));
      break;
    case 6: /* duplicate a chunk somewhere else */
      if (b->len) {
        size_t from = rng_below(r, b->len);
        size_t n = 1 + rng_below(r, 64);
        if (n > b->len - from)
          n = b->len - from;
        unsigned char tmp[64];
        memcpy(tmp, b->p + from, n);
        buf_insert(b, at, tmp, n);
      }
      break;
    case 7: /* cut the tail */
      b->len = at;
      break;
    }
  }
}

/* ---- running mtlc -------------------------------------------------------- */

typedef struct {
  pid_t pid; /* 0: free */
  char path[64];
  char what[64]; /* "prefix 120", "mutation 7" */
  Buf input;
} Slot;

typedef struct {
  const char *mtlc, *faildir, *label;
  Slot slot[MAX_JOBS];
  int njobs;
  /* the spec being run */
  const char *name;
  long runs, failures;
  char report[MAX_REPORTS][1024]; /* printed after the [FAIL] line */
  char why[MAX_REPORTS][128];
  int nreports;
} Runner;

static void write_file(const char *path, const Buf *b) {
  FILE *f = fopen(path, "wb");
  if (!f || (b->len && fwrite(b->p, 1, b->len, f) != b->len) || fclose(f)) {
    fprintf(stderr, "robust: cannot write '%s': %s\n", path, strerror(errno));
    exit(2);
  }
}

static void child(const Runner *R, const char *path) {
  int fd = open("/dev/null", O_RDWR);
  if (fd >= 0) {
    dup2(fd, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    if (fd > 2)
      close(fd);
  }
  signal(SIGALRM, SIG_DFL); /* an ignored signal would stay ignored */
  alarm(1);
  execl(R->mtlc, R->mtlc, "check", path, (char *)NULL);
  _exit(127);
}

static void status_text(int st, char *out, size_t cap) {
  if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
    snprintf(out, cap, "exit 127 (could not run mtlc?)");
  else if (WIFEXITED(st))
    snprintf(out, cap, "exit %d, want 0 or 1", WEXITSTATUS(st));
  else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM)
    snprintf(out, cap, "still running after 1 s (killed)");
  else if (WIFSIGNALED(st))
    snprintf(out, cap, "killed by signal %d (%s)", WTERMSIG(st),
             strsignal(WTERMSIG(st)));
  else
    snprintf(out, cap, "status 0x%x", st);
}

/* What a finished run means. The first failure of each kind (exit status,
 * signal, timeout) is saved and described, up to MAX_REPORTS. */
static void finish(Runner *R, Slot *s, int st) {
  s->pid = 0;
  R->runs++;
  if (WIFEXITED(st) && (WEXITSTATUS(st) == 0 || WEXITSTATUS(st) == 1))
    return;
  R->failures++;
  char why[128], saved[512];
  status_text(st, why, sizeof why);
  for (int i = 0; i < R->nreports; i++)
    if (!strcmp(R->why[i], why))
      return;
  if (R->nreports == MAX_REPORTS)
    return;
  snprintf(saved, sizeof saved, "%s/robust-fail-%s-%s.mtl", R->faildir,
           R->name, s->what);
  for (char *p = saved + strlen(R->faildir) + 1; *p; p++)
    if (*p == ' ')
      *p = '-';
  write_file(saved, &s->input);
  memcpy(R->why[R->nreports], why, sizeof why);
  snprintf(R->report[R->nreports++], sizeof R->report[0],
           "    %s: %s; input saved as %s", s->what, why, saved);
}

static void wait_one(Runner *R) {
  int st;
  pid_t pid;
  while ((pid = wait(&st)) < 0 && errno == EINTR)
    ;
  if (pid < 0) {
    fprintf(stderr, "robust: wait: %s\n", strerror(errno));
    exit(2);
  }
  for (int i = 0; i < R->njobs; i++)
    if (R->slot[i].pid == pid)
      finish(R, &R->slot[i], st);
}

static void wait_all(Runner *R) {
  for (int i = 0; i < R->njobs; i++)
    while (R->slot[i].pid)
      wait_one(R);
}

/* Starts `mtlc check` on one input in a free slot. */
static void run(Runner *R, const Buf *input, const char *what) {
  Slot *s = NULL;
  while (!s) {
    for (int i = 0; i < R->njobs && !s; i++)
      if (!R->slot[i].pid)
        s = &R->slot[i];
    if (!s)
      wait_one(R);
  }
  buf_set(&s->input, input->p, input->len);
  snprintf(s->what, sizeof s->what, "%s", what);
  write_file(s->path, &s->input);
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "robust: fork: %s\n", strerror(errno));
    exit(2);
  }
  if (pid == 0)
    child(R, s->path);
  s->pid = pid;
}

/* ---- main ----------------------------------------------------------------- */

static int read_file(const char *path, Buf *b) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return -1;
  unsigned char chunk[4096];
  size_t n;
  b->len = 0;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    buf_insert(b, b->len, chunk, n);
  int bad = ferror(f);
  fclose(f);
  return bad ? -1 : 0;
}

/* NAME of dir/NAME.mtl */
static char *spec_name(const char *path) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t n = strlen(base);
  if (n > 4 && !strcmp(base + n - 4, ".mtl"))
    n -= 4;
  char *name = xrealloc(NULL, n + 1);
  memcpy(name, base, n);
  name[n] = '\0';
  return name;
}

static void usage(void) {
  fprintf(stderr, "usage: robust [-n MUTATIONS] [-P STRIDE] [-s SEED] "
                  "[-j JOBS] [-o FAILDIR] [-p LABEL] MTLC SPEC...\n");
  exit(2);
}

int main(int argc, char **argv) {
  long nmut = 1000, stride = 1;
  uint64_t seed = 1;
  Runner R = {.faildir = "build", .label = "robust/", .njobs = 2};
  int opt;
  while ((opt = getopt(argc, argv, "n:P:s:j:o:p:")) != -1) {
    switch (opt) {
    case 'n': nmut = atol(optarg); break;
    case 'P': stride = atol(optarg); break;
    case 's': seed = strtoull(optarg, NULL, 0); break;
    case 'j': R.njobs = atoi(optarg); break;
    case 'o': R.faildir = optarg; break;
    case 'p': R.label = optarg; break;
    default: usage();
    }
  }
  if (argc - optind < 2 || R.njobs < 1 || R.njobs > MAX_JOBS || nmut < 0 ||
      stride < 0)
    usage();
  R.mtlc = argv[optind];

  const char *tmp = getenv("TMPDIR");
  char dir[512];
  snprintf(dir, sizeof dir, "%s/robust.XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir)) {
    fprintf(stderr, "robust: mkdtemp: %s\n", strerror(errno));
    return 2;
  }
  for (int i = 0; i < R.njobs; i++)
    snprintf(R.slot[i].path, sizeof R.slot[i].path, "%.40s/in%d.mtl", dir, i);
  /* run a private copy of mtlc, so that a rebuild during the run (make in
   * the same tree) cannot pull the binary from under it */
  char copy[512];
  snprintf(copy, sizeof copy, "%.400s/mtlc", dir);
  Buf bin = {0};
  if (read_file(R.mtlc, &bin) != 0) {
    fprintf(stderr, "robust: cannot read '%s': %s\n", R.mtlc, strerror(errno));
    return 2;
  }
  write_file(copy, &bin);
  free(bin.p);
  if (chmod(copy, 0700) != 0) {
    fprintf(stderr, "robust: chmod '%s': %s\n", copy, strerror(errno));
    return 2;
  }
  R.mtlc = copy;

  int failed = 0;
  Buf spec = {0}, in = {0};
  for (int a = optind + 1; a < argc; a++) {
    R.name = spec_name(argv[a]);
    R.runs = R.failures = 0;
    R.nreports = 0;
    if (read_file(argv[a], &spec) != 0) {
      printf("[FAIL] %s%s\n    cannot read '%s': %s\n", R.label, R.name,
             argv[a], strerror(errno));
      failed++;
      continue;
    }
    char what[64];
    /* prefixes 0, stride, 2 * stride, ..., then the whole file */
    for (size_t n = stride ? 0 : spec.len;; n += (size_t)stride) {
      if (n > spec.len)
        n = spec.len;
      buf_set(&in, spec.p, n);
      snprintf(what, sizeof what, "prefix %zu", n);
      run(&R, &in, what);
      if (n == spec.len)
        break;
    }
    Rng r = {seed ^ hash_str(R.name)};
    for (long k = 0; k < nmut; k++) {
      buf_set(&in, spec.p, spec.len);
      mutate(&in, &r);
      snprintf(what, sizeof what, "mutation %ld", k);
      run(&R, &in, what);
    }
    wait_all(&R);
    if (R.failures) {
      printf("[FAIL] %s%s: %ld of %ld runs failed (seed %llu)\n", R.label,
             R.name, R.failures, R.runs, (unsigned long long)seed);
      for (int i = 0; i < R.nreports; i++)
        puts(R.report[i]);
      failed++;
    } else {
      printf("[PASS] %s%s\n", R.label, R.name);
    }
    fflush(stdout);
    free((char *)R.name);
  }
  for (int i = 0; i < R.njobs; i++) {
    unlink(R.slot[i].path);
    free(R.slot[i].input.p);
  }
  unlink(copy);
  rmdir(dir);
  free(spec.p);
  free(in.p);
  return failed ? 1 : 0;
}
