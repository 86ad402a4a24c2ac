/* parser.y: the grammar of mtl specs (../shared/LANGUAGE.md), versions 0
 * and 1.
 * A pure parser with byte-span locations; its actions call the AST
 * constructors of ast.c and nothing else. Syntax errors are reported by
 * yyreport_syntax_error (ast.c), which lists what was expected and what an
 * unclosed delimiter belongs to; recovery skips to the next declaration so
 * that every syntax error in a file is reported in one run. Meaning (names,
 * shapes, values) is sema.c's business, not the parser's. */
%code requires {
#include "front/front.h"
typedef void *yyscan_t;
}

%code provides {
int yylex(YYSTYPE *lval, YYLTYPE *lloc, yyscan_t scanner);
void yyerror(YYLTYPE *loc, yyscan_t scanner, ParseState *ps, const char *msg);
}

%code {
#include <ctype.h>
#include <string.h>
#include "front/ast.h"
#define YYLLOC_DEFAULT(Cur, Rhs, N)                                            \
  do {                                                                         \
    if (N) {                                                                   \
      (Cur).lo = YYRHSLOC(Rhs, 1).lo;                                          \
      (Cur).hi = YYRHSLOC(Rhs, N).hi;                                          \
    } else {                                                                   \
      (Cur).lo = (Cur).hi = YYRHSLOC(Rhs, 0).hi;                               \
    }                                                                          \
  } while (0)
#define A ps->arena
}

%define api.pure full
%define api.location.type {Span}
%locations
%define parse.error custom
%define parse.lac full
%expect 0
%param {yyscan_t scanner}
%parse-param {ParseState *ps}

%union {
  char *str;
  Value *val;
  Arg *arg;
  Call *call;
  Field *field;
  Binding *bind;
  TrainItem *titem;
  ExpertsField *efield;
  Vec vec;
}

%token MTL_EOF 0 "end of file"
%token <str> IDENT "identifier"
%token <val> NUMBER "number" STRING "string"
%token <str> KW_MODEL "model" KW_INPUT "input" KW_DATA "data"
%token <str> KW_SHARED "shared" KW_PRIVATE "private" KW_TASK "task"
%token <str> KW_LABEL "label" KW_NET "net" KW_LOSS "loss" KW_WEIGHT "weight"
%token <str> KW_METRIC "metric" KW_REGULARIZE "regularize" KW_BALANCE "balance"
%token <str> KW_TRAIN "train" KW_CLASS "class" KW_BINARY "binary" KW_REAL "real"
%token <str> KW_F32 "f32" KW_I32 "i32" KW_TRUE "true" KW_FALSE "false"
/* keywords only in context (lexer.l): "experts" where a declaration
 * starts, "count" before ':' in an experts block */
%token <str> KW_EXPERTS "experts" KW_COUNT "count"
%token ARROW "->"

%type <str> split keyword
%type <val> value
%type <vec> values values_opt dims args args_opt chain calls bindings fields
%type <vec> idents titems efields
%type <arg> arg
%type <call> layer call derive_opt
%type <field> field
%type <bind> binding
%type <titem> titem
%type <efield> efield

%%

spec
  : model_opt decls
  ;

model_opt
  : %empty
  | "model" IDENT                      { ast_model(ps, $2, @2); }
  ;

decls
  : %empty
  | decls decl
  | decls error
  ;

decl
  : input | data | block | experts | task | regularize | balance | train
  ;

/* input = "input" IDENT ":" ( "f32" | "i32" ) "[" INT { "," INT } "]" */
input
  : "input" IDENT ':' "f32" '[' dims ']' { ast_input(ps, $2, @2, DT_F32, @4, &$6, @$); }
  | "input" IDENT ':' "i32" '[' dims ']' { ast_input(ps, $2, @2, DT_I32, @4, &$6, @$); }
  ;

dims
  : NUMBER                             { $$ = (Vec){0}; vec_push(A, &$$, $1); }
  | dims ',' NUMBER                    { $$ = $1; vec_push(A, &$$, $3); }
  ;

/* data = "data" IDENT "{" { IDENT ":" STRING { "," call } [ ";" ] } "}" */
data
  : "data" split '{' bindings '}'      { ast_data(ps, $2, @2, &$4, @$); }
  ;

split
  : IDENT
  | keyword
  ;

bindings
  : %empty                             { $$ = (Vec){0}; }
  | bindings binding semi_opt          { $$ = $1; vec_push(A, &$$, $2); }
  ;

binding
  : IDENT ':' STRING calls             { $$ = ast_binding(ps, $1, @1, $3, &$4, @$); }
  ;

calls
  : %empty                             { $$ = (Vec){0}; }
  | calls ',' call                     { $$ = $1; vec_push(A, &$$, $3); }
  ;

semi_opt
  : %empty
  | ';'
  ;

/* block = ( "shared" | "private" ) IDENT "{" chain "}" */
block
  : "shared" IDENT '{' chain '}'       { ast_block(ps, false, $2, @2, &$4, @$); }
  | "private" IDENT '{' chain '}'      { ast_block(ps, true, $2, @2, &$4, @$); }
  ;

/* experts = "experts" IDENT "{" { efield [ ";" ] } "}" */
experts
  : "experts" IDENT '{' efields '}'    { ast_experts(ps, $2, @2, &$4, @$); }
  ;

efields
  : %empty                             { $$ = (Vec){0}; }
  | efields efield semi_opt            { $$ = $1; vec_push(A, &$$, $2); }
  ;

/* efield = "count" ":" INT | "net" ":" chain | "private" ":" INT */
efield
  : "count" ':' NUMBER                 { $$ = ast_efield(ps, EF_COUNT, $3, NULL, @1, @$); }
  | "net" ':' chain                    { $$ = ast_efield(ps, EF_NET, NULL, &$3, @1, @$); }
  | "private" ':' NUMBER               { $$ = ast_efield(ps, EF_PRIVATE, $3, NULL, @1, @$); }
  ;

/* chain = layer { [ "->" ] layer } */
chain
  : layer                              { $$ = (Vec){0}; vec_push(A, &$$, $1); }
  | chain layer                        { $$ = $1; vec_push(A, &$$, $2); }
  | chain "->" layer                   { $$ = $1; vec_push(A, &$$, $3); }
  ;

/* layer = call | IDENT "{" chain "}"     (a layer with a body: residual) */
layer
  : call
  | IDENT '{' chain '}'                { $$ = ast_body_call(ps, $1, @1, &$3, @$); }
  ;

/* call = IDENT [ "(" [ arg { "," arg } ] ")" ] */
call
  : IDENT                              { $$ = ast_call(ps, $1, @1, NULL, false, @$); }
  | IDENT '(' args_opt ')'             { $$ = ast_call(ps, $1, @1, &$3, true, @$); }
  ;

args_opt
  : %empty                             { $$ = (Vec){0}; }
  | args
  ;

args
  : arg                                { $$ = (Vec){0}; vec_push(A, &$$, $1); }
  | args ',' arg                       { $$ = $1; vec_push(A, &$$, $3); }
  ;

/* arg = [ IDENT "=" ] value */
arg
  : value                              { $$ = ast_arg(ps, NULL, @1, $1, @$); }
  | IDENT '=' value                    { $$ = ast_arg(ps, $1, @1, $3, @$); }
  ;

/* value = NUMBER | STRING | IDENT | "true" | "false" | "[" [ value { "," value } ] "]" */
value
  : NUMBER
  | STRING
  | IDENT                              { $$ = ast_ident(ps, $1, @1); }
  | "true"                             { $$ = ast_bool(ps, true, @1); }
  | "false"                            { $$ = ast_bool(ps, false, @1); }
  | '[' values_opt ']'                 { $$ = ast_list(ps, &$2, @$); }
  ;

values_opt
  : %empty                             { $$ = (Vec){0}; }
  | values
  ;

values
  : value                              { $$ = (Vec){0}; vec_push(A, &$$, $1); }
  | values ',' value                   { $$ = $1; vec_push(A, &$$, $3); }
  ;

/* task = "task" IDENT "{" { field [ ";" ] } "}" */
task
  : "task" IDENT '{' fields '}'        { ast_task(ps, $2, @2, &$4, @$); }
  ;

fields
  : %empty                             { $$ = (Vec){0}; }
  | fields field semi_opt              { $$ = $1; vec_push(A, &$$, $2); }
  ;

field
  : "label" ':' "class" '(' NUMBER ')' derive_opt
                                       { $$ = ast_label(ps, LBL_CLASS, $5, $7, @1, @$); }
  | "label" ':' "binary" derive_opt    { $$ = ast_label(ps, LBL_BINARY, NULL, $4, @1, @$); }
  | "label" ':' "real" '[' NUMBER ']' derive_opt
                                       { $$ = ast_label(ps, LBL_REAL, $5, $7, @1, @$); }
  | "net" ':' IDENT "->" chain         { $$ = ast_net(ps, $3, @3, &$5, @1, @$); }
  | "loss" ':' call                    { $$ = ast_loss(ps, $3, @1, @$); }
  | "weight" ':' NUMBER                { $$ = ast_weight(ps, $3, @1, @$); }
  | "metric" ':' idents                { $$ = ast_metric(ps, &$3, @1, @$); }
  ;

derive_opt
  : %empty                             { $$ = NULL; }
  | '=' call                           { $$ = $2; }
  ;

idents
  : IDENT                              { $$ = (Vec){0}; vec_push(A, &$$, ast_ident(ps, $1, @1)); }
  | idents ',' IDENT                   { $$ = $1; vec_push(A, &$$, ast_ident(ps, $3, @3)); }
  ;

/* regularize = "regularize" ":" call ;  balance = "balance" ":" call */
regularize
  : "regularize" ':' call              { ast_regularize(ps, $3); }
  ;

balance
  : "balance" ':' call                 { ast_balance(ps, $3); }
  ;

/* train = "train" "{" { IDENT ":" ( value | call ) [ ";" ] } "}" */
train
  : "train" '{' titems '}'             { ast_train(ps, &$3, @$); }
  ;

titems
  : %empty                             { $$ = (Vec){0}; }
  | titems titem semi_opt              { $$ = $1; vec_push(A, &$$, $2); }
  ;

titem
  : IDENT ':' NUMBER                   { $$ = ast_titem(ps, $1, @1, $3, NULL, @$); }
  | IDENT ':' STRING                   { $$ = ast_titem(ps, $1, @1, $3, NULL, @$); }
  | IDENT ':' "true"                   { $$ = ast_titem(ps, $1, @1, ast_bool(ps, true, @3), NULL, @$); }
  | IDENT ':' "false"                  { $$ = ast_titem(ps, $1, @1, ast_bool(ps, false, @3), NULL, @$); }
  | IDENT ':' '[' values_opt ']'       { $$ = ast_titem(ps, $1, @1, ast_list(ps, &$4, (Span){@3.lo, @5.hi}), NULL, @$); }
  | IDENT ':' call                     { $$ = ast_titem(ps, $1, @1, NULL, $3, @$); }
  ;

keyword
  : "model" | "input" | "data" | "shared" | "private" | "task" | "label"
  | "net" | "loss" | "weight" | "metric" | "regularize" | "balance" | "train"
  | "class" | "binary" | "real" | "f32" | "i32" | "true" | "false"
  ;

%%

/* Syntax errors. The common mistakes get a message of their own, placed
 * where the fix goes: "missing '}' to close 'task digit' at line 3" just
 * after the last token of the task, "missing ':' after 'label'", "'label'
 * is a keyword and cannot be a task's name", "unknown task field 'lable';
 * did you mean 'label'?". Anything else reads "unexpected X after 'P',
 * expected A, B or C", with what a closing delimiter would close (Lua's
 * "'}' expected (to close '{' at line 3)"). */

#define SYM(ch) ((yysymbol_kind_t)YYTRANSLATE((int)(ch)))

static bool is_keyword(yysymbol_kind_t k) {
  return (k >= YYSYMBOL_KW_MODEL && k <= YYSYMBOL_KW_FALSE) || k == YYSYMBOL_KW_EXPERTS ||
         k == YYSYMBOL_KW_COUNT;
}

static bool is_punct(yysymbol_kind_t k) {
  return k == YYSYMBOL_ARROW || yysymbol_name(k)[0] == '\'';
}

static bool starts_decl(yysymbol_kind_t k) {
  return (k >= YYSYMBOL_KW_MODEL && k <= YYSYMBOL_KW_TASK) ||
         k == YYSYMBOL_KW_REGULARIZE || k == YYSYMBOL_KW_BALANCE ||
         k == YYSYMBOL_KW_TRAIN || k == YYSYMBOL_KW_EXPERTS;
}

/* What the lookahead is, for "unexpected X" and "found X". */
static const char *found_desc(ParseState *ps, yysymbol_kind_t k, Span sp) {
  int len = sp.hi - sp.lo;
  const char *text = ps->src->text + sp.lo;
  if (k == YYSYMBOL_IDENT)
    return arena_printf(A, "name '%.*s'", len > 40 ? 40 : len, text);
  if (k == YYSYMBOL_NUMBER)
    return arena_printf(A, "number %.*s", len > 40 ? 40 : len, text);
  if (k == YYSYMBOL_STRING)
    return arena_printf(A, "string %.*s%s", len > 40 ? 40 : len, text,
                        len > 40 ? "..." : "");
  if (is_keyword(k))
    return arena_printf(A, "keyword '%s'", yysymbol_name(k));
  if (k == YYSYMBOL_ARROW)
    return "'->'";
  return yysymbol_name(k); /* "':'", "end of file" */
}

/* What an expected token is. A name is described by what it would name:
 * prev is the token before the lookahead, what the innermost open '{'. */
static const char *expected_desc(ParseState *ps, yysymbol_kind_t k,
                                 const char *prev, const char *what) {
  if (k == YYSYMBOL_IDENT) {
    if (!strcmp(prev, "->"))
      return "a layer or block name";
    if (!strcmp(prev, "task"))
      return "a task name";
    if (!strcmp(prev, "shared") || !strcmp(prev, "private") || !strcmp(prev, "experts"))
      return "a block name";
    if (!strcmp(prev, "input"))
      return "an input name";
    if (!strcmp(prev, "model"))
      return "a model name";
    if (!strcmp(prev, "data"))
      return "a split name (train, test or valid)";
    if (!strncmp(what, "shared ", 7) || !strncmp(what, "private ", 8))
      return "a layer name";
    return "a name";
  }
  if (k == YYSYMBOL_NUMBER)
    return "a number";
  if (k == YYSYMBOL_STRING)
    return "a string";
  if (is_keyword(k) || k == YYSYMBOL_ARROW)
    return arena_printf(A, "'%s'", yysymbol_name(k));
  return yysymbol_name(k);
}

/* Where the token before offset lo ends: white space and comments
 * skipped. A missing delimiter is reported there, where it goes. */
static int prev_token_end(const Source *src, int lo) {
  int p = lo;
  for (;;) {
    while (p > 0 && strchr(" \t\r\n\f\v", src->text[p - 1]))
      p--;
    if (p == 0)
      return 0;
    int line = p - 1; /* is p - 1 inside a comment? find its line's '#' */
    while (line > 0 && src->text[line - 1] != '\n')
      line--;
    int hash = -1;
    bool in_str = false;
    for (int i = line; i < p; i++) {
      char c = src->text[i];
      if (in_str && c == '\\')
        i++;
      else if (c == '"')
        in_str = !in_str;
      else if (c == '#' && !in_str) {
        hash = i;
        break;
      }
    }
    if (hash < 0)
      return p;
    p = hash;
  }
}

static const char *const decl_words[] = {"model", "input", "data", "shared",
    "private", "experts", "task", "regularize", "balance", "train"};
static const char *const field_words[] = {"label", "net", "loss", "weight",
    "metric"};
static const char *const train_words[] = {"optimizer", "batch", "epochs",
    "seed", "schedule", "clip", "early_stop"};

static bool in_list(const char *name, const char *const *list, int n) {
  for (int i = 0; i < n; i++)
    if (!strcmp(name, list[i]))
      return true;
  return false;
}

/* A name where a task field or a declaration belongs. */
static const char *misplaced_name(ParseState *ps, const char *name,
                                  bool in_task) {
  if (in_task) {
    const char *hint = suggest(name, field_words, 5);
    if (hint)
      return arena_printf(A, "unknown task field '%s'; did you mean '%s'?",
                          name, hint);
    if (in_list(name, train_words, 7))
      return arena_printf(A, "'%s' is a train option; put it in the train "
                          "{ ... } block", name);
    return arena_printf(A, "unknown task field '%s' (fields: label, net, "
                        "loss, weight, metric)", name);
  }
  const char *hint = suggest(name, decl_words, 10);
  if (hint)
    return arena_printf(A, "unexpected name '%s'; did you mean '%s'?", name,
                        hint);
  if (in_list(name, train_words, 7))
    return arena_printf(A, "'%s' is a train option; put it in a train "
                        "{ ... } block", name);
  return arena_printf(A, "unexpected name '%s'; a spec is made of input, "
                      "data, shared, private, experts, task, regularize, "
                      "balance and train declarations", name);
}

/* What a syntax error knows: the lookahead, the token before it, the
 * innermost open delimiter and what the parser would accept. */
typedef struct {
  yysymbol_kind_t tok;
  Span sp;                 /* the lookahead's */
  const char *text;        /* its text, at most 40 bytes */
  char next_ch;            /* the first character after it on its line */
  int after;               /* that character's offset */
  bool expects[YYNTOKENS];
  yysymbol_kind_t exp[YYNTOKENS];
  int n;
  const char *prev;        /* the token before the lookahead, or "" */
  Span at_prev, prev_sp;   /* just past it, and it */
  char closer;             /* closes the innermost open delimiter, or 0 */
  bool closer_ok;          /* ...and the parser would take it here */
  bool closes_outer;       /* the lookahead closes a delimiter further out */
  bool stray_closer;       /* the lookahead closes nothing that is open */
  const char *what;        /* what the innermost delimiter opens */
  int open_line;
  bool top_level, in_task; /* a declaration or a task field would fit */
  bool in_experts;         /* an experts block's field would fit */
} SyntaxCtx;

static void syntax_ctx(const yypcontext_t *ctx, ParseState *ps, SyntaxCtx *c) {
  const Source *src = ps->src;
  c->tok = yypcontext_token(ctx);
  c->sp = *yypcontext_location(ctx);
  int len = c->sp.hi - c->sp.lo;
  c->text = arena_printf(A, "%.*s", len > 40 ? 40 : len, src->text + c->sp.lo);
  c->after = c->sp.hi;
  while (c->after < src->len && strchr(" \t\r\f\v", src->text[c->after]))
    c->after++;
  c->next_ch = src->text[c->after]; /* the text is NUL-terminated */
  c->n = yypcontext_expected_tokens(ctx, c->exp, YYNTOKENS);
  for (int i = 0; i < c->n; i++)
    c->expects[c->exp[i]] = true;
  c->prev = c->tok == YYSYMBOL_YYEOF ? ps->prev[1] : ps->prev[0];
  int pe = c->prev[0] ? prev_token_end(src, c->sp.lo) : c->sp.lo;
  c->at_prev = (Span){pe, pe};
  c->prev_sp = (Span){pe - (int)strlen(c->prev), pe};

  /* the innermost open delimiter: not the lookahead if it opens one; the
   * one it closes if it closes one (close_delim leaves that entry above the
   * top, marked with the closer and its offset) */
  int top = ps->nopen - 1;
  bool opener = c->tok == SYM('{') || c->tok == SYM('(') || c->tok == SYM('[');
  bool closer = c->tok == SYM('}') || c->tok == SYM(')') || c->tok == SYM(']');
  if (top >= 0 && opener && ps->open[top].span.lo == c->sp.lo)
    top--;
  bool popped = closer && ps->nopen < (int)(sizeof ps->open / sizeof ps->open[0]) &&
                ps->open[ps->nopen].span.hi == c->sp.lo &&
                ps->open[ps->nopen].ch == src->text[c->sp.lo];
  if (popped)
    top = ps->nopen;
  c->what = "";
  if (top >= 0) {
    char ch = ps->open[top].ch;
    c->closer = ch == '{' || ch == '}' ? '}' : ch == '(' || ch == ')' ? ')' : ']';
    c->what = ps->open[top].what;
    c->open_line = span_line(src, ps->open[top].span.lo);
  }
  c->closer_ok = c->closer && c->expects[SYM(c->closer)];
  if (closer && !popped) {
    char want = c->tok == SYM('}') ? '{' : c->tok == SYM(')') ? '(' : '[';
    c->stray_closer = true;
    for (int i = 0; i < ps->nopen; i++)
      if (ps->open[i].ch == want) {
        c->stray_closer = false;
        c->closes_outer |= i < top;
      }
  }
  c->top_level = c->expects[YYSYMBOL_KW_TASK] && c->expects[YYSYMBOL_KW_INPUT];
  c->in_task = c->expects[YYSYMBOL_KW_LABEL] && c->expects[YYSYMBOL_KW_NET];
  c->in_experts = c->expects[YYSYMBOL_KW_COUNT] && c->expects[YYSYMBOL_KW_PRIVATE];
}

/* A name where an experts block's field belongs: 'cout: 4', 'count 4', or
 * a chain written without 'net:'. */
static const char *misplaced_in_experts(ParseState *ps, SyntaxCtx *c, const char *name,
                                        bool colon) {
  static const char *const words[] = {"count", "net", "private"};
  if (!strcmp(name, "count") && !colon)
    return "missing ':' after 'count'";
  if (!colon)
    return arena_printf(A, "an experts block is written with fields, like "
                        "'%s { count: 4  net: dense(64) relu }'; put its chain "
                        "after 'net:'", c->what);
  const char *hint = suggest(name, words, 3);
  if (hint)
    return arena_printf(A, "unknown experts field '%s'; did you mean '%s'?", name, hint);
  return arena_printf(A, "unknown experts field '%s' (fields: count, net, private)", name);
}

/* The message for a common mistake, placed where its fix goes (*at), or
 * NULL. */
static const char *common_mistake(ParseState *ps, SyntaxCtx *c, Span *at) {
  yysymbol_kind_t tok = c->tok;
  const char *prev = c->prev;
  *at = c->sp;
  /* the element type left out: input image: [784] */
  if (c->expects[YYSYMBOL_KW_F32] && c->expects[YYSYMBOL_KW_I32])
    return arena_printf(A, "expected an element type, 'f32' or 'i32', after '%s', found %s",
                        prev, found_desc(ps, tok, c->sp));
  if (is_keyword(tok) && c->expects[YYSYMBOL_IDENT] && !c->top_level &&
      !c->in_task && !c->in_experts) {
    if (tok == YYSYMBOL_KW_LABEL && !strncmp(c->what, "data ", 5))
      return "'label' is a keyword; data binds a task's label by the task's "
             "name, like 'digit: \"labels.npy\"'";
    const char *as = !strcmp(prev, "task") ? "a task's name"
                     : !strcmp(prev, "shared") || !strcmp(prev, "private") ? "a block's name"
                     : !strcmp(prev, "input") ? "an input's name"
                     : !strcmp(prev, "model") ? "the model's name"
                     : "a name";
    return arena_printf(A, "'%s' is a keyword and cannot be %s; choose another "
                        "name", yysymbol_name(tok), as);
  }
  /* a closing delimiter left out: the next declaration, the end of the file,
   * an outer closer or (for ')' and ']') the next task field comes first */
  bool field_kw = tok >= YYSYMBOL_KW_LABEL && tok <= YYSYMBOL_KW_METRIC;
  if (c->closer_ok && (tok == YYSYMBOL_YYEOF || starts_decl(tok) || c->closes_outer ||
                       (field_kw && c->closer != '}'))) {
    *at = c->at_prev;
    return arena_printf(A, "missing '%c' to close '%s' at line %d", c->closer,
                        c->what, c->open_line);
  }
  if (c->stray_closer)
    return arena_printf(A, "unexpected '%s': there is no open '%c' for it to "
                        "close; remove it", c->text,
                        tok == SYM('}') ? '{' : tok == SYM(')') ? '(' : '[');
  /* names where a task field or a declaration goes */
  if (tok == YYSYMBOL_IDENT && c->in_task && c->next_ch == '-' &&
      ps->src->text[c->after + 1] == '>')
    return arena_printf(A, "missing 'net:' before '%s'", c->text);
  if (tok == YYSYMBOL_IDENT && c->in_task && c->expects[SYM(',')] &&
      c->next_ch != ':') /* metric: accuracy mae */
    return arena_printf(A, "missing ',' before '%s'", c->text);
  if (tok == YYSYMBOL_IDENT && (c->in_task || c->top_level))
    return misplaced_name(ps, c->text, c->in_task);
  if (tok == YYSYMBOL_IDENT && c->in_experts)
    return misplaced_in_experts(ps, c, c->text, c->next_ch == ':');
  if (tok == SYM(':') && c->in_experts && !c->expects[SYM(':')] &&
      (isalpha((unsigned char)prev[0]) || prev[0] == '_')) {
    *at = c->prev_sp; /* 'cout:' after a net was read as one more layer */
    return misplaced_in_experts(ps, c, prev, true);
  }
  if (tok == SYM(':') && c->in_task &&
      (isalpha((unsigned char)prev[0]) || prev[0] == '_')) {
    *at = c->prev_sp; /* 'lable:' after a net was read as one more layer */
    return misplaced_name(ps, prev, true);
  }
  if (c->top_level && is_keyword(tok) && !starts_decl(tok))
    return tok >= YYSYMBOL_KW_LABEL && tok <= YYSYMBOL_KW_METRIC
               ? arena_printf(A, "'%s' is a task field; put it in a task's "
                              "{ ... }", yysymbol_name(tok))
               : arena_printf(A, "unexpected keyword '%s'; a spec is made of "
                              "input, data, shared, private, experts, task, "
                              "regularize, balance and train declarations",
                              yysymbol_name(tok));
  if (tok == YYSYMBOL_KW_MODEL)
    return ps->spec->model ? "a spec names its model once; remove this line"
                           : "'model NAME' comes first in a spec, before every "
                             "declaration";
  /* commas: between fields, options or declarations; between layers
   * (Keras's list); left out between arguments, entries or data options */
  if (tok == SYM(',') && c->in_task)
    return "task fields are separated by spaces, newlines or ';', not ','; "
           "remove the ','";
  if (tok == SYM(',') && c->closer_ok && !strcmp(c->what, "train"))
    return "train options are separated by spaces, newlines or ';', not ','; "
           "remove the ','";
  if (tok == SYM(',') && c->top_level)
    return "declarations need no separator; remove the ','";
  if (tok == SYM(',') && c->expects[YYSYMBOL_ARROW])
    return "layers are separated by spaces or '->', not ','; remove the ','";
  if (c->expects[SYM(',')] &&
      (tok == YYSYMBOL_NUMBER || tok == YYSYMBOL_STRING || tok == SYM('[') ||
       (tok == YYSYMBOL_IDENT && c->next_ch == '=')))
    return arena_printf(A, "missing ',' before '%s'", c->text);
  if (tok == SYM('(') && c->n == 1 && c->exp[0] == SYM(':') &&
      !strncmp(c->what, "data ", 5)) {
    *at = c->prev_sp; /* image: "x.npy" normalize(...) */
    return arena_printf(A, "missing ',' before '%s'", prev);
  }
  /* a ')' or ']' left out before the next layer */
  if (c->closer_ok && c->closer != '}' && tok == YYSYMBOL_IDENT) {
    *at = c->at_prev;
    return arena_printf(A, "missing '%c' to close '%s' at line %d", c->closer,
                        c->what, c->open_line);
  }
  /* '(' left out: 'conv2d 32', 'class 10' */
  if (tok == YYSYMBOL_NUMBER && c->expects[SYM('(')] && prev[0]) {
    *at = c->at_prev;
    return arena_printf(A, "missing '(' after '%s'", prev);
  }
  if (tok == SYM('(') && !strcmp(prev, "binary"))
    return "binary takes no count; write 'label: binary' (one output, 0 or 1)";
  if (tok == SYM('}') && !strcmp(prev, "{") &&
      (!strncmp(c->what, "shared ", 7) || !strncmp(c->what, "private ", 8)))
    return arena_printf(A, "block '%s' has no layers; give it at least one, "
                        "like 'dense(128) relu'", strchr(c->what, ' ') + 1);
  return NULL;
}

static int yyreport_syntax_error(const yypcontext_t *ctx, yyscan_t scanner,
                                 ParseState *ps) {
  (void)scanner;
  SyntaxCtx c = {0};
  syntax_ctx(ctx, ps, &c);
  Span at;
  const char *msg = common_mistake(ps, &c, &at);
  if (msg) {
    error_at(ps->src, at, "%s", msg);
    return 0;
  }
  /* one token fits here: "missing ':' after 'label'", "expected '(' after
   * 'class', found '['"; at the gap if the lookahead is on a later line */
  if (c.n == 1 && c.prev[0]) {
    const char *want = expected_desc(ps, c.exp[0], c.prev, c.what);
    bool later = span_line(ps->src, c.sp.lo) > span_line(ps->src, c.at_prev.lo);
    if (c.tok == YYSYMBOL_STRING &&
        (c.exp[0] == YYSYMBOL_IDENT || c.exp[0] == YYSYMBOL_NUMBER))
      error_at(ps->src, c.sp, "expected %s after '%s', found a string; write "
               "it without quotes", want, c.prev);
    else if (is_punct(c.exp[0]) && !is_punct(c.tok) && c.tok != YYSYMBOL_YYEOF)
      error_at(ps->src, c.at_prev, "missing %s after '%s'", want, c.prev);
    else
      error_at(ps->src, later ? c.at_prev : c.sp, "expected %s after '%s', "
               "found %s", want, c.prev, found_desc(ps, c.tok, c.sp));
    return 0;
  }
  msg = arena_printf(A, "unexpected %s", found_desc(ps, c.tok, c.sp));
  if (c.prev[0])
    msg = arena_printf(A, "%s after '%s'", msg, c.prev);
  if (c.n > 0 && c.n <= 5)
    for (int i = 0; i < c.n; i++)
      msg = arena_printf(A, "%s%s%s", msg,
                         i == 0 ? ", expected " : i == c.n - 1 ? " or " : ", ",
                         expected_desc(ps, c.exp[i], c.prev, c.what));
  if (c.closer_ok)
    msg = arena_printf(A, "%s%s'%c' would close '%s' at line %d%s", msg,
                       c.n <= 5 ? " (" : "; ", c.closer, c.what, c.open_line,
                       c.n <= 5 ? ")" : "");
  error_at(ps->src, c.sp, "%s", msg);
  return 0;
}

/* Bison's own messages: only "memory exhausted", when brackets nest
 * deeper than its stack (YYMAXDEPTH). */
void yyerror(YYLTYPE *loc, yyscan_t scanner, ParseState *ps, const char *msg) {
  (void)scanner;
  if (!strcmp(msg, "memory exhausted"))
    error_at(ps->src, *loc, "brackets nest too deeply here for mtlc to read");
  else
    error_at(ps->src, *loc, "%s", msg);
}
