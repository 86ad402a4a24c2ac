/* test_runtime.c: unit tests of the runtime's trainer layer, against a
 * small model written here by hand: four linear heads on one input x
 * f32[2, 2] (cls: class(3); coarse: class(2) derived from cls by lookup;
 * pos: binary; reg: real[2]), with input dropout drawn from the step's seed
 * and Adam, so a resumed run depends on the step, the optimizer state and
 * the shuffle RNG all being restored.
 *
 * Covers: IDX (gzip'ed and plain, ubyte scaled, i32, f32), .npy of every
 * dtype read, CSV with and without a header, normalize, each load error
 * (missing file, wrong magic, truncated, sample counts that differ, labels
 * out of range, wrong shapes), the safetensors checkpoint (its layout, a
 * round trip, every corruption the loader must refuse), resume bit for bit,
 * the schedules, and the metrics mtl_eval prints. Test files are written
 * into a fresh temporary folder. Prints [PASS]/[FAIL] per check.
 *
 * `test_runtime --write-ckpt PATH` writes the checkpoint that
 * tests/ckpt_torch_check.py reads with PyTorch. */
#include "mtl.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static int failures;
static char dir[64];

#define CHECK(name, cond) check(name, cond, #cond, NULL, __LINE__)
/* a call that must fail with an error that names sub1 and sub2 */
#define CHECK_ERR(name, call, sub1, sub2)                                      \
  do {                                                                         \
    bool failed_ = !(call);                                                    \
    const char *e_ = mtl_error();                                              \
    check(name, failed_ && strstr(e_, sub1) && strstr(e_, sub2),               \
          "fails naming " #sub1 " and " #sub2, failed_ ? e_ : "(it succeeded)", \
          __LINE__);                                                           \
  } while (0)

static void check(const char *name, bool ok, const char *what, const char *detail, int line) {
  if (ok) {
    printf("[PASS] unit/runtime/%s\n", name);
    return;
  }
  printf("[FAIL] unit/runtime/%s: %s (%s:%d)\n", name, what, __FILE__, line);
  if (detail)
    printf("    %s\n", detail);
  failures++;
}

static const char *path_of(const char *name) {
  static char bufs[8][256];
  static int k;
  char *p = bufs[k++ % 8];
  snprintf(p, 256, "%s/%s", dir, name);
  return p;
}

/* ---- the model ------------------------------------------------------------------ */

enum { D = 4, NPAR = 40, NTASK = 4, N_TRAIN = 50, N_TEST = 30 };

static const MtlTensor ptens[] = {
    {"cls.weight", 0, 12, 2, {3, 4}, MTL_INIT_UNIFORM, 0.5},    {"cls.bias", 12, 3, 1, {3}, MTL_INIT_UNIFORM, 0.5},
    {"coarse.weight", 15, 8, 2, {2, 4}, MTL_INIT_UNIFORM, 0.5}, {"coarse.bias", 23, 2, 1, {2}, MTL_INIT_UNIFORM, 0.5},
    {"pos.weight", 25, 4, 2, {1, 4}, MTL_INIT_UNIFORM, 0.5},    {"pos.bias", 29, 1, 1, {1}, MTL_INIT_UNIFORM, 0.5},
    {"reg.weight", 30, 8, 2, {2, 4}, MTL_INIT_UNIFORM, 0.5},    {"reg.bias", 38, 2, 1, {2}, MTL_INIT_UNIFORM, 0.5},
};
enum { NPT = sizeof ptens / sizeof *ptens };
static MtlTensor stens[2 * NPT]; /* NAME.m, NAME.v in turn, offsets in order */
static char stnames[2 * NPT][48];

static const MtlInputInfo inputs[] = {{"x", MTL_F32, 2, {2, 2}, 4, 2, 1, -1, 0}};
static const MtlLabelInfo labels[] = {
    {"cls", MTL_LABEL_CLASS, 3}, {"pos", MTL_LABEL_BINARY, 1}, {"reg", MTL_LABEL_REAL, 2}};
static const int32_t coarse_of[] = {0, 1, 1};
static const MtlTaskInfo tasks[] = {
    {"cls", MTL_LABEL_CLASS, 3, MTL_METRIC_ACCURACY, 1.0, 0, -1, NULL, 0},
    {"coarse", MTL_LABEL_CLASS, 2, MTL_METRIC_ACCURACY, 0.5, -1, 0, coarse_of, 3},
    {"pos", MTL_LABEL_BINARY, 1, MTL_METRIC_ACCURACY, 1.0, 1, -1, NULL, 0},
    {"reg", MTL_LABEL_REAL, 2, MTL_METRIC_MSE | MTL_METRIC_MAE, 1.0, 2, -1, NULL, 0},
};
static const int head_rows[NTASK] = {3, 2, 1, 2}; /* param tensor 2t, 2t+1 */

static void lin_init(float *params, float *stats, uint64_t seed) {
  (void)stats;
  MtlRng r;
  mtl_rng_seed(&r, seed);
  mtl_init_uniform(params, NPAR, 0.5, &r);
}

/* the four heads' outputs z for one sample x */
static void heads(const float *p, const float *x, float *z[NTASK]) {
  for (int t = 0; t < NTASK; t++) {
    const float *W = p + ptens[2 * t].offset, *b = p + ptens[2 * t + 1].offset;
    for (int r = 0; r < head_rows[t]; r++) {
      float s = b[r];
      for (int j = 0; j < D; j++)
        s += W[r * D + j] * x[j];
      z[t][r] = s;
    }
  }
}

/* per-task losses of one sample and, when dz, their gradients by z */
static void sample_loss(const void *const *data, int64_t i, float *z[NTASK], double *loss,
                        float *dz[NTASK]) {
  int32_t yc = ((const int32_t *)data[1])[i], yp = ((const int32_t *)data[2])[i];
  const float *yr = (const float *)data[3] + 2 * i;
  int32_t y[2] = {yc, coarse_of[yc]};
  for (int t = 0; t < 2; t++) { /* cross entropy */
    int n = head_rows[t];
    float mx = z[t][0], s = 0;
    for (int r = 1; r < n; r++)
      mx = fmaxf(mx, z[t][r]);
    for (int r = 0; r < n; r++)
      s += expf(z[t][r] - mx);
    loss[t] += logf(s) + mx - z[t][y[t]];
    for (int r = 0; dz && r < n; r++)
      dz[t][r] = expf(z[t][r] - mx) / s - (r == y[t]);
  }
  float a = z[2][0]; /* binary cross entropy on the logit */
  loss[2] += fmaxf(a, 0) - a * (float)yp + log1pf(expf(-fabsf(a)));
  if (dz)
    dz[2][0] = 1 / (1 + expf(-a)) - (float)yp;
  for (int r = 0; r < 2; r++) { /* mean squared error */
    float d = z[3][r] - yr[r];
    loss[3] += d * d / 2;
    if (dz)
      dz[3][r] = d;
  }
}

static void lin_train_step(float *params, float *grads, float *state, float *stats, float *act,
                           const void *const *data, int64_t B, const float *hyper,
                           uint64_t step_seed, float *losses) {
  (void)stats; /* no running statistics */
  const float *X = data[0];
  float zb[8], dzb[8], *z[NTASK] = {zb, zb + 3, zb + 5, zb + 6},
                      *dz[NTASK] = {dzb, dzb + 3, dzb + 5, dzb + 6};
  double loss[NTASK] = {0};
  for (int64_t i = 0; i < B; i++) {
    float x[D], mask[D];
    mtl_dropout_mask(mask, D, 0.25f, step_seed, (uint64_t)i);
    for (int j = 0; j < D; j++)
      x[j] = X[i * D + j] * mask[j];
    heads(params, x, z);
    sample_loss(data, i, z, loss, dz);
    for (int t = 0; t < NTASK; t++) {
      float *dW = grads + ptens[2 * t].offset, *db = grads + ptens[2 * t + 1].offset;
      for (int r = 0; r < head_rows[t]; r++) {
        float g = dz[t][r] * (float)tasks[t].weight / (float)B;
        db[r] += g;
        for (int j = 0; j < D; j++)
          dW[r * D + j] += g * x[j];
      }
    }
  }
  act[0] = (float)B; /* scratch: written, never read */
  for (int t = 0; t < NTASK; t++)
    losses[t] = (float)(loss[t] / (double)B);
  for (int k = 0; k < NPT; k++) { /* Adam */
    float *m = state + stens[2 * k].offset, *v = state + stens[2 * k + 1].offset;
    for (int64_t j = 0; j < ptens[k].numel; j++) {
      float *p = params + ptens[k].offset + j, g = grads[ptens[k].offset + j];
      m[j] = 0.9f * m[j] + 0.1f * g;
      v[j] = 0.999f * v[j] + 0.001f * g * g;
      *p -= hyper[0] * (m[j] / hyper[1]) / (sqrtf(v[j] / hyper[2]) + 1e-8f);
    }
  }
}

static void lin_eval_step(const float *params, const float *stats, float *act,
                          const void *const *data, int64_t B,
                          float *losses, float *const *outputs) {
  (void)stats;
  double loss[NTASK] = {0};
  for (int64_t i = 0; i < B; i++) {
    float *z[NTASK];
    for (int t = 0; t < NTASK; t++)
      z[t] = outputs[t] + i * head_rows[t];
    heads(params, (const float *)data[0] + i * D, z);
    sample_loss(data, i, z, loss, NULL);
  }
  act[0] = 0;
  for (int t = 0; t < NTASK; t++)
    losses[t] = (float)(loss[t] / (double)B);
}

static MtlBinding bindings[8];
static const int64_t test_x_cols[] = {1, 2, 3, 4};

static MtlModelInfo model = {
    .abi = MTL_MODEL_ABI, .name = "lin", .spec = "lin.mtl", .mtlc_version = "test",
    .batch_max = 16, .n_params = NPAR, .n_state = 2 * NPAR, .n_act = 1,
    .n_param_tensors = NPT, .param_tensors = ptens,
    .n_state_tensors = 2 * NPT, .state_tensors = stens,
    .n_inputs = 1, .inputs = inputs, .n_labels = 3, .labels = labels,
    .n_tasks = NTASK, .tasks = tasks, .n_bindings = 8, .bindings = bindings,
    .optimizer = MTL_OPT_ADAM, .lr = 0.05, .beta1 = 0.9, .beta2 = 0.999,
    .schedule = MTL_SCHED_COSINE, .batch = 8, .epochs = 3, .seed = 7,
    .init = lin_init, .train_step = lin_train_step, .eval_step = lin_eval_step,
};

static void model_setup(void) {
  int64_t off = 0;
  for (int k = 0; k < 2 * NPT; k++) {
    const MtlTensor *p = &ptens[k / 2];
    snprintf(stnames[k], sizeof stnames[k], "%s.%s", p->name, k % 2 ? "v" : "m");
    stens[k] = *p;
    stens[k].name = stnames[k];
    stens[k].offset = off;
    off += p->numel;
  }
}

/* ---- writing test files ----------------------------------------------------------- */

static void write_bytes(const char *path, const void *p, size_t n, bool gz) {
  if (gz) {
    gzFile f = gzopen(path, "wb");
    gzwrite(f, p, (unsigned)n);
    gzclose(f);
  } else {
    FILE *f = fopen(path, "wb");
    fwrite(p, 1, n, f);
    fclose(f);
  }
}

static void write_text(const char *path, const char *s) { write_bytes(path, s, strlen(s), false); }

/* IDX: type, dims, then the values (esize bytes each, host order: written
 * big-endian) */
static void write_idx(const char *path, bool gz, int type, int ndim, const int *dims,
                      const void *vals, int esize, int64_t count) {
  size_t n = 4 + 4 * (size_t)ndim + (size_t)(count * esize);
  uint8_t *b = malloc(n), *q = b + 4 + 4 * ndim;
  b[0] = b[1] = 0, b[2] = (uint8_t)type, b[3] = (uint8_t)ndim;
  for (int i = 0; i < ndim; i++)
    for (int k = 0; k < 4; k++)
      b[4 + 4 * i + k] = (uint8_t)((unsigned)dims[i] >> (24 - 8 * k));
  for (int64_t i = 0; i < count; i++)
    for (int k = 0; k < esize; k++)
      q[i * esize + k] = ((const uint8_t *)vals)[i * esize + esize - 1 - k];
  write_bytes(path, b, n, gz);
  free(b);
}

/* .npy version 1 (or 2), host order data (little-endian here) */
static void write_npy(const char *path, int version, const char *descr, const char *shape,
                      const void *vals, size_t bytes) {
  char dict[256];
  int k = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                   descr, shape);
  size_t pre = version == 1 ? 10 : 12, total = pre + (size_t)k + 1;
  size_t pad = (64 - total % 64) % 64, hlen = (size_t)k + pad + 1;
  uint8_t *b = malloc(pre + hlen + bytes);
  memcpy(b, "\x93NUMPY", 6);
  b[6] = (uint8_t)version, b[7] = 0;
  for (size_t i = 0; i < pre - 8; i++)
    b[8 + i] = (uint8_t)(hlen >> (8 * i));
  memcpy(b + pre, dict, (size_t)k);
  memset(b + pre + k, ' ', pad);
  b[pre + hlen - 1] = '\n';
  memcpy(b + pre + hlen, vals, bytes);
  write_bytes(path, b, pre + hlen + bytes, false);
  free(b);
}

/* ---- the data set -------------------------------------------------------------------- */

static float xs[N_TRAIN + N_TEST][D];
static int32_t ycls[N_TRAIN + N_TEST], ypos[N_TRAIN + N_TEST];
static float yreg[N_TRAIN + N_TEST][2];

static void make_data(void) {
  MtlRng r;
  mtl_rng_seed(&r, 99);
  for (int i = 0; i < N_TRAIN + N_TEST; i++) {
    for (int j = 0; j < D; j++)
      xs[i][j] = (float)(int)(mtl_rng_uniform(&r) * 64) / 32; /* exact in text */
    float a = xs[i][0] - xs[i][1], b = xs[i][2] - xs[i][3];
    ycls[i] = a > 0.3f ? 0 : b > 0 ? 1 : 2;
    ypos[i] = xs[i][0] > 1;
    yreg[i][0] = xs[i][0] + xs[i][1], yreg[i][1] = xs[i][2] - xs[i][3];
  }
  /* train: x IDX f32 gz, cls IDX ubyte, pos .npy i64, reg .npy f32 */
  int dx[3] = {N_TRAIN, 2, 2}, d1[1] = {N_TRAIN};
  write_idx(path_of("train_x.gz"), true, 0x0D, 3, dx, xs, 4, N_TRAIN * D);
  uint8_t u8[N_TRAIN];
  int64_t i64[N_TRAIN];
  for (int i = 0; i < N_TRAIN; i++)
    u8[i] = (uint8_t)ycls[i], i64[i] = ypos[i];
  write_idx(path_of("train_cls.idx"), false, 0x08, 1, d1, u8, 1, N_TRAIN);
  write_npy(path_of("train_pos.npy"), 1, "<i8", "(50,)", i64, sizeof i64);
  write_npy(path_of("train_reg.npy"), 1, "<f4", "(50, 2)", yreg, N_TRAIN * 8);
  /* test: x CSV with a header (columns 1..4), cls .npy i32, pos CSV column
   * 0 without one, reg .npy f64 */
  char *csv = malloc(64 * (N_TEST + 1)), *p = csv;
  p += sprintf(p, "id,x0,x1,x2,x3\r\n");
  for (int i = N_TRAIN; i < N_TRAIN + N_TEST; i++)
    p += sprintf(p, "%d,%g,%g,%g,%g\r\n", i, xs[i][0], xs[i][1], xs[i][2], xs[i][3]);
  write_text(path_of("test_x.csv"), csv);
  p = csv;
  for (int i = N_TRAIN; i < N_TRAIN + N_TEST; i++)
    p += sprintf(p, "%d\n", ypos[i]);
  write_text(path_of("test_pos.csv"), csv);
  free(csv);
  double f64[N_TEST][2];
  for (int i = 0; i < N_TEST; i++)
    f64[i][0] = yreg[N_TRAIN + i][0], f64[i][1] = yreg[N_TRAIN + i][1];
  write_npy(path_of("test_cls.npy"), 1, "<i4", "(30,)", ycls + N_TRAIN, N_TEST * 4);
  write_npy(path_of("test_reg.npy"), 1, "<f8", "(30, 2)", f64, sizeof f64);

  static char paths[8][256];
  const char *files[8] = {"train_x.gz", "train_cls.idx", "train_pos.npy", "train_reg.npy",
                          "test_x.csv", "test_cls.npy", "test_pos.csv", "test_reg.npy"};
  const char *names[4] = {"x", "cls", "pos", "reg"};
  for (int k = 0; k < 8; k++) {
    snprintf(paths[k], 256, "%s/%s", dir, files[k]);
    static const float mean = 1.0f, std = 0.5f;
    bindings[k] = (MtlBinding){k < 4 ? "train" : "test", names[k % 4], paths[k],
                               k % 4 == 0 ? MTL_NORM_GIVEN : MTL_NORM_NONE, &mean, &std,
                               k % 4 == 0, -1, NULL, 0, ',', 0, 0, NULL, 0};
  }
  bindings[4].csv_columns = test_x_cols, bindings[4].n_csv_columns = 4;
  bindings[6].csv_column = 0;
}

/* ---- formats ------------------------------------------------------------------------ */

static void test_idx(void) {
  uint8_t img[3 * 4] = {0, 255, 51, 102, 1, 2, 3, 4, 5, 6, 7, 8};
  int dims[3] = {3, 2, 2};
  MtlArray a;
  for (int gz = 0; gz < 2; gz++) {
    const char *p = path_of(gz ? "img.gz" : "img.idx");
    write_idx(p, gz, 0x08, 3, dims, img, 1, 12);
    bool ok = mtl_load(&a, p, MTL_F32, 4, -1, NULL, 0);
    float *f = ok ? a.data : NULL;
    CHECK(gz ? "idx/ubyte-gz-scaled" : "idx/ubyte-plain-scaled",
          ok && a.n == 3 && a.width == 4 && f[0] == 0 && f[1] == 1 &&
              f[2] == 51 / 255.0f && f[11] == 8 / 255.0f);
    if (ok)
      mtl_array_free(&a);
  }
  /* an image file feeds a flat input as well: only the count per sample matters */
  const char *p = path_of("img.gz");
  CHECK_ERR("idx/shape-mismatch", mtl_load(&a, p, MTL_F32, 5, -1, NULL, 0), p, "[2, 2]");
  bool ok = mtl_load(&a, p, MTL_I32, 4, -1, NULL, 0);
  CHECK("idx/ubyte-as-integers", ok && ((int32_t *)a.data)[1] == 255);
  if (ok)
    mtl_array_free(&a);

  int32_t iv[4] = {7, -3, 100000, 2};
  int d1[1] = {4};
  write_idx(path_of("i32.idx"), false, 0x0C, 1, d1, iv, 4, 4);
  ok = mtl_load(&a, path_of("i32.idx"), MTL_I32, 1, -1, NULL, 0);
  CHECK("idx/int32", ok && a.n == 4 && ((int32_t *)a.data)[1] == -3 &&
                         ((int32_t *)a.data)[2] == 100000);
  if (ok)
    mtl_array_free(&a);
  float fv[4] = {1.5f, -2.25f, 0, 3e-5f};
  int d2[2] = {2, 2};
  write_idx(path_of("f32.idx"), false, 0x0D, 2, d2, fv, 4, 4);
  ok = mtl_load(&a, path_of("f32.idx"), MTL_F32, 2, -1, NULL, 0);
  CHECK("idx/float", ok && a.n == 2 && !memcmp(a.data, fv, sizeof fv));
  if (ok)
    mtl_array_free(&a);
}

static void test_npy(void) {
  float f32[6] = {1, 2, 3, 4, 5, 6.5f};
  uint8_t u8[6] = {0, 1, 2, 3, 4, 255};
  int32_t i32[6] = {0, -1, 2, 3, 4, 5};
  int64_t i64[6] = {0, 1, 2, 3, 4, 5};
  double f64[6] = {0.5, 1, 2, 3, 4, 5};
  struct {
    const char *name, *descr;
    const void *vals;
    size_t bytes;
  } cases[] = {{"f32", "<f4", f32, sizeof f32}, {"u8", "|u1", u8, sizeof u8},
               {"i32", "<i4", i32, sizeof i32}, {"i64", "<i8", i64, sizeof i64},
               {"f64", "<f8", f64, sizeof f64}};
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    char name[64];
    const char *p = path_of("a.npy");
    write_npy(p, c == 1 ? 2 : 1, cases[c].descr, "(3, 2)", cases[c].vals, cases[c].bytes);
    MtlArray a;
    bool ok = mtl_load(&a, p, MTL_F32, 2, -1, NULL, 0);
    float *f = ok ? a.data : NULL;
    /* unsigned bytes are images: scaled to [0, 1], as from IDX */
    float want5 = c == 0 ? 6.5f : c == 1 ? 1 : 5, want3 = c == 0 ? 4 : c == 1 ? 3 / 255.0f : 3;
    snprintf(name, sizeof name, "npy/%s-as-f32", cases[c].name);
    CHECK(name, ok && a.n == 3 && a.width == 2 && f[3] == want3 && f[5] == want5);
    if (ok)
      mtl_array_free(&a);
    if (c == 0 || c == 4)
      continue;
    ok = mtl_load(&a, p, MTL_I32, 2, -1, NULL, 0);
    snprintf(name, sizeof name, "npy/%s-as-labels", cases[c].name);
    CHECK(name, ok && ((int32_t *)a.data)[4] == 4);
    if (ok)
      mtl_array_free(&a);
  }
  float half[2] = {0.5f, 1};
  write_npy(path_of("h.npy"), 1, "<f4", "(2,)", half, sizeof half);
  MtlArray a;
  CHECK_ERR("npy/fractional-label", mtl_load(&a, path_of("h.npy"), MTL_I32, 1, -1, NULL, 0),
            "h.npy", "not an integer");
  uint8_t be[8] = {0x3f, 0xc0, 0, 0, 0xc0, 0x10, 0, 0}; /* 1.5, -2.25 big-endian */
  write_npy(path_of("be.npy"), 1, ">f4", "(2,)", be, 8);
  bool ok = mtl_load(&a, path_of("be.npy"), MTL_F32, 1, -1, NULL, 0);
  CHECK("npy/big-endian", ok && ((float *)a.data)[0] == 1.5f && ((float *)a.data)[1] == -2.25f);
  if (ok)
    mtl_array_free(&a);
  write_npy(path_of("c.npy"), 1, "<c8", "(2,)", be, 8);
  CHECK_ERR("npy/unsupported-dtype", mtl_load(&a, path_of("c.npy"), MTL_F32, 1, -1, NULL, 0),
            "c.npy", "'<c8'");
}

static void test_csv(void) {
  MtlArray a;
  const char *p = path_of("h.csv");
  write_text(p, "a,b,label\n1.5,2,0\n-3,4e1,2\n\n");
  int64_t cols[2] = {1, 0};
  bool ok = mtl_load(&a, p, MTL_F32, 2, -1, cols, 2);
  float *f = ok ? a.data : NULL;
  CHECK("csv/header-columns", ok && a.n == 2 && f[0] == 2 && f[1] == 1.5f && f[2] == 40 && f[3] == -3);
  if (ok)
    mtl_array_free(&a);
  ok = mtl_load(&a, p, MTL_I32, 1, 2, NULL, 0);
  CHECK("csv/header-label", ok && a.n == 2 && ((int32_t *)a.data)[1] == 2);
  if (ok)
    mtl_array_free(&a);
  p = path_of("n.csv");
  write_text(p, "1.5,2,0\r\n-3,40,2\r\n7,8,1");
  ok = mtl_load(&a, p, MTL_I32, 1, 2, NULL, 0);
  CHECK("csv/no-header", ok && a.n == 3 && ((int32_t *)a.data)[0] == 0 && ((int32_t *)a.data)[2] == 1);
  if (ok)
    mtl_array_free(&a);
  CHECK_ERR("csv/needs-columns", mtl_load(&a, p, MTL_F32, 3, -1, NULL, 0), "n.csv", "csv(column=N)");
  CHECK_ERR("csv/missing-column", mtl_load(&a, p, MTL_I32, 1, 5, NULL, 0), "n.csv:1", "column 5");
  write_text(p, "1,2\n3,x\n");
  CHECK_ERR("csv/not-a-number", mtl_load(&a, p, MTL_I32, 1, 1, NULL, 0), "n.csv:2", "'x'");
}

static void test_normalize(void) {
  float v[3] = {0, 0.5f, 1};
  MtlArray a = {MTL_F32, 3, 1, v};
  mtl_normalize(&a, 0.5f, 0.25f);
  CHECK("normalize", v[0] == -2 && v[1] == 0 && v[2] == 2);
}

/* ---- per-column normalization, normalize(auto), CSV options ---------------------- */

/* x f32[3] from CSV columns 0-2 (;-separated), a real label y from column
 * 3; train: normalize(auto); test: normalize by given per-column values */
static const float col_mean[3] = {1, 2, 3}, col_std[3] = {2, 4, 8};
static const int64_t col_x[3] = {0, 1, 2}, col_y[1] = {3};
static const MtlTensor col_stats[2] = {{"x.normalize.mean", 0, 3, 1, {3}, MTL_INIT_CONST, 0},
                                       {"x.normalize.std", 16, 3, 1, {3}, MTL_INIT_CONST, 1}};
static const MtlInputInfo col_inputs[] = {{"x", MTL_F32, 1, {3}, 3, 3, 1, 0, 0}};
static const MtlLabelInfo col_labels[] = {{"y", MTL_LABEL_REAL, 1}};
static const MtlTaskInfo col_tasks[] = {{"y", MTL_LABEL_REAL, 1, MTL_METRIC_MSE, 1.0, 0, -1, NULL, 0}};

static void test_columns(void) {
  const char *p = path_of("cols.csv");
  /* population statistics by hand: means 3, 25, 250; variances 14/4,
   * 500/4, 50000/4 */
  write_text(p, "a;b;c;y\n1;10;100;0\n2;20;300;1\n3;30;200;0\n6;40;400;1\n");
  MtlBinding b[4] = {
      {"train", "x", p, MTL_NORM_AUTO, NULL, NULL, 0, -1, col_x, 3, ';', 0, 0, NULL, 0},
      {"train", "y", p, MTL_NORM_NONE, NULL, NULL, 0, -1, col_y, 1, ';', 0, 0, NULL, 0},
      {"test", "x", p, MTL_NORM_GIVEN, col_mean, col_std, 3, -1, col_x, 3, ';', 0, 0, NULL, 0},
      {"test", "y", p, MTL_NORM_NONE, NULL, NULL, 0, -1, col_y, 1, ';', 0, 0, NULL, 0}};
  MtlModelInfo m = {.abi = MTL_MODEL_ABI, .name = "cols", .batch_max = 4, .n_stats = 32,
                    .n_stat_tensors = 2, .stat_tensors = col_stats, .n_inputs = 1,
                    .inputs = col_inputs, .n_labels = 1, .labels = col_labels, .n_tasks = 1,
                    .tasks = col_tasks, .n_bindings = 4, .bindings = b};
  MtlSplit tr, te;
  bool found;
  float stats[32] = {0};
  bool ok = mtl_load_split(&tr, &m, "train", NULL, 0, 0, &found);
  const float *x = ok ? tr.arrays[0].data : NULL;
  CHECK("columns/auto-loads-raw", ok && tr.n == 4 && x[0] == 1 && x[5] == 300);
  if (!ok)
    return;
  mtl_norm_stats(&tr, &m, stats);
  const double mean[3] = {3, 25, 250}, var[3] = {14 / 4.0, 500 / 4.0, 50000 / 4.0};
  bool same = true;
  for (int c = 0; c < 3; c++)
    same &= fabs(stats[c] - mean[c]) < 1e-6 * mean[c] &&
            fabs(stats[16 + c] - sqrt(var[c])) < 1e-6 * sqrt(var[c]);
  CHECK("columns/auto-statistics-by-hand", same);
  mtl_normalize_auto(&tr, &m, stats);
  same = true;
  const double raw[12] = {1, 10, 100, 2, 20, 300, 3, 30, 200, 6, 40, 400};
  for (int i = 0; i < 12; i++)
    same &= fabs(x[i] - (raw[i] - mean[i % 3]) / sqrt(var[i % 3])) < 1e-6;
  CHECK("columns/auto-applied-per-column", same);
  mtl_split_free(&tr);
  ok = mtl_load_split(&te, &m, "test", NULL, 0, 0, &found);
  x = ok ? te.arrays[0].data : NULL;
  same = ok;
  for (int i = 0; ok && i < 12; i++)
    same &= x[i] == ((float)raw[i] - col_mean[i % 3]) / col_std[i % 3];
  CHECK("columns/given-per-column", same);
  if (ok)
    mtl_split_free(&te);
  /* read with commas, a ;-separated file says so */
  b[0].delimiter = b[1].delimiter = ',';
  CHECK_ERR("columns/semicolon-hint", mtl_load_split(&tr, &m, "train", NULL, 0, 0, &found),
            "cols.csv:2", "looks semicolon-separated");
  write_text(p, "1\t10\t100\t0\n");
  CHECK_ERR("columns/tab-hint", mtl_load_split(&tr, &m, "train", NULL, 0, 0, &found),
            "cols.csv: no data rows", "delimiter=tab");
}

/* --data's syntax: SPLIT.NAME=PATH[:column=N|:columns=LIST][:delimiter=D] */
static void test_overrides(void) {
  MtlOverride o;
  bool ok = mtl_parse_override("train.x=dir:a/f.csv:columns=0-2,5:delimiter=;", &o);
  CHECK("override/columns-and-delimiter",
        ok && !strcmp(o.split, "train") && !strcmp(o.name, "x") && !strcmp(o.path, "dir:a/f.csv") &&
            o.csv && o.n_csv_columns == 4 && o.csv_columns[2] == 2 && o.csv_columns[3] == 5 &&
            o.delimiter == ';' && o.csv_column == -1);
  if (ok)
    free((void *)o.csv_columns), free((void *)o.split);
  ok = mtl_parse_override("test.y=y.tsv:column=7:delimiter=tab", &o);
  CHECK("override/column", ok && o.csv && o.csv_column == 7 && o.delimiter == '\t' &&
                               !strcmp(o.path, "y.tsv"));
  if (ok)
    free((void *)o.split);
  ok = mtl_parse_override("valid.image=plain.idx", &o);
  CHECK("override/plain", ok && !o.csv && !o.delimiter && !strcmp(o.path, "plain.idx"));
  if (ok)
    free((void *)o.split);
  CHECK_ERR("override/bad-range", mtl_parse_override("train.x=f.csv:columns=5-2", &o),
            "columns=5-2", ":columns=0-5");
  CHECK_ERR("override/bad-delimiter", mtl_parse_override("train.x=f.csv:delimiter=;;", &o),
            "delimiter=;;", "tab");
  CHECK_ERR("override/no-equals", mtl_parse_override("train.x", &o), "SPLIT.NAME=PATH", "train.x");
  /* overrides are checked against the model: names and splits */
  MtlOverride bad = {.split = "val", .name = "x", .path = "f"};
  CHECK_ERR("override/unknown-split", mtl_check_overrides(&model, &bad, 1), "no split 'val'",
            "train, test and valid");
  bad.split = "train", bad.name = "image";
  CHECK_ERR("override/unknown-name", mtl_check_overrides(&model, &bad, 1), "no input or label 'image'",
            "x, cls, pos, reg");
  bad.name = "coarse";
  CHECK_ERR("override/derived-label", mtl_check_overrides(&model, &bad, 1), "derived from task cls",
            "x, cls, pos, reg");
}

static void test_load_errors(void) {
  MtlArray a;
  const char *p = path_of("nothere.idx");
  CHECK_ERR("error/missing-file", mtl_load(&a, p, MTL_F32, 1, -1, NULL, 0), p, "No such file");
  uint8_t bad[12] = {0, 0, 7, 1, 0, 0, 0, 1, 9};
  p = path_of("bad.idx");
  write_bytes(p, bad, 9, false);
  CHECK_ERR("error/bad-idx-magic", mtl_load(&a, p, MTL_F32, 1, -1, NULL, 0), p, "magic");
  write_bytes(p, "\x89PNG\r\n\x1a\n", 8, false);
  CHECK_ERR("error/wrong-magic", mtl_load(&a, p, MTL_F32, 1, -1, NULL, 0), p, "wrong magic number");
  uint8_t img[40] = {0};
  int dims[3] = {10, 2, 2};
  p = path_of("short.idx");
  write_idx(p, false, 0x08, 3, dims, img, 1, 10); /* 10 of 40 bytes */
  CHECK_ERR("error/truncated-idx", mtl_load(&a, p, MTL_F32, 4, -1, NULL, 0), p, "truncated");
  write_idx(p, false, 0x08, 3, dims, img, 1, 40);
  FILE *f = fopen(p, "ab");
  fputc(1, f);
  fclose(f);
  CHECK_ERR("error/trailing-bytes", mtl_load(&a, p, MTL_F32, 4, -1, NULL, 0), p, "after the data");

  /* a gzip stream cut in half */
  static uint8_t big[20000];
  for (size_t i = 0; i < sizeof big; i++)
    big[i] = (uint8_t)(i * 7 % 251);
  int bd[2] = {5000, 4};
  write_idx(path_of("full.gz"), true, 0x08, 2, bd, big, 1, 20000);
  FILE *in = fopen(path_of("full.gz"), "rb");
  static uint8_t gz[40000];
  size_t n = fread(gz, 1, sizeof gz, in);
  fclose(in);
  p = path_of("cut.gz");
  write_bytes(p, gz, n / 2, false);
  CHECK_ERR("error/truncated-gzip", mtl_load(&a, p, MTL_F32, 4, -1, NULL, 0), p, "truncated");
  bool ok = mtl_load(&a, path_of("full.gz"), MTL_F32, 4, -1, NULL, 0);
  CHECK("idx/gzip-larger", ok && a.n == 5000);
  if (ok)
    mtl_array_free(&a);

  float v[4] = {0};
  p = path_of("short.npy");
  write_npy(p, 1, "<f4", "(3, 2)", v, sizeof v);
  CHECK_ERR("error/truncated-npy", mtl_load(&a, p, MTL_F32, 2, -1, NULL, 0), p, "truncated");
  write_text(p, "\x93NUMPY\x01");
  CHECK_ERR("error/truncated-npy-header", mtl_load(&a, p, MTL_F32, 2, -1, NULL, 0), p, "truncated");

  int32_t y[3] = {0, 3, 1};
  MtlArray l = {MTL_I32, 3, 1, y};
  CHECK_ERR("error/label-out-of-range", mtl_check_labels(&l, 3, "y.idx"), "y.idx", "label 3");
}

/* ---- splits -------------------------------------------------------------------------- */

static void test_split(void) {
  MtlSplit s;
  bool found;
  bool ok = mtl_load_split(&s, &model, "train", NULL, 0, 0, &found);
  CHECK("split/train-loads", ok && found && s.n == N_TRAIN && s.n_arrays == 4);
  if (ok) {
    float *x = s.arrays[0].data;
    CHECK("split/normalized", x[5] == (xs[1][1] - 1.0f) / 0.5f);
    CHECK("split/labels", ((int32_t *)s.arrays[1].data)[7] == ycls[7] &&
                              ((int32_t *)s.arrays[2].data)[7] == ypos[7] &&
                              ((float *)s.arrays[3].data)[15] == yreg[7][1]);
    mtl_split_free(&s);
  }
  ok = mtl_load_split(&s, &model, "test", NULL, 0, 10, &found);
  CHECK("split/test-csv-limit", ok && found && s.n == 10 &&
                                    ((float *)s.arrays[0].data)[4 * 9 + 2] ==
                                        (xs[N_TRAIN + 9][2] - 1.0f) / 0.5f &&
                                    ((int32_t *)s.arrays[2].data)[9] == ypos[N_TRAIN + 9]);
  if (ok)
    mtl_split_free(&s);
  ok = mtl_load_split(&s, &model, "valid", NULL, 0, 0, &found);
  CHECK("split/absent", ok && !found);

  /* overrides: a count mismatch, labels out of range, a wrong shape, a
   * missing binding */
  int d1[1] = {49}, dx[3] = {N_TRAIN, 3, 3};
  uint8_t u8[N_TRAIN * 9] = {0};
  write_idx(path_of("cls49.idx"), false, 0x08, 1, d1, u8, 1, 49);
  MtlOverride ov = {.split = "train", .name = "cls", .path = path_of("cls49.idx")};
  CHECK_ERR("error/count-mismatch", mtl_load_split(&s, &model, "train", &ov, 1, 0, &found),
            "cls49.idx: 49 samples", "train_x.gz has 50");
  u8[17] = 3;
  d1[0] = N_TRAIN;
  write_idx(path_of("cls3.idx"), false, 0x08, 1, d1, u8, 1, N_TRAIN);
  ov.path = path_of("cls3.idx");
  CHECK_ERR("error/split-label-range", mtl_load_split(&s, &model, "train", &ov, 1, 0, &found),
            "cls3.idx: sample 17", "out of range [0, 3)");
  int64_t two[N_TRAIN] = {0};
  two[4] = 2;
  write_npy(path_of("pos2.npy"), 1, "<i8", "(50,)", two, sizeof two);
  MtlOverride ovp = {.split = "train", .name = "pos", .path = path_of("pos2.npy")};
  CHECK_ERR("error/binary-label-range", mtl_load_split(&s, &model, "train", &ovp, 1, 0, &found),
            "pos2.npy: sample 4", "[0, 2)");
  write_idx(path_of("x33.gz"), true, 0x08, 3, dx, u8, 1, N_TRAIN * 9);
  MtlOverride ovx = {.split = "train", .name = "x", .path = path_of("x33.gz")};
  CHECK_ERR("error/input-shape", mtl_load_split(&s, &model, "train", &ovx, 1, 0, &found),
            "x33.gz: each sample is [3, 3] (9 values)", "input x is f32[2, 2] (4 values)");
  MtlOverride ovv = {.split = "valid", .name = "x", .path = path_of("train_x.gz")};
  CHECK_ERR("error/unbound-label", mtl_load_split(&s, &model, "valid", &ovv, 1, 0, &found),
            "binds no file to cls", "--data valid.cls=PATH");
}

/* ---- schedules ------------------------------------------------------------------------ */

static void test_schedules(void) {
  MtlModelInfo m = model;
  m.lr = 0.1, m.schedule = MTL_SCHED_CONSTANT;
  CHECK("schedule/constant", mtl_schedule_lr(&m, 7, 10) == 0.1);
  m.schedule = MTL_SCHED_STEP, m.step_every = 2, m.step_gamma = 0.5;
  CHECK("schedule/step", mtl_schedule_lr(&m, 0, 10) == 0.1 && mtl_schedule_lr(&m, 1, 10) == 0.1 &&
                             mtl_schedule_lr(&m, 2, 10) == 0.05 &&
                             mtl_schedule_lr(&m, 5, 10) == 0.025);
  m.schedule = MTL_SCHED_COSINE;
  double c3 = 0.1 * (1 + cos(3.14159265358979323846 * 3 / 10)) / 2;
  CHECK("schedule/cosine", mtl_schedule_lr(&m, 0, 10) == 0.1 &&
                               fabs(mtl_schedule_lr(&m, 5, 10) - 0.05) < 1e-15 &&
                               fabs(mtl_schedule_lr(&m, 3, 10) - c3) < 1e-15 &&
                               mtl_schedule_lr(&m, 9, 10) < 0.003);
  /* warmup=4 steps: 1/4, 2/4, 3/4 of the rate, then all of it */
  m.warmup = 4;
  CHECK("schedule/warmup", mtl_step_lr(&m, 0.1, 1) == 0.1 / 4 && mtl_step_lr(&m, 0.1, 3) == 0.1 * 3 / 4 &&
                               mtl_step_lr(&m, 0.1, 4) == 0.1 && mtl_step_lr(&m, 0.1, 900) == 0.1);
  m.warmup = 0;
  CHECK("schedule/no-warmup", mtl_step_lr(&m, 0.1, 1) == 0.1);
}

/* ---- checkpoints ---------------------------------------------------------------------- */

static uint8_t *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  long k = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *p = malloc((size_t)k + 1);
  *n = fread(p, 1, (size_t)k, f);
  p[*n] = 0;
  fclose(f);
  return p;
}

/* a file with the header text given and the data of file `from` */
static void write_ckpt(const char *path, const char *header, const uint8_t *data, size_t n) {
  FILE *f = fopen(path, "wb");
  uint64_t h = strlen(header);
  for (int i = 0; i < 8; i++)
    fputc((int)(h >> (8 * i) & 0xff), f);
  fputs(header, f);
  fwrite(data, 1, n, f);
  fclose(f);
}

/* header: a copy of the good file's with `a` replaced by `b` once */
static char *replaced(const char *header, const char *a, const char *b) {
  const char *at = strstr(header, a);
  if (!at)
    return NULL;
  char *out = malloc(strlen(header) + strlen(b) + 1);
  sprintf(out, "%.*s%s%s", (int)(at - header), header, b, at + strlen(a));
  return out;
}

static void fill(float *params, float *state) {
  for (int i = 0; i < NPAR; i++)
    params[i] = (float)i;
  for (int i = 0; i < 2 * NPAR; i++)
    state[i] = (float)(NPAR + i);
}

static void test_ckpt(void) {
  float params[NPAR], state[2 * NPAR], p2[NPAR], s2[2 * NPAR];
  fill(params, state);
  params[3] = -1.25e-7f;
  MtlCkptMeta meta = {.step = 123, .epoch = 4, .rng = {0x0123456789abcdefull, 2, 3, UINT64_MAX}}, m2;
  const char *p = path_of("good.safetensors");
  CHECK("ckpt/save", mtl_ckpt_save(p, &model, params, state, NULL, &meta));
  CHECK("ckpt/no-temporary-left", access(path_of("good.safetensors.tmp"), F_OK) != 0);
  bool ok = mtl_ckpt_load(p, &model, p2, s2, NULL, &m2);
  CHECK("ckpt/round-trip", ok && !memcmp(params, p2, sizeof params) &&
                               !memcmp(state, s2, sizeof state) && m2.step == 123 &&
                               m2.epoch == 4 && !memcmp(m2.rng, meta.rng, sizeof meta.rng));
  CHECK("ckpt/params-only", mtl_ckpt_load(p, &model, p2, NULL, NULL, NULL));

  /* the layout: 8-byte LE length, a JSON header padded to 8, the data */
  size_t n;
  uint8_t *file = slurp(p, &n);
  uint64_t hlen = 0;
  for (int i = 0; i < 8; i++)
    hlen |= (uint64_t)file[i] << (8 * i);
  char *header = malloc(hlen + 1);
  memcpy(header, file + 8, hlen);
  header[hlen] = 0;
  const uint8_t *data = file + 8 + hlen;
  size_t dn = n - 8 - hlen;
  CHECK("ckpt/layout", hlen % 8 == 0 && header[0] == '{' && dn == 3 * NPAR * 4 &&
                           !memcmp(data + 4 * 5, &params[5], 4));
  CHECK("ckpt/metadata", strstr(header, "\"__metadata__\":{\"format\":\"pt\"") &&
                             strstr(header, "\"step\":\"123\"") && strstr(header, "\"epoch\":\"4\"") &&
                             strstr(header, "\"rng\":\"0123456789abcdef,"));
  CHECK("ckpt/tensor-entry", strstr(header, "\"cls.bias\":{\"dtype\":\"F32\",\"shape\":[3],"
                                            "\"data_offsets\":[48,60]}") != NULL);

  /* corruptions: each must fail with an error naming the file and the fault */
  const char *q = path_of("bad.safetensors");
  write_bytes(q, file, 5, false);
  CHECK_ERR("ckpt/error-tiny", mtl_ckpt_load(q, &model, p2, s2, NULL, &m2), q, "truncated");
  uint8_t copy[8];
  memcpy(copy, file, 8);
  copy[5] = 1; /* a header length of 2^40 */
  FILE *f = fopen(q, "wb");
  fwrite(copy, 1, 8, f), fwrite(file + 8, 1, n - 8, f), fclose(f);
  CHECK_ERR("ckpt/error-header-length", mtl_ckpt_load(q, &model, p2, s2, NULL, &m2), q, "bad header length");
  write_bytes(q, file, 8 + hlen / 2, false);
  CHECK_ERR("ckpt/error-truncated-header", mtl_ckpt_load(q, &model, p2, s2, NULL, &m2), q, "bad header length");
  write_bytes(q, file, n - 10, false);
  CHECK_ERR("ckpt/error-truncated-data", mtl_ckpt_load(q, &model, p2, s2, NULL, &m2), q, "outside the data area");
  write_ckpt(q, "{\"__metadata__\": {\"format\": \"pt\"},  ", data, dn);
  CHECK_ERR("ckpt/error-not-json", mtl_ckpt_load(q, &model, p2, s2, NULL, &m2), q, "not JSON");
  write_ckpt(q, "[1, 2]", data, dn);
  CHECK_ERR("ckpt/error-not-object", mtl_ckpt_load(q, &model, p2, s2, NULL, &m2), q, "not a JSON object");
  struct {
    const char *name, *a, *b, *want;
  } cases[] = {
      {"ckpt/error-wrong-shape", "\"shape\":[3,4]", "\"shape\":[4,3]", "shape [4, 3], the model's is [3, 4]"},
      {"ckpt/error-wrong-rank", "\"shape\":[3]", "\"shape\":[3,1]", "shape [3, 1], the model's is [3]"},
      {"ckpt/error-wrong-dtype", "\"dtype\":\"F32\"", "\"dtype\":\"F64\"", "dtype F64, want F32"},
      {"ckpt/error-extra-tensor", "\"cls.bias\"", "\"cls.biax\"", "tensor cls.biax is not in the model; tensor cls.bias is missing"},
      {"ckpt/error-overlap", "\"data_offsets\":[48,60]", "\"data_offsets\":[40,52]", "overlap"},
      {"ckpt/error-size", "\"data_offsets\":[48,60]", "\"data_offsets\":[48,64]", "hold 16 bytes"},
      {"ckpt/error-outside", "\"data_offsets\":[48,60]", "\"data_offsets\":[4800,4812]", "outside the data area"},
      {"ckpt/error-negative-offset", "\"data_offsets\":[48,60]", "\"data_offsets\":[-48,60]", "not [BEGIN, END]"},
      {"ckpt/error-metadata-not-string", "\"step\":\"123\"", "\"step\":123", "is not a string"},
      {"ckpt/error-bad-step", "\"step\":\"123\"", "\"step\":\"12x\"", "not a count"},
      {"ckpt/error-duplicate", "\"cls.bias\":{", "\"cls.weight\":{", "appears twice"},
      {"ckpt/error-unknown-field", "\"dtype\":\"F32\"", "\"dtype\":\"F32\",\"x\":1", "unknown field 'x'"},
      {"ckpt/error-bad-escape", "\"cls.bias\"", "\"cls\\q\"", "not JSON"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char *h = replaced(header, cases[i].a, cases[i].b);
    if (!h) {
      check(cases[i].name, false, "the good header holds the text to replace", cases[i].a, __LINE__);
      continue;
    }
    write_ckpt(q, h, data, dn);
    CHECK_ERR(cases[i].name, mtl_ckpt_load(q, &model, p2, s2, NULL, &m2), q, cases[i].want);
    free(h);
  }
  /* a model with one tensor more: the file lacks it */
  MtlTensor more[NPT + 1];
  memcpy(more, ptens, sizeof ptens);
  more[NPT] = (MtlTensor){"extra.bias", 0, 2, 1, {2}, MTL_INIT_UNIFORM, 0.5};
  MtlModelInfo m = model;
  m.param_tensors = more, m.n_param_tensors = NPT + 1;
  CHECK_ERR("ckpt/error-missing-tensor", mtl_ckpt_load(p, &m, p2, s2, NULL, &m2), p, "tensor extra.bias is missing");
  /* another optimizer's state (cls.weight.q, named after a parameter):
   * skipped, and this optimizer's missing, so its state starts at zero;
   * eval needs none */
  char *h = replaced(header, "\"cls.weight.m\"", "\"cls.weight.q\"");
  write_ckpt(q, h, data, dn);
  free(h);
  s2[0] = 1;
  bool other = mtl_ckpt_load(q, &model, p2, s2, NULL, &m2);
  bool zero = true;
  for (int i = 0; i < 2 * NPAR; i++)
    zero &= s2[i] == 0;
  CHECK("ckpt/other-optimizer-state-starts-fresh", other && m2.state_fresh && zero &&
                                                    !strcmp(m2.optimizer, "adam"));
  CHECK("ckpt/eval-ignores-optimizer-state", mtl_ckpt_load(q, &model, p2, NULL, NULL, NULL));
  CHECK("ckpt/same-optimizer-state-kept", mtl_ckpt_load(p, &model, p2, s2, NULL, &m2) &&
                                           !m2.state_fresh && s2[0] == state[0]);
  CHECK_ERR("ckpt/error-missing-file", mtl_ckpt_load(path_of("none.st"), &model, p2, s2, NULL, &m2),
            "none.st", "cannot open");
  CHECK_ERR("ckpt/error-save-folder", mtl_ckpt_save(path_of("no/such/dir.st"), &model, params, state, NULL, &meta),
            "no/such/dir.st", "cannot create");
  free(header);
  free(file);
}

/* Mangled files: random bytes changed, random truncations. Each load must
 * fail or succeed, never crash (run it under ASan to mean it). */
static void test_mangled(void) {
  const char *srcs[] = {"good.safetensors", "train_pos.npy", "train_cls.idx", "train_x.gz", "test_x.csv"};
  MtlRng r;
  mtl_rng_seed(&r, 5);
  int loaded = 0, refused = 0;
  for (size_t k = 0; k < sizeof srcs / sizeof *srcs; k++) {
    size_t n;
    uint8_t *good = slurp(path_of(srcs[k]), &n), *bad = malloc(n + 1);
    for (int round = 0; good && round < 300; round++) {
      memcpy(bad, good, n);
      size_t len = round % 3 == 0 ? (size_t)mtl_rng_below(&r, n + 1) : n;
      int flips = 1 + (int)mtl_rng_below(&r, 4);
      for (int i = 0; i < flips && len; i++) {
        size_t at = (size_t)mtl_rng_below(&r, len < 200 ? len : 200); /* mostly headers */
        bad[at] = round % 2 ? (uint8_t)mtl_rng_next(&r) : (uint8_t)"{}[],:\"0 9-e\x00"[mtl_rng_below(&r, 13)];
      }
      const char *q = path_of("mangled");
      write_bytes(q, bad, len, false);
      bool ok;
      if (k == 0) {
        float p[NPAR], st[2 * NPAR];
        MtlCkptMeta meta;
        ok = mtl_ckpt_load(q, &model, p, st, NULL, &meta);
      } else {
        MtlArray a;
        ok = k == 4 ? mtl_load(&a, q, MTL_F32, 4, -1, test_x_cols, 4)
                    : mtl_load(&a, q, k == 3 ? MTL_F32 : MTL_I32, k == 3 ? 4 : 1, -1, NULL, 0);
        if (ok)
          mtl_array_free(&a);
      }
      ok ? loaded++ : refused++;
    }
    free(good);
    free(bad);
  }
  CHECK("mangled-files-never-crash", refused > 0 && loaded + refused == 1500);
}

/* ---- training ----------------------------------------------------------------------- */

/* runs f with stdout (fd 1) or stderr (fd 2) sent to file `to` */
static int redirect_fd;
static int quiet_begin(int fd, const char *to) {
  fflush(fd == 1 ? stdout : stderr);
  int saved = dup(fd), t = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  dup2(t, fd);
  close(t);
  redirect_fd = fd;
  return saved;
}
static void quiet_end(int saved) {
  fflush(redirect_fd == 1 ? stdout : stderr);
  dup2(saved, redirect_fd);
  close(saved);
}

static bool load_params(const char *path, float *params, float *state, MtlCkptMeta *meta) {
  return mtl_ckpt_load(path, &model, params, state, NULL, meta);
}

/* the log's line for `epoch`, up to its "seconds" */
static bool log_line(const char *path, int epoch, char *out, size_t cap) {
  FILE *f = fopen(path, "r");
  if (!f)
    return false;
  char line[4096], want[32];
  snprintf(want, sizeof want, "{\"epoch\": %d,", epoch);
  bool found = false;
  while (!found && fgets(line, sizeof line, f))
    if (!strncmp(line, want, strlen(want))) {
      char *s = strstr(line, ", \"seconds\"");
      if (s)
        *s = 0;
      snprintf(out, cap, "%s", line);
      found = true;
    }
  fclose(f);
  return found;
}

static void test_resume(void) {
  MtlTrainOpts o = {.epochs = 2, .quiet = true};
  o.save = path_of("two.st"), o.log = path_of("two.log");
  CHECK("train/two-epochs", mtl_train(&model, &o) == 0);
  o.epochs = 1, o.save = path_of("one.st"), o.log = path_of("one.log");
  CHECK("train/one-epoch", mtl_train(&model, &o) == 0);
  o.epochs = 2, o.resume = path_of("one.st"), o.save = path_of("resumed.st");
  CHECK("train/resume", mtl_train(&model, &o) == 0);
  float a[NPAR], b[NPAR], sa[2 * NPAR], sb[2 * NPAR];
  MtlCkptMeta ma, mb;
  bool ok = load_params(path_of("two.st"), a, sa, &ma) && load_params(path_of("resumed.st"), b, sb, &mb);
  CHECK("resume/params-bit-exact", ok && !memcmp(a, b, sizeof a));
  CHECK("resume/state-bit-exact", ok && !memcmp(sa, sb, sizeof sa));
  CHECK("resume/meta", ok && ma.step == 2 * 7 && ma.epoch == 2 && mb.step == ma.step &&
                           !memcmp(ma.rng, mb.rng, sizeof ma.rng));
  char l2[4096] = "", l1[4096] = "";
  ok = log_line(path_of("two.log"), 2, l2, sizeof l2) && log_line(path_of("one.log"), 2, l1, sizeof l1);
  CHECK("resume/losses-equal", ok && !strcmp(l1, l2));
  if (!ok || strcmp(l1, l2))
    printf("    %s\n    %s\n", l2, l1);
  CHECK("log/json-fields", strstr(l2, "\"lr\": ") && strstr(l2, "\"train_loss\": {\"cls\": ") &&
                               strstr(l2, "\"coarse\": {\"loss\": ") &&
                               strstr(l2, "\"accuracy\": ") && strstr(l2, "\"mse\": ") &&
                               strstr(l2, "\"mae\": "));

  /* a longer run learns: cls accuracy well above chance */
  o = (MtlTrainOpts){.epochs = 30, .quiet = true, .log = path_of("long.log"), .batch = 5};
  CHECK("train/long", mtl_train(&model, &o) == 0);
  char last[4096] = "";
  double acc = 0, first = 0, final = 1e9;
  if (log_line(path_of("long.log"), 30, last, sizeof last) && strstr(last, "\"cls\": {\"loss\": "))
    sscanf(strstr(last, "\"accuracy\": ") + 12, "%lf", &acc), sscanf(strstr(last, "\"cls\": ") + 7, "%lf", &final);
  if (log_line(path_of("long.log"), 1, last, sizeof last))
    sscanf(strstr(last, "\"cls\": ") + 7, "%lf", &first);
  CHECK("train/learns", acc > 0.7 && final < first);
  if (!(acc > 0.7 && final < first))
    printf("    accuracy %g, train loss %g then %g\n", acc, first, final);
}

static void test_train_output(void) {
  MtlTrainOpts o = {.epochs = 2};
  int saved = quiet_begin(1, path_of("out.txt"));
  int rc = mtl_train(&model, &o);
  quiet_end(saved);
  size_t n;
  char *out = (char *)slurp(path_of("out.txt"), &n);
  CHECK("train/epoch-lines", rc == 0 && out && !strncmp(out, "epoch 1/2  lr 5.000e-02  train loss cls ", 40) &&
                                 strstr(out, "  test cls acc ") && strstr(out, ", reg mse ") &&
                                 strstr(out, "\nepoch 2/2  lr 2.500e-02 "));
  if (out && strncmp(out, "epoch 1/2", 9))
    printf("    %s", out);
  free(out);
}

/* mtl_eval on zero parameters: outputs 0, so metrics follow from the labels */
static void test_eval(void) {
  float params[NPAR] = {0}, state[2 * NPAR] = {0};
  MtlCkptMeta meta = {.rng = {1, 1, 1, 1}};
  mtl_ckpt_save(path_of("zero.st"), &model, params, state, NULL, &meta);
  int saved = quiet_begin(1, path_of("eval.txt"));
  int rc = mtl_eval(&model, path_of("zero.st"), NULL, 0, 0);
  quiet_end(saved);
  int c0 = 0, k0 = 0, p0 = 0;
  double se = 0, ae = 0;
  for (int i = N_TRAIN; i < N_TRAIN + N_TEST; i++) {
    c0 += ycls[i] == 0, k0 += coarse_of[ycls[i]] == 0, p0 += ypos[i] == 0;
    for (int j = 0; j < 2; j++)
      se += (double)yreg[i][j] * yreg[i][j], ae += fabs(yreg[i][j]);
  }
  char want[512];
  snprintf(want, sizeof want,
           "cls     acc %.4f loss %.4f\ncoarse  acc %.4f loss %.4f\npos     acc %.4f loss %.4f\n"
           "reg     mse %.4f mae %.4f loss %.4f\n",
           c0 / 30.0, log(3.0), k0 / 30.0, log(2.0), p0 / 30.0, log(2.0), se / 60, ae / 60, se / 60);
  size_t n;
  char *out = (char *)slurp(path_of("eval.txt"), &n);
  CHECK("eval/metrics", rc == 0 && out && !strcmp(out, want));
  if (rc || !out || strcmp(out, want))
    printf("    got:\n%s    want:\n%s", out ? out : "", want);
  free(out);
}

static void test_train_errors(void) {
  MtlOverride ov = {.split = "train", .name = "x", .path = path_of("gone.idx.gz")};
  MtlTrainOpts o = {.epochs = 1, .quiet = true, .overrides = &ov, .n_overrides = 1};
  int saved = quiet_begin(2, path_of("err.txt"));
  int rc1 = mtl_train(&model, &o);
  write_bytes(path_of("bad.safetensors"), (const uint8_t *)"\x10\0\0\0\0\0\0\0{", 9, false);
  o.n_overrides = 0, o.resume = path_of("bad.safetensors");
  int rc2 = mtl_train(&model, &o);
  o.resume = NULL, o.batch = 17;
  int rc3 = mtl_train(&model, &o);
  int rc4 = mtl_eval(&model, path_of("nope.st"), NULL, 0, 0);
  quiet_end(saved);
  size_t n;
  char *err = (char *)slurp(path_of("err.txt"), &n);
  CHECK("train/error-missing-data", rc1 == 1 && err && strstr(err, "mtlc: ") &&
                                        strstr(err, "gone.idx.gz: cannot open"));
  CHECK("train/error-bad-resume", rc2 == 1 && err && strstr(err, "bad.safetensors: "));
  CHECK("train/error-batch", rc3 == 1 && err && strstr(err, "batch 17 is not in 1..16"));
  CHECK("eval/error-missing-ckpt", rc4 == 1 && err && strstr(err, "nope.st: cannot open"));
  free(err);
}

/* the checkpoint tests/ckpt_torch_check.py checks: the data area reads as
 * 0, 1, 2, ... in tensor order */
static int write_torch_ckpt(const char *path) {
  float params[NPAR], state[2 * NPAR];
  fill(params, state);
  MtlCkptMeta meta = {.step = 7, .epoch = 2, .rng = {1, 2, 3, 4}};
  if (!mtl_ckpt_save(path, &model, params, state, NULL, &meta)) {
    fprintf(stderr, "%s\n", mtl_error());
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  model_setup();
  if (argc == 3 && !strcmp(argv[1], "--write-ckpt"))
    return write_torch_ckpt(argv[2]);
  snprintf(dir, sizeof dir, "/tmp/mtlrt.XXXXXX");
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  make_data();
  test_idx();
  test_npy();
  test_csv();
  test_normalize();
  test_columns();
  test_overrides();
  test_load_errors();
  test_split();
  test_schedules();
  test_ckpt();
  test_mangled();
  test_resume();
  test_train_output();
  test_eval();
  test_train_errors();
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (!failures && system(cmd) != 0)
    printf("could not remove %s\n", dir);
  return failures != 0;
}
