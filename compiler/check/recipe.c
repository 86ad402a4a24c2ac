/* check/recipe.c: the spec's recipe: regularizers (l2_distance, l2) and
 * the train block's options (optimizer, batch, epochs, seed, schedule),
 * each argument bound and range-checked, each unknown name answered with
 * mtl's name for it. The balance method is check/balance.c's. */
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
static const Param p_step[] = {{"every", T_INT, REQ, 1, BIG},
                               {"gamma", T_NUM, MIN_EXCL | NO_MAX, 0, 0}};
static const Sig sig_step = {"step", 2, p_step, 2, "step(every=3, gamma=0.1)", NULL, NULL, NULL};

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
    Sig sig = {c->name, 0, NULL, 0, c->name, NULL, NULL, NULL};
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

void check_train(Sema *s) {
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

