/* mtl_cli.c: the command line of a trainer built from generated code
 * (emit-c --main writes main.c as one call of mtl_main), and the --data
 * binding syntax that it and mtlc share. Training and evaluation are
 * mtl_train.c's; this file only reads arguments and says what each wants. */
#include "mtl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- --data SPLIT.NAME=PATH[:column=N|:columns=LIST][:delimiter=D] ---------------- */

static const char *const csv_keys[] = {"column=", "columns=", "delimiter="};

/* the first ':' that starts a CSV option: where the path ends */
static const char *options_at(const char *p) {
  for (const char *q = strchr(p, ':'); q; q = strchr(q + 1, ':'))
    for (size_t k = 0; k < sizeof csv_keys / sizeof *csv_keys; k++)
      if (!strncmp(q + 1, csv_keys[k], strlen(csv_keys[k])))
        return q;
  return NULL;
}

static bool number(const char *s, const char *e, int64_t *out) {
  if (s == e || e - s > 9)
    return false;
  int64_t v = 0;
  for (; s < e; s++) {
    if (*s < '0' || *s > '9')
      return false;
    v = v * 10 + (*s - '0');
  }
  *out = v;
  return true;
}

/* "0-5", "0,2,4-6": columns, counted from 0 */
static bool columns(const char *s, const char *e, MtlOverride *o) {
  int64_t *cols = NULL, n = 0;
  for (const char *p = s; p < e;) {
    const char *comma = memchr(p, ',', (size_t)(e - p)), *end = comma ? comma : e;
    const char *dash = memchr(p, '-', (size_t)(end - p));
    int64_t lo, hi;
    if (!number(p, dash ? dash : end, &lo) || !number(dash ? dash + 1 : p, end, &hi) || hi < lo ||
        n + (hi - lo + 1) > 65536) {
      free(cols);
      return false;
    }
    int64_t *q = realloc(cols, (size_t)(n + hi - lo + 1) * sizeof *q);
    if (!q) {
      free(cols);
      return false;
    }
    cols = q;
    for (int64_t c = lo; c <= hi; c++)
      cols[n++] = c;
    p = comma ? comma + 1 : e;
  }
  o->csv_columns = cols, o->n_csv_columns = (int)n;
  return n > 0;
}

static int delimiter(const char *s, const char *e) {
  static const struct {
    const char *name;
    int c;
  } names[] = {{"tab", '\t'}, {"\\t", '\t'}, {"semicolon", ';'}, {"comma", ','},
               {"space", ' '}, {"pipe", '|'}};
  for (size_t k = 0; k < sizeof names / sizeof *names; k++)
    if ((size_t)(e - s) == strlen(names[k].name) && !strncmp(s, names[k].name, (size_t)(e - s)))
      return names[k].c;
  return e - s == 1 && *s != '"' && *s != '\n' ? *s : 0;
}

static bool csv_option(const char *opt, const char *e, MtlOverride *o) {
  const char *v = strchr(opt, '=') + 1;
  if (!strncmp(opt, "delimiter=", 10))
    return (o->delimiter = delimiter(v, e)) != 0;
  o->csv = true;
  if (!strncmp(opt, "columns=", 8))
    return !o->csv_columns && columns(v, e, o);
  int64_t c;
  o->csv_column = number(v, e, &c) ? (int)c : -2;
  return o->csv_column >= 0;
}

bool mtl_parse_override(const char *arg, MtlOverride *out) {
  char *s = malloc(strlen(arg) + 1);
  if (!s) {
    mtl_set_error("out of memory");
    return false;
  }
  strcpy(s, arg);
  char *dot = strchr(s, '.'), *eq = strchr(s, '=');
  *out = (MtlOverride){.csv_column = -1};
  if (!dot || !eq || dot > eq || dot == s || eq == dot + 1 || !eq[1]) {
    mtl_set_error("--data needs SPLIT.NAME=PATH, like train.image=data/x.idx, not '%s'", arg);
    free(s);
    return false;
  }
  *dot = *eq = '\0';
  char *opts = (char *)options_at(eq + 1);
  if (opts)
    *opts++ = '\0';
  for (char *p = opts; p && *p;) {
    char *colon = strchr(p, ':'), *e = colon ? colon : p + strlen(p);
    bool known = false;
    for (size_t k = 0; k < sizeof csv_keys / sizeof *csv_keys; k++)
      known |= !strncmp(p, csv_keys[k], strlen(csv_keys[k]));
    if (!known || !csv_option(p, e, out)) {
      mtl_set_error("--data %s.%s=%s: bad option '%.*s'; the options are :column=N (a label's "
                    "CSV column), :columns=0-5 or :columns=0,2,4-6 (an input's or a real "
                    "label's), :delimiter=D (a character, or tab, semicolon, space)",
                    s, dot + 1, eq + 1, (int)(e - p), p);
      free((void *)out->csv_columns);
      free(s);
      return false;
    }
    p = colon ? colon + 1 : e;
  }
  if (out->csv && out->csv_column >= 0 && out->csv_columns) {
    mtl_set_error("--data %s.%s=...: give :column= or :columns=, not both", s, dot + 1);
    free((void *)out->csv_columns);
    free(s);
    return false;
  }
  out->split = s, out->name = dot + 1, out->path = eq + 1;
  return true;
}

/* ---- a generated trainer's main ----------------------------------------------------- */

static const char trainer_help[] =
    "usage: %s [options]\n"
    "Trains model %s (from %s) with its spec's recipe, or evaluates a checkpoint.\n"
    "\n"
    "options:\n"
    "  --epochs N        train N epochs (default: the spec's, %lld)\n"
    "  --batch N         samples per step, 1 to %lld (default: the spec's, %lld)\n"
    "  --data SPLIT.NAME=PATH[:OPTIONS]\n"
    "                    bind input or label NAME of split train, test or valid to a\n"
    "                    file (IDX, .npy or CSV), replacing the spec's; CSV options:\n"
    "                    :column=N (a label), :columns=0-5 or 0,2,4-6 (an input or a\n"
    "                    real label), :delimiter=D (a character, or tab, semicolon)\n"
    "  --limit N         the first N samples of each split\n"
    "  --save CKPT       a checkpoint (safetensors) after every epoch; with a valid\n"
    "                    split also the best epoch's, in CKPT with .best before its\n"
    "                    extension\n"
    "  --best WATCH      what picks the best epoch on the valid split: TASK.METRIC\n"
    "                    (like item.accuracy) or loss (default: the spec's early_stop\n"
    "                    on=, else loss)\n"
    "  --resume CKPT     continue from a checkpoint\n"
    "  --log FILE        one JSON line per epoch\n"
    "  --threads N       training threads, each taking its share of every batch\n"
    "                    (default: the cores; under mpirun, OpenBLAS's per rank)\n"
    "  --eval CKPT       print the test metrics of a checkpoint instead of training\n"
    "  -h, --help        this text\n"
    "Exit status: 0 ok, 1 an error (the command line, a file or the data is wrong),\n"
    "130 interrupted (Ctrl-C).\n";

static int trainer_usage(const char *prog, const char *fmt, const char *arg) {
  fprintf(stderr, "%s: ", prog);
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n(run '%s --help' for usage)\n", prog);
  return 1;
}

static bool count(const char *s, int64_t max, int64_t *out) {
  char *end;
  errno = 0;
  long long v = s ? strtoll(s, &end, 10) : -1;
  if (!s || !*s || *end || errno || v < 1 || v > max)
    return false;
  *out = v;
  return true;
}

int mtl_main(const MtlModelInfo *m, int argc, char **argv) {
  return mtl_main_comm(m, argc, argv, NULL);
}

int mtl_main_comm(const MtlModelInfo *m, int argc, char **argv, const struct MtlComm *comm) {
  const char *prog = argc > 0 && argv[0] ? argv[0] : "train", *eval = NULL;
  MtlTrainOpts o = {.comm = comm};
  MtlOverride ov[64];
  int64_t threads = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      printf(trainer_help, prog, m->name, m->spec, (long long)m->epochs, (long long)m->batch_max,
             (long long)m->batch);
      return 0;
    }
    static const char *const with_value[] = {"--epochs", "--batch", "--limit", "--save", "--best",
                                             "--resume", "--log", "--threads", "--eval", "--data"};
    bool known = false;
    for (size_t k = 0; k < sizeof with_value / sizeof *with_value; k++)
      known |= !strcmp(a, with_value[k]);
    if (!known)
      return trainer_usage(prog, "unknown option '%s'", a);
    if (!v)
      return trainer_usage(prog, "%s needs a value", a);
    i++;
    bool ok = true;
    if (!strcmp(a, "--epochs")) ok = count(v, 1000000, &o.epochs);
    else if (!strcmp(a, "--batch")) ok = count(v, m->batch_max, &o.batch);
    else if (!strcmp(a, "--limit")) ok = count(v, INT64_MAX / 4, &o.limit_train), o.limit_test = o.limit_train;
    else if (!strcmp(a, "--threads")) ok = count(v, 256, &threads), o.threads = (int)threads;
    else if (!strcmp(a, "--save")) o.save = v;
    else if (!strcmp(a, "--best")) o.watch = v;
    else if (!strcmp(a, "--resume")) o.resume = v;
    else if (!strcmp(a, "--log")) o.log = v;
    else if (!strcmp(a, "--eval")) eval = v;
    else if (o.n_overrides == 64)
      return trainer_usage(prog, "%s", "at most 64 --data bindings");
    else if (!mtl_parse_override(v, &ov[o.n_overrides]))
      return trainer_usage(prog, "%s", mtl_error());
    else
      o.n_overrides++, o.overrides = ov;
    if (!ok)
      return trainer_usage(prog, !strcmp(a, "--batch") ? "--batch needs a whole number from 1 "
                           "to the batch the model was generated for, not '%s'"
                           : "this option needs a whole number of at least 1, not '%s'", v);
  }
  if (eval)
    return mtl_eval(m, eval, o.overrides, o.n_overrides, o.limit_test);
  return mtl_train(m, &o);
}
