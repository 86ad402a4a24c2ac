/* tests/fuzz_data.h: what the harnesses of the runtime's binary data
 * readers (tests/fuzz_idx.c, tests/fuzz_npy.c) share. An input is a file's
 * bytes, gzip'ed or not. Its header is read once to learn the shape, then
 * the whole file is read as mtl_load reads it for a model: as f32 inputs
 * and as i32 labels with that many values per sample (so the data is
 * read), and with one more (so it is refused before the data). The
 * findings are crashes, hangs, leaks and sanitizer reports; what the reader
 * says is not checked. See tests/fuzz.md. */
#ifndef FUZZ_DATA_H
#define FUZZ_DATA_H

#include "mtl_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_read_as(const uint8_t *data, size_t size, MtlDtype want, int64_t width) {
  MtlStream s;
  MtlArray a;
  mtl_stream_mem(&s, "fuzz", data, size, true);
  if (mtl_read_array(&a, &s, want, width, -1, NULL, 0, ',', NULL))
    mtl_array_free(&a);
  mtl_stream_close(&s);
}

/* A shape that claims more than 1 MiB is read only to its refusal: the
 * reader grows its array as data arrives, but converting that much per
 * input would slow the fuzzer to a crawl (the code is the same). */
static int fuzz_binary(const uint8_t *data, size_t size, bool (*header)(MtlStream *, View *)) {
  MtlStream s;
  View v;
  int64_t n, per = 0;
  uint64_t bytes = 0;
  mtl_stream_mem(&s, "fuzz", data, size, true);
  bool ok = header(&s, &v) && mtl_view_sizes("fuzz", &v, &n, &per, &bytes);
  mtl_stream_close(&s);
  int64_t width = per > 0 ? per : 1;
  if (!ok || bytes <= (1u << 20)) {
    fuzz_read_as(data, size, MTL_F32, width);
    fuzz_read_as(data, size, MTL_I32, width);
  }
  fuzz_read_as(data, size, MTL_F32, width + 1);
  return 0;
}

#endif
