/* check/nets.c: layers, blocks and nets. A chain of calls becomes layers
 * (their arguments bound by the layer table's signatures, a residual's body
 * a chain of its own); a block's layers are shaped at its first use and
 * every later use must give it the same input; each task's net becomes
 * values of the model's dataflow graph (NetVal), with a shared block (or
 * an experts block's shared experts) applied to one value once, however
 * many tasks apply it: the pair (block, value) is the key, looked up here
 * and nowhere else. The layers' own shape rules are their families'
 * (ops/FAMILY.c); experts blocks' fields, gates and gated sums and the
 * stitches' lock step are check/sharing.c's. */
#include "check/sema.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

/* ---- layers ----------------------------------------------------------------- */

/* Layer names from PyTorch and Keras, and what mtl writes instead. */
static const char *const layer_aliases[][2] = {
    {"linear", "dense"},            {"fc", "dense"},
    {"conv", "conv2d"},             {"convolution2d", "conv2d"},
    {"maxpool2d", "maxpool"},       {"max_pool2d", "maxpool"},
    {"maxpooling2d", "maxpool"},    {"avgpool2d", "avgpool"},
    {"avg_pool2d", "avgpool"},      {"averagepooling2d", "avgpool"},
    {"reshape", "flatten"},         {"view", "flatten"},
    {"batchnorm2d", "batchnorm"},   {"batchnorm1d", "batchnorm"},
    {"batch_norm", "batchnorm"},    {"batchnormalization", "batchnorm"},
    {"layer_norm", "layernorm"},    {"layernormalization", "layernorm"},
    {"leakyrelu", "leaky_relu"},    {"globalaveragepooling2d", "global_avgpool"},
    {"adaptiveavgpool2d", "global_avgpool"}, {"globalmaxpooling2d", "global_maxpool"},
    {"adaptivemaxpool2d", "global_maxpool"}, {"skip", "residual"},
    {"embed", "embedding"},
    {"globalaveragepooling1d", "global_avgpool"}, {"adaptiveavgpool1d", "global_avgpool"},
    {"globalmaxpooling1d", "global_maxpool"}, {"adaptivemaxpool1d", "global_maxpool"},
};

/* An unknown name in a chain: a layer (cands NULL) or, in a net, a layer
 * or block (cands: block and layer names). */
static void unknown_layer(Sema *s, Call *c, const char **cands, int n) {
  const char *what = cands ? "layer or block" : "layer";
  for (size_t i = 0; i < sizeof layer_aliases / sizeof layer_aliases[0]; i++)
    if (!strcasecmp(c->name, layer_aliases[i][0])) {
      ERR(c->name_span, "unknown %s '%s'; mtl calls it '%s'", what, c->name,
          layer_aliases[i][1]);
      return;
    }
  if (!strcasecmp(c->name, "log_softmax") || !strcasecmp(c->name, "logsoftmax")) {
    ERR(c->name_span, "%s is not a layer in mtl: a net ends with the head's "
        "raw scores and cross_entropy applies log-softmax itself; remove it",
        c->name);
    return;
  }
  const char *layer_names[NUM_LAYERS];
  for (int i = 0; i < NUM_LAYERS; i++)
    layer_names[i] = layer_rules[i].name;
  const char *hint = cands ? suggest(c->name, cands, n)
                           : suggest(c->name, layer_names, NUM_LAYERS);
  if (hint)
    ERR(c->name_span, "unknown %s '%s'; did you mean '%s'?", what, c->name, hint);
  else
    ERR(c->name_span, "unknown %s '%s' (%s)", what, c->name, layer_list(s));
}

static Layer *new_layer(Sema *s, Call *c, LayerKind k, const char *prefix, int *count);

/* The layers of a chain of calls; paths numbered per kind within the chain
 * (count[kind]) under prefix ("" or "residual1."). False when a call is
 * not a layer (reported) or a layer has errors. `block` names the block
 * the chain is in, for "blocks cannot nest". */
static bool chain_layers(Sema *s, Vec *calls, Vec *out, const char *prefix, int *count,
                         Block *block) {
  bool ok = true;
  for (int j = 0; j < calls->len; j++) {
    Call *c = calls->data[j];
    int k = find_layer(c->name);
    if (k >= 0) {
      Layer *l = new_layer(s, c, (LayerKind)k, prefix, count);
      if (l)
        vec_push(s->a, out, l);
      ok &= l != NULL;
      continue;
    }
    ok = false;
    if (find_input(s->m, c->name))
      ERR(c->name_span, "'%s' is an input; a chain in braces may start at an input "
          "only in concat, and only with its first name: 'concat { %s -> ... }'",
          c->name, c->name);
    else if (find_block(s->m, c->name))
      ERR(c->name_span, block ? "block '%s' cannot use block '%s'; name both in "
          "the task's net instead" : "a residual's chain cannot use block '%s%s'; "
          "write its layers in the residual, or name the block in the net",
          block ? block->name : "", c->name);
    else
      unknown_layer(s, c, NULL, 0);
  }
  return ok;
}

/* A layer's arguments; shapes come later, when its input is known. */
static Layer *new_layer(Sema *s, Call *c, LayerKind k, const char *prefix, int *count) {
  const LayerRule *r = &layer_rules[k];
  if (c->braces && !(r->flags & LF_BODY)) {
    ERR(c->span, "%s takes no { ... }; a chain in braces belongs to residual or concat",
        c->name);
    return NULL;
  }
  if (!c->braces && (r->flags & LF_BODY)) {
    ERR(c->span, "%s needs a chain in braces, like %s { conv2d(32, kernel=3, "
        "pad=1) relu }", c->name, c->name);
    return NULL;
  }
  Value *v[MAX_ARGS] = {0};
  if (!bind_args(s, c, r->sig, v))
    return NULL;
  Layer *l = NEW(Layer);
  l->kind = k;
  l->call = c;
  l->bias = true;
  l->path = arena_printf(s->a, "%s%s%d", prefix, r->name, ++count[k]);
  if (!r->args(s, l, v))
    return NULL;
  if (r->flags & LF_BODY) {
    int inner[NUM_LAYERS] = {0};
    Vec body = c->body;
    Call *first = body.len ? body.data[0] : NULL;
    if (k == L_CONCAT && first && !first->parens && !first->braces &&
        (l->from = find_input(s->m, first->name))) { /* concat { ids -> ... } */
      l->from->used = true;
      body = (Vec){body.data + 1, body.len - 1, body.len - 1};
    }
    if (!chain_layers(s, &body, &l->body, arena_printf(s->a, "%s.", l->path), inner, NULL))
      return NULL;
  }
  return l;
}

static NetVal *input_val(Sema *s, Input *in);

/* The join of a residual (x + chain(x): one shape) or a concat ([x,
 * chain(x)] or [x, chain(input)] along the last dimension: the others
 * agree). */
static bool join_shape(Sema *s, Layer *l, Shape in, Shape out, DType out_dt) {
  Call *c = l->call;
  if (l->kind == L_RESIDUAL) {
    if (!shape_eq(out, in)) {
      ERR(c->span, "%s adds its chain's output to its input, but the chain "
          "turns %s into %s; the chain must keep its input's shape", c->name,
          shape_str(s->a, in), shape_str(s->a, out));
      return false;
    }
    l->out = in;
    l->flops = sat_add(l->flops, shape_numel(in)); /* the addition */
    return true;
  }
  bool fit = in.rank == out.rank && in.rank > 0;
  for (int i = 0; fit && i < in.rank - 1; i++)
    fit = in.d[i] == out.d[i];
  if (out_dt != DT_F32) {
    ERR(c->span, "%s joins f32 values, but input '%s' holds i32 ids; start its "
        "chain with an embedding, like 'concat { %s -> embedding(VOCAB, DIM) flatten }'",
        c->name, l->from->name, l->from->name);
    return false;
  }
  if (!fit) {
    ERR(c->span, "%s joins its input %s and its chain's output %s along the "
        "last dimension, so the other dimensions must agree%s", c->name,
        shape_str(s->a, in), shape_str(s->a, out),
        in.rank != out.rank ? "; flatten both to vectors first" : "");
    return false;
  }
  l->out = in;
  l->out.d[in.rank - 1] += out.d[in.rank - 1];
  return !layer_too_big(s, c, l->out);
}

/* A layer with a body: its chain from its input (or a concat's from its
 * own input), then the join. */
static bool shape_body(Sema *s, Layer *l, Shape in, DType dt) {
  bool at_input = s->at_input;
  Shape start = l->from ? l->from->shape : in, out;
  DType sdt = l->from ? l->from->dtype : dt;
  if (l->from)
    s->at_input = true;
  if (!shape_chain(s, &l->body, start, sdt, &out))
    return false;
  s->at_input = at_input;
  for (int i = 0; i < l->body.len; i++) {
    Layer *b = l->body.data[i];
    l->params = sat_add(l->params, b->params);
    l->flops = sat_add(l->flops, b->flops);
  }
  return join_shape(s, l, in, out, l->body.len ? DT_F32 : sdt);
}

/* Output shape, parameters and FLOPs of l on input `in` (a multiply-add
 * counts 2; activations, dropout and each pooling window element count 1). */
static bool shape_layer(Sema *s, Layer *l, Shape in, DType dt) {
  Call *c = l->call;
  l->in = in;
  l->in_dtype = dt;
  bool ids = layer_rules[l->kind].flags & LF_IDS;
  if (dt == DT_I32 && !ids) {
    ERR(c->span, "%s needs f32 values, but here it gets i32 ids; an embedding "
        "turns ids into values: put embedding(VOCAB, DIM) before it", c->name);
    return false;
  }
  if (dt != DT_I32 && ids) {
    if (s->at_input)
      ERR(c->span, "%s needs i32 ids, but here it gets %s values; declare the "
          "input as ids, like 'input tokens: i32[%lld]'", c->name, dtype_name(dt),
          (long long)(in.rank == 1 ? in.d[0] : 16));
    else
      ERR(c->span, "%s needs i32 ids, but here it gets the f32 values of the "
          "layer before it; ids come from an i32 input, so %s comes first in "
          "a net", c->name, c->name);
    return false;
  }
  if (layer_rules[l->kind].flags & LF_BODY)
    return shape_body(s, l, in, dt);
  if (!layer_rules[l->kind].shape(s, l, in))
    return false;
  return !layer_too_big(s, c, l->out);
}

bool shape_chain(Sema *s, Vec *layers, Shape in, DType dt, Shape *out) {
  bool at_input = s->at_input;
  for (int i = 0; i < layers->len; i++) {
    Layer *l = layers->data[i];
    s->at_input = at_input && i == 0;
    if (!shape_layer(s, l, in, dt))
      return false;
    in = l->out;
    dt = DT_F32; /* every layer gives f32 values */
  }
  *out = in;
  return true;
}

/* ---- values ------------------------------------------------------------------ */

NetVal *new_val(Sema *s, NetValKind kind, Layer *l, Block *b, Task *copy, NetVal *x) {
  NetVal *v = NEW(NetVal);
  v->id = s->m->vals.len;
  v->kind = kind;
  v->layer = l;
  v->block = b;
  v->copy = copy;
  v->dtype = DT_F32;
  if (x)
    vec_push(s->a, &v->in, x);
  if (l) {
    v->shape = l->out;
    v->flops = kind == NV_ADD ? shape_numel(l->out) : kind == NV_CONCAT ? 0 : l->flops;
  }
  vec_push(s->a, &s->m->vals, v);
  return v;
}

static NetVal *input_val(Sema *s, Input *in) {
  for (int i = 0; i < s->m->vals.len; i++) {
    NetVal *v = s->m->vals.data[i];
    if (v->kind == NV_INPUT && v->input == in)
      return v;
  }
  NetVal *v = new_val(s, NV_INPUT, NULL, NULL, NULL, NULL);
  v->input = in;
  v->shape = in->shape;
  v->dtype = in->dtype;
  return v;
}

/* The values of a shaped chain applied to x, with b's (or a task's own)
 * parameters of copy and expert: one per layer, and a residual's or a
 * concat's join. A stitch's value takes the other copies' values when every
 * net is known (check/sharing.c). */
NetVal *chain_vals(Sema *s, Vec *layers, NetVal *x, Block *b, Task *copy, int expert) {
  for (int i = 0; i < layers->len; i++) {
    Layer *l = layers->data[i];
    int flags = layer_rules[l->kind].flags;
    if (flags & LF_BODY) {
      NetVal *y = chain_vals(s, &l->body, l->from ? input_val(s, l->from) : x, b, copy, expert);
      NetVal *join = new_val(s, l->kind == L_RESIDUAL ? NV_ADD : NV_CONCAT, l, b, copy, x);
      vec_push(s->a, &join->in, y);
      x = join;
    } else {
      x = new_val(s, flags & LF_ACROSS_TASKS ? NV_STITCH : NV_LAYER, l, b, copy, x);
    }
    x->expert = expert;
  }
  return x;
}

Applied *applied_to(Sema *s, Block *b, NetVal *x) {
  for (int i = 0; i < s->applied.len; i++) {
    Applied *ap = s->applied.data[i];
    if (ap->block == b && ap->in == x)
      return ap;
  }
  Applied *ap = NEW(Applied);
  ap->block = b;
  ap->in = x;
  vec_push(s->a, &s->applied, ap);
  return ap;
}

/* ---- blocks ------------------------------------------------------------------- */

/* the tasks whose nets name block b, as written (a stitch's matrix is
 * T x T before any net is checked) */
static int copies_named(Sema *s, Block *b) {
  int n = 0;
  for (int i = 0; i < s->spec->tasks.len; i++) {
    TaskDecl *d = s->spec->tasks.data[i];
    bool named = false;
    for (int j = 0; j < d->fields.len; j++) {
      Field *f = d->fields.data[j];
      for (int k = 0; f->kind == F_NET && k < f->chain.len; k++)
        named |= !strcmp(((Call *)f->chain.data[k])->name, b->name);
    }
    n += named;
  }
  return n;
}

void check_blocks(Sema *s) {
  for (int i = 0; i < s->spec->blocks.len; i++) {
    BlockDecl *d = s->spec->blocks.data[i];
    if (find_layer(d->name) >= 0) { /* not registered: uses mean the layer */
      ERR(d->name_span, "'%s' is a layer; a block needs another name", d->name);
      continue;
    }
    declare(s, "block", d->name, d->name_span);
    Block *b = NEW(Block);
    b->decl = d;
    b->name = d->name;
    b->is_private = d->is_private;
    b->is_experts = d->is_experts;
    vec_push(s->a, &s->m->blocks, b);
    map_put(s->a, &s->m->block_at, b->name, b);
  }
  /* layers after all block names are known, to say "blocks cannot nest" */
  for (int i = 0; i < s->m->blocks.len; i++) {
    Block *b = s->m->blocks.data[i];
    int count[NUM_LAYERS] = {0};
    Vec *chain = b->is_experts ? experts_fields(s, b) : &b->decl->chain;
    b->ncopies = copies_named(s, b);
    s->block = b;
    if (!chain || !chain_layers(s, chain, &b->layers, "", count, b))
      b->shaped = true, b->in.rank = 0; /* poisoned: no shape checks */
    s->block = NULL;
  }
}

/* Runs block b on x for task t: the first use fixes its shapes; later uses
 * must give it the same input. *out is the block's value for t: a shared
 * block's value of x is made once. */
static bool apply_block(Sema *s, Task *t, Block *b, Call *use, NetVal *x, NetVal **out) {
  for (int i = 0; i < b->users.len; i++)
    if (b->users.data[i] == t) {
      ERR(use->span, "task '%s' uses block '%s' twice; declare a second block "
          "for the second use%s", t->name, b->name,
          b->is_experts ? " (two experts blocks in a row stack them)" : "");
      return false;
    }
  vec_push(s->a, &b->users, t);
  Shape in = x->shape;
  if (b->shaped) {
    if (b->in.rank == 0)
      return false; /* the block itself has errors */
    if (!shape_eq(b->in, in)) {
      ERR(use->span, "block '%s' gets %s here, but it was built for %s at its "
          "first use; %s", b->name, shape_str(s->a, in), shape_str(s->a, b->in),
          b->is_experts ? "all experts of a block give one output shape, so "
                          "every task feeds them one shape"
          : b->is_private ? "every task's copy of a private block has the same "
                            "shape" : "a shared block's parameters have one shape");
      NOTE(b->first_use, "first used here");
      return false;
    }
    if (b->in_dtype != x->dtype) {
      ERR(use->span, "block '%s' gets %s here, but it was built for %s at its first "
          "use", b->name, x->dtype == DT_I32 ? "i32 ids" : "f32 values",
          b->in_dtype == DT_I32 ? "i32 ids" : "f32 values");
      NOTE(b->first_use, "first used here");
      return false;
    }
  } else {
    b->shaped = true;
    b->first_use = use->span;
    Shape sh;
    s->block = b;
    bool ok = shape_chain(s, &b->layers, in, x->dtype, &sh);
    s->block = NULL;
    if (!ok) {
      NOTE(use->span, "in block '%s' as used by task '%s'", b->name, t->name);
      b->in.rank = 0;
      return false;
    }
    for (int i = 0; i < b->layers.len; i++) {
      Layer *l = b->layers.data[i];
      b->params = sat_add(b->params, l->params);
      b->flops = sat_add(b->flops, l->flops);
    }
    b->in = in;
    b->in_dtype = x->dtype;
    b->out = sh;
    if (b->is_experts && !experts_shaped(s, b, use)) {
      b->in.rank = 0;
      return false;
    }
  }
  if (b->is_experts) {
    *out = experts_vals(s, t, b, x);
    return true;
  }
  if (b->is_private) {
    int first = s->m->vals.len;
    *out = chain_vals(s, &b->layers, x, b, t, 0);
    stitch_uses(s, first, t, x, use);
    return true;
  }
  Applied *ap = applied_to(s, b, x);
  if (!ap->out)
    ap->out = chain_vals(s, &b->layers, x, b, NULL, 0);
  *out = ap->out;
  return true;
}

/* ---- nets ---------------------------------------------------------------------- */

/* net: IDENT "->" chain */
void check_net(Sema *s, Task *t, Field *f) {
  Model *m = s->m;
  t->input = find_input(m, f->input);
  if (!t->input) {
    int n;
    const char **cands = name_list(s, &m->inputs, offsetof(Input, name), &n, false);
    const char *hint = suggest(f->input, cands, n);
    if (find_block(m, f->input) || find_layer(f->input) >= 0)
      ERR(f->input_span, "a net starts at an input, not at '%s'; write "
          "'net: %s -> %s -> ...'", f->input, n ? cands[0] : "image", f->input);
    else if (hint)
      ERR(f->input_span, "unknown input '%s'; did you mean '%s'?", f->input, hint);
    else if (!reported(s, &s->unknown_inputs, f->input))
      ERR(f->input_span, "unknown input '%s'; declare it, like 'input %s: "
          "f32[784]'", f->input, f->input);
  } else {
    t->input->used = true;
  }
  NetVal *x = t->input && t->input->shape.rank > 0 ? input_val(s, t->input) : NULL;
  int own[NUM_LAYERS] = {0}; /* the task's own layers, numbered per kind */
  for (int i = 0; i < f->chain.len; i++) {
    Call *c = f->chain.data[i];
    Step *st = NEW(Step);
    st->in = x ? x->shape : (Shape){0};
    Block *b = find_block(m, c->name);
    int k = find_layer(c->name);
    s->at_input = i == 0;
    if (b) {
      if (c->parens || c->braces)
        ERR(c->span, "'%s' is a block; it takes no arguments", c->name);
      st->block = b;
      if (x && !apply_block(s, t, b, c, x, &x))
        x = NULL;
      else if (!x)
        vec_push(s->a, &b->users, t);
    } else if (k >= 0) {
      st->layer = new_layer(s, c, (LayerKind)k, "", own);
      if (!st->layer)
        x = NULL;
      else if (x) {
        Vec one = {(void **)&st->layer, 1, 1};
        x = shape_layer(s, st->layer, x->shape, x->dtype)
                ? chain_vals(s, &one, x, NULL, t, 0) : NULL;
      }
    } else {
      x = NULL;
      int n;
      const char **cands = name_list(s, &m->blocks, offsetof(Block, name), &n, true);
      if (find_task(m, c->name) || !strcmp(c->name, t->name))
        ERR(c->name_span, "'%s' is a task; a net is made of blocks and layers",
            c->name);
      else if (find_input(m, c->name))
        ERR(c->name_span, "'%s' is an input; only the first name of a net may "
            "be an input", c->name);
      else
        unknown_layer(s, c, cands, n);
    }
    st->out = x ? x->shape : (Shape){0};
    vec_push(s->a, &t->steps, st);
  }
  if (x) {
    t->net = x;
    t->out = x->shape;
  }
}

/* Each i32 input's vocabulary: the smallest of the layers of ids it feeds
 * (only inputs hold ids, so a layer of ids reads one directly). The
 * runtime checks every id of its data against it. */
void input_vocabs(Sema *s) {
  for (int i = 0; i < s->m->vals.len; i++) {
    NetVal *v = s->m->vals.data[i];
    if (v->kind != NV_LAYER || !(layer_rules[v->layer->kind].flags & LF_IDS))
      continue;
    NetVal *x = v->in.data[0];
    MTLC_ASSERT(x->kind == NV_INPUT);
    Input *in = x->input;
    if (!in->vocab || v->layer->vocab < in->vocab)
      in->vocab = v->layer->vocab;
  }
}
