/* graph/interp.c: the reference interpreter. Runs the graph IR in double
 * precision with the simplest kernels that are obviously right: one
 * interp_NAME per op, beside the op's other rules in its family's file
 * (ops/FAMILY.c), plain loops, no blocking, no BLAS. It is the oracle that
 * gradient checks and both back ends are measured against; it is not meant
 * to be fast. Also the seeded initialization that the checks use, the
 * runtime's own. */
#include "graph/graph.h"

#include <math.h>
#include <string.h>

typedef void InterpFn(Interp *I, Node *n, double *out, double **x);
extern InterpFn *const interp_rule[NUM_OPS];

/* ---- running ------------------------------------------------------------------- */

Interp *interp_new(Graph *g, int64_t batch) {
  Interp *I = xcalloc(1, sizeof(Interp));
  I->g = g;
  I->batch = batch;
  I->lr = g->m->train.opt.lr;
  I->hyper[MTL_HYPER_LR] = I->lr;
  for (int t = 0; t < g->m->tasks.len && t < 64; t++)
    I->hyper[MTL_HYPER_TASKS + t] = ((Task *)g->m->tasks.data[t])->weight;
  I->val = xcalloc((size_t)g->nodes.len, sizeof(double *));
  for (int i = 0; i < g->nodes.len; i++) {
    Node *n = g->nodes.data[i];
    /* effects write into their first input; they own no buffer */
    if (op_info[n->op].kind == OPK_U)
      continue;
    I->val[i] = xcalloc((size_t)node_numel(n, I->batch) + 1, sizeof(double));
  }
  return I;
}

void interp_free(Interp *I) {
  if (!I)
    return;
  for (int i = 0; i < I->g->nodes.len; i++)
    free(I->val[i]);
  free(I->val);
  free(I);
}

/* A group of tensors (parameters or statistics) through the runtime's
 * initialization, the one generated code calls: float values, in order,
 * from one seeded stream. */
static void init_group(Interp *I, Vec *nodes, uint64_t seed) {
  int64_t total = 0;
  MtlTensor *t = xcalloc((size_t)nodes->len + 1, sizeof *t);
  for (int i = 0; i < nodes->len; i++) {
    Node *p = nodes->data[i];
    t[i] = (MtlTensor){.name = p->name, .offset = total, .numel = shape_numel(p->shape),
                       .rank = p->shape.rank, .init = (MtlInit)p->init,
                       .init_arg = p->init_arg};
    memcpy(t[i].shape, p->shape.d, sizeof t[i].shape);
    total += t[i].numel;
  }
  float *f = xcalloc((size_t)total + 1, sizeof *f);
  mtl_init_tensors(t, nodes->len, f, seed);
  for (int i = 0; i < nodes->len; i++) {
    Node *p = nodes->data[i];
    for (int64_t k = 0; k < t[i].numel; k++)
      I->val[p->id][k] = f[t[i].offset + k];
  }
  free(f);
  free(t);
}

/* Parameters and running statistics as generated code's init makes them;
 * optimizer state starts at zero. */
void interp_init_params(Interp *I, uint64_t seed) {
  init_group(I, &I->g->params, seed);
  init_group(I, &I->g->stats, seed);
  for (int i = 0; i < I->g->states.len; i++) {
    Node *s = I->g->states.data[i];
    memset(I->val[s->id], 0, sizeof(double) * (size_t)node_numel(s, I->batch));
  }
  I->step = 0;
}

/* Inputs N(0, 1), ids uniform in [0, vocab); labels valid for their task:
 * classes uniform, binary 0 or 1, reals N(0, 1). */
void interp_random_batch(Interp *I, uint64_t seed) {
  Rng r;
  rng_seed(&r, seed);
  for (int i = 0; i < I->g->inputs.len; i++) {
    Node *n = I->g->inputs.data[i];
    uint64_t vocab = n->a[0] > 0 ? (uint64_t)n->a[0] : 1;
    for (int64_t k = 0, e = node_numel(n, I->batch); k < e; k++)
      I->val[n->id][k] = n->dtype == DT_I32 ? (double)(rng_next(&r) % vocab) : rng_normal(&r);
  }
  for (int i = 0; i < I->g->labels.len; i++) {
    Node *n = I->g->labels.data[i];
    Task *t = I->g->m->tasks.data[n->task];
    for (int64_t k = 0, e = node_numel(n, I->batch); k < e; k++)
      I->val[n->id][k] = t->label == LBL_REAL ? rng_normal(&r)
                         : (double)(rng_next(&r) % (uint64_t)(t->label == LBL_BINARY ? 2 : t->label_n));
  }
}

void interp_run(Interp *I, int from, int to) {
  double *x0[8], **x = x0;
  int cap = 8;
  for (int i = from; i < to; i++) {
    Node *n = I->g->nodes.data[i];
    if (n->nin > cap) {
      cap = n->nin;
      x = x == x0 ? xcalloc((size_t)cap, sizeof *x) : realloc(x, sizeof *x * (size_t)cap);
      MTLC_ASSERT(x);
    }
    for (int k = 0; k < n->nin; k++)
      x[k] = I->val[n->in[k]->id];
    interp_rule[n->op](I, n, I->val[i], x);
  }
  if (x != x0)
    free(x);
}

void interp_forward(Interp *I) { interp_run(I, 0, I->g->nforward); }

/* One training step; Adam's bias corrections from the step count, the rest
 * of hyper[] as the caller set it. */
void interp_step(Interp *I) {
  I->step++;
  Optimizer *o = &I->g->m->train.opt;
  I->hyper[MTL_HYPER_LR] = I->lr;
  I->hyper[MTL_HYPER_C1] = 1 - pow(o->beta1, (double)I->step);
  I->hyper[MTL_HYPER_C2] = 1 - pow(o->beta2, (double)I->step);
  interp_run(I, 0, I->g->nodes.len);
}

double interp_scalar(Interp *I, Node *n) { return I->val[n->id][0]; }
