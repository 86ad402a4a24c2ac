/* args.c: binds a call's arguments to a signature for the semantic
 * checker: positions and names, types, ranges, and the messages that say
 * what was meant (another library's name for a thing, PyTorch's argument
 * order, the closest known name). It decides nothing about layers or
 * tasks: sema.c does. */
#include "check/sema.h"

#include <ctype.h>
#include <math.h>
#include <string.h>
#include <strings.h>

static const char *type_name(ArgType t) {
  switch (t) {
  case T_INT: return "an integer";
  case T_NUM: return "a number";
  case T_BOOL: return "true or false";
  case T_IDENT: return "a name";
  case T_INTLIST: return "a list of integers, like [0, 1, 2]";
  case T_STR: return "a string in double quotes";
  case T_NUMS: return "a number, or a list of numbers like [0.5, 0.5, 0.5]";
  }
  unreachable();
  return NULL;
}

const char *value_desc(Sema *s, Value *v) {
  switch (v->kind) {
  case V_NUM: return arena_printf(s->a, "%.*s", v->span.hi - v->span.lo, s->src->text + v->span.lo);
  case V_STR: return arena_printf(s->a, "the string \"%.30s%s\"", v->str,
                                  strlen(v->str) > 30 ? "..." : "");
  case V_IDENT: return arena_printf(s->a, "the name '%s'", v->str);
  case V_BOOL: return v->num ? "true" : "false";
  case V_LIST: return "a list";
  }
  unreachable();
  return NULL;
}

/* 16777216, not 1.67772e+07; 0.001, not 1.000000e-03 */
const char *num_str(Sema *s, double x) {
  if (x == floor(x) && fabs(x) < 1e15)
    return arena_printf(s->a, "%.0f", x);
  return arena_printf(s->a, "%g", x);
}

static const char *range_str(Sema *s, const Param *p) {
  const char *lo = num_str(s, p->min), *hi = num_str(s, p->max);
  if (p->flags & NO_MAX)
    return arena_printf(s->a, "%s %s", p->flags & MIN_EXCL ? ">" : ">=", lo);
  return arena_printf(s->a, "in %s%s, %s%s", p->flags & MIN_EXCL ? "(" : "[", lo,
                      hi, p->flags & MAX_EXCL ? ")" : "]");
}

static bool in_range(const Param *p, double x) {
  if (!isfinite(x))
    return false;
  if ((p->flags & MIN_EXCL) ? x <= p->min : x < p->min)
    return false;
  if (p->flags & NO_MAX)
    return true;
  return (p->flags & MAX_EXCL) ? x < p->max : x <= p->max;
}

/* How to write v as p wants it, after a ';', or "". */
const char *type_hint(Sema *s, const Param *p, Value *v) {
  if (p->type == T_INT && v->kind == V_LIST && v->items.len > 0) {
    Value *e = v->items.data[0];
    for (int i = 1; i < v->items.len; i++)
      if (((Value *)v->items.data[i])->num != e->num)
        return "; windows are square in mtl, so it takes one size";
    if (e->kind == V_NUM && e->is_int)
      return arena_printf(s->a, "; windows are square in mtl, so write %s=%s",
                          p->name, value_desc(s, e));
  }
  if (p->type == T_INT && v->kind == V_NUM && v->num == floor(v->num) &&
      fabs(v->num) < 1e15)
    return arena_printf(s->a, "; write %.0f", v->num);
  if (p->type == T_BOOL && v->kind == V_IDENT &&
      (!strcasecmp(v->str, "true") || !strcasecmp(v->str, "false")))
    return arena_printf(s->a, "; write %s, in lower case",
                        tolower((unsigned char)v->str[0]) == 't' ? "true" : "false");
  if (p->type == T_BOOL && v->kind == V_NUM && (v->num == 0 || v->num == 1))
    return arena_printf(s->a, "; write %s", v->num ? "true" : "false");
  if (v->kind == V_STR && (p->type == T_INT || p->type == T_NUM ||
                           p->type == T_IDENT))
    return "; write it without quotes";
  return "";
}

static bool check_num(Sema *s, const Sig *sig, const Param *p, Value *v,
                      bool want_int) {
  if (v->kind != V_NUM || (want_int && !v->is_int)) {
    ERR(v->span, "'%s' of %s must be %s, not %s%s", p->name, sig->name,
        type_name(want_int ? T_INT : T_NUM), value_desc(s, v),
        type_hint(s, p, v));
    return false;
  }
  if (!in_range(p, v->num)) {
    ERR(v->span, "'%s' of %s must be %s, not %s", p->name, sig->name,
        range_str(s, p), value_desc(s, v));
    return false;
  }
  return true;
}

/* every entry of a list: a number (an integer when want_int) in range */
static bool check_entries(Sema *s, const Sig *sig, const Param *p, Value *v, bool want_int) {
  for (int i = 0; i < v->items.len; i++) {
    Value *e = v->items.data[i];
    if (e->kind != V_NUM || (want_int && !e->is_int) || !in_range(p, e->num)) {
      ERR(e->span, "each entry of '%s' of %s must be %s %s, not %s", p->name, sig->name,
          want_int ? "an integer" : "a number", range_str(s, p), value_desc(s, e));
      return false;
    }
  }
  return true;
}

static bool check_type(Sema *s, const Sig *sig, const Param *p, Value *v) {
  switch (p->type) {
  case T_INT: return check_num(s, sig, p, v, true);
  case T_NUM: return check_num(s, sig, p, v, false);
  case T_BOOL:
    if (v->kind == V_BOOL)
      return true;
    break;
  case T_IDENT:
    if (v->kind == V_IDENT)
      return true;
    break;
  case T_STR:
    if (v->kind == V_STR)
      return true;
    break;
  case T_INTLIST:
    if (v->kind == V_LIST)
      return check_entries(s, sig, p, v, true);
    break;
  case T_NUMS:
    if (v->kind == V_NUM)
      return check_num(s, sig, p, v, false);
    if (v->kind == V_LIST && v->items.len)
      return check_entries(s, sig, p, v, false);
    break;
  }
  ERR(v->span, "'%s' of %s must be %s, not %s%s", p->name, sig->name,
      type_name(p->type), value_desc(s, v), type_hint(s, p, v));
  return false;
}

/* Argument names from PyTorch and Keras, and mtl's names for them. */
static const char *const arg_aliases[][2] = {
    {"kernel_size", "kernel"}, {"padding", "pad"}, {"strides", "stride"},
    {"out_channels", "filters"}, {"out_features", "units"},
    {"pool_size", "size"}, {"use_bias", "bias"}, {"rate", "p"},
    {"learning_rate", "lr"}, {"beta_1", "beta1"}, {"beta_2", "beta2"},
    {"epsilon", "eps"}, {"step_size", "every"}, {"lam", "lambda"},
    {"lmbda", "lambda"}, {"lambda_", "lambda"}, {"decay", "weight_decay"},
};

/* "; did you mean 'kernel'?", or what to write instead, or "". */
static const char *arg_hint(Sema *s, const Sig *sig, const char *name) {
  const char *names[16];
  for (int i = 0; i < sig->nparams; i++)
    names[i] = sig->params[i].name;
  for (size_t i = 0; i < sizeof arg_aliases / sizeof arg_aliases[0]; i++)
    if (!strcmp(name, arg_aliases[i][0]))
      for (int j = 0; j < sig->nparams; j++)
        if (!strcmp(names[j], arg_aliases[i][1]))
          return arena_printf(s->a, "; mtl calls it '%s'", names[j]);
  if (!strcmp(name, "activation"))
    return arena_printf(s->a, "; an activation is a layer of its own, "
                        "written after it: %s(...) relu", sig->name);
  if (!strcmp(name, "in_features") || !strcmp(name, "in_channels") ||
      !strcmp(name, "input_shape") || !strcmp(name, "input_dim"))
    return arena_printf(s->a, "; %s infers its input's size, so leave it out",
                        sig->name);
  const char *hint = suggest(name, names, sig->nparams);
  if (hint)
    return arena_printf(s->a, "; did you mean '%s'?", hint);
  char list[256] = "";
  for (int j = 0; j < sig->nparams; j++)
    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
             j ? ", " : "", names[j]);
  return arena_printf(s->a, " (it takes %s)", list);
}

static const char *arg_text(Sema *s, Arg *a) {
  return arena_printf(s->a, "%.*s", a->span.hi - a->span.lo,
                      s->src->text + a->span.lo);
}

/* One more positional argument than sig takes, for a layer that PyTorch
 * writes with its input's size first (Linear(in, out), Conv2d(in, out, k)):
 * say what mtl's layer takes and write the call without that size. */
static bool torch_order(Sema *s, Call *c, const Sig *sig, int npositional) {
  if (!sig->torch_class || npositional != sig->npos + 1)
    return false;
  Arg *last = c->args.data[npositional - 1];
  if (last->val->kind == V_BOOL) /* dense(2, false): the bias flag, unnamed */
    return false;
  const char *call = arena_printf(s->a, "%s(%s", c->name, arg_text(s, c->args.data[1]));
  for (int i = 2; i < npositional; i++)
    call = arena_printf(s->a, "%s, %s=%s", call, sig->params[i - 1].name,
                        arg_text(s, c->args.data[i]));
  ERR(c->span, "%s takes %s (it infers its input's %s, unlike PyTorch's %s); write %s)",
      c->name, sig->takes, sig->infers, sig->torch_class, call);
  return true;
}

/* Matches a call's arguments to a signature: out[i] is the value given for
 * params[i], or NULL. Returns false after reporting any mistake, one per
 * mistake. */
bool bind_args(Sema *s, Call *c, const Sig *sig_in, Value **out) {
  Sig named = *sig_in; /* a layer's signature takes the name it is called by */
  if (!named.name)
    named.name = c->name;
  const Sig *sig = &named;
  bool ok = true, named_seen = false, extra_seen = false;
  for (int i = 0; i < sig->nparams; i++)
    out[i] = NULL;
  int npositional = 0;
  for (int i = 0; i < c->args.len; i++)
    npositional += ((Arg *)c->args.data[i])->name == NULL;
  if (npositional == c->args.len && torch_order(s, c, sig, npositional))
    return false;
  int pos = 0;
  for (int i = 0; i < c->args.len; i++) {
    Arg *arg = c->args.data[i];
    int k = -1;
    if (!arg->name) {
      if (named_seen) {
        int next = pos;
        while (next < sig->nparams && out[next])
          next++;
        if (next < sig->npos)
          ERR(arg->span, "positional argument after a named one in %s; name "
              "it, like %s=%s", sig->name, sig->params[next].name,
              arg_text(s, arg));
        else
          ERR(arg->span, "positional argument after a named one in %s; name "
              "it", sig->name);
        ok = false;
        continue;
      }
      if (pos >= sig->npos) {
        if (!extra_seen && sig->nparams == 0)
          ERR(arg->span, "%s takes no arguments; write %s", sig->name,
              sig->name);
        else if (!extra_seen && sig->npos == 0)
          ERR(arg->span, "%s takes only named arguments, like %s", sig->name,
              sig->example);
        else if (!extra_seen && pos < sig->nparams)
          ERR(arg->span, "%s takes %d argument%s by position; name this one, "
              "like %s=%s", sig->name, sig->npos, sig->npos == 1 ? "" : "s",
              sig->params[pos].name, arg_text(s, arg));
        else if (!extra_seen)
          ERR(arg->span, "too many arguments to %s, like %s", sig->name,
              sig->example);
        extra_seen = true;
        ok = false;
        pos++;
        continue;
      }
      k = pos++;
    } else {
      named_seen = true;
      for (int j = 0; j < sig->nparams; j++)
        if (!strcmp(arg->name, sig->params[j].name))
          k = j;
      if (k < 0 && sig->nparams == 0) {
        if (!extra_seen)
          ERR(arg->span, "%s takes no arguments; write %s", sig->name,
              sig->name);
        extra_seen = true;
        ok = false;
        continue;
      }
      if (k < 0) {
        ERR(arg->name_span, "%s has no argument '%s'%s", sig->name, arg->name,
            arg_hint(s, sig, arg->name));
        ok = false;
        continue;
      }
    }
    if (out[k]) {
      ERR(arg->span, "'%s' of %s is given twice; keep one", sig->params[k].name,
          sig->name);
      ok = false;
      continue;
    }
    if (!check_type(s, sig, &sig->params[k], arg->val)) {
      ok = false;
      continue;
    }
    out[k] = arg->val;
  }
  for (int i = 0; i < sig->nparams; i++)
    if ((sig->params[i].flags & REQ) && !out[i] && ok) {
      ERR(c->span, "%s needs '%s', like %s", sig->name, sig->params[i].name,
          sig->example);
      ok = false;
    }
  return ok;
}


/* Reports an unknown name of some kind ("loss"): what mtl calls it when it
 * is another library's name, else the closest known name, else the list of
 * known names ("losses: cross_entropy, bce, mse"). */
void unknown_name(Sema *s, Span sp, const char *what, const char *name,
                         const char *const *known, int n, Alias *aliases,
                         int naliases, const char *list) {
  for (int i = 0; i < naliases; i++)
    if (!strcasecmp(name, aliases[i][0])) {
      if (aliases[i][1][0] == ' ') /* not a rename: a hint of its own */
        ERR(sp, "unknown %s '%s';%s", what, name, aliases[i][1]);
      else
        ERR(sp, "unknown %s '%s'; mtl calls it '%s'", what, name,
            aliases[i][1]);
      return;
    }
  const char *hint = suggest(name, known, n);
  if (hint)
    ERR(sp, "unknown %s '%s'; did you mean '%s'?", what, name, hint);
  else
    ERR(sp, "unknown %s '%s' (%s)", what, name, list);
}

double num_or(Value *v, double dflt) { return v ? v->num : dflt; }

