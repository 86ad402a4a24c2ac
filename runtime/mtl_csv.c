/* mtl_csv.c: CSV files of numbers, one sample per row, fields separated by
 * a delimiter (',' unless the binding says ';', '\t', ...), read line by
 * line from the stream (gzip'ed or not). A UTF-8 byte-order mark is
 * skipped; a first row that is not all numbers is a header and is skipped;
 * blank lines are skipped; CRLF line ends are taken. Only the chosen
 * columns are kept, as f64, and each must be a finite number: NaN, an
 * infinity or a value past double's range is an error naming the file, the
 * line and the column. A row that does not parse with ',' but holds ';' or
 * tabs gets a hint naming the delimiter option. Quoting beyond "..."
 * around a number is not CSV this reads. */
#include "mtl_read.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
  MAXF = 4096,        /* fields per line */
  MAX_LINE = 1 << 20, /* bytes per line */
};

/* a field as a number (NaN and infinities included); false if it is not one */
static bool csv_number(const char *s, const char *e, double *out) {
  while (s < e && (*s == ' ' || *s == '\t'))
    s++;
  while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
    e--;
  if (e - s >= 2 && *s == '"' && e[-1] == '"')
    s++, e--;
  char buf[64];
  if (s == e || e - s >= (long)sizeof buf)
    return false;
  memcpy(buf, s, (size_t)(e - s));
  buf[e - s] = 0;
  char *end;
  *out = strtod(buf, &end);
  return *end == 0;
}

/* the fields of one line [s, e): starts and ends, at most cap */
static int csv_fields(const char *s, const char *e, int delim, const char **fs, const char **fe,
                      int cap) {
  int n = 0;
  for (;;) {
    const char *q = memchr(s, delim, (size_t)(e - s));
    if (!q)
      q = e;
    if (n < cap)
      fs[n] = s, fe[n] = q;
    n++;
    if (q == e)
      return n;
    s = q + 1;
  }
}

static bool blank(const char *s, const char *e) {
  for (; s < e; s++)
    if (*s != ' ' && *s != '\t' && *s != '\r')
      return false;
  return true;
}

/* "; the file looks semicolon-separated: ..." when a comma-separated row
 * [s, e) that failed to parse holds another common delimiter */
static const char *delimiter_hint(const char *s, const char *e, int delim) {
  if (delim != ',')
    return "";
  if (memchr(s, ';', (size_t)(e - s)))
    return "; the file looks semicolon-separated: give csv(..., delimiter=\";\") in the spec, "
           "or --data SPLIT.NAME=PATH:delimiter=';'";
  if (memchr(s, '\t', (size_t)(e - s)))
    return "; the file looks tab-separated: give csv(..., delimiter=\"\\t\") in the spec, "
           "or --data SPLIT.NAME=PATH:delimiter=tab";
  return "";
}

typedef struct {
  const char *path;
  const int64_t *cols;
  int64_t width, rows, cap;
  double *out; /* rows x width */
  const char **fs, **fe;
  int delim;
  bool first;
  const char *hint; /* the header's, for a file of no data rows */
} Csv;

/* one line [s, e), number `line` (1-based): a header, a blank, or a row */
static bool csv_line(Csv *c, const char *s, const char *e, int64_t line) {
  if (e > s && e[-1] == '\r')
    e--;
  if (blank(s, e))
    return true;
  int n = csv_fields(s, e, c->delim, c->fs, c->fe, MAXF);
  double x;
  if (c->first) {
    c->first = false;
    bool header = false;
    for (int i = 0; i < n && i < MAXF; i++)
      header |= !csv_number(c->fs[i], c->fe[i], &x);
    if (header) {
      c->hint = delimiter_hint(s, e, c->delim);
      return true;
    }
  }
  if (c->rows == c->cap) {
    int64_t cap = c->cap ? 2 * c->cap : 1024;
    double *q = (uint64_t)cap > SIZE_MAX / 8 / (uint64_t)c->width
                    ? NULL : realloc(c->out, (size_t)(cap * c->width) * sizeof *q);
    if (!q) {
      mtl_set_error("%s: out of memory at line %" PRId64, c->path, line);
      return false;
    }
    c->out = q, c->cap = cap;
  }
  for (int64_t j = 0; j < c->width; j++) {
    int64_t k = c->cols[j];
    if (k >= n) {
      mtl_set_error("%s:%" PRId64 ": column %" PRId64 " is missing: the row has %d field%s%s",
                    c->path, line, k, n, n == 1 ? "" : "s", delimiter_hint(s, e, c->delim));
      return false;
    }
    bool num = csv_number(c->fs[k], c->fe[k], &x);
    if (!num || !isfinite(x)) {
      char shown[64];
      size_t len = (size_t)(c->fe[k] - c->fs[k]);
      mtl_printable(shown, sizeof shown, c->fs[k], len > 40 ? 40 : len);
      mtl_set_error("%s:%" PRId64 ":%td: column %" PRId64 " is not %s: '%s'%s", c->path, line,
                    c->fs[k] - s + 1, k, num ? "a finite number" : "a number", shown,
                    num ? "" : delimiter_hint(s, e, c->delim));
      return false;
    }
    c->out[c->rows * c->width + j] = x;
  }
  c->rows++;
  return true;
}

/* Reads the file in blocks of whole lines; a line may be up to MAX_LINE. */
static bool csv_lines(Csv *c, MtlStream *s, char *buf) {
  size_t have = 0;
  uint64_t offset = 0; /* of buf[0] in the text */
  int64_t line = 0;
  bool end, start = true;
  for (;;) {
    size_t got;
    if (!mtl_stream_read(s, buf + have, MAX_LINE - have, &got))
      return false;
    end = got < MAX_LINE - have;
    const char *nul = memchr(buf + have, 0, got);
    if (nul) {
      mtl_set_error("%s: not a CSV text file: a zero byte at offset %" PRIu64, c->path,
                    offset + (uint64_t)(nul - buf));
      return false;
    }
    have += got;
    if (start && have >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3)) {
      memmove(buf, buf + 3, have -= 3); /* the byte-order mark: not part of a field */
      offset += 3;
    }
    start = false;
    const char *p = buf, *lim = buf + have, *nl;
    while ((nl = memchr(p, '\n', (size_t)(lim - p)))) {
      if (!csv_line(c, p, nl, ++line))
        return false;
      p = nl + 1;
    }
    if (end)
      return p == lim || csv_line(c, p, lim, ++line);
    if (p == buf && have == MAX_LINE) {
      mtl_set_error("%s:%" PRId64 ": a line longer than %d bytes", c->path, line + 1, MAX_LINE);
      return false;
    }
    offset += (uint64_t)(p - buf);
    have = (size_t)(lim - p);
    memmove(buf, p, have);
  }
}

bool mtl_csv_read(MtlStream *s, const int64_t *cols, int ncols, int delim, double **vals,
                  View *v) {
  for (int j = 0; j < ncols; j++)
    if (cols[j] < 0 || cols[j] >= MAXF) {
      mtl_set_error("%s: column %" PRId64 " is outside 0..%d", s->path, cols[j], MAXF - 1);
      return false;
    }
  Csv c = {.path = s->path, .cols = cols, .width = ncols, .delim = delim, .first = true,
           .hint = ""};
  char *buf = malloc(MAX_LINE);
  c.fs = malloc(2 * MAXF * sizeof *c.fs);
  c.fe = c.fs ? c.fs + MAXF : NULL;
  bool ok = buf && c.fs;
  if (!ok)
    mtl_set_error("%s: out of memory", s->path);
  ok = ok && csv_lines(&c, s, buf);
  free(buf);
  free(c.fs);
  if (ok && c.rows == 0) {
    mtl_set_error("%s: no data rows%s", s->path, c.hint);
    ok = false;
  }
  if (!ok) {
    free(c.out);
    return false;
  }
  *vals = c.out;
  *v = (View){.p = (const uint8_t *)c.out, .elem = E_F64, .ndim = 2, .dims = {c.rows, c.width}};
  return true;
}
