/* mtl_data.c: data sets. Reads a file by its content, never by its name
 * (IDX, .npy or CSV: mtl_idx.c, mtl_npy.c, mtl_csv.c) into an MtlArray;
 * normalizes inputs by the spec's values (normalize(auto) is
 * mtl_norm.c's, after the statistics are known); checks labels; loads a model's split from its
 * bindings and the command line's overrides. Every fault in a file
 * (missing, wrong magic, truncated, wrong shape, out-of-range label) is an
 * error naming the file. Batching and shuffling are mtl_train.c's. */
#include "mtl_read.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- conversion to an MtlArray -------------------------------------------- */

static bool convert(MtlArray *out, const char *path, const View *v, MtlDtype want,
                    int64_t width, const char *what) {
  int64_t n = v->dims[0], per = mtl_view_numel(v, 1);
  if (per != width) {
    char sh[160];
    mtl_shape_text(sh, sizeof sh, v->dims + 1, v->ndim - 1);
    if (what)
      mtl_set_error("%s: each sample is %s (%" PRId64 " values), but %s", path, sh, per, what);
    else
      mtl_set_error("%s: each sample is %s (%" PRId64 " values), want %" PRId64 " values",
                    path, sh, per, width);
    return false;
  }
  if (n == 0) {
    mtl_set_error("%s: no samples", path);
    return false;
  }
  size_t total = (size_t)(n * width);
  void *data = malloc(total * 4);
  if (!data) {
    mtl_set_error("%s: out of memory for %" PRId64 " samples", path, n);
    return false;
  }
  if (want == MTL_F32) {
    float *f = data;
    if (v->scale)
      for (size_t i = 0; i < total; i++)
        f[i] = (float)v->p[i] / 255.0f;
    else
      for (size_t i = 0; i < total; i++)
        f[i] = (float)mtl_view_f64(v, (int64_t)i);
  } else {
    int32_t *d = data;
    for (size_t i = 0; i < total; i++) {
      double x = mtl_view_f64(v, (int64_t)i);
      if (x != floor(x) || x < INT32_MIN || x > INT32_MAX) {
        mtl_set_error("%s: sample %zu: %s %g is not an integer", path, i / (size_t)width,
                      what && !strncmp(what, "input", 5) ? "id" : "label", x);
        free(data);
        return false;
      }
      d[i] = (int32_t)x;
    }
  }
  *out = (MtlArray){want, n, width, data};
  return true;
}

static bool load(MtlArray *out, const char *path, MtlDtype want, int64_t width,
                 int csv_column, const int64_t *csv_columns, int n_csv_columns, int delim,
                 const char *what) {
  Bytes b;
  if (!mtl_read_file(path, &b))
    return false;
  View v;
  double *csv = NULL;
  bool ok;
  int64_t col = csv_column;
  if (b.n == 0) {
    mtl_set_error("%s: empty file", path);
    ok = false;
  } else if (b.n >= 6 && !memcmp(b.p, "\x93NUMPY", 6)) {
    ok = mtl_npy_parse(path, &b, &v);
  } else if (b.n >= 2 && b.p[0] == 0 && b.p[1] == 0) {
    ok = b.n >= 4 ? mtl_idx_parse(path, &b, &v)
                  : (mtl_set_error("%s: truncated: %zu bytes, less than an IDX magic number",
                                   path, b.n), false);
  } else if (csv_column >= 0) {
    ok = mtl_csv_parse(path, &b, &col, 1, delim, &csv, &v);
  } else if (csv_columns && n_csv_columns > 0) {
    ok = mtl_csv_parse(path, &b, csv_columns, n_csv_columns, delim, &csv, &v);
  } else {
    mtl_set_error("%s: wrong magic number: bytes %02x %02x %02x %02x are neither IDX "
                  "(00 00 TYPE NDIM) nor .npy (93 'NUMPY'); a CSV file needs csv(column=N) "
                  "or csv(columns=[...])", path,
                  b.p[0], b.n > 1 ? b.p[1] : 0, b.n > 2 ? b.p[2] : 0, b.n > 3 ? b.p[3] : 0);
    ok = false;
  }
  if (ok)
    ok = convert(out, path, &v, want, width, what);
  free(csv);
  free(b.p);
  return ok;
}

bool mtl_load(MtlArray *out, const char *path, MtlDtype want, int64_t width,
              int csv_column, const int64_t *csv_columns, int n_csv_columns) {
  return load(out, path, want, width, csv_column, csv_columns, n_csv_columns, ',', NULL);
}

void mtl_array_free(MtlArray *a) {
  free(a->data);
  a->data = NULL;
  a->n = 0;
}

/* x = (x - mean) / std in float, as torchvision's Normalize does */
void mtl_normalize(MtlArray *a, float mean, float std) {
  float *x = a->data;
  for (int64_t i = 0; i < a->n * a->width; i++)
    x[i] = (x[i] - mean) / std;
}

void mtl_normalize_channels(MtlArray *a, const float *mean, const float *std, int64_t n,
                            int64_t channels, int64_t inner) {
  if (n == 1) {
    mtl_normalize(a, mean[0], std[0]);
    return;
  }
  float *x = a->data;
  for (int64_t i = 0; i < a->n * a->width; i++) {
    int64_t c = (i % a->width) / inner % channels;
    x[i] = (x[i] - mean[c]) / std[c];
  }
}

bool mtl_check_labels(const MtlArray *a, int64_t classes, const char *path) {
  if (a->dtype != MTL_I32)
    return true;
  const int32_t *y = a->data;
  for (int64_t i = 0; i < a->n * a->width; i++)
    if (y[i] < 0 || y[i] >= classes) {
      mtl_set_error("%s: sample %" PRId64 ": label %" PRId32 " is out of range [0, %" PRId64 ")",
                    path, i / a->width, y[i], classes);
      return false;
    }
  return true;
}

/* ---- a model's split -------------------------------------------------------- */

/* The binding of split.name: an override's path with the spec's options,
 * or the spec's binding, or an override alone; NULL when unbound. */
static bool find_binding(const MtlModelInfo *m, const char *split, const char *name,
                         const MtlOverride *ov, int n_ov, MtlBinding *out) {
  bool found = false;
  *out = (MtlBinding){.csv_column = -1, .delimiter = ','};
  for (int i = 0; i < m->n_bindings; i++) {
    const MtlBinding *b = &m->bindings[i];
    if (!strcmp(b->split, split) && !strcmp(b->name, name))
      *out = *b, found = true;
  }
  for (int i = 0; i < n_ov; i++)
    if (!strcmp(ov[i].split, split) && !strcmp(ov[i].name, name)) {
      out->split = split, out->name = name, out->path = ov[i].path;
      if (ov[i].csv) {
        out->csv_column = ov[i].csv_column;
        out->csv_columns = ov[i].csv_columns, out->n_csv_columns = ov[i].n_csv_columns;
      }
      if (ov[i].delimiter)
        out->delimiter = ov[i].delimiter;
      found = true;
    }
  return found;
}

/* "image, item": what --data can bind */
static void bindable_names(char *buf, size_t cap, const MtlModelInfo *m) {
  size_t k = 0;
  buf[0] = '\0';
  for (int i = 0; i < m->n_inputs + m->n_labels && k < cap; i++)
    k += (size_t)snprintf(buf + k, cap - k, "%s%s", i ? ", " : "",
                          i < m->n_inputs ? m->inputs[i].name : m->labels[i - m->n_inputs].name);
}

/* (as issue 17's branch has it, less its escaping of the names) */
bool mtl_check_overrides(const MtlModelInfo *m, const MtlOverride *ov, int n_ov) {
  static const char *const splits[] = {"train", "test", "valid"};
  for (int i = 0; i < n_ov; i++) {
    const MtlOverride *o = &ov[i];
    const char *split = o->split, *name = o->name;
    char names[1024];
    bool known = false;
    for (size_t k = 0; k < sizeof splits / sizeof *splits; k++)
      known |= !strcmp(o->split, splits[k]);
    if (!known) {
      mtl_set_error("--data %s.%s=...: no split '%s'; the splits are train, test and valid",
                    split, name, split);
      return false;
    }
    for (int k = 0; k < m->n_inputs + m->n_labels; k++)
      known &= !!strcmp(o->name, k < m->n_inputs ? m->inputs[k].name
                                                   : m->labels[k - m->n_inputs].name);
    if (known) { /* still true: the name is none of them */
      bindable_names(names, sizeof names, m);
      int derived = -1;
      for (int t = 0; t < m->n_tasks; t++)
        if (!strcmp(o->name, m->tasks[t].name) && m->tasks[t].label < 0)
          derived = t;
      if (derived >= 0 && m->tasks[derived].derive_from >= 0 &&
          m->tasks[derived].derive_from < m->n_tasks)
        mtl_set_error("--data %s.%s=...: task %s's label is derived from task %s by its lookup "
                      "and reads no file; --data binds %s", split, name, name,
                      m->tasks[m->tasks[derived].derive_from].name, names);
      else
        mtl_set_error("--data %s.%s=...: model %s has no input or label '%s'; --data binds %s",
                      split, name, m->name, name, names);
      return false;
    }
  }
  return true;
}

static const char *kind_name(MtlLabelKind k) {
  return k == MTL_LABEL_CLASS ? "class" : k == MTL_LABEL_BINARY ? "binary" : "real";
}

static int64_t label_values(const MtlLabelInfo *l) {
  return l->kind == MTL_LABEL_REAL ? l->width : 1;
}

/* the description of what an input or a label needs, for shape errors */
static void describe(char *buf, size_t cap, const MtlModelInfo *m, int k) {
  if (k < m->n_inputs) {
    const MtlInputInfo *in = &m->inputs[k];
    char sh[160];
    mtl_shape_text(sh, sizeof sh, in->shape, in->rank);
    snprintf(buf, cap, "input %s is %s%s (%" PRId64 " values)", in->name,
             in->dtype == MTL_I32 ? "i32" : "f32", sh, in->numel);
  } else {
    const MtlLabelInfo *l = &m->labels[k - m->n_inputs];
    snprintf(buf, cap, "label %s is %s(%" PRId64 "): %" PRId64 " value%s per sample", l->name,
             kind_name(l->kind), l->width, label_values(l), label_values(l) == 1 ? "" : "s");
  }
}

/* Every derived label (a chain of lookups from a bound one) must land in
 * range: lookup tables index by the source's class. */
static bool check_derived(const MtlModelInfo *m, const MtlSplit *s, const char **paths) {
  for (int t = 0; t < m->n_tasks; t++) {
    if (m->tasks[t].label >= 0)
      continue;
    int chain[64], n = 0, r = t;
    while (r >= 0 && r < m->n_tasks && m->tasks[r].label < 0 && n < 64)
      chain[n++] = r, r = m->tasks[r].derive_from;
    if (r < 0 || r >= m->n_tasks || n == 64 || m->tasks[r].label >= m->n_labels) {
      mtl_set_error("model %s: task %s's label is derived from no bound label", m->name,
                    m->tasks[t].name);
      return false;
    }
    int li = m->tasks[r].label;
    const MtlArray *a = &s->arrays[m->n_inputs + li];
    if (a->dtype != MTL_I32)
      continue;
    const int32_t *y = a->data;
    for (int64_t i = 0; i < s->n; i++) {
      int64_t v = y[i];
      for (int j = n - 1; j >= 0; j--) {
        const MtlTaskInfo *d = &m->tasks[chain[j]];
        int64_t next = v >= 0 && v < d->n_lookup ? d->lookup[v] : -1;
        int64_t bound = d->kind == MTL_LABEL_BINARY ? 2
                        : d->kind == MTL_LABEL_CLASS ? d->width : INT64_MAX;
        if (next < 0 || next >= bound) {
          mtl_set_error("%s: sample %" PRId64 ": label %" PRId64 " gives task %s no label "
                        "by its lookup (of %d entries)", paths[li], i, v, d->name, d->n_lookup);
          return false;
        }
        v = next;
      }
    }
  }
  return true;
}

bool mtl_load_split(MtlSplit *out, const MtlModelInfo *m, const char *name,
                    const MtlOverride *ov, int n_ov, int64_t limit, bool *found) {
  int n = m->n_inputs + m->n_labels, bound = 0, missing = -1;
  MtlBinding *bind = calloc((size_t)n + 1, sizeof *bind);
  const char **paths = calloc((size_t)n + 1, sizeof *paths);
  *out = (MtlSplit){.name = name, .n_arrays = n, .arrays = calloc((size_t)n + 1, sizeof(MtlArray))};
  *found = false;
  bool ok = bind && paths && out->arrays;
  if (!ok)
    mtl_set_error("split %s: out of memory", name);
  for (int k = 0; ok && k < n; k++) {
    const char *what = k < m->n_inputs ? m->inputs[k].name : m->labels[k - m->n_inputs].name;
    if (find_binding(m, name, what, ov, n_ov, &bind[k]))
      bound++;
    else if (missing < 0)
      missing = k;
  }
  if (ok && bound == 0) {
    free(bind), free(paths), free(out->arrays);
    out->arrays = NULL;
    return true;
  }
  *found = true;
  if (ok && missing >= 0) {
    const char *what = missing < m->n_inputs ? m->inputs[missing].name
                                             : m->labels[missing - m->n_inputs].name;
    mtl_set_error("data %s binds no file to %s; give --data %s.%s=PATH", name, what, name, what);
    ok = false;
  }
  for (int k = 0; ok && k < n; k++) {
    const MtlBinding *b = &bind[k];
    bool input = k < m->n_inputs;
    const MtlLabelInfo *l = input ? NULL : &m->labels[k - m->n_inputs];
    char what[256];
    describe(what, sizeof what, m, k);
    paths[k] = b->path;
    if (b->text) /* mtl_text.c */
      ok = mtl_text_load(&out->arrays[k], b->path, b->text, b->length, b->vocab, b->lowercase,
                         m->inputs[k].vocab);
    else
      ok = load(&out->arrays[k], b->path,
                input ? m->inputs[k].dtype : l->kind == MTL_LABEL_REAL ? MTL_F32 : MTL_I32,
                input ? m->inputs[k].numel : label_values(l), b->csv_column, b->csv_columns,
                b->n_csv_columns, b->delimiter ? b->delimiter : ',', what);
    if (ok && input && m->inputs[k].dtype == MTL_I32)
      ok = mtl_check_ids(&out->arrays[k], m->inputs[k].vocab, b->path, m->inputs[k].name);
    if (ok && input && b->normalize == MTL_NORM_GIVEN && m->inputs[k].dtype == MTL_F32)
      mtl_normalize_channels(&out->arrays[k], b->mean, b->std, b->n_norm, m->inputs[k].channels,
                             m->inputs[k].inner);
    if (ok && !input && l->kind != MTL_LABEL_REAL)
      ok = mtl_check_labels(&out->arrays[k], l->kind == MTL_LABEL_BINARY ? 2 : l->width, b->path);
    if (ok && k > 0 && out->arrays[k].n != out->arrays[0].n) {
      mtl_set_error("%s: %" PRId64 " samples, but %s has %" PRId64 " (data %s: every file "
                    "must have one row per sample)", b->path, out->arrays[k].n, paths[0],
                    out->arrays[0].n, name);
      ok = false;
    }
  }
  if (ok) {
    out->n = out->arrays[0].n;
    if (limit > 0 && limit < out->n)
      out->n = limit;
    for (int k = 0; k < n; k++)
      out->arrays[k].n = out->n;
    ok = check_derived(m, out, paths + m->n_inputs);
  }
  free(bind);
  free(paths);
  if (!ok)
    mtl_split_free(out);
  return ok;
}

void mtl_split_free(MtlSplit *s) {
  for (int k = 0; s->arrays && k < s->n_arrays; k++)
    mtl_array_free(&s->arrays[k]);
  free(s->arrays);
  s->arrays = NULL;
  s->n = 0;
}
