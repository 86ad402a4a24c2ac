/* tests/fuzz_csv.c: a libFuzzer harness for the runtime's CSV reader
 * (runtime/mtl_csv.c), plain or gzip'ed. The input's first byte chooses
 * what is read: bit 7 labels (i32, one column) or inputs (f32), bits 0-1
 * how many columns (1-4), bits 2-6 the first column (0-31; the others
 * follow it); the rest is the file. The findings are crashes, hangs, leaks
 * and sanitizer reports. Seeds: the CSV files tests/unit/test_runtime.c
 * writes, behind a first byte; dictionary tests/fuzz_csv.dict. Built by
 * `make fuzz-build`; see tests/fuzz.md. */
#include "mtl_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  int ncols = (data[0] & 3) + 1, first = data[0] >> 2 & 31;
  bool label = data[0] & 0x80;
  int64_t cols[4];
  for (int i = 0; i < ncols; i++)
    cols[i] = first + i;
  MtlStream s;
  MtlArray a;
  mtl_stream_mem(&s, "fuzz.csv", data + 1, size - 1, true);
  bool ok = label ? mtl_read_array(&a, &s, MTL_I32, 1, first, NULL, 0, ',', NULL)
                  : mtl_read_array(&a, &s, MTL_F32, ncols, -1, cols, ncols, ',', NULL);
  if (ok)
    mtl_array_free(&a);
  mtl_stream_close(&s);
  return 0;
}
