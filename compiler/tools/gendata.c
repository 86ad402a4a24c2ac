/* tools/gendata.c: `mtlc gen-data`, the data sets the balancing benchmark
 * (bench/mtl.sh) trains on, made deterministically from a seed:
 *
 *   multifashion  MultiFashion by the recipe of Lin et al. 2019 (Pareto
 *                 MTL): each sample is two Fashion-MNIST items of different
 *                 classes on a 36x36 canvas, one near the top-left corner
 *                 and one near the bottom-right, each shifted by up to 4
 *                 pixels; tasks "left item" and "right item". Written as
 *                 gzip'ed IDX files (images [N, 36, 36] ubyte, labels [N]).
 *
 *   scales        unbalanced scales: 16 features, a 4-class task and a
 *                 regression task whose mean squared error is about 1,000
 *                 times the classification's cross-entropy at the start
 *                 (targets of variance near 1,400), where equal weights
 *                 starve the classification. CSV: x0..x15, cls, reg.
 *
 * It reads Fashion-MNIST through the runtime's loader and writes each file
 * to a temporary name, then renames it: no half-written data set. It knows
 * nothing of specs; bench/mtl/ holds the specs that read its files. */
#include "tools/tools.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define SIDE 28   /* a Fashion-MNIST item */
#define CANVAS 36 /* the MultiFashion image */
#define SHIFT 4   /* each item moves by 0..SHIFT pixels, in each direction */

static const char gen_usage[] =
    "usage: mtlc gen-data multifashion -o DIR [--seed N] [--fashion DIR] [--limit N]\n"
    "       mtlc gen-data scales -o DIR [--seed N]\n"
    "  multifashion: two Fashion-MNIST items of different classes on a 36x36\n"
    "    canvas (Lin et al. 2019): DIR/{train,t10k}-images-idx3-ubyte.gz and\n"
    "    DIR/{train,t10k}-{left,right}-labels-idx1-ubyte.gz. --fashion: the\n"
    "    folder of Fashion-MNIST's IDX files (default\n"
    "    /usr/share/datasets/fashion-mnist); --seed default 1; --limit N: the\n"
    "    first N samples of each split\n"
    "  scales: DIR/train.csv (8000 rows) and DIR/test.csv (2000): 16 features,\n"
    "    a 4-class label and a real target about 1,000 times larger in loss\n";

static bool gen_fail(const char *msg) {
  fprintf(stderr, "mtlc: gen-data: %s\n", msg);
  return false;
}

/* ---- writing IDX ------------------------------------------------------------------ */

static void be32(uint8_t *p, uint32_t x) {
  p[0] = (uint8_t)(x >> 24), p[1] = (uint8_t)(x >> 16), p[2] = (uint8_t)(x >> 8), p[3] = (uint8_t)x;
}

/* An IDX ubyte file of dims[0..ndim), gzip'ed, written whole or not at all. */
static bool write_idx(const char *path, const uint8_t *data, const uint32_t *dims, int ndim) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  gzFile f = gzopen(tmp, "wb6");
  if (!f) {
    fprintf(stderr, "mtlc: gen-data: cannot create '%s': %s\n", tmp, strerror(errno));
    return false;
  }
  uint8_t head[4 + 4 * 4] = {0, 0, 0x08, (uint8_t)ndim};
  size_t n = 1;
  for (int i = 0; i < ndim; i++)
    be32(head + 4 + 4 * i, dims[i]), n *= dims[i];
  bool ok = gzwrite(f, head, (unsigned)(4 + 4 * ndim)) == 4 + 4 * ndim;
  for (size_t at = 0; ok && at < n; at += 1u << 20) {
    unsigned chunk = (unsigned)(n - at < (1u << 20) ? n - at : (1u << 20));
    ok = gzwrite(f, data + at, chunk) == (int)chunk;
  }
  ok &= gzclose(f) == Z_OK;
  if (!ok || rename(tmp, path) != 0) {
    fprintf(stderr, "mtlc: gen-data: cannot write '%s'\n", path);
    remove(tmp);
    return false;
  }
  return true;
}

/* ---- MultiFashion ------------------------------------------------------------------- */

/* item (28x28 bytes) onto the canvas at (y, x), keeping the brighter pixel */
static void paste(uint8_t *canvas, const uint8_t *item, int y, int x) {
  for (int i = 0; i < SIDE; i++)
    for (int j = 0; j < SIDE; j++) {
      uint8_t *c = &canvas[(y + i) * CANVAS + x + j];
      if (item[i * SIDE + j] > *c)
        *c = item[i * SIDE + j];
    }
}

/* One split: sample i has source item i on the left and a random item of
 * another class on the right; each item's shift is drawn per sample. */
static bool multifashion_split(const char *fashion, const char *src, const char *out,
                               uint64_t seed, int64_t limit) {
  char img[4096], lbl[4096];
  snprintf(img, sizeof img, "%s/%s-images-idx3-ubyte.gz", fashion, src);
  snprintf(lbl, sizeof lbl, "%s/%s-labels-idx1-ubyte.gz", fashion, src);
  MtlArray x, y;
  if (!mtl_load(&x, img, MTL_F32, SIDE * SIDE, -1, NULL, 0))
    return gen_fail(mtl_error());
  if (!mtl_load(&y, lbl, MTL_I32, 1, -1, NULL, 0) || !mtl_check_labels(&y, 10, lbl)) {
    mtl_array_free(&x);
    return gen_fail(mtl_error());
  }
  bool ok = x.n == y.n;
  if (!ok)
    fprintf(stderr, "mtlc: gen-data: %s has %lld images and %s %lld labels\n", img,
            (long long)x.n, lbl, (long long)y.n);
  int64_t n = limit > 0 && limit < x.n ? limit : x.n;
  uint8_t *items = xcalloc((size_t)(x.n * SIDE * SIDE), 1);
  uint8_t *canvas = xcalloc((size_t)(n * CANVAS * CANVAS), 1);
  uint8_t *left = xcalloc((size_t)n, 1), *right = xcalloc((size_t)n, 1);
  const float *px = x.data;
  const int32_t *cls = y.data;
  for (int64_t i = 0; i < x.n * SIDE * SIDE; i++)
    items[i] = (uint8_t)lrintf(px[i] * 255.0f); /* the file's bytes again */
  MtlRng r;
  mtl_rng_seed(&r, seed ^ (uint64_t)x.n); /* the splits draw apart */
  for (int64_t i = 0; ok && i < n; i++) {
    int64_t j;
    do
      j = (int64_t)mtl_rng_below(&r, (uint64_t)x.n);
    while (cls[j] == cls[i]);
    int ly = (int)mtl_rng_below(&r, SHIFT + 1), lx = (int)mtl_rng_below(&r, SHIFT + 1);
    int ry = (int)mtl_rng_below(&r, SHIFT + 1), rx = (int)mtl_rng_below(&r, SHIFT + 1);
    uint8_t *c = canvas + i * CANVAS * CANVAS;
    paste(c, items + i * SIDE * SIDE, ly, lx);
    paste(c, items + j * SIDE * SIDE, CANVAS - SIDE - ry, CANVAS - SIDE - rx);
    left[i] = (uint8_t)cls[i], right[i] = (uint8_t)cls[j];
  }
  char path[4096];
  uint32_t idims[3] = {(uint32_t)n, CANVAS, CANVAS}, ldims[1] = {(uint32_t)n};
  if (ok)
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte.gz", out, src),
        ok = write_idx(path, canvas, idims, 3);
  if (ok)
    snprintf(path, sizeof path, "%s/%s-left-labels-idx1-ubyte.gz", out, src),
        ok = write_idx(path, left, ldims, 1);
  if (ok)
    snprintf(path, sizeof path, "%s/%s-right-labels-idx1-ubyte.gz", out, src),
        ok = write_idx(path, right, ldims, 1);
  free(items), free(canvas), free(left), free(right);
  mtl_array_free(&x);
  mtl_array_free(&y);
  return ok;
}

/* ---- unbalanced scales ------------------------------------------------------------------ */

#define NF 16 /* features */

/* One CSV: x ~ N(0, 1)^16; cls the argmax of four fixed random directions'
 * projections plus noise; reg = 35 v.x + 10 sin(3 u.x) + N(0, 3^2), v and u
 * fixed unit directions: a variance near 1,400 against a cross-entropy near
 * log 4 at the start. */
static bool scales_file(const char *path, int64_t n, MtlRng *r, const double *dirs) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f) {
    fprintf(stderr, "mtlc: gen-data: cannot create '%s': %s\n", tmp, strerror(errno));
    return false;
  }
  for (int k = 0; k < NF; k++)
    fprintf(f, "x%d,", k);
  fprintf(f, "cls,reg\n");
  for (int64_t i = 0; i < n; i++) {
    double x[NF], p[6] = {0};
    for (int k = 0; k < NF; k++)
      x[k] = mtl_rng_normal(r);
    for (int d = 0; d < 6; d++)
      for (int k = 0; k < NF; k++)
        p[d] += dirs[d * NF + k] * x[k];
    int cls = 0;
    double best = -INFINITY;
    for (int d = 0; d < 4; d++) {
      double s = p[d] + 0.3 * mtl_rng_normal(r);
      if (s > best)
        best = s, cls = d;
    }
    double reg = 35 * p[4] + 10 * sin(3 * p[5]) + 3 * mtl_rng_normal(r);
    for (int k = 0; k < NF; k++)
      fprintf(f, "%.6f,", x[k]);
    fprintf(f, "%d,%.6f\n", cls, reg);
  }
  bool ok = !ferror(f);
  ok &= fclose(f) == 0;
  if (!ok || rename(tmp, path) != 0) {
    fprintf(stderr, "mtlc: gen-data: cannot write '%s'\n", path);
    remove(tmp);
    return false;
  }
  return true;
}

static bool scales(const char *out, uint64_t seed) {
  MtlRng r;
  mtl_rng_seed(&r, seed);
  double dirs[6 * NF];
  for (int d = 0; d < 6; d++) { /* unit directions */
    double s = 0;
    for (int k = 0; k < NF; k++) {
      dirs[d * NF + k] = mtl_rng_normal(&r);
      s += dirs[d * NF + k] * dirs[d * NF + k];
    }
    for (int k = 0; k < NF; k++)
      dirs[d * NF + k] /= sqrt(s);
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/train.csv", out);
  if (!scales_file(path, 8000, &r, dirs))
    return false;
  snprintf(path, sizeof path, "%s/test.csv", out);
  return scales_file(path, 2000, &r, dirs);
}

/* ---- the command ------------------------------------------------------------------------ */

static bool count_arg(const char *opt, const char *v, int64_t *out) {
  char *end;
  errno = 0;
  long long x = v ? strtoll(v, &end, 10) : -1;
  if (!v || !*v || *end || errno || x < 0) {
    fprintf(stderr, "mtlc: gen-data: %s needs a whole number >= 0%s%s%s\n", opt,
            v ? ", not '" : "", v ? v : "", v ? "'" : "");
    return false;
  }
  *out = x;
  return true;
}

int gen_data(int argc, char **argv) {
  const char *what = NULL, *out = NULL, *fashion = "/usr/share/datasets/fashion-mnist";
  int64_t seed = 1, limit = 0;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(gen_usage, stdout);
      return 0;
    }
    bool ok = true;
    if (!strcmp(a, "-o") && v) out = v, i++;
    else if (!strcmp(a, "--fashion") && v) fashion = v, i++;
    else if (!strcmp(a, "--seed")) ok = count_arg(a, v, &seed), i++;
    else if (!strcmp(a, "--limit")) ok = count_arg(a, v, &limit), i++;
    else if (a[0] != '-' && !what) what = a;
    else {
      fprintf(stderr, "mtlc: gen-data: unexpected '%s'\n%s", a, gen_usage);
      return 1;
    }
    if (!ok)
      return 1;
  }
  if (!what || !out) {
    fprintf(stderr, "mtlc: gen-data needs a data set and -o DIR\n%s", gen_usage);
    return 1;
  }
  if (strcmp(what, "multifashion") && strcmp(what, "scales")) {
    fprintf(stderr, "mtlc: gen-data: unknown data set '%s' (data sets: multifashion, scales)\n",
            what);
    return 1;
  }
  if (!emitc_mkdir(out))
    return 1;
  if (!strcmp(what, "scales")) {
    bool ok = scales(out, (uint64_t)seed);
    if (ok)
      printf("mtlc: unbalanced scales (seed %lld) in %s\n", (long long)seed, out);
    return ok ? 0 : 1;
  }
  bool ok = multifashion_split(fashion, "train", out, (uint64_t)seed, limit) &&
            multifashion_split(fashion, "t10k", out, (uint64_t)seed, limit);
  if (ok)
    printf("mtlc: MultiFashion (seed %lld) in %s\n", (long long)seed, out);
  return ok ? 0 : 1;
}
