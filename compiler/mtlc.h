/* mtlc.h: what every stage of the compiler shares: the version, internal
 * asserts, the arena and its vectors, source spans and diagnostics, and
 * the runtime's PRNG. Each stage has a small header of its own on top of
 * this one (front/front.h, check/model.h, graph/graph.h, kir/kir.h,
 * back/back.h, tools/tools.h). Nothing here is public API; the runtime has
 * its own headers (runtime/mtl.h). */
#ifndef MTLC_H
#define MTLC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define MTLC_VERSION "0.1.0"

/* Internal bugs only, never user input: print where and abort (ggml). */
#define MTLC_ASSERT(x)                                                         \
  do {                                                                         \
    if (!(x)) {                                                                \
      fprintf(stderr, "%s:%d: internal error: assert(%s) failed\n", __FILE__, \
              __LINE__, #x);                                                   \
      abort();                                                                 \
    }                                                                          \
  } while (0)
#define unreachable() MTLC_ASSERT(!"unreachable")

/* ---- arena.c: one arena per compilation, freed whole ------------------- */

typedef struct Arena Arena;
Arena *arena_new(void);
void arena_free(Arena *a);
void *arena_alloc(Arena *a, size_t n); /* zeroed */
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_strdup(Arena *a, const char *s);
char *arena_printf(Arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A growable array of pointers whose storage comes from an arena. */
typedef struct {
  void **data;
  int len, cap;
} Vec;
void vec_push(Arena *a, Vec *v, void *x);

/* A hash table from strings to pointers, its storage from an arena: names
 * looked up in constant time, so a spec of 20,000 blocks checks in linear
 * time. The keys are not copied. */
typedef struct {
  const char **keys;
  void **vals;
  int len, cap;
} Map;
void *map_get(const Map *m, const char *key); /* NULL when absent */
void map_put(Arena *a, Map *m, const char *key, void *val); /* adds or replaces */
void *xcalloc(size_t n, size_t size); /* exits 1 with a message when out of memory */

/* ---- diag.c: diagnostics with spans ------------------------------------ */

/* A byte range [lo, hi) in the source; line and column are computed only
 * when a message is printed (jq's locfile). */
typedef struct {
  int lo, hi;
} Span;

typedef struct {
  const char *path; /* as the user named it */
  const char *text; /* NUL-terminated copy of the file */
  int len;
  int nerrors, nwarnings;
  int *line_start; /* the offsets lines start at, made at the first span_line */
  int nlines;
} Source;

typedef enum { DIAG_ERROR, DIAG_WARNING, DIAG_NOTE } DiagKind;

void diag_at(Source *src, DiagKind kind, Span sp, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define error_at(src, sp, ...) diag_at(src, DIAG_ERROR, sp, __VA_ARGS__)
#define warn_at(src, sp, ...) diag_at(src, DIAG_WARNING, sp, __VA_ARGS__)
#define note_at(src, sp, ...) diag_at(src, DIAG_NOTE, sp, __VA_ARGS__)
int span_line(const Source *src, int off);
const char *suggest(const char *name, const char *const *cands, int n);

/* ---- shapes and element types, shared by every stage ------------------- */

#define MAX_RANK 4

/* One sample's shape (the batch dimension is implicit), or a tensor's. */
typedef struct {
  int rank;
  int64_t d[MAX_RANK];
} Shape;

/* Element types: f32 values, i32 ids and class labels. */
typedef enum { DT_F32, DT_I32 } DType;

int64_t shape_numel(Shape s);
bool shape_eq(Shape a, Shape b); /* the same rank and dimensions */
/* "[32, 28, 28]" into buf; returns its length */
int shape_text(char *buf, size_t cap, Shape s);
const char *dtype_name(DType t); /* "f32", "i32" */

/* ---- rand: the runtime's PRNG (runtime/mtl_kernel.c), shared so that a
 * seed means the same numbers in the interpreter and in generated code */
#include "mtl.h"
typedef MtlRng Rng;
#define rng_seed mtl_rng_seed
#define rng_next mtl_rng_next
#define rng_uniform mtl_rng_uniform
#define rng_normal mtl_rng_normal


#endif
