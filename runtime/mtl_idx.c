/* mtl_idx.c: IDX files, MNIST's format (gzip'ed or not: mtl_read.c
 * gunzips): magic 0 0 TYPE NDIM, NDIM big-endian u32 dimensions, then the
 * values, big-endian. A ubyte file is marked for scaling to [0, 1]. */
#include "mtl_read.h"

#include <inttypes.h>
#include <string.h>

/* ---- IDX: magic 0 0 TYPE NDIM, NDIM big-endian u32 dims, data ----------- */

bool mtl_idx_parse(const char *path, const Bytes *b, View *v) {
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
  *v = (View){.p = b->p + head, .elem = e, .swap = mtl_little_endian() && e != E_U8 && e != E_I8,
              .scale = e == E_U8, .ndim = ndim};
  for (int i = 0; i < ndim; i++) {
    const uint8_t *q = b->p + 4 + 4 * i;
    v->dims[i] = (int64_t)((uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3]);
  }
  return mtl_view_check_size(path, v, b->n - head);
}
