/* check/sharing.c: the learned sharing architectures of version 1.
 *   experts NAME { count: E  net: chain  private: P }: its fields; on a
 *       task's value x, the E shared experts (once per distinct x: the key
 *       is check/nets.c's), the task's P experts of its own, its gate
 *       softmax(dense(E + P)) of x flattened, and the gated sum of the
 *       E + P outputs, shared experts first (MMoE, Ma et al. 2018; CGC with
 *       P > 0, Tang et al. 2020; two experts blocks in a row stack them,
 *       LibMTL's PLE, whose inner levels have no shared gate either).
 *   stitch, a cross-stitch unit in a private block (Misra et al. 2016):
 *       each copy's stitch value is made while its task's net is checked;
 *       once every net is known it takes every copy's value at that point
 *       (the copies run in lock step), and the values are put back in
 *       topological order. Every user must feed the block one value.
 *   the names under experts and private blocks that a task's name would
 *       collide with (mix.gate.item, mix.expert2, tower.stitch1).
 * The stitch layer's arguments and shape, and the ops, are ops/mix.c's. */
#include "check/sema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MIXED 16 /* values one gate or stitch mixes (ops/mix.c) */

/* ---- experts blocks ---------------------------------------------------------- */

static const char *const field_names[] = {"count", "net", "private"};

/* an integer field from lo to MAX_MIXED; false after reporting */
static bool count_field(Sema *s, ExpertsField *f, int lo, const char *what) {
  Value *v = f->num;
  if (v->is_int && v->num >= lo && v->num <= MAX_MIXED)
    return true;
  ERR(v->span, "%s is %s, an integer from %d to %d, not %s", field_names[f->kind], what,
      lo, MAX_MIXED, value_desc(s, v));
  return false;
}

/* count: E  net: chain  private: P, each once; count and net required */
Vec *experts_fields(Sema *s, Block *b) {
  BlockDecl *d = b->decl;
  ExpertsField *seen[3] = {0};
  bool ok = true;
  for (int i = 0; i < d->fields.len; i++) {
    ExpertsField *f = d->fields.data[i];
    if (seen[f->kind]) {
      ERR(f->key_span, "%s is given twice in experts '%s'; remove one", field_names[f->kind],
          b->name);
      NOTE(seen[f->kind]->key_span, "first given here");
      ok = false;
      continue;
    }
    seen[f->kind] = f;
  }
  ExpertsField *count = seen[EF_COUNT], *net = seen[EF_NET], *own = seen[EF_PRIVATE];
  if (!count)
    ERR(d->name_span, "experts '%s' needs a count, the number of experts its tasks "
        "share, like 'count: 4'", b->name);
  if (!net)
    ERR(d->name_span, "experts '%s' needs a net, the chain each expert is a copy of, "
        "like 'net: dense(64) relu'", b->name);
  ok &= count && count_field(s, count, 1, "the number of experts the tasks share");
  ok &= !own || count_field(s, own, 0, "the number of experts each task has of its own");
  if (ok) {
    b->count = (int64_t)count->num->num;
    b->nprivate = own ? (int64_t)own->num->num : 0;
    if (b->count + b->nprivate < 2) {
      ERR(count->num->span, "experts '%s' has one expert, so each task's gate would "
          "weigh it alone (always 1); give count: 2 or more, or private: 1 for an "
          "expert of each task's own beside it, or make '%s' a shared block",
          b->name, b->name);
      ok = false;
    } else if (b->count + b->nprivate > MAX_MIXED) {
      ERR((own ? own : count)->num->span, "experts '%s' gives each task's gate %lld experts (count "
          "%lld and private %lld); a gate mixes at most %d", b->name,
          (long long)(b->count + b->nprivate), (long long)b->count,
          (long long)b->nprivate, MAX_MIXED);
      ok = false;
    }
  }
  if (!ok)
    b->shaped = true, b->in.rank = 0; /* no shape checks of its uses */
  return net ? &net->chain : NULL;
}

/* the gate: dense(K) on the input flattened, then softmax; the gated sum:
 * K multiply-adds per output element */
bool experts_shaped(Sema *s, Block *b, Call *use) {
  int64_t D = shape_numel(b->in), K = b->count + b->nprivate;
  if (layer_too_many_weights(s, use, (double)D * (double)K))
    return false;
  b->gate_params = sat_add(sat_mul(D, K), K);
  b->gate_flops = sat_add(sat_mul(2 * K, D), 4 * K);
  b->sum_flops = sat_mul(2 * K, shape_numel(b->out));
  return true;
}

NetVal *experts_vals(Sema *s, Task *t, Block *b, NetVal *x) {
  Applied *ap = applied_to(s, b, x);
  for (int e = ap->experts.len + 1; e <= b->count; e++)
    vec_push(s->a, &ap->experts, chain_vals(s, &b->layers, x, b, NULL, e));
  Vec own = {0};
  for (int p = 1; p <= b->nprivate; p++)
    vec_push(s->a, &own, chain_vals(s, &b->layers, x, b, t, p));
  NetVal *gate = new_val(s, NV_GATE, NULL, b, t, x);
  gate->shape = (Shape){1, {b->count + b->nprivate}};
  gate->flops = b->gate_flops;
  NetVal *mix = new_val(s, NV_MIX, NULL, b, t, gate);
  for (int pass = 0; pass < 2; pass++) {
    Vec *v = pass ? &own : &ap->experts;
    for (int i = 0; i < v->len; i++)
      vec_push(s->a, &mix->in, v->data[i]);
  }
  mix->shape = b->out;
  mix->flops = b->sum_flops;
  return mix;
}

/* ---- cross-stitch ------------------------------------------------------------- */

/* A copy's stitch value, made while its task's net was checked. */
typedef struct {
  NetVal *v;
  Task *task;
  NetVal *in; /* what the task fed the block */
  Call *use;  /* where */
} StitchUse;

void stitch_uses(Sema *s, int first, Task *t, NetVal *x, Call *use) {
  for (int i = first; i < s->m->vals.len; i++) {
    NetVal *v = s->m->vals.data[i];
    if (v->kind != NV_STITCH)
      continue;
    StitchUse *u = NEW(StitchUse);
    *u = (StitchUse){v, t, x, use};
    vec_push(s->a, &s->stitches, u);
  }
}

/* the values in an order where each comes after its inputs: depth first,
 * inputs before values, otherwise as they were made */
static void sort_vals(Sema *s) {
  Vec *vals = &s->m->vals;
  int n = vals->len, k = 0, top = 0;
  char *state = arena_alloc(s->a, (size_t)n + 1); /* 0 new, 1 open, 2 placed */
  NetVal **order = arena_alloc(s->a, sizeof(NetVal *) * (size_t)(n + 1));
  NetVal **stack = arena_alloc(s->a, sizeof(NetVal *) * (size_t)(n + 1));
  int *next = arena_alloc(s->a, sizeof(int) * (size_t)(n + 1));
  for (int i = 0; i < n; i++) {
    if (state[i])
      continue;
    state[i] = 1, next[0] = 0, stack[top++] = vals->data[i];
    while (top) {
      NetVal *v = stack[top - 1];
      if (next[top - 1] < v->in.len) {
        NetVal *w = v->in.data[next[top - 1]++];
        MTLC_ASSERT(state[w->id] != 1); /* no cycles: one value feeds every copy */
        if (!state[w->id])
          state[w->id] = 1, next[top] = 0, stack[top++] = w;
        continue;
      }
      state[v->id] = 2, order[k++] = v, top--;
    }
  }
  for (int i = 0; i < n; i++)
    order[i]->id = i, vals->data[i] = order[i];
}

/* the uses of one stitch, in task order: its copies; false when a copy is
 * missing (its net has errors, reported) or the stitch cannot mix them */
static bool stitch_copies(Sema *s, Layer *l, Vec *uses, Vec *reported_blocks) {
  StitchUse *u0 = uses->data[0];
  Block *b = u0->v->block;
  if (uses->len != b->users.len)
    return false;
  if (uses->len < 2) {
    ERR(l->call->span, "stitch mixes the tasks' copies of private block '%s', but only "
        "task '%s' uses it; a stitch needs two tasks or more", b->name, u0->task->name);
    return false;
  }
  if (uses->len > MAX_MIXED) {
    ERR(l->call->span, "a stitch mixes at most %d tasks' copies, and block '%s' has %d",
        MAX_MIXED, b->name, uses->len);
    return false;
  }
  for (int j = 1; j < uses->len; j++) {
    StitchUse *u = uses->data[j];
    if (u->in == u0->in)
      continue;
    if (!reported(s, reported_blocks, b->name)) {
      ERR(u->use->span, "task '%s' feeds block '%s' another value than task '%s' does; "
          "a stitch mixes the copies' values at one point, so every task that uses "
          "'%s' must feed it the same value", u->task->name, b->name, u0->task->name,
          b->name);
      NOTE(l->call->span, "the stitch is here");
    }
    return false;
  }
  return true;
}

void link_stitches(Sema *s) {
  Vec done = {0}, reported_blocks = {0};
  bool linked = false;
  for (int i = 0; i < s->stitches.len; i++) {
    Layer *l = ((StitchUse *)s->stitches.data[i])->v->layer;
    bool seen = false;
    for (int j = 0; j < done.len; j++)
      seen |= done.data[j] == l;
    if (seen)
      continue;
    vec_push(s->a, &done, l);
    Vec uses = {0}, pre = {0};
    for (int j = i; j < s->stitches.len; j++) {
      StitchUse *u = s->stitches.data[j];
      if (u->v->layer == l) {
        vec_push(s->a, &uses, u);
        vec_push(s->a, &pre, u->v->in.data[0]);
      }
    }
    if (!stitch_copies(s, l, &uses, &reported_blocks))
      continue;
    for (int j = 0; j < uses.len; j++) {
      NetVal *v = ((StitchUse *)uses.data[j])->v;
      v->in = pre;
      v->row = j;
    }
    linked = true;
  }
  if (linked)
    sort_vals(s);
}

/* ---- names ----------------------------------------------------------------------- */

/* "expert3" with 1 <= 3 <= n */
static bool numbered(const char *name, const char *word, int64_t n) {
  size_t len = strlen(word);
  if (strncmp(name, word, len) || !name[len])
    return false;
  char *end;
  long k = strtol(name + len, &end, 10);
  return !*end && name[len] != '0' && k >= 1 && k <= n;
}

/* the path of the first stitch in a chain, a residual's included, or NULL */
static const char *stitch_path(Vec *layers) {
  for (int i = 0; i < layers->len; i++) {
    Layer *l = layers->data[i];
    const char *p = layer_rules[l->kind].flags & LF_ACROSS_TASKS ? l->path : stitch_path(&l->body);
    if (p)
      return p;
  }
  return NULL;
}

/* a stitch's matrix is named BLOCK.PATH.alpha: a stitch whose path begins
 * with name ("stitch2", or residual1.stitch1 for "residual1"), or NULL */
static const char *stitch_named(Vec *layers, const char *name) {
  for (int i = 0; i < layers->len; i++) {
    Layer *l = layers->data[i];
    if (strcmp(l->path, name))
      continue;
    return layer_rules[l->kind].flags & LF_ACROSS_TASKS ? l->path : stitch_path(&l->body);
  }
  return NULL;
}

/* Under an experts block with private experts, a task's name holds its own
 * experts (mix.item.expert1) beside mix.gate and mix.expert1..E; under a
 * private block with stitches, its copy (tower.item) beside tower.stitch1..
 * A task named like those would give two things one name. */
void check_sharing_names(Sema *s) {
  for (int i = 0; i < s->m->blocks.len; i++) {
    Block *b = s->m->blocks.data[i];
    for (int j = 0; j < b->users.len; j++) {
      Task *t = b->users.data[j];
      if (b->is_experts && b->nprivate > 0 &&
          (!strcmp(t->name, "gate") || numbered(t->name, "expert", b->count)))
        ERR(t->decl->name_span, "task '%s' has experts of its own in '%s', named "
            "%s.%s.expert1 and on, but %s.%s already names %s; rename the task",
            t->name, b->name, b->name, t->name, b->name, t->name,
            !strcmp(t->name, "gate") ? "the tasks' gates" : "one of the shared experts");
      const char *stitch = b->is_private ? stitch_named(&b->layers, t->name) : NULL;
      if (stitch)
        ERR(t->decl->name_span, "task '%s' has a copy of private block '%s', named "
            "%s.%s, but the block's stitch %s.%s begins with that name; rename the "
            "task", t->name, b->name, b->name, t->name, b->name, stitch);
    }
  }
}
