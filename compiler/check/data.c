/* check/data.c: data blocks: each split's bindings of inputs and labels to
 * files, their options (normalize, csv; chars and words are check/text.c's),
 * paths resolved along the data search path (the spec's folder, ./data, the
 * user's data folder, /usr/share/datasets), and what a block leaves unbound.
 * Files are only asked whether they exist: reading them is the runtime's. */
#include "check/sema.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static const Param p_norm[] = {{"mean", T_NUMS, REQ | NO_MAX, -1e30, 0},
                               {"std", T_NUMS, REQ | MIN_EXCL | NO_MAX, 0, 0}};
static const Sig sig_norm = {"normalize", 2, p_norm, 2, "normalize(mean=0.2860, std=0.3530)", NULL, NULL, NULL};
static const Param p_csv[] = {{"column", T_INT, 0, 0, BIG}, {"columns", T_INTLIST, 0, 0, BIG},
                              {"delimiter", T_STR, 0, 0, 0}};
static const Sig sig_csv = {"csv", 0, p_csv, 3, "csv(column=0)", NULL, NULL, NULL};

/* How normalization sees an input: element i of a sample is channel
 * (i / inner) % channels. [C, H, W] and [C] have channels first (an image's
 * channels, a vector's columns), [T, D] its D features last (Keras'
 * channels-last sequences). */
void norm_layout(Input *in) {
  Shape sh = in->shape;
  int axis = sh.rank == 2 ? 1 : 0;
  in->channels = sh.rank ? sh.d[axis] : 1;
  in->inner = 1;
  for (int d = axis + 1; d < sh.rank; d++)
    in->inner *= sh.d[d];
}

/* a number or a list of them, as doubles; *n their count */
static double *num_values(Sema *s, Value *v, int *n) {
  *n = v->kind == V_LIST ? v->items.len : 1;
  double *x = arena_alloc(s->a, sizeof(double) * (size_t)*n);
  for (int i = 0; i < *n; i++)
    x[i] = v->kind == V_LIST ? ((Value *)v->items.data[i])->num : v->num;
  return x;
}

/* normalize(auto), or normalize(mean=, std=) with one value or one per
 * channel each */
static void check_normalize(Sema *s, DataBind *db, Call *c) {
  Binding *b = db->decl;
  if (db->task) {
    ERR(c->span, "normalize applies to inputs, and '%s' is a label", b->name);
    return;
  }
  if (db->normalize) {
    ERR(c->span, "normalize is given twice for '%s'", b->name);
    return;
  }
  if (db->input->dtype != DT_F32) {
    ERR(c->span, "normalize applies to f32 inputs, and '%s' holds i32 ids", b->name);
    return;
  }
  Arg *a0 = c->args.len == 1 ? c->args.data[0] : NULL;
  if (a0 && !a0->name && a0->val->kind == V_IDENT && !strcmp(a0->val->str, "auto")) {
    db->normalize = NORM_AUTO;
    db->input->norm_auto = true;
    return;
  }
  Value *v[2];
  if (!bind_args(s, c, &sig_norm, v))
    return;
  int nm, ns;
  double *mean = num_values(s, v[0], &nm), *std = num_values(s, v[1], &ns);
  int64_t ch = db->input->channels;
  for (int k = 0; k < 2; k++) {
    int n = k ? ns : nm;
    if (n != 1 && n != ch) {
      ERR(v[k]->span, "input '%s' is %s: %lld channel%s, so normalize takes one %s or %lld, "
          "not %d", b->name, shape_str(s->a, db->input->shape), (long long)ch,
          ch == 1 ? "" : "s", k ? "std" : "mean", (long long)ch, n);
      return;
    }
  }
  db->normalize = NORM_GIVEN;
  db->n_norm = nm > ns ? nm : ns;
  db->mean = arena_alloc(s->a, sizeof(double) * (size_t)db->n_norm);
  db->std = arena_alloc(s->a, sizeof(double) * (size_t)db->n_norm);
  for (int i = 0; i < db->n_norm; i++)
    db->mean[i] = mean[nm == 1 ? 0 : i], db->std[i] = std[ns == 1 ? 0 : i];
}

/* csv(column=N) for a class or binary label, csv(columns=[...]) for an
 * input or a real[D] label (D columns); delimiter="," by default */
static void check_csv(Sema *s, DataBind *db, Call *c) {
  Binding *b = db->decl;
  Value *v[3];
  if (!bind_args(s, c, &sig_csv, v))
    return;
  bool real = db->task && db->task->label == LBL_REAL;
  if (v[2]) {
    const char *d = v[2]->str;
    bool tab = !strcmp(d, "\\t") || !strcmp(d, "tab");
    if (!tab && (strlen(d) != 1 || d[0] == '"' || d[0] == '\n' || d[0] == '\r')) {
      ERR(v[2]->span, "delimiter is one character, like \";\" or \"\\t\", not \"%s\"", d);
      return;
    }
    db->delimiter = tab ? '\t' : d[0];
  }
  if (db->task && !real && (v[1] || !v[0])) {
    ERR(c->span, "a label is read from one CSV column: csv(column=N)");
    return;
  }
  if ((db->input || real) && !v[0] && !v[1]) {
    ERR(c->span, "%s is read from CSV columns: csv(columns=[...])",
        db->input ? "an input" : "a real label");
    return;
  }
  if (db->input && v[0]) {
    ERR(c->span, "an input is read from CSV columns: csv(columns=[...])");
    return;
  }
  int64_t want = db->input ? shape_numel(db->input->shape) : real ? db->task->label_n : 1;
  int64_t have = v[1] ? v[1]->items.len : 1;
  if (db->input && db->input->shape.rank && have != want) {
    ERR(v[1]->span, "input '%s' is %s, so csv needs %lld columns, not %d", b->name,
        shape_str(s->a, db->input->shape), (long long)want, v[1]->items.len);
    return;
  }
  if (real && have != want) {
    ERR(v[1] ? v[1]->span : v[0]->span, "task '%s' has a real[%lld] label, so csv needs %lld "
        "column%s, not %lld", b->name, (long long)want, (long long)want, want == 1 ? "" : "s",
        (long long)have);
    return;
  }
  if (v[0])
    db->csv_column = (int)v[0]->num;
  else
    db->csv_columns = v[1]->items;
}

static bool file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The data search path: the spec's folder, ./data, the user's data folder
 * ($MTLC_DATA, else ~/.cache/mtlc: where the data scripts of specs/ write),
 * /usr/share/datasets. */
static int data_dirs(Sema *s, const char **dirs) {
  const char *env = getenv("MTLC_DATA"), *home = getenv("HOME");
  int n = 0;
  dirs[n++] = s->dir;
  dirs[n++] = "data";
  if (env && env[0])
    dirs[n++] = env;
  else if (home && home[0])
    dirs[n++] = arena_printf(s->a, "%s/.cache/mtlc", home);
  dirs[n++] = "/usr/share/datasets";
  return n;
}

/* "looked in specs, data, /root/.cache/mtlc and /usr/share/datasets" */
const char *data_search_text(Sema *s) {
  const char *dirs[4];
  int n = data_dirs(s, dirs);
  const char *t = "looked in";
  for (int i = 0; i < n; i++)
    t = arena_printf(s->a, "%s%s %s", t, i == 0 ? "" : i == n - 1 ? " and" : ",", dirs[i]);
  return t;
}

/* A relative path resolves along the data search path; as written when no
 * file is there. */
char *resolve_data_path(Sema *s, const char *p, bool *found) {
  *found = false;
  if (p[0] == '/')
    return *found = file_exists(p), (char *)p;
  const char *dirs[4];
  int n = data_dirs(s, dirs);
  for (int i = 0; i < n; i++) {
    char *full = arena_printf(s->a, "%s/%s", dirs[i], p);
    if (file_exists(full))
      return *found = true, full;
  }
  return (char *)p;
}

static void resolve_path(Sema *s, DataBind *db) {
  db->path = resolve_data_path(s, db->decl->path->str, &db->found);
}

/* Checks one binding of a split. Returns false, reporting nothing, when
 * its name is neither an input nor a task: check_data reports those
 * together with what the split leaves unbound. */
static bool check_binding(Sema *s, DataSplit *sp, Binding *b) {
  Model *m = s->m;
  DataBind *db = NEW(DataBind);
  db->decl = b;
  db->csv_column = -1;
  db->delimiter = ',';
  db->input = find_input(m, b->name);
  db->task = find_task(m, b->name);
  if (!db->input && !db->task)
    return false;
  for (int i = 0; i < sp->binds.len; i++) {
    DataBind *o = sp->binds.data[i];
    if (!strcmp(o->decl->name, b->name)) {
      ERR(b->name_span, "data '%s' binds '%s' twice; keep one", sp->split, b->name);
      NOTE(o->decl->name_span, "the first is here");
      return true;
    }
  }
  if (db->task && db->task->derive_from) {
    ERR(b->name_span, "the label of task '%s' is derived by lookup from '%s', "
        "so data does not bind it; remove this line", b->name,
        db->task->derive_from->name);
    return true;
  }
  if (!b->path->str[0]) {
    ERR(b->path->span, "empty data path; write the file's path between the "
        "quotes");
    return true;
  }
  for (int i = 0; i < b->calls.len; i++) {
    Call *c = b->calls.data[i];
    if (!strcmp(c->name, "normalize")) {
      check_normalize(s, db, c);
    } else if (!strcmp(c->name, "csv")) {
      check_csv(s, db, c);
    } else if (!check_text_option(s, db, c)) {
      static const char *const known[] = {"normalize", "csv", "chars", "words"};
      unknown_name(s, c->name_span, "data option", c->name, known, 4, NULL, 0,
                   "options: normalize, csv, chars, words");
    }
  }
  if (db->text && (db->normalize || db->csv_columns.len))
    ERR(b->path->span, "'%s' is read as text, one sample a line, so %s does not "
        "apply; remove it", b->name, db->normalize ? "normalize" : "csv");
  else if (db->input && db->input->dtype == DT_I32 && db->normalize)
    ERR(b->path->span, "normalize applies to f32 values, and input '%s' holds "
        "i32 ids; remove it", b->name);
  resolve_path(s, db);
  vec_push(s->a, &sp->binds, db);
  return true;
}

static bool binds(DataDecl *d, const char *name) {
  for (int i = 0; i < d->bindings.len; i++)
    if (!strcmp(((Binding *)d->bindings.data[i])->name, name))
      return true;
  return false;
}

/* Whether a data block must bind t's label: it has one, not derived. */
static bool needs_data(Task *t) {
  bool derived = false, labelled = false;
  for (int i = 0; i < t->decl->fields.len; i++) {
    Field *f = t->decl->fields.data[i];
    derived |= f->kind == F_LABEL && f->derive;
    labelled |= f->kind == F_LABEL; /* no label: reported in check_task */
  }
  return labelled && !derived && !t->derive_from;
}

/* The bindings of d that name nothing, and the inputs and labels d leaves
 * unbound, reported as one mistake where they pair up: 'images' for
 * 'image' (close names), or 'labels' for 'digit' (one of each left). */
static void report_unbound(Sema *s, DataDecl *d, Vec *unknown, Vec *missing) {
  Model *m = s->m;
  const char **paired = arena_alloc(s->a, sizeof(char *) * (size_t)(unknown->len + 1));
  for (int i = 0; i < unknown->len; i++) {
    Binding *b = unknown->data[i];
    paired[i] = suggest(b->name, (const char *const *)missing->data, missing->len);
    for (int j = 0; paired[i] && j < missing->len; j++)
      if (missing->data[j] == paired[i])
        missing->data[j] = (void *)""; /* claimed */
  }
  int left = 0, lone = -1;
  for (int j = 0; j < missing->len; j++)
    if (((char *)missing->data[j])[0])
      left++, lone = j;
  int unpaired = 0;
  for (int i = 0; i < unknown->len; i++)
    unpaired += !paired[i];
  for (int i = 0; i < unknown->len; i++) {
    Binding *b = unknown->data[i];
    if (paired[i])
      ERR(b->name_span, "data binds '%s', which is neither an input nor a "
          "task's label; did you mean '%s'?", b->name, paired[i]);
    else if (unpaired == 1 && left == 1 && find_input(m, missing->data[lone]))
      ERR(b->name_span, "data binds '%s', which is neither an input nor a "
          "task's label; the input is '%s'", b->name,
          (char *)missing->data[lone]);
    else if (unpaired == 1 && left == 1)
      ERR(b->name_span, "data binds '%s', which is neither an input nor a "
          "task's label; a task's label is bound by the task's name: '%s'",
          b->name, (char *)missing->data[lone]);
    else
      ERR(b->name_span, "data binds '%s', which is neither an input nor a "
          "task's label; data binds inputs, and task labels by the task's "
          "name", b->name);
    if (!paired[i] && unpaired == 1 && left == 1)
      missing->data[lone] = (void *)""; /* the same mistake */
  }
  for (int j = 0; j < missing->len; j++) {
    const char *name = missing->data[j];
    if (!name[0])
      continue;
    if (find_input(m, name))
      ERR(d->split_span, "data '%s' does not bind input '%s'; add a line like "
          "'%s: \"FILE\"'", d->split, name, name);
    else
      ERR(d->split_span, "data '%s' does not bind the label of task '%s'; add "
          "a line like '%s: \"FILE\"'", d->split, name, name);
  }
}

/* normalize(auto) in a split other than train uses the train split's
 * statistics: the train split must compute them. */
static void check_auto_norm(Sema *s) {
  Model *m = s->m;
  DataSplit *train = NULL;
  for (int i = 0; i < m->splits.len; i++)
    if (!strcmp(((DataSplit *)m->splits.data[i])->split, "train"))
      train = m->splits.data[i];
  for (int i = 0; train && i < m->splits.len; i++) {
    DataSplit *sp = m->splits.data[i];
    for (int j = 0; sp != train && j < sp->binds.len; j++) {
      DataBind *db = sp->binds.data[j];
      bool ok = db->normalize != NORM_AUTO;
      for (int k = 0; !ok && k < train->binds.len; k++) {
        DataBind *t = train->binds.data[k];
        ok = t->input == db->input && t->normalize == NORM_AUTO;
      }
      for (int k = 0; !ok && k < db->decl->calls.len; k++) {
        Call *c = db->decl->calls.data[k];
        if (!strcmp(c->name, "normalize"))
          ERR(c->span, "normalize(auto) takes its statistics from the train split; bind "
              "'%s' with normalize(auto) in data train too", db->decl->name);
      }
    }
  }
}

void check_data(Sema *s) {
  static const char *const splits[] = {"train", "test", "valid"};
  Model *m = s->m;
  for (int i = 0; i < s->spec->data.len; i++) {
    DataDecl *d = s->spec->data.data[i];
    int k = -1;
    for (int j = 0; j < 3; j++)
      if (!strcmp(d->split, splits[j]))
        k = j;
    if (k < 0) {
      static Alias aliases[] = {
          {"training", "train"}, {"testing", "test"}, {"validation", "valid"},
          {"val", "valid"}, {"dev", "valid"},
      };
      unknown_name(s, d->split_span, "data split", d->split, splits, 3,
                   aliases, NELEMS(aliases), "splits: train, test, valid");
      continue;
    }
    DataSplit *sp = NULL;
    for (int j = 0; j < m->splits.len; j++)
      if (!strcmp(((DataSplit *)m->splits.data[j])->split, d->split))
        sp = m->splits.data[j];
    if (sp) {
      ERR(d->split_span, "data '%s' is given twice; keep one block per split",
          d->split);
      continue;
    }
    sp = NEW(DataSplit);
    sp->split = d->split;
    vec_push(s->a, &m->splits, sp);
    Vec unknown = {0}; /* Binding*: names neither an input nor a task */
    for (int j = 0; j < d->bindings.len; j++)
      if (!check_binding(s, sp, d->bindings.data[j]))
        vec_push(s->a, &unknown, d->bindings.data[j]);
    Vec missing = {0}; /* char*: inputs, then labels, that d leaves unbound */
    for (int j = 0; j < m->inputs.len; j++) {
      Input *in = m->inputs.data[j];
      if (find_input(m, in->name) == in && !binds(d, in->name))
        vec_push(s->a, &missing, in->name); /* a second 'image' is reported once */
    }
    for (int j = 0; j < m->tasks.len; j++) {
      Task *t = m->tasks.data[j];
      if (needs_data(t) && !binds(d, t->name))
        vec_push(s->a, &missing, t->name);
    }
    report_unbound(s, d, &unknown, &missing);
  }
  check_auto_norm(s);
}

/* Warnings about data a correct spec leaves out: missing files and splits.
 * Given only when there are no errors (sema.c). */
void data_warnings(Sema *s) {
  Model *m = s->m;
  for (int i = 0; i < m->splits.len; i++) {
    DataSplit *sp = m->splits.data[i];
    for (int j = 0; j < sp->binds.len; j++) {
      DataBind *db = sp->binds.data[j];
      const char *p = db->decl->path->str;
      if (!db->found)
        WARN(db->decl->path->span, "data file '%s' not found%s", p,
             p[0] == '/' ? "" : arena_printf(s->a, " (%s)", data_search_text(s)));
      text_warnings(s, db);
    }
  }
  if (m->splits.len) {
    bool have[3] = {false, false, false}; /* train, test, valid */
    static const char *const names[] = {"train", "test", "valid"};
    for (int j = 0; j < m->splits.len; j++)
      for (int k = 0; k < 3; k++)
        have[k] |= !strcmp(((DataSplit *)m->splits.data[j])->split, names[k]);
    Span at = ((DataDecl *)s->spec->data.data[0])->split_span;
    if (!have[0])
      WARN(at, "no data 'train' block; training will need --data train.NAME=PATH for "
           "every input and label");
    if (!have[1] && !have[2])
      WARN(at, "no data 'test' or 'valid' block; training will report train losses only, "
           "unless --data binds test.NAME=PATH or valid.NAME=PATH");
  }
}
