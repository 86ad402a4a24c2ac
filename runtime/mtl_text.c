/* mtl_text.c: text files as ids, and the check of ids against the
 * vocabulary they index. A text file holds one sample a line (LF or CRLF;
 * a last line without its newline counts; an empty line is a sample of
 * padding alone). Each line becomes `length` i32 ids: cut when it has
 * more, padded with 0 when it has fewer.
 *   chars  the line's bytes (UTF-8 taken as bytes): byte b is id b + 1
 *   words  the line split at spaces and tabs (lower-cased first, ASCII
 *          letters only, when asked); the word on line k of the vocabulary
 *          file (from 0, one word a line, taken as written) is id k + 2,
 *          any other word 1
 * A zero byte is an error: neither file is text then. Files may be
 * gzip'ed (mtl_read_file). Which file is read how is the binding's
 * (mtl_data.c). */
#include "mtl_read.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- lines ------------------------------------------------------------------ */

typedef struct {
  const char *s, *e; /* [s, e), without its line end */
} Line;

/* the lines of b, malloc'ed into *out; false on a zero byte or an empty
 * file */
static bool split_lines(const char *path, const Bytes *b, Line **out, int64_t *n) {
  const char *text = (const char *)b->p, *end = text + b->n;
  const char *nul = memchr(text, 0, b->n);
  int64_t count = 0, cap = 1024;
  if (b->n == 0) {
    mtl_set_error("%s: empty file: want one sample a line", path);
    return false;
  }
  if (nul) {
    int64_t line = 1;
    const char *start = text;
    for (const char *q = text; q < nul; q++)
      if (*q == '\n')
        line++, start = q + 1;
    mtl_set_error("%s:%" PRId64 ": a zero byte at column %" PRId64 ": not a text file", path,
                  line, (int64_t)(nul - start) + 1);
    return false;
  }
  Line *lines = malloc((size_t)cap * sizeof *lines);
  for (const char *s = text; lines && s < end; count++) {
    const char *e = memchr(s, '\n', (size_t)(end - s)), *next = e ? e + 1 : end;
    e = e ? e : end;
    if (e > s && e[-1] == '\r')
      e--;
    if (count == cap) {
      Line *q = realloc(lines, (size_t)(cap *= 2) * sizeof *lines);
      if (!q)
        free(lines);
      lines = q;
      if (!lines)
        break;
    }
    lines[count] = (Line){s, e};
    s = next;
  }
  if (!lines) {
    mtl_set_error("%s: out of memory after %" PRId64 " lines", path, count);
    return false;
  }
  *out = lines, *n = count;
  return true;
}

/* ---- the vocabulary: words to ids, an open-addressing hash table --------------------- */

typedef struct {
  Line *words;   /* by line */
  int64_t n;
  int64_t *slot; /* cap entries: a word's line, or -1 */
  int64_t cap;
  Bytes bytes;
} Vocab;

static uint64_t hash(const char *s, const char *e) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (; s < e; s++)
    h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
  return h;
}

static bool same(Line a, const char *s, const char *e) {
  return a.e - a.s == e - s && !memcmp(a.s, s, (size_t)(e - s));
}

/* the line of word [s, e) in v, or -1; *at: its slot, or the free one */
static int64_t vocab_find(const Vocab *v, const char *s, const char *e, int64_t *at) {
  int64_t i = (int64_t)(hash(s, e) & (uint64_t)(v->cap - 1));
  while (v->slot[i] >= 0 && !same(v->words[v->slot[i]], s, e))
    i = (i + 1) & (v->cap - 1);
  if (at)
    *at = i;
  return v->slot[i];
}

static void vocab_free(Vocab *v) {
  free(v->words), free(v->slot), free(v->bytes.p);
  *v = (Vocab){0};
}

static bool vocab_load(Vocab *v, const char *path) {
  *v = (Vocab){0};
  if (!path || !path[0]) {
    mtl_set_error("words: no vocabulary file given");
    return false;
  }
  if (!mtl_read_file(path, &v->bytes) || !split_lines(path, &v->bytes, &v->words, &v->n)) {
    free(v->bytes.p);
    return false;
  }
  for (v->cap = 16; v->cap < 2 * v->n; v->cap *= 2)
    ;
  v->slot = malloc((size_t)v->cap * sizeof *v->slot);
  if (!v->slot) {
    mtl_set_error("%s: out of memory for %" PRId64 " words", path, v->n);
    vocab_free(v);
    return false;
  }
  memset(v->slot, 0xff, (size_t)v->cap * sizeof *v->slot);
  for (int64_t k = 0; k < v->n; k++) {
    Line w = v->words[k];
    const char *q = w.s;
    while (q < w.e && *q != ' ' && *q != '\t')
      q++;
    if (w.s == w.e || q != w.e) {
      mtl_set_error("%s:%" PRId64 ": %s; a vocabulary holds one word a line", path, k + 1,
                    w.s == w.e ? "an empty line" : "a space inside the word");
      vocab_free(v);
      return false;
    }
    int64_t at, dup = vocab_find(v, w.s, w.e, &at);
    if (dup >= 0) {
      mtl_set_error("%s:%" PRId64 ": '%.*s' is on line %" PRId64 " already", path, k + 1,
                    (int)(w.e - w.s > 40 ? 40 : w.e - w.s), w.s, dup + 1);
      vocab_free(v);
      return false;
    }
    v->slot[at] = k;
  }
  return true;
}

/* ---- a line to ids ---------------------------------------------------------------- */

static void chars_ids(Line l, int32_t *ids, int64_t length) {
  int64_t n = l.e - l.s < length ? l.e - l.s : length;
  for (int64_t j = 0; j < n; j++)
    ids[j] = (int32_t)(unsigned char)l.s[j] + 1;
}

static bool blank(char c) { return c == ' ' || c == '\t'; }

/* the words of l (lower-cased into buf first when lower) */
static void words_ids(Line l, int32_t *ids, int64_t length, const Vocab *v, bool lower,
                      char *buf) {
  if (lower) {
    for (const char *q = l.s; q < l.e; q++)
      buf[q - l.s] = (char)tolower((unsigned char)*q);
    l = (Line){buf, buf + (l.e - l.s)};
  }
  int64_t j = 0;
  for (const char *s = l.s; j < length;) {
    while (s < l.e && blank(*s))
      s++;
    if (s == l.e)
      break;
    const char *e = s;
    while (e < l.e && !blank(*e))
      e++;
    int64_t k = vocab_find(v, s, e, NULL);
    ids[j++] = k >= 0 ? (int32_t)(k + 2) : 1;
    s = e;
  }
}

bool mtl_text_load(MtlArray *out, const char *path, MtlTextKind kind, int64_t length,
                   const char *vocab, bool lowercase, int64_t max_ids) {
  Vocab v = {0};
  if (kind == MTL_TEXT_WORDS) {
    if (!vocab_load(&v, vocab))
      return false;
    if (max_ids > 0 && v.n + 2 > max_ids) {
      mtl_set_error("%s: %" PRId64 " words give ids up to %" PRId64 ", but the embedding "
                    "they feed holds %" PRId64 " (0 pads, 1 is an unknown word); use "
                    "embedding(%" PRId64 ", ...)", vocab, v.n, v.n + 1, max_ids, v.n + 2);
      vocab_free(&v);
      return false;
    }
  }
  Bytes b;
  Line *lines = NULL;
  int64_t n = 0;
  bool ok = mtl_read_file(path, &b);
  if (ok && !(ok = split_lines(path, &b, &lines, &n)))
    free(b.p);
  int32_t *ids = ok ? calloc((size_t)(n * length) + 1, sizeof *ids) : NULL;
  char *buf = ok ? malloc(b.n + 1) : NULL;
  if (ok && (!ids || !buf)) {
    mtl_set_error("%s: out of memory for %" PRId64 " lines", path, n);
    ok = false;
  }
  for (int64_t i = 0; ok && i < n; i++)
    if (kind == MTL_TEXT_CHARS)
      chars_ids(lines[i], ids + i * length, length);
    else
      words_ids(lines[i], ids + i * length, length, &v, lowercase, buf);
  if (lines)
    free(lines), free(b.p);
  free(buf);
  vocab_free(&v);
  if (!ok) {
    free(ids);
    return false;
  }
  *out = (MtlArray){MTL_I32, n, length, ids};
  return true;
}

bool mtl_check_ids(const MtlArray *a, int64_t vocab, const char *path, const char *input) {
  const int32_t *ids = a->data;
  if (a->dtype != MTL_I32 || vocab <= 0)
    return true;
  for (int64_t i = 0; i < a->n * a->width; i++)
    if (ids[i] < 0 || ids[i] >= vocab) {
      mtl_set_error("%s: row %" PRId64 ": id %" PRId32 " is outside [0, %" PRId64 "), the "
                    "vocabulary of the embedding that input %s feeds", path, i / a->width + 1,
                    ids[i], vocab, input);
      return false;
    }
  return true;
}
