/* check/text.c: the text options of a data binding, for an i32 input of
 * shape [T]: chars(length=T) (each byte b of a line is id b + 1, 0 pads)
 * and words(vocab="FILE", length=T, lowercase=false) (word k of the
 * vocabulary file is id k + 2, an unknown word 1, 0 pads). The checks that
 * need no file: the input's type and shape, the length, and for chars the
 * vocabulary of the embedding the ids feed; for words, when its
 * vocabulary file is found, whether its size fits that embedding.
 * Reading the files for real is the runtime's (runtime/mtl_text.c), which
 * checks again: the file may change between check and train. */
#include "check/sema.h"

#include <stdio.h>
#include <string.h>

static const Param p_chars[] = {{"length", T_INT, 0, 1, BIG}};
static const Sig sig_chars = {"chars", 0, p_chars, 1, "chars(length=16)", NULL, NULL, NULL};
static const Param p_words[] = {{"vocab", T_STR, REQ, 0, 0},
                                {"length", T_INT, 0, 1, BIG},
                                {"lowercase", T_BOOL, 0, 0, 0}};
static const Sig sig_words = {"words", 0, p_words, 3,
                              "words(vocab=\"vocab.txt\", length=64)", NULL, NULL, NULL};

#define CHAR_IDS 257 /* 0 pads, bytes are 1..256 */

/* the input db binds can take ids from a text file: i32[T] */
static bool text_input(Sema *s, DataBind *db, Call *c) {
  Input *in = db->input;
  if (!in) {
    ERR(c->span, "%s reads a text file into an input's ids, and '%s' is a task's "
        "label", c->name, db->decl->name);
    return false;
  }
  if (in->dtype != DT_I32 || in->shape.rank != 1) {
    ERR(c->span, "%s gives a line of i32 ids, but input '%s' is %s%s; declare it "
        "as 'input %s: i32[%lld]'", c->name, in->name, dtype_name(in->dtype),
        shape_str(s->a, in->shape), in->name,
        (long long)(in->shape.rank == 1 ? in->shape.d[0] : 16));
    return false;
  }
  if (db->text) {
    ERR(c->span, "'%s' is read as text once; keep one of chars and words", in->name);
    return false;
  }
  return true;
}

/* length=, when given, is the input's T */
static bool text_length(Sema *s, DataBind *db, Value *v) {
  int64_t T = db->input->shape.d[0];
  db->length = T;
  if (v && (int64_t)v->num != T) {
    ERR(v->span, "input '%s' is i32[%lld], so a line gives %lld ids: write length=%lld "
        "or leave it out", db->input->name, (long long)T, (long long)T, (long long)T);
    return false;
  }
  return true;
}

/* The words of a vocabulary file, one a line (a missing final newline
 * still ends one); -1 when it cannot be read. The runtime reads it for
 * real (blank lines, duplicates); here only its size matters. */
static int64_t vocab_lines(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return -1;
  int64_t n = 0;
  int c, last = '\n';
  while ((c = getc(f)) != EOF) {
    n += c == '\n';
    last = c;
  }
  fclose(f);
  return n + (last != '\n');
}

/* words gives ids up to n + 1 for n words: the embedding must hold them */
static void vocab_fits(Sema *s, DataBind *db, Input *in) {
  int64_t n = db->vocab_found && in->vocab ? vocab_lines(db->vocab) : -1;
  if (n >= 0 && n + 2 > in->vocab)
    ERR(db->vocab_span, "%s: %lld words give ids up to %lld, but input '%s' feeds an "
        "embedding of %lld ids (0 pads, 1 is an unknown word); use embedding(%lld, ...)",
        db->vocab, (long long)n, (long long)n + 1, in->name, (long long)in->vocab,
        (long long)n + 2);
}

bool check_text_option(Sema *s, DataBind *db, Call *c) {
  bool chars = !strcmp(c->name, "chars");
  if (!chars && strcmp(c->name, "words"))
    return false;
  Value *v[3] = {0};
  if (!bind_args(s, c, chars ? &sig_chars : &sig_words, v) || !text_input(s, db, c))
    return true;
  if (!text_length(s, db, v[chars ? 0 : 1]))
    return true;
  Input *in = db->input;
  if (chars && in->vocab && in->vocab < CHAR_IDS) {
    ERR(c->span, "chars gives ids up to %d (byte b is id b + 1), but input '%s' feeds "
        "an embedding of %lld ids; use embedding(%d, ...)", CHAR_IDS - 1, in->name,
        (long long)in->vocab, CHAR_IDS);
    return true;
  }
  db->text = chars ? MTL_TEXT_CHARS : MTL_TEXT_WORDS;
  if (!chars) {
    bool found;
    db->vocab = resolve_data_path(s, v[0]->str, &found);
    db->vocab_found = found;
    db->vocab_span = v[0]->span;
    db->lowercase = bool_arg(v[2], false);
    vocab_fits(s, db, in);
  }
  return true;
}

void text_warnings(Sema *s, DataBind *db) {
  if (db->text == MTL_TEXT_WORDS && !db->vocab_found)
    WARN(db->vocab_span, "data file '%s' not found%s", db->vocab,
         db->vocab[0] == '/' ? "" : arena_printf(s->a, " (%s)", data_search_text(s)));
}
