/* sema.c: gives a parsed spec its meaning and checks it. Names and scopes,
 * argument types and ranges (bound by args.c), shapes through every layer
 * (the batch dimension is implicit), labels against heads, losses, metrics,
 * regularizers, balance, training options and data bindings. Every error
 * found is reported, each once; a step whose input shape is unknown is not
 * checked further, so one mistake does not cascade. The result is a Model:
 * what lowering and the summary read. Nothing here allocates outside the
 * arena or touches data files beyond asking whether they exist. */
#include "check/sema.h"

#include <ctype.h>
#include <math.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* ---- layers ------------------------------------------------------------ */

static const Param p_dense[] = {{"units", T_INT, REQ, 1, BIG}, {"bias", T_BOOL, 0, 0, 0}};
static const Param p_conv[] = {{"filters", T_INT, REQ, 1, BIG},
                               {"kernel", T_INT, REQ, 1, 4096},
                               {"stride", T_INT, 0, 1, 4096},
                               {"pad", T_INT, 0, 0, 4096},
                               {"bias", T_BOOL, 0, 0, 0}};
static const Param p_pool[] = {{"size", T_INT, REQ, 1, 4096}, {"stride", T_INT, 0, 1, 4096}};
static const Param p_dropout[] = {{"p", T_NUM, REQ | MAX_EXCL, 0, 1}};

static const Sig layer_sigs[] = {
    [L_DENSE] = {"dense", 1, p_dense, 2, "dense(128)"},
    [L_CONV2D] = {"conv2d", 2, p_conv, 5, "conv2d(32, kernel=3, pad=1)"},
    [L_MAXPOOL] = {"maxpool", 2, p_pool, 2, "maxpool(2)"},
    [L_AVGPOOL] = {"avgpool", 2, p_pool, 2, "avgpool(2)"},
    [L_FLATTEN] = {"flatten", 0, NULL, 0, "flatten"},
    [L_RELU] = {"relu", 0, NULL, 0, "relu"},
    [L_SIGMOID] = {"sigmoid", 0, NULL, 0, "sigmoid"},
    [L_TANH] = {"tanh", 0, NULL, 0, "tanh"},
    [L_DROPOUT] = {"dropout", 1, p_dropout, 1, "dropout(0.5)"},
};
#define NLAYERS ((int)(sizeof layer_sigs / sizeof layer_sigs[0]))

static int find_layer(const char *name) {
  for (int i = 0; i < NLAYERS; i++)
    if (!strcmp(layer_sigs[i].name, name))
      return i;
  return -1;
}

/* A layer's arguments; shapes come later, when its input is known. */
static Layer *new_layer(Sema *s, Call *c, LayerKind k) {
  const Sig *sig = &layer_sigs[k];
  Value *v[8];
  if (!bind_args(s, c, sig, v))
    return NULL;
  Layer *l = NEW(Layer);
  l->kind = k;
  l->call = c;
  l->bias = true;
  switch (k) {
  case L_DENSE:
    l->units = (int64_t)v[0]->num;
    l->bias = v[1] ? v[1]->num != 0 : true;
    break;
  case L_CONV2D:
    l->units = (int64_t)v[0]->num;
    l->kernel = (int64_t)v[1]->num;
    l->stride = (int64_t)num_or(v[2], 1);
    l->pad = (int64_t)num_or(v[3], 0);
    l->bias = v[4] ? v[4]->num != 0 : true;
    break;
  case L_MAXPOOL:
  case L_AVGPOOL:
    l->kernel = (int64_t)v[0]->num;
    l->stride = (int64_t)num_or(v[1], (double)l->kernel);
    break;
  case L_DROPOUT:
    l->p = v[0]->num;
    break;
  default:
    break;
  }
  return l;
}

static int64_t numel(Shape sh) {
  int64_t n = 1;
  for (int i = 0; i < sh.rank; i++)
    n *= sh.d[i];
  return n;
}

const char *shape_str(Arena *a, Shape sh) {
  char buf[128] = "[";
  for (int i = 0; i < sh.rank; i++)
    snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%lld",
             i ? ", " : "", (long long)sh.d[i]);
  strcat(buf, "]");
  return arena_strdup(a, buf);
}

static bool too_big(Sema *s, Call *c, Shape sh) {
  double n = 1;
  for (int i = 0; i < sh.rank; i++)
    n *= (double)sh.d[i];
  if (n > (double)MAX_ELEMS) {
    ERR(c->span, "%s gives an output of %.3g elements per sample, more than "
        "mtlc supports (%lld)", c->name, n, (long long)MAX_ELEMS);
    return true;
  }
  return false;
}

/* A weight tensor is a tensor: at most MAX_ELEMS elements. */
static bool too_many_weights(Sema *s, Call *c, double n) {
  if (n > (double)MAX_ELEMS) {
    ERR(c->span, "%s has a weight of %.3g elements, more than mtlc supports "
        "(%lld)", c->name, n, (long long)MAX_ELEMS);
    return true;
  }
  return false;
}

/* Counts (>= 0) that saturate instead of overflowing: the FLOPs of an
 * absurd but legal model must not wrap around. */
static int64_t sat_add(int64_t a, int64_t b) {
  return a > INT64_MAX - b ? INT64_MAX : a + b;
}

static int64_t sat_mul(int64_t a, int64_t b) {
  return b && a > INT64_MAX / b ? INT64_MAX : a * b;
}

/* What to do when conv2d or a pooling gets a vector: declare the input as
 * an image, or move the layer before flatten and dense. */
static const char *image_hint(Sema *s, Shape in) {
  if (!s->at_input || in.rank != 1)
    return "conv2d and pooling work on [C, H, W] maps, so use them before "
           "flatten and dense";
  int64_t side = (int64_t)floor(sqrt((double)in.d[0]) + 0.5);
  if (side * side == in.d[0])
    return arena_printf(s->a, "declare the input as an image with its "
                        "channels, like f32[1, %lld, %lld]", (long long)side,
                        (long long)side);
  return "declare the input as an image with its channels, like "
         "f32[1, 28, 28]";
}

/* Output shape, parameters and FLOPs of l on input `in` (a multiply-add
 * counts 2; activations, dropout and each pooling window element count 1). */
static bool infer_layer(Sema *s, Layer *l, Shape in) {
  Call *c = l->call;
  Arena *a = s->a;
  l->in = in;
  Shape out = in;
  switch (l->kind) {
  case L_DENSE:
    if (in.rank != 1) {
      ERR(c->span, "dense needs a vector input, but here it gets %s; put "
          "flatten before it", shape_str(a, in));
      return false;
    }
    out.d[0] = l->units;
    if (too_many_weights(s, c, (double)in.d[0] * (double)l->units))
      return false;
    l->params = in.d[0] * l->units + (l->bias ? l->units : 0);
    l->flops = 2 * in.d[0] * l->units + (l->bias ? l->units : 0);
    break;
  case L_CONV2D:
  case L_MAXPOOL:
  case L_AVGPOOL: {
    const char *name = layer_sigs[l->kind].name;
    if (in.rank != 3) {
      ERR(c->span, "%s needs an input of shape [C, H, W], but here it gets "
          "%s; %s", name, shape_str(a, in), image_hint(s, in));
      return false;
    }
    int64_t pad = l->kind == L_CONV2D ? l->pad : 0;
    int64_t h = in.d[1] + 2 * pad - l->kernel, w = in.d[2] + 2 * pad - l->kernel;
    if (h < 0 || w < 0) {
      int64_t fit = in.d[1] < in.d[2] ? in.d[1] : in.d[2];
      const char *fix =
          l->kind == L_CONV2D
              ? arena_printf(a, "use kernel=%lld or less, or pad the input",
                             (long long)(fit + 2 * pad))
          : fit >= 2 ? arena_printf(a, "use %s(%lld) or less", name, (long long)fit)
                     : arena_printf(a, "remove it: the map is already %lldx%lld",
                                    (long long)in.d[1], (long long)in.d[2]);
      ERR(c->span, "%s window %lldx%lld does not fit input %s%s; %s", name,
          (long long)l->kernel, (long long)l->kernel, shape_str(a, in),
          pad ? arena_printf(a, " padded by %lld", (long long)pad) : "", fix);
      return false;
    }
    out.d[1] = h / l->stride + 1;
    out.d[2] = w / l->stride + 1;
    int64_t hw = out.d[1] * out.d[2];
    if (l->kind == L_CONV2D) {
      out.d[0] = l->units;
      int64_t k = in.d[0] * l->kernel * l->kernel;
      if (too_big(s, c, out) ||
          too_many_weights(s, c, (double)k * (double)l->units))
        return false;
      l->params = k * l->units + (l->bias ? l->units : 0);
      l->flops = sat_add(sat_mul(2 * k * l->units, hw),
                         l->bias ? l->units * hw : 0);
    } else {
      l->flops = l->kernel * l->kernel * in.d[0] * hw;
    }
    break;
  }
  case L_FLATTEN:
    out.rank = 1;
    out.d[0] = numel(in);
    break;
  case L_RELU:
  case L_SIGMOID:
  case L_TANH:
  case L_DROPOUT:
    l->flops = numel(in);
    break;
  }
  if (too_big(s, c, out))
    return false;
  l->out = out;
  return true;
}

/* ---- declarations: names ------------------------------------------------ */

typedef struct {
  const char *what; /* "input", "block", "task" */
  const char *name;
  Span span;
} Name;

static Vec names; /* Name*, for the duplicate check; reset per sema() */

static void declare(Sema *s, const char *what, const char *name, Span sp) {
  for (int i = 0; i < names.len; i++) {
    Name *n = names.data[i];
    if (!strcmp(n->name, name)) {
      if (!strcmp(n->what, what))
        ERR(sp, "two %ss are named '%s'; rename one", what, name);
      else
        ERR(sp, "'%s' is already the name of %s %s; a %s needs another name",
            name, !strcmp(n->what, "input") ? "an" : "a", n->what, what);
      NOTE(n->span, "'%s' first declared here", name);
      return;
    }
  }
  Name *n = NEW(Name);
  n->what = what;
  n->name = name;
  n->span = sp;
  vec_push(s->a, &names, n);
}

static Input *find_input(Model *m, const char *name) {
  for (int i = 0; i < m->inputs.len; i++) {
    Input *in = m->inputs.data[i];
    if (!strcmp(in->name, name))
      return in;
  }
  return NULL;
}

static Block *find_block(Model *m, const char *name) {
  for (int i = 0; i < m->blocks.len; i++) {
    Block *b = m->blocks.data[i];
    if (!strcmp(b->name, name))
      return b;
  }
  return NULL;
}

static Task *find_task(Model *m, const char *name) {
  for (int i = 0; i < m->tasks.len; i++) {
    Task *t = m->tasks.data[i];
    if (!strcmp(t->name, name))
      return t;
  }
  return NULL;
}

/* Names of one kind, for "did you mean". */
static const char **name_list(Sema *s, Vec *v, size_t name_off, int *n,
                              bool with_layers) {
  const char **out = arena_alloc(s->a, sizeof(char *) * (size_t)(v->len + NLAYERS));
  int k = 0;
  for (int i = 0; i < v->len; i++)
    out[k++] = *(const char **)((char *)v->data[i] + name_off);
  if (with_layers)
    for (int i = 0; i < NLAYERS; i++)
      out[k++] = layer_sigs[i].name;
  *n = k;
  return out;
}

/* From the first dimension of an input to its last. */
static Span dims_span(InputDecl *d) {
  return (Span){((Value *)d->dims.data[0])->span.lo,
                ((Value *)d->dims.data[d->dims.len - 1])->span.hi};
}

static void check_inputs(Sema *s) {
  for (int i = 0; i < s->spec->inputs.len; i++) {
    InputDecl *d = s->spec->inputs.data[i];
    declare(s, "input", d->name, d->span);
    Input *in = NEW(Input);
    in->decl = d;
    in->name = d->name;
    bool ok = true;
    if (d->dims.len == 4) {
      Value *v = d->dims.data[0];
      const char *rest = arena_printf(s->a, "%.*s",
          ((Value *)d->dims.data[3])->span.hi - ((Value *)d->dims.data[1])->span.lo,
          s->src->text + ((Value *)d->dims.data[1])->span.lo);
      ERR(v->span, "input '%s' has 4 dimensions, but the batch dimension is "
          "implicit; give one sample's shape, like f32[%s]", d->name, rest);
      ok = false;
    } else if (d->dims.len > 3) {
      Value *v = d->dims.data[3];
      ERR(v->span, "input '%s' has %d dimensions; mtlc takes a vector [D] or "
          "an image [C, H, W]", d->name, d->dims.len);
      ok = false;
    }
    for (int j = 0; j < d->dims.len && j < 3; j++) {
      Value *v = d->dims.data[j];
      if (!v->is_int || v->num < 1 || v->num > MAX_DIM) {
        ERR(v->span, "a dimension of input '%s' must be an integer from 1 to "
            "%d, not %s", d->name, MAX_DIM, value_desc(s, v));
        ok = false;
      }
      in->shape.d[j] = ok ? (int64_t)v->num : 1;
    }
    in->shape.rank = d->dims.len > 3 ? 3 : d->dims.len;
    if (ok && in->shape.rank == 2) {
      ERR(dims_span(d), "input '%s' is [H, W]; write it with its channels, like "
          "f32[1, %lld, %lld]", d->name, (long long)in->shape.d[0],
          (long long)in->shape.d[1]);
      ok = false;
    }
    if (ok && numel(in->shape) > MAX_ELEMS) {
      ERR(d->span, "input '%s' is too large", d->name);
      ok = false;
    }
    if (!ok)
      in->shape.rank = 0; /* unknown: tasks that start here are not shaped */
    vec_push(s->a, &s->m->inputs, in);
  }
}

/* Layer names from PyTorch and Keras, and what mtl writes instead. */
static const char *const layer_aliases[][2] = {
    {"linear", "dense"},        {"fc", "dense"},
    {"conv", "conv2d"},         {"convolution2d", "conv2d"},
    {"maxpool2d", "maxpool"},   {"max_pool2d", "maxpool"},
    {"maxpooling2d", "maxpool"}, {"avgpool2d", "avgpool"},
    {"avg_pool2d", "avgpool"},  {"averagepooling2d", "avgpool"},
    {"reshape", "flatten"},     {"view", "flatten"},
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
  if (!strcasecmp(c->name, "softmax") || !strcasecmp(c->name, "log_softmax") ||
      !strcasecmp(c->name, "logsoftmax")) {
    ERR(c->name_span, "%s is not a layer in mtl: a net ends with the head's "
        "raw scores and cross_entropy applies softmax itself; remove it",
        c->name);
    return;
  }
  static const char *const planned[] = {"batchnorm", "batchnorm2d", "batch_norm",
      "batchnormalization", "layernorm", "layer_norm", "leaky_relu", "leakyrelu",
      "gelu", "elu", "selu", "conv1d", "conv3d", "lstm", "gru", "embedding"};
  for (size_t i = 0; i < sizeof planned / sizeof planned[0]; i++)
    if (!strcasecmp(c->name, planned[i])) {
      ERR(c->name_span, "%s is not a layer of mtl v0 (layers: dense, conv2d, "
          "maxpool, avgpool, flatten, relu, sigmoid, tanh, dropout)", c->name);
      return;
    }
  const char *layer_names[NLAYERS];
  for (int i = 0; i < NLAYERS; i++)
    layer_names[i] = layer_sigs[i].name;
  const char *hint = cands ? suggest(c->name, cands, n)
                           : suggest(c->name, layer_names, NLAYERS);
  if (hint)
    ERR(c->name_span, "unknown %s '%s'; did you mean '%s'?", what, c->name, hint);
  else
    ERR(c->name_span, "unknown %s '%s' (layers: dense, conv2d, maxpool, "
        "avgpool, flatten, relu, sigmoid, tanh, dropout)", what, c->name);
}

static void check_blocks(Sema *s) {
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
    vec_push(s->a, &s->m->blocks, b);
  }
  /* layers after all block names are known, to say "blocks cannot nest" */
  for (int i = 0; i < s->m->blocks.len; i++) {
    Block *b = s->m->blocks.data[i];
    for (int j = 0; j < b->decl->chain.len; j++) {
      Call *c = b->decl->chain.data[j];
      int k = find_layer(c->name);
      if (k >= 0) {
        Layer *l = new_layer(s, c, (LayerKind)k);
        if (l)
          vec_push(s->a, &b->layers, l);
        else
          b->shaped = true, b->in.rank = 0; /* poisoned: no shape checks */
        continue;
      }
      b->shaped = true, b->in.rank = 0;
      if (find_block(s->m, c->name))
        ERR(c->name_span, "block '%s' cannot use block '%s'; name both in the "
            "task's net instead", b->name, c->name);
      else
        unknown_layer(s, c, NULL, 0);
    }
  }
}

/* ---- tasks -------------------------------------------------------------- */

static const char *label_str(Sema *s, Task *t) {
  switch (t->label) {
  case LBL_CLASS: return arena_printf(s->a, "class(%lld)", (long long)t->label_n);
  case LBL_BINARY: return "binary";
  case LBL_REAL: return arena_printf(s->a, "real[%lld]", (long long)t->label_n);
  }
  unreachable();
  return NULL;
}

/* Runs a block on `in` for task t: the first use fixes its shapes; later
 * uses must give it the same input. */
static bool apply_block(Sema *s, Task *t, Block *b, Call *use, Shape in,
                        Shape *out) {
  for (int i = 0; i < b->users.len; i++)
    if (b->users.data[i] == t) {
      ERR(use->span, "task '%s' uses block '%s' twice; declare a second block "
          "for the second use", t->name, b->name);
      return false;
    }
  vec_push(s->a, &b->users, t);
  if (b->shaped) {
    if (b->in.rank == 0)
      return false; /* the block itself has errors */
    if (memcmp(&b->in, &in, sizeof in) != 0) {
      ERR(use->span, "block '%s' gets %s here, but it was built for %s at its "
          "first use; %s", b->name, shape_str(s->a, in), shape_str(s->a, b->in),
          b->is_private ? "every task's copy of a private block has the same "
                          "shape" : "a shared block's parameters have one shape");
      NOTE(b->first_use, "first used here");
      return false;
    }
    *out = b->out;
    return true;
  }
  b->shaped = true;
  b->first_use = use->span;
  Shape sh = in;
  bool at_input = s->at_input;
  for (int i = 0; i < b->layers.len; i++) {
    Layer *l = b->layers.data[i];
    s->at_input = at_input && i == 0;
    if (!infer_layer(s, l, sh)) {
      NOTE(use->span, "in block '%s' as used by task '%s'", b->name, t->name);
      b->in.rank = 0;
      return false;
    }
    sh = l->out;
    b->params = sat_add(b->params, l->params);
    b->flops = sat_add(b->flops, l->flops);
  }
  b->in = in;
  b->out = *out = sh;
  return true;
}

/* Whether name is in v; adds it if not. For reporting a name once. */
static bool reported(Sema *s, Vec *v, const char *name) {
  for (int i = 0; i < v->len; i++)
    if (!strcmp(v->data[i], name))
      return true;
  vec_push(s->a, v, (void *)name);
  return false;
}

/* net: IDENT "->" chain */
static void check_net(Sema *s, Task *t, Field *f) {
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
  Shape sh = t->input ? t->input->shape : (Shape){0};
  bool shaped = sh.rank > 0;
  for (int i = 0; i < f->chain.len; i++) {
    Call *c = f->chain.data[i];
    Step *st = NEW(Step);
    st->in = sh;
    Block *b = find_block(m, c->name);
    int k = find_layer(c->name);
    s->at_input = i == 0;
    if (b) {
      if (c->parens)
        ERR(c->span, "'%s' is a block; it takes no arguments", c->name);
      st->block = b;
      if (shaped)
        shaped = apply_block(s, t, b, c, sh, &sh);
      else
        vec_push(s->a, &b->users, t);
    } else if (k >= 0) {
      st->layer = new_layer(s, c, (LayerKind)k);
      if (!st->layer)
        shaped = false;
      else if (shaped)
        shaped = infer_layer(s, st->layer, sh);
      if (shaped)
        sh = st->layer->out;
    } else {
      shaped = false;
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
    st->out = sh;
    vec_push(s->a, &t->steps, st);
  }
  if (shaped)
    t->out = sh;
}

static const Param p_lookup[] = {{"source", T_IDENT, REQ, 0, 0},
                                 {"table", T_INTLIST, REQ, 0, BIG}};
static const Sig sig_lookup = {"lookup", 2, p_lookup, 2,
                               "lookup(item, [0, 1, 0, 1])"};

static void check_label(Sema *s, Task *t, Field *f) {
  t->label = f->label;
  t->label_n = 1;
  if (f->label_n) {
    Value *v = f->label_n;
    int64_t min = f->label == LBL_CLASS ? 2 : 1;
    if (!v->is_int || v->num < (double)min || v->num > MAX_DIM) {
      ERR(v->span, "%s must be an integer from %lld to %d, not %s%s",
          f->label == LBL_CLASS ? "a class count" : "a real label's width",
          (long long)min, MAX_DIM, value_desc(s, v),
          f->label == LBL_CLASS && v->is_int && v->num == 1
              ? "; a yes/no label is 'binary'" : "");
      t->label_n = 0; /* unknown */
    } else {
      t->label_n = (int64_t)v->num;
    }
  }
  if (!f->derive)
    return;
  Call *c = f->derive;
  if (strcmp(c->name, "lookup") != 0) {
    const char *hint = suggest(c->name, (const char *const[]){"lookup"}, 1);
    ERR(c->name_span, "unknown label derivation '%s'%s", c->name,
        hint ? "; did you mean 'lookup'?" : "; labels are derived with "
               "lookup(SOURCE, [...])");
    return;
  }
  if (f->label == LBL_REAL) {
    ERR(c->span, "a real label cannot be derived by lookup; only class and "
        "binary labels can");
    return;
  }
  Value *v[2];
  if (!bind_args(s, c, &sig_lookup, v))
    return;
  /* resolved once every task is known: resolve_lookups */
}

static void resolve_lookups(Sema *s) {
  Model *m = s->m;
  for (int i = 0; i < m->tasks.len; i++) {
    Task *t = m->tasks.data[i];
    Field *lf = NULL;
    for (int j = 0; j < t->decl->fields.len; j++) {
      Field *f = t->decl->fields.data[j];
      if (f->kind == F_LABEL && !lf)
        lf = f;
    }
    if (!lf || !lf->derive || strcmp(lf->derive->name, "lookup") || lf->label == LBL_REAL)
      continue;
    Value *v[2];
    int before = s->src->nerrors;
    (void)before;
    /* arguments were checked in check_label; bind again silently */
    Call *c = lf->derive;
    v[0] = v[1] = NULL;
    for (int k = 0, pos = 0; k < c->args.len; k++) {
      Arg *a = c->args.data[k];
      int idx = a->name ? (!strcmp(a->name, "source") ? 0 : !strcmp(a->name, "table") ? 1 : -1) : pos++;
      if (idx >= 0 && idx < 2)
        v[idx] = a->val;
    }
    if (!v[0] || !v[1] || v[0]->kind != V_IDENT || v[1]->kind != V_LIST)
      continue;
    Task *src = find_task(m, v[0]->str);
    if (!src) {
      int n;
      const char **cands = name_list(s, &m->tasks, offsetof(Task, name), &n, false);
      const char *hint = suggest(v[0]->str, cands, n);
      if (find_input(m, v[0]->str))
        ERR(v[0]->span, "lookup derives from another task's label, and '%s' "
            "is an input", v[0]->str);
      else if (hint)
        ERR(v[0]->span, "unknown label '%s'; did you mean '%s'?", v[0]->str, hint);
      else
        ERR(v[0]->span, "unknown label '%s'; lookup's source is the name of "
            "another task", v[0]->str);
      continue;
    }
    if (src == t) {
      ERR(v[0]->span, "task '%s' derives its label from itself", t->name);
      continue;
    }
    if (src->label == LBL_REAL) {
      ERR(v[0]->span, "lookup needs a class or binary source, and '%s' is %s",
          src->name, label_str(s, src));
      continue;
    }
    int64_t want = src->label == LBL_BINARY ? 2 : src->label_n;
    if (want && v[1]->items.len != want) {
      ERR(v[1]->span, "lookup table has %d entries, but '%s' is %s, so it "
          "needs %lld, one for each source class", v[1]->items.len, src->name,
          label_str(s, src), (long long)want);
      continue;
    }
    int64_t n = t->label == LBL_BINARY ? 2 : t->label_n;
    bool ok = true;
    t->lookup = arena_alloc(s->a, sizeof(int64_t) * (size_t)(v[1]->items.len + 1));
    for (int k = 0; k < v[1]->items.len; k++) {
      Value *e = v[1]->items.data[k];
      if (e->kind != V_NUM || !e->is_int || e->num < 0 || e->num > MAX_DIM) {
        ok = false; /* reported by check_label */
        break;
      }
      if (n && e->num >= (double)n) {
        ERR(e->span, "lookup entry %s is not a class of task '%s', whose "
            "label %s has classes 0 to %lld", value_desc(s, e), t->name,
            label_str(s, t), (long long)n - 1);
        ok = false;
        break;
      }
      t->lookup[k] = (int64_t)e->num;
    }
    if (!ok)
      continue;
    t->nlookup = v[1]->items.len;
    t->derive_from = src;
  }
  /* cycles: a chain of derived labels must end at a bound one */
  for (int i = 0; i < m->tasks.len; i++) {
    Task *t = m->tasks.data[i], *u = t;
    int steps = 0;
    while (u && u->derive_from && steps <= m->tasks.len) {
      u = u->derive_from;
      steps++;
    }
    if (steps > m->tasks.len) {
      Field *lf = NULL;
      for (int j = 0; j < t->decl->fields.len && !lf; j++)
        if (((Field *)t->decl->fields.data[j])->kind == F_LABEL)
          lf = t->decl->fields.data[j];
      ERR(lf->derive->span, "the label of task '%s' is derived in a cycle; "
          "one label in the chain must come from data", t->name);
      t->derive_from = NULL; /* break the cycle here: reported once */
    }
  }
}

static const char *const loss_names[] = {"cross_entropy", "bce", "mse"};
static const char *const metric_names[] = {"accuracy", "mse", "mae"};

static void check_loss(Sema *s, Task *t, Call *c) {
  int k = -1;
  for (int i = 0; i < 3; i++)
    if (!strcmp(c->name, loss_names[i]))
      k = i;
  if (k < 0) {
    static Alias aliases[] = {
        {"categorical_crossentropy", "cross_entropy"},
        {"sparse_categorical_crossentropy", "cross_entropy"},
        {"crossentropy", "cross_entropy"}, {"crossentropyloss", "cross_entropy"},
        {"ce", "cross_entropy"}, {"nll", "cross_entropy"},
        {"nll_loss", "cross_entropy"}, {"nllloss", "cross_entropy"},
        {"softmax_cross_entropy", "cross_entropy"},
        {"binary_crossentropy", "bce"}, {"binary_cross_entropy", "bce"},
        {"bcewithlogitsloss", "bce"}, {"bce_with_logits", "bce"},
        {"bceloss", "bce"}, {"log_loss", "bce"},
        {"mean_squared_error", "mse"}, {"mseloss", "mse"},
        {"mae", " mae is a metric, not a loss, in mtl v0 (losses: "
                "cross_entropy, bce, mse)"},
    };
    unknown_name(s, c->name_span, "loss", c->name, loss_names, 3, aliases,
                 NELEMS(aliases), "losses: cross_entropy, bce, mse");
    return;
  }
  Sig sig = {loss_names[k], 0, NULL, 0, loss_names[k]};
  Value *v[1];
  bind_args(s, c, &sig, v);
  static const LabelKind fits[] = {LBL_CLASS, LBL_BINARY, LBL_REAL};
  static const char *const fix[] = {"cross_entropy", "bce", "mse"};
  if (t->label_n && fits[k] != t->label) {
    ERR(c->name_span, "loss %s does not fit label %s; use %s", c->name,
        label_str(s, t), fix[t->label]);
    return;
  }
  t->loss = (LossKind)k;
}

static void check_metrics(Sema *s, Task *t, Field *f) {
  t->metrics = 0;
  for (int i = 0; i < f->metrics.len; i++) {
    Value *v = f->metrics.data[i];
    int k = -1;
    for (int j = 0; j < 3; j++)
      if (!strcmp(v->str, metric_names[j]))
        k = j;
    if (k < 0) {
      static Alias aliases[] = {
          {"acc", "accuracy"}, {"categorical_accuracy", "accuracy"},
          {"sparse_categorical_accuracy", "accuracy"},
          {"binary_accuracy", "accuracy"}, {"mean_squared_error", "mse"},
          {"mean_absolute_error", "mae"},
      };
      unknown_name(s, v->span, "metric", v->str, metric_names, 3, aliases,
                   NELEMS(aliases), "metrics: accuracy, mse, mae");
      continue;
    }
    bool fits = k == MET_ACCURACY ? t->label != LBL_REAL : t->label == LBL_REAL;
    if (!fits && t->label_n) {
      ERR(v->span, "metric %s does not fit label %s; use %s", v->str,
          label_str(s, t), t->label == LBL_REAL ? "mse or mae" : "accuracy");
      continue;
    }
    if (t->metrics & (1 << k))
      WARN(v->span, "metric %s is listed twice", v->str);
    t->metrics |= 1 << k;
  }
}

/* The label's kind in words: "its label class(10)", "its binary label". */
static const char *label_phrase(Sema *s, Task *t) {
  if (t->label == LBL_BINARY)
    return "its binary label";
  return arena_printf(s->a, "its label %s", label_str(s, t));
}

/* The head's width against the label. The caret goes to the step that set
 * the width (dense(2) in "dense(2) sigmoid"), not a trailing activation. */
static void check_head(Sema *s, Task *t, Field *net) {
  if (t->out.rank == 0 || !t->label_n)
    return;
  Call *last = net->chain.data[net->chain.len - 1];
  for (int i = t->steps.len - 1; i >= 0; i--) {
    Step *st = t->steps.data[i];
    LayerKind k = st->layer ? st->layer->kind : L_DENSE;
    if (k != L_RELU && k != L_SIGMOID && k != L_TANH && k != L_DROPOUT) {
      last = net->chain.data[i];
      break;
    }
  }
  Span sp = last->span;
  const char *why = t->label == LBL_BINARY ? " (one logit)" : "";
  if (t->out.rank != 1) {
    ERR(sp, "task '%s' ends with output %s, but %s needs a vector [%lld]%s; "
        "end the net with flatten and dense(%lld)", t->name,
        shape_str(s->a, t->out), label_phrase(s, t), (long long)t->label_n,
        why, (long long)t->label_n);
    return;
  }
  if (t->out.d[0] != t->label_n) {
    ERR(sp, "task '%s' ends with output %s, but %s needs [%lld]%s; end the "
        "net with dense(%lld)", t->name, shape_str(s->a, t->out),
        label_phrase(s, t), (long long)t->label_n, why, (long long)t->label_n);
    return;
  }
  Step *end = t->steps.data[t->steps.len - 1];
  if (t->loss == LOSS_BCE && end->layer && end->layer->kind == L_SIGMOID)
    WARN(end->layer->call->span, "task '%s' ends with sigmoid, but bce applies "
         "the sigmoid itself (it takes raw scores, like PyTorch's "
         "BCEWithLogitsLoss); remove it", t->name);
}

static const char *const field_names[] = {"label", "net", "loss", "weight", "metric"};

static void check_task(Sema *s, TaskDecl *d) {
  declare(s, "task", d->name, d->name_span);
  Task *t = NEW(Task);
  t->decl = d;
  t->name = d->name;
  t->index = s->m->tasks.len;
  t->weight = 1;
  vec_push(s->a, &s->m->tasks, t);

  Field *by_kind[5] = {0};
  for (int i = 0; i < d->fields.len; i++) {
    Field *f = d->fields.data[i];
    if (by_kind[f->kind]) {
      ERR(f->key_span, "task '%s' has two '%s' fields; keep one", d->name,
          field_names[f->kind]);
      NOTE(by_kind[f->kind]->key_span, "the first is here");
      continue;
    }
    by_kind[f->kind] = f;
  }
  const char *in = s->m->inputs.len ? ((Input *)s->m->inputs.data[0])->name
                                    : "image";
  if (!by_kind[F_LABEL] && !by_kind[F_NET])
    ERR(d->name_span, "task '%s' has no label and no net; add them, like "
        "'label: class(10)  net: %s -> dense(10)'", d->name, in);
  else if (!by_kind[F_LABEL])
    ERR(d->name_span, "task '%s' has no label; add one, like 'label: "
        "class(10)'", d->name);
  else if (!by_kind[F_NET])
    ERR(d->name_span, "task '%s' has no net; add one, like 'net: %s -> "
        "dense(10)'", d->name, in);
  if (by_kind[F_LABEL])
    check_label(s, t, by_kind[F_LABEL]);
  if (by_kind[F_NET])
    check_net(s, t, by_kind[F_NET]);

  t->loss = t->label == LBL_CLASS ? LOSS_CROSS_ENTROPY
            : t->label == LBL_BINARY ? LOSS_BCE : LOSS_MSE;
  t->metrics = t->label == LBL_REAL ? 1 << MET_MSE : 1 << MET_ACCURACY;
  if (!by_kind[F_LABEL])
    t->label_n = 0;
  if (by_kind[F_LOSS])
    check_loss(s, t, by_kind[F_LOSS]->loss);
  if (by_kind[F_WEIGHT]) {
    Value *w = by_kind[F_WEIGHT]->weight;
    if (!(w->num >= 0) || !isfinite(w->num))
      ERR(w->span, "a task's weight must be a number >= 0, not %s",
          value_desc(s, w));
    else if (w->num == 0)
      WARN(w->span, "task '%s' has weight 0: its loss does not train the model",
           d->name);
    t->weight = w->num;
  }
  if (by_kind[F_METRIC] && t->label_n)
    check_metrics(s, t, by_kind[F_METRIC]);
  if (by_kind[F_NET] && by_kind[F_LABEL])
    check_head(s, t, by_kind[F_NET]);
}

/* ---- regularizers, balance, train ---------------------------------------- */

static const Param p_l2d[] = {{"block", T_IDENT, REQ, 0, 0},
                              {"lambda", T_NUM, REQ | NO_MAX, 0, 0}};
static const Param p_l2[] = {{"lambda", T_NUM, REQ | NO_MAX, 0, 0},
                             {"on", T_IDENT, 0, 0, 0}};
static const Sig sig_l2d = {"l2_distance", 2, p_l2d, 2, "l2_distance(tower, lambda=0.001)"};
static const Sig sig_l2 = {"l2", 1, p_l2, 2, "l2(lambda=0.0005)"};

static Block *reg_block(Sema *s, Value *v) {
  Block *b = find_block(s->m, v->str);
  if (b)
    return b;
  int n;
  const char **cands = name_list(s, &s->m->blocks, offsetof(Block, name), &n, false);
  const char *hint = suggest(v->str, cands, n);
  if (hint)
    ERR(v->span, "unknown block '%s'; did you mean '%s'?", v->str, hint);
  else
    ERR(v->span, "unknown block '%s'%s", v->str,
        n ? "" : "; the spec declares no blocks");
  return NULL;
}

static void check_regularizer(Sema *s, Call *c) {
  Value *v[2];
  Regularizer *r = NEW(Regularizer);
  r->call = c;
  if (!strcmp(c->name, "l2_distance")) {
    r->kind = REG_L2_DISTANCE;
    if (!bind_args(s, c, &sig_l2d, v))
      return;
    Block *b = r->block = reg_block(s, v[0]);
    if (!b)
      return;
    if (!b->is_private) {
      ERR(v[0]->span, "l2_distance pulls the tasks' copies of a private block "
          "together, and '%s' is shared (one copy for all); declare it "
          "'private %s'", b->name, b->name);
      return;
    }
    if (b->users.len < 2) {
      ERR(v[0]->span, "l2_distance needs a block used by at least two tasks, "
          "and '%s' is used by %s; name it in another task's net, or drop "
          "this regularizer", b->name,
          b->users.len ? arena_printf(s->a, "only '%s'",
                                      ((Task *)b->users.data[0])->name)
                       : "none");
      return;
    }
  } else if (!strcmp(c->name, "l2")) {
    r->kind = REG_L2;
    if (!bind_args(s, c, &sig_l2, v))
      return;
    if (v[1] && !(r->block = reg_block(s, v[1])))
      return;
    v[0] = v[0];
  } else {
    static const char *const known[] = {"l2_distance", "l2"};
    static Alias aliases[] = {
        {"weight_decay", " weight decay is l2(lambda=...) here, or adamw's "
                         "weight_decay"},
        {"l1", " l1 is not a regularizer of mtl v0 (regularizers: "
               "l2_distance, l2)"},
    };
    unknown_name(s, c->name_span, "regularizer", c->name, known, 2, aliases,
                 NELEMS(aliases), "regularizers: l2_distance, l2");
    return;
  }
  r->lambda = r->kind == REG_L2_DISTANCE ? v[1]->num : v[0]->num;
  vec_push(s->a, &s->m->regs, r);
}

static void check_balance(Sema *s) {
  static const char *const known[] = {"static", "uncertainty", "dwa", "gradnorm",
                                      "pcgrad", "mgda"};
  for (int i = 0; i < s->spec->balance.len; i++) {
    Call *c = s->spec->balance.data[i];
    if (i > 0) {
      ERR(c->span, "balance is given twice; keep one");
      NOTE(((Call *)s->spec->balance.data[0])->span, "the first is here");
      continue;
    }
    int k = -1;
    for (int j = 0; j < 6; j++)
      if (!strcmp(c->name, known[j]))
        k = j;
    if (k < 0) {
      unknown_name(s, c->name_span, "balance method", c->name, known, 6, NULL,
                   0, "methods: static");
    } else if (k > 0) {
      ERR(c->name_span, "balance method '%s' is planned but not in mtl v0 "
          "yet; use 'static' (the tasks' weights)", c->name);
    } else {
      Sig sig = {"static", 0, NULL, 0, "static"};
      Value *v[1];
      bind_args(s, c, &sig, v);
    }
  }
  s->m->balance = BAL_STATIC;
}

static const Param p_sgd[] = {{"lr", T_NUM, REQ | MIN_EXCL | NO_MAX, 0, 0},
                              {"momentum", T_NUM, MAX_EXCL, 0, 1},
                              {"nesterov", T_BOOL, 0, 0, 0}};
static const Param p_adam[] = {{"lr", T_NUM, MIN_EXCL | NO_MAX, 0, 0},
                               {"beta1", T_NUM, MAX_EXCL, 0, 1},
                               {"beta2", T_NUM, MAX_EXCL, 0, 1},
                               {"eps", T_NUM, MIN_EXCL | NO_MAX, 0, 0},
                               {"weight_decay", T_NUM, NO_MAX, 0, 0}};
static const Sig sig_sgd = {"sgd", 1, p_sgd, 3, "sgd(lr=0.01, momentum=0.9)"};
static const Sig sig_adam = {"adam", 1, p_adam, 4, "adam(lr=0.001)"};
static const Sig sig_adamw = {"adamw", 1, p_adam, 5, "adamw(lr=0.001, weight_decay=0.01)"};
static const Param p_step[] = {{"every", T_INT, REQ, 1, BIG},
                               {"gamma", T_NUM, MIN_EXCL | NO_MAX, 0, 0}};
static const Sig sig_step = {"step", 2, p_step, 2, "step(every=3, gamma=0.1)"};

static void check_optimizer(Sema *s, Call *c, Optimizer *o) {
  Value *v[5];
  if (!strcmp(c->name, "sgd")) {
    if (!bind_args(s, c, &sig_sgd, v))
      return;
    o->kind = OPT_SGD;
    o->lr = v[0]->num;
    o->momentum = num_or(v[1], 0);
    o->nesterov = v[2] && v[2]->num;
    if (o->nesterov && o->momentum == 0)
      ERR(v[2]->span, "nesterov needs momentum > 0, like sgd(lr=0.01, "
          "momentum=0.9, nesterov=true)");
    return;
  }
  bool w = !strcmp(c->name, "adamw");
  if (w || !strcmp(c->name, "adam")) {
    if (!bind_args(s, c, w ? &sig_adamw : &sig_adam, v))
      return;
    o->kind = w ? OPT_ADAMW : OPT_ADAM;
    o->lr = num_or(v[0], 0.001);
    o->beta1 = num_or(v[1], 0.9);
    o->beta2 = num_or(v[2], 0.999);
    o->eps = num_or(v[3], 1e-8);
    o->weight_decay = w ? num_or(v[4], 0.01) : 0;
    return;
  }
  static const char *const known[] = {"sgd", "adam", "adamw"};
  unknown_name(s, c->name_span, "optimizer", c->name, known, 3, NULL, 0,
               "optimizers: sgd, adam, adamw");
}

static void check_schedule(Sema *s, Call *c, TrainOpts *o) {
  Value *v[2];
  if (!strcmp(c->name, "constant") || !strcmp(c->name, "cosine")) {
    Sig sig = {c->name, 0, NULL, 0, c->name};
    bind_args(s, c, &sig, v);
    o->sched = c->name[0] == 'c' && c->name[1] == 'o' && c->name[2] == 'n'
                   ? SCHED_CONSTANT : SCHED_COSINE;
    return;
  }
  if (!strcmp(c->name, "step")) {
    if (!bind_args(s, c, &sig_step, v))
      return;
    o->sched = SCHED_STEP;
    o->step_every = (int64_t)v[0]->num;
    o->step_gamma = num_or(v[1], 0.1);
    return;
  }
  static const char *const known[] = {"constant", "step", "cosine"};
  static Alias aliases[] = {
      {"steplr", "step"}, {"cosineannealinglr", "cosine"},
      {"cosine_annealing", "cosine"}, {"none", "constant"},
  };
  unknown_name(s, c->name_span, "schedule", c->name, known, 3, aliases,
               NELEMS(aliases), "schedules: constant, step, cosine");
}

static void check_train(Sema *s) {
  static const char *const keys[] = {"optimizer", "batch", "epochs", "seed", "schedule"};
  TrainOpts *o = &s->m->train;
  *o = (TrainOpts){.opt = {OPT_ADAM, 0.001, 0, 0.9, 0.999, 1e-8, 0, false},
                   .batch = 32, .epochs = 1, .seed = 0, .sched = SCHED_CONSTANT};
  for (int i = 0; i < s->spec->train.len; i++) {
    TrainDecl *d = s->spec->train.data[i];
    if (i > 0) {
      /* the keyword 'train' only: the block may span many lines */
      ERR((Span){d->span.lo, d->span.lo + 5}, "a spec has one train block; "
          "merge this one into the first");
      NOTE((Span){((TrainDecl *)s->spec->train.data[0])->span.lo,
                  ((TrainDecl *)s->spec->train.data[0])->span.lo + 5},
           "the first is here");
      continue;
    }
    TrainItem *seen[5] = {0};
    for (int j = 0; j < d->items.len; j++) {
      TrainItem *it = d->items.data[j];
      int k = -1;
      for (int q = 0; q < 5; q++)
        if (!strcmp(it->key, keys[q]))
          k = q;
      if (k < 0) {
        static Alias aliases[] = {
            {"lr", " the learning rate is an argument of the optimizer, "
                   "like optimizer: sgd(lr=0.01)"},
            {"learning_rate", " the learning rate is an argument of the "
                              "optimizer, like optimizer: sgd(lr=0.01)"},
            {"momentum", " momentum is an argument of sgd, like optimizer: "
                         "sgd(lr=0.01, momentum=0.9)"},
            {"weight_decay", " weight decay is an argument of adamw, like "
                             "optimizer: adamw(lr=0.001, weight_decay=0.01)"},
            {"batch_size", "batch"}, {"num_epochs", "epochs"},
            {"n_epochs", "epochs"}, {"epoch", "epochs"},
            {"random_seed", "seed"}, {"lr_schedule", "schedule"},
            {"optim", "optimizer"}, {"opt", "optimizer"},
        };
        unknown_name(s, it->key_span, "train option", it->key, keys, 5,
                     aliases, NELEMS(aliases),
                     "options: optimizer, batch, epochs, seed, schedule");
        continue;
      }
      if (seen[k]) {
        ERR(it->key_span, "train option '%s' is given twice; keep one", it->key);
        NOTE(seen[k]->key_span, "the first is here");
        continue;
      }
      seen[k] = it;
      if (k == 0 || k == 4) {
        if (!it->call) {
          ERR(it->val->span, "%s must be %s, not %s", keys[k],
              k == 0 ? "an optimizer, like sgd(lr=0.01)" : "a schedule: constant, step(every=N) or cosine",
              value_desc(s, it->val));
          continue;
        }
        if (k == 0)
          check_optimizer(s, it->call, &o->opt);
        else
          check_schedule(s, it->call, o);
        continue;
      }
      Value *v = it->val;
      Span sp = v ? v->span : it->call->span;
      double lo = k == 3 ? 0 : 1, hi = k == 1 ? (double)(1 << 20) : k == 2 ? 1e6 : 4294967295.0;
      if (!v || v->kind != V_NUM || !v->is_int || v->num < lo || v->num > hi) {
        static const Param p_int = {"", T_INT, 0, 0, 0};
        ERR(sp, "%s must be an integer from %.0f to %.0f, not %s%s", keys[k], lo,
            hi, v ? value_desc(s, v) : arena_printf(s->a, "'%s'", it->call->name),
            v && !(v->kind == V_NUM && v->is_int) ? type_hint(s, &p_int, v) : "");
        continue;
      }
      int64_t x = (int64_t)v->num;
      if (k == 1) o->batch = x;
      else if (k == 2) o->epochs = x;
      else o->seed = x;
    }
  }
}

/* ---- data ------------------------------------------------------------------ */

static const Param p_norm[] = {{"mean", T_NUM, REQ | NO_MAX, -1e30, 0},
                               {"std", T_NUM, REQ | MIN_EXCL | NO_MAX, 0, 0}};
static const Sig sig_norm = {"normalize", 2, p_norm, 2, "normalize(mean=0.2860, std=0.3530)"};
static const Param p_csv[] = {{"column", T_INT, 0, 0, BIG}, {"columns", T_INTLIST, 0, 0, BIG}};
static const Sig sig_csv = {"csv", 0, p_csv, 2, "csv(column=0)"};

static bool file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* A relative path resolves against the spec's folder, then ./data, then
 * /usr/share/datasets. */
static void resolve_path(Sema *s, DataBind *db) {
  const char *p = db->decl->path->str;
  db->path = (char *)p;
  if (p[0] == '/') {
    db->found = file_exists(p);
  } else {
    const char *dirs[] = {s->dir, "data", "/usr/share/datasets"};
    for (int i = 0; i < 3 && !db->found; i++) {
      char *full = arena_printf(s->a, "%s/%s", dirs[i], p);
      if (file_exists(full)) {
        db->path = full;
        db->found = true;
      }
    }
  }
}

/* Checks one binding of a split. Returns false, reporting nothing, when
 * its name is neither an input nor a task: check_data reports those
 * together with what the split leaves unbound. */
static bool check_binding(Sema *s, DataSplit *sp, Binding *b) {
  Model *m = s->m;
  DataBind *db = NEW(DataBind);
  db->decl = b;
  db->csv_column = -1;
  db->input = find_input(m, b->name);
  db->task = find_task(m, b->name);
  if (!db->input && !db->task)
    return false;
  for (int i = 0; i < sp->binds.len; i++) {
    DataBind *o = sp->binds.data[i];
    if (!strcmp(o->decl->name, b->name)) {
      ERR(b->name_span, "data '%s' binds '%s' twice; keep one", sp->split, b->name);
      NOTE(o->decl->name_span, "the first is here");
      return true;
    }
  }
  if (db->task && db->task->derive_from) {
    ERR(b->name_span, "the label of task '%s' is derived by lookup from '%s', "
        "so data does not bind it; remove this line", b->name,
        db->task->derive_from->name);
    return true;
  }
  if (!b->path->str[0]) {
    ERR(b->path->span, "empty data path; write the file's path between the "
        "quotes");
    return true;
  }
  for (int i = 0; i < b->calls.len; i++) {
    Call *c = b->calls.data[i];
    Value *v[2];
    if (!strcmp(c->name, "normalize")) {
      if (db->task) {
        ERR(c->span, "normalize applies to inputs, and '%s' is a label", b->name);
        continue;
      }
      if (db->normalize) {
        ERR(c->span, "normalize is given twice for '%s'", b->name);
        continue;
      }
      if (!bind_args(s, c, &sig_norm, v))
        continue;
      db->normalize = true;
      db->mean = v[0]->num;
      db->std = v[1]->num;
    } else if (!strcmp(c->name, "csv")) {
      if (!bind_args(s, c, &sig_csv, v))
        continue;
      if (db->task && (v[1] || !v[0])) {
        ERR(c->span, "a label is read from one CSV column: csv(column=N)");
        continue;
      }
      if (db->input && (v[0] || !v[1])) {
        ERR(c->span, "an input is read from CSV columns: csv(columns=[...])");
        continue;
      }
      if (db->input && db->input->shape.rank &&
          v[1]->items.len != numel(db->input->shape)) {
        ERR(v[1]->span, "input '%s' is %s, so csv needs %lld columns, not %d",
            b->name, shape_str(s->a, db->input->shape),
            (long long)numel(db->input->shape), v[1]->items.len);
        continue;
      }
      if (v[0])
        db->csv_column = (int)v[0]->num;
      else
        db->csv_columns = v[1]->items;
    } else {
      static const char *const known[] = {"normalize", "csv"};
      unknown_name(s, c->name_span, "data option", c->name, known, 2, NULL, 0,
                   "options: normalize, csv");
    }
  }
  resolve_path(s, db);
  vec_push(s->a, &sp->binds, db);
  return true;
}

static bool binds(DataDecl *d, const char *name) {
  for (int i = 0; i < d->bindings.len; i++)
    if (!strcmp(((Binding *)d->bindings.data[i])->name, name))
      return true;
  return false;
}

/* Whether a data block must bind t's label: it has one, not derived. */
static bool needs_data(Task *t) {
  bool derived = false, labelled = false;
  for (int i = 0; i < t->decl->fields.len; i++) {
    Field *f = t->decl->fields.data[i];
    derived |= f->kind == F_LABEL && f->derive;
    labelled |= f->kind == F_LABEL; /* no label: reported in check_task */
  }
  return labelled && !derived && !t->derive_from;
}

/* The bindings of d that name nothing, and the inputs and labels d leaves
 * unbound, reported as one mistake where they pair up: 'images' for
 * 'image' (close names), or 'labels' for 'digit' (one of each left). */
static void report_unbound(Sema *s, DataDecl *d, Vec *unknown, Vec *missing) {
  Model *m = s->m;
  const char **paired = arena_alloc(s->a, sizeof(char *) * (size_t)(unknown->len + 1));
  for (int i = 0; i < unknown->len; i++) {
    Binding *b = unknown->data[i];
    paired[i] = suggest(b->name, (const char *const *)missing->data, missing->len);
    for (int j = 0; paired[i] && j < missing->len; j++)
      if (missing->data[j] == paired[i])
        missing->data[j] = (void *)""; /* claimed */
  }
  int left = 0, lone = -1;
  for (int j = 0; j < missing->len; j++)
    if (((char *)missing->data[j])[0])
      left++, lone = j;
  int unpaired = 0;
  for (int i = 0; i < unknown->len; i++)
    unpaired += !paired[i];
  for (int i = 0; i < unknown->len; i++) {
    Binding *b = unknown->data[i];
    if (paired[i])
      ERR(b->name_span, "data binds '%s', which is neither an input nor a "
          "task's label; did you mean '%s'?", b->name, paired[i]);
    else if (unpaired == 1 && left == 1 && find_input(m, missing->data[lone]))
      ERR(b->name_span, "data binds '%s', which is neither an input nor a "
          "task's label; the input is '%s'", b->name,
          (char *)missing->data[lone]);
    else if (unpaired == 1 && left == 1)
      ERR(b->name_span, "data binds '%s', which is neither an input nor a "
          "task's label; a task's label is bound by the task's name: '%s'",
          b->name, (char *)missing->data[lone]);
    else
      ERR(b->name_span, "data binds '%s', which is neither an input nor a "
          "task's label; data binds inputs, and task labels by the task's "
          "name", b->name);
    if (!paired[i] && unpaired == 1 && left == 1)
      missing->data[lone] = (void *)""; /* the same mistake */
  }
  for (int j = 0; j < missing->len; j++) {
    const char *name = missing->data[j];
    if (!name[0])
      continue;
    if (find_input(m, name))
      ERR(d->split_span, "data '%s' does not bind input '%s'; add a line like "
          "'%s: \"FILE\"'", d->split, name, name);
    else
      ERR(d->split_span, "data '%s' does not bind the label of task '%s'; add "
          "a line like '%s: \"FILE\"'", d->split, name, name);
  }
}

static void check_data(Sema *s) {
  static const char *const splits[] = {"train", "test", "valid"};
  Model *m = s->m;
  for (int i = 0; i < s->spec->data.len; i++) {
    DataDecl *d = s->spec->data.data[i];
    int k = -1;
    for (int j = 0; j < 3; j++)
      if (!strcmp(d->split, splits[j]))
        k = j;
    if (k < 0) {
      static Alias aliases[] = {
          {"training", "train"}, {"testing", "test"}, {"validation", "valid"},
          {"val", "valid"}, {"dev", "valid"},
      };
      unknown_name(s, d->split_span, "data split", d->split, splits, 3,
                   aliases, NELEMS(aliases), "splits: train, test, valid");
      continue;
    }
    DataSplit *sp = NULL;
    for (int j = 0; j < m->splits.len; j++)
      if (!strcmp(((DataSplit *)m->splits.data[j])->split, d->split))
        sp = m->splits.data[j];
    if (sp) {
      ERR(d->split_span, "data '%s' is given twice; keep one block per split",
          d->split);
      continue;
    }
    sp = NEW(DataSplit);
    sp->split = d->split;
    vec_push(s->a, &m->splits, sp);
    Vec unknown = {0}; /* Binding*: names neither an input nor a task */
    for (int j = 0; j < d->bindings.len; j++)
      if (!check_binding(s, sp, d->bindings.data[j]))
        vec_push(s->a, &unknown, d->bindings.data[j]);
    Vec missing = {0}; /* char*: inputs, then labels, that d leaves unbound */
    for (int j = 0; j < m->inputs.len; j++) {
      Input *in = m->inputs.data[j];
      if (find_input(m, in->name) == in && !binds(d, in->name))
        vec_push(s->a, &missing, in->name); /* a second 'image' is reported once */
    }
    for (int j = 0; j < m->tasks.len; j++) {
      Task *t = m->tasks.data[j];
      if (needs_data(t) && !binds(d, t->name))
        vec_push(s->a, &missing, t->name);
    }
    report_unbound(s, d, &unknown, &missing);
  }
}

/* Warnings about what a correct spec leaves out or leaves unused: missing
 * data files and splits, unused blocks and inputs. Given only when there
 * are no errors, where they would mostly echo an error (a misspelt block
 * name leaves the block unused). */
static void completeness_warnings(Sema *s) {
  static const char *const splits[] = {"train", "test"};
  Model *m = s->m;
  for (int i = 0; i < m->splits.len; i++) {
    DataSplit *sp = m->splits.data[i];
    for (int j = 0; j < sp->binds.len; j++) {
      DataBind *db = sp->binds.data[j];
      const char *p = db->decl->path->str;
      if (!db->found)
        WARN(db->decl->path->span, "data file '%s' not found%s", p,
             p[0] == '/' ? "" : arena_printf(s->a, " (looked in %s, ./data "
                                             "and /usr/share/datasets)", s->dir));
    }
  }
  if (m->splits.len) {
    for (int k = 0; k < 2; k++) {
      bool have = false;
      for (int j = 0; j < m->splits.len; j++)
        have |= !strcmp(((DataSplit *)m->splits.data[j])->split, splits[k]);
      if (!have)
        WARN(((DataDecl *)s->spec->data.data[0])->split_span,
             "no data '%s' block; training will need --data %s.NAME=PATH for "
             "every input and label", splits[k], splits[k]);
    }
  }
  for (int i = 0; i < m->blocks.len; i++) {
    Block *b = m->blocks.data[i];
    if (!b->users.len)
      WARN(b->decl->name_span, "block '%s' is used by no task", b->name);
  }
  for (int i = 0; i < m->inputs.len; i++) {
    Input *in = m->inputs.data[i];
    if (!in->used && m->tasks.len)
      WARN(in->decl->span, "input '%s' is used by no task", in->name);
  }
}

/* ---- the model ------------------------------------------------------------ */

static char *model_name(Sema *s, const char *path) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t n = strcspn(base, ".");
  char *name = arena_strndup(s->a, base, n ? n : strlen(base));
  for (char *p = name; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
          (*p >= '0' && *p <= '9') || *p == '_'))
      *p = '_';
  if (!name[0] || (name[0] >= '0' && name[0] <= '9'))
    name = arena_printf(s->a, "m_%s", name);
  return name;
}

/* Just past the spec's last token (comments and white space skipped), for
 * "the spec declares no task". */
static Span end_span(Source *src) {
  int last = 0;
  bool in_str = false;
  for (int i = 0; i < src->len; i++) {
    char c = src->text[i];
    if (in_str && c == '\n') {
      in_str = false;
    } else if (in_str) {
      if (c == '\\' && i + 1 < src->len && src->text[i + 1] != '\n')
        i++;
      else if (c == '"')
        in_str = false;
      last = i + 1;
    } else if (c == '#') {
      while (i + 1 < src->len && src->text[i + 1] != '\n')
        i++;
    } else if (c == '"') {
      in_str = true;
      last = i + 1;
    } else if (!strchr(" \t\r\n\f\v", c)) {
      last = i + 1;
    }
  }
  return (Span){last, last};
}

/* Totals: shared parameters once, private copies per task, inline layers;
 * a shared block's FLOPs once per distinct value it is applied to. */
static void totals(Sema *s) {
  Model *m = s->m;
  Vec seen = {0}; /* prefix keys of shared block applications */
  for (int i = 0; i < m->blocks.len; i++) {
    Block *b = m->blocks.data[i];
    if (!b->is_private && b->users.len)
      m->shared_params = sat_add(m->shared_params, b->params);
  }
  m->total_params = m->shared_params;
  for (int i = 0; i < m->tasks.len; i++) {
    Task *t = m->tasks.data[i];
    char *key = arena_strdup(s->a, t->input ? t->input->name : "?");
    bool shared_prefix = true;
    for (int j = 0; j < t->steps.len; j++) {
      Step *st = t->steps.data[j];
      if (st->layer) {
        t->own_params = sat_add(t->own_params, st->layer->params);
        t->flops = sat_add(t->flops, st->layer->flops);
        m->total_flops = sat_add(m->total_flops, st->layer->flops);
        shared_prefix = false;
        continue;
      }
      Block *b = st->block;
      t->flops = sat_add(t->flops, b->flops);
      if (b->is_private) {
        t->own_params = sat_add(t->own_params, b->params);
        m->total_flops = sat_add(m->total_flops, b->flops);
        shared_prefix = false;
        continue;
      }
      key = arena_printf(s->a, "%s>%s", key, b->name);
      bool dup = false;
      for (int k = 0; k < seen.len && shared_prefix; k++)
        dup |= !strcmp(seen.data[k], key);
      if (!shared_prefix)
        key = arena_printf(s->a, "%s#%d", key, t->index);
      if (!dup) {
        vec_push(s->a, &seen, key);
        m->total_flops = sat_add(m->total_flops, b->flops);
      }
    }
    m->total_params = sat_add(m->total_params, t->own_params);
  }
}

Model *sema(Arena *a, Source *src, Spec *spec, const char *spec_dir) {
  Sema sema_state = {a, src, spec, NULL, spec_dir, false, {0}}, *s = &sema_state;
  int before = src->nerrors;
  names = (Vec){0};
  Model *m = s->m = NEW(Model);
  m->spec = spec;
  m->src = src;
  m->name = spec->model ? spec->model : model_name(s, src->path);

  check_inputs(s);
  check_blocks(s);
  for (int i = 0; i < spec->tasks.len; i++) {
    TaskDecl *d = spec->tasks.data[i];
    if (find_task(m, d->name)) {
      declare(s, "task", d->name, d->name_span);
      continue;
    }
    check_task(s, d);
  }
  if (spec->inputs.len == 0 && spec->tasks.len == 0)
    ERR(end_span(src), "the spec declares no input and no task; a spec needs "
        "at least one of each, like 'input image: f32[784]' and 'task digit "
        "{ label: class(10)  net: image -> dense(10) }'");
  else if (spec->tasks.len == 0)
    ERR(end_span(src), "the spec declares no task; add one, like 'task digit "
        "{ label: class(10)  net: %s -> dense(10) }'",
        ((InputDecl *)spec->inputs.data[0])->name);
  else if (spec->inputs.len == 0 && !s->unknown_inputs.len)
    ERR(end_span(src), "the spec declares no input; add one, like "
        "'input image: f32[1, 28, 28]'");
  resolve_lookups(s);
  for (int i = 0; i < spec->regularize.len; i++)
    check_regularizer(s, spec->regularize.data[i]);
  check_balance(s);
  check_train(s);
  check_data(s);

  if (src->nerrors > before)
    return NULL;
  completeness_warnings(s);
  totals(s);
  return m;
}
