/* back/modinfo.c: a unit's self-description as the runtime reads it, an
 * MtlModelInfo with its tables (runtime/mtl_model.h), built in memory once.
 * The C back end prints it as C and the LLVM back end as constants, both by
 * walking back/abi.c's description of the struct; the JIT hands it to the
 * trainer directly, with the entry points filled in by whoever has them.
 * One source of truth for all three. */
#include "back/back.h"

#include <string.h>

#define NEWN(T, n) ((T *)arena_alloc(a, sizeof(T) * (size_t)((n) ? (n) : 1)))

static MtlTensor *tensors(Arena *a, Vec *nodes, Vec *bufs) {
  MtlTensor *t = NEWN(MtlTensor, nodes->len);
  for (int i = 0; i < nodes->len; i++) {
    Node *x = nodes->data[i];
    Buf *b = bufs->data[i];
    t[i] = (MtlTensor){x->name, b->offset, shape_numel(x->shape), x->shape.rank, {0},
                       (MtlInit)x->init, x->init_arg};
    for (int d = 0; d < x->shape.rank; d++)
      t[i].shape[d] = x->shape.d[d];
  }
  return t;
}

/* the index of the statistics tensor of this name, or -1 */
static int stat_index(Unit *u, const char *name) {
  for (int i = 0; i < u->stats.len; i++)
    if (!strcmp(((Node *)u->stats.data[i])->name, name))
      return i;
  return -1;
}

static MtlLabelKind label_kind(LabelKind k) {
  return k == LBL_CLASS ? MTL_LABEL_CLASS : k == LBL_BINARY ? MTL_LABEL_BINARY : MTL_LABEL_REAL;
}

MtlModelInfo *unit_info(Unit *u) {
  Arena *a = u->a;
  Model *m = u->m;
  Graph *g = u->train->g;
  MtlModelInfo *info = NEWN(MtlModelInfo, 1);
  info->abi = MTL_MODEL_ABI;
  info->name = m->name;
  info->spec = m->src->path;
  info->mtlc_version = MTLC_VERSION;
  info->batch_max = u->batch_max;
  info->n_params = u->n_params;
  info->n_state = u->n_state;
  info->n_stats = u->n_stats;
  info->n_act = u->n_act;
  info->flops = m->total_flops;
  info->n_hyper = u->n_hyper;
  info->n_param_tensors = u->params.len;
  info->param_tensors = tensors(a, &u->params, &u->param_bufs);
  info->n_state_tensors = u->states.len;
  info->state_tensors = tensors(a, &u->states, &u->state_bufs);
  info->n_stat_tensors = u->stats.len;
  info->stat_tensors = tensors(a, &u->stats, &u->stat_bufs);

  MtlInputInfo *in = NEWN(MtlInputInfo, g->inputs.len);
  for (int i = 0; i < g->inputs.len; i++) {
    Node *x = g->inputs.data[i];
    Input *mi = m->inputs.data[i];
    in[i] = (MtlInputInfo){x->name, x->dtype == DT_I32 ? MTL_I32 : MTL_F32, x->shape.rank, {0},
                           shape_numel(x->shape), mi->channels, mi->inner,
                           stat_index(u, arena_printf(a, "%s.normalize.mean", x->name)), x->a[0]};
    for (int d = 0; d < x->shape.rank; d++)
      in[i].shape[d] = x->shape.d[d];
  }
  info->n_inputs = g->inputs.len;
  info->inputs = in;

  MtlLabelInfo *lb = NEWN(MtlLabelInfo, g->labels.len);
  for (int i = 0; i < g->labels.len; i++) {
    Task *t = m->tasks.data[((Node *)g->labels.data[i])->task];
    lb[i] = (MtlLabelInfo){t->name, label_kind(t->label), t->label == LBL_BINARY ? 1 : t->label_n};
  }
  info->n_labels = g->labels.len;
  info->labels = lb;

  MtlTaskInfo *tk = NEWN(MtlTaskInfo, m->tasks.len);
  for (int i = 0; i < m->tasks.len; i++) {
    Task *t = m->tasks.data[i];
    int label = -1;
    for (int k = 0; k < g->labels.len; k++)
      if (((Node *)g->labels.data[k])->task == i)
        label = k;
    int32_t *lookup = NULL;
    if (t->derive_from) {
      lookup = NEWN(int32_t, t->nlookup);
      for (int k = 0; k < t->nlookup; k++)
        lookup[k] = (int32_t)t->lookup[k];
    }
    tk[i] = (MtlTaskInfo){
        .name = t->name, .kind = label_kind(t->label), .width = t->out.d[0],
        .metrics = (t->metrics & (1 << MET_ACCURACY) ? MTL_METRIC_ACCURACY : 0) |
                   (t->metrics & (1 << MET_MSE) ? MTL_METRIC_MSE : 0) |
                   (t->metrics & (1 << MET_MAE) ? MTL_METRIC_MAE : 0),
        .weight = t->weight, .label = label,
        .derive_from = t->derive_from ? t->derive_from->index : -1,
        .lookup = lookup, .n_lookup = t->derive_from ? t->nlookup : 0,
        .line = t->decl ? span_line(m->src, t->decl->span.lo) : 0};
  }
  info->n_tasks = m->tasks.len;
  info->tasks = tk;

  MtlRegInfo *rg = NEWN(MtlRegInfo, g->objectives.len);
  info->n_regs = 0;
  for (int i = 0; i < g->objectives.len; i++) {
    Objective *o = g->objectives.data[i];
    if (o->kind == OBJ_REG)
      rg[info->n_regs++] = (MtlRegInfo){o->name};
  }
  info->regs = rg;

  int nb = 0;
  for (int s = 0; s < m->splits.len; s++)
    nb += ((DataSplit *)m->splits.data[s])->binds.len;
  MtlBinding *bd = NEWN(MtlBinding, nb);
  nb = 0;
  for (int s = 0; s < m->splits.len; s++) {
    DataSplit *sp = m->splits.data[s];
    for (int i = 0; i < sp->binds.len; i++) {
      DataBind *db = sp->binds.data[i];
      int64_t *cols = NULL;
      if (db->csv_columns.len) {
        cols = NEWN(int64_t, db->csv_columns.len);
        for (int k = 0; k < db->csv_columns.len; k++)
          cols[k] = (int64_t)((Value *)db->csv_columns.data[k])->num;
      }
      float *mean = NULL, *std = NULL;
      if (db->normalize == NORM_GIVEN) {
        mean = NEWN(float, db->n_norm), std = NEWN(float, db->n_norm);
        for (int k = 0; k < db->n_norm; k++)
          mean[k] = (float)db->mean[k], std[k] = (float)db->std[k];
      }
      bd[nb++] = (MtlBinding){sp->split, db->decl->name, db->path, (MtlNormKind)db->normalize,
                              mean, std, db->normalize == NORM_GIVEN ? db->n_norm : 0,
                              db->csv_column, cols, db->csv_columns.len, db->delimiter,
                              (MtlTextKind)db->text, db->length,
                              db->vocab ? db->vocab : "", db->lowercase};
    }
  }
  info->n_bindings = nb;
  info->bindings = bd;

  TrainOpts *tr = &m->train;
  static const MtlOptKind opt[] = {MTL_OPT_SGD, MTL_OPT_ADAM, MTL_OPT_ADAMW, MTL_OPT_RMSPROP};
  static const MtlSchedKind sched[] = {MTL_SCHED_CONSTANT, MTL_SCHED_STEP, MTL_SCHED_COSINE};
  info->optimizer = opt[tr->opt.kind];
  info->lr = tr->opt.lr;
  bool adam = tr->opt.kind == OPT_ADAM || tr->opt.kind == OPT_ADAMW;
  info->beta1 = adam ? tr->opt.beta1 : 0.9;
  info->beta2 = adam ? tr->opt.beta2 : 0.999;
  info->schedule = sched[tr->sched];
  info->step_every = tr->step_every;
  info->step_gamma = tr->step_gamma;
  info->warmup = tr->warmup;
  info->patience = tr->patience;
  info->min_delta = tr->min_delta;
  info->monitor_task = tr->monitor_task;
  static const int metric_bit[] = {MTL_METRIC_ACCURACY, MTL_METRIC_MSE, MTL_METRIC_MAE};
  info->monitor_metric = tr->monitor_metric >= 0 ? metric_bit[tr->monitor_metric] : 0;
  info->batch = tr->batch;
  info->epochs = tr->epochs;
  info->seed = (uint64_t)tr->seed;

  Balance *bal = &m->balance;
  info->balance = bal->kind;
  info->n_balance_args = bal->narg;
  double *args = NEWN(double, bal->narg);
  for (int i = 0; i < bal->narg; i++)
    args[i] = bal->arg[i];
  info->balance_args = args;
  info->balance_param = -1;
  for (int i = 0; i < u->params.len; i++)
    if (((Node *)u->params.data[i])->share == SHARE_BALANCE)
      info->balance_param = i;
  info->n_bal = u->n_bal;
  int T = m->tasks.len, ng = u->gram_in.len;
  MtlGramInput *gi = NEWN(MtlGramInput, ng + 1);
  for (int i = 0; i < ng; i++) {
    const Buf *b = u->gram_in.data[i];
    gi[i] = (MtlGramInput){i % T, u->train->offset[b->id], b->size};
  }
  info->n_gram_inputs = ng;
  info->gram_inputs = gi;
  return info;
}
