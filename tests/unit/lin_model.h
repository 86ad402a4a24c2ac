/* lin_model.h: the description of "lin", the small model written by hand
 * that tests/unit/test_runtime.c trains: four linear heads on one input x
 * f32[2, 2] (cls: class(3); coarse: class(2) derived from cls by lookup;
 * pos: binary; reg: real[2]), and Adam's state NAME.m, NAME.v for each
 * parameter. Shared with the runtime's fuzz harnesses (tests/fuzz_*.c), so
 * the files the unit test writes are seeds they read as the test does.
 * Tables only; the entry points are test_runtime.c's. */
#ifndef LIN_MODEL_H
#define LIN_MODEL_H

#include <stdio.h>

#include "mtl.h"

enum { D = 4, NPAR = 40, NTASK = 4 };

static const MtlTensor ptens[] = {
    {"cls.weight", 0, 12, 2, {3, 4}, MTL_INIT_UNIFORM, 0.5},    {"cls.bias", 12, 3, 1, {3}, MTL_INIT_UNIFORM, 0.5},
    {"coarse.weight", 15, 8, 2, {2, 4}, MTL_INIT_UNIFORM, 0.5}, {"coarse.bias", 23, 2, 1, {2}, MTL_INIT_UNIFORM, 0.5},
    {"pos.weight", 25, 4, 2, {1, 4}, MTL_INIT_UNIFORM, 0.5},    {"pos.bias", 29, 1, 1, {1}, MTL_INIT_UNIFORM, 0.5},
    {"reg.weight", 30, 8, 2, {2, 4}, MTL_INIT_UNIFORM, 0.5},    {"reg.bias", 38, 2, 1, {2}, MTL_INIT_UNIFORM, 0.5},
};
enum { NPT = sizeof ptens / sizeof *ptens };
static MtlTensor stens[2 * NPT]; /* NAME.m, NAME.v in turn, offsets in order */
static char stnames[2 * NPT][48];

static const MtlInputInfo inputs[] = {{"x", MTL_F32, 2, {2, 2}, 4, 2, 1, -1, 0}};
static const MtlLabelInfo labels[] = {
    {"cls", MTL_LABEL_CLASS, 3}, {"pos", MTL_LABEL_BINARY, 1}, {"reg", MTL_LABEL_REAL, 2}};
static const int32_t coarse_of[] = {0, 1, 1};
static const MtlTaskInfo tasks[] = {
    {"cls", MTL_LABEL_CLASS, 3, MTL_METRIC_ACCURACY, 1.0, 0, -1, NULL, 0, 0},
    {"coarse", MTL_LABEL_CLASS, 2, MTL_METRIC_ACCURACY, 0.5, -1, 0, coarse_of, 3, 0},
    {"pos", MTL_LABEL_BINARY, 1, MTL_METRIC_ACCURACY, 1.0, 1, -1, NULL, 0, 0},
    {"reg", MTL_LABEL_REAL, 2, MTL_METRIC_MSE | MTL_METRIC_MAE, 1.0, 2, -1, NULL, 0, 0},
};

/* the state tensors' names and offsets, from the parameters' */
static void lin_tables(void) {
  int64_t off = 0;
  for (int k = 0; k < 2 * NPT; k++) {
    const MtlTensor *p = &ptens[k / 2];
    snprintf(stnames[k], sizeof stnames[k], "%s.%s", p->name, k % 2 ? "v" : "m");
    stens[k] = *p;
    stens[k].name = stnames[k];
    stens[k].offset = off;
    off += p->numel;
  }
}

#endif
