/* mtl_ckpt.c: checkpoints in the safetensors format: an 8-byte
 * little-endian header length N, N bytes of JSON (one entry per tensor:
 * dtype, shape, data_offsets into the data area; __metadata__ of strings
 * only), then the data area, little-endian F32. Parameters, running
 * statistics (batchnorm's), then optimizer state; step, epoch and the
 * shuffle RNG's state in __metadata__ with "format": "pt", so PyTorch's
 * loaders accept the file.
 *
 * Saving writes PATH.tmp, fsyncs it, renames it over PATH and fsyncs the
 * folder: a crash leaves the old checkpoint or the new one, never half of
 * one. Loading trusts nothing: every length, offset, dtype, shape and name
 * is checked against the model before a byte is copied, and a fault is an
 * error naming the file and the tensor. Optimizer state is the one thing a
 * file may lack or hold another optimizer's of (the spec changed its
 * optimizer): it is skipped, and the model's starts at zero; a network that
 * differs is an error listing the tensors missing and extra. The optimizer,
 * where its state started and the best epoch so far ride in __metadata__
 * too. Holds no state between calls. */
#include "mtl.h"
#include "mtl_json.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_HEADER (100u << 20) /* the safetensors library's limit */

static bool host_le(void) {
  uint16_t x = 1;
  uint8_t b;
  memcpy(&b, &x, 1);
  return b == 1;
}

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
static bool write_f32(FILE *f, const float *x, int64_t n) {
  if (host_le())
    return fwrite(x, 4, (size_t)n, f) == (size_t)n;
  uint32_t chunk[1024];
  for (int64_t i = 0; i < n; i += 1024) {
    size_t k = (size_t)(n - i < 1024 ? n - i : 1024);
    memcpy(chunk, x + i, 4 * k);
    for (size_t j = 0; j < k; j++)
      chunk[j] = bswap32(chunk[j]);
    if (fwrite(chunk, 4, k, f) != k)
      return false;
  }
  return true;
}

static bool write_tensors(FILE *f, const MtlTensor *t, int n, const float *base) {
  for (int i = 0; i < n; i++)
    if (!write_f32(f, base + t[i].offset, t[i].numel))
      return false;
  return true;
}

/* fsync the folder that holds path, so a rename in it is durable */
static bool sync_dir(const char *path) {
  const char *slash = strrchr(path, '/');
  char dir[4096];
  if (!slash)
    snprintf(dir, sizeof dir, ".");
  else if (slash == path)
    snprintf(dir, sizeof dir, "/");
  else
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd < 0)
    return false;
  bool ok = fsync(fd) == 0 || errno == EINVAL; /* some file systems cannot */
  close(fd);
  return ok;
}

bool mtl_ckpt_save(const char *path, const MtlModelInfo *m, const float *params,
                   const float *state, const float *stats, const MtlCkptMeta *meta) {
  if (!state && m->n_state_tensors) {
    mtl_set_error("%s: no optimizer state to save", path);
    return false;
  }
  Buf h = {0};
  if (!make_header(&h, m, meta)) {
    free(h.p);
    mtl_set_error("%s: out of memory for the checkpoint's header", path);
    return false;
  }
  size_t len = strlen(path) + 5;
  char *tmp = malloc(len);
  if (!tmp) {
    free(h.p);
    mtl_set_error("%s: out of memory", path);
    return false;
  }
  snprintf(tmp, len, "%s.tmp", path);
  FILE *f = fopen(tmp, "wb");
  bool ok = f != NULL;
  const char *step = "cannot create";
  if (ok) {
    uint8_t n8[8];
    for (int i = 0; i < 8; i++)
      n8[i] = (uint8_t)((uint64_t)h.n >> (8 * i));
    step = "cannot write";
    ok = fwrite(n8, 1, 8, f) == 8 && fwrite(h.p, 1, h.n, f) == h.n &&
         write_tensors(f, m->param_tensors, m->n_param_tensors, params) &&
         write_tensors(f, m->stat_tensors, m->n_stat_tensors, stats) &&
         write_tensors(f, m->state_tensors, m->n_state_tensors, state) && fflush(f) == 0;
    if (ok)
      step = "cannot sync", ok = fsync(fileno(f)) == 0;
    if (fclose(f) != 0 && ok)
      step = "cannot close", ok = false;
    if (ok)
      step = "cannot rename the temporary file over it", ok = rename(tmp, path) == 0;
    if (ok)
      step = "cannot sync its folder", ok = sync_dir(path);
  }
  if (!ok) {
    mtl_set_error("%s: %s: %s", f ? path : tmp, step, strerror(errno));
    remove(tmp);
  }
  free(tmp);
  free(h.p);
  return ok;
}

/* ---- reading -------------------------------------------------------------------- */

typedef struct {
  const MtlTensor *t; /* the model's */
  float *dst;         /* NULL: checked, not copied */
  uint64_t begin, end;
  bool seen;
} Slot;


/* One tensor entry of the header against the model's tensor. */
static bool check_entry(const char *path, const JParser *p, const JNode *e, Slot *s,
                        uint64_t data_size) {
  const char *name = s->t->name;
  if (e->type != J_OBJ) {
    mtl_set_error("%s: tensor %s: its entry is not a JSON object", path, name);
    return false;
  }
  const JNode *dtype = NULL, *shape = NULL, *offs = NULL;
  for (int c = e->child; c >= 0; c = p->nodes[c].next) {
    const JNode *x = &p->nodes[c];
    if (!strcmp(x->key, "dtype"))
      dtype = x;
    else if (!strcmp(x->key, "shape"))
      shape = x;
    else if (!strcmp(x->key, "data_offsets"))
      offs = x;
    else {
      mtl_set_error("%s: tensor %s: unknown field '%s'", path, name, x->key);
      return false;
    }
  }
  if (!dtype || !shape || !offs || dtype->type != J_STR || shape->type != J_ARR ||
      offs->type != J_ARR) {
    mtl_set_error("%s: tensor %s: want a string dtype, a shape array and a data_offsets "
                  "array", path, name);
    return false;
  }
  if (strcmp(dtype->str, "F32")) {
    mtl_set_error("%s: tensor %s: dtype %s, want F32", path, name, dtype->str);
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

/* no two tensors share a byte */
static bool check_overlap(const char *path, Slot *slots, int n) {
  Slot **order = malloc((size_t)(n ? n : 1) * sizeof *order);
  if (!order) {
    mtl_set_error("%s: out of memory", path);
    return false;
  }
  int k = 0;
  for (int i = 0; i < n; i++)
    if (slots[i].seen && slots[i].end > slots[i].begin)
      order[k++] = &slots[i];
  qsort(order, (size_t)k, sizeof *order, by_begin);
  for (int i = 1; i < k; i++)
    if (order[i]->begin < order[i - 1]->end) {
      mtl_set_error("%s: tensors %s and %s overlap in the data area", path,
                    order[i - 1]->t->name, order[i]->t->name);
      free(order);
      return false;
    }
  free(order);
  return true;
}

static bool parse_u64(const char *s, int base, uint64_t *out, const char **rest) {
  char *end;
  if (!*s || *s == '-' || *s == '+' || *s == ' ')
    return false;
  errno = 0;
  *out = strtoull(s, &end, base);
  if (errno || end == s)
    return false;
  if (rest)
    *rest = end;
  return rest || !*end;
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
    uint64_t v = 0;
    int64_t *dst = !strcmp(x->key, "opt_start")    ? &meta->opt_start
                   : !strcmp(x->key, "best_epoch") ? &meta->best_epoch
                   : !strcmp(x->key, "since_best") ? &meta->since_best : NULL;
    if (dst && (!parse_u64(x->str, 10, &v, NULL) || v > INT64_MAX)) {
      mtl_set_error("%s: __metadata__: %s '%s' is not a count", path, x->key, x->str);
      return false;
    }
    if (dst)
      *dst = (int64_t)v;
    else if (!strcmp(x->key, "best"))
      meta->best = strtod(x->str, NULL);
    else if (!strcmp(x->key, "optimizer"))
      snprintf(meta->optimizer, sizeof meta->optimizer, "%s", x->str);
  }
  return true;
}

static bool read_meta(const char *path, const JParser *p, const JNode *md, MtlCkptMeta *meta) {
  const char *step = NULL, *epoch = NULL, *rng = NULL;
  for (int c = md->child; c >= 0; c = p->nodes[c].next) {
    const JNode *x = &p->nodes[c];
    if (x->type != J_STR) {
      mtl_set_error("%s: __metadata__ value '%s' is not a string", path, x->key);
      return false;
    }
    if (!strcmp(x->key, "step"))
      step = x->str;
    else if (!strcmp(x->key, "epoch"))
      epoch = x->str;
    else if (!strcmp(x->key, "rng"))
      rng = x->str;
  }
  if (!meta)
    return true;
  if (!read_training_meta(path, p, md, meta))
    return false;
  uint64_t st, ep;
  if (!step || !epoch || !rng) {
    mtl_set_error("%s: __metadata__ lacks %s; it cannot resume training", path,
                  !step ? "step" : !epoch ? "epoch" : "rng");
    return false;
  }
  if (!parse_u64(step, 10, &st, NULL) || !parse_u64(epoch, 10, &ep, NULL) ||
      st > INT64_MAX || ep > INT64_MAX) {
    mtl_set_error("%s: __metadata__: step '%s' or epoch '%s' is not a count", path, step, epoch);
    return false;
  }
  const char *s = rng;
  bool ok = true, zero = true;
  for (int i = 0; ok && i < 4; i++) {
    ok = parse_u64(s, 16, &meta->rng[i], &s) && (*s == (i < 3 ? ',' : 0));
    s += i < 3;
    zero &= meta->rng[i] == 0;
  }
  if (!ok || zero) {
    mtl_set_error("%s: __metadata__: rng '%s' is not four hexadecimal words, not all zero",
                  path, rng);
    return false;
  }
  meta->step = (int64_t)st, meta->epoch = (int64_t)ep;
  return true;
}

static bool read_whole(const char *path, uint8_t **out, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    mtl_set_error("%s: cannot open: %s", path, strerror(errno));
    return false;
  }
  size_t cap = 1 << 16, len = 0, k;
  uint8_t *p = malloc(cap);
  while (p && (k = fread(p + len, 1, cap - len, f)) > 0) {
    len += k;
    if (len == cap) {
      uint8_t *q = realloc(p, cap * 2);
      if (!q)
        free(p);
      p = q, cap *= 2;
    }
  }
  bool err = ferror(f);
  fclose(f);
  if (!p || err) {
    mtl_set_error("%s: cannot read: %s", path, p ? strerror(errno) : "out of memory");
    free(p);
    return false;
  }
  *out = p, *n = len;
  return true;
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
  if (d->n < 12)
    snprintf(d->text + k, sizeof d->text - k, "%stensor %s is %s", d->n ? "; " : "", name, what);
  else if (d->n == 12)
    snprintf(d->text + k, sizeof d->text - k, "; and more");
  d->n++;
}

/* Matches the header's entries with the model's tensors, then copies. */
static bool load_from(const char *path, const uint8_t *file, size_t size, const MtlModelInfo *m,
                      float *params, float *state, float *stats, MtlCkptMeta *meta) {
  if (size < 8) {
    mtl_set_error("%s: truncated: %zu bytes, less than the 8-byte header length", path, size);
    return false;
  }
  uint64_t hlen = 0;
  for (int i = 0; i < 8; i++)
    hlen |= (uint64_t)file[i] << (8 * i);
  if (hlen > MAX_HEADER || hlen > size - 8) {
    mtl_set_error("%s: bad header length %" PRIu64 ": the file has %zu bytes after it%s", path,
                  hlen, size - 8, hlen > MAX_HEADER ? "" : " (truncated?)");
    return false;
  }
  JParser p;
  bool ok = mtl_json_parse(&p, (const char *)file + 8, (size_t)hlen);
  if (!ok)
    mtl_set_error("%s: the header is not JSON: %s at byte %zu", path, p.err,
                  (size_t)(p.s - p.start) + 8);
  else if (p.nodes[0].type != J_OBJ)
    mtl_set_error("%s: the header is not a JSON object", path), ok = false;
  /* slots: every tensor of the model; optimizer state is copied (and
   * required) only when state is given */
  Group g[NGROUPS];
  groups(m, g);
  float *base[NGROUPS] = {params, stats, state};
  int nt = g[G_PARAMS].n + g[G_STATS].n + g[G_STATE].n;
  Slot *slots = ok ? calloc((size_t)nt + 1, sizeof *slots) : NULL;
  if (ok && !slots)
    mtl_set_error("%s: out of memory", path), ok = false;
  int *group_of = ok ? calloc((size_t)nt + 1, sizeof *group_of) : NULL;
  for (int k = 0, i = 0; ok && k < NGROUPS; k++)
    for (int j = 0; j < g[k].n; j++, i++) {
      slots[i].t = &g[k].t[j];
      slots[i].dst = base[k] ? base[k] + g[k].t[j].offset : NULL;
      group_of[i] = k;
    }
  uint64_t data_size = size - 8 - hlen;
  const uint8_t *data = file + 8 + hlen;
  Diff diff = {.text = "", .n = 0};
  for (int c = ok ? p.nodes[0].child : -1; ok && c >= 0; c = p.nodes[c].next) {
    const JNode *e = &p.nodes[c];
    if (!strcmp(e->key, "__metadata__")) {
      ok = e->type == J_OBJ ? read_meta(path, &p, e, meta)
                            : (mtl_set_error("%s: __metadata__ is not an object", path), false);
      continue;
    }
    Slot *s = NULL;
    for (int i = 0; i < nt && !s; i++)
      if (!strcmp(slots[i].t->name, e->key))
        s = &slots[i];
    if (!s && !foreign_state(m, e->key))
      net_diff(&diff, "not in the model", e->key);
    else if (s && s->seen)
      mtl_set_error("%s: tensor %s appears twice", path, e->key), ok = false;
    else if (s)
      s->seen = true, ok = check_entry(path, &p, e, s, data_size);
  }
  bool fresh = false;
  for (int i = 0; ok && i < nt; i++)
    if (!slots[i].seen && group_of[i] == G_STATE)
      fresh = true;
    else if (!slots[i].seen)
      net_diff(&diff, "missing", slots[i].t->name);
  if (ok && diff.n) {
    mtl_set_error("%s: the network differs from model %s's: %s", path, m->name, diff.text);
    ok = false;
  }
  for (int i = 0; ok && fresh && i < nt; i++)
    if (group_of[i] == G_STATE)
      slots[i].seen = false; /* another optimizer's state or none: start at zero */
  if (ok && fresh && state)
    memset(state, 0, (size_t)m->n_state * sizeof(float));
  if (meta)
    meta->state_fresh = fresh;
  ok = ok && check_overlap(path, slots, nt);
  for (int i = 0; ok && i < nt; i++) {
    float *dst = slots[i].dst;
    if (!dst || !slots[i].seen)
      continue;
    memcpy(dst, data + slots[i].begin, (size_t)(slots[i].end - slots[i].begin));
    if (!host_le())
      for (int64_t j = 0; j < slots[i].t->numel; j++) {
        uint32_t x;
        memcpy(&x, dst + j, 4);
        x = bswap32(x);
        memcpy(dst + j, &x, 4);
      }
  }
  free(slots);
  free(group_of);
  free(p.nodes);
  free(p.strs);
  return ok;
}

/* __metadata__'s model and model_hash, if there: read from the header
 * alone, without a model to check it against */
bool mtl_ckpt_identity(const char *path, char *model, size_t cap, uint64_t *hash, bool *found) {
  *found = false;
  if (cap)
    *model = 0;
  uint8_t *file;
  size_t size;
  if (!read_whole(path, &file, &size))
    return false;
  uint64_t hlen = 0;
  for (int i = 0; i < 8 && size >= 8; i++)
    hlen |= (uint64_t)file[i] << (8 * i);
  JParser p = {0};
  bool ok = size >= 8 && hlen <= MAX_HEADER && hlen <= size - 8 &&
            mtl_json_parse(&p, (const char *)file + 8, (size_t)hlen);
  if (!ok) {
    mtl_set_error("%s: not a safetensors checkpoint: %s", path,
                  size < 8 ? "shorter than its 8-byte header length"
                  : hlen > size - 8 ? "its header length is past the end (truncated?)"
                                    : "its header is not JSON");
    free(p.nodes);
    free(p.strs);
    free(file);
    return false;
  }
  for (int c = p.nodes[0].type == J_OBJ ? p.nodes[0].child : -1; c >= 0; c = p.nodes[c].next) {
    const JNode *e = &p.nodes[c];
    if (strcmp(e->key, "__metadata__") || e->type != J_OBJ)
      continue;
    for (int k = e->child; k >= 0; k = p.nodes[k].next) {
      const JNode *x = &p.nodes[k];
      if (x->type == J_STR && !strcmp(x->key, "model_hash"))
        *found = parse_u64(x->str, 16, hash, NULL);
      if (x->type == J_STR && !strcmp(x->key, "model") && cap)
        snprintf(model, cap, "%s", x->str);
    }
  }
  free(p.nodes);
  free(p.strs);
  free(file);
  return true;
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
  uint8_t *file;
  size_t size;
  if (!read_whole(path, &file, &size))
    return false;
  MtlCkptMeta got = {0};
  bool ok = load_from(path, file, size, m, params, state, stats, meta ? &got : NULL);
  free(file);
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
