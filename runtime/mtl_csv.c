/* mtl_csv.c: CSV files of numbers, one sample per row, fields separated by
 * a delimiter (',' unless the binding says ';', '\t', ...); a first row that
 * is not all numbers is a header and is skipped; blank lines are skipped;
 * CRLF line ends are taken. Only the chosen columns are read, as f64. A row
 * that does not parse with ',' but holds ';' or tabs gets a hint naming
 * the delimiter option. */
#include "mtl_read.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- CSV: rows of comma-separated numbers, maybe a header row ----------- */

/* a field as a number; false if it is not one */
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

/* Reads the chosen columns as f64 into *vals: rows x ncols. */
bool mtl_csv_parse(const char *path, const Bytes *b, const int64_t *cols, int ncols, int delim,
                   double **vals, View *v) {
  const char *text = (const char *)b->p, *end = text + b->n;
  const char *nul = memchr(text, 0, b->n);
  if (nul) {
    mtl_set_error("%s: not a CSV text file: a zero byte at offset %zu", path, (size_t)(nul - text));
    return false;
  }
  enum { MAXF = 4096 };
  const char **fs = malloc(2 * MAXF * sizeof *fs), **fe = fs + MAXF;
  int64_t rows = 0, width = ncols, line = 0, cap = 0;
  double *out = NULL;
  bool ok = fs != NULL, first = true;
  const char *hint = ""; /* the header's, for a file of no data rows */
  if (!ok)
    mtl_set_error("%s: out of memory", path);
  for (const char *s = text; ok && s < end; line++) {
    const char *e = memchr(s, '\n', (size_t)(end - s)), *next;
    next = e ? e + 1 : end;
    e = e ? e : end;
    if (e > s && e[-1] == '\r')
      e--;
    if (blank(s, e)) {
      s = next;
      continue;
    }
    int n = csv_fields(s, e, delim, fs, fe, MAXF);
    double x;
    if (first) {
      first = false;
      bool header = false;
      for (int i = 0; i < n && i < MAXF; i++)
        header |= !csv_number(fs[i], fe[i], &x);
      if (header) {
        hint = delimiter_hint(s, e, delim);
        s = next;
        continue;
      }
    }
    if (rows == cap) {
      cap = cap ? 2 * cap : 1024;
      double *q = realloc(out, (size_t)(cap * width) * sizeof *out);
      if (!q) {
        mtl_set_error("%s: out of memory", path);
        ok = false;
        break;
      }
      out = q;
    }
    for (int64_t j = 0; ok && j < width; j++) {
      int64_t c = cols[j];
      if (c < 0 || c >= MAXF) {
        mtl_set_error("%s: column %" PRId64 " is outside 0..%d", path, c, MAXF - 1);
        ok = false;
      } else if (c >= n) {
        mtl_set_error("%s:%" PRId64 ": column %" PRId64 " is missing: the row has %d field%s%s",
                      path, line + 1, c, n, n == 1 ? "" : "s", delimiter_hint(s, e, delim));
        ok = false;
      } else if (!csv_number(fs[c], fe[c], &x)) {
        int len = (int)(fe[c] - fs[c]);
        mtl_set_error("%s:%" PRId64 ": column %" PRId64 " is not a number: '%.*s'%s", path,
                      line + 1, c, len > 40 ? 40 : len, fs[c], delimiter_hint(s, e, delim));
        ok = false;
      } else {
        out[rows * width + j] = x;
      }
    }
    rows++;
    s = next;
  }
  free(fs);
  if (ok && rows == 0) {
    mtl_set_error("%s: no data rows%s", path, hint);
    ok = false;
  }
  if (!ok) {
    free(out);
    return false;
  }
  *vals = out;
  *v = (View){.p = (const uint8_t *)out, .elem = E_F64, .ndim = 2, .dims = {rows, width}};
  return true;
}
