/* mtl_idx.c: the header of an IDX file, MNIST's format (gzip'ed or not:
 * the stream inflates): magic 0 0 TYPE NDIM, NDIM big-endian u32
 * dimensions, then the values, big-endian, which mtl_data.c reads once the
 * dimensions suit the model. A ubyte file is marked for scaling to [0, 1]. */
#include "mtl_read.h"

#include <inttypes.h>
#include <string.h>

bool mtl_idx_header(MtlStream *s, View *v) {
  const char *path = s->path;
  uint8_t h[4 + 4 * 8];
  size_t got;
  if (!mtl_stream_read(s, h, 4, &got))
    return false;
  if (got < 4) {
    mtl_set_error("%s: truncated: %zu bytes, less than an IDX magic number", path, got);
    return false;
  }
  uint32_t magic = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
  int ndim = h[3];
  Elem e;
  switch (h[2]) {
  case 0x08: e = E_U8; break;
  case 0x09: e = E_I8; break;
  case 0x0B: e = E_I16; break;
  case 0x0C: e = E_I32; break;
  case 0x0D: e = E_F32; break;
  case 0x0E: e = E_F64; break;
  default: ndim = 0;
  }
  if (h[0] || h[1] || ndim < 1 || ndim > 8) {
    mtl_set_error("%s: bad IDX magic number 0x%08" PRIx32 " (want 0x000008NN, "
                  "0x000009NN, 0x00000BNN..0x00000ENN, NN = 1..8 dimensions)", path, magic);
    return false;
  }
  size_t head = 4 + 4 * (size_t)ndim;
  if (!mtl_stream_read(s, h + 4, head - 4, &got))
    return false;
  if (got < head - 4) {
    mtl_set_error("%s: truncated: the IDX header of %d dimensions needs %zu bytes, "
                  "the file has %zu", path, ndim, head, 4 + got);
    return false;
  }
  *v = (View){.elem = e, .swap = mtl_little_endian() && e != E_U8 && e != E_I8,
              .scale = e == E_U8, .ndim = ndim};
  for (int i = 0; i < ndim; i++) {
    const uint8_t *q = h + 4 + 4 * i;
    v->dims[i] = (int64_t)((uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3]);
  }
  return true;
}
