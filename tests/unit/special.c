/* special.c: the generated code on the values that once gave a wrong
 * number with exit status 0, run on the model of tests/t_numbers.sh
 * (input z: f32[4], one task class(4) whose net is z -> relu):
 *  - relu keeps a NaN (fmax(x, 0) made it 0, so an input of NaNs gave a
 *    plausible loss) and an infinity, and makes -1 a 0;
 *  - cross-entropy of equal logits of 1e8 is log 4, not 0 (m + log s
 *    rounded to m in float);
 *  - a NaN logit makes the loss NaN.
 * Built with -DMODEL_HEADER and -DMODEL_INFO against NAME.c from emit-c or
 * NAME.o from emit-llvm --obj. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mtl_kernel.h"
#include MODEL_HEADER

static int bad;

static void expect(const char *what, float got, float want) {
  int same = isnan(want) ? isnan(got) : got == want;
  if (!same) {
    printf("FAIL %s: %g, want %g\n", what, (double)got, (double)want);
    bad = 1;
  }
}

int main(void) {
  const MtlModelInfo *m = &MODEL_INFO;
  if (m->n_inputs != 1 || m->inputs[0].numel != 4 || m->n_tasks != 1 || m->tasks[0].width != 4) {
    printf("FAIL the model is not z: f32[4] -> relu, class(4)\n");
    return 1;
  }
  static float params[64], stats[64], act[1 << 12], out[4], loss[1];
  float z[4] = {NAN, -1.0f, 2.0f, INFINITY};
  int32_t y[1] = {2};
  const void *data[2] = {z, y};
  float *outs[1] = {out};
  m->init(params, stats, 1);
  m->forward(params, stats, act, data, 1, outs);
  expect("relu(NaN)", out[0], NAN);
  expect("relu(-1)", out[1], 0.0f);
  expect("relu(2)", out[2], 2.0f);
  expect("relu(inf)", out[3], INFINITY);
  m->eval_step(params, stats, act, data, 1, loss, outs);
  expect("cross-entropy with a NaN logit", loss[0], NAN);
  for (int k = 0; k < 4; k++)
    z[k] = 1e8f;
  m->eval_step(params, stats, act, data, 1, loss, outs);
  if (!(fabsf(loss[0] - logf(4.0f)) < 1e-6f)) {
    printf("FAIL cross-entropy of four logits of 1e8: %g, want log 4 = %g\n", (double)loss[0],
           (double)logf(4.0f));
    bad = 1;
  }
  printf("%s\n", bad ? "special values: wrong" : "ok");
  return bad;
}
