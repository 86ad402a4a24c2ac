/* diag.c: errors, warnings and notes in the form
 *   FILE:LINE:COL: error: MESSAGE
 *      LINE | source text
 *           |     ^~~~~
 * Spans are byte ranges; line and column are computed here, only when a
 * message is printed. Also the "did you mean" helper. Does not decide what
 * is an error: callers do. */
#include "mtlc.h"

#include <ctype.h>
#include <stdarg.h>
#include <string.h>

/* the line of a byte offset, by binary search in the line starts, which
 * are found once: a spec with thousands of diagnostics stays linear */
int span_line(const Source *csrc, int off) {
  Source *src = (Source *)csrc;
  if (!src->line_start) {
    int n = 1;
    for (int i = 0; i < src->len; i++)
      n += src->text[i] == '\n';
    src->line_start = xcalloc((size_t)n + 1, sizeof(int));
    src->nlines = 0;
    src->line_start[src->nlines++] = 0;
    for (int i = 0; i < src->len; i++)
      if (src->text[i] == '\n')
        src->line_start[src->nlines++] = i + 1;
  }
  int lo = 0, hi = src->nlines - 1; /* the last start <= off */
  while (lo < hi) {
    int mid = (lo + hi + 1) / 2;
    if (src->line_start[mid] <= off)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo + 1;
}

/* The length of the valid UTF-8 sequence at p (at most avail bytes), or 0
 * for a stray byte. The excerpt shows stray bytes as '?'. */
static int utf8_len(const unsigned char *p, int avail) {
  int n = p[0] < 0x80 ? 1 : (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3
          : (p[0] & 0xf8) == 0xf0 ? 4 : 0;
  if (n == 0 || n > avail || (n == 2 && p[0] < 0xc2))
    return 0;
  for (int i = 1; i < n; i++)
    if ((p[i] & 0xc0) != 0x80)
      return 0;
  return n;
}

/* Characters (not bytes) in text[from, to): columns and carets count them. */
static int chars_between(const Source *src, int from, int to) {
  int n = 0;
  for (int i = from; i < to; n++) {
    int k = utf8_len((const unsigned char *)src->text + i, to - i);
    i += k ? k : 1;
  }
  return n;
}

#define EXCERPT_MAX 160 /* characters of a line shown; longer ones are cut */

/* The source line of sp, then a caret under its first character and '~'
 * under the rest of it on that line. A long line shows a window around the
 * caret, with "..." where it is cut. */
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
  bool cut_left = false, cut_right = false;
  if (chars_between(src, start, end) > EXCERPT_MAX) {
    int from = lo - 60 > start ? lo - 60 : start;
    while (from > start && (src->text[from] & 0xc0) == 0x80)
      from--;
    int to = from + EXCERPT_MAX - 10 < end ? from + EXCERPT_MAX - 10 : end;
    while (to < end && (src->text[to] & 0xc0) == 0x80)
      to++;
    cut_left = from > start;
    cut_right = to < end;
    start = from;
    end = to;
    if (hi > end)
      hi = end;
  }

  fprintf(stderr, "%5d | %s", line, cut_left ? "..." : "");
  for (int i = start; i < end;) {
    const unsigned char *p = (const unsigned char *)src->text + i;
    int k = utf8_len(p, end - i);
    if (k > 1)
      fwrite(p, 1, (size_t)k, stderr);
    else
      fputc(k == 0 ? '?' : p[0] == '\t' || p[0] >= 0x20 ? p[0] : ' ', stderr);
    i += k ? k : 1;
  }
  fprintf(stderr, "%s\n      | %s", cut_right ? "..." : "", cut_left ? "   " : "");
  for (int i = start; i < lo;) {
    int k = utf8_len((const unsigned char *)src->text + i, lo - i);
    fputc(src->text[i] == '\t' ? '\t' : ' ', stderr);
    i += k ? k : 1;
  }
  fputc('^', stderr);
  for (int n = chars_between(src, lo, hi) - 1; n > 0; n--)
    fputc('~', stderr);
  fputc('\n', stderr);
}

#define MAX_SHOWN 30 /* errors printed per file; the rest are only counted */

void diag_at(Source *src, DiagKind kind, Span sp, const char *fmt, ...) {
  static const char *const names[] = {"error", "warning", "note"};
  if (src->nerrors >= MAX_SHOWN) {
    if (src->nerrors == MAX_SHOWN && kind == DIAG_ERROR)
      fprintf(stderr, "%s: error: too many errors; the first %d are shown\n",
              src->path, MAX_SHOWN);
    if (kind == DIAG_ERROR)
      src->nerrors++;
    return;
  }
  int lo = sp.lo < 0 ? 0 : sp.lo > src->len ? src->len : sp.lo;
  int line_start = lo;
  while (line_start > 0 && src->text[line_start - 1] != '\n')
    line_start--;
  int col = 1 + chars_between(src, line_start, lo);
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

static int edit_distance(const char *a0, const char *b0) {
  int la = (int)strlen(a0), lb = (int)strlen(b0);
  if (la > 40 || lb > 40)
    return 99;
  char a[41], b[41];
  for (int i = 0; i <= la; i++)
    a[i] = (char)tolower((unsigned char)a0[i]);
  for (int j = 0; j <= lb; j++)
    b[j] = (char)tolower((unsigned char)b0[j]);
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

/* The closest candidate within a third of the name's length (one that
 * differs only in case always qualifies), or NULL. */
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
