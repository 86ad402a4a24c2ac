/* ast.h: the AST constructors that parser.y's actions call (ast.c). */
#ifndef AST_H
#define AST_H
#include "front/front.h"

Value *ast_ident(ParseState *ps, char *name, Span sp);
Value *ast_bool(ParseState *ps, bool b, Span sp);
Value *ast_list(ParseState *ps, Vec *items, Span sp);
Arg *ast_arg(ParseState *ps, char *name, Span name_sp, Value *v, Span sp);
Call *ast_call(ParseState *ps, char *name, Span name_sp, Vec *args,
               bool parens, Span sp);
void ast_model(ParseState *ps, char *name, Span sp);
void ast_input(ParseState *ps, char *name, Span name_sp, DType t, Span t_sp, Vec *dims,
               Span sp);
Call *ast_body_call(ParseState *ps, char *name, Span name_sp, Vec *body, Span sp);
Binding *ast_binding(ParseState *ps, char *name, Span name_sp, Value *path,
                     Vec *calls, Span sp);
void ast_data(ParseState *ps, char *split, Span split_sp, Vec *binds, Span sp);
void ast_block(ParseState *ps, bool is_private, char *name, Span name_sp,
               Vec *chain, Span sp);
void ast_experts(ParseState *ps, char *name, Span name_sp, Vec *fields, Span sp);
ExpertsField *ast_efield(ParseState *ps, ExpertsFieldKind k, Value *num, Vec *chain,
                         Span key_sp, Span sp);
Field *ast_label(ParseState *ps, LabelKind k, Value *n, Call *derive,
                 Span key_sp, Span sp);
Field *ast_net(ParseState *ps, char *input, Span input_sp, Vec *chain,
               Span key_sp, Span sp);
Field *ast_loss(ParseState *ps, Call *loss, Span key_sp, Span sp);
Field *ast_weight(ParseState *ps, Value *w, Span key_sp, Span sp);
Field *ast_metric(ParseState *ps, Vec *names, Span key_sp, Span sp);
void ast_task(ParseState *ps, char *name, Span name_sp, Vec *fields, Span sp);
void ast_regularize(ParseState *ps, Call *c);
void ast_balance(ParseState *ps, Call *c);
TrainItem *ast_titem(ParseState *ps, char *key, Span key_sp, Value *v,
                     Call *c, Span sp);
void ast_train(ParseState *ps, Vec *items, Span sp);
#endif
