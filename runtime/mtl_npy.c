/* mtl_npy.c: NumPy .npy files, versions 1 to 3: "\x93NUMPY", the
 * version, the header's length, a Python dict literal with descr,
 * fortran_order and shape, then the values in C order. */
#include "mtl_read.h"

#include <stdlib.h>
#include <string.h>

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
      v->swap = size > 1 && ((order == '>' && mtl_little_endian()) || (order == '<' && !mtl_little_endian()));
      return true;
    }
  mtl_set_error("%s: unsupported .npy dtype '%s' (read: f32, f64, u8, i32, i64 "
                "and other plain integers)", path, descr);
  return false;
}

bool mtl_npy_parse(const char *path, const Bytes *b, View *v) {
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
  v->scale = v->elem == E_U8; /* uint8 images to [0, 1], as from IDX (and torchvision) */
  if (fortran && v->ndim > 1) {
    mtl_set_error("%s: a Fortran-ordered array; save it with numpy.ascontiguousarray", path);
    return false;
  }
  if (v->ndim == 0) {
    mtl_set_error("%s: a scalar .npy array; want one row per sample", path);
    return false;
  }
  return mtl_view_check_size(path, v, b->n - head - hlen);
}
