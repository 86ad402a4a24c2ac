/* parser.y: the grammar of mtl specs (../shared/LANGUAGE.md), version 0.
 * A pure parser with byte-span locations; its actions call the AST
 * constructors of ast.c and nothing else. Syntax errors are reported by
 * yyreport_syntax_error (ast.c), which lists what was expected and what an
 * unclosed delimiter belongs to; recovery skips to the next declaration so
 * that every syntax error in a file is reported in one run. Meaning (names,
 * shapes, values) is sema.c's business, not the parser's. */
%code requires {
#include "mtlc.h"
typedef void *yyscan_t;
}

%code provides {
int yylex(YYSTYPE *lval, YYLTYPE *lloc, yyscan_t scanner);
void yyerror(YYLTYPE *loc, yyscan_t scanner, ParseState *ps, const char *msg);
}

%code {
#include <string.h>
#include "ast.h"
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
%token <str> KW_F32 "f32" KW_TRUE "true" KW_FALSE "false"
%token ARROW "->"

%type <str> split keyword
%type <val> value
%type <vec> values values_opt dims args args_opt chain calls bindings fields
%type <vec> idents titems
%type <arg> arg
%type <call> layer derive_opt
%type <field> field
%type <bind> binding
%type <titem> titem

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
  : input | data | block | task | regularize | balance | train
  ;

/* input = "input" IDENT ":" "f32" "[" INT { "," INT } "]" */
input
  : "input" IDENT ':' "f32" '[' dims ']' { ast_input(ps, $2, @2, &$6, @$); }
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
  | calls ',' layer                    { $$ = $1; vec_push(A, &$$, $3); }
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

/* chain = layer { [ "->" ] layer } */
chain
  : layer                              { $$ = (Vec){0}; vec_push(A, &$$, $1); }
  | chain layer                        { $$ = $1; vec_push(A, &$$, $2); }
  | chain "->" layer                   { $$ = $1; vec_push(A, &$$, $3); }
  ;

/* layer = IDENT [ "(" [ arg { "," arg } ] ")" ] */
layer
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
  | "loss" ':' layer                   { $$ = ast_loss(ps, $3, @1, @$); }
  | "weight" ':' NUMBER                { $$ = ast_weight(ps, $3, @1, @$); }
  | "metric" ':' idents                { $$ = ast_metric(ps, &$3, @1, @$); }
  ;

derive_opt
  : %empty                             { $$ = NULL; }
  | '=' layer                          { $$ = $2; }
  ;

idents
  : IDENT                              { $$ = (Vec){0}; vec_push(A, &$$, ast_ident(ps, $1, @1)); }
  | idents ',' IDENT                   { $$ = $1; vec_push(A, &$$, ast_ident(ps, $3, @3)); }
  ;

/* regularize = "regularize" ":" call ;  balance = "balance" ":" call */
regularize
  : "regularize" ':' layer             { ast_regularize(ps, $3); }
  ;

balance
  : "balance" ':' layer                { ast_balance(ps, $3); }
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
  | IDENT ':' layer                    { $$ = ast_titem(ps, $1, @1, NULL, $3, @$); }
  ;

keyword
  : "model" | "input" | "data" | "shared" | "private" | "task" | "label"
  | "net" | "loss" | "weight" | "metric" | "regularize" | "balance" | "train"
  | "class" | "binary" | "real" | "f32" | "true" | "false"
  ;

%%

/* Syntax errors: "unexpected X, expected A, B or C", and where a closing
 * delimiter would be accepted, what it would close (Lua's "'}' expected (to
 * close '{' at line 3)"). */
static const char *symbol_desc(ParseState *ps, yysymbol_kind_t sym, Span sp) {
  const char *name = yysymbol_name(sym);
  int len = sp.hi - sp.lo;
  const char *text = ps->src->text + sp.lo;
  if (sym == YYSYMBOL_IDENT)
    return arena_printf(A, "identifier '%.*s'", len > 40 ? 40 : len, text);
  if (sym == YYSYMBOL_NUMBER)
    return arena_printf(A, "number %.*s", len > 40 ? 40 : len, text);
  if (name[0] == '"') /* a string alias: "->" or "task" */
    return arena_printf(A, "%s'%.*s'", sym >= YYSYMBOL_KW_MODEL && sym <= YYSYMBOL_KW_FALSE ? "keyword " : "",
                        (int)strlen(name) - 2, name + 1);
  return name; /* 'x', "end of file", "string" */
}

static const char *expected_name(yysymbol_kind_t sym) {
  const char *name = yysymbol_name(sym);
  if (name[0] != '"')
    return name;
  static char buf[8][48];
  static int next;
  char *b = buf[next++ % 8];
  snprintf(b, sizeof buf[0], "'%.*s'", (int)strlen(name) - 2, name + 1);
  return b;
}

static int yyreport_syntax_error(const yypcontext_t *ctx, yyscan_t scanner,
                                 ParseState *ps) {
  (void)scanner;
  yysymbol_kind_t tok = yypcontext_token(ctx);
  Span sp = *yypcontext_location(ctx);
  yysymbol_kind_t exp[YYNTOKENS];
  int n = yypcontext_expected_tokens(ctx, exp, YYNTOKENS);

  char msg[512];
  int len = snprintf(msg, sizeof msg, "unexpected %s", symbol_desc(ps, tok, sp));
  if (n > 0 && n <= 5) {
    len += snprintf(msg + len, sizeof msg - (size_t)len, ", expected ");
    for (int i = 0; i < n; i++)
      len += snprintf(msg + len, sizeof msg - (size_t)len, "%s%s",
                      i == 0 ? "" : i == n - 1 ? " or " : ", ", expected_name(exp[i]));
  }
  /* the innermost open delimiter, not counting the lookahead itself */
  int top = ps->nopen - 1;
  if (top >= 0 && (tok == YYTRANSLATE('{') || tok == YYTRANSLATE('(') || tok == YYTRANSLATE('[')) &&
      ps->open[top].span.lo == sp.lo)
    top--;
  if (top >= 0) {
    char ch = ps->open[top].ch, want = ch == '{' ? '}' : ch == '(' ? ')' : ']';
    for (int i = 0; i < n; i++)
      if (exp[i] == YYTRANSLATE((unsigned char)want)) {
        snprintf(msg + len, sizeof msg - (size_t)len,
                 "%s'%c' expected to close '%s' at line %d",
                 n <= 5 ? " (" : "; ", want, ps->open[top].what,
                 span_line(ps->src, ps->open[top].span.lo));
        if (n <= 5 && strlen(msg) + 2 < sizeof msg)
          strcat(msg, ")");
        break;
      }
  }
  error_at(ps->src, sp, "%s", msg);
  return 0;
}

void yyerror(YYLTYPE *loc, yyscan_t scanner, ParseState *ps, const char *msg) {
  (void)scanner;
  error_at(ps->src, *loc, "%s", msg);
}
