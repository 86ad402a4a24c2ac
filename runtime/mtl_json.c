/* mtl_json.c: a small JSON parser for checkpoint headers: a tree of nodes
 * in one array, strings decoded into one buffer, numbers kept as unsigned
 * integers when they are ones. Nothing else of JSON's uses is served. */
#include "mtl_json.h"

#include <stdlib.h>
#include <string.h>

static void jspace(JParser *p) {
  while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r'))
    p->s++;
}

static int jvalue(JParser *p);

static int jnew(JParser *p, JType t) {
  if (p->n == p->cap) {
    p->err = "too many values";
    return -1;
  }
  p->nodes[p->n] = (JNode){.type = t, .child = -1, .next = -1};
  return p->n++;
}

static int hex4(const char *s) {
  int v = 0;
  for (int i = 0; i < 4; i++) {
    char c = s[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0)
      return -1;
    v = v * 16 + d;
  }
  return v;
}

static void put_utf8(JParser *p, uint32_t c) {
  char *o = p->strs + p->ns;
  if (c < 0x80)
    o[0] = (char)c, p->ns += 1;
  else if (c < 0x800)
    o[0] = (char)(0xc0 | c >> 6), o[1] = (char)(0x80 | (c & 0x3f)), p->ns += 2;
  else if (c < 0x10000)
    o[0] = (char)(0xe0 | c >> 12), o[1] = (char)(0x80 | (c >> 6 & 0x3f)),
    o[2] = (char)(0x80 | (c & 0x3f)), p->ns += 3;
  else
    o[0] = (char)(0xf0 | c >> 18), o[1] = (char)(0x80 | (c >> 12 & 0x3f)),
    o[2] = (char)(0x80 | (c >> 6 & 0x3f)), o[3] = (char)(0x80 | (c & 0x3f)), p->ns += 4;
}

/* a string at p->s (after the quote) into p->strs; NULL on error */
static const char *jstring(JParser *p) {
  const char *out = p->strs + p->ns;
  while (p->s < p->end && *p->s != '"') {
    unsigned char c = (unsigned char)*p->s++;
    if (c < 0x20) {
      p->err = "a control character in a string";
      return NULL;
    }
    if (c != '\\') {
      p->strs[p->ns++] = (char)c;
      continue;
    }
    if (p->s >= p->end)
      break;
    char e = *p->s++;
    const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t", *k = strchr(from, e);
    if (e && k) {
      p->strs[p->ns++] = to[k - from];
    } else if (e == 'u' && p->end - p->s >= 4 && hex4(p->s) >= 0) {
      uint32_t u = (uint32_t)hex4(p->s);
      p->s += 4;
      if (u >= 0xd800 && u < 0xdc00 && p->end - p->s >= 6 && p->s[0] == '\\' &&
          p->s[1] == 'u' && hex4(p->s + 2) >= 0xdc00 && hex4(p->s + 2) < 0xe000) {
        u = 0x10000 + ((u - 0xd800) << 10) + ((uint32_t)hex4(p->s + 2) - 0xdc00);
        p->s += 6;
      }
      if (u == 0) {
        p->err = "\\u0000 in a string";
        return NULL;
      }
      put_utf8(p, u);
    } else {
      p->err = "a bad escape in a string";
      return NULL;
    }
  }
  if (p->s >= p->end) {
    p->err = "an unterminated string";
    return NULL;
  }
  p->s++;
  p->strs[p->ns++] = 0;
  return out;
}


/* one or more digits of a fraction or exponent; else a bad number */
static bool skip_digits(JParser *p, const char **sp) {
  const char *s = *sp, *f = s;
  while (s < p->end && *s >= '0' && *s <= '9')
    s++;
  if (s == f)
    p->err = "a bad number";
  *sp = s;
  return s != f;
}

static int jnumber(JParser *p) {
  const char *s = p->s;
  bool neg = s < p->end && *s == '-', frac = false;
  if (neg)
    s++;
  const char *digits = s;
  uint64_t u = 0;
  bool fits = true;
  while (s < p->end && *s >= '0' && *s <= '9') {
    unsigned d = (unsigned)(*s++ - '0');
    fits &= u <= (UINT64_MAX - d) / 10;
    u = u * 10 + d;
  }
  if (s == digits || (*digits == '0' && s - digits > 1)) {
    p->err = "a bad number";
    return -1;
  }
  if (s < p->end && *s == '.') {
    frac = true, s++;
    if (!skip_digits(p, &s))
      return -1;
  }
  if (s < p->end && (*s == 'e' || *s == 'E')) {
    frac = true, s++;
    if (s < p->end && (*s == '+' || *s == '-'))
      s++;
    if (!skip_digits(p, &s))
      return -1;
  }
  char text[64]; /* the value as a double too: longer numbers are cut */
  size_t len = (size_t)(s - p->s) < sizeof text - 1 ? (size_t)(s - p->s) : sizeof text - 1;
  memcpy(text, p->s, len);
  text[len] = '\0';
  p->s = s;
  int k = jnew(p, J_NUM);
  if (k >= 0)
    p->nodes[k].is_uint = !neg && !frac && fits, p->nodes[k].u = u,
    p->nodes[k].num = strtod(text, NULL);
  return k;
}

static bool jword(JParser *p, const char *w) {
  size_t n = strlen(w);
  if ((size_t)(p->end - p->s) >= n && !memcmp(p->s, w, n)) {
    p->s += n;
    return true;
  }
  return false;
}

/* members or elements up to `close`; keys when an object */
static int jcontainer(JParser *p, JType t, char close) {
  int k = jnew(p, t), last = -1;
  if (k < 0)
    return -1;
  if (++p->depth > 32) {
    p->err = "nested too deeply";
    return -1;
  }
  jspace(p);
  if (p->s < p->end && *p->s == close) {
    p->s++, p->depth--;
    return k;
  }
  for (;;) {
    const char *key = NULL;
    if (t == J_OBJ) {
      jspace(p);
      if (p->s >= p->end || *p->s != '"') {
        p->err = "want a quoted key";
        return -1;
      }
      p->s++;
      if (!(key = jstring(p)))
        return -1;
      jspace(p);
      if (p->s >= p->end || *p->s++ != ':') {
        p->err = "want ':' after a key";
        return -1;
      }
    }
    int v = jvalue(p);
    if (v < 0)
      return -1;
    p->nodes[v].key = key;
    if (last < 0)
      p->nodes[k].child = v;
    else
      p->nodes[last].next = v;
    last = v;
    jspace(p);
    if (p->s < p->end && *p->s == ',') {
      p->s++;
      continue;
    }
    if (p->s < p->end && *p->s == close) {
      p->s++, p->depth--;
      return k;
    }
    p->err = t == J_OBJ ? "want ',' or '}'" : "want ',' or ']'";
    return -1;
  }
}

static int jvalue(JParser *p) {
  jspace(p);
  if (p->s >= p->end) {
    p->err = "want a value";
    return -1;
  }
  char c = *p->s;
  if (c == '{')
    return p->s++, jcontainer(p, J_OBJ, '}');
  if (c == '[')
    return p->s++, jcontainer(p, J_ARR, ']');
  if (c == '"') {
    p->s++;
    const char *s = jstring(p);
    int k = s ? jnew(p, J_STR) : -1;
    if (k >= 0)
      p->nodes[k].str = s;
    return k;
  }
  if (c == '-' || (c >= '0' && c <= '9'))
    return jnumber(p);
  if (jword(p, "true") || jword(p, "false"))
    return jnew(p, J_BOOL);
  if (jword(p, "null"))
    return jnew(p, J_NULL);
  p->err = "want a value";
  return -1;
}

bool mtl_json_parse(JParser *p, const char *text, size_t n) {
  *p = (JParser){.s = text, .start = text, .end = text + n, .cap = (int)(n / 2 + 2)};
  p->nodes = malloc((size_t)p->cap * sizeof *p->nodes);
  p->strs = malloc(n + 1);
  if (!p->nodes || !p->strs) {
    p->err = "out of memory";
    return false;
  }
  if (jvalue(p) < 0)
    return false;
  jspace(p);
  if (p->s != p->end) {
    p->err = "text after the JSON value";
    return false;
  }
  return true;
}
