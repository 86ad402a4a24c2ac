/* mtl_read.c: the runtime's file readers' common part: a regular file (or
 * bytes in memory) read in order through an MtlStream, inflated when it is
 * gzip; typed views of values and their sizes, checked for overflow. The
 * formats are mtl_idx.c, mtl_npy.c and mtl_csv.c; what becomes of the
 * values is mtl_data.c's. Nothing here reads more than its caller asks for,
 * so a claimed size is checked before the bytes it claims are read. */
#include "mtl_read.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { CHUNK = 1 << 16 }; /* bytes per read(2) */

/* ---- opening: regular files only -------------------------------------------- */

static const char *file_kind(mode_t m) {
  return S_ISDIR(m) ? "a folder" : S_ISFIFO(m) ? "a FIFO" : S_ISCHR(m) ? "a character device"
         : S_ISBLK(m) ? "a block device" : S_ISSOCK(m) ? "a socket" : "not a regular file";
}

static bool refill(MtlStream *s);

/* the first bytes decide: gzip's magic 1f 8b, or the bytes as they are */
static bool start(MtlStream *s, bool gunzip) {
  if (!refill(s))
    return false;
  if (gunzip && s->z.avail_in >= 2 && s->z.next_in[0] == 0x1f && s->z.next_in[1] == 0x8b) {
    if (inflateInit2(&s->z, 15 + 16) != Z_OK) {
      mtl_set_error("%s: out of memory for gzip", s->path);
      return false;
    }
    s->gz = s->z_live = true;
  }
  return true;
}

bool mtl_stream_open(MtlStream *s, const char *path, bool gunzip) {
  *s = (MtlStream){.path = path, .fd = -1};
  struct stat st, fst;
  if (stat(path, &st) != 0) {
    mtl_set_error("%s: cannot open: %s", path, strerror(errno));
    return false;
  }
  if (!S_ISREG(st.st_mode)) { /* never opened: a FIFO would block, /dev/zero never end */
    mtl_set_error("%s: cannot read %s; want a regular file", path, file_kind(st.st_mode));
    return false;
  }
  /* O_NONBLOCK: if it became a FIFO since stat, the open does not block */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    mtl_set_error("%s: cannot open: %s", path, strerror(errno));
    return false;
  }
  if (fstat(fd, &fst) != 0 || !S_ISREG(fst.st_mode)) {
    mtl_set_error("%s: cannot read %s; want a regular file", path, file_kind(fst.st_mode));
    close(fd);
    return false;
  }
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0)
    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  s->fd = fd;
  s->size = (uint64_t)fst.st_size;
  if (!(s->buf = malloc(CHUNK))) {
    mtl_set_error("%s: out of memory", path);
    mtl_stream_close(s);
    return false;
  }
  if (!start(s, gunzip)) {
    mtl_stream_close(s);
    return false;
  }
  return true;
}

void mtl_stream_mem(MtlStream *s, const char *name, const void *p, size_t n, bool gunzip) {
  *s = (MtlStream){.path = name, .fd = -1, .size = n, .taken = n, .eof = true};
  s->z.next_in = p;
  s->z.avail_in = (uInt)n;
  if (!start(s, gunzip))
    s->eof = true, s->z.avail_in = 0; /* out of memory: reads end at once */
}

void mtl_stream_close(MtlStream *s) {
  if (s->z_live)
    inflateEnd(&s->z);
  if (s->fd >= 0)
    close(s->fd);
  free(s->buf);
  s->z_live = false, s->fd = -1, s->buf = NULL;
}

/* ---- reading ------------------------------------------------------------------ */

/* more input into z.next_in when it is used up; never past the size the
 * file had when opened */
static bool refill(MtlStream *s) {
  if (s->z.avail_in || s->eof)
    return true;
  uint64_t left = s->size - s->taken;
  if (s->fd < 0 || left == 0) {
    s->eof = true;
    return true;
  }
  ssize_t k;
  do
    k = read(s->fd, s->buf, left < CHUNK ? (size_t)left : CHUNK);
  while (k < 0 && errno == EINTR);
  if (k < 0) {
    mtl_set_error("%s: cannot read: %s", s->path, strerror(errno));
    return false;
  }
  if (k == 0) { /* it shrank */
    s->eof = true;
    return true;
  }
  s->z.next_in = s->buf;
  s->z.avail_in = (uInt)k;
  s->taken += (uint64_t)k;
  return true;
}

static bool raw_read(MtlStream *s, uint8_t *o, size_t n, size_t *got) {
  size_t k = 0;
  while (k < n) {
    if (!s->z.avail_in) {
      if (s->eof)
        break;
      if (!refill(s))
        return false;
      continue;
    }
    size_t c = n - k < s->z.avail_in ? n - k : s->z.avail_in;
    memcpy(o + k, s->z.next_in, c);
    s->z.next_in += c, s->z.avail_in -= (uInt)c, k += c;
  }
  *got = k;
  return true;
}

/* Inflates into o. After a member's end comes another member (its magic's
 * first byte 1f; inflate checks the rest) or the file's end. */
static bool gz_read(MtlStream *s, uint8_t *o, size_t n, size_t *got) {
  s->z.next_out = o;
  s->z.avail_out = (uInt)n;
  while (s->z.avail_out) {
    if (!s->z.avail_in && !s->eof && !refill(s))
      return false;
    if (s->member_end) {
      if (!s->z.avail_in) {
        if (s->eof)
          break;
        continue;
      }
      if (s->z.next_in[0] != 0x1f) {
        uint64_t at = s->taken - s->z.avail_in;
        mtl_set_error("%s: junk after the gzip data: %" PRIu64 " byte%s at offset %" PRIu64
                      " that are not a gzip member", s->path, s->size - at,
                      s->size - at == 1 ? "" : "s", at);
        return false;
      }
      inflateReset(&s->z);
      s->member_end = false;
    }
    int rc = inflate(&s->z, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) {
      s->member_end = true;
    } else if (rc == Z_BUF_ERROR && !s->z.avail_in && s->eof) {
      mtl_set_error("%s: truncated: the gzip stream ends early", s->path);
      return false;
    } else if (rc != Z_OK && !(rc == Z_BUF_ERROR && !s->z.avail_in)) {
      mtl_set_error("%s: corrupt gzip data: %s", s->path,
                    rc == Z_MEM_ERROR ? "out of memory" : s->z.msg ? s->z.msg : "bad stream");
      return false;
    }
  }
  *got = n - s->z.avail_out;
  return true;
}

bool mtl_stream_read(MtlStream *s, void *buf, size_t n, size_t *got) {
  uint8_t *o = buf;
  size_t k = (size_t)s->nback < n ? (size_t)s->nback : n;
  memcpy(o, s->back, k);
  memmove(s->back, s->back + k, (size_t)s->nback - k);
  s->nback -= (int)k;
  *got = k;
  while (*got < n) { /* in slices that fit zlib's counts */
    size_t want = n - *got > (1u << 30) ? (1u << 30) : n - *got, g;
    if (!(s->gz ? gz_read(s, o + *got, want, &g) : raw_read(s, o + *got, want, &g)))
      return false;
    *got += g;
    if (g < want)
      break;
  }
  return true;
}

void mtl_stream_unread(MtlStream *s, const void *buf, size_t n) {
  if (n + (size_t)s->nback > sizeof s->back) {
    fprintf(stderr, "%s:%d: mtl_stream_unread of %zu bytes\n", __FILE__, __LINE__, n);
    abort();
  }
  memmove(s->back + n, s->back, (size_t)s->nback);
  memcpy(s->back, buf, n);
  s->nback += (int)n;
}

uint64_t mtl_stream_left(const MtlStream *s) {
  if (s->gz)
    return UINT64_MAX;
  return (uint64_t)s->nback + s->z.avail_in + (s->eof ? 0 : s->size - s->taken);
}

bool mtl_stream_at_end(MtlStream *s, bool *end) {
  uint8_t b;
  size_t got;
  if (!mtl_stream_read(s, &b, 1, &got))
    return false;
  if (got)
    mtl_stream_unread(s, &b, 1);
  *end = got == 0;
  return true;
}

/* ---- a whole file, for text read as lines (mtl_text.c) ---------------------- */

bool mtl_read_file(const char *path, Bytes *out) {
  MtlStream s;
  if (!mtl_stream_open(&s, path, true))
    return false;
  size_t cap = 1 << 16, n = 0, got;
  uint8_t *p = malloc(cap);
  bool ok = p != NULL;
  while (ok) {
    if (n == cap) {
      uint8_t *q = cap > SIZE_MAX / 2 ? NULL : realloc(p, cap * 2);
      if (!(ok = q != NULL))
        break;
      p = q, cap *= 2;
    }
    if (!(ok = mtl_stream_read(&s, p + n, cap - n, &got)) || (n += got) < cap)
      break;
  }
  if (!ok && !p)
    mtl_set_error("%s: out of memory", path);
  else if (!ok && n == cap)
    mtl_set_error("%s: out of memory after %zu bytes", path, n);
  mtl_stream_close(&s);
  if (!ok) {
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

void mtl_view_text(char *buf, size_t cap, const View *v) {
  char sh[160];
  mtl_shape_text(sh, sizeof sh, v->dims, v->ndim);
  snprintf(buf, cap, "%s of %s", sh, mtl_elem_name[v->elem]);
}

/* At most 2^40 values (4 TiB as f32): far beyond any file this reads, and
 * every product below stays exact in 64 bits. Each dimension is checked on
 * its own, so a zero anywhere cannot hide a huge one. */
#define MAX_VALUES ((uint64_t)1 << 40)

bool mtl_view_sizes(const char *path, const View *v, int64_t *n, int64_t *per, uint64_t *bytes) {
  uint64_t p = 1;
  bool ok = v->ndim >= 1;
  for (int i = 0; ok && i < v->ndim; i++)
    ok = v->dims[i] >= 0 && (uint64_t)v->dims[i] <= MAX_VALUES;
  for (int i = 1; ok && i < v->ndim; i++) {
    p *= (uint64_t)v->dims[i];
    ok = p <= MAX_VALUES;
  }
  ok = ok && (p == 0 || (uint64_t)v->dims[0] <= MAX_VALUES / p);
  if (!ok) {
    char sh[200];
    mtl_view_text(sh, sizeof sh, v);
    mtl_set_error("%s: shape %s is too large (more than 2^40 values)", path, sh);
    return false;
  }
  *n = v->dims[0], *per = (int64_t)p;
  *bytes = (uint64_t)v->dims[0] * p * (uint64_t)mtl_elem_size[v->elem];
  return true;
}
