/* diag.c: errors, warnings and notes in the form
 *   FILE:LINE:COL: error: MESSAGE
 *      LINE | source text
 *           |     ^~~~~
 * Spans are byte ranges; line and column are computed here, only when a
 * message is printed. Also the "did you mean" helper. Does not decide what
 * is an error: callers do. */
#include "mtlc.h"

#include <stdarg.h>
#include <string.h>

int span_line(const Source *src, int off) {
  int line = 1;
  for (int i = 0; i < off && i < src->len; i++)
    if (src->text[i] == '\n')
      line++;
  return line;
}

static void print_excerpt(const Source *src, Span sp) {
  int lo = sp.lo < 0 ? 0 : sp.lo > src->len ? src->len : sp.lo;
  int start = lo;
  while (start > 0 && src->text[start - 1] != '\n')
    start--;
  int end = lo;
  while (end < src->len && src->text[end] != '\n')
    end++;
  int hi = sp.hi > end ? end : sp.hi < lo ? lo : sp.hi;
  int line = span_line(src, lo);

  fprintf(stderr, "%5d | ", line);
  for (int i = start; i < end; i++) {
    unsigned char c = (unsigned char)src->text[i];
    fputc(c == '\t' || c >= 0x20 ? c : ' ', stderr);
  }
  fputs("\n      | ", stderr);
  for (int i = start; i < lo; i++)
    fputc(src->text[i] == '\t' ? '\t' : ' ', stderr);
  fputc('^', stderr);
  for (int i = lo + 1; i < hi; i++)
    fputc('~', stderr);
  fputc('\n', stderr);
}

void diag_at(Source *src, DiagKind kind, Span sp, const char *fmt, ...) {
  static const char *const names[] = {"error", "warning", "note"};
  int lo = sp.lo < 0 ? 0 : sp.lo > src->len ? src->len : sp.lo;
  int col = 1;
  for (int i = lo; i > 0 && src->text[i - 1] != '\n'; i--)
    col++;
  fprintf(stderr, "%s:%d:%d: %s: ", src->path, span_line(src, lo), col,
          names[kind]);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  print_excerpt(src, sp);
  if (kind == DIAG_ERROR)
    src->nerrors++;
  else if (kind == DIAG_WARNING)
    src->nwarnings++;
}

static int edit_distance(const char *a, const char *b) {
  int la = (int)strlen(a), lb = (int)strlen(b);
  if (la > 40 || lb > 40)
    return 99;
  int d[41][41];
  for (int i = 0; i <= la; i++)
    d[i][0] = i;
  for (int j = 0; j <= lb; j++)
    d[0][j] = j;
  for (int i = 1; i <= la; i++)
    for (int j = 1; j <= lb; j++) {
      int sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
      int del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
      d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
          d[i - 2][j - 2] + 1 < d[i][j])
        d[i][j] = d[i - 2][j - 2] + 1; /* transposition */
    }
  return d[la][lb];
}

/* The closest candidate within a third of the name's length, or NULL. */
const char *suggest(const char *name, const char *const *cands, int n) {
  const char *best = NULL;
  int bestd = (int)strlen(name) / 3 + 1;
  for (int i = 0; i < n; i++) {
    int d = edit_distance(name, cands[i]);
    if (d < bestd && d < (int)strlen(cands[i])) {
      best = cands[i];
      bestd = d;
    }
  }
  return best;
}
