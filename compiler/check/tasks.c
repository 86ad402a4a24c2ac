/* check/tasks.c: tasks: each one's label (class, binary, real, derived by
 * lookup from another task's), its net (check/nets.c), its loss, weight and
 * metrics, and its head against its label. */
#include "check/sema.h"

#include <math.h>
#include <string.h>
#include <strings.h>

static const Param p_lookup[] = {{"source", T_IDENT, REQ, 0, 0},
                                 {"table", T_INTLIST, REQ, 0, BIG}};
static const Sig sig_lookup = {"lookup", 2, p_lookup, 2,
                               "lookup(item, [0, 1, 0, 1])", NULL, NULL, NULL};

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

void resolve_lookups(Sema *s) {
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
  Sig sig = {loss_names[k], 0, NULL, 0, loss_names[k], NULL, NULL, NULL};
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
 * the width (dense(2) in "dense(2) sigmoid"), not a trailing layer that
 * keeps its input's shape. */
static void check_head(Sema *s, Task *t, Field *net) {
  if (t->out.rank == 0 || !t->label_n)
    return;
  Call *last = net->chain.data[net->chain.len - 1];
  for (int i = t->steps.len - 1; i >= 0; i--) {
    Step *st = t->steps.data[i];
    if (!st->layer || !(layer_rules[st->layer->kind].flags & LF_KEEPS_SHAPE)) {
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
  Layer *end = t->net && t->net->kind == NV_LAYER ? t->net->layer : NULL;
  if (end && t->loss == LOSS_BCE && end->kind == L_SIGMOID)
    WARN(end->call->span, "task '%s' ends with sigmoid, but bce applies "
         "the sigmoid itself (it takes raw scores, like PyTorch's "
         "BCEWithLogitsLoss); remove it", t->name);
  if (end && t->loss == LOSS_CROSS_ENTROPY && end->kind == L_SOFTMAX)
    WARN(end->call->span, "task '%s' ends with softmax, but cross_entropy "
         "applies the softmax itself (it takes raw scores, like PyTorch's "
         "CrossEntropyLoss); remove it", t->name);
}

static const char *const field_names[] = {"label", "net", "loss", "weight", "metric"};

void check_task(Sema *s, TaskDecl *d) {
  declare(s, "task", d->name, d->name_span);
  Task *t = NEW(Task);
  t->decl = d;
  t->name = d->name;
  t->index = s->m->tasks.len;
  t->weight = 1;
  vec_push(s->a, &s->m->tasks, t);
  map_put(s->a, &s->m->task_at, t->name, t);

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

