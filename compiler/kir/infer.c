/* kir/infer.c: the inference-only program of a model, for deployment
 * (`mtlc emit-c --infer`, `emit-llvm --infer`). It is a new program over
 * the evaluation graph (no dropout, running statistics), rewritten for
 * inference before it becomes kernels:
 *   - a batchnorm whose input is a convolution (with or without its bias)
 *     read by nothing else is folded into it: the convolution's weight
 *     scaled per filter, a bias that absorbs mean, variance and shift;
 *     any other batchnorm keeps its running statistics, as weights;
 *   - a dense layer's weight W[U, D] is stored transposed, so that its
 *     GEMM is x[B, D] W^T[D, U] and streams rows;
 *   - each selected class task gets its probabilities (softmax) and class
 *     (argmax) as outputs beside its logits; a binary task its sigmoid and
 *     0/1; a real task its values; unselected tasks lose their outputs,
 *     and dead-code elimination drops their heads and whatever only they
 *     needed.
 * The batch is a constant and GEMMs are generated loop nests (kir/gemm.c),
 * so every kernel is specialized to its shapes; the plan puts every
 * activation in one workspace. The weights' layout (which tensors, where)
 * and where each comes from are kept here; infer_fill_weights computes
 * them from a trained model's tensors. Rendering is back/'s. */
#include "ops/ops.h"

#include <string.h>

#define ALIGN 16 /* floats: 64 bytes */

const char *const infer_exports[] = {"predict", "weights", NULL};

static int64_t round_up(int64_t x) { return (x + ALIGN - 1) / ALIGN * ALIGN; }

typedef struct {
  Arena *a;
  Graph *g;
  Vec made; /* InferWeight*: the weights the rewrites made, by name */
} Rewrite;

static void replace_uses(Graph *g, Node *old, Node *with) {
  for (int i = 0; i < g->nodes.len; i++) {
    Node *x = g->nodes.data[i];
    for (int k = 0; k < x->nin; k++)
      if (x->in[k] == old)
        x->in[k] = with;
  }
  for (int t = 0; t < g->outputs.len; t++)
    if (g->outputs.data[t] == old)
      g->outputs.data[t] = with;
}

static int *reader_counts(Graph *g) {
  int *n = arena_alloc(g->a, sizeof(int) * (size_t)(g->nodes.len + 1));
  for (int i = 0; i < g->nodes.len; i++) {
    Node *x = g->nodes.data[i];
    for (int k = 0; k < x->nin; k++)
      n[x->in[k]->id]++;
  }
  for (int t = 0; t < g->outputs.len; t++)
    n[((Node *)g->outputs.data[t])->id]++;
  return n;
}

/* a new parameter leaf for a weight the rewrites make, once per name */
static Node *new_weight(Rewrite *r, const Node *like, const char *name, Shape sh,
                        InferWeight *w) {
  for (int i = 0; i < r->g->params.len; i++) {
    Node *p = r->g->params.data[i];
    if (!strcmp(p->name, name))
      return p;
  }
  Node *p = ir_leaf(r->g, OP_PARAM, false, sh, name);
  p->where = like->where;
  p->span = like->span;
  p->task = like->task;
  p->share = like->share;
  vec_push(r->a, &r->g->params, p);
  w->name = name;
  w->shape = sh;
  vec_push(r->a, &r->made, w);
  return p;
}

static InferWeight *weight(Rewrite *r) { return arena_alloc(r->a, sizeof(InferWeight)); }

/* conv [+ bias] -> batchnorm  =>  conv(W') + bias(b') */
static void fold_batchnorm(Rewrite *r, Node *bn, int *readers) {
  Node *x = bn->in[0], *conv = x, *bias = NULL;
  if (x->op == OP_BIAS && x->in[0]->op == OP_CONV2D)
    bias = x, conv = x->in[0];
  if (conv->op != OP_CONV2D || readers[conv->id] != 1 || (bias && readers[bias->id] != 1) ||
      bn->a[1] != 1 || bn->a[3] != conv->shape.d[1] * conv->shape.d[2])
    return; /* not [F, H, W] channels of a conv's own output */
  Node *w = conv->in[1], *mean = bn->in[1], *var = bn->in[2], *gamma = bn->in[3],
       *beta = bn->in[4];
  InferWeight *fw = weight(r), *fb = weight(r);
  *fw = (InferWeight){.kind = IW_FOLD_WEIGHT, .src = w->name, .gamma = gamma->name,
                      .beta = beta->name, .mean = mean->name, .var = var->name,
                      .eps = bn->f[0]};
  *fb = *fw;
  fb->kind = IW_FOLD_BIAS;
  fb->src = bias ? bias->in[1]->name : NULL;
  conv->in[1] = new_weight(r, w, arena_printf(r->a, "%s.folded", w->name), w->shape, fw);
  Node *b = new_weight(r, gamma, arena_printf(r->a, "%s.folded_bias", bn->where ? bn->where : "bn"),
                       gamma->shape, fb);
  if (bias) {
    bias->in[1] = b;
    replace_uses(r->g, bn, bias);
  } else { /* the batchnorm node becomes the bias */
    bn->op = OP_BIAS;
    bn->nin = 2;
    bn->in[0] = conv, bn->in[1] = b;
  }
}

/* matmul(x, W[U, D])  =>  matmul_nn(x, W^T[D, U]) */
static void transpose_dense(Rewrite *r, Node *mm) {
  Node *w = mm->in[1];
  if (w->op != OP_PARAM)
    return;
  InferWeight *t = weight(r);
  *t = (InferWeight){.kind = IW_TRANSPOSE, .src = w->name};
  mm->op = OP_MATMUL_NN;
  mm->in[1] = new_weight(r, w, arena_printf(r->a, "%s.T", w->name),
                         shp(2, w->shape.d[1], w->shape.d[0], 0, 0), t);
}

static void rewrite(Rewrite *r) {
  Graph *g = r->g;
  int n = g->nodes.len;
  for (int i = 0; i < n; i++) {
    Node *x = g->nodes.data[i];
    if (x->op == OP_BN_APPLY && !x->a[0])
      fold_batchnorm(r, x, reader_counts(g));
  }
  for (int i = 0; i < n; i++) {
    Node *x = g->nodes.data[i];
    if (x->op == OP_MATMUL)
      transpose_dense(r, x);
  }
}

/* ---- outputs ------------------------------------------------------------------------ */

typedef struct {
  Node *node;
  InferOutput *out;
} OutNode;

static void add_output(Infer *inf, Vec *nodes, Node *x, int task, InferOutKind kind,
                       const char *suffix) {
  Arena *a = inf->u->a;
  Task *t = inf->u->m->tasks.data[task];
  InferOutput *o = arena_alloc(a, sizeof *o);
  *o = (InferOutput){task, kind, arena_printf(a, "%s_%s", t->name, suffix),
                     kind == IO_CLASS ? DT_I32 : DT_F32,
                     kind == IO_CLASS ? 1 : shape_numel(x->shape), inf->out_bytes};
  inf->out_bytes += 4 * o->width * inf->batch;
  vec_push(a, &inf->outputs, o);
  OutNode *on = arena_alloc(a, sizeof *on);
  *on = (OutNode){x, o};
  vec_push(a, nodes, on);
}

/* each selected task's outputs, as nodes after its logits */
static void outputs(Infer *inf, Graph *g, const bool *tasks, Vec *nodes) {
  Model *m = inf->u->m;
  for (int t = 0; t < m->tasks.len; t++) {
    if (tasks && !tasks[t])
      continue;
    Task *task = m->tasks.data[t];
    Node *y = g->outputs.data[t];
    g->cur_where = y->where, g->cur_span = y->span;
    if (task->label == LBL_REAL) {
      add_output(inf, nodes, y, t, IO_VALUES, "values");
      continue;
    }
    bool bin = task->label == LBL_BINARY;
    add_output(inf, nodes, y, t, IO_LOGITS, bin ? "logit" : "logits");
    Node *p = bin ? act_node(g, L_SIGMOID, 0, y) : ir_unary(g, OP_SOFTMAX, y);
    add_output(inf, nodes, p, t, IO_PROBS, bin ? "prob" : "probs");
    add_output(inf, nodes, ir_unary(g, OP_ARGMAX, y), t, IO_CLASS, "class");
  }
}

/* The program's buffers for the outputs: what each output node's call
 * writes becomes that output; a task's logits buffer (BUF_OUT, index the
 * task) is renumbered, or, for a task not kept, an ordinary activation. */
static void bind_outputs(Program *p, Vec *nodes) {
  for (int i = 0; i < p->calls.len; i++) {
    KCall *c = p->calls.data[i];
    for (int j = 0; j < c->k->nparams; j++) {
      Buf *b = c->args[j];
      if (b->kind != BUF_OUT || b->index < 0)
        continue;
      int task = b->index;
      b->kind = BUF_ACT;
      for (int k = 0; k < nodes->len; k++) {
        OutNode *on = nodes->data[k];
        if (on->out->task == task && (on->out->kind == IO_LOGITS || on->out->kind == IO_VALUES)) {
          b->kind = BUF_OUT;
          b->index = -1 - k; /* renumbered below */
        }
      }
    }
    for (int k = 0; k < nodes->len; k++) {
      OutNode *on = nodes->data[k];
      if (c->node != on->node || on->out->kind == IO_LOGITS || on->out->kind == IO_VALUES)
        continue;
      for (int j = 0; j < c->k->nparams; j++)
        if (c->k->params[j].written) {
          c->args[j]->kind = BUF_OUT;
          c->args[j]->index = -1 - k;
        }
    }
  }
  for (int i = 0; i < p->calls.len; i++) {
    KCall *c = p->calls.data[i];
    for (int j = 0; j < c->k->nparams; j++)
      if (c->args[j]->kind == BUF_OUT && c->args[j]->index < 0)
        c->args[j]->index = -1 - c->args[j]->index;
  }
}

/* ---- inputs and weights -------------------------------------------------------------- */

static const DataBind *norm_of(Model *m, const char *input) {
  const DataBind *found = NULL;
  for (int s = 0; s < m->splits.len; s++) {
    DataSplit *sp = m->splits.data[s];
    for (int i = 0; i < sp->binds.len; i++) {
      DataBind *db = sp->binds.data[i];
      if (db->input && !strcmp(db->decl->name, input) && db->normalize &&
          (!found || !strcmp(sp->split, "test")))
        found = db;
    }
  }
  return found;
}

static void inputs(Infer *inf, Graph *g) {
  Arena *a = inf->u->a;
  for (int i = 0; i < g->inputs.len; i++) {
    Node *x = g->inputs.data[i];
    InferInput *in = arena_alloc(a, sizeof *in);
    *in = (InferInput){x, x->name, x->dtype, shape_numel(x->shape), inf->in_bytes,
                       norm_of(inf->u->m, x->name), NULL, NULL, 0};
    inf->in_bytes += 4 * in->width * inf->batch;
    vec_push(a, &inf->inputs, in);
  }
}

static bool used(const Program *p, const Buf *b) {
  for (int i = 0; i < p->calls.len; i++) {
    const KCall *c = p->calls.data[i];
    for (int j = 0; j < c->k->nparams; j++)
      if (c->args[j] == b)
        return true;
  }
  return false;
}

/* the weights the live calls read, parameters then statistics, packed */
static void lay_out_weights(Infer *inf, Vec *made) {
  Unit *u = inf->u;
  for (int pass = 0; pass < 2; pass++) {
    Vec *nodes = pass ? &u->stats : &u->params, *bufs = pass ? &u->stat_bufs : &u->param_bufs;
    for (int i = 0; i < nodes->len; i++) {
      Node *x = nodes->data[i];
      Buf *b = bufs->data[i];
      if (!used(inf->p, b))
        continue;
      InferWeight *w = NULL;
      for (int k = 0; k < made->len && !w; k++)
        if (!strcmp(((InferWeight *)made->data[k])->name, x->name))
          w = made->data[k];
      if (!w) {
        w = arena_alloc(u->a, sizeof *w);
        *w = (InferWeight){.name = x->name, .shape = x->shape, .kind = IW_COPY, .src = x->name};
      }
      w->offset = b->offset = inf->n_weights;
      w->buf = b;
      inf->n_weights += round_up(shape_numel(x->shape));
      vec_push(u->a, &inf->weights, w);
    }
  }
}

const InferWeight *infer_weight_of(const Infer *inf, const Buf *b) {
  for (int i = 0; i < inf->weights.len; i++)
    if (((InferWeight *)inf->weights.data[i])->buf == b)
      return inf->weights.data[i];
  return NULL;
}

/* FNV-1a, 64 bits */
static uint64_t fnv(uint64_t h, const char *s) {
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
  return h;
}

static uint64_t layout_hash(const Infer *inf) {
  char buf[64];
  snprintf(buf, sizeof buf, "%016llx\n", (unsigned long long)inf->model_hash);
  uint64_t h = fnv(0xcbf29ce484222325ull, buf);
  for (int i = 0; i < inf->weights.len; i++) {
    const InferWeight *w = inf->weights.data[i];
    char sh[96];
    shape_text(sh, sizeof sh, w->shape);
    snprintf(buf, sizeof buf, " %d %lld\n", (int)w->kind, (long long)w->offset);
    h = fnv(fnv(fnv(h, w->name), sh), buf);
  }
  return h;
}

Infer *build_infer(Arena *a, Model *m, int64_t batch, const bool *tasks, uint64_t model_hash) {
  Infer *inf = arena_alloc(a, sizeof *inf);
  Unit *u = inf->u = arena_alloc(a, sizeof(Unit));
  u->m = m, u->a = a;
  u->batch_max = u->fixed_batch = inf->batch = batch;
  u->gen_gemm = true;
  inf->model_hash = model_hash;
  Graph *g = lower(a, m, false);
  Rewrite r = {a, g, {0}};
  rewrite(&r);
  Vec onodes = {0};
  outputs(inf, g, tasks, &onodes);
  inputs(inf, g);
  kir_layout(u, g);
  Program *p = inf->p = u->forward = kir_program(u, PROG_FORWARD, "predict", g);
  bind_outputs(p, &onodes);
  kir_dce(p, 1u << BUF_OUT);
  kir_plan(u, p);
  kir_finish(u);
  /* the workspace and the weights are the caller's: no alignment beyond a float's */
  for (int i = 0; i < u->kernels.len; i++) {
    Kernel *k = u->kernels.data[i];
    for (int j = 0; j < k->nparams; j++)
      k->params[j].group = false;
  }
  lay_out_weights(inf, &r.made);
  inf->workspace_bytes = 4 * (p->act_size > 16 ? p->act_size : 16);
  u->n_act = p->act_size;
  inf->weights_hash = layout_hash(inf);
  return inf;
}

/* ---- the weights' values ------------------------------------------------------------- */

static bool fill_one(const InferWeight *w, InferLookup *lookup, void *ctx, float *out) {
  int64_t n = shape_numel(w->shape);
  const float *src = w->src ? lookup(ctx, w->src) : NULL;
  if (w->src && !src)
    return false;
  switch (w->kind) {
  case IW_COPY: memcpy(out, src, sizeof(float) * (size_t)n); return true;
  case IW_TRANSPOSE: { /* out[d, u] = src[u, d] */
    int64_t D = w->shape.d[0], U = w->shape.d[1];
    for (int64_t d = 0; d < D; d++)
      for (int64_t k = 0; k < U; k++)
        out[d * U + k] = src[k * D + d];
    return true;
  }
  case IW_FOLD_WEIGHT: case IW_FOLD_BIAS: break;
  }
  const float *gamma = lookup(ctx, w->gamma), *beta = lookup(ctx, w->beta),
              *mean = lookup(ctx, w->mean), *var = lookup(ctx, w->var);
  if (!gamma || !beta || !mean || !var)
    return false;
  int64_t F = w->shape.d[0], per = n / F;
  for (int64_t f = 0; f < F; f++) {
    double scale = (double)gamma[f] / sqrt((double)var[f] + w->eps);
    if (w->kind == IW_FOLD_WEIGHT) /* W'[f, ...] = W[f, ...] gamma / sqrt(var + eps) */
      for (int64_t k = 0; k < per; k++)
        out[f * per + k] = (float)((double)src[f * per + k] * scale);
    else /* b'[f] = (b[f] - mean[f]) gamma / sqrt(var + eps) + beta[f] */
      out[f] = (float)(((src ? (double)src[f] : 0) - (double)mean[f]) * scale + (double)beta[f]);
  }
  return true;
}

bool infer_fill_weights(const Infer *inf, InferLookup *lookup, void *ctx, float *out) {
  memset(out, 0, sizeof(float) * (size_t)inf->n_weights);
  for (int i = 0; i < inf->weights.len; i++) {
    const InferWeight *w = inf->weights.data[i];
    if (!fill_one(w, lookup, ctx, out + w->offset))
      return false;
  }
  return true;
}
