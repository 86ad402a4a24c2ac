/* tools/image.c: the two image formats `mtlc predict` reads, to 8-bit
 * grayscale: PGM (P5 binary or P2 text, maxval up to 65535) and PNG
 * (8-bit gray, gray+alpha, RGB, RGBA or palette, not interlaced; zlib
 * inflates, the five row filters are undone here). Colour becomes gray as
 * 0.299 R + 0.587 G + 0.114 B; alpha is dropped. Anything else is an error
 * naming the file and what it found. */
#include "tools/tools.h"

#include <string.h>
#include <zlib.h>

static bool fail(const char *path, const char *what) {
  fprintf(stderr, "mtlc: %s: %s\n", path, what);
  return false;
}

static bool slurp(const char *path, uint8_t **p, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return fail(path, "cannot open");
  size_t cap = 1 << 16, len = 0, k;
  uint8_t *b = xcalloc(cap, 1);
  while ((k = fread(b + len, 1, cap - len, f)) > 0)
    if ((len += k) == cap) {
      uint8_t *q = xcalloc(cap * 2, 1);
      memcpy(q, b, len);
      free(b);
      b = q, cap *= 2;
    }
  fclose(f);
  *p = b, *n = len;
  return true;
}

/* ---- PGM ---------------------------------------------------------------------------- */

/* the next header number, past whitespace and # comments */
static bool pgm_num(const uint8_t *p, size_t n, size_t *at, long *v) {
  while (*at < n && (p[*at] == ' ' || p[*at] == '\t' || p[*at] == '\n' || p[*at] == '\r' ||
                     p[*at] == '#'))
    if (p[*at] == '#')
      while (*at < n && p[*at] != '\n')
        (*at)++;
    else
      (*at)++;
  if (*at >= n || p[*at] < '0' || p[*at] > '9')
    return false;
  for (*v = 0; *at < n && p[*at] >= '0' && p[*at] <= '9' && *v < 1000000; (*at)++)
    *v = *v * 10 + (p[*at] - '0');
  return true;
}

static bool pgm(const char *path, const uint8_t *p, size_t n, uint8_t **pix, int *w, int *h) {
  size_t at = 2;
  long W, H, maxv;
  bool text = p[1] == '2';
  if (!pgm_num(p, n, &at, &W) || !pgm_num(p, n, &at, &H) || !pgm_num(p, n, &at, &maxv) ||
      W < 1 || H < 1 || maxv < 1 || maxv > 65535 || W * H > (1 << 26))
    return fail(path, "a PGM header needs a width, a height and a maxval up to 65535");
  at++; /* the one whitespace after maxval */
  int bytes = maxv > 255 ? 2 : 1;
  uint8_t *out = xcalloc((size_t)(W * H), 1);
  for (long i = 0; i < W * H; i++) {
    long v;
    if (text) {
      if (!pgm_num(p, n, &at, &v))
        return free(out), fail(path, "truncated: fewer pixels than width x height");
    } else {
      if (at + (size_t)bytes > n)
        return free(out), fail(path, "truncated: fewer pixels than width x height");
      v = bytes == 2 ? p[at] << 8 | p[at + 1] : p[at];
      at += (size_t)bytes;
    }
    out[i] = (uint8_t)((v > maxv ? maxv : v) * 255 / maxv);
  }
  *pix = out, *w = (int)W, *h = (int)H;
  return true;
}

/* ---- PNG ---------------------------------------------------------------------------- */

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int paeth(int a, int b, int c) {
  int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* undoes the row filters in place: rows of 1 + stride bytes, bpp per pixel */
static bool unfilter(uint8_t *raw, int h, size_t stride, int bpp) {
  for (int y = 0; y < h; y++) {
    uint8_t *row = raw + (size_t)y * (stride + 1), *cur = row + 1;
    const uint8_t *up = y ? cur - (stride + 1) : NULL;
    for (size_t x = 0; x < stride; x++) {
      int a = x >= (size_t)bpp ? cur[x - (size_t)bpp] : 0, b = up ? up[x] : 0;
      int c = up && x >= (size_t)bpp ? up[x - (size_t)bpp] : 0;
      switch (row[0]) {
      case 0: break;
      case 1: cur[x] = (uint8_t)(cur[x] + a); break;
      case 2: cur[x] = (uint8_t)(cur[x] + b); break;
      case 3: cur[x] = (uint8_t)(cur[x] + (a + b) / 2); break;
      case 4: cur[x] = (uint8_t)(cur[x] + paeth(a, b, c)); break;
      default: return false;
      }
    }
  }
  return true;
}

static bool png(const char *path, const uint8_t *p, size_t n, uint8_t **pix, int *w, int *h) {
  uint32_t W = 0, H = 0;
  int depth = 0, color = -1, interlace = 0, nplte = 0;
  uint8_t plte[768];
  uint8_t *idat = xcalloc(n + 1, 1);
  size_t nidat = 0;
  for (size_t at = 8; at + 12 <= n;) {
    uint32_t len = be32(p + at);
    const uint8_t *type = p + at + 4, *d = p + at + 8;
    if (len > n - at - 12)
      return free(idat), fail(path, "truncated PNG chunk");
    if (!memcmp(type, "IHDR", 4) && len >= 13)
      W = be32(d), H = be32(d + 4), depth = d[8], color = d[9], interlace = d[12];
    else if (!memcmp(type, "PLTE", 4) && len <= 768)
      memcpy(plte, d, len), nplte = (int)len / 3;
    else if (!memcmp(type, "IDAT", 4))
      memcpy(idat + nidat, d, len), nidat += len;
    else if (!memcmp(type, "IEND", 4))
      break;
    at += 12 + len;
  }
  static const int channels[7] = {1, 0, 3, 1, 2, 0, 4};
  if (W < 1 || H < 1 || (uint64_t)W * H > (1u << 26) || depth != 8 || color < 0 || color > 6 ||
      !channels[color] || interlace || (color == 3 && !nplte))
    return free(idat), fail(path, "mtlc reads PNG images of 8 bits per channel, not interlaced "
                                  "(gray, gray+alpha, RGB, RGBA or palette)");
  int bpp = channels[color];
  size_t stride = (size_t)W * (size_t)bpp;
  uLongf size = (uLongf)((stride + 1) * H);
  uint8_t *raw = xcalloc(size + 1, 1);
  bool ok = uncompress(raw, &size, idat, (uLong)nidat) == Z_OK && size == (stride + 1) * H &&
            unfilter(raw, (int)H, stride, bpp);
  free(idat);
  if (!ok)
    return free(raw), fail(path, "corrupt PNG image data");
  uint8_t *out = xcalloc((size_t)W * H, 1);
  for (uint32_t y = 0; y < H; y++)
    for (uint32_t x = 0; x < W; x++) {
      const uint8_t *q = raw + (size_t)y * (stride + 1) + 1 + (size_t)x * (size_t)bpp;
      const uint8_t *rgb = color == 3 ? plte + 3 * (q[0] < nplte ? q[0] : 0) : q;
      out[(size_t)y * W + x] = color == 0 || color == 4
                                   ? q[0]
                                   : (uint8_t)(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] + 0.5);
    }
  free(raw);
  *pix = out, *w = (int)W, *h = (int)H;
  return true;
}

int image_kind(const char *path) {
  FILE *f = fopen(path, "rb");
  uint8_t m[8] = {0};
  size_t n = f ? fread(m, 1, 8, f) : 0;
  if (f)
    fclose(f);
  if (n >= 8 && !memcmp(m, "\x89PNG\r\n\x1a\n", 8))
    return 2;
  if (n >= 2 && m[0] == 'P' && (m[1] == '5' || m[1] == '2'))
    return 1;
  return 0;
}

bool image_read(const char *path, uint8_t **pix, int *w, int *h) {
  uint8_t *p;
  size_t n;
  if (!slurp(path, &p, &n))
    return false;
  bool ok = image_kind(path) == 2 ? png(path, p, n, pix, w, h) : pgm(path, p, n, pix, w, h);
  free(p);
  return ok;
}
