/* test_text.c: unit tests of the runtime's text loader (runtime/mtl_text.c)
 * and its check of ids: chars and words, padding with 0, cutting long
 * lines, unknown words (1), lower-casing, CRLF line ends, an empty line (a
 * sample of padding), a missing final newline, a gzip'ed file, and the
 * errors: a zero byte, an empty file, a missing file, a vocabulary with an
 * empty line, a duplicate or a space, a vocabulary too big for the
 * embedding, ids outside the vocabulary (naming the file, the row and the
 * input). Files are written into a fresh temporary folder. Prints
 * [PASS]/[FAIL] per check. */
#include "mtl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static int failures;
static char dir[64];

static void check(const char *name, bool ok, const char *detail) {
  printf("[%s] unit/text/%s\n", ok ? "PASS" : "FAIL", name);
  if (!ok) {
    failures++;
    if (detail)
      printf("    %s\n", detail);
  }
}

static const char *path_of(const char *name) {
  static char bufs[32][256];
  static int k;
  char *p = bufs[k++ % 32];
  snprintf(p, 256, "%s/%s", dir, name);
  return p;
}

static const char *write_file(const char *name, const char *s, size_t n, bool gz) {
  const char *p = path_of(name);
  if (gz) {
    gzFile f = gzopen(p, "wb");
    gzwrite(f, s, (unsigned)n);
    gzclose(f);
  } else {
    FILE *f = fopen(p, "wb");
    fwrite(s, 1, n, f);
    fclose(f);
  }
  return p;
}

static const char *text(const char *name, const char *s) {
  return write_file(name, s, strlen(s), false);
}

/* the array is n rows of these ids */
static bool ids_are(const MtlArray *a, int64_t n, int64_t width, const int32_t *want) {
  if (a->dtype != MTL_I32 || a->n != n || a->width != width)
    return false;
  return !memcmp(a->data, want, (size_t)(n * width) * sizeof(int32_t));
}

/* loads and compares, or must fail with an error naming sub1 and sub2 */
static void expect_ids(const char *name, const char *path, MtlTextKind kind, int64_t length,
                       const char *vocab, bool lower, int64_t n, const int32_t *want) {
  MtlArray a = {0};
  bool ok = mtl_text_load(&a, path, kind, length, vocab, lower, 0);
  check(name, ok && ids_are(&a, n, length, want), ok ? "other ids" : mtl_error());
  if (ok)
    mtl_array_free(&a);
}

static void expect_error(const char *name, const char *path, MtlTextKind kind,
                         const char *vocab, int64_t max_ids, const char *sub1,
                         const char *sub2) {
  MtlArray a = {0};
  bool ok = mtl_text_load(&a, path, kind, 4, vocab, false, max_ids);
  const char *e = ok ? "(it succeeded)" : mtl_error();
  check(name, !ok && strstr(e, sub1) && strstr(e, sub2), e);
  if (ok)
    mtl_array_free(&a);
}

static void test_chars(void) {
  /* "ab" padded, "hello" cut, bytes are b + 1: 'a' = 97 -> 98 */
  const int32_t two[] = {98, 99, 0, 0, 105, 102, 109, 109};
  expect_ids("chars_pad_and_cut", text("c1.txt", "ab\nhello\n"), MTL_TEXT_CHARS, 4, NULL, false, 2,
             two);
  expect_ids("chars_crlf", text("c2.txt", "ab\r\nhello\r\n"), MTL_TEXT_CHARS, 4, NULL, false, 2,
             two);
  expect_ids("chars_no_final_newline", text("c3.txt", "ab\nhello"), MTL_TEXT_CHARS, 4, NULL,
             false, 2, two);
  const int32_t empty[] = {98, 0, 0, 0, 0, 0, 0, 0, 99, 0, 0, 0};
  expect_ids("chars_empty_line_is_padding", text("c4.txt", "a\n\nb\n"), MTL_TEXT_CHARS, 4, NULL,
             false, 3, empty);
  const int32_t utf8[] = {0xc3 + 1, 0xa9 + 1, 0xff + 1, 0};
  expect_ids("chars_utf8_as_bytes", text("c5.txt", "\xc3\xa9\xff\n"), MTL_TEXT_CHARS, 4, NULL,
             false, 1, utf8);
  const char *gz = write_file("c6.txt.gz", "ab\nhello\n", 9, true);
  expect_ids("chars_gzip", gz, MTL_TEXT_CHARS, 4, NULL, false, 2, two);
  const char *nul = write_file("c7.txt", "ab\nc\0d\n", 7, false);
  expect_error("chars_zero_byte_is_an_error", nul, MTL_TEXT_CHARS, NULL, 0, "c7.txt:2:",
               "zero byte at column 2");
  expect_error("chars_empty_file_is_an_error", text("c8.txt", ""), MTL_TEXT_CHARS, NULL, 0,
               "c8.txt", "empty file");
  expect_error("chars_missing_file_is_an_error", path_of("none.txt"), MTL_TEXT_CHARS, NULL, 0,
               "none.txt", "cannot open");
}

static void test_words(void) {
  const char *vocab = text("v.txt", "the\ncat\nsat\r\nThe\n"); /* ids 2, 3, 4, 5 */
  /* unknown words are 1; runs of spaces and tabs separate; cut at 4 */
  const int32_t want[] = {2, 3, 1, 0, 5, 4, 2, 3, 0, 0, 0, 0};
  expect_ids("words_unknown_pad_cut_crlf",
             text("w1.txt", "the cat dog\r\nThe  sat\tthe cat on\n\n"), MTL_TEXT_WORDS, 4, vocab,
             false, 3, want);
  const int32_t lower[] = {2, 3, 0, 0, 2, 4, 1, 0};
  expect_ids("words_lowercase", text("w2.txt", "THE Cat\nthe SAT Mat"), MTL_TEXT_WORDS, 4, vocab,
             true, 2, lower);
  expect_error("words_vocab_empty_line", text("w3.txt", "a b\n"), MTL_TEXT_WORDS,
               text("v2.txt", "a\n\nb\n"), 0, "v2.txt:2:", "empty line");
  expect_error("words_vocab_duplicate", text("w4.txt", "a b\n"), MTL_TEXT_WORDS,
               text("v3.txt", "a\nb\na\n"), 0, "v3.txt:3:", "line 1 already");
  expect_error("words_vocab_space", text("w5.txt", "a b\n"), MTL_TEXT_WORDS,
               text("v4.txt", "a b\n"), 0, "v4.txt:1:", "space inside");
  expect_error("words_vocab_missing", text("w6.txt", "a b\n"), MTL_TEXT_WORDS,
               path_of("nov.txt"), 0, "nov.txt", "cannot open");
  expect_error("words_vocab_bigger_than_the_embedding", text("w7.txt", "a b\n"), MTL_TEXT_WORDS,
               vocab, 5, "v.txt: 4 words give ids up to 5", "embedding(6, ...)");
  const char *nul = write_file("w8.txt", "the\0", 4, false);
  expect_error("words_zero_byte_is_an_error", nul, MTL_TEXT_WORDS, vocab, 0, "w8.txt:1:",
               "zero byte");
}

static void test_ids(void) {
  int32_t ids[] = {0, 3, 2, 7};
  MtlArray a = {MTL_I32, 2, 2, ids};
  check("ids_in_range", mtl_check_ids(&a, 8, "x.npy", "tok"), mtl_error());
  bool ok = mtl_check_ids(&a, 7, "x.npy", "tok");
  const char *e = mtl_error();
  check("id_outside_the_vocabulary_names_file_row_and_input",
        !ok && strstr(e, "x.npy: row 2: id 7 is outside [0, 7)") && strstr(e, "input tok"), e);
  ids[0] = -1;
  ok = mtl_check_ids(&a, 100, "x.npy", "tok");
  check("negative_id_is_an_error", !ok && strstr(mtl_error(), "row 1: id -1"), mtl_error());
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/mtlc-text-XXXXXX");
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  test_chars();
  test_words();
  test_ids();
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    printf("    could not remove %s\n", dir);
  return failures ? 1 : 0;
}
