/* mtl_ckpt.c: checkpoints in the safetensors format: an 8-byte
 * little-endian header length N, N bytes of JSON (one entry per tensor:
 * dtype, shape, data_offsets into the data area; __metadata__ of strings
 * only), then the data area, little-endian F32. Parameters, running
 * statistics (batchnorm's), then optimizer state; step, epoch and the
 * shuffle RNG's state in __metadata__ with "format": "pt", so PyTorch's
 * loaders accept the file.
 *
 * Saving goes through mtl_write_replace (mtl_write.c): an exclusive
 * temporary file beside PATH, every write checked, fsync, rename, fsync of
 * the folder; a crash leaves the old checkpoint or the new one, never half
 * of one, and the next save removes what a killed one left.
 *
 * Loading trusts nothing: the file must be a regular one; the header's
 * length is capped (the safetensors limit, and what the model can need);
 * the header must be UTF-8 JSON with one __metadata__ at most and each key
 * once; its entries must cover the data area exactly, as the safetensors
 * library requires; every offset, size, dtype, shape and name is checked
 * against the model before a byte of data is read, and every value must be
 * finite. A fault is an error naming the file and the tensor, with names
 * from the file escaped. Optimizer state is the one thing a file may lack
 * or hold another optimizer's of (the spec changed its optimizer): it is
 * skipped (its bytes still count in the data area), and the model's starts
 * at zero; a network that differs is an error listing the tensors missing
 * and extra. The optimizer, where its state started, the best epoch so far
 * and the model's hash ride in __metadata__ too. Holds no state between
 * calls. */
#include "mtl.h"
#include "mtl_json.h"
#include "mtl_read.h"
#include "mtl_write.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HEADER 100000000u /* the safetensors library's limit (MAX_HEADER_SIZE) */

static uint32_t bswap32(uint32_t x) {
  return x >> 24 | (x >> 8 & 0xff00) | (x << 8 & 0xff0000) | x << 24;
}

/* ---- the model's hash ------------------------------------------------------------ */

/* FNV-1a, 64 bits */
static uint64_t fnv(uint64_t h, const char *s) {
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
  return h;
}

uint64_t mtl_model_hash(const MtlModelInfo *m) {
  uint64_t h = fnv(0xcbf29ce484222325ull, m->name ? m->name : "");
  const MtlTensor *groups[2] = {m->param_tensors, m->stat_tensors};
  int counts[2] = {m->n_param_tensors, m->n_stat_tensors};
  for (int g = 0; g < 2; g++)
    for (int i = 0; i < counts[g]; i++) {
      char sh[160];
      mtl_shape_text(sh, sizeof sh, groups[g][i].shape, groups[g][i].rank);
      h = fnv(fnv(fnv(h, "\n"), groups[g][i].name), sh);
    }
  return h;
}

/* ---- writing ------------------------------------------------------------------ */

typedef struct {
  char *p;
  size_t n, cap;
  bool oom;
} Buf;

static void put(Buf *b, const char *s, size_t n) {
  if (b->oom)
    return;
  if (b->n + n + 1 > b->cap) {
    size_t cap = (b->n + n + 1) * 2;
    char *q = realloc(b->p, cap);
    if (!q) {
      b->oom = true;
      return;
    }
    b->p = q, b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
}

static void puts_(Buf *b, const char *s) { put(b, s, strlen(s)); }

static void putf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(Buf *b, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  put(b, tmp, k < (int)sizeof tmp ? (size_t)k : sizeof tmp - 1);
}

static void put_json_string(Buf *b, const char *s) {
  puts_(b, "\"");
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      putf(b, "\\%c", c);
    else if (c < 0x20)
      putf(b, "\\u%04x", c);
    else
      put(b, (const char *)&c, 1);
  }
  puts_(b, "\"");
}

static void put_tensor(Buf *b, const MtlTensor *t, uint64_t begin) {
  puts_(b, ",");
  put_json_string(b, t->name);
  puts_(b, ":{\"dtype\":\"F32\",\"shape\":[");
  for (int i = 0; i < t->rank; i++)
    putf(b, "%s%" PRId64, i ? "," : "", t->shape[i]);
  putf(b, "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}", begin, begin + 4 * (uint64_t)t->numel);
}

/* The tensor groups, in the file's order: parameters, running statistics,
 * optimizer state. */
enum { G_PARAMS, G_STATS, G_STATE, NGROUPS };
typedef struct {
  const MtlTensor *t;
  int n;
  int64_t size; /* floats in the group */
} Group;

static void groups(const MtlModelInfo *m, Group *g) {
  g[G_PARAMS] = (Group){m->param_tensors, m->n_param_tensors, m->n_params};
  g[G_STATS] = (Group){m->stat_tensors, m->n_stat_tensors, m->n_stats};
  g[G_STATE] = (Group){m->state_tensors, m->n_state_tensors, m->n_state};
}

/* The JSON header, padded with spaces to a multiple of 8 bytes. */
static bool make_header(Buf *b, const MtlModelInfo *m, const MtlCkptMeta *meta) {
  puts_(b, "{\"__metadata__\":{\"format\":\"pt\",\"model\":");
  put_json_string(b, m->name ? m->name : "");
  putf(b, ",\"step\":\"%" PRId64 "\",\"epoch\":\"%" PRId64 "\"", meta->step, meta->epoch);
  putf(b, ",\"rng\":\"%016" PRIx64 ",%016" PRIx64 ",%016" PRIx64 ",%016" PRIx64 "\"",
       meta->rng[0], meta->rng[1], meta->rng[2], meta->rng[3]);
  if (m->mtlc_version) {
    puts_(b, ",\"mtlc_version\":");
    put_json_string(b, m->mtlc_version);
  }
  if (meta->balance[0]) { /* the balancer's state, 64-bit words in hexadecimal */
    puts_(b, ",\"balance\":");
    put_json_string(b, meta->balance);
    puts_(b, ",\"balance_state\":\"");
    for (int i = 0; i < meta->n_balance_state; i++)
      putf(b, "%s%016" PRIx64, i ? "," : "", meta->balance_state[i]);
    puts_(b, "\"");
  }
  putf(b, ",\"optimizer\":\"%s\",\"opt_start\":\"%" PRId64 "\"", mtl_optimizer_name(m->optimizer),
       meta->opt_start);
  putf(b, ",\"best_epoch\":\"%" PRId64 "\",\"since_best\":\"%" PRId64 "\",\"best\":\"%.17g\"",
       meta->best_epoch, meta->since_best, meta->best_epoch ? meta->best : 0.0);
  putf(b, ",\"model_hash\":\"%016" PRIx64 "\"", mtl_model_hash(m));
  puts_(b, "}");
  uint64_t off = 0;
  Group g[NGROUPS];
  groups(m, g);
  for (int k = 0; k < NGROUPS; k++)
    for (int i = 0; i < g[k].n; i++, off += 4 * (uint64_t)g[k].t[i - 1].numel)
      put_tensor(b, &g[k].t[i], off);
  puts_(b, "}");
  while (!b->oom && b->n % 8)
    puts_(b, " ");
  return !b->oom;
}

/* n floats, little-endian */
static bool write_f32(int fd, const float *x, int64_t n) {
  if (mtl_little_endian())
    return mtl_write_all(fd, x, 4 * (size_t)n);
  uint32_t chunk[1024];
  for (int64_t i = 0; i < n; i += 1024) {
    size_t k = (size_t)(n - i < 1024 ? n - i : 1024);
    memcpy(chunk, x + i, 4 * k);
    for (size_t j = 0; j < k; j++)
      chunk[j] = bswap32(chunk[j]);
    if (!mtl_write_all(fd, chunk, 4 * k))
      return false;
  }
  return true;
}

static bool write_tensors(int fd, const MtlTensor *t, int n, const float *base) {
  for (int i = 0; i < n; i++)
    if (!write_f32(fd, base + t[i].offset, t[i].numel))
      return false;
  return true;
}

/* ---- saving ------------------------------------------------------------------- */

typedef struct {
  const Buf *h;
  const MtlModelInfo *m;
  const float *params, *stats, *state;
} Body;

/* the header's length, the header, the tensors */
static bool write_body(int fd, void *ctx) {
  const Body *b = ctx;
  uint8_t n8[8];
  for (int i = 0; i < 8; i++)
    n8[i] = (uint8_t)((uint64_t)b->h->n >> (8 * i));
  return mtl_write_all(fd, n8, 8) && mtl_write_all(fd, b->h->p, b->h->n) &&
         write_tensors(fd, b->m->param_tensors, b->m->n_param_tensors, b->params) &&
         write_tensors(fd, b->m->stat_tensors, b->m->n_stat_tensors, b->stats) &&
         write_tensors(fd, b->m->state_tensors, b->m->n_state_tensors, b->state);
}

bool mtl_ckpt_save(const char *path, const MtlModelInfo *m, const float *params,
                   const float *state, const float *stats, const MtlCkptMeta *meta) {
  if (!state && m->n_state_tensors) {
    mtl_set_error("%s: no optimizer state to save", path);
    return false;
  }
  if (!stats && m->n_stat_tensors) {
    mtl_set_error("%s: no running statistics to save", path);
    return false;
  }
  Buf h = {0};
  if (!make_header(&h, m, meta)) {
    free(h.p);
    mtl_set_error("%s: out of memory for the checkpoint's header", path);
    return false;
  }
  Body b = {&h, m, params, stats, state};
  bool ok = mtl_write_replace(path, write_body, &b);
  free(h.p);
  return ok;
}

/* ---- reading -------------------------------------------------------------------- */

typedef struct {
  const MtlTensor *t; /* the model's; NULL: another optimizer's state, skipped */
  const char *name;   /* t's, or the file's (then fit for a message) */
  float *dst;         /* NULL: checked, not copied */
  int group;          /* G_* */
  uint64_t begin, end;
  bool seen;
} Slot;

/* a name or text from the file, fit for a message */
#define SHOWN(buf, s) (mtl_printable(buf, sizeof buf, s, strlen(s)), buf)

/* an entry's data_offsets: [BEGIN, END] inside the data area */
static bool entry_offsets(const char *path, const JParser *p, const JNode *offs, Slot *s,
                          uint64_t data_size) {
  const char *name = s->name;
  int a = offs->child, b = a >= 0 ? p->nodes[a].next : -1;
  if (a < 0 || b < 0 || p->nodes[b].next >= 0 || !p->nodes[a].is_uint || !p->nodes[b].is_uint) {
    mtl_set_error("%s: tensor %s: data_offsets is not [BEGIN, END]", path, name);
    return false;
  }
  s->begin = p->nodes[a].u, s->end = p->nodes[b].u;
  if (s->begin > s->end || s->end > data_size) {
    mtl_set_error("%s: tensor %s: data_offsets [%" PRIu64 ", %" PRIu64 "] are outside the data "
                  "area of %" PRIu64 " bytes (truncated?)", path, name, s->begin, s->end, data_size);
    return false;
  }
  return true;
}

/* Another optimizer's state tensor: an object whose data_offsets lie in
 * the data area; the rest of it is not this model's to check. */
static bool foreign_entry(const char *path, const JParser *p, const JNode *e, Slot *s,
                          uint64_t data_size) {
  const JNode *offs = NULL;
  for (int c = e->type == J_OBJ ? e->child : -1; c >= 0; c = p->nodes[c].next)
    if (!strcmp(p->nodes[c].key, "data_offsets"))
      offs = &p->nodes[c];
  if (!offs || offs->type != J_ARR) {
    mtl_set_error("%s: tensor %s: no data_offsets array", path, s->name);
    return false;
  }
  return entry_offsets(path, p, offs, s, data_size);
}

/* One tensor entry of the header against the model's tensor. */
static bool check_entry(const char *path, const JParser *p, const JNode *e, Slot *s,
                        uint64_t data_size) {
  const char *name = s->t->name;
  char shown[128];
  if (e->type != J_OBJ) {
    mtl_set_error("%s: tensor %s: its entry is not a JSON object", path, name);
    return false;
  }
  const JNode *dtype = NULL, *shape = NULL, *offs = NULL;
  for (int c = e->child; c >= 0; c = p->nodes[c].next) {
    const JNode *x = &p->nodes[c];
    const JNode **field = !strcmp(x->key, "dtype") ? &dtype : !strcmp(x->key, "shape") ? &shape
                          : !strcmp(x->key, "data_offsets") ? &offs : NULL;
    if (!field || *field) {
      mtl_set_error("%s: tensor %s: %s field '%s'", path, name, field ? "a second" : "unknown",
                    SHOWN(shown, x->key));
      return false;
    }
    *field = x;
  }
  if (!dtype || !shape || !offs || dtype->type != J_STR || shape->type != J_ARR ||
      offs->type != J_ARR) {
    mtl_set_error("%s: tensor %s: want a string dtype, a shape array and a data_offsets "
                  "array", path, name);
    return false;
  }
  if (strcmp(dtype->str, "F32")) {
    mtl_set_error("%s: tensor %s: dtype %s, want F32", path, name, SHOWN(shown, dtype->str));
    return false;
  }
  int64_t dims[8];
  int rank = 0;
  bool ok = true;
  for (int c = shape->child; c >= 0; c = p->nodes[c].next, rank++) {
    const JNode *d = &p->nodes[c];
    if (rank == 8 || d->type != J_NUM || !d->is_uint || d->u > INT64_MAX) {
      ok = false;
      break;
    }
    dims[rank] = (int64_t)d->u;
  }
  bool same = ok && rank == s->t->rank;
  for (int i = 0; same && i < rank; i++)
    same = dims[i] == s->t->shape[i];
  if (!same) {
    char got[160] = "not a list of sizes", want[160];
    if (ok)
      mtl_shape_text(got, sizeof got, dims, rank);
    mtl_shape_text(want, sizeof want, s->t->shape, s->t->rank);
    mtl_set_error("%s: tensor %s: shape %s, the model's is %s", path, name, got, want);
    return false;
  }
  if (!entry_offsets(path, p, offs, s, data_size))
    return false;
  if (s->end - s->begin != 4 * (uint64_t)s->t->numel) {
    mtl_set_error("%s: tensor %s: data_offsets [%" PRIu64 ", %" PRIu64 "] hold %" PRIu64
                  " bytes, its %" PRId64 " F32 values need %" PRIu64, path, name, s->begin,
                  s->end, s->end - s->begin, s->t->numel, 4 * (uint64_t)s->t->numel);
    return false;
  }
  return true;
}

static int by_begin(const void *a, const void *b) {
  const Slot *x = *(const Slot *const *)a, *y = *(const Slot *const *)b;
  return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* The tensors, in the order of their data, cover the data area exactly, as
 * the safetensors library requires: no overlap, no gap, nothing after. */
static Slot **layout(const char *path, Slot *slots, int n, uint64_t data_size, int *k) {
  Slot **order = malloc((size_t)(n ? n : 1) * sizeof *order);
  if (!order) {
    mtl_set_error("%s: out of memory", path);
    return NULL;
  }
  *k = 0;
  for (int i = 0; i < n; i++)
    if (slots[i].seen)
      order[(*k)++] = &slots[i];
  qsort(order, (size_t)*k, sizeof *order, by_begin);
  uint64_t at = 0;
  for (int i = 0; i < *k; i++) {
    const Slot *s = order[i];
    if (s->begin != at) {
      if (s->begin < at)
        mtl_set_error("%s: tensors %s and %s overlap in the data area", path,
                      order[i - 1]->name, s->name);
      else
        mtl_set_error("%s: %" PRIu64 " bytes of the data area before tensor %s belong to no "
                      "tensor", path, s->begin - at, s->name);
      free(order);
      return NULL;
    }
    at = s->end;
  }
  if (at != data_size) {
    mtl_set_error("%s: %" PRIu64 " bytes after the last tensor's data (the data area has %"
                  PRIu64 ")", path, data_size - at, data_size);
    free(order);
    return NULL;
  }
  return order;
}

/* 1 to 19 decimal digits, nothing else, at most INT64_MAX */
static bool parse_count(const char *s, int64_t *out) {
  uint64_t v = 0;
  size_t n = 0;
  for (; s[n] >= '0' && s[n] <= '9' && n < 19; n++)
    v = v * 10 + (uint64_t)(s[n] - '0');
  *out = (int64_t)v;
  return n > 0 && !s[n] && v <= INT64_MAX;
}

static int hex_digit(char c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* four words of 1 to 16 hexadecimal digits, comma-separated, not all zero */
static bool parse_rng(const char *s, uint64_t rng[4]) {
  uint64_t any = 0;
  for (int i = 0; i < 4; i++) {
    int n = 0;
    rng[i] = 0;
    for (; n < 16; n++, s++) {
      int d = hex_digit(*s);
      if (d < 0)
        break;
      rng[i] = rng[i] << 4 | (uint64_t)d;
    }
    if (!n || *s++ != (i < 3 ? ',' : '\0'))
      return false;
    any |= rng[i];
  }
  return any != 0;
}

/* "balance_state": comma-separated words of 1 to 16 hexadecimal digits */
static bool read_words(const char *path, const char *s, MtlCkptMeta *meta) {
  meta->n_balance_state = 0;
  while (*s) {
    uint64_t w = 0;
    int n = 0;
    for (; n < 16 && hex_digit(*s) >= 0; n++, s++)
      w = w << 4 | (uint64_t)hex_digit(*s);
    if (meta->n_balance_state == MTL_BALANCE_STATE_MAX || !n || (*s && *s != ',') ||
        (*s == ',' && !s[1])) {
      mtl_set_error("%s: __metadata__: balance_state is not a list of at most %d hexadecimal "
                    "words", path, MTL_BALANCE_STATE_MAX);
      return false;
    }
    meta->balance_state[meta->n_balance_state++] = w;
    s += *s == ',';
  }
  return true;
}

const char *mtl_optimizer_name(MtlOptKind k) {
  static const char *const names[] = {"sgd", "adam", "adamw", "rmsprop"};
  return (unsigned)k < sizeof names / sizeof *names ? names[k] : "?";
}

/* The metadata training added later, each optional: the optimizer and
 * where its state started, the best epoch so far. */
static bool read_training_meta(const char *path, const JParser *p, const JNode *md,
                               MtlCkptMeta *meta) {
  for (int c = md->child; c >= 0; c = p->nodes[c].next) {
    const JNode *x = &p->nodes[c];
    char shown[64];
    int64_t *dst = !strcmp(x->key, "opt_start")    ? &meta->opt_start
                   : !strcmp(x->key, "best_epoch") ? &meta->best_epoch
                   : !strcmp(x->key, "since_best") ? &meta->since_best : NULL;
    if (dst && !parse_count(x->str, dst)) {
      mtl_set_error("%s: __metadata__: %s '%s' is not a count (decimal digits)", path, x->key,
                    SHOWN(shown, x->str));
      return false;
    }
    char *end;
    if (!dst && !strcmp(x->key, "best") &&
        (meta->best = strtod(x->str, &end), end == x->str || *end || !isfinite(meta->best))) {
      mtl_set_error("%s: __metadata__: best '%s' is not a finite number", path,
                    SHOWN(shown, x->str));
      return false;
    }
    if (!dst && !strcmp(x->key, "optimizer"))
      mtl_printable(meta->optimizer, sizeof meta->optimizer, x->str, strlen(x->str));
  }
  return true;
}

static bool read_meta(const char *path, const JParser *p, const JNode *md, MtlCkptMeta *meta) {
  const char *step = NULL, *epoch = NULL, *rng = NULL, *bal = NULL, *state = "";
  char shown[128];
  for (int c = md->child; c >= 0; c = p->nodes[c].next) {
    const JNode *x = &p->nodes[c];
    if (x->type != J_STR) {
      mtl_set_error("%s: __metadata__ value '%s' is not a string", path, SHOWN(shown, x->key));
      return false;
    }
    for (int d = md->child; d != c; d = p->nodes[d].next)
      if (!strcmp(p->nodes[d].key, x->key)) {
        mtl_set_error("%s: __metadata__ has '%s' twice", path, SHOWN(shown, x->key));
        return false;
      }
    if (!strcmp(x->key, "step"))
      step = x->str;
    else if (!strcmp(x->key, "epoch"))
      epoch = x->str;
    else if (!strcmp(x->key, "rng"))
      rng = x->str;
    else if (!strcmp(x->key, "balance"))
      bal = x->str;
    else if (!strcmp(x->key, "balance_state"))
      state = x->str;
  }
  if (!meta)
    return true;
  if (!read_training_meta(path, p, md, meta))
    return false;
  if (!step || !epoch || !rng) {
    mtl_set_error("%s: __metadata__ lacks %s; it cannot resume training", path,
                  !step ? "step" : !epoch ? "epoch" : "rng");
    return false;
  }
  if (!parse_count(step, &meta->step) || !parse_count(epoch, &meta->epoch)) {
    char e2[64];
    mtl_set_error("%s: __metadata__: step '%s' or epoch '%s' is not a count (decimal digits)",
                  path, SHOWN(shown, step), SHOWN(e2, epoch));
    return false;
  }
  if (!parse_rng(rng, meta->rng)) {
    mtl_set_error("%s: __metadata__: rng '%s' is not four hexadecimal words, not all zero",
                  path, SHOWN(shown, rng));
    return false;
  }
  meta->balance[0] = 0, meta->n_balance_state = 0;
  if (bal) {
    mtl_printable(meta->balance, sizeof meta->balance, bal, strlen(bal));
    return read_words(path, state, meta);
  }
  return true;
}

/* The header this runtime writes for m, as long as it can be: a file's
 * header may be a few times longer (other writers, added metadata), never
 * more. Known before the header is read. */
static uint64_t header_cap(const MtlModelInfo *m) {
  if (!m)
    return MAX_HEADER;
  Buf h = {0};
  MtlCkptMeta most = {INT64_MAX, INT64_MAX, {UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX},
                      .opt_start = INT64_MAX, .best_epoch = INT64_MAX, .since_best = INT64_MAX,
                      .best = -1.2345678901234567e-300};
  bool ok = make_header(&h, m, &most);
  free(h.p);
  uint64_t cap = ok ? 4 * (uint64_t)h.n + 65536 : MAX_HEADER;
  return cap < MAX_HEADER ? cap : MAX_HEADER;
}

/* valid UTF-8, as the safetensors library requires of the header; the
 * offset of the first bad byte, or n */
static size_t utf8_prefix(const uint8_t *s, size_t n) {
  for (size_t i = 0; i < n;) {
    int len = s[i] < 0x80 ? 1 : s[i] >= 0xc2 && s[i] <= 0xdf ? 2 : s[i] >= 0xe0 && s[i] <= 0xef ? 3
              : s[i] >= 0xf0 && s[i] <= 0xf4 ? 4 : 0;
    if (!len || (size_t)len > n - i)
      return i;
    uint8_t lo = s[i] == 0xe0 ? 0xa0 : s[i] == 0xf0 ? 0x90 : 0x80;
    uint8_t hi = s[i] == 0xed ? 0x9f : s[i] == 0xf4 ? 0x8f : 0xbf;
    if (len > 1 && (s[i + 1] < lo || s[i + 1] > hi))
      return i;
    for (int k = 2; k < len; k++)
      if ((s[i + k] & 0xc0) != 0x80)
        return i;
    i += (size_t)len;
  }
  return n;
}

/* the 8-byte length and the header text, checked and NUL-terminated */
static char *read_header(MtlStream *s, const MtlModelInfo *m, uint64_t *hlen) {
  const char *path = s->path;
  uint8_t n8[8];
  size_t got;
  if (!mtl_stream_read(s, n8, 8, &got))
    return NULL;
  if (got < 8) {
    mtl_set_error("%s: truncated: %zu bytes, less than the 8-byte header length", path, got);
    return NULL;
  }
  uint64_t n = 0, left = mtl_stream_left(s), cap = header_cap(m);
  for (int i = 0; i < 8; i++)
    n |= (uint64_t)n8[i] << (8 * i);
  *hlen = n;
  if (n > MAX_HEADER || n > cap) {
    mtl_set_error("%s: bad header length %" PRIu64 ": more than %s (%" PRIu64 " bytes)", path, n,
                  n > MAX_HEADER ? "the safetensors limit" : "any checkpoint of this model needs",
                  n > MAX_HEADER ? (uint64_t)MAX_HEADER : cap);
    return NULL;
  }
  if (n > left) {
    mtl_set_error("%s: bad header length %" PRIu64 ": the file has %" PRIu64 " bytes after it "
                  "(truncated?)", path, n, left);
    return NULL;
  }
  char *text = malloc((size_t)n + 1);
  if (!text) {
    mtl_set_error("%s: out of memory for a header of %" PRIu64 " bytes", path, n);
    return NULL;
  }
  size_t bad = 0;
  if (!mtl_stream_read(s, text, (size_t)n, &got)) {
  } else if (got < n) {
    mtl_set_error("%s: bad header length %" PRIu64 ": the file has %zu bytes after it "
                  "(truncated?)", path, n, got);
  } else if ((bad = utf8_prefix((const uint8_t *)text, (size_t)n)) < n) {
    mtl_set_error("%s: the header is not UTF-8 at byte %zu", path, bad + 8);
  } else {
    text[n] = '\0';
    return text;
  }
  free(text);
  return NULL;
}

/* A tensor named PARAM.SUFFIX after a parameter of the model: optimizer
 * state, this optimizer's or another's. */
static bool foreign_state(const MtlModelInfo *m, const char *name) {
  const char *dot = strrchr(name, '.');
  for (int i = 0; dot && i < m->n_param_tensors; i++) {
    const char *p = m->param_tensors[i].name;
    if (strlen(p) == (size_t)(dot - name) && !strncmp(p, name, (size_t)(dot - name)))
      return true;
  }
  return false;
}

/* what differs between the file's network and the model's, as a list */
typedef struct {
  char text[1024];
  int n;
} Diff;

static void net_diff(Diff *d, const char *what, const char *name) {
  size_t k = strlen(d->text);
  char shown[128];
  if (d->n < 12)
    snprintf(d->text + k, sizeof d->text - k, "%stensor %s is %s", d->n ? "; " : "",
             SHOWN(shown, name), what);
  else if (d->n == 12)
    snprintf(d->text + k, sizeof d->text - k, "; and more");
  d->n++;
}

/* the header's entries matched with the model's tensors, into slots[0, n);
 * another optimizer's state into slots[n, *total), with its names escaped
 * into names (NAME_CAP bytes each) */
enum { NAME_CAP = 128 };
static bool match_entries(const char *path, const JParser *p, const MtlModelInfo *m, Slot *slots,
                          int n, int *total, char *names, uint64_t data_size, Diff *diff,
                          MtlCkptMeta *meta) {
  bool have_meta = false, ok = true;
  for (int c = p->nodes[0].child; ok && c >= 0; c = p->nodes[c].next) {
    const JNode *e = &p->nodes[c];
    if (!strcmp(e->key, "__metadata__")) {
      if (have_meta)
        mtl_set_error("%s: a second __metadata__", path), ok = false;
      else if (e->type != J_OBJ)
        mtl_set_error("%s: __metadata__ is not an object", path), ok = false;
      else
        ok = read_meta(path, p, e, meta);
      have_meta = true;
      continue;
    }
    Slot *s = NULL;
    for (int i = 0; i < n && !s; i++)
      if (!strcmp(slots[i].t->name, e->key))
        s = &slots[i];
    if (s && s->seen) {
      mtl_set_error("%s: tensor %s appears twice", path, s->name), ok = false;
    } else if (s) {
      s->seen = true, ok = check_entry(path, p, e, s, data_size);
    } else if (foreign_state(m, e->key)) {
      char *shown = names + (size_t)(*total - n) * NAME_CAP;
      mtl_printable(shown, NAME_CAP, e->key, strlen(e->key));
      s = &slots[(*total)++];
      *s = (Slot){.name = shown, .group = G_STATE, .seen = true};
      ok = foreign_entry(path, p, e, s, data_size);
    } else {
      net_diff(diff, "not in the model", e->key);
    }
  }
  return ok;
}

/* the tensors' data, in file order, into their slots (or skipped), each
 * value finite */
static bool read_data(MtlStream *s, Slot **order, int k) {
  float scratch[1024];
  for (int i = 0; i < k; i++) {
    const Slot *t = order[i];
    for (uint64_t left = t->t ? 0 : t->end - t->begin; left;) { /* another optimizer's state */
      size_t got;
      if (!mtl_stream_read(s, scratch, left < sizeof scratch ? (size_t)left : sizeof scratch, &got))
        return false;
      if (!got) {
        mtl_set_error("%s: truncated in tensor %s's data", s->path, t->name);
        return false;
      }
      left -= got;
    }
    int64_t n = t->t ? t->t->numel : 0;
    for (int64_t j = 0; j < n;) {
      size_t c = t->dst ? (size_t)(n - j) : (size_t)(n - j < 1024 ? n - j : 1024), got;
      float *dst = t->dst ? t->dst + j : scratch;
      if (!mtl_stream_read(s, dst, 4 * c, &got))
        return false;
      if (got < 4 * c) {
        mtl_set_error("%s: truncated in tensor %s's data", s->path, t->name);
        return false;
      }
      for (size_t q = 0; q < c; q++) {
        if (!mtl_little_endian()) {
          uint32_t x;
          memcpy(&x, dst + q, 4);
          x = bswap32(x);
          memcpy(dst + q, &x, 4);
        }
        if (!isfinite(dst[q])) {
          mtl_set_error("%s: tensor %s: value %" PRId64 " is %s, not a finite number", s->path,
                        t->name, j + (int64_t)q, mtl_nonfinite_name(dst[q]));
          return false;
        }
      }
      j += (int64_t)c;
    }
  }
  return true;
}

bool mtl_ckpt_read(MtlStream *s, const MtlModelInfo *m, float *params, float *state,
                   float *stats, MtlCkptMeta *meta) {
  const char *path = s->path;
  uint64_t hlen;
  char *text = read_header(s, m, &hlen);
  if (!text)
    return false;
  JParser p;
  bool ok = mtl_json_parse(&p, text, (size_t)hlen);
  if (!ok)
    mtl_set_error("%s: the header is not JSON: %s at byte %zu", path, p.err,
                  (size_t)(p.s - p.start) + 8);
  else if (p.nodes[0].type != J_OBJ)
    mtl_set_error("%s: the header is not a JSON object", path), ok = false;
  /* slots: every tensor of the model; a group is copied (and required)
   * only when its buffer is given (optimizer state is not, to evaluate) */
  Group g[NGROUPS];
  groups(m, g);
  float *base[NGROUPS] = {params, stats, state};
  int n = g[G_PARAMS].n + g[G_STATS].n + g[G_STATE].n, k = 0, entries = 0, total = n;
  for (int c = ok ? p.nodes[0].child : -1; c >= 0; c = p.nodes[c].next)
    entries++;
  Slot *slots = ok ? calloc((size_t)(n + entries) + 1, sizeof *slots) : NULL, **order = NULL;
  char *names = ok ? malloc((size_t)entries * NAME_CAP + 1) : NULL;
  if (ok && (!slots || !names))
    mtl_set_error("%s: out of memory", path), ok = false;
  for (int q = 0, i = 0; ok && q < NGROUPS; q++)
    for (int j = 0; j < g[q].n; j++, i++)
      slots[i] = (Slot){.t = &g[q].t[j], .name = g[q].t[j].name,
                        .dst = base[q] ? base[q] + g[q].t[j].offset : NULL, .group = q};
  uint64_t data_size = mtl_stream_left(s);
  Diff diff = {.text = "", .n = 0};
  ok = ok && match_entries(path, &p, m, slots, n, &total, names, data_size, &diff, meta);
  bool fresh = false; /* optimizer state missing or another's: the model's starts at zero */
  for (int i = 0; ok && i < n; i++)
    if (!slots[i].seen && slots[i].group == G_STATE)
      fresh = true;
    else if (!slots[i].seen)
      net_diff(&diff, "missing", slots[i].name);
  if (ok && diff.n) {
    mtl_set_error("%s: the network differs from model %s's: %s", path, m->name, diff.text);
    ok = false;
  }
  for (int i = 0; ok && fresh && i < n; i++)
    if (slots[i].group == G_STATE)
      slots[i].dst = NULL; /* its bytes are still checked, not copied */
  if (ok && fresh && state)
    memset(state, 0, (size_t)m->n_state * sizeof(float));
  if (meta)
    meta->state_fresh = fresh;
  ok = ok && (order = layout(path, slots, total, data_size, &k)) != NULL;
  bool end = false;
  ok = ok && read_data(s, order, k) && mtl_stream_at_end(s, &end);
  if (ok && !end)
    mtl_set_error("%s: more bytes after the data area", path), ok = false;
  free(order);
  free(slots);
  free(names);
  free(p.nodes);
  free(p.strs);
  free(text);
  return ok;
}

/* 16 hexadecimal digits, nothing else */
static bool parse_hash(const char *s, uint64_t *out) {
  uint64_t v = 0;
  int n = 0;
  for (; n < 16; n++, s++) {
    int d = hex_digit(*s);
    if (d < 0)
      return false;
    v = v << 4 | (uint64_t)d;
  }
  *out = v;
  return !*s;
}

/* __metadata__'s model and model_hash, if there: read from the header
 * alone (checked as mtl_ckpt_read checks it, its length capped by the
 * safetensors limit), without a model to check it against */
bool mtl_ckpt_identity(const char *path, char *model, size_t cap, uint64_t *hash, bool *found) {
  *found = false;
  if (cap)
    *model = 0;
  MtlStream s;
  if (!mtl_stream_open(&s, path, false))
    return false;
  uint64_t hlen;
  char *text = read_header(&s, NULL, &hlen);
  mtl_stream_close(&s);
  if (!text)
    return false;
  JParser p = {0};
  bool ok = mtl_json_parse(&p, text, (size_t)hlen);
  if (!ok)
    mtl_set_error("%s: not a safetensors checkpoint: its header is not JSON", path);
  for (int c = ok && p.nodes[0].type == J_OBJ ? p.nodes[0].child : -1; c >= 0;
       c = p.nodes[c].next) {
    const JNode *e = &p.nodes[c];
    if (strcmp(e->key, "__metadata__") || e->type != J_OBJ)
      continue;
    for (int k = e->child; k >= 0; k = p.nodes[k].next) {
      const JNode *x = &p.nodes[k];
      if (x->type == J_STR && !strcmp(x->key, "model_hash"))
        *found = parse_hash(x->str, hash);
      if (x->type == J_STR && !strcmp(x->key, "model") && cap)
        mtl_printable(model, cap, x->str, strlen(x->str));
    }
  }
  free(p.nodes);
  free(p.strs);
  free(text);
  return ok;
}

bool mtl_ckpt_load(const char *path, const MtlModelInfo *m, float *params, float *state,
                   float *stats, MtlCkptMeta *meta) {
  Group g[NGROUPS];
  groups(m, g);
  for (int k = 0; k < NGROUPS; k++)
    for (int i = 0; i < g[k].n; i++) {
      const MtlTensor *t = &g[k].t[i];
      if (t->offset < 0 || t->numel < 0 || t->offset + t->numel > g[k].size) {
        mtl_set_error("model %s: tensor %s lies outside its group (a bug in mtlc)", m->name,
                      t->name);
        return false;
      }
    }
  if (m->n_stat_tensors && !stats) {
    mtl_set_error("model %s: no buffer for its running statistics", m->name);
    return false;
  }
  MtlStream s;
  if (!mtl_stream_open(&s, path, false))
    return false;
  MtlCkptMeta got = {0};
  bool ok = mtl_ckpt_read(&s, m, params, state, stats, meta ? &got : NULL);
  mtl_stream_close(&s);
  if (ok && meta) {
    if (got.rng[0] | got.rng[1] | got.rng[2] | got.rng[3])
      *meta = got;
    else {
      mtl_set_error("%s: no __metadata__ with step, epoch and rng; it cannot resume training", path);
      ok = false;
    }
  }
  return ok;
}
