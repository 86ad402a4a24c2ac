/* ast.c: AST constructors for the parser's actions, and parse_spec, which
 * runs scanner and parser over one source. No checking happens here beyond
 * what the grammar itself says; sema.c gives the AST its meaning. */
#include "front/ast.h"
#include "parser.h"

#define NEW(T) ((T *)arena_alloc(ps->arena, sizeof(T)))

Value *ast_ident(ParseState *ps, char *name, Span sp) {
  Value *v = NEW(Value);
  v->kind = V_IDENT;
  v->str = name;
  v->span = sp;
  return v;
}

Value *ast_bool(ParseState *ps, bool b, Span sp) {
  Value *v = NEW(Value);
  v->kind = V_BOOL;
  v->num = b;
  v->span = sp;
  return v;
}

Value *ast_list(ParseState *ps, Vec *items, Span sp) {
  Value *v = NEW(Value);
  v->kind = V_LIST;
  v->items = *items;
  v->span = sp;
  return v;
}

Arg *ast_arg(ParseState *ps, char *name, Span name_sp, Value *v, Span sp) {
  Arg *a = NEW(Arg);
  a->name = name;
  a->name_span = name_sp;
  a->val = v;
  a->span = sp;
  return a;
}

Call *ast_call(ParseState *ps, char *name, Span name_sp, Vec *args,
               bool parens, Span sp) {
  Call *c = NEW(Call);
  c->name = name;
  c->name_span = name_sp;
  c->parens = parens;
  if (args)
    c->args = *args;
  c->span = sp;
  return c;
}

Call *ast_body_call(ParseState *ps, char *name, Span name_sp, Vec *body, Span sp) {
  Call *c = ast_call(ps, name, name_sp, NULL, false, sp);
  c->braces = true;
  c->body = *body;
  return c;
}

void ast_model(ParseState *ps, char *name, Span sp) {
  ps->spec->model = name;
  ps->spec->model_span = sp;
}

void ast_input(ParseState *ps, char *name, Span name_sp, DType t, Span t_sp, Vec *dims,
               Span sp) {
  InputDecl *d = NEW(InputDecl);
  d->name = name;
  d->span = name_sp;
  d->dtype = t;
  d->dtype_span = t_sp;
  d->dims = *dims;
  (void)sp;
  vec_push(ps->arena, &ps->spec->inputs, d);
}

Binding *ast_binding(ParseState *ps, char *name, Span name_sp, Value *path,
                     Vec *calls, Span sp) {
  Binding *b = NEW(Binding);
  b->name = name;
  b->name_span = name_sp;
  b->path = path;
  b->calls = *calls;
  b->span = sp;
  return b;
}

void ast_data(ParseState *ps, char *split, Span split_sp, Vec *binds, Span sp) {
  DataDecl *d = NEW(DataDecl);
  d->split = split;
  d->split_span = split_sp;
  d->bindings = *binds;
  d->span = sp;
  vec_push(ps->arena, &ps->spec->data, d);
}

static BlockDecl *block_decl(ParseState *ps, char *name, Span name_sp, Span sp) {
  BlockDecl *b = NEW(BlockDecl);
  b->name = name;
  b->name_span = name_sp;
  b->span = sp;
  vec_push(ps->arena, &ps->spec->blocks, b);
  return b;
}

void ast_block(ParseState *ps, bool is_private, char *name, Span name_sp,
               Vec *chain, Span sp) {
  BlockDecl *b = block_decl(ps, name, name_sp, sp);
  b->is_private = is_private;
  b->chain = *chain;
}

void ast_experts(ParseState *ps, char *name, Span name_sp, Vec *fields, Span sp) {
  BlockDecl *b = block_decl(ps, name, name_sp, sp);
  b->is_experts = true;
  b->fields = *fields;
}

ExpertsField *ast_efield(ParseState *ps, ExpertsFieldKind k, Value *num, Vec *chain,
                         Span key_sp, Span sp) {
  ExpertsField *f = NEW(ExpertsField);
  f->kind = k;
  f->num = num;
  if (chain)
    f->chain = *chain;
  f->key_span = key_sp;
  f->span = sp;
  return f;
}

static Field *field(ParseState *ps, FieldKind k, Span key_sp, Span sp) {
  Field *f = NEW(Field);
  f->kind = k;
  f->key_span = key_sp;
  f->span = sp;
  return f;
}

Field *ast_label(ParseState *ps, LabelKind k, Value *n, Call *derive,
                 Span key_sp, Span sp) {
  Field *f = field(ps, F_LABEL, key_sp, sp);
  f->label = k;
  f->label_n = n;
  f->derive = derive;
  return f;
}

Field *ast_net(ParseState *ps, char *input, Span input_sp, Vec *chain,
               Span key_sp, Span sp) {
  Field *f = field(ps, F_NET, key_sp, sp);
  f->input = input;
  f->input_span = input_sp;
  f->chain = *chain;
  return f;
}

Field *ast_loss(ParseState *ps, Call *loss, Span key_sp, Span sp) {
  Field *f = field(ps, F_LOSS, key_sp, sp);
  f->loss = loss;
  return f;
}

Field *ast_weight(ParseState *ps, Value *w, Span key_sp, Span sp) {
  Field *f = field(ps, F_WEIGHT, key_sp, sp);
  f->weight = w;
  return f;
}

Field *ast_metric(ParseState *ps, Vec *names, Span key_sp, Span sp) {
  Field *f = field(ps, F_METRIC, key_sp, sp);
  f->metrics = *names;
  return f;
}

void ast_task(ParseState *ps, char *name, Span name_sp, Vec *fields, Span sp) {
  TaskDecl *t = NEW(TaskDecl);
  t->name = name;
  t->name_span = name_sp;
  t->fields = *fields;
  t->span = sp;
  vec_push(ps->arena, &ps->spec->tasks, t);
}

void ast_regularize(ParseState *ps, Call *c) {
  vec_push(ps->arena, &ps->spec->regularize, c);
}

void ast_balance(ParseState *ps, Call *c) {
  vec_push(ps->arena, &ps->spec->balance, c);
}

TrainItem *ast_titem(ParseState *ps, char *key, Span key_sp, Value *v,
                     Call *c, Span sp) {
  TrainItem *t = NEW(TrainItem);
  t->key = key;
  t->key_span = key_sp;
  t->val = v;
  t->call = c;
  t->span = sp;
  return t;
}

void ast_train(ParseState *ps, Vec *items, Span sp) {
  TrainDecl *t = NEW(TrainDecl);
  t->items = *items;
  t->span = sp;
  vec_push(ps->arena, &ps->spec->train, t);
}

/* Scanner entry points (lexer.c); declared here to keep flex's header out. */
int yylex_init_extra(ParseState *extra, yyscan_t *scanner);
int yylex_destroy(yyscan_t scanner);
struct yy_buffer_state *yy_scan_bytes(const char *bytes, int len,
                                      yyscan_t scanner);

Spec *parse_spec(Arena *a, Source *src) {
  ParseState ps = {.arena = a, .src = src};
  ps.spec = arena_alloc(a, sizeof(Spec));
  yyscan_t scanner;
  if (yylex_init_extra(&ps, &scanner) != 0) {
    fprintf(stderr, "mtlc: out of memory\n");
    exit(1);
  }
  yy_scan_bytes(src->text, src->len, scanner);
  int before = src->nerrors;
  int rc = yyparse(scanner, &ps);
  yylex_destroy(scanner);
  return rc == 0 && src->nerrors == before ? ps.spec : NULL;
}
