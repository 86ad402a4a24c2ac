/* tests/fuzz_npy.c: a libFuzzer harness for the runtime's .npy reader
 * (runtime/mtl_npy.c: versions 1 to 3, the header's dict), plain or
 * gzip'ed, and the conversion of its values (runtime/mtl_data.c). Seeds:
 * the .npy files tests/unit/test_runtime.c writes; dictionary
 * tests/fuzz_npy.dict. Built by `make fuzz-build`; see tests/fuzz.md. */
#include "fuzz_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return fuzz_binary(data, size, mtl_npy_header);
}
