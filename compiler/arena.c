/* arena.c: bump allocation for AST, IR and strings. One arena per
 * compilation, freed whole; nothing is freed node by node. */
#include "mtlc.h"

#include <stdarg.h>
#include <string.h>

typedef struct Chunk {
  struct Chunk *next;
  size_t used, size;
  max_align_t data[];
} Chunk;

struct Arena {
  Chunk *head;
};

static Chunk *chunk_new(size_t size, Chunk *next) {
  Chunk *c = malloc(sizeof(Chunk) + size);
  if (!c) {
    fprintf(stderr, "mtlc: out of memory\n");
    exit(1);
  }
  c->next = next;
  c->used = 0;
  c->size = size;
  return c;
}

Arena *arena_new(void) {
  Arena *a = calloc(1, sizeof(Arena));
  if (!a) {
    fprintf(stderr, "mtlc: out of memory\n");
    exit(1);
  }
  a->head = chunk_new(1 << 16, NULL);
  return a;
}

void arena_free(Arena *a) {
  if (!a)
    return;
  for (Chunk *c = a->head, *next; c; c = next) {
    next = c->next;
    free(c);
  }
  free(a);
}

void *arena_alloc(Arena *a, size_t n) {
  const size_t align = sizeof(max_align_t);
  n = (n + align - 1) / align * align;
  Chunk *c = a->head;
  if (c->used + n > c->size) {
    size_t size = n > (1 << 16) ? n : (1 << 16);
    c = a->head = chunk_new(size, a->head);
  }
  void *p = (char *)c->data + c->used;
  c->used += n;
  memset(p, 0, n);
  return p;
}

char *arena_strndup(Arena *a, const char *s, size_t n) {
  char *p = arena_alloc(a, n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *arena_strdup(Arena *a, const char *s) {
  return arena_strndup(a, s, strlen(s));
}

char *arena_printf(Arena *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *p = arena_alloc(a, (size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(p, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return p;
}

void vec_push(Arena *a, Vec *v, void *x) {
  if (v->len == v->cap) {
    int cap = v->cap ? v->cap * 2 : 4;
    void **data = arena_alloc(a, sizeof(void *) * (size_t)cap);
    if (v->len)
      memcpy(data, v->data, sizeof(void *) * (size_t)v->len);
    v->data = data;
    v->cap = cap;
  }
  v->data[v->len++] = x;
}
