/* tools/codegen_check.c: `mtlc check-codegen`. Generated code (float)
 * against the reference interpreter (double) on the same parameters, the
 * same random batch and the same dropout masks: per-task outputs (eval and
 * forward), per-task losses, every parameter's gradient, and every
 * parameter, running statistic and optimizer state after one update. A
 * model balanced by a method other than static runs its two phases with
 * weights set as a balancer might (none of them 1), and the Gramian that
 * the first leaves is compared too. A
 * tensor agrees when its largest difference is at most 1e-4 of its largest
 * magnitude. Two allowances, both for values that are 0 in exact arithmetic
 * (the gradient of a bias right before a batchnorm): a tensor whose
 * reference is within 1e-9 of its group's largest magnitude (all
 * gradients, all first moments, ...) agrees when the generated one is within
 * 1e-5 of it, float's rounding of a 0; and since Adam's first step moves a
 * parameter by about lr times the sign of its gradient, whatever the
 * gradient's size, an element whose reference gradient is such a 0 may
 * differ by up to 2 lr, the step's bound. */
#include "tools/tools.h"

#include <math.h>
#include <string.h>

#define RTOL 1e-4

typedef struct {
  bool ok, quiet;
} Report;

#define ZERO 1e-9      /* of a group's scale: 0 in exact arithmetic */
#define FLOAT_ZERO 1e-5 /* of a group's scale: float's rounding of a 0 */

static double max_abs(const double *x, int64_t n) {
  double m = 0;
  for (int64_t i = 0; i < n; i++)
    m = fmax(m, fabs(x[i]));
  return m;
}

/* group: the largest magnitude of the tensor's group, or 0 */
static void compare_in(Report *r, const char *what, const float *got, const double *want,
                       int64_t n, double group) {
  double diff = 0, mag = max_abs(want, n);
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)got[i] - want[i]);
    diff = d > diff || isnan(d) ? d : diff;
  }
  double rel = mag > 0 ? diff / mag : diff;
  bool ok = rel <= RTOL || (mag < 1e-30 && diff < 1e-30) ||
            (group > 0 && mag <= ZERO * group && diff <= FLOAT_ZERO * group);
  r->ok &= ok;
  if (!r->quiet || !ok)
    printf("%-44s %10lld %12.3e %12.3e%s\n", what, (long long)n, mag, rel, ok ? "" : "  FAIL");
}

static void compare(Report *r, const char *what, const float *got, const double *want, int64_t n) {
  compare_in(r, what, got, want, n, 0);
}

/* the generated code's data[] from the interpreter's batch (inputs rounded
 * to float first, so that both see the same numbers) */
static void **make_data(Unit *u, Interp *I, int64_t B) {
  void **data = xcalloc((size_t)u->data.len + 1, sizeof(void *));
  for (int i = 0; i < u->data.len; i++) {
    Node *x = u->data.data[i];
    Buf *b = u->data_buf.data[i];
    int64_t n = node_numel(x, B);
    double *v = I->val[x->id];
    if (b->dtype == DT_I32) {
      int32_t *d = xcalloc((size_t)n + 1, sizeof(int32_t));
      for (int64_t k = 0; k < n; k++)
        d[k] = (int32_t)v[k];
      data[i] = d;
    } else {
      float *d = xcalloc((size_t)n + 1, sizeof(float));
      for (int64_t k = 0; k < n; k++)
        v[k] = d[k] = (float)v[k];
      data[i] = d;
    }
  }
  return data;
}

/* the interpreter's copy of a group (parameters, statistics) of g */
static void load_group(Unit *u, Vec *nodes, Interp *I, const float *base) {
  for (int i = 0; i < nodes->len; i++) {
    Node *x = nodes->data[i];
    Buf *b = unit_group_buf(u, x);
    for (int64_t k = 0; k < b->size; k++)
      I->val[x->id][k] = base[b->offset + k];
  }
}

static void copy_data(Interp *from, Interp *to) {
  Graph *g = to->g;
  for (int pass = 0; pass < 2; pass++) {
    Vec *v = pass ? &g->labels : &g->inputs;
    Vec *w = pass ? &from->g->labels : &from->g->inputs;
    for (int i = 0; i < v->len; i++) {
      Node *x = v->data[i], *y = w->data[i];
      memcpy(to->val[x->id], from->val[y->id], sizeof(double) * (size_t)node_numel(x, to->batch));
    }
  }
}

/* parameters after an Adam step: as compare(), but an element whose
 * reference gradient is 0 in exact arithmetic (of gscale, the gradients'
 * largest magnitude) is allowed up to `slack` */
static void compare_adam(Report *r, const char *what, const float *got, const double *want,
                         const double *grad, int64_t n, double gscale, double slack) {
  double mag = max_abs(want, n), worst = 0;
  bool ok = true;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)got[i] - want[i]);
    double tol = RTOL * mag + (fabs(grad[i]) <= ZERO * gscale ? slack : 0);
    ok &= d <= tol;
    worst = fmax(worst, mag > 0 ? d / mag : d);
  }
  r->ok &= ok;
  if (!r->quiet || !ok)
    printf("%-44s %10lld %12.3e %12.3e%s\n", what, (long long)n, mag, worst, ok ? "" : "  FAIL");
}

/* the largest magnitude over a group of the interpreter's tensors */
static double group_scale(Vec *nodes, Interp *I) {
  double m = 0;
  for (int i = 0; i < nodes->len; i++) {
    Node *x = nodes->data[i];
    if (x)
      m = fmax(m, max_abs(I->val[x->id], shape_numel(x->shape)));
  }
  return m;
}

/* each tensor of a group; optimizer state in its kind's group (every
 * .velocity, every .m, every .v) */
static void compare_group(Report *r, Unit *u, Vec *nodes, Interp *I, const float *base,
                          const char *when) {
  for (int i = 0; i < nodes->len; i++) {
    Node *x = nodes->data[i];
    Buf *b = unit_group_buf(u, x);
    const char *kind = strrchr(x->name, '.');
    double group = 0;
    for (int j = 0; j < nodes->len; j++) {
      Node *y = nodes->data[j];
      const char *k2 = strrchr(y->name, '.');
      if (kind && k2 && !strcmp(kind, k2))
        group = fmax(group, max_abs(I->val[y->id], shape_numel(y->shape)));
    }
    compare_in(r, arena_printf(u->a, "%s%s", x->name, when), base + b->offset, I->val[x->id],
               b->size, group);
  }
}

/* the gradients the balancer writes (balance.loss_scale's), as the
 * check gives them; into the interpreter's values too, unless I is NULL */
static void balancer_grads(Unit *u, Graph *g, Interp *I, float *grads) {
  for (int i = 0; i < g->params.len; i++) {
    Node *dp = g->grads.data[i];
    if (!dp || dp->op != OP_EXTGRAD)
      continue;
    Buf *b = unit_group_buf(u, g->params.data[i]);
    for (int64_t k = 0; k < b->size; k++) {
      grads[b->offset + k] = (float)(0.1 * (double)(k + 1));
      if (I)
        I->val[dp->id][k] = grads[b->offset + k];
    }
  }
}

/* the Gramian from the vectors info->gram_inputs names in act[], as data
 * parallelism makes it (mtl_dist.c), against train_begin's bal[] */
static void compare_gram_inputs(Report *r, const MtlModelInfo *info, const float *act,
                                const float *bal) {
  int T = info->n_tasks, ni = info->n_gram_inputs;
  bool ok = ni > 0 && ni % T == 0;
  for (int a = 0; ok && a < T; a++)
    for (int b = 0; ok && b < T; b++) {
      double d = 0;
      for (int k = 0; ok && k < ni; k += T) {
        const MtlGramInput *x = &info->gram_inputs[k + a], *y = &info->gram_inputs[k + b];
        ok = x->task == a && y->task == b && x->numel == y->numel;
        for (int64_t e = 0; ok && e < x->numel; e++)
          d += (double)act[x->offset + e] * (double)act[y->offset + e];
      }
      ok = ok && fabs((double)(float)d - (double)bal[a * T + b]) <=
                     1e-4 * (fabs((double)bal[a * T + b]) + 1e-6);
    }
  r->ok &= ok;
  if (!r->quiet || !ok)
    printf("%-44s %10d %s\n", "the Gramian from info's gram_inputs", ni,
           ok ? "agrees" : "differs  FAIL");
}

/* grad_step then update_step must be the step they halve bit for bit
 * (data parallelism runs them with an allreduce between): train_step
 * from the step's start, or under a balance method (phased) train_end
 * after train_begin */
static void compare_split(Report *r, Unit *u, const MtlModelInfo *info, bool phased,
                          const float *params0, const float *stats0, void **data, int64_t B,
                          const float *hyper, uint64_t seed, const float *params,
                          const float *grads, const float *state, const float *stats,
                          const float *losses) {
  size_t np = (size_t)u->n_params + 1, ns = (size_t)u->n_state + 1, nt = (size_t)u->n_stats + 1;
  float *p = xcalloc(np, sizeof(float)), *g = xcalloc(np, sizeof(float));
  float *st = xcalloc(ns, sizeof(float)), *sa = xcalloc(nt, sizeof(float));
  float *act = xcalloc((size_t)u->n_act + 1, sizeof(float));
  float *bal = xcalloc((size_t)u->n_bal + 1, sizeof(float));
  int64_t nl = info->n_tasks + info->n_regs; /* the tasks' losses, the regularizers' values */
  float *l = xcalloc((size_t)nl, sizeof(float));
  memcpy(p, params0, sizeof(float) * (size_t)u->n_params);
  memcpy(sa, stats0, sizeof(float) * (size_t)u->n_stats);
  const void *const *d = (const void *const *)data;
  if (phased) {
    info->train_begin(p, g, st, sa, act, d, B, hyper, seed, l, bal);
    if (u->n_bal)
      compare_gram_inputs(r, info, act, bal);
    balancer_grads(u, u->train->g, NULL, g);
  }
  info->grad_step(p, g, st, sa, act, d, B, hyper, seed, l);
  info->update_step(p, g, st, sa, act, d, B, hyper, seed, l);
  struct { const char *what; const float *got, *want; int64_t n; } parts[] = {
      {"parameters", p, params, u->n_params}, {"gradients", g, grads, u->n_params},
      {"optimizer state", st, state, u->n_state}, {"running statistics", sa, stats, u->n_stats},
      {"losses", l, losses, nl}};
  for (int i = 0; i < 5; i++) {
    bool ok = !memcmp(parts[i].got, parts[i].want, sizeof(float) * (size_t)parts[i].n);
    r->ok &= ok;
    if (!r->quiet || !ok)
      printf("%-44s %10lld %s\n", arena_printf(u->a, "grad_step + update_step: %s", parts[i].what),
             (long long)parts[i].n, ok ? "bit-identical" : "differ  FAIL");
  }
  free(p), free(g), free(st), free(sa), free(act), free(bal), free(l);
}

int check_codegen(Unit *u, const MtlModelInfo *info, uint64_t seed, bool quiet) {
  Model *m = u->m;
  int64_t B = u->batch_max, T = m->tasks.len;
  Report r = {true, quiet};
  float *params = xcalloc((size_t)u->n_params + 1, sizeof(float));
  float *params0 = xcalloc((size_t)u->n_params + 1, sizeof(float));
  float *grads = xcalloc((size_t)u->n_params + 1, sizeof(float));
  float *state = xcalloc((size_t)u->n_state + 1, sizeof(float));
  float *stats = xcalloc((size_t)u->n_stats + 1, sizeof(float));
  float *stats0 = xcalloc((size_t)u->n_stats + 1, sizeof(float));
  float *act = xcalloc((size_t)u->n_act + 1, sizeof(float));
  float *hyper = xcalloc((size_t)u->n_hyper + 1, sizeof(float));
  int R = info->n_regs;
  float *losses = xcalloc((size_t)(T + R), sizeof(float));
  float **outs = xcalloc((size_t)T, sizeof(float *)), **outs2 = xcalloc((size_t)T, sizeof(float *));
  for (int t = 0; t < T; t++) {
    Task *task = m->tasks.data[t];
    outs[t] = xcalloc((size_t)(B * task->out.d[0]), sizeof(float));
    outs2[t] = xcalloc((size_t)(B * task->out.d[0]), sizeof(float));
  }
  info->init(params, stats, seed);
  memcpy(params0, params, sizeof(float) * (size_t)u->n_params);
  memcpy(stats0, stats, sizeof(float) * (size_t)u->n_stats);

  /* train step: the interpreter sees the step's hyper[] as float, as the
   * generated code does */
  Graph *g = u->train->g;
  Interp *I = interp_new(g, B);
  load_group(u, &g->params, I, params);
  load_group(u, &g->stats, I, stats);
  interp_random_batch(I, seed + 1);
  void **data = make_data(u, I, B);
  Optimizer *o = &m->train.opt;
  hyper[MTL_HYPER_LR] = (float)o->lr;
  hyper[MTL_HYPER_C1] = (float)(1 - (o->kind == OPT_SGD ? 0.9 : o->beta1));
  hyper[MTL_HYPER_C2] = (float)(1 - (o->kind == OPT_SGD ? 0.999 : o->beta2));
  bool phased = m->balance.kind != MTL_BAL_STATIC;
  for (int t = 0; t < T && MTL_HYPER_TASKS + t < u->n_hyper; t++)
    hyper[MTL_HYPER_TASKS + t] = (float)((Task *)m->tasks.data[t])->weight;
  /* under a balance method: weights, seeds and own weights as a balancer
   * might give them, none of them 1 */
  for (int h = MTL_HYPER_TASKS; phased && h < u->n_hyper; h++)
    hyper[h] = (float)(0.6 + 0.15 * (h - MTL_HYPER_TASKS));
  I->step_seed = seed + 2;
  I->lr = hyper[MTL_HYPER_LR];
  I->step = 1;
  for (int h = 0; h < u->n_hyper; h++)
    I->hyper[h] = hyper[h];
  const void *const *d = (const void *const *)data;
  if (!phased) {
    interp_run(I, 0, g->nodes.len);
    info->train_step(params, grads, state, stats, act, d, B, hyper, seed + 2, losses);
    compare_split(&r, u, info, false, params0, stats0, data, B, hyper, seed + 2, params, grads,
                  state, stats, losses);
  } else {
    float *bal = xcalloc((size_t)u->n_bal + 1, sizeof(float));
    interp_run(I, 0, g->split);
    info->train_begin(params, grads, state, stats, act, d, B, hyper, seed + 2, losses, bal);
    if (g->gram)
      compare(&r, "the Gramian of the tasks' gradients (bal)", bal, I->val[g->gram->id], u->n_bal);
    balancer_grads(u, g, I, grads);
    interp_run(I, g->split, g->nodes.len);
    info->train_end(params, grads, state, stats, act, d, B, hyper, seed + 2, losses, bal);
    free(bal);
    compare_split(&r, u, info, true, params0, stats0, data, B, hyper, seed + 2, params, grads,
                  state, stats, losses);
  }

  if (!quiet)
    printf("%-44s %10s %12s %12s\n", "tensor", "elements", "max |ref|", "rel diff");
  for (int t = 0; t < T; t++) {
    Node *l = g->losses.data[t];
    compare(&r, arena_printf(u->a, "train loss of %s", ((Task *)m->tasks.data[t])->name),
            &losses[t], I->val[l->id], 1);
  }
  for (int i = 0, j = 0; i < g->objectives.len; i++) {
    Objective *ob = g->objectives.data[i];
    if (ob->kind == OBJ_REG && j < R)
      compare(&r, arena_printf(u->a, "value of %s", ob->name), &losses[T + j++],
              I->val[ob->value->id], 1);
  }
  double gscale = group_scale(&g->grads, I);
  for (int i = 0; i < g->params.len; i++) {
    Node *p = g->params.data[i], *dp = g->grads.data[i];
    Buf *b = unit_group_buf(u, p);
    if (dp)
      compare_in(&r, arena_printf(u->a, "gradient of %s", p->name), grads + b->offset,
                 I->val[dp->id], b->size, gscale);
  }
  if (o->kind == OPT_SGD) {
    compare_group(&r, u, &g->params, I, params, " after one step");
  } else {
    for (int i = 0; i < g->params.len; i++) {
      Node *p = g->params.data[i], *dp = g->grads.data[i];
      Buf *b = unit_group_buf(u, p);
      const char *what = arena_printf(u->a, "%s after one step", p->name);
      if (dp)
        compare_adam(&r, what, params + b->offset, I->val[p->id], I->val[dp->id], b->size,
                     gscale, 2 * hyper[MTL_HYPER_LR]);
      else
        compare(&r, what, params + b->offset, I->val[p->id], b->size);
    }
  }
  compare_group(&r, u, &g->stats, I, stats, " after one step");
  compare_group(&r, u, &g->states, I, state, " after one step");

  /* evaluation and inference, from the initial parameters and statistics */
  Graph *eg = u->eval->g;
  Interp *E = interp_new(eg, B);
  load_group(u, &eg->params, E, params0);
  load_group(u, &eg->stats, E, stats0);
  copy_data(I, E);
  interp_forward(E);
  info->eval_step(params0, stats0, act, (const void *const *)data, B, losses, outs);
  info->forward(params0, stats0, act, (const void *const *)data, B, outs2);
  for (int t = 0; t < T; t++) {
    Task *task = m->tasks.data[t];
    Node *out = eg->outputs.data[t], *loss = eg->losses.data[t];
    int64_t n = B * task->out.d[0];
    compare(&r, arena_printf(u->a, "eval output of %s", task->name), outs[t], E->val[out->id], n);
    compare(&r, arena_printf(u->a, "forward output of %s", task->name), outs2[t], E->val[out->id], n);
    compare(&r, arena_printf(u->a, "eval loss of %s", task->name), &losses[t], E->val[loss->id], 1);
  }
  if (!quiet)
    printf("%s: generated code against the interpreter, batch %lld, seed %llu, rtol %g\n",
           r.ok ? "ok" : "FAILED", (long long)B, (unsigned long long)seed, RTOL);
  for (int i = 0; i < u->data.len; i++)
    free(data[i]);
  for (int t = 0; t < T; t++)
    free(outs[t]), free(outs2[t]);
  free(data), free(outs), free(outs2), free(hyper);
  free(params), free(params0), free(grads), free(state), free(stats), free(stats0), free(act);
  free(losses);
  interp_free(I);
  interp_free(E);
  return r.ok ? 0 : 1;
}

/* ---- where a training loss turned non-finite ------------------------------------------ */

/* The first node of the train graph's forward pass whose value, stored as
 * the generated code stores it (float), is not finite, run by the
 * interpreter on the step's parameters (before its update), statistics,
 * batch, hyper[] and seed: "spec.mtl:21:5: dense(128) (tower) gives +inf".
 * NULL when the interpreter finds every value finite (an overflow only
 * float arithmetic inside one op reaches). */
const char *nonfinite_origin(void *unit, const float *params, const float *stats,
                             const void *const *data, int64_t B, const float *hyper,
                             uint64_t seed) {
  Unit *u = unit;
  Graph *g = u->train->g;
  Interp *I = interp_new(g, B);
  load_group(u, &g->params, I, params);
  load_group(u, &g->stats, I, stats);
  for (int i = 0; i < u->data.len; i++) {
    Node *x = u->data.data[i];
    Buf *b = u->data_buf.data[i];
    double *v = I->val[x->id];
    for (int64_t k = 0, n = node_numel(x, B); k < n; k++)
      v[k] = b->dtype == DT_I32 ? ((const int32_t *)data[i])[k] : ((const float *)data[i])[k];
  }
  I->step_seed = seed;
  I->lr = hyper[MTL_HYPER_LR];
  for (int h = 0; h < u->n_hyper; h++)
    I->hyper[h] = hyper[h];
  const char *found = NULL;
  for (int i = 0; i < g->nforward && !found; i++) {
    Node *n = g->nodes.data[i];
    interp_run(I, i, i + 1);
    double *v = I->val[i];
    for (int64_t k = 0, len = node_numel(n, B); k < len; k++) {
      v[k] = (float)v[k]; /* float storage: past FLT_MAX is inf */
      if (isfinite(v[k]))
        continue;
      /* the node or the nearest input of it that names its spec construct */
      const Node *at = n;
      while (at->span.hi <= at->span.lo && at->nin > 0)
        at = at->in[0];
      const char *what = isnan(v[k]) ? "NaN" : v[k] > 0 ? "+inf" : "-inf";
      Source *src = g->m->src;
      if (at->span.hi > at->span.lo) {
        int lo = at->span.lo, e = lo, col = 1;
        while (e < at->span.hi && src->text[e] != '\n')
          e++;
        for (int j = lo; j > 0 && src->text[j - 1] != '\n'; j--)
          col++;
        found = arena_printf(u->a, "%s:%d:%d: %.*s%s%s%s gives %s first", src->path,
                             span_line(src, lo), col, e - lo, src->text + lo,
                             n->where ? " (" : "", n->where ? n->where : "", n->where ? ")" : "",
                             what);
      } else {
        found = arena_printf(u->a, "%s%s%s gives %s first", node_op_text(u->a, n),
                             n->where ? " in " : "", n->where ? n->where : "", what);
      }
      break;
    }
  }
  interp_free(I);
  return found;
}
