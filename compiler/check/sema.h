/* check/sema.h: what the files of the semantic checker share (sema.c,
 * nets.c, tasks.c, recipe.c, data.c, args.c, layers.c) and the op
 * families' shape rules use: the checker's state, its error macros,
 * argument binding and name lookup. Not part of the compiler's interface:
 * check/model.h is. */
#ifndef SEMA_H
#define SEMA_H
#include "check/model.h"

#define MAX_DIM (1 << 24)         /* any one dimension, unit or class count */
#define MAX_ELEMS ((int64_t)1 << 32) /* elements in one tensor */
#define MAX_TASKS 64                 /* the runtime's limit (mtl_train.c) */

/* A shared block or experts block applied to a value: the pair is the key
 * that makes two uses one value (check/nets.c). */
typedef struct {
  Block *block;
  NetVal *in, *out;
  Vec experts; /* experts: the shared experts' outputs, NetVal* */
} Applied;

struct Sema {
  Arena *a;
  Source *src;
  Spec *spec;
  Model *m;
  const char *dir;
  bool at_input;      /* the layer being shaped gets the net's input as is */
  Vec unknown_inputs; /* char*: each reported once */
  Map names;          /* Name*: declared names, for the duplicate check */
  Vec applied;        /* Applied*: shared blocks' applications */
  Block *block;       /* the block whose chain is being read or shaped;
                       * NULL: a task's own layers */
  Vec stitches;       /* StitchUse* (check/sharing.c) */
};

#define NEW(T) ((T *)arena_alloc(s->a, sizeof(T)))
#define ERR(sp, ...) error_at(s->src, sp, __VA_ARGS__)
#define WARN(sp, ...) warn_at(s->src, sp, __VA_ARGS__)
#define NOTE(sp, ...) note_at(s->src, sp, __VA_ARGS__)

typedef const char *const Alias[2]; /* another library's name, mtl's */
#define NELEMS(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define BIG ((double)MAX_DIM)

/* ---- args.c: argument binding ---- */

typedef enum { T_INT, T_NUM, T_BOOL, T_IDENT, T_INTLIST, T_STR, T_NUMS } ArgType;
/* T_NUMS: a number, or a list of numbers (one per channel) */
enum { REQ = 1, MIN_EXCL = 2, MAX_EXCL = 4, NO_MAX = 8 };

typedef struct {
  const char *name;
  ArgType type;
  int flags;
  double min, max; /* for T_INT, T_NUM and list elements */
} Param;

#define MAX_ARGS 8

struct Sig {
  const char *name; /* NULL for a layer's: the layer table has it */
  int npos; /* how many leading params may be given by position */
  const Param *params;
  int nparams;
  const char *example; /* shown when a required argument is missing */
  /* a layer PyTorch writes with its input's size first, Linear(in, out):
   * PyTorch's class, what mtl's layer takes ("only its output size") and
   * what it infers ("size"), for the message when a spec does the same */
  const char *torch_class, *takes, *infers;
};

const char *value_desc(Sema *s, Value *v);
const char *num_str(Sema *s, double x);
const char *type_hint(Sema *s, const Param *p, Value *v);
/* out[i]: the value given for params[i], or NULL; false after reporting */
bool bind_args(Sema *s, Call *c, const Sig *sig, Value **out);
/* an unknown name of some kind: another library's name for it, else the
 * closest known name, else the list */
void unknown_name(Sema *s, Span sp, const char *what, const char *name,
                  const char *const *known, int n, Alias *aliases, int naliases,
                  const char *list);
double num_or(Value *v, double dflt);

/* ---- sema.c: names ---- */
Input *find_input(Model *m, const char *name);
Block *find_block(Model *m, const char *name);
Task *find_task(Model *m, const char *name);
void declare(Sema *s, const char *what, const char *name, Span sp);
/* names of one kind (name_off: the name's offset in each element), with
 * the layers' names after them when with_layers */
const char **name_list(Sema *s, Vec *v, size_t name_off, int *n, bool with_layers);
/* whether name is in v; adds it if not, for reporting a name once */
bool reported(Sema *s, Vec *v, const char *name);
const char *label_str(Sema *s, Task *t);

/* ---- nets.c: layers, blocks and nets ---- */
void check_blocks(Sema *s);
/* net: IDENT "->" chain */
void check_net(Sema *s, Task *t, Field *f);
/* each i32 input's vocabulary, from the layers of ids it feeds */
void input_vocabs(Sema *s);
/* "layers: dense, conv2d, ...", from the layer table */
const char *layer_list(Sema *s);

/* the pair (b, x): an earlier application of shared or experts block b to
 * x, or a new one (out NULL) */
Applied *applied_to(Sema *s, Block *b, NetVal *x);
NetVal *new_val(Sema *s, NetValKind kind, Layer *l, Block *b, Task *copy, NetVal *x);
/* the values of a shaped chain applied to x, with b's (or a task's own)
 * parameters of copy and expert */
NetVal *chain_vals(Sema *s, Vec *layers, NetVal *x, Block *b, Task *copy, int expert);
/* output shape, parameters and FLOPs of a chain on `in`; false after errors */
bool shape_chain(Sema *s, Vec *layers, Shape in, DType dt, Shape *out);

/* ---- sharing.c: experts blocks and cross-stitch ---- */
/* an experts block's fields: its count, private count and chain (NULL
 * after errors) */
Vec *experts_fields(Sema *s, Block *b);
/* the gate, experts and gated sum of shaped experts block b for task t on
 * x: its gated sum */
NetVal *experts_vals(Sema *s, Task *t, Block *b, NetVal *x);
/* a task's gate and gated sum on a shaped block: parameters and FLOPs */
bool experts_shaped(Sema *s, Block *b, Call *use);
/* the stitches made since value `first`, in copy t's use of a private
 * block on x */
void stitch_uses(Sema *s, int first, Task *t, NetVal *x, Call *use);
/* once every net is known: each stitch's values take every copy's input,
 * and the values are put back in topological order */
void link_stitches(Sema *s);
/* names under a block that a task's name would collide with */
void check_sharing_names(Sema *s);

/* ---- layers.c: what the families' shape rules share ---- */
/* an output of more elements per sample than mtlc supports: reported */
bool layer_too_big(Sema *s, Call *c, Shape sh);
bool layer_too_many_weights(Sema *s, Call *c, double n);
/* counts (>= 0) that saturate instead of overflowing */
int64_t sat_add(int64_t a, int64_t b);
int64_t sat_mul(int64_t a, int64_t b);
/* what to do when a layer of maps gets a vector */
const char *image_hint(Sema *s, Shape in);
int64_t int_arg(Value *v, int64_t dflt);
bool bool_arg(Value *v, bool dflt);

/* ---- tasks.c ---- */
void check_task(Sema *s, TaskDecl *d);
void resolve_lookups(Sema *s);

/* ---- recipe.c: regularizers, balance, train ---- */
void check_regularizer(Sema *s, Call *c);
void check_balance(Sema *s);
void check_train(Sema *s);

/* ---- data.c ---- */
void check_data(Sema *s);
/* how normalization sees an input's elements: its channels and inner size */
void norm_layout(Input *in);
void data_warnings(Sema *s);
/* a data path resolved along the data search path (the spec's folder,
 * ./data, $MTLC_DATA or ~/.cache/mtlc, /usr/share/datasets) */
char *resolve_data_path(Sema *s, const char *p, bool *found);
const char *data_search_text(Sema *s); /* "looked in ..." */

/* ---- text.c: the text options of a data binding ---- */
/* chars(...) or words(...) of db: true when c is one (checked, reported) */
bool check_text_option(Sema *s, DataBind *db, Call *c);
void text_warnings(Sema *s, DataBind *db);

#endif
