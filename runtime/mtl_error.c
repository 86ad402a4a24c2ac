/* mtl_error.c: the trainer layer's last error. Functions that fail set a
 * message naming the file and the fault and return false; the caller prints
 * it. One message per thread; nothing here prints or exits. */
#include "mtl.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char message[1024];

const char *mtl_error(void) { return message; }

void mtl_set_error(const char *fmt, ...) {
  char buf[sizeof message]; /* fmt's arguments may point into message */
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  memcpy(message, buf, sizeof buf);
}

void mtl_shape_text(char *buf, size_t cap, const int64_t *d, int rank) {
  size_t k = (size_t)snprintf(buf, cap, "[");
  for (int i = 0; i < rank && k < cap; i++)
    k += (size_t)snprintf(buf + k, cap - k, "%s%" PRId64, i ? ", " : "", d[i]);
  if (k < cap)
    snprintf(buf + k, cap - k, "]");
}

/* the length of the UTF-8 sequence at p (its code point in *cp), or 0
 * when the bytes are not one: overlong forms, surrogates and values past
 * U+10FFFF are not */
static int utf8_len(const unsigned char *p, size_t n, uint32_t *cp) {
  int len = p[0] >= 0xc2 && p[0] <= 0xdf ? 2 : p[0] >= 0xe0 && p[0] <= 0xef ? 3
            : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : 0;
  if (!len || (size_t)len > n)
    return 0;
  uint32_t c = p[0] & (0x7f >> len);
  for (int i = 1; i < len; i++) {
    if ((p[i] & 0xc0) != 0x80)
      return 0;
    c = c << 6 | (p[i] & 0x3f);
  }
  if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
      (c >= 0xd800 && c < 0xe000))
    return 0;
  *cp = c;
  return len;
}

/* code points a terminal acts on or that reorder what it shows: C1
 * controls, bidirectional marks and overrides, line separators */
static bool control_point(uint32_t c) {
  return (c >= 0x80 && c < 0xa0) || c == 0x61c || c == 0x200e || c == 0x200f ||
         (c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

void mtl_printable(char *buf, size_t cap, const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t k = 0;
  if (cap < 4) {
    if (cap)
      buf[0] = '\0';
    return;
  }
  for (size_t i = 0; i < n;) {
    char esc[16];
    const char *piece = esc;
    size_t len, adv = 1;
    uint32_t cp = 0;
    int u = p[i] >= 0x80 ? utf8_len(p + i, n - i, &cp) : 0;
    if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
      piece = s + i, len = 1;
    else if (p[i] == '\\')
      piece = "\\\\", len = 2;
    else if (u && !control_point(cp))
      piece = s + i, len = (size_t)u, adv = (size_t)u;
    else if (u)
      len = (size_t)snprintf(esc, sizeof esc, "\\u%04" PRIx32, cp), adv = (size_t)u;
    else
      len = (size_t)snprintf(esc, sizeof esc, "\\x%02x", p[i]);
    if (k + len > cap - 4) { /* room kept for "..." */
      memcpy(buf + k, "...", 3);
      k += 3;
      break;
    }
    memcpy(buf + k, piece, len);
    k += len, i += adv;
  }
  buf[k] = '\0';
}

const char *mtl_nonfinite_name(double x) {
  return isnan(x) ? "NaN" : x > 0 ? "+inf" : "-inf";
}
