/* arena.c: bump allocation for AST, IR and strings. One arena per
 * compilation, freed whole; nothing is freed node by node. */
#include "mtlc.h"

#include <stdarg.h>
#include <string.h>

/* Under AddressSanitizer every allocation gets a poisoned red zone after it,
 * so reading or writing past the end of an AST node or string is reported
 * as it would be with malloc (tests/asan-build.sh). */
#if defined(__SANITIZE_ADDRESS__)
#define ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_ASAN 1
#endif
#endif
#ifdef ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define REDZONE sizeof(max_align_t)
#else
#define ASAN_POISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#define REDZONE 0
#endif

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
  ASAN_POISON_MEMORY_REGION(c->data, size);
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
    ASAN_UNPOISON_MEMORY_REGION(c->data, c->size);
    free(c);
  }
  free(a);
}

void *arena_alloc(Arena *a, size_t want) {
  const size_t align = sizeof(max_align_t);
  size_t n = (want + align - 1) / align * align + REDZONE;
  Chunk *c = a->head;
  if (c->used + n > c->size) {
    size_t size = n > (1 << 16) ? n : (1 << 16);
    c = a->head = chunk_new(size, a->head);
  }
  void *p = (char *)c->data + c->used;
  c->used += n;
  ASAN_UNPOISON_MEMORY_REGION(p, want);
  memset(p, 0, want);
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

static unsigned hash(const char *s) {
  unsigned h = 2166136261u; /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

/* the slot of key, or of the empty slot where it would go; cap is a power
 * of two and the table is at most half full */
static int map_slot(const Map *m, const char *key) {
  int i = (int)(hash(key) & (unsigned)(m->cap - 1));
  while (m->keys[i] && strcmp(m->keys[i], key))
    i = (i + 1) & (m->cap - 1);
  return i;
}

void *map_get(const Map *m, const char *key) {
  if (!m->len)
    return NULL;
  int i = map_slot(m, key);
  return m->keys[i] ? m->vals[i] : NULL;
}

void map_put(Arena *a, Map *m, const char *key, void *val) {
  if (2 * (m->len + 1) > m->cap) {
    Map big = {.cap = m->cap ? 2 * m->cap : 16};
    big.keys = arena_alloc(a, sizeof(char *) * (size_t)big.cap);
    big.vals = arena_alloc(a, sizeof(void *) * (size_t)big.cap);
    for (int i = 0; i < m->cap; i++)
      if (m->keys[i]) {
        int j = map_slot(&big, m->keys[i]);
        big.keys[j] = m->keys[i], big.vals[j] = m->vals[i];
        big.len++;
      }
    *m = big;
  }
  int i = map_slot(m, key);
  if (!m->keys[i])
    m->keys[i] = key, m->len++;
  m->vals[i] = val;
}

/* Heap blocks outside the arena (interpreter values, test buffers): an
 * allocation that fails is the user's model being too large, not a bug. */
void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) {
    fprintf(stderr, "mtlc: out of memory: %.1f MiB requested at once; the model or "
                    "batch is too large for this machine\n",
            (double)n * (double)size / (1 << 20));
    exit(1);
  }
  return p;
}
