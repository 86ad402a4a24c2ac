/* sema.h: what the files of the semantic checker share (sema.c, args.c):
 * the checker's state, its error macros, and argument binding. Not part of
 * the compiler's interface; mtlc.h is. */
#ifndef SEMA_H
#define SEMA_H
#include "check/model.h"

#define MAX_DIM (1 << 24)         /* any one dimension, unit or class count */
#define MAX_ELEMS ((int64_t)1 << 32) /* elements in one tensor */

typedef struct {
  Arena *a;
  Source *src;
  Spec *spec;
  Model *m;
  const char *dir;
  bool at_input; /* the layer being shaped gets the net's input as is */
  Vec unknown_inputs; /* char*: each reported once */
} Sema;

#define NEW(T) ((T *)arena_alloc(s->a, sizeof(T)))
#define ERR(sp, ...) error_at(s->src, sp, __VA_ARGS__)
#define WARN(sp, ...) warn_at(s->src, sp, __VA_ARGS__)
#define NOTE(sp, ...) note_at(s->src, sp, __VA_ARGS__)

typedef const char *const Alias[2]; /* another library's name, mtl's */
#define NELEMS(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define BIG ((double)MAX_DIM)

/* ---- args.c: argument binding ---- */

typedef enum { T_INT, T_NUM, T_BOOL, T_IDENT, T_INTLIST } ArgType;
enum { REQ = 1, MIN_EXCL = 2, MAX_EXCL = 4, NO_MAX = 8 };

typedef struct {
  const char *name;
  ArgType type;
  int flags;
  double min, max; /* for T_INT, T_NUM and list elements */
} Param;

typedef struct {
  const char *name;
  int npos; /* how many leading params may be given by position */
  const Param *params;
  int nparams;
  const char *example; /* shown when a required argument is missing */
} Sig;

const char *value_desc(Sema *s, Value *v);
const char *num_str(Sema *s, double x);
const char *type_hint(Sema *s, const Param *p, Value *v);
bool bind_args(Sema *s, Call *c, const Sig *sig, Value **out);
/* an unknown name of some kind: another library's name for it, else the
 * closest known name, else the list */
void unknown_name(Sema *s, Span sp, const char *what, const char *name,
                  const char *const *known, int n, Alias *aliases, int naliases,
                  const char *list);
double num_or(Value *v, double dflt);

#endif
