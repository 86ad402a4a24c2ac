/* mtl_read.c: the runtime's file readers' common part: a file read whole
 * (zlib gunzips gzip and passes plain files through), and typed views of
 * its values with their size checks. The formats are mtl_idx.c, mtl_npy.c
 * and mtl_csv.c; what becomes of the values is mtl_data.c's. */
#include "mtl_read.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ---- raw bytes ------------------------------------------------------------ */

/* The whole file, gunzipped when it is gzip (zlib reads plain files as
 * they are). */
bool mtl_read_file(const char *path, Bytes *out) {
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

const int mtl_elem_size[] = {1, 1, 1, 2, 2, 4, 4, 8, 8, 4, 8};
const char *const mtl_elem_name[] = {"bool", "u8", "i8", "u16", "i16", "u32",
                                     "i32", "u64", "i64", "f32", "f64"};

bool mtl_little_endian(void) {
  uint16_t x = 1;
  uint8_t b;
  memcpy(&b, &x, 1);
  return b == 1;
}

/* the raw bits of element i, in host order */
static uint64_t bits_at(const View *v, int64_t i) {
  int k = mtl_elem_size[v->elem];
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

double mtl_view_f64(const View *v, int64_t i) {
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

int64_t mtl_view_numel(const View *v, int from) {
  int64_t n = 1;
  for (int i = from; i < v->ndim; i++)
    n *= v->dims[i];
  return n;
}

/* Checks dims against the bytes after the header: not truncated, nothing
 * left over. */
bool mtl_view_check_size(const char *path, const View *v, size_t avail) {
  uint64_t total = (uint64_t)mtl_elem_size[v->elem];
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
                  " bytes of data, the file has %zu", path, sh, mtl_elem_name[v->elem], total, avail);
    return false;
  }
  if (total < avail) {
    mtl_set_error("%s: %zu bytes after the data of shape %s of %s", path,
                  avail - (size_t)total, sh, mtl_elem_name[v->elem]);
    return false;
  }
  return true;
}
