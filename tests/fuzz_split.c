/* tests/fuzz_split.c: a libFuzzer harness for the runtime's split loader
 * (mtl_load_split in runtime/mtl_data.c: bindings, sample counts, label
 * ranges, labels derived by lookup) over the readers of every format, for
 * the unit test's model "lin" (tests/unit/lin_model.h: input x, labels
 * cls, pos, reg; coarse derived from cls). The input's first byte is the
 * --limit (0-63); the rest holds the files of x, cls, pos and reg, in turn,
 * split at "SPLT". They are written to a private folder (under TMPDIR,
 * else /dev/shm) and bound by --data overrides, as mtlc's command line
 * binds them. The findings are crashes, hangs, leaks and sanitizer reports.
 * Seeds: the unit test's train and test files, joined; dictionary
 * tests/fuzz_split.dict. Built by `make fuzz-build`; see tests/fuzz.md. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lin_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int64_t x_cols[] = {0, 1, 2, 3};
static const MtlBinding csv_options[] = { /* a CSV file needs its columns */
    {.split = "train", .name = "x", .path = "", .csv_column = -1, .csv_columns = x_cols,
     .n_csv_columns = 4, .delimiter = ','},
    {.split = "train", .name = "cls", .path = "", .csv_column = 0, .delimiter = ','},
    {.split = "train", .name = "pos", .path = "", .csv_column = 0, .delimiter = ','},
    {.split = "train", .name = "reg", .path = "", .csv_column = -1, .csv_columns = x_cols,
     .n_csv_columns = 2, .delimiter = ','},
};

static MtlModelInfo model = {
    .abi = MTL_MODEL_ABI, .name = "lin", .batch_max = 16, .n_params = NPAR,
    .n_state = 2 * NPAR, .n_param_tensors = NPT, .param_tensors = ptens,
    .n_state_tensors = 2 * NPT, .state_tensors = stens, .n_inputs = 1, .inputs = inputs,
    .n_labels = 3, .labels = labels, .n_tasks = NTASK, .tasks = tasks, .n_bindings = 4,
    .bindings = csv_options,
};

static char folder[256], paths[4][300];

static bool setup(void) {
  const char *tmp = getenv("TMPDIR");
  snprintf(folder, sizeof folder, "%s/mtl-fuzz-split.XXXXXX", tmp && *tmp ? tmp : "/dev/shm");
  if (!mkdtemp(folder))
    return false;
  const char *names[4] = {"x", "cls", "pos", "reg"};
  for (int k = 0; k < 4; k++)
    snprintf(paths[k], sizeof paths[k], "%s/%s", folder, names[k]);
  lin_tables();
  return true;
}

static void cleanup(void) {
  for (int k = 0; k < 4; k++)
    unlink(paths[k]);
  rmdir(folder);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int ready;
  if (!ready)
    ready = setup() ? 1 : -1, atexit(cleanup);
  if (ready < 0 || size < 1)
    return 0;
  const uint8_t *p = data + 1, *end = data + size;
  MtlOverride ov[4];
  for (int k = 0; k < 4; k++) {
    const uint8_t *q = p;
    while (q + 4 <= end && memcmp(q, "SPLT", 4))
      q++;
    if (q + 4 > end)
      q = end;
    FILE *f = fopen(paths[k], "wb");
    if (!f)
      return 0;
    fwrite(p, 1, (size_t)(q - p), f);
    fclose(f);
    ov[k] = (MtlOverride){.split = "train", .name = model.inputs[0].name, .path = paths[k]};
    if (k > 0)
      ov[k].name = model.labels[k - 1].name;
    p = q + 4 <= end ? q + 4 : end;
  }
  MtlSplit s;
  bool found;
  if (mtl_check_overrides(&model, ov, 4) &&
      mtl_load_split(&s, &model, "train", ov, 4, data[0] & 63, &found))
    mtl_split_free(&s);
  return 0;
}
