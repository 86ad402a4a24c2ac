/* check/balance.c: `balance: METHOD(args)`, the methods of LANGUAGE.md
 * version 1's table (runtime/mtl_balance.def): the method's name (another
 * library's name answered with mtl's), its arguments with LibMTL's
 * defaults, and what it asks of the spec: at least two tasks; for a method
 * that combines gradients, parameters shared by the tasks; for mgda(on=),
 * a shared block applied once, to one value, by every task. With a method
 * other than static a task's `weight:` is an error naming the method. What
 * the method does is graph/balance.c's and the runtime's. */
#include "check/sema.h"
#include "mtl_balance.h"

#include <string.h>
#include <strings.h>

static const char *const method_names[] = {
#define BALANCE(id, name, needs, param) name,
#include "mtl_balance.def"
#undef BALANCE
};

/* the arguments of each method, in the order the runtime reads them
 * (MtlModelInfo.balance_args), with their defaults */
typedef struct {
  const Param *params;
  int n;
  const double *dflt;
  const char *example;
} MethodSig;

static const Param p_dwa[] = {{"T", T_NUM, MIN_EXCL | NO_MAX, 0, 0}};
static const Param p_famo[] = {{"gamma", T_NUM, NO_MAX, 0, 0}, {"lr", T_NUM, MIN_EXCL | NO_MAX, 0, 0}};
static const Param p_gradnorm[] = {{"alpha", T_NUM, NO_MAX, 0, 0}};
static const Param p_mgda[] = {{"on", T_IDENT, 0, 0, 0}};
static const Param p_cagrad[] = {{"c", T_NUM, NO_MAX, 0, 0}};
static const Param p_nash[] = {{"update_every", T_INT, 0, 1, BIG},
                               {"max_iter", T_INT, 0, 1, 1000},
                               {"max_norm", T_NUM, NO_MAX, 0, 0}};
static const Param p_upgrad[] = {{"norm_eps", T_NUM, NO_MAX, 0, 0},
                                 {"reg_eps", T_NUM, NO_MAX, 0, 0}};
static const double d_dwa[] = {2}, d_famo[] = {0.01, 0.025}, d_gradnorm[] = {1.5};
static const double d_cagrad[] = {0.5}, d_nash[] = {1, 20, 1.0}, d_upgrad[] = {1e-4, 1e-4};

static const MethodSig method_sigs[MTL_BAL_COUNT] = {
    [MTL_BAL_DWA] = {p_dwa, 1, d_dwa, "dwa(T=2)"},
    [MTL_BAL_FAMO] = {p_famo, 2, d_famo, "famo(gamma=0.01, lr=0.025)"},
    [MTL_BAL_GRADNORM] = {p_gradnorm, 1, d_gradnorm, "gradnorm(alpha=1.5)"},
    [MTL_BAL_MGDA] = {p_mgda, 1, NULL, "mgda(on=trunk)"},
    [MTL_BAL_CAGRAD] = {p_cagrad, 1, d_cagrad, "cagrad(c=0.5)"},
    [MTL_BAL_NASH_MTL] = {p_nash, 3, d_nash, "nash_mtl(update_every=1, max_iter=20)"},
    [MTL_BAL_UPGRAD] = {p_upgrad, 2, d_upgrad, "upgrad"},
};

/* the method of this name, or -1 (mgda(on=) is MGDA_UB: bound later) */
static int find_method(const char *name) {
  for (int k = 0; k < MTL_BAL_COUNT; k++)
    if (k != MTL_BAL_MGDA_UB && !strcmp(name, method_names[k]))
      return k;
  return -1;
}

static void unknown_method(Sema *s, Call *c) {
  static Alias aliases[] = {
      {"ew", " equal weights are 'static' (every task's weight 1 by default)"},
      {"equal", " equal weights are 'static' (every task's weight 1 by default)"},
      {"uw", "uncertainty"},          {"kendall", "uncertainty"},
      {"mgda_ub", " MGDA-UB is mgda(on=BLOCK), BLOCK the shared block whose output it uses"},
      {"mgdaub", " MGDA-UB is mgda(on=BLOCK), BLOCK the shared block whose output it uses"},
      {"nash", "nash_mtl"},           {"nashmtl", "nash_mtl"},
      {"aligned", "aligned_mtl"},     {"alignedmtl", "aligned_mtl"},
      {"imtl_g", "imtl"},             {"imtlg", "imtl"},
  };
  const char *known[MTL_BAL_COUNT];
  int n = 0;
  for (int k = 0; k < MTL_BAL_COUNT; k++)
    if (k != MTL_BAL_MGDA_UB)
      known[n++] = method_names[k];
  char *list = "methods:";
  for (int i = 0; i < n; i++)
    list = arena_printf(s->a, "%s%s %s", list, i ? "," : "", known[i]);
  char lower[64];
  size_t k = 0;
  for (; c->name[k] && k + 1 < sizeof lower; k++)
    lower[k] = (char)(c->name[k] >= 'A' && c->name[k] <= 'Z' ? c->name[k] + 32 : c->name[k]);
  lower[k] = 0;
  int same = find_method(lower);
  if (same >= 0) {
    ERR(c->name_span, "unknown balance method '%s'; mtl writes it '%s'", c->name,
        method_names[same]);
    return;
  }
  unknown_name(s, c->name_span, "balance method", c->name, known, n, aliases, NELEMS(aliases),
               list);
}

/* mgda(on=BLOCK): a shared block that every task applies to one value */
static bool check_on(Sema *s, Balance *bal, Value *v) {
  Model *m = s->m;
  Block *b = find_block(m, v->str);
  if (!b) {
    int n;
    const char **cands = name_list(s, &m->blocks, offsetof(Block, name), &n, false);
    const char *hint = suggest(v->str, cands, n);
    if (hint)
      ERR(v->span, "unknown block '%s'; did you mean '%s'?", v->str, hint);
    else
      ERR(v->span, "unknown block '%s'; mgda(on=) names a shared block whose output the "
          "tasks' heads read", v->str);
    return false;
  }
  if (b->is_private) {
    ERR(v->span, "mgda(on=%s) needs a shared block, and '%s' is private (a copy per task); "
        "declare it 'shared %s'", b->name, b->name, b->name);
    return false;
  }
  for (int i = 0; i < m->tasks.len; i++) {
    Task *t = m->tasks.data[i];
    bool uses = false;
    for (int j = 0; j < b->users.len; j++)
      uses |= b->users.data[j] == t;
    if (!uses) {
      ERR(v->span, "mgda(on=%s) combines every task's gradient of %s's output, and task '%s' "
          "does not use %s", b->name, b->name, t->name, b->name);
      return false;
    }
  }
  NetVal *out = NULL;
  int uses = 0;
  for (int i = 0; i < s->applied.len; i++) {
    Applied *ap = s->applied.data[i];
    if (ap->block == b)
      out = ap->out, uses++;
  }
  if (uses != 1) {
    if (uses > 1)
      ERR(v->span, "mgda(on=%s) needs one output of %s, and the tasks apply it to %d "
          "different values", b->name, b->name, uses);
    return false; /* none: the nets have errors, reported */
  }
  bal->on = b;
  bal->on_val = out;
  return true;
}

/* what the method asks of the spec */
static void check_fits(Sema *s, Balance *bal, Call *c) {
  Model *m = s->m;
  const char *name = method_names[bal->kind];
  if (bal->kind == MTL_BAL_STATIC)
    return; /* the tasks' weights: any number of tasks, weights allowed */
  if (m->tasks.len < 2) {
    ERR(c->name_span, "balance %s weighs tasks against each other, and the spec has only "
        "one task; use static, or add a task", name);
    return;
  }
  if (mtl_balance_needs(bal->kind) != 0 && m->tasks.len > 30) {
    ERR(c->name_span, "balance %s combines up to 30 tasks' gradients, and the spec has %d",
        name, m->tasks.len);
    return;
  }
  bool shared = false;
  for (int i = 0; i < m->blocks.len; i++) {
    Block *b = m->blocks.data[i];
    shared |= !b->is_private && b->users.len > 0 && b->params > 0;
  }
  if (mtl_balance_needs(bal->kind) == 1 && !shared)
    ERR(c->name_span, "balance %s combines the tasks' gradients of the shared parameters, and "
        "the spec shares none; put the common layers in a 'shared' block, or weigh the "
        "losses instead (uncertainty, dwa, rlw, gls, famo)", name);
  for (int i = 0; i < m->tasks.len; i++) {
    Task *t = m->tasks.data[i];
    for (int j = 0; j < t->decl->fields.len; j++) {
      Field *f = t->decl->fields.data[j];
      if (f->kind != F_WEIGHT)
        continue;
      ERR(f->span, "task '%s' has a weight, but balance %s chooses the tasks' weights; "
          "remove the weight, or balance with static", t->name,
          bal->kind == MTL_BAL_MGDA_UB ? "mgda(on=)" : name);
      NOTE(c->name_span, "the method is chosen here");
    }
  }
}

const char *balance_text(Arena *a, const Balance *b) {
  return b->kind == MTL_BAL_MGDA_UB ? arena_printf(a, "mgda(on=%s)", b->on->name)
                                    : method_names[b->kind];
}

void check_balance(Sema *s) {
  Balance *bal = &s->m->balance;
  *bal = (Balance){.kind = MTL_BAL_STATIC};
  for (int i = 0; i < s->spec->balance.len; i++) {
    Call *c = s->spec->balance.data[i];
    if (i > 0) {
      ERR(c->span, "balance is given twice; keep one");
      NOTE(((Call *)s->spec->balance.data[0])->span, "the first is here");
      continue;
    }
    int k = find_method(c->name);
    if (k < 0) {
      unknown_method(s, c);
      continue;
    }
    const MethodSig *ms = &method_sigs[k];
    Sig sig = {method_names[k], 0, ms->params, ms->n, ms->example ? ms->example : method_names[k],
               NULL, NULL, NULL};
    Value *v[MAX_ARGS] = {0};
    if (!bind_args(s, c, &sig, v))
      continue;
    bal->kind = (MtlBalanceKind)k;
    bal->call = c;
    if (k == MTL_BAL_MGDA) {
      if (v[0] && !check_on(s, bal, v[0]))
        continue;
      if (v[0])
        bal->kind = MTL_BAL_MGDA_UB;
    } else {
      for (int a = 0; a < ms->n; a++)
        bal->arg[a] = num_or(v[a], ms->dflt[a]);
      bal->narg = ms->n;
    }
    check_fits(s, bal, c);
  }
}
