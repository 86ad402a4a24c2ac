/* kir/unit.c: a checked model to everything a back end renders. Two
 * graphs are lowered: training (forward with dropout and batch statistics,
 * the total's gradients, the updates) and evaluation (no dropout, running
 * statistics); their nodes get buffers in the groups every program shares
 * (parameters, gradients, optimizer state, running statistics, the batch's
 * data, hyper[]) or in the program's activation arena; each node becomes a
 * call of a kernel (kir/build.c). Then the passes: dead-code elimination
 * per program (train: what updates and losses need; eval: outputs and
 * losses; the forward pass: outputs alone, from eval's calls) and the
 * memory plan of each. Nothing here renders: back/ does. */
#include "kir/kir.h"
#include "mtl_balance.h"

#include <string.h>
#include <time.h>

#define ALIGN 16 /* floats: 64 bytes */

Buf *kir_new_buf(Unit *u, BufKind kind, DType dt, int64_t size, const char *name, const char *what);
void kir_lower_node(Unit *u, Program *p, Buf **bufs, bool *fused, Node *x);
void kir_fuse(Graph *g, bool *fused);
void kir_copy(Unit *u, Program *p, Buf *from, Buf *to, Node *like);

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int64_t round_up(int64_t x) { return (x + ALIGN - 1) / ALIGN * ALIGN; }

static const char *c_ident(Arena *a, const char *prefix, const char *name) {
  char *s = arena_printf(a, "%s%s", prefix, name);
  for (char *q = s; *q; q++)
    if (*q == '.')
      *q = '_';
  return s;
}

static const char *shape_comment(Arena *a, const Node *n) {
  char buf[96];
  node_shape_text(buf, sizeof buf, n);
  return arena_strdup(a, buf);
}

/* ---- the groups: one layout for every program ------------------------------------ */

/* consecutive 64-byte aligned blocks, one per node; returns the group's size */
static int64_t lay_out(Unit *u, BufKind kind, Vec *nodes, Vec *into, Vec *bufs,
                       const char *prefix) {
  int64_t off = 0;
  for (int i = 0; i < nodes->len; i++) {
    Node *x = nodes->data[i];
    int64_t size = shape_numel(x->shape);
    Buf *b = kir_new_buf(u, kind, DT_F32, size, c_ident(u->a, prefix, x->name),
                         arena_printf(u->a, "%s%s %s", kind == BUF_GRAD ? "gradient of " : "",
                                      x->name, shape_comment(u->a, x)));
    b->offset = off;
    if (into)
      vec_push(u->a, into, x);
    vec_push(u->a, bufs, b);
    off += round_up(size);
  }
  return off;
}

Buf *unit_group_buf(Unit *u, const Node *n) {
  Vec *nodes = n->op == OP_PARAM ? &u->params : n->op == OP_STATE ? &u->states : &u->stats;
  Vec *bufs = n->op == OP_PARAM ? &u->param_bufs : n->op == OP_STATE ? &u->state_bufs
                                                                     : &u->stat_bufs;
  for (int i = 0; i < nodes->len; i++)
    if (!strcmp(((Node *)nodes->data[i])->name, n->name))
      return bufs->data[i];
  unreachable();
  return NULL;
}

static Buf *grad_buf(Unit *u, const Node *param) {
  for (int i = 0; i < u->params.len; i++)
    if (!strcmp(((Node *)u->params.data[i])->name, param->name))
      return u->grad_bufs.data[i];
  unreachable();
  return NULL;
}

static Buf *data_buf(Unit *u, const Node *x) {
  for (int i = 0; i < u->data.len; i++) {
    Node *o = u->data.data[i];
    bool same = x->op == OP_LABEL ? o->op == OP_LABEL && o->task == x->task
                                  : o->op == OP_INPUT && !strcmp(o->name, x->name);
    if (same)
      return u->data_buf.data[i];
  }
  unreachable();
  return NULL;
}

void kir_layout(Unit *u, Graph *g) {
  Arena *a = u->a;
  u->n_params = lay_out(u, BUF_PARAM, &g->params, &u->params, &u->param_bufs, "");
  lay_out(u, BUF_GRAD, &g->params, NULL, &u->grad_bufs, "d_");
  u->n_state = lay_out(u, BUF_STATE, &g->states, &u->states, &u->state_bufs, "");
  u->n_stats = lay_out(u, BUF_STAT, &g->stats, &u->stats, &u->stat_bufs, "");
  int k = 0;
  for (int pass = 0; pass < 2; pass++) {
    Vec *v = pass ? &g->labels : &g->inputs;
    for (int i = 0; i < v->len; i++, k++) {
      Node *x = v->data[i];
      Buf *b = kir_new_buf(u, BUF_DATA, x->dtype, node_numel(x, u->batch_max),
                           c_ident(a, pass ? "label_" : "input_", x->name),
                           arena_printf(a, "%s %s %s", pass ? "label" : "input", x->name,
                                        shape_comment(a, x)));
      b->index = k;
      vec_push(a, &u->data, x);
      vec_push(a, &u->data_buf, b);
    }
  }
  /* per task: its weight; with a gradient method also its pass's seed and
   * its own parameters' weight (mtl_model.h) */
  int T = u->m->tasks.len;
  bool grads = u->m->balance.kind != MTL_BAL_STATIC && mtl_balance_needs(u->m->balance.kind) != 0;
  u->n_hyper = MTL_HYPER_TASKS + (grads ? 3 : 1) * T;
  u->n_bal = g->gram ? shape_numel(g->gram->shape) : 0;
}

/* ---- a program ------------------------------------------------------------------------ */

static int task_of(Graph *g, Vec *v, const Node *n) {
  for (int t = 0; t < v->len; t++)
    if (v->data[t] == n)
      return t;
  (void)g;
  return -1;
}

/* j when x is the value of the j-th regularizer's objective, else -1 */
static int reg_of(Graph *g, const Node *x) {
  for (int i = 0, j = 0; i < g->objectives.len; i++) {
    Objective *o = g->objectives.data[i];
    if (o->kind != OBJ_REG)
      continue;
    if (o->value == x)
      return j;
    j++;
  }
  return -1;
}

/* every node's buffer: a group's, the caller's, or the arena's */
static Buf **node_bufs(Unit *u, Program *p) {
  Graph *g = p->g;
  Arena *a = u->a;
  Buf **bufs = arena_alloc(a, sizeof(Buf *) * (size_t)(g->nodes.len + 1));
  for (int i = 0; i < g->nodes.len; i++) {
    Node *x = g->nodes.data[i];
    int out = task_of(g, &g->outputs, x), loss = task_of(g, &g->losses, x);
    int reg = p->kind == PROG_TRAIN ? reg_of(g, x) : -1;
    Buf *b = NULL;
    switch (x->op) {
    case OP_PARAM: case OP_STATE: case OP_STAT: b = unit_group_buf(u, x); break;
    case OP_INPUT: case OP_LABEL: b = data_buf(u, x); break;
    case OP_HYPER:
      b = kir_new_buf(u, BUF_HYPER, DT_F32, shape_numel(x->shape),
                      arena_printf(a, "hyper_%s", x->name),
                      arena_printf(a, "hyper[%lld], %s", (long long)x->a[0], x->name));
      b->index = (int)x->a[0];
      break;
    case OP_RESHAPE: b = bufs[x->in[0]->id]; break; /* a view */
    default:
      if (op_info[x->op].kind == OPK_U)
        break;
      if (x == g->gram && p->kind == PROG_TRAIN) {
        b = kir_new_buf(u, BUF_BAL, DT_F32, shape_numel(x->shape), "gram",
                        "the Gramian of the tasks' gradients, for the balancer");
      } else if (loss >= 0) {
        b = kir_new_buf(u, BUF_LOSS, DT_F32, 1, arena_printf(a, "loss_%s", x->name),
                        "a task's mean loss");
        b->index = loss;
      } else if (reg >= 0) {
        b = kir_new_buf(u, BUF_LOSS, DT_F32, 1, arena_printf(a, "reg_%d", reg),
                        "a regularizer's value");
        b->index = g->losses.len + reg;
      } else if (out >= 0 && p->kind != PROG_TRAIN) {
        Task *t = g->m->tasks.data[out];
        b = kir_new_buf(u, BUF_OUT, DT_F32, node_numel(x, u->batch_max),
                        arena_printf(a, "out_%s", t->name), "task output");
        b->index = out;
      } else if (x->grad_of && p->kind == PROG_TRAIN) {
        b = grad_buf(u, x->grad_of);
      } else {
        const char *where = x->span.hi > x->span.lo
                                ? arena_printf(a, ", line %d", span_line(g->m->src, x->span.lo))
                                : "";
        b = kir_new_buf(u, BUF_ACT, x->dtype, node_numel(x, u->batch_max),
                        arena_printf(a, "t%d", x->id),
                        arena_printf(a, "%s %s%s", node_op_text(a, x), shape_comment(a, x), where));
      }
    }
    bufs[i] = b;
  }
  return bufs;
}

Program *kir_program(Unit *u, ProgKind kind, const char *name, Graph *g) {
  Program *p = arena_alloc(u->a, sizeof(Program));
  p->kind = kind;
  p->name = name;
  p->g = g;
  Buf **bufs = p->node_buf = node_bufs(u, p);
  bool *fused = arena_alloc(u->a, (size_t)g->nodes.len + 1);
  kir_fuse(g, fused);
  for (int i = 0; i < g->nodes.len; i++)
    if (!fused[i])
      kir_lower_node(u, p, bufs, fused, g->nodes.data[i]);
  /* a task whose output is a view, or another task's output too, gets a
   * copy in its own array */
  for (int t = 0; kind != PROG_TRAIN && t < g->outputs.len; t++) {
    Node *o = g->outputs.data[t];
    Buf *b = bufs[o->id];
    if (b->kind == BUF_OUT && b->index == t)
      continue;
    Buf *dst = kir_new_buf(u, BUF_OUT, DT_F32, node_numel(o, u->batch_max),
                           arena_printf(u->a, "out_%s", ((Task *)g->m->tasks.data[t])->name),
                           "task output");
    dst->index = t;
    kir_copy(u, p, b, dst, o);
  }
  return p;
}

/* the Gramian's terms' inputs, for data parallelism: kept live until
 * train_begin ends, so that the ranks can sum them and make the Gramian
 * of the global batch's gradients (mtl_dist.c) */
static void gram_inputs(Unit *u, Program *p) {
  Graph *g = p->g;
  int T = g->m->tasks.len;
  for (int i = 0; g->gram && i < g->nodes.len; i++) {
    Node *x = g->nodes.data[i];
    if (x->op != OP_GRAM)
      continue;
    MTLC_ASSERT(x->nin == T && x->id < g->split);
    for (int t = 0; t < T; t++) {
      Buf *b = p->node_buf[x->in[t]->id];
      MTLC_ASSERT(b && b->kind == BUF_ACT && !b->scratch && !x->in[t]->batched);
      vec_push(u->a, &u->gram_in, b);
      vec_push(u->a, &p->keep, b);
    }
  }
}

/* where train_end's calls begin: the first call of a node after the
 * balancing pass's split */
static void train_split(Program *p) {
  p->split = p->calls.len;
  if (!p->g->split)
    return;
  for (int i = p->calls.len - 1; i >= 0; i--)
    if (((KCall *)p->calls.data[i])->node->id >= p->g->split)
      p->split = i;
}

/* A kernel called for several spec entities is named after its op and its
 * first caller's shape instead: dense1_matmul_784x128, not one tower's. */
static void name_shared_kernels(Unit *u) {
  Program *progs[3] = {u->train, u->eval, u->forward};
  for (int i = 0; i < u->kernels.len; i++) {
    Kernel *k = u->kernels.data[i];
    const char *where = NULL;
    Node *first = NULL;
    bool many = false;
    for (int q = 0; q < 3; q++)
      for (int c = 0; progs[q] && c < progs[q]->calls.len; c++) {
        KCall *call = progs[q]->calls.data[c];
        if (call->k != k || !call->node->where)
          continue;
        if (!first)
          first = call->node, where = call->node->where;
        many |= strcmp(where, call->node->where) != 0;
      }
    if (!many || !first)
      continue;
    char sh[96];
    int n = snprintf(sh, sizeof sh, "%s", node_op_text(u->a, first));
    for (int d = 0; d < first->shape.rank && n < (int)sizeof sh - 24; d++)
      n += snprintf(sh + n, sizeof sh - (size_t)n, "%s%lld", d ? "x" : "_", (long long)first->shape.d[d]);
    if (first->shape.rank == 0 && !first->batched) /* "const" alone is C's keyword */
      snprintf(sh + n, sizeof sh - (size_t)n, "_scalar");
    k->name = arena_strdup(u->a, sh);
  }
}

/* The names the generated code gives its model's entry points (NAME_init,
 * ...) and the macros of NAME.h (NAME_BATCH_MAX, ...); kir_exports are the
 * linker's, the rest stay in the translation unit. */
const char *const kir_exports[] = {"init", "train_step", "eval_step", "forward", "info",
                                   "predict", "grad_step", "update_step", "train_begin",
                                   "train_end", NULL};
static const char *const header_macros[] = {"BATCH_MAX", "N_PARAMS", "N_STATE", "N_STATS",
                                            "N_ACT", "N_HYPER", "N_TASKS", "N_WORK", NULL};

/* Names a generated kernel may not take: C's keywords (C23's too), what
 * the generated code's headers declare (math.h with its float and long
 * double forms, string.h, stdint.h), its inline helpers, and the entry
 * points' parameters, which would hide a kernel of the same name. */
static const char *const c_names[] = {
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
    "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
    "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch",
    "typedef", "union", "unsigned", "void", "volatile", "while", "bool", "true", "false",
    "alignas", "alignof", "constexpr", "nullptr", "static_assert", "thread_local", "typeof",
    "typeof_unqual", "main", "imax", "imin", "fmax_", "fmin_", "params", "grads", "state",
    "stats", "act", "data", "hyper", "seed", "losses", "outputs", "int8_t", "int16_t",
    "int32_t", "int64_t", "uint8_t", "uint16_t", "uint32_t", "uint64_t", "intptr_t",
    "uintptr_t", "intmax_t", "uintmax_t", "size_t", "ptrdiff_t", "float_t", "double_t",
    "math_errhandling", "fpclassify", "isfinite", "isinf", "isnan", "isnormal", "signbit",
    "isgreater", "isgreaterequal", "isless", "islessequal", "islessgreater", "isunordered",
    "memcpy", "memmove", "memset", "memcmp", "memchr", "memccpy", "mempcpy", "memmem",
    "memrchr", "rawmemchr", "strcpy", "strncpy", "strcat", "strncat", "strcmp", "strncmp",
    "strcoll", "strxfrm", "strchr", "strrchr", "strspn", "strcspn", "strpbrk", "strstr",
    "strtok", "strtok_r", "strerror", "strerror_r", "strerror_l", "strcoll_l", "strxfrm_l",
    "strlen", "strnlen", "strdup", "strndup", "stpcpy", "stpncpy", "strsignal", "strcasestr",
    "strchrnul", "strsep", "strverscmp", "strfry", "memfrob", "basename", "explicit_bzero",
    "strlcpy", "strlcat", "index", "rindex", "bcopy", "bzero", "bcmp", "ffs", NULL};
/* math.h's functions; each also with an f and an l */
static const char *const math_names[] = {
    "acos", "asin", "atan", "atan2", "cos", "sin", "tan", "acosh", "asinh", "atanh", "cosh",
    "sinh", "tanh", "exp", "exp2", "expm1", "exp10", "pow10", "frexp", "ilogb", "ldexp",
    "log", "log10", "log1p", "log2", "logb", "modf", "scalbn", "scalbln", "scalb", "cbrt",
    "fabs", "hypot", "pow", "sqrt", "erf", "erfc", "lgamma", "lgamma_r", "tgamma", "gamma",
    "gamma_r", "ceil", "floor", "nearbyint", "rint", "lrint", "llrint", "round", "lround",
    "llround", "trunc", "fmod", "remainder", "remquo", "copysign", "nan", "nextafter",
    "nexttoward", "nextup", "nextdown", "fdim", "fmax", "fmin", "fma", "j0", "j1", "jn",
    "y0", "y1", "yn", "drem", "finite", "significand", "sincos", "roundeven", "fromfp",
    "ufromfp", "fmaxmag", "fminmag", "canonicalize", "totalorder", "totalordermag",
    "getpayload", "setpayload", "setpayloadsig", NULL};

/* Whether a name is in a name space the generated code may not take: the
 * runtime's (mtl_, MTL_, Mtl), the implementation's (a leading underscore)
 * or that of the model's description's tables (NAME_info_ and a letter;
 * NAME_info_2 is free). */
static bool reserved(Unit *u, const char *name) {
  size_t n = strlen(u->m->name);
  return !strncmp(name, "mtl_", 4) || !strncmp(name, "MTL_", 4) || !strncmp(name, "Mtl", 3) ||
         name[0] == '_' || (!strncmp(name, u->m->name, n) && !strncmp(name + n, "_info_", 6) &&
          !(name[n + 6] >= '0' && name[n + 6] <= '9'));
}

/* Gives every constant table and kernel a name of its own that nothing
 * else in the generated code (or what it includes) has: a second
 * matmul_128 is matmul_128_2, a table named like the model's NAME_init is
 * NAME_init_2, and a kernel that would sit in a reserved name space is
 * prefixed (k_mtl_scale). A spec's names cannot change what code runs. */
static void unique_names(Unit *u) {
  Map taken = {0};
  const char *model = u->m->name;
  for (int i = 0; kir_exports[i]; i++)
    map_put(u->a, &taken, arena_printf(u->a, "%s_%s", model, kir_exports[i]), u);
  for (int i = 0; header_macros[i]; i++)
    map_put(u->a, &taken, arena_printf(u->a, "%s_%s", model, header_macros[i]), u);
  for (int i = 0; c_names[i]; i++)
    map_put(u->a, &taken, c_names[i], u);
  for (int i = 0; math_names[i]; i++) {
    map_put(u->a, &taken, math_names[i], u);
    map_put(u->a, &taken, arena_printf(u->a, "%sf", math_names[i]), u);
    map_put(u->a, &taken, arena_printf(u->a, "%sl", math_names[i]), u);
  }
  int nk = u->kernels.len, nb = u->bufs.len;
  for (int i = 0; i < nb + nk; i++) {
    const char **name;
    if (i < nb) {
      Buf *b = u->bufs.data[i];
      if (b->kind != BUF_CONST)
        continue;
      name = &b->name;
    } else {
      name = &((Kernel *)u->kernels.data[i - nb])->name;
    }
    const char *base = *name;
    while (reserved(u, base))
      base = arena_printf(u->a, "k_%s", base);
    *name = base;
    for (int k = 2; map_get(&taken, *name); k++)
      *name = arena_printf(u->a, "%s_%d", base, k);
    map_put(u->a, &taken, *name, u);
  }
}

/* a parameter is a group's aligned block when every call passes one */
static void param_alignment(Unit *u) {
  for (int i = 0; i < u->kernels.len; i++) {
    Kernel *k = u->kernels.data[i];
    for (int j = 0; j < k->nparams; j++)
      k->params[j].group = true;
  }
  Program *progs[3] = {u->train, u->eval, u->forward};
  for (int q = 0; q < 3; q++)
    for (int c = 0; progs[q] && c < progs[q]->calls.len; c++) {
      KCall *call = progs[q]->calls.data[c];
      for (int j = 0; j < call->k->nparams; j++) {
        BufKind b = call->args[j]->kind;
        if (!(b == BUF_PARAM || b == BUF_GRAD || b == BUF_STATE || b == BUF_STAT ||
              b == BUF_ACT || b == BUF_CONST))
          call->k->params[j].group = false;
      }
    }
}

/* whether one of p's calls [from, to) writes b */
static bool written_since(const Program *p, int from, int to, const Buf *b) {
  for (int i = from; i < to; i++) {
    KCall *c = p->calls.data[i];
    for (int j = 0; j < c->k->nparams; j++)
      if (c->args[j] == b && c->k->params[j].written)
        return true;
  }
  return false;
}

/* train's calls from `from` (0, or under a balance method that weighs
 * losses train_end's first) with (update) or without (grad) the
 * optimizer's step (the graph's nodes from step_start: clipping, which
 * needs the complete gradients, and the updates), in train's arena: the
 * step reads parameters, gradients, optimizer state, hyper[] and what its
 * own calls wrote, and nothing else lives across the split */
static Program *train_part(Unit *u, const char *name, bool update, int step_start, int from) {
  Program *p = arena_alloc(u->a, sizeof(Program));
  *p = *u->train;
  p->name = name;
  p->calls = (Vec){0};
  p->split = 0;
  int first = (int)u->train->calls.len;
  for (int i = 0; i < u->train->calls.len; i++) {
    KCall *c = u->train->calls.data[i];
    bool is_update = c->node->id >= step_start;
    MTLC_ASSERT(i >= from || !is_update);
    if (is_update != update || i < from)
      continue;
    if (update && first > i)
      first = i;
    for (int j = 0; update && j < c->k->nparams; j++)
      MTLC_ASSERT(c->args[j]->kind != BUF_ACT || c->args[j]->scratch ||
                  !c->k->params[j].read || written_since(u->train, first, i, c->args[j]));
    vec_push(u->a, &p->calls, c);
    c->k->ncalls++;
  }
  return p;
}

/* the kernels no program calls any more */
static void drop_uncalled(Unit *u) {
  int k = 0;
  for (int i = 0; i < u->kernels.len; i++)
    if (((Kernel *)u->kernels.data[i])->ncalls > 0)
      u->kernels.data[k++] = u->kernels.data[i];
  u->kernels.len = k;
}

/* what every unit gets once its programs are final: the kernels no call
 * uses dropped, shared kernels named by shape, every name unique,
 * parameter alignment */
void kir_finish(Unit *u) {
  drop_uncalled(u);
  name_shared_kernels(u);
  unique_names(u);
  param_alignment(u);
}

Unit *build_unit(Arena *a, Model *m, int64_t batch_max) {
  double t0 = now();
  Unit *u = arena_alloc(a, sizeof(Unit));
  u->m = m;
  u->a = a;
  u->batch_max = batch_max;

  Graph *tg = lower(a, m, true);
  double t1 = now();
  if (m->balance.kind == MTL_BAL_STATIC)
    autodiff(tg);
  else
    balance_autodiff(tg);
  add_updates(tg);
  double t2 = now();
  kir_layout(u, tg);
  u->train = kir_program(u, PROG_TRAIN, "train_step", tg);
  kir_dce(u->train, 1u << BUF_GRAD | 1u << BUF_PARAM | 1u << BUF_STATE | 1u << BUF_STAT |
                        1u << BUF_LOSS | 1u << BUF_BAL);
  train_split(u->train);
  gram_inputs(u, u->train);
  kir_plan(u, u->train);
  /* the halves of data parallelism: of train_step, or of train_end */
  int from = m->balance.kind == MTL_BAL_STATIC ? 0 : u->train->split;
  u->grad = train_part(u, "grad_step", false, tg->step_start, from);
  u->update = train_part(u, "update_step", true, tg->step_start, from);

  u->eval = kir_program(u, PROG_EVAL, "eval_step", lower(a, m, false));
  u->eval->split = u->eval->calls.len;
  u->forward = arena_alloc(a, sizeof(Program));
  *u->forward = *u->eval;
  u->forward->kind = PROG_FORWARD;
  u->forward->name = "forward";
  u->forward->calls = (Vec){0};
  for (int i = 0; i < u->eval->calls.len; i++) {
    vec_push(a, &u->forward->calls, u->eval->calls.data[i]);
    ((KCall *)u->eval->calls.data[i])->k->ncalls++;
  }
  kir_dce(u->eval, 1u << BUF_OUT | 1u << BUF_LOSS);
  kir_plan(u, u->eval);
  kir_dce(u->forward, 1u << BUF_OUT);
  kir_plan(u, u->forward);
  /* the forward pass reads no label */
  for (int i = 0; i < u->forward->calls.len; i++) {
    KCall *c = u->forward->calls.data[i];
    for (int j = 0; j < c->k->nparams; j++)
      MTLC_ASSERT(c->args[j]->kind != BUF_DATA || c->args[j]->index < m->inputs.len);
  }
  kir_finish(u);

  u->n_act = u->train->act_size;
  if (u->eval->act_size > u->n_act)
    u->n_act = u->eval->act_size;
  if (u->forward->act_size > u->n_act)
    u->n_act = u->forward->act_size;
  u->t_lower = t1 - t0;
  u->t_autodiff = t2 - t1;
  u->t_kernels = now() - t2;
  return u;
}
