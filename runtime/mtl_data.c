/* mtl_data.c: data sets. Reads IDX (gzip'ed or not), NumPy .npy and CSV
 * files into MtlArrays, told apart by content, never by name; normalizes
 * inputs; checks labels; loads a model's split from its bindings and the
 * command line's overrides. Every fault in a file (missing, wrong magic,
 * truncated, wrong shape, out-of-range label) is an error naming the file.
 * Batching and shuffling are mtl_train.c's. */
#include "mtl.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ---- raw bytes ------------------------------------------------------------ */

typedef struct {
  uint8_t *p;
  size_t n;
} Bytes;

/* The whole file, gunzipped when it is gzip (zlib reads plain files as
 * they are). */
static bool read_file(const char *path, Bytes *out) {
  errno = 0;
  gzFile f = gzopen(path, "rb");
  if (!f) {
    mtl_set_error("%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
    return false;
  }
  gzbuffer(f, 1 << 17);
  size_t cap = 1 << 20, n = 0;
  uint8_t *p = malloc(cap);
  int err = Z_OK, k;
  const char *msg = "";
  bool oom = !p;
  while (!oom) {
    if (cap - n < (1 << 16)) {
      uint8_t *q = realloc(p, cap * 2);
      if (!(oom = !q))
        p = q, cap *= 2;
      continue;
    }
    k = gzread(f, p + n, (unsigned)(cap - n > INT_MAX ? INT_MAX : cap - n));
    if (k <= 0) {
      msg = gzerror(f, &err); /* Z_BUF_ERROR: the stream ends early */
      break;
    }
    n += (size_t)k;
  }
  if (oom)
    mtl_set_error("%s: out of memory after %zu bytes", path, n);
  else if (err == Z_ERRNO)
    mtl_set_error("%s: cannot read: %s", path, strerror(errno));
  else if (err == Z_BUF_ERROR)
    mtl_set_error("%s: truncated: the gzip stream ends early", path);
  else if (err != Z_OK)
    mtl_set_error("%s: corrupt gzip data: %s", path, msg);
  gzclose(f);
  if (oom || err != Z_OK) {
    free(p);
    return false;
  }
  out->p = p, out->n = n;
  return true;
}

/* ---- a typed view of a file's values -------------------------------------- */

typedef enum { E_BOOL, E_U8, E_I8, E_U16, E_I16, E_U32, E_I32, E_U64, E_I64, E_F32, E_F64 } Elem;
static const int elem_size[] = {1, 1, 1, 2, 2, 4, 4, 8, 8, 4, 8};
static const char *const elem_name[] = {"bool", "u8", "i8", "u16", "i16", "u32",
                                        "i32", "u64", "i64", "f32", "f64"};

/* n samples of ndim-1 dims each, stored as elem, big-endian when swap. */
typedef struct {
  const uint8_t *p;
  Elem elem;
  bool swap, scale; /* scale: an IDX ubyte file, read to [0, 1] */
  int ndim;
  int64_t dims[8];
} View;

static bool little_endian(void) {
  uint16_t x = 1;
  uint8_t b;
  memcpy(&b, &x, 1);
  return b == 1;
}

/* the raw bits of element i, in host order */
static uint64_t bits_at(const View *v, int64_t i) {
  int k = elem_size[v->elem];
  const uint8_t *q = v->p + i * k;
  uint8_t b[8];
  if (v->swap)
    for (int j = 0; j < k; j++)
      b[j] = q[k - 1 - j];
  else
    memcpy(b, q, (size_t)k);
  switch (k) {
  case 1: return b[0];
  case 2: { uint16_t x; memcpy(&x, b, 2); return x; }
  case 4: { uint32_t x; memcpy(&x, b, 4); return x; }
  default: { uint64_t x; memcpy(&x, b, 8); return x; }
  }
}

static double f64_at(const View *v, int64_t i) {
  uint64_t x = bits_at(v, i);
  switch (v->elem) {
  case E_BOOL: return x != 0;
  case E_U8: case E_U16: case E_U32: case E_U64: return (double)x;
  case E_I8: return (int8_t)x;
  case E_I16: return (int16_t)x;
  case E_I32: return (int32_t)x;
  case E_I64: return (double)(int64_t)x;
  case E_F32: { uint32_t y = (uint32_t)x; float f; memcpy(&f, &y, 4); return f; }
  case E_F64: { double d; memcpy(&d, &x, 8); return d; }
  }
  return 0;
}

static int64_t numel_from(const View *v, int from) {
  int64_t n = 1;
  for (int i = from; i < v->ndim; i++)
    n *= v->dims[i];
  return n;
}


/* Checks dims against the bytes after the header: not truncated, nothing
 * left over. */
static bool check_size(const char *path, const View *v, size_t avail) {
  uint64_t total = (uint64_t)elem_size[v->elem];
  for (int i = 0; i < v->ndim; i++) {
    if (v->dims[i] < 0 || (v->dims[i] && total > UINT64_MAX / 4 / (uint64_t)v->dims[i])) {
      mtl_set_error("%s: shape too large", path);
      return false;
    }
    total *= (uint64_t)v->dims[i];
  }
  char sh[160];
  mtl_shape_text(sh, sizeof sh, v->dims, v->ndim);
  if (total > avail) {
    mtl_set_error("%s: truncated: shape %s of %s needs %" PRIu64
                  " bytes of data, the file has %zu", path, sh, elem_name[v->elem], total, avail);
    return false;
  }
  if (total < avail) {
    mtl_set_error("%s: %zu bytes after the data of shape %s of %s", path,
                  avail - (size_t)total, sh, elem_name[v->elem]);
    return false;
  }
  return true;
}

/* ---- IDX: magic 0 0 TYPE NDIM, NDIM big-endian u32 dims, data ----------- */

static bool parse_idx(const char *path, const Bytes *b, View *v) {
  uint32_t magic = (uint32_t)b->p[0] << 24 | (uint32_t)b->p[1] << 16 |
                   (uint32_t)b->p[2] << 8 | b->p[3];
  int type = b->p[2], ndim = b->p[3];
  Elem e;
  switch (type) {
  case 0x08: e = E_U8; break;
  case 0x09: e = E_I8; break;
  case 0x0B: e = E_I16; break;
  case 0x0C: e = E_I32; break;
  case 0x0D: e = E_F32; break;
  case 0x0E: e = E_F64; break;
  default: ndim = 0;
  }
  if (ndim < 1 || ndim > 8) {
    mtl_set_error("%s: bad IDX magic number 0x%08" PRIx32 " (want 0x000008NN, "
                  "0x000009NN, 0x00000BNN..0x00000ENN, NN = 1..8 dimensions)", path, magic);
    return false;
  }
  size_t head = 4 + 4 * (size_t)ndim;
  if (b->n < head) {
    mtl_set_error("%s: truncated: the IDX header of %d dimensions needs %zu bytes, "
                  "the file has %zu", path, ndim, head, b->n);
    return false;
  }
  *v = (View){.p = b->p + head, .elem = e, .swap = little_endian() && e != E_U8 && e != E_I8,
              .scale = e == E_U8, .ndim = ndim};
  for (int i = 0; i < ndim; i++) {
    const uint8_t *q = b->p + 4 + 4 * i;
    v->dims[i] = (int64_t)((uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3]);
  }
  return check_size(path, v, b->n - head);
}

/* ---- NumPy .npy: "\x93NUMPY", version, header length, a Python dict ----- */

typedef struct {
  const char *s, *end;
} Cursor;

static void skip_space(Cursor *c) {
  while (c->s < c->end && (*c->s == ' ' || *c->s == '\n' || *c->s == '\t'))
    c->s++;
}

static bool eat(Cursor *c, char ch) {
  skip_space(c);
  if (c->s < c->end && *c->s == ch) {
    c->s++;
    return true;
  }
  return false;
}

/* a quoted Python string into buf */
static bool py_string(Cursor *c, char *buf, size_t cap) {
  skip_space(c);
  if (c->s >= c->end || (*c->s != '\'' && *c->s != '"'))
    return false;
  char q = *c->s++;
  size_t k = 0;
  while (c->s < c->end && *c->s != q)
    if (k + 1 < cap)
      buf[k++] = *c->s++;
    else
      return false;
  buf[k] = 0;
  return c->s < c->end && *c->s++ == q;
}

static bool py_word(Cursor *c, const char *w) {
  skip_space(c);
  size_t n = strlen(w);
  if ((size_t)(c->end - c->s) >= n && !memcmp(c->s, w, n)) {
    c->s += n;
    return true;
  }
  return false;
}

/* (a, b, ...) of non-negative ints; () is a scalar */
static bool py_shape(Cursor *c, View *v) {
  if (!eat(c, '('))
    return false;
  v->ndim = 0;
  for (;;) {
    if (eat(c, ')'))
      return true;
    skip_space(c);
    int64_t x = 0;
    int digits = 0;
    while (c->s < c->end && *c->s >= '0' && *c->s <= '9' && digits < 15)
      x = x * 10 + (*c->s++ - '0'), digits++;
    if (!digits || v->ndim == 8)
      return false;
    v->dims[v->ndim++] = x;
    if (!eat(c, ',') && !(skip_space(c), c->s < c->end && *c->s == ')'))
      return false;
  }
}

static bool npy_descr(const char *path, const char *descr, View *v) {
  static const struct {
    char kind;
    int size;
    Elem e;
  } known[] = {{'b', 1, E_BOOL}, {'u', 1, E_U8}, {'i', 1, E_I8}, {'u', 2, E_U16},
               {'i', 2, E_I16}, {'u', 4, E_U32}, {'i', 4, E_I32}, {'u', 8, E_U64},
               {'i', 8, E_I64}, {'f', 4, E_F32}, {'f', 8, E_F64}};
  const char *d = descr;
  char order = d[0];
  if (order == '<' || order == '>' || order == '|' || order == '=')
    d++;
  else
    order = '=';
  char kind = d[0];
  char *end;
  long size = kind ? strtol(d + 1, &end, 10) : 0;
  for (size_t i = 0; kind && *end == 0 && i < sizeof known / sizeof *known; i++)
    if (known[i].kind == kind && known[i].size == size) {
      v->elem = known[i].e;
      v->swap = size > 1 && ((order == '>' && little_endian()) || (order == '<' && !little_endian()));
      return true;
    }
  mtl_set_error("%s: unsupported .npy dtype '%s' (read: f32, f64, u8, i32, i64 "
                "and other plain integers)", path, descr);
  return false;
}

static bool parse_npy(const char *path, const Bytes *b, View *v) {
  if (b->n < 10) {
    mtl_set_error("%s: truncated: the .npy header needs at least 10 bytes, the file has %zu", path, b->n);
    return false;
  }
  int major = b->p[6];
  size_t lenbytes = major == 1 ? 2 : 4;
  if (major < 1 || major > 3) {
    mtl_set_error("%s: unsupported .npy version %d.%d", path, major, b->p[7]);
    return false;
  }
  size_t hlen = b->p[8] | (size_t)b->p[9] << 8;
  if (lenbytes == 4)
    hlen = b->n < 12 ? SIZE_MAX : hlen | (size_t)b->p[10] << 16 | (size_t)b->p[11] << 24;
  size_t head = 8 + lenbytes;
  if (hlen > b->n - head) {
    mtl_set_error("%s: truncated: the .npy header says %zu bytes, the file has %zu after it",
                  path, hlen, b->n - head);
    return false;
  }
  *v = (View){.p = b->p + head + hlen};
  Cursor c = {(const char *)b->p + head, (const char *)b->p + head + hlen};
  char key[32], descr[32] = "";
  bool fortran = false, have_shape = false, ok = eat(&c, '{');
  while (ok && !eat(&c, '}')) {
    ok = py_string(&c, key, sizeof key) && eat(&c, ':');
    if (ok && !strcmp(key, "descr"))
      ok = py_string(&c, descr, sizeof descr);
    else if (ok && !strcmp(key, "fortran_order"))
      ok = py_word(&c, "True") ? (fortran = true) : py_word(&c, "False");
    else if (ok && !strcmp(key, "shape"))
      ok = have_shape = py_shape(&c, v);
    else
      ok = false;
    if (ok && !eat(&c, ','))
      ok = eat(&c, '}') ? (c.s--, true) : false;
  }
  if (!ok || !descr[0] || !have_shape) {
    mtl_set_error("%s: bad .npy header: want {'descr': ..., 'fortran_order': ..., 'shape': (...)}", path);
    return false;
  }
  if (!npy_descr(path, descr, v))
    return false;
  if (fortran && v->ndim > 1) {
    mtl_set_error("%s: a Fortran-ordered array; save it with numpy.ascontiguousarray", path);
    return false;
  }
  if (v->ndim == 0) {
    mtl_set_error("%s: a scalar .npy array; want one row per sample", path);
    return false;
  }
  return check_size(path, v, b->n - head - hlen);
}

/* ---- CSV: rows of comma-separated numbers, maybe a header row ----------- */

/* a field as a number; false if it is not one */
static bool csv_number(const char *s, const char *e, double *out) {
  while (s < e && (*s == ' ' || *s == '\t'))
    s++;
  while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
    e--;
  if (e - s >= 2 && *s == '"' && e[-1] == '"')
    s++, e--;
  char buf[64];
  if (s == e || e - s >= (long)sizeof buf)
    return false;
  memcpy(buf, s, (size_t)(e - s));
  buf[e - s] = 0;
  char *end;
  *out = strtod(buf, &end);
  return *end == 0;
}

/* the fields of one line [s, e): starts and ends, at most cap */
static int csv_fields(const char *s, const char *e, const char **fs, const char **fe, int cap) {
  int n = 0;
  for (;;) {
    const char *q = memchr(s, ',', (size_t)(e - s));
    if (!q)
      q = e;
    if (n < cap)
      fs[n] = s, fe[n] = q;
    n++;
    if (q == e)
      return n;
    s = q + 1;
  }
}

static bool blank(const char *s, const char *e) {
  for (; s < e; s++)
    if (*s != ' ' && *s != '\t' && *s != '\r')
      return false;
  return true;
}

/* Reads the chosen columns as f64 into *vals: rows x ncols. */
static bool parse_csv(const char *path, const Bytes *b, const int64_t *cols, int ncols,
                      double **vals, View *v) {
  const char *text = (const char *)b->p, *end = text + b->n;
  const char *nul = memchr(text, 0, b->n);
  if (nul) {
    mtl_set_error("%s: not a CSV text file: a zero byte at offset %zu", path, (size_t)(nul - text));
    return false;
  }
  enum { MAXF = 4096 };
  const char **fs = malloc(2 * MAXF * sizeof *fs), **fe = fs + MAXF;
  int64_t rows = 0, width = ncols, line = 0, cap = 0;
  double *out = NULL;
  bool ok = fs != NULL, first = true;
  if (!ok)
    mtl_set_error("%s: out of memory", path);
  for (const char *s = text; ok && s < end; line++) {
    const char *e = memchr(s, '\n', (size_t)(end - s)), *next;
    next = e ? e + 1 : end;
    e = e ? e : end;
    if (e > s && e[-1] == '\r')
      e--;
    if (blank(s, e)) {
      s = next;
      continue;
    }
    int n = csv_fields(s, e, fs, fe, MAXF);
    double x;
    if (first) {
      first = false;
      bool header = false;
      for (int i = 0; i < n && i < MAXF; i++)
        header |= !csv_number(fs[i], fe[i], &x);
      if (header) {
        s = next;
        continue;
      }
    }
    if (rows == cap) {
      cap = cap ? 2 * cap : 1024;
      double *q = realloc(out, (size_t)(cap * width) * sizeof *out);
      if (!q) {
        mtl_set_error("%s: out of memory", path);
        ok = false;
        break;
      }
      out = q;
    }
    for (int64_t j = 0; ok && j < width; j++) {
      int64_t c = cols[j];
      if (c < 0 || c >= MAXF) {
        mtl_set_error("%s: column %" PRId64 " is outside 0..%d", path, c, MAXF - 1);
        ok = false;
      } else if (c >= n) {
        mtl_set_error("%s:%" PRId64 ": column %" PRId64 " is missing: the row has %d field%s",
                      path, line + 1, c, n, n == 1 ? "" : "s");
        ok = false;
      } else if (!csv_number(fs[c], fe[c], &x)) {
        int len = (int)(fe[c] - fs[c]);
        mtl_set_error("%s:%" PRId64 ": column %" PRId64 " is not a number: '%.*s'", path,
                      line + 1, c, len > 40 ? 40 : len, fs[c]);
        ok = false;
      } else {
        out[rows * width + j] = x;
      }
    }
    rows++;
    s = next;
  }
  free(fs);
  if (ok && rows == 0) {
    mtl_set_error("%s: no data rows", path);
    ok = false;
  }
  if (!ok) {
    free(out);
    return false;
  }
  *vals = out;
  *v = (View){.p = (const uint8_t *)out, .elem = E_F64, .ndim = 2, .dims = {rows, width}};
  return true;
}

/* ---- conversion to an MtlArray -------------------------------------------- */

static bool convert(MtlArray *out, const char *path, const View *v, MtlDtype want,
                    int64_t width, const char *what) {
  int64_t n = v->dims[0], per = numel_from(v, 1);
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
        f[i] = (float)f64_at(v, (int64_t)i);
  } else {
    int32_t *d = data;
    for (size_t i = 0; i < total; i++) {
      double x = f64_at(v, (int64_t)i);
      if (x != floor(x) || x < INT32_MIN || x > INT32_MAX) {
        mtl_set_error("%s: sample %zu: label %g is not an integer", path, i / (size_t)width, x);
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
                 int csv_column, const int64_t *csv_columns, int n_csv_columns,
                 const char *what) {
  Bytes b;
  if (!read_file(path, &b))
    return false;
  View v;
  double *csv = NULL;
  bool ok;
  int64_t col = csv_column;
  if (b.n == 0) {
    mtl_set_error("%s: empty file", path);
    ok = false;
  } else if (b.n >= 6 && !memcmp(b.p, "\x93NUMPY", 6)) {
    ok = parse_npy(path, &b, &v);
  } else if (b.n >= 2 && b.p[0] == 0 && b.p[1] == 0) {
    ok = b.n >= 4 ? parse_idx(path, &b, &v)
                  : (mtl_set_error("%s: truncated: %zu bytes, less than an IDX magic number",
                                   path, b.n), false);
  } else if (csv_column >= 0) {
    ok = parse_csv(path, &b, &col, 1, &csv, &v);
  } else if (csv_columns && n_csv_columns > 0) {
    ok = parse_csv(path, &b, csv_columns, n_csv_columns, &csv, &v);
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
  return load(out, path, want, width, csv_column, csv_columns, n_csv_columns, NULL);
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
  *out = (MtlBinding){.csv_column = -1};
  for (int i = 0; i < m->n_bindings; i++) {
    const MtlBinding *b = &m->bindings[i];
    if (!strcmp(b->split, split) && !strcmp(b->name, name))
      *out = *b, found = true;
  }
  for (int i = 0; i < n_ov; i++)
    if (!strcmp(ov[i].split, split) && !strcmp(ov[i].name, name)) {
      out->split = split, out->name = name, out->path = ov[i].path;
      found = true;
    }
  return found;
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
    snprintf(buf, cap, "input %s is f32%s (%" PRId64 " values)", in->name, sh, in->numel);
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
    ok = load(&out->arrays[k], b->path,
              input || l->kind == MTL_LABEL_REAL ? MTL_F32 : MTL_I32,
              input ? m->inputs[k].numel : label_values(l), b->csv_column, b->csv_columns,
              b->n_csv_columns, what);
    if (ok && input && b->normalize)
      mtl_normalize(&out->arrays[k], b->mean, b->std);
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
