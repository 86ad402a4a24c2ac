/* tests/fuzz_ckpt.c: a libFuzzer harness for the runtime's checkpoint
 * reader (runtime/mtl_ckpt.c: safetensors, its JSON header through
 * runtime/mtl_json.c), against the unit test's model "lin"
 * (tests/unit/lin_model.h). Each input is a file's bytes, read three ways:
 * to resume (parameters, optimizer state, metadata), to evaluate
 * (parameters only) and with the state but no metadata. The findings are
 * crashes, hangs, leaks and sanitizer reports. Seeds: the checkpoints
 * tests/unit/test_runtime.c writes; dictionary tests/fuzz_ckpt.dict.
 * Built by `make fuzz-build`; see tests/fuzz.md. */
#include "lin_model.h"
#include "mtl_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static MtlModelInfo model = {
    .abi = MTL_MODEL_ABI, .name = "lin", .mtlc_version = "test", .batch_max = 16,
    .n_params = NPAR, .n_state = 2 * NPAR, .n_param_tensors = NPT, .param_tensors = ptens,
    .n_state_tensors = 2 * NPT, .state_tensors = stens, .n_inputs = 1, .inputs = inputs,
    .n_labels = 3, .labels = labels, .n_tasks = NTASK, .tasks = tasks,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static bool ready;
  if (!ready)
    lin_tables(), ready = true;
  float params[NPAR], state[2 * NPAR];
  MtlCkptMeta meta;
  for (int way = 0; way < 3; way++) {
    MtlStream s;
    mtl_stream_mem(&s, "fuzz.safetensors", data, size, false);
    mtl_ckpt_read(&s, &model, params, way == 1 ? NULL : state, NULL, way == 0 ? &meta : NULL);
    mtl_stream_close(&s);
  }
  return 0;
}
