/* mtl_error.c: the trainer layer's last error. Functions that fail set a
 * message naming the file and the fault and return false; the caller prints
 * it. One message per thread; nothing here prints or exits. */
#include "mtl.h"

#include <inttypes.h>
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
