/* check/sema.c: gives a parsed spec its meaning and checks it: the driver
 * of the checks (inputs, blocks, tasks and their nets, lookups,
 * regularizers, balance, the train block, data), the names every check
 * looks up, and the model's totals. Every error found is reported, each
 * once; a step whose input shape is unknown is not checked further, so one
 * mistake does not cascade. The result is a Model: what lowering and the
 * summary read. Nothing here allocates outside the arena or touches data
 * files beyond asking whether they exist (check/data.c). */
#include "check/sema.h"

#include <stddef.h>
#include <string.h>

const char *shape_str(Arena *a, Shape sh) {
  char buf[128];
  shape_text(buf, sizeof buf, sh);
  return arena_strdup(a, buf);
}

typedef struct {
  const char *what; /* "input", "block", "task" */
  const char *name;
  Span span;
} Name;

void declare(Sema *s, const char *what, const char *name, Span sp) {
  Name *n = map_get(&s->names, name);
  if (n) {
    if (!strcmp(n->what, what))
      ERR(sp, "two %ss are named '%s'; rename one", what, name);
    else
      ERR(sp, "'%s' is already the name of %s %s; a %s needs another name",
          name, !strcmp(n->what, "input") ? "an" : "a", n->what, what);
    NOTE(n->span, "'%s' first declared here", name);
    return;
  }
  n = NEW(Name);
  n->what = what;
  n->name = name;
  n->span = sp;
  map_put(s->a, &s->names, name, n);
}

Input *find_input(Model *m, const char *name) { return map_get(&m->input_at, name); }
Block *find_block(Model *m, const char *name) { return map_get(&m->block_at, name); }
Task *find_task(Model *m, const char *name) { return map_get(&m->task_at, name); }

/* Names of one kind, for "did you mean". */
const char **name_list(Sema *s, Vec *v, size_t name_off, int *n,
                              bool with_layers) {
  const char **out = arena_alloc(s->a, sizeof(char *) * (size_t)(v->len + NUM_LAYERS));
  int k = 0;
  for (int i = 0; i < v->len; i++)
    out[k++] = *(const char **)((char *)v->data[i] + name_off);
  if (with_layers)
    for (int i = 0; i < NUM_LAYERS; i++)
      out[k++] = layer_rules[i].name;
  *n = k;
  return out;
}

static void check_inputs(Sema *s) {
  for (int i = 0; i < s->spec->inputs.len; i++) {
    InputDecl *d = s->spec->inputs.data[i];
    declare(s, "input", d->name, d->span);
    Input *in = NEW(Input);
    in->decl = d;
    in->name = d->name;
    in->dtype = d->dtype;
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
      ERR(v->span, "input '%s' has %d dimensions; mtlc takes a vector [D], a "
          "sequence [T, D] or an image [C, H, W]", d->name, d->dims.len);
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
    if (ok && shape_numel(in->shape) > MAX_ELEMS) {
      ERR(d->span, "input '%s' is too large", d->name);
      ok = false;
    }
    if (!ok)
      in->shape.rank = 0; /* unknown: tasks that start here are not shaped */
    norm_layout(in);
    vec_push(s->a, &s->m->inputs, in);
    map_put(s->a, &s->m->input_at, in->name, in);
  }
}

const char *label_str(Sema *s, Task *t) {
  switch (t->label) {
  case LBL_CLASS: return arena_printf(s->a, "class(%lld)", (long long)t->label_n);
  case LBL_BINARY: return "binary";
  case LBL_REAL: return arena_printf(s->a, "real[%lld]", (long long)t->label_n);
  }
  unreachable();
  return NULL;
}

/* Whether name is in v; adds it if not. For reporting a name once. */
bool reported(Sema *s, Vec *v, const char *name) {
  for (int i = 0; i < v->len; i++)
    if (!strcmp(v->data[i], name))
      return true;
  vec_push(s->a, v, (void *)name);
  return false;
}

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

/* Totals: shared parameters once (shared blocks, shared experts, the
 * stitches' matrices), private copies, a task's own experts and gates per
 * task, inline layers; the FLOPs of each value of the nets once, however
 * many tasks read it. */
static void totals(Sema *s) {
  Model *m = s->m;
  for (int i = 0; i < m->blocks.len; i++) {
    Block *b = m->blocks.data[i];
    if (!b->users.len)
      continue;
    int64_t shared = b->is_experts ? sat_mul(b->count, b->params)
                     : b->is_private ? b->stitch_params : b->params;
    m->shared_params = sat_add(m->shared_params, shared);
  }
  m->total_params = m->shared_params;
  for (int i = 0; i < m->vals.len; i++)
    m->total_flops = sat_add(m->total_flops, ((NetVal *)m->vals.data[i])->flops);
  for (int i = 0; i < m->tasks.len; i++) {
    Task *t = m->tasks.data[i];
    for (int j = 0; j < t->steps.len; j++) {
      Step *st = t->steps.data[j];
      Block *b = st->block;
      if (st->layer) {
        t->own_params = sat_add(t->own_params, st->layer->params);
        t->flops = sat_add(t->flops, st->layer->flops);
      } else if (b->is_experts) {
        t->flops = sat_add(t->flops, sat_add(sat_mul(b->count + b->nprivate, b->flops),
                                             sat_add(b->gate_flops, b->sum_flops)));
        t->own_params = sat_add(t->own_params,
                                sat_add(sat_mul(b->nprivate, b->params), b->gate_params));
      } else {
        t->flops = sat_add(t->flops, b->flops);
        if (b->is_private)
          t->own_params = sat_add(t->own_params, b->params);
      }
    }
    m->total_params = sat_add(m->total_params, t->own_params);
  }
}

/* Warnings about what a correct spec leaves unused. Given only when there
 * are no errors, where they would mostly echo an error (a misspelt block
 * name leaves the block unused). */
static void unused_warnings(Sema *s) {
  Model *m = s->m;
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

/* a stitch's matrix is every copy's; a gate is its task's own */
Ownership netval_ownership(const NetVal *v) {
  if (v->kind == NV_STITCH)
    return OWN_SHARED;
  if (v->kind == NV_GATE)
    return OWN_TASK;
  return !v->copy ? OWN_SHARED : v->block ? OWN_PRIVATE : OWN_TASK;
}

Model *sema(Arena *a, Source *src, Spec *spec, const char *spec_dir) {
  Sema sema_state = {.a = a, .src = src, .spec = spec, .dir = spec_dir}, *s = &sema_state;
  int before = src->nerrors;
  Model *m = s->m = NEW(Model);
  m->spec = spec;
  m->src = src;
  m->name = spec->model ? spec->model : model_name(s, src->path);

  check_inputs(s);
  check_blocks(s);
  if (spec->tasks.len > MAX_TASKS)
    ERR(((TaskDecl *)spec->tasks.data[MAX_TASKS])->name_span, "a model has at most %d tasks, "
        "and this spec declares %d; this is task %d", MAX_TASKS, spec->tasks.len, MAX_TASKS + 1);
  for (int i = 0; i < spec->tasks.len && i < MAX_TASKS; i++) {
    TaskDecl *d = spec->tasks.data[i];
    if (find_task(m, d->name)) {
      declare(s, "task", d->name, d->name_span);
      continue;
    }
    check_task(s, d);
  }
  link_stitches(s);
  check_sharing_names(s);
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
  input_vocabs(s);
  for (int i = 0; i < spec->regularize.len; i++)
    check_regularizer(s, spec->regularize.data[i]);
  check_balance(s);
  check_train(s);
  check_data(s);

  if (src->nerrors > before)
    return NULL;
  data_warnings(s);
  unused_warnings(s);
  totals(s);
  return m;
}

