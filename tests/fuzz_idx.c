/* tests/fuzz_idx.c: a libFuzzer harness for the runtime's IDX reader
 * (runtime/mtl_idx.c), plain or gzip'ed (the stream of runtime/mtl_read.c
 * inflates), and the conversion of its values (runtime/mtl_data.c). Seeds:
 * the IDX files tests/unit/test_runtime.c writes; dictionary
 * tests/fuzz_idx.dict. Built by `make fuzz-build`; see tests/fuzz.md. */
#include "fuzz_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return fuzz_binary(data, size, mtl_idx_header);
}
