/* mtl_monitor.c: the watched valid value (mtl_monitor.h): early_stop's
 * on=TASK.METRIC, or the weighted sum of the tasks' losses; the best epoch
 * by it, and patience, as Keras' EarlyStopping and ModelCheckpoint
 * (save_best_only) do. Computing the value from metrics, saving and
 * stopping are mtl_train.c's. */
#include "mtl_monitor.h"

#include <stdio.h>
#include <string.h>

static const struct {
  const char *name;
  int bit;
} metrics[] = {{"loss", 0}, {"accuracy", MTL_METRIC_ACCURACY}, {"mse", MTL_METRIC_MSE},
               {"mae", MTL_METRIC_MAE}};

/* "loss, item.loss, item.accuracy, ...": what can be watched */
static void watchable(char *buf, size_t cap, const MtlModelInfo *m) {
  size_t k = (size_t)snprintf(buf, cap, "loss");
  for (int t = 0; t < m->n_tasks && k < cap; t++)
    for (size_t j = 0; j < sizeof metrics / sizeof *metrics && k < cap; j++) {
      const MtlTaskInfo *tk = &m->tasks[t];
      bool has = !metrics[j].bit || ((tk->metrics & metrics[j].bit) &&
                                     !(metrics[j].bit == MTL_METRIC_ACCURACY &&
                                       tk->kind == MTL_LABEL_REAL));
      if (has)
        k += (size_t)snprintf(buf + k, cap - k, ", %s.%s", tk->name, metrics[j].name);
    }
}

static bool parse_on(MtlMonitor *w, const MtlModelInfo *m, const char *on) {
  w->task = -1, w->metric = 0;
  if (!strcmp(on, "loss"))
    return true;
  const char *dot = strchr(on, '.');
  for (int t = 0; dot && t < m->n_tasks; t++) {
    const MtlTaskInfo *tk = &m->tasks[t];
    if (strlen(tk->name) != (size_t)(dot - on) || strncmp(tk->name, on, (size_t)(dot - on)))
      continue;
    for (size_t j = 0; j < sizeof metrics / sizeof *metrics; j++) {
      int bit = metrics[j].bit;
      if (strcmp(dot + 1, metrics[j].name) ||
          (bit && (!(tk->metrics & bit) || (bit == MTL_METRIC_ACCURACY &&
                                             tk->kind == MTL_LABEL_REAL))))
        continue;
      w->task = t, w->metric = bit;
      return true;
    }
  }
  char names[1024];
  watchable(names, sizeof names, m);
  mtl_set_error("model %s cannot watch '%s' on the valid split; it can watch %s", m->name, on,
                names);
  return false;
}

bool mtl_monitor_init(MtlMonitor *w, const MtlModelInfo *m, const char *on) {
  *w = (MtlMonitor){.task = m->monitor_task, .metric = m->monitor_metric,
                    .patience = m->patience, .min_delta = m->min_delta};
  if (on && !parse_on(w, m, on))
    return false;
  if (w->task < 0 || w->task >= m->n_tasks) {
    w->task = -1, w->metric = 0;
    snprintf(w->name, sizeof w->name, "loss");
  } else {
    const char *what = "loss";
    for (size_t j = 0; j < sizeof metrics / sizeof *metrics; j++)
      if (metrics[j].bit == w->metric)
        what = metrics[j].name;
    snprintf(w->name, sizeof w->name, "%s.%s", m->tasks[w->task].name, what);
  }
  w->maximize = w->metric == MTL_METRIC_ACCURACY;
  return true;
}

bool mtl_monitor_update(MtlMonitor *w, int64_t epoch, double value) {
  bool better = w->maximize ? value > w->best + w->min_delta : value < w->best - w->min_delta;
  if (w->best_epoch == 0 || better) {
    w->best_epoch = epoch, w->best = value, w->since = 0;
    return true;
  }
  w->since++;
  return false;
}

bool mtl_monitor_stop(const MtlMonitor *w) { return w->patience > 0 && w->since >= w->patience; }
