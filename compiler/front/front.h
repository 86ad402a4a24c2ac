/* front/front.h: the front end: the spec's AST, as the parser builds it
 * (parser.y, lexer.l, ast.c). */
#ifndef MTLC_FRONT_H
#define MTLC_FRONT_H
#include "mtlc.h"

/* ---- parser.y / lexer.l: the AST -------------------------------------- */

typedef enum { V_NUM, V_STR, V_IDENT, V_BOOL, V_LIST } ValueKind;

typedef struct Value Value;
struct Value {
  ValueKind kind;
  Span span;
  double num;    /* V_NUM, V_BOOL */
  bool is_int;   /* V_NUM written with no fraction or exponent */
  char *str;     /* V_STR (unescaped), V_IDENT */
  Vec items;     /* V_LIST: Value* */
};

typedef struct {
  char *name; /* NULL when positional */
  Span name_span;
  Value *val;
  Span span;
} Arg;

/* A layer or a call: IDENT [ "(" args ")" ], or IDENT "{" chain "}" (a
 * layer with a body, like residual) */
typedef struct {
  char *name;
  Span name_span;
  Span span; /* whole call, parentheses or braces included */
  bool parens;
  Vec args;  /* Arg* */
  bool braces;
  Vec body;  /* Call*: the chain between the braces */
} Call;

typedef struct {
  char *name;
  Span span;
  DType dtype;     /* f32 or i32 */
  Span dtype_span;
  Vec dims;        /* Value* */
} InputDecl;

typedef struct {
  char *name; /* input or label name */
  Span name_span;
  Value *path;
  Vec calls; /* Call*: normalize(...), csv(...) */
  Span span;
} Binding;

typedef struct {
  char *split;
  Span split_span;
  Vec bindings; /* Binding* */
  Span span;
} DataDecl;

/* A field of an experts block: count: E, net: chain, private: P */
typedef enum { EF_COUNT, EF_NET, EF_PRIVATE } ExpertsFieldKind;
typedef struct {
  ExpertsFieldKind kind;
  Span key_span;
  Span span;  /* whole field */
  Value *num; /* count, private */
  Vec chain;  /* net: Call* */
} ExpertsField;

typedef struct {
  bool is_private;
  bool is_experts; /* experts NAME { fields }: its chain is the net field's */
  char *name;
  Span name_span;
  Vec chain;  /* Call* */
  Vec fields; /* experts: ExpertsField* */
  Span span;
} BlockDecl;

typedef enum { LBL_CLASS, LBL_BINARY, LBL_REAL } LabelKind;

typedef enum {
  F_LABEL,
  F_NET,
  F_LOSS,
  F_WEIGHT,
  F_METRIC,
} FieldKind;

typedef struct {
  FieldKind kind;
  Span span; /* whole field */
  Span key_span;
  /* F_LABEL */
  LabelKind label;
  Value *label_n; /* class(N) or real[N]; NULL for binary */
  Call *derive;   /* = lookup(...) */
  /* F_NET */
  char *input;
  Span input_span;
  Vec chain; /* Call* */
  /* F_LOSS */
  Call *loss;
  /* F_WEIGHT */
  Value *weight;
  /* F_METRIC */
  Vec metrics; /* Value* (V_IDENT) */
} Field;

typedef struct {
  char *name;
  Span name_span;
  Vec fields; /* Field* */
  Span span;
} TaskDecl;

typedef struct {
  char *key;
  Span key_span;
  Value *val;  /* a plain value, or NULL */
  Call *call;  /* an IDENT, or IDENT(...) */
  Span span;
} TrainItem;

typedef struct {
  Vec items; /* TrainItem* */
  Span span;
} TrainDecl;

typedef struct {
  char *model;
  Span model_span;
  Vec inputs;     /* InputDecl* */
  Vec data;       /* DataDecl* */
  Vec blocks;     /* BlockDecl* */
  Vec tasks;      /* TaskDecl* */
  Vec regularize; /* Call* */
  Vec balance;    /* Call* */
  Vec train;      /* TrainDecl* */
} Spec;

/* What the parser and scanner share (yyextra, parse-param). */
typedef struct {
  Arena *arena;
  Source *src;
  Spec *spec;
  int pos; /* scanner's byte offset */
  /* open delimiters, for "to close" hints */
  struct Open {
    char ch;
    Span span;
    char what[100];
  } open[64];
  int nopen, open_overflow;
  char prev[2][48]; /* texts of the last two tokens */
} ParseState;

/* parse.c glue: returns NULL after reporting syntax errors */
Spec *parse_spec(Arena *a, Source *src);

#endif
