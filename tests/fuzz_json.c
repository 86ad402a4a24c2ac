/* tests/fuzz_json.c: a libFuzzer harness for the runtime's JSON parser
 * (runtime/mtl_json.c), which reads checkpoint headers. Each input is a
 * text; on success every node's key and string is read, so a bad index or
 * an unterminated string is found. The findings are crashes, hangs, leaks
 * and sanitizer reports. Seeds: the headers of the checkpoints
 * tests/unit/test_runtime.c writes; dictionary tests/fuzz_json.dict. Built
 * by `make fuzz-build`; see tests/fuzz.md. */
#include <stdlib.h>
#include <string.h>

#include "mtl_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size ? size : 1); /* its own block: overreads are caught */
  if (!text)
    return 0;
  memcpy(text, data, size);
  JParser p;
  size_t sum = 0;
  if (mtl_json_parse(&p, text, size))
    for (int i = 0; i < p.n; i++) {
      const JNode *x = &p.nodes[i];
      sum += (x->key ? strlen(x->key) : 0) + (x->str ? strlen(x->str) : 0);
      if (x->child >= p.n || x->next >= p.n)
        abort();
    }
  free(p.nodes);
  free(p.strs);
  free(text);
  return sum == (size_t)-1;
}
