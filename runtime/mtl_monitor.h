/* mtl_monitor.h: the value training watches on the valid split, internal to
 * libmtlrt (mtl_train.c): which epoch was best, whether to stop early. */
#ifndef MTL_MONITOR_H
#define MTL_MONITOR_H

#include "mtl.h"

typedef struct {
  int task;       /* -1: the weighted sum of the tasks' losses */
  int metric;     /* an MTL_METRIC_* bit, or 0: the task's loss */
  bool maximize;  /* accuracy; losses and errors are minimized */
  char name[96];  /* "item.accuracy", "loss" */
  int64_t patience; /* 0: never stop early */
  double min_delta;
  int64_t best_epoch, since; /* 1-based; 0: none yet. Epochs since the best */
  double best;
} MtlMonitor;

/* The model's early_stop (or, with `on` given, TASK.METRIC or loss from
 * the command line); false with mtl_error() naming what can be watched. */
bool mtl_monitor_init(MtlMonitor *w, const MtlModelInfo *m, const char *on);
/* This epoch's value: true when it is the best so far (by more than
 * min_delta, Keras' rule), which resets the count of epochs since. */
bool mtl_monitor_update(MtlMonitor *w, int64_t epoch, double value);
/* patience epochs without improvement */
bool mtl_monitor_stop(const MtlMonitor *w);

#endif
