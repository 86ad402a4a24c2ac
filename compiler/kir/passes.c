/* kir/passes.c: the passes around kernel lowering. Before it, on the
 * graph: epilogue fusion (a bias whose one reader is an activation is
 * folded into the activation's kernel). After it, on a program's calls:
 * dead-code elimination (a call lives when it writes what the program
 * hands back, or what a live call after it reads) and the memory plan (one
 * arena per program: a buffer's block is free again once its last reader
 * has run; first fit, 64-byte aligned; scratch lives only during its call).
 * The plan is a pass over finished calls, so a program made by dropping
 * calls (the forward pass from evaluation) is planned again, not lowered
 * again. */
#include "kir/kir.h"

#include <string.h>

#define ALIGN 16 /* floats: 64 bytes */

/* ---- epilogue fusion --------------------------------------------------------------- */

static bool is_output(Graph *g, const Node *n) {
  for (int i = 0; i < g->outputs.len; i++)
    if (g->outputs.data[i] == n || g->losses.data[i] == n)
      return true;
  return false;
}

void kir_fuse(Graph *g, bool *fused);
void kir_fuse(Graph *g, bool *fused) {
  int n = g->nodes.len;
  int *readers = xcalloc((size_t)n + 1, sizeof(int));
  for (int i = 0; i < n; i++) {
    Node *x = g->nodes.data[i];
    for (int k = 0; k < x->nin; k++)
      readers[x->in[k]->id]++;
  }
  for (int i = 0; i < n; i++) {
    Node *x = g->nodes.data[i];
    if (x->op == OP_ACT && x->in[0]->op == OP_BIAS && readers[x->in[0]->id] == 1 &&
        !is_output(g, x->in[0]) && !x->in[0]->grad_of)
      fused[x->in[0]->id] = true;
  }
  free(readers);
}

/* ---- dead-code elimination ------------------------------------------------------------ */

void kir_dce(Program *p, unsigned roots) {
  int n = p->calls.len;
  if (!n)
    return;
  int nb = 0;
  for (int i = 0; i < n; i++) {
    KCall *c = p->calls.data[i];
    for (int j = 0; j < c->k->nparams; j++)
      nb = c->args[j]->id + 1 > nb ? c->args[j]->id + 1 : nb;
  }
  bool *needed = xcalloc((size_t)nb + 1, 1);
  bool *live = xcalloc((size_t)n, 1);
  for (int i = n - 1; i >= 0; i--) {
    KCall *c = p->calls.data[i];
    for (int j = 0; j < c->k->nparams && !live[i]; j++) {
      const Buf *b = c->args[j];
      live[i] = c->k->params[j].written && ((roots >> b->kind) & 1 || needed[b->id]) &&
                !b->scratch;
    }
    if (!live[i])
      continue;
    for (int j = 0; j < c->k->nparams; j++)
      if (c->k->params[j].read)
        needed[c->args[j]->id] = true;
  }
  int k = 0;
  for (int i = 0; i < n; i++)
    if (live[i])
      p->calls.data[k++] = p->calls.data[i];
    else
      ((KCall *)p->calls.data[i])->k->ncalls--;
  p->calls.len = k;
  free(needed);
  free(live);
}

/* ---- the memory plan ---------------------------------------------------------------------- */

typedef struct {
  int64_t off, size;
  int last; /* the last call that touches it */
} Live;

static int64_t round_up(int64_t x) { return (x + ALIGN - 1) / ALIGN * ALIGN; }

/* first fit among the live blocks, or the top */
static int64_t alloc_block(Live *live, int *nlive, int64_t size, int last, int64_t *top) {
  size = round_up(size ? size : 1);
  int64_t off = 0;
  for (bool moved = true; moved;) {
    moved = false;
    for (int i = 0; i < *nlive; i++)
      if (off < live[i].off + live[i].size && live[i].off < off + size) {
        off = live[i].off + live[i].size;
        moved = true;
      }
  }
  live[(*nlive)++] = (Live){off, size, last};
  if (off + size > *top)
    *top = off + size;
  return off;
}

void kir_plan(Unit *u, Program *p) {
  int nb = u->bufs.len, n = p->calls.len;
  int *first = xcalloc((size_t)nb + 1, sizeof(int)), *last = xcalloc((size_t)nb + 1, sizeof(int));
  for (int b = 0; b < nb; b++)
    first[b] = last[b] = -1;
  for (int i = 0; i < n; i++) {
    KCall *c = p->calls.data[i];
    for (int j = 0; j < c->k->nparams; j++) {
      const Buf *b = c->args[j];
      if (b->kind != BUF_ACT)
        continue;
      if (first[b->id] < 0)
        first[b->id] = i;
      last[b->id] = i;
    }
  }
  for (int i = 0; i < p->keep.len; i++) { /* live until train_begin ends */
    const Buf *b = p->keep.data[i];
    if (first[b->id] >= 0 && last[b->id] < p->split - 1)
      last[b->id] = p->split - 1;
  }
  p->offset = arena_alloc(u->a, sizeof(int64_t) * (size_t)(nb + 1));
  for (int b = 0; b < nb; b++)
    p->offset[b] = -1;
  Live *live = xcalloc((size_t)nb + 1, sizeof(Live));
  int nlive = 0;
  int64_t top = 0;
  for (int i = 0; i < n; i++) {
    for (int k = 0; k < nlive;) /* free what no call from here on touches */
      if (live[k].last < i)
        live[k] = live[--nlive];
      else
        k++;
    KCall *c = p->calls.data[i];
    for (int j = 0; j < c->k->nparams; j++) {
      const Buf *b = c->args[j];
      if (b->kind == BUF_ACT && first[b->id] == i && p->offset[b->id] < 0)
        p->offset[b->id] = alloc_block(live, &nlive, b->size, last[b->id], &top);
    }
  }
  p->act_size = top;
  free(live);
  free(first);
  free(last);
}
