/* tests/fuzz_check.c: a libFuzzer harness for mtlc's front end. Each input
 * is a spec: parse_spec, then sema, then print_summary (to /dev/null) when
 * it checks clean, all in one arena that is freed whole, as `mtlc summary`
 * does. Crashes, hangs, leaks and sanitizer reports are the findings; what
 * mtlc says about the spec is not checked. Diagnostics go to stderr; run
 * with -close_fd_mask=2 to drop them (libFuzzer and the sanitizers keep
 * their own copy of stderr). Built by tests/asan-build.sh; see tests/fuzz.md. */
#include "check/model.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *devnull;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > (1 << 20))
    return 0;
  if (!devnull)
    devnull = fopen("/dev/null", "w");
  Arena *a = arena_new();
  Source *src = arena_alloc(a, sizeof(Source));
  char *text = malloc(size + 1); /* its own block: overreads are caught */
  if (!text)
    abort();
  memcpy(text, data, size);
  text[size] = '\0';
  src->path = "fuzz.mtl";
  src->text = text;
  src->len = (int)size;
  Spec *spec = parse_spec(a, src);
  if (spec) {
    Model *m = sema(a, src, spec, "/nonexistent");
    if (m && devnull)
      print_summary(devnull, m);
  }
  arena_free(a);
  free(text);
  return 0;
}
