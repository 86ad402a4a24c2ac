/* mtl_npy.c: the header of a NumPy .npy file, versions 1 to 3: "\x93NUMPY",
 * the version, the header's length (at most numpy's own limit), a Python
 * dict literal with descr, fortran_order and shape, padded with spaces to
 * a newline; then the values in C order, which mtl_data.c reads once the
 * shape suits the model. */
#include "mtl_read.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

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
  char *end = NULL; /* the size: digits only */
  long size = kind && d[1] >= '0' && d[1] <= '9' ? strtol(d + 1, &end, 10) : 0;
  for (size_t i = 0; end && !*end && i < sizeof known / sizeof *known; i++)
    if (known[i].kind == kind && known[i].size == size) {
      v->elem = known[i].e;
      v->swap = size > 1 && ((order == '>' && mtl_little_endian()) || (order == '<' && !mtl_little_endian()));
      return true;
    }
  char shown[64];
  mtl_printable(shown, sizeof shown, descr, strlen(descr));
  mtl_set_error("%s: unsupported .npy dtype '%s' (read: f32, f64, u8, i32, i64 "
                "and other plain integers)", path, shown);
  return false;
}

/* numpy.lib.format refuses longer headers unless told otherwise */
#define NPY_MAX_HEADER 10000

/* the dict's keys once each, then nothing but padding */
static bool npy_dict(Cursor *c, char *descr, size_t cap, bool *fortran, View *v) {
  char key[32];
  int seen = 0;
  bool ok = eat(c, '{');
  while (ok && !eat(c, '}')) {
    ok = py_string(c, key, sizeof key) && eat(c, ':');
    int bit = !ok ? 0 : !strcmp(key, "descr") ? 1 : !strcmp(key, "fortran_order") ? 2
              : !strcmp(key, "shape") ? 4 : 0;
    ok = bit && !(seen & bit);
    seen |= bit;
    if (ok && bit == 1)
      ok = py_string(c, descr, cap);
    else if (ok && bit == 2)
      ok = py_word(c, "True") ? (*fortran = true) : py_word(c, "False");
    else if (ok && bit == 4)
      ok = py_shape(c, v);
    if (ok && !eat(c, ','))
      ok = eat(c, '}') ? (c->s--, true) : false;
  }
  skip_space(c);
  return ok && seen == 7 && c->s == c->end;
}

bool mtl_npy_header(MtlStream *s, View *v) {
  const char *path = s->path;
  uint8_t pre[12];
  size_t got;
  if (!mtl_stream_read(s, pre, 10, &got))
    return false;
  if (got < 10) {
    mtl_set_error("%s: truncated: the .npy header needs at least 10 bytes, the file has %zu", path, got);
    return false;
  }
  int major = pre[6];
  if (major < 1 || major > 3) {
    mtl_set_error("%s: unsupported .npy version %d.%d", path, major, pre[7]);
    return false;
  }
  size_t lenbytes = major == 1 ? 2 : 4, head = 8 + lenbytes;
  if (lenbytes == 4) {
    if (!mtl_stream_read(s, pre + 10, 2, &got))
      return false;
    if (got < 2) {
      mtl_set_error("%s: truncated: a version %d .npy header needs at least 12 bytes, the file "
                    "has %zu", path, major, 10 + got);
      return false;
    }
  }
  uint64_t hlen = pre[8] | (uint64_t)pre[9] << 8;
  if (lenbytes == 4)
    hlen |= (uint64_t)pre[10] << 16 | (uint64_t)pre[11] << 24;
  if (hlen > NPY_MAX_HEADER) {
    mtl_set_error("%s: the .npy header says %" PRIu64 " bytes, more than numpy's limit of %d",
                  path, hlen, NPY_MAX_HEADER);
    return false;
  }
  char *text = malloc(hlen + 1);
  if (!text) {
    mtl_set_error("%s: out of memory", path);
    return false;
  }
  bool ok = mtl_stream_read(s, text, (size_t)hlen, &got);
  if (ok && got < hlen) {
    mtl_set_error("%s: truncated: the .npy header says %" PRIu64 " bytes, the file has %zu after "
                  "its %zu", path, hlen, got, head);
    ok = false;
  }
  char descr[32] = "";
  bool fortran = false;
  *v = (View){0};
  Cursor c = {text, text + hlen};
  if (ok && !npy_dict(&c, descr, sizeof descr, &fortran, v)) {
    mtl_set_error("%s: bad .npy header: want {'descr': ..., 'fortran_order': ..., 'shape': (...)}"
                  " once each, then spaces and a newline", path);
    ok = false;
  }
  free(text);
  if (!ok || !npy_descr(path, descr, v))
    return false;
  v->scale = v->elem == E_U8; /* uint8 images to [0, 1], as from IDX (and torchvision) */
  if (fortran && v->ndim > 1) {
    mtl_set_error("%s: a Fortran-ordered array; save it with numpy.ascontiguousarray", path);
    return false;
  }
  if (v->ndim == 0) {
    mtl_set_error("%s: a scalar .npy array; want one row per sample", path);
    return false;
  }
  return true;
}
