/* mtl_error.c: the trainer layer's last error. Functions that fail set a
 * message naming the file and the fault and return false; the caller prints
 * it. One message per thread; nothing here prints or exits. */
#include "mtl.h"

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
