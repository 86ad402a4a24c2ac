/* check/recipe.c: the spec's recipe: regularizers (l2_distance, l2), the
 * balance method and the train block's options (optimizer, batch, epochs,
 * seed, schedule and its warmup, clip, early_stop), each argument bound
 * and range-checked, each unknown name answered with mtl's name for it. */
#include "check/sema.h"

#include <math.h>
#include <string.h>
#include <strings.h>

static const Param p_l2d[] = {{"block", T_IDENT, REQ, 0, 0},
                              {"lambda", T_NUM, REQ | NO_MAX, 0, 0}};
static const Param p_l2[] = {{"lambda", T_NUM, REQ | NO_MAX, 0, 0},
                             {"on", T_IDENT, 0, 0, 0}};
static const Sig sig_l2d = {"l2_distance", 2, p_l2d, 2, "l2_distance(tower, lambda=0.001)",
                            NULL, NULL, NULL};
static const Sig sig_l2 = {"l2", 1, p_l2, 2, "l2(lambda=0.0005)", NULL, NULL, NULL};

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

void check_regularizer(Sema *s, Call *c) {
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
    if (b->is_experts) {
      ERR(v[0]->span, "l2_distance pulls the tasks' copies of a private block "
          "together, and '%s' is an experts block, whose experts the tasks "
          "share; name a private block", b->name);
      return;
    }
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

void check_balance(Sema *s) {
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
      Sig sig = {"static", 0, NULL, 0, "static", NULL, NULL, NULL};
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
static const Sig sig_sgd = {"sgd", 1, p_sgd, 3, "sgd(lr=0.01, momentum=0.9)", NULL, NULL, NULL};
static const Sig sig_adam = {"adam", 1, p_adam, 4, "adam(lr=0.001)", NULL, NULL, NULL};
static const Sig sig_adamw = {"adamw", 1, p_adam, 5, "adamw(lr=0.001, weight_decay=0.01)", NULL, NULL, NULL};
static const Param p_rmsprop[] = {{"lr", T_NUM, MIN_EXCL | NO_MAX, 0, 0},
                                  {"alpha", T_NUM, MAX_EXCL, 0, 1},
                                  {"eps", T_NUM, MIN_EXCL | NO_MAX, 0, 0},
                                  {"momentum", T_NUM, MAX_EXCL, 0, 1},
                                  {"weight_decay", T_NUM, NO_MAX, 0, 0}};
static const Sig sig_rmsprop = {"rmsprop", 1, p_rmsprop, 5, "rmsprop(lr=0.01, alpha=0.99)", NULL,
                                NULL, NULL};
static const Param p_step[] = {{"every", T_INT, REQ, 1, BIG},
                               {"gamma", T_NUM, MIN_EXCL | NO_MAX, 0, 0},
                               {"warmup", T_INT, 0, 0, BIG}};
static const Sig sig_step = {"step", 2, p_step, 3, "step(every=3, gamma=0.1)", NULL, NULL, NULL};
static const Param p_warmup[] = {{"warmup", T_INT, 0, 0, BIG}};

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
  if (!strcmp(c->name, "rmsprop")) {
    if (!bind_args(s, c, &sig_rmsprop, v))
      return;
    /* PyTorch's RMSprop defaults */
    *o = (Optimizer){.kind = OPT_RMSPROP, .lr = num_or(v[0], 0.01), .alpha = num_or(v[1], 0.99),
                     .eps = num_or(v[2], 1e-8), .momentum = num_or(v[3], 0),
                     .weight_decay = num_or(v[4], 0)};
    return;
  }
  static const char *const known[] = {"sgd", "adam", "adamw", "rmsprop"};
  unknown_name(s, c->name_span, "optimizer", c->name, known, 4, NULL, 0,
               "optimizers: sgd, adam, adamw, rmsprop");
}

/* constant | step(every=, gamma=) | cosine, each with warmup=N steps */
static void check_schedule(Sema *s, Call *c, TrainOpts *o) {
  Value *v[3];
  if (!strcmp(c->name, "constant") || !strcmp(c->name, "cosine")) {
    Sig sig = {c->name, 0, p_warmup, 1, c->name, NULL, NULL, NULL};
    if (!bind_args(s, c, &sig, v))
      return;
    o->sched = !strcmp(c->name, "constant") ? SCHED_CONSTANT : SCHED_COSINE;
    o->warmup = (int64_t)num_or(v[0], 0);
    return;
  }
  if (!strcmp(c->name, "step")) {
    if (!bind_args(s, c, &sig_step, v))
      return;
    o->sched = SCHED_STEP;
    o->step_every = (int64_t)v[0]->num;
    o->step_gamma = num_or(v[1], 0.1);
    o->warmup = (int64_t)num_or(v[2], 0);
    return;
  }
  static const char *const known[] = {"constant", "step", "cosine"};
  static Alias aliases[] = {
      {"steplr", "step"}, {"cosineannealinglr", "cosine"},
      {"cosine_annealing", "cosine"}, {"none", "constant"},
      {"warmup", " warmup is an argument of a schedule, like cosine(warmup=500)"},
  };
  unknown_name(s, c->name_span, "schedule", c->name, known, 3, aliases,
               NELEMS(aliases), "schedules: constant, step, cosine");
}

/* clip: norm(MAX): the global gradient norm clipped to MAX */
static void check_clip(Sema *s, Call *c, TrainOpts *o) {
  static const Param p[] = {{"max", T_NUM, REQ | MIN_EXCL | NO_MAX, 0, 0}};
  static const Sig sig = {"norm", 1, p, 1, "norm(1.0)", NULL, NULL, NULL};
  Value *v[1];
  if (strcmp(c->name, "norm")) {
    static const char *const known[] = {"norm"};
    static Alias aliases[] = {
        {"clip_grad_norm", "norm"}, {"clipnorm", "norm"},
        {"value", " clipping by value is not in mtl; clip the global norm with norm(MAX)"},
    };
    unknown_name(s, c->name_span, "clipping", c->name, known, 1, aliases, NELEMS(aliases),
                 "clipping: norm(MAX), the global gradient norm");
    return;
  }
  if (bind_args(s, c, &sig, v))
    o->clip = v[0]->num;
}

/* TASK.METRIC (or loss, the weighted sum of the tasks' losses): what
 * early stopping and the best checkpoint watch on the valid split */
static void check_monitor(Sema *s, Value *v, TrainOpts *o) {
  static const char *const metric_names[] = {"accuracy", "mse", "mae"};
  o->monitor_task = -1, o->monitor_metric = -1;
  if (!v || !strcmp(v->str, "loss"))
    return;
  const char *dot = strchr(v->str, '.');
  char *task = arena_strndup(s->a, v->str, dot ? (size_t)(dot - v->str) : strlen(v->str));
  Task *t = find_task(s->m, task);
  if (!t || !dot) {
    ERR(v->span, "on= wants TASK.METRIC, like %s.%s, or loss (the weighted sum of the "
        "tasks' losses), not '%s'", ((Task *)s->m->tasks.data[0])->name,
        ((Task *)s->m->tasks.data[0])->label == LBL_REAL ? "mse" : "accuracy", v->str);
    return;
  }
  o->monitor_task = t->index;
  if (!strcmp(dot + 1, "loss"))
    return;
  for (int k = 0; k < 3; k++)
    if (!strcmp(dot + 1, metric_names[k]) && (t->metrics & (1 << k)) &&
        !(k == MET_ACCURACY && t->label == LBL_REAL)) {
      o->monitor_metric = k;
      return;
    }
  const char *have = "loss";
  for (int k = 0; k < 3; k++)
    if ((t->metrics & (1 << k)) && !(k == MET_ACCURACY && t->label == LBL_REAL))
      have = arena_printf(s->a, "%s, %s", have, metric_names[k]);
  ERR(v->span, "task '%s' has no metric '%s'; it has %s", t->name, dot + 1, have);
}

/* early_stop: patience(N, on=TASK.METRIC, min_delta=0), Keras'
 * EarlyStopping on the valid split */
static void check_early_stop(Sema *s, Call *c, TrainOpts *o) {
  static const Param p[] = {{"patience", T_INT, REQ, 1, BIG},
                            {"on", T_IDENT, 0, 0, 0},
                            {"min_delta", T_NUM, NO_MAX, 0, 0}};
  static const Sig sig = {"patience", 1, p, 3, "patience(5, on=item.accuracy)", NULL, NULL, NULL};
  Value *v[3];
  if (strcmp(c->name, "patience")) {
    static const char *const known[] = {"patience"};
    static Alias aliases[] = {{"earlystopping", "patience"}};
    unknown_name(s, c->name_span, "early stopping", c->name, known, 1, aliases,
                 NELEMS(aliases), "early stopping: patience(N, on=TASK.METRIC)");
    return;
  }
  if (!bind_args(s, c, &sig, v))
    return;
  o->patience = (int64_t)v[0]->num;
  o->min_delta = num_or(v[2], 0);
  check_monitor(s, v[1], o);
}

enum { K_OPTIMIZER, K_BATCH, K_EPOCHS, K_SEED, K_SCHEDULE, K_CLIP, K_EARLY_STOP, NKEYS };
static const char *const train_keys[NKEYS] = {"optimizer", "batch", "epochs", "seed",
                                              "schedule", "clip", "early_stop"};

/* an option whose value is a call: what it must be */
static const char *call_option(int k) {
  switch (k) {
  case K_OPTIMIZER: return "an optimizer, like sgd(lr=0.01)";
  case K_SCHEDULE: return "a schedule: constant, step(every=N) or cosine";
  case K_CLIP: return "a clipping, like norm(1.0)";
  case K_EARLY_STOP: return "an early stopping, like patience(5, on=item.accuracy)";
  default: return NULL;
  }
}

/* batch, epochs, seed: an integer in range */
static void int_option(Sema *s, TrainItem *it, int k, TrainOpts *o) {
  Value *v = it->val;
  Span sp = v ? v->span : it->call->span;
  double lo = k == K_SEED ? 0 : 1,
         hi = k == K_BATCH ? (double)(1 << 20) : k == K_EPOCHS ? 1e6 : 4294967295.0;
  if (!v || v->kind != V_NUM || !v->is_int || v->num < lo || v->num > hi) {
    static const Param p_int = {"", T_INT, 0, 0, 0};
    ERR(sp, "%s must be an integer from %.0f to %.0f, not %s%s", train_keys[k], lo, hi,
        v ? value_desc(s, v) : arena_printf(s->a, "'%s'", it->call->name),
        v && !(v->kind == V_NUM && v->is_int) ? type_hint(s, &p_int, v) : "");
    return;
  }
  int64_t x = (int64_t)v->num;
  if (k == K_BATCH) o->batch = x;
  else if (k == K_EPOCHS) o->epochs = x;
  else o->seed = x;
}

void check_train(Sema *s) {
  TrainOpts *o = &s->m->train;
  *o = (TrainOpts){.opt = {OPT_ADAM, 0.001, 0, 0.9, 0.999, 1e-8, 0, false, 0},
                   .batch = 32, .epochs = 1, .seed = 0, .sched = SCHED_CONSTANT,
                   .monitor_task = -1, .monitor_metric = -1};
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
    TrainItem *seen[NKEYS] = {0};
    for (int j = 0; j < d->items.len; j++) {
      TrainItem *it = d->items.data[j];
      int k = -1;
      for (int q = 0; q < NKEYS; q++)
        if (!strcmp(it->key, train_keys[q]))
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
            {"clip_grad_norm", "clip"}, {"gradient_clip", "clip"}, {"clipnorm", "clip"},
            {"early_stopping", "early_stop"}, {"patience", "early_stop"},
            {"warmup", " warmup is an argument of the schedule, like schedule: "
                       "cosine(warmup=500)"},
        };
        unknown_name(s, it->key_span, "train option", it->key, train_keys, NKEYS,
                     aliases, NELEMS(aliases),
                     "options: optimizer, batch, epochs, seed, schedule, clip, early_stop");
        continue;
      }
      if (seen[k]) {
        ERR(it->key_span, "train option '%s' is given twice; keep one", it->key);
        NOTE(seen[k]->key_span, "the first is here");
        continue;
      }
      seen[k] = it;
      if (!call_option(k)) {
        int_option(s, it, k, o);
      } else if (!it->call) {
        ERR(it->val->span, "%s must be %s, not %s", train_keys[k], call_option(k),
            value_desc(s, it->val));
      } else if (k == K_OPTIMIZER) {
        check_optimizer(s, it->call, &o->opt);
      } else if (k == K_SCHEDULE) {
        check_schedule(s, it->call, o);
      } else if (k == K_CLIP) {
        check_clip(s, it->call, o);
      } else {
        check_early_stop(s, it->call, o);
      }
    }
  }
}
