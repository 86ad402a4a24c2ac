/* mtl_json.h: the small JSON parser that reads checkpoint headers
 * (mtl_ckpt.c); internal to libmtlrt, not installed. The whole text
 * becomes a tree of nodes in one array: no recursion limit but a depth
 * cap, strings decoded (escapes and \uXXXX pairs to UTF-8). */
#ifndef MTL_JSON_H
#define MTL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } JType;

typedef struct {
  JType type;
  const char *str; /* J_STR: decoded, NUL-terminated; an object member's key */
  const char *key;
  bool is_uint;    /* J_NUM: a non-negative integer that fits */
  uint64_t u;
  double num;      /* J_NUM: the value */
  int child, next; /* first child, next sibling: indices, -1 for none */
} JNode;

typedef struct {
  const char *s, *start, *end;
  JNode *nodes;
  int n, cap, depth;
  char *strs; /* decoded strings, never longer than the text */
  size_t ns;
  const char *err;
} JParser;

/* Parses text[0, n) whole; node 0 is the root. False with p->err set. The
 * caller frees p->nodes and p->strs. */
bool mtl_json_parse(JParser *p, const char *text, size_t n);

#endif
