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
 * tests/ckpt_torch_check.py reads with PyTorch; `test_runtime --keep DIR`
 * runs every test in the new folder DIR and keeps the files it wrote (the
 * seeds of the runtime's fuzz harnesses, tests/t_fuzz.sh). */
#include "mtl.h"
#include "lin_model.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

static int failures;
static char dir[200];

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
  static char bufs[8][512];
  static int k;
  char *p = bufs[k++ % 8];
  snprintf(p, 512, "%s/%s", dir, name);
  return p;
}

/* ---- the model ------------------------------------------------------------------ */

enum { N_TRAIN = 50, N_TEST = 30 };

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
static void write_npy_dict(const char *path, int version, const char *dict, const void *vals,
                           size_t bytes) {
  int k = (int)strlen(dict);
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
  if (bytes)
    memcpy(b + pre + hlen, vals, bytes);
  write_bytes(path, b, pre + hlen + bytes, false);
  free(b);
}

static void write_npy(const char *path, int version, const char *descr, const char *shape,
                      const void *vals, size_t bytes) {
  char dict[256];
  snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape);
  write_npy_dict(path, version, dict, vals, bytes);
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
static const MtlTaskInfo col_tasks[] = {{"y", MTL_LABEL_REAL, 1, MTL_METRIC_MSE, 1.0, 0, -1, NULL, 0, 0}};

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
  /* overrides checked against the model: test_override_checks */
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

/* the file of a test case "ckpt/error-x": ckpt-error-x.st, kept apart so
 * that each stays a seed of the fuzz harness (test_runtime --keep) */
static const char *case_path(const char *name) {
  char file[128];
  snprintf(file, sizeof file, "%s.st", name);
  for (char *c = file; *c; c++)
    if (*c == '/')
      *c = '-';
  return path_of(file);
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

/* mtl_error() shows no raw control byte: names from files are escaped */
static bool error_is_printable(void) {
  for (const char *e = mtl_error(); *e; e++)
    if ((unsigned char)*e < 0x20 || *e == 0x7f)
      return false;
  return true;
}

/* A broken header: the good one with a replaced by b, then the good data
 * and `extra` zero bytes. Loading it must fail naming the file and want,
 * with no raw control byte in the message. */
typedef struct {
  const char *name, *a, *b, *want;
} HeaderCase;

static void header_cases(const char *header, const uint8_t *data, size_t dn,
                         const HeaderCase *cases, size_t n, size_t extra) {
  float p2[NPAR], s2[2 * NPAR];
  MtlCkptMeta m2;
  for (size_t i = 0; i < n; i++) {
    char *h = replaced(header, cases[i].a, cases[i].b);
    if (!h) {
      check(cases[i].name, false, "the good header holds the text to replace", cases[i].a, __LINE__);
      continue;
    }
    uint8_t *d = calloc(dn + extra, 1);
    memcpy(d, data, dn);
    const char *c = case_path(cases[i].name);
    write_ckpt(c, h, d, dn + extra);
    CHECK_ERR(cases[i].name, mtl_ckpt_load(c, &model, p2, s2, NULL, &m2), c, cases[i].want);
    if (!error_is_printable())
      check(cases[i].name, false, "no raw control byte in the message", mtl_error(), __LINE__);
    free(d);
    free(h);
  }
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
  char p[512], q[512]; /* path_of's buffers are reused */
  snprintf(p, sizeof p, "%s", path_of("good.safetensors"));
  snprintf(q, sizeof q, "%s", path_of("bad.safetensors"));
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
  static const HeaderCase cases[] = {
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
  header_cases(header, data, dn, cases, sizeof cases / sizeof *cases, 0);
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

/* ---- hostile and broken files (issue 17) ------------------------------------------- */

static long peak_rss_kb(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

/* A gzip stream that claims 10 labels and holds 48 MiB more: refused after
 * the 11th byte, not after inflating everything. */
static void test_gzip_streams(void) {
  MtlArray a;
  const char *p = path_of("bomb.gz");
  static uint8_t zeros[1 << 20];
  uint8_t head[18] = {0, 0, 8, 1, 0, 0, 0, 10};
  gzFile f = gzopen(p, "wb1");
  gzwrite(f, head, sizeof head);
  for (int i = 0; i < 48; i++)
    gzwrite(f, zeros, sizeof zeros);
  gzclose(f);
  long before = peak_rss_kb();
  CHECK_ERR("gzip/claims-fewer-than-it-holds", mtl_load(&a, p, MTL_I32, 1, -1, NULL, 0), p,
            "more bytes after the data of shape [10] of u8");
  long grew = peak_rss_kb() - before;
  CHECK("gzip/refused-before-inflating", grew < 16 * 1024);
  if (grew >= 16 * 1024)
    printf("    the peak resident size grew by %ld KiB\n", grew);

  /* a header claiming 2^31 samples in a 48-byte file: no memory for them */
  int dims[2] = {INT32_MAX, 4};
  write_idx(path_of("claims.idx"), false, 0x08, 2, dims, zeros, 1, 40);
  before = peak_rss_kb();
  CHECK_ERR("idx/claims-more-than-the-file", mtl_load(&a, path_of("claims.idx"), MTL_F32, 4, -1, NULL, 0),
            "claims.idx", "truncated: shape [2147483647, 4] of u8 needs 8589934588 bytes");
  write_idx(path_of("claims.gz"), true, 0x08, 2, dims, zeros, 1, 40);
  CHECK_ERR("gzip/claims-more-than-it-holds", mtl_load(&a, path_of("claims.gz"), MTL_F32, 4, -1, NULL, 0),
            "claims.gz", "the file has 40");
  CHECK("idx/claims-cost-no-memory", peak_rss_kb() - before < 16 * 1024);

  /* junk after the gzip member; a second member is more data */
  uint8_t lab[4] = {1, 2, 0, 1};
  int d1[1] = {4};
  write_idx(path_of("one.gz"), true, 0x08, 1, d1, lab, 1, 4);
  size_t n;
  uint8_t *gz = slurp(path_of("one.gz"), &n), *two = malloc(2 * n + 8);
  memcpy(two, gz, n);
  memcpy(two + n, "JUNK", 4);
  write_bytes(path_of("junk.gz"), two, n + 4, false);
  CHECK_ERR("gzip/junk-after-the-member", mtl_load(&a, path_of("junk.gz"), MTL_I32, 1, -1, NULL, 0),
            "junk.gz", "junk after the gzip data: 4 bytes");
  memset(two + n, 0, 4);
  write_bytes(path_of("zeros.gz"), two, n + 4, false);
  CHECK_ERR("gzip/zeros-after-the-member", mtl_load(&a, path_of("zeros.gz"), MTL_I32, 1, -1, NULL, 0),
            "zeros.gz", "junk after the gzip data");
  uint8_t hdr[8] = {0, 0, 8, 1, 0, 0, 0, 4};
  write_bytes(path_of("m1"), hdr, 8, true);
  write_bytes(path_of("m2"), lab, 4, true);
  size_t n1, n2;
  uint8_t *g1 = slurp(path_of("m1"), &n1), *g2 = slurp(path_of("m2"), &n2);
  memcpy(two, g1, n1);
  memcpy(two + n1, g2, n2);
  write_bytes(path_of("two.gz"), two, n1 + n2, false);
  bool ok = mtl_load(&a, path_of("two.gz"), MTL_I32, 1, -1, NULL, 0);
  CHECK("gzip/two-members", ok && a.n == 4 && ((int32_t *)a.data)[1] == 2);
  if (ok)
    mtl_array_free(&a);
  free(g1), free(g2), free(gz), free(two);
}

/* Shapes whose sizes overflow, and .npy headers cut short or too long. */
static void test_hostile_shapes(void) {
  MtlArray a;
  int dims[4] = {0, -1, -1, -1}; /* 0 x 4294967295^3 */
  write_idx(path_of("zero-huge.idx"), false, 0x08, 4, dims, NULL, 1, 0);
  CHECK_ERR("idx/zero-then-huge-dims", mtl_load(&a, path_of("zero-huge.idx"), MTL_F32, 4, -1, NULL, 0),
            "zero-huge.idx", "too large");
  write_npy(path_of("zero-huge.npy"), 1, "<f4", "(0, 999999999999999, 999999999999999)", NULL, 0);
  CHECK_ERR("npy/zero-then-huge-dims", mtl_load(&a, path_of("zero-huge.npy"), MTL_F32, 4, -1, NULL, 0),
            "zero-huge.npy", "too large");
  write_bytes(path_of("v2.npy"), "\x93NUMPY\x02\x00\x10\x00", 10, false);
  CHECK_ERR("npy/v2-10-bytes", mtl_load(&a, path_of("v2.npy"), MTL_F32, 1, -1, NULL, 0),
            "v2.npy", "needs at least 12 bytes, the file has 10");
  write_bytes(path_of("v3.npy"), "\x93NUMPY\x03\x00\x10\x00\x00", 11, false);
  CHECK_ERR("npy/v3-11-bytes", mtl_load(&a, path_of("v3.npy"), MTL_F32, 1, -1, NULL, 0),
            "v3.npy", "needs at least 12 bytes, the file has 11");
  write_bytes(path_of("long.npy"), "\x93NUMPY\x02\x00\x20\x4e\x00\x00{", 13, false);
  CHECK_ERR("npy/header-over-numpys-limit", mtl_load(&a, path_of("long.npy"), MTL_F32, 1, -1, NULL, 0),
            "long.npy", "20000 bytes, more than numpy's limit of 10000");
  float v[2] = {1, 2};
  write_npy_dict(path_of("dup.npy"), 1, "{'descr': '<f4', 'descr': '<i4', 'fortran_order': False, "
                 "'shape': (2,), }", v, sizeof v);
  CHECK_ERR("npy/key-twice", mtl_load(&a, path_of("dup.npy"), MTL_F32, 1, -1, NULL, 0), "dup.npy",
            "bad .npy header");
  write_npy_dict(path_of("after.npy"), 1, "{'descr': '<f4', 'fortran_order': False, "
                 "'shape': (2,), } x", v, sizeof v);
  CHECK_ERR("npy/text-after-the-dict", mtl_load(&a, path_of("after.npy"), MTL_F32, 1, -1, NULL, 0),
            "after.npy", "bad .npy header");
  write_npy(path_of("esc.npy"), 1, "<f\x1b[2J", "(2,)", v, sizeof v);
  CHECK_ERR("npy/escaped-dtype", mtl_load(&a, path_of("esc.npy"), MTL_F32, 1, -1, NULL, 0),
            "esc.npy", "'<f\\x1b[2J'");
  CHECK("npy/no-raw-escape", error_is_printable());
}

/* NaN and infinities in every format are errors naming where they are */
static void test_nonfinite_inputs(void) {
  MtlArray a;
  float f32[4] = {1, NAN, 2, 3};
  write_npy(path_of("nan.npy"), 1, "<f4", "(2, 2)", f32, sizeof f32);
  CHECK_ERR("npy/nan", mtl_load(&a, path_of("nan.npy"), MTL_F32, 2, -1, NULL, 0), "nan.npy",
            "sample 0, value 1: NaN is not a finite number");
  double f64[2] = {1, 1e300};
  write_npy(path_of("big.npy"), 1, "<f8", "(2,)", f64, sizeof f64);
  CHECK_ERR("npy/beyond-f32", mtl_load(&a, path_of("big.npy"), MTL_F32, 1, -1, NULL, 0), "big.npy",
            "sample 1, value 0: 1e+300 is not a finite f32");
  float inf[2] = {INFINITY, 0};
  int d1[1] = {2};
  write_idx(path_of("inf.idx"), false, 0x0D, 1, d1, inf, 4, 2);
  CHECK_ERR("idx/inf", mtl_load(&a, path_of("inf.idx"), MTL_F32, 1, -1, NULL, 0), "inf.idx",
            "sample 0, value 0: +inf is not a finite number");
  const char *bad[] = {"nan", "NaN", "inf", "-Infinity", "1e999", "\"nan\""};
  const char *p = path_of("nf.csv");
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char text[64], name[64];
    snprintf(text, sizeof text, "1,2\n3, %s\n", bad[i]);
    write_text(p, text);
    snprintf(name, sizeof name, "csv/non-finite-%zu", i);
    CHECK_ERR(name, mtl_load(&a, p, MTL_F32, 1, 1, NULL, 0), "nf.csv:2:3: column 1",
              "is not a finite number");
  }
  write_text(p, "nan,1\n2,3\n"); /* a first row of numbers is data, not a header */
  CHECK_ERR("csv/nan-in-the-first-row", mtl_load(&a, p, MTL_F32, 1, 0, NULL, 0), "nf.csv:1:1: column 0",
            "'nan'");
}

static void test_csv_text(void) {
  MtlArray a;
  const char *p = path_of("bom.csv");
  write_text(p, "\xef\xbb\xbf" "1,2\n3,4\n");
  bool ok = mtl_load(&a, p, MTL_I32, 1, 0, NULL, 0);
  CHECK("csv/bom-no-header", ok && a.n == 2 && ((int32_t *)a.data)[0] == 1);
  if (ok)
    mtl_array_free(&a);
  write_text(p, "\xef\xbb\xbf" "a,b\r\n1,2\r\n");
  ok = mtl_load(&a, p, MTL_I32, 1, 1, NULL, 0);
  CHECK("csv/bom-header", ok && a.n == 1 && ((int32_t *)a.data)[0] == 2);
  if (ok)
    mtl_array_free(&a);
  write_text(p, "1,2\n3,\x1b[2J\xe2\x80\xae\n");
  CHECK_ERR("csv/escaped-field", mtl_load(&a, p, MTL_F32, 1, 1, NULL, 0), "bom.csv:2:3",
            "'\\x1b[2J\\u202e'");
  CHECK("csv/no-raw-escape", error_is_printable());
  write_bytes(p, "1,2\n3,4\n\0", 9, false);
  CHECK_ERR("csv/zero-byte", mtl_load(&a, p, MTL_F32, 1, 1, NULL, 0), "bom.csv", "zero byte at offset 8");
  /* rows across the reader's 1 MiB blocks, gzip'ed: every row, in order */
  enum { ROWS = 150000 };
  char *text = malloc(ROWS * 16 + 8), *q = text;
  q += sprintf(q, "x,y\n");
  for (int i = 0; i < ROWS; i++)
    q += sprintf(q, "%d,%d\n", i, 2 * i);
  write_bytes(path_of("rows.gz"), text, (size_t)(q - text), true);
  ok = mtl_load(&a, path_of("rows.gz"), MTL_F32, 1, 1, NULL, 0);
  CHECK("csv/blocks-gzip", ok && a.n == ROWS && ((float *)a.data)[ROWS - 1] == 2.0f * (ROWS - 1) &&
                               ((float *)a.data)[77777] == 2.0f * 77777);
  if (ok)
    mtl_array_free(&a);
  memset(text, '1', 1 << 21);
  write_bytes(path_of("wide.csv"), text, 1 << 21, false);
  CHECK_ERR("csv/line-too-long", mtl_load(&a, path_of("wide.csv"), MTL_F32, 1, 0, NULL, 0),
            "wide.csv:1", "a line longer than 1048576 bytes");
  free(text);
}

/* Devices, FIFOs and folders are refused without being read (a FIFO would
 * block; /dev/zero never ends). The alarm fails the test if one blocks. */
static void test_not_regular(void) {
  MtlArray a;
  const char *fifo = path_of("fifo");
  mkfifo(fifo, 0600);
  alarm(30);
  CHECK_ERR("file/fifo", mtl_load(&a, fifo, MTL_F32, 1, -1, NULL, 0), fifo, "cannot read a FIFO");
  CHECK_ERR("file/dev-zero", mtl_load(&a, "/dev/zero", MTL_F32, 1, -1, NULL, 0), "/dev/zero",
            "a character device");
  alarm(0);
  CHECK_ERR("file/folder", mtl_load(&a, dir, MTL_F32, 1, -1, NULL, 0), dir, "a folder");
}

static void test_ckpt_not_regular(void) {
  float params[NPAR], state[2 * NPAR];
  MtlCkptMeta meta;
  const char *fifo = path_of("fifo");
  alarm(30);
  CHECK_ERR("ckpt/fifo", mtl_ckpt_load(fifo, &model, params, state, NULL, &meta), fifo, "a FIFO");
  CHECK_ERR("ckpt/dev-zero", mtl_ckpt_load("/dev/zero", &model, params, state, NULL, &meta), "/dev/zero",
            "a character device");
  alarm(0);
}

/* The header of path (a checkpoint of `model`), its data area and size */
static char *ckpt_header(const char *path, uint8_t **file, const uint8_t **data, size_t *dn) {
  size_t n;
  *file = slurp(path, &n);
  uint64_t hlen = 0;
  for (int i = 0; i < 8; i++)
    hlen |= (uint64_t)(*file)[i] << (8 * i);
  char *header = malloc(hlen + 1);
  memcpy(header, *file + 8, hlen);
  header[hlen] = 0;
  *data = *file + 8 + hlen, *dn = n - 8 - hlen;
  return header;
}

static void test_ckpt_hostile(void) {
  float params[NPAR], state[2 * NPAR], p2[NPAR], s2[2 * NPAR];
  fill(params, state);
  MtlCkptMeta meta = {.step = 123, .epoch = 4, .rng = {1, 2, 3, 4}}, m2;
  char p[512], q[512];
  snprintf(p, sizeof p, "%s", path_of("h.st"));
  snprintf(q, sizeof q, "%s", path_of("hbad.st"));
  CHECK("ckpt/hostile-save", mtl_ckpt_save(p, &model, params, state, NULL, &meta));
  uint8_t *file;
  const uint8_t *data;
  size_t dn;
  char *header = ckpt_header(p, &file, &data, &dn);
  /* the data area with 4 KiB more */
  uint8_t *more = calloc(dn + 4096, 1);
  memcpy(more, data, dn);
  snprintf(q, sizeof q, "%s", case_path("ckpt/trailing-bytes")); /* each kept: a seed */
  write_ckpt(q, header, more, dn + 4096);
  CHECK_ERR("ckpt/trailing-bytes", mtl_ckpt_load(q, &model, p2, s2, NULL, &m2), q,
            "4096 bytes after the last tensor's data");
  static const HeaderCase cases[] = {
      {"ckpt/second-metadata", "{\"__metadata__\":",
       "{\"__metadata__\":{\"step\":\"1\",\"epoch\":\"1\",\"rng\":\"1,1,1,1\"},\"__metadata__\":",
       "a second __metadata__"},
      {"ckpt/metadata-key-twice", "\"step\":\"123\"", "\"step\":\"1\",\"step\":\"123\"", "has 'step' twice"},
      {"ckpt/step-tab", "\"step\":\"123\"", "\"step\":\"\\t5\"", "step '\\x095' or epoch '4' is not a count"},
      {"ckpt/step-space", "\"step\":\"123\"", "\"step\":\" 5\"", "is not a count"},
      {"ckpt/step-plus", "\"step\":\"123\"", "\"step\":\"+5\"", "is not a count"},
      {"ckpt/step-past-int64", "\"step\":\"123\"", "\"step\":\"9223372036854775808\"", "is not a count"},
      {"ckpt/rng-0x", "\"rng\":\"", "\"rng\":\"0x", "is not four hexadecimal words"},
      {"ckpt/rng-space", "\"rng\":\"", "\"rng\":\" ", "is not four hexadecimal words"},
      {"ckpt/field-twice", "\"dtype\":\"F32\"", "\"dtype\":\"F32\",\"dtype\":\"F32\"", "a second field 'dtype'"},
      {"ckpt/escape-in-name", "\"cls.bias\"", "\"cls\\u001b]0;pwned\\u0007bias\"", "tensor cls\\x1b]0;pwned\\x07bias is not in the model"},
      {"ckpt/bidi-in-name", "\"cls.bias\"", "\"cls\\u202ebias\"", "tensor cls\\u202ebias is not in the model"},
      {"ckpt/not-utf8", "\"cls.bias\"", "\"cls\xff\"", "the header is not UTF-8"},
  };
  header_cases(header, data, dn, cases, sizeof cases / sizeof *cases, 0);
  static const HeaderCase gap[] = { /* with 4 bytes more, the last tensor moved */
      {"ckpt/gap", "\"data_offsets\":[472,480]", "\"data_offsets\":[476,484]",
       "4 bytes of the data area before tensor reg.bias.v"},
  };
  header_cases(header, data, dn, gap, 1, 4);
  /* a value that is not finite */
  memcpy(more, data, dn);
  float nan = NAN;
  memcpy(more + 4 * 5, &nan, 4);
  snprintf(q, sizeof q, "%s", case_path("ckpt/nan-value"));
  write_ckpt(q, header, more, dn);
  CHECK_ERR("ckpt/nan-value", mtl_ckpt_load(q, &model, p2, s2, NULL, &m2), q,
            "tensor cls.weight: value 5 is NaN, not a finite number");
  /* a header length within safetensors' limit, far beyond this model's */
  uint8_t len[9] = {0x80, 0xf0, 0xfa, 0x02, 0, 0, 0, 0, '{'}; /* 50,000,000 */
  snprintf(q, sizeof q, "%s", case_path("ckpt/header-beyond-the-model"));
  write_bytes(q, len, sizeof len, false);
  CHECK_ERR("ckpt/header-beyond-the-model", mtl_ckpt_load(q, &model, p2, s2, NULL, &m2), q,
            "bad header length 50000000: more than any checkpoint of this model needs");
  len[3] = 0x20; /* 537,522,304 */
  snprintf(q, sizeof q, "%s", case_path("ckpt/header-beyond-safetensors"));
  write_bytes(q, len, sizeof len, false);
  CHECK_ERR("ckpt/header-beyond-safetensors", mtl_ckpt_load(q, &model, p2, s2, NULL, &m2), q,
            "more than the safetensors limit (100000000 bytes)");
  free(more);
  free(header);
  free(file);
}

/* a step of INT64_MAX loads, but cannot go on: resuming says so */
static void test_resume_step_overflow(void) {
  float params[NPAR], state[2 * NPAR], p2[NPAR], s2[2 * NPAR];
  fill(params, state);
  MtlCkptMeta most = {.step = INT64_MAX, .epoch = 1, .rng = {1, 2, 3, 4}}, m2;
  char q[512];
  snprintf(q, sizeof q, "%s", case_path("ckpt/int64-max-step"));
  CHECK("ckpt/save-int64-max-step", mtl_ckpt_save(q, &model, params, state, NULL, &most));
  bool ok = mtl_ckpt_load(q, &model, p2, s2, NULL, &m2);
  CHECK("ckpt/int64-max-step-loads", ok && m2.step == INT64_MAX);
  MtlTrainOpts o = {.epochs = 3, .quiet = true, .resume = q};
  int saved = quiet_begin(2, path_of("err-step.txt"));
  int rc = mtl_train(&model, &o);
  quiet_end(saved);
  size_t n;
  char *err = (char *)slurp(path_of("err-step.txt"), &n);
  CHECK("train/resume-step-overflow", rc == 1 && err &&
                                          strstr(err, "step 9223372036854775807 and 2 more epochs of 7 steps"));
  free(err);
}

/* the names in dir that start with prefix */
static int count_names(const char *prefix) {
  DIR *d = opendir(dir);
  int k = 0;
  for (struct dirent *e; d && (e = readdir(d));)
    k += !strncmp(e->d_name, prefix, strlen(prefix));
  if (d)
    closedir(d);
  return k;
}

static bool exists(const char *name) {
  struct stat st;
  return lstat(path_of(name), &st) == 0;
}

/* a file whose writes fail past `bytes` (EFBIG) until restore_fsize */
static struct rlimit fsize_saved;
static void limit_fsize(rlim_t bytes) {
  signal(SIGXFSZ, SIG_IGN);
  getrlimit(RLIMIT_FSIZE, &fsize_saved);
  struct rlimit r = fsize_saved;
  r.rlim_cur = bytes;
  setrlimit(RLIMIT_FSIZE, &r);
}
static void restore_fsize(void) { setrlimit(RLIMIT_FSIZE, &fsize_saved); }

static void test_save_safety(void) {
  float params[NPAR], state[2 * NPAR];
  fill(params, state);
  MtlCkptMeta meta = {.step = 5, .epoch = 1, .rng = {1, 2, 3, 4}};
  char p[512], victim[512]; /* path_of's buffers are reused */
  snprintf(p, sizeof p, "%s", path_of("safe.st"));
  snprintf(victim, sizeof victim, "%s", path_of("victim.txt"));
  write_text(victim, "precious\n");
  /* links planted where temporaries go: the old fixed name, and the new
   * pattern with a dead PID (as if a killed save had left it) */
  symlink(victim, path_of("safe.st.tmp"));
  symlink(victim, path_of("safe.st.tmp.999999999.abcdef"));
  pid_t child = fork();
  if (child == 0)
    _exit(0);
  waitpid(child, NULL, 0);
  char dead[64], live[64], mine[64];
  snprintf(dead, sizeof dead, "safe.st.tmp.%ld.zzzzzz", (long)child);
  snprintf(live, sizeof live, "safe.st.tmp.%ld.zzzzzz", (long)getppid());
  snprintf(mine, sizeof mine, "safe.st.tmp.%ld.zzzzzz", (long)getpid());
  write_text(path_of(dead), "stale");
  write_text(path_of(live), "a live save");
  write_text(path_of(mine), "stale, this process's");
  write_text(path_of("safe.st.tmp.1.ZZZZZZ"), "not a name of ours");
  CHECK("save/with-planted-links", mtl_ckpt_save(p, &model, params, state, NULL, &meta));
  size_t n;
  char *v = (char *)slurp(victim, &n);
  CHECK("save/links-not-followed", v && !strcmp(v, "precious\n"));
  free(v);
  struct stat st;
  CHECK("save/checkpoint-is-a-file", lstat(p, &st) == 0 && S_ISREG(st.st_mode));
  CHECK("save/stale-temporaries-removed", !exists(dead) && !exists(mine));
  CHECK("save/others-left-alone", exists(live) && exists("safe.st.tmp.1.ZZZZZZ") &&
                                      exists("safe.st.tmp") && exists("safe.st.tmp.999999999.abcdef"));
  unlink(path_of(live));
  unlink(path_of("safe.st.tmp.1.ZZZZZZ"));
  unlink(path_of("safe.st.tmp"));
  unlink(path_of("safe.st.tmp.999999999.abcdef"));
  CHECK("save/no-temporary-left", count_names("safe.st.tmp") == 0);
  /* the permissions of the file it replaces are kept */
  chmod(p, 0600);
  mtl_ckpt_save(p, &model, params, state, NULL, &meta);
  CHECK("save/keeps-permissions", stat(p, &st) == 0 && (st.st_mode & 0777) == 0600);

  /* a write that fails (a full disk, here a file size limit): the old
   * checkpoint stays whole, nothing is left, the error names the file */
  uint8_t *before = slurp(p, &n);
  params[0] = 99;
  limit_fsize(1000);
  CHECK_ERR("save/write-fails", mtl_ckpt_save(p, &model, params, state, NULL, &meta), p,
            "cannot write: File too large");
  restore_fsize();
  size_t n2;
  uint8_t *after = slurp(p, &n2);
  CHECK("save/old-checkpoint-kept", after && n2 == n && !memcmp(before, after, n));
  CHECK("save/failed-write-leaves-nothing", count_names("safe.st.tmp") == 0);
  free(before);
  free(after);
}

/* a train_step that poisons a parameter on its 7th call, the last of
 * epoch 1, while every loss it reports stays finite */
static int poison_calls;
static void poison_train_step(float *params, float *grads, float *state, float *stats, float *act,
                              const void *const *data, int64_t B, const float *hyper,
                              uint64_t step_seed, float *losses) {
  lin_train_step(params, grads, state, stats, act, data, B, hyper, step_seed, losses);
  if (++poison_calls == 7)
    params[0] = NAN;
}

/* a train_step that counts its batches in a running statistic, which
 * turns infinite on its 7th call */
static void stat_train_step(float *params, float *grads, float *state, float *stats, float *act,
                            const void *const *data, int64_t B, const float *hyper,
                            uint64_t step_seed, float *losses) {
  lin_train_step(params, grads, state, stats, act, data, B, hyper, step_seed, losses);
  stats[0] += 1;
  if (++poison_calls == 7)
    stats[1] = INFINITY;
}

static void test_nonfinite_training(void) {
  const char *p = path_of("nf.st");
  MtlTrainOpts o = {.epochs = 1, .quiet = true, .save = p};
  CHECK("nonfinite/first-epoch", mtl_train(&model, &o) == 0);
  size_t n, n2;
  uint8_t *good = slurp(p, &n);
  MtlModelInfo hot = model;
  hot.lr = 1e30; /* the first update sends the real head's loss to infinity */
  MtlTaskInfo lined[NTASK]; /* the message names the task's spec line */
  memcpy(lined, tasks, sizeof lined);
  lined[3].line = 17;
  hot.tasks = lined;
  o.epochs = 3, o.resume = p;
  int saved = quiet_begin(2, path_of("err-nf.txt"));
  int rc = mtl_train(&hot, &o);
  quiet_end(saved);
  char *err = (char *)slurp(path_of("err-nf.txt"), &n2);
  CHECK("nonfinite/loss-stops", rc == 1 && err && strstr(err, "mtlc: lin.mtl:17: task reg: the training loss is +inf at step 9 (epoch 2, batch 2 of 7); training stopped, ") &&
                                    strstr(err, "nf.st not overwritten"));
  if (rc != 1 || !err || !strstr(err, "task reg"))
    printf("    %s\n", err ? err : "");
  free(err);
  uint8_t *after = slurp(p, &n2);
  CHECK("nonfinite/loss-keeps-checkpoint", after && n2 == n && !memcmp(good, after, n));
  free(after);
  MtlModelInfo poison = model;
  poison.train_step = poison_train_step;
  poison_calls = 0;
  o = (MtlTrainOpts){.epochs = 2, .quiet = true, .save = p};
  saved = quiet_begin(2, path_of("err-nf.txt"));
  rc = mtl_train(&poison, &o);
  quiet_end(saved);
  err = (char *)slurp(path_of("err-nf.txt"), &n2);
  CHECK("nonfinite/parameter-stops", rc == 1 && err &&
        strstr(err, "parameter cls.weight: value 0 is NaN after step 7 (epoch 1); training stopped"));
  free(err);
  after = slurp(p, &n2);
  CHECK("nonfinite/parameter-keeps-checkpoint", after && n2 == n && !memcmp(good, after, n));
  free(after);
  free(good);
  /* running statistics are checked too (and saved, and loaded back) */
  static const MtlTensor st[] = {{"bn.running_var", 0, 2, 1, {2}, MTL_INIT_CONST, 1}};
  MtlModelInfo bn = model;
  bn.train_step = stat_train_step, bn.stat_tensors = st, bn.n_stat_tensors = 1, bn.n_stats = 2;
  poison_calls = -100; /* not in the first run */
  o = (MtlTrainOpts){.epochs = 1, .quiet = true, .save = p};
  float pp[NPAR], ss[2 * NPAR], stats[2] = {0};
  CHECK("nonfinite/stats-saved", mtl_train(&bn, &o) == 0 &&
                                     mtl_ckpt_load(p, &bn, pp, ss, stats, NULL) && stats[0] == 7);
  good = slurp(p, &n);
  o.epochs = 2, o.resume = p;
  poison_calls = 0;
  saved = quiet_begin(2, path_of("err-nf.txt"));
  rc = mtl_train(&bn, &o);
  quiet_end(saved);
  err = (char *)slurp(path_of("err-nf.txt"), &n2);
  CHECK("nonfinite/running-statistic-stops", rc == 1 && err &&
        strstr(err, "running statistic bn.running_var: value 1 is +inf after step 14 (epoch 2); training stopped"));
  if (rc != 1 || !err || !strstr(err, "bn.running_var"))
    printf("    %s\n", err ? err : "");
  free(err);
  after = slurp(p, &n2);
  CHECK("nonfinite/running-statistic-keeps-checkpoint", after && n2 == n && !memcmp(good, after, n));
  free(after);
  free(good);
}

static void test_override_checks(void) {
  MtlOverride split = {.split = "valdi", .name = "x", .path = "f"},
              name = {.split = "train", .name = "z", .path = "f"},
              derived = {.split = "test", .name = "coarse", .path = "f"};
  CHECK_ERR("override/unknown-split", mtl_check_overrides(&model, &split, 1),
            "--data valdi.x=...: no split 'valdi'", "the splits are train, test and valid");
  CHECK_ERR("override/unknown-name", mtl_check_overrides(&model, &name, 1),
            "model lin has no input or label 'z'", "--data binds x, cls, pos, reg");
  CHECK_ERR("override/derived-label", mtl_check_overrides(&model, &derived, 1),
            "task coarse's label is derived from task cls by its lookup and reads no file",
            "--data binds x, cls, pos, reg");
  MtlOverride fine[2] = {{.split = "train", .name = "x", .path = "f"},
                         {.split = "valid", .name = "reg", .path = "g"}};
  CHECK("override/known", mtl_check_overrides(&model, fine, 2));
  MtlTrainOpts o = {.epochs = 1, .quiet = true, .overrides = &name, .n_overrides = 1};
  int saved = quiet_begin(2, path_of("err-ov.txt"));
  int rc1 = mtl_train(&model, &o);
  int rc2 = mtl_eval(&model, path_of("nf.st"), &split, 1, 0);
  quiet_end(saved);
  size_t n;
  char *err = (char *)slurp(path_of("err-ov.txt"), &n);
  CHECK("override/train-refuses", rc1 == 1 && err && strstr(err, "has no input or label 'z'"));
  CHECK("override/eval-refuses", rc2 == 1 && err && strstr(err, "no split 'valdi'"));
  free(err);
}

/* the log: a write that fails fails the run, and leaves whole lines */
static void test_log_writes(void) {
  MtlTrainOpts o = {.epochs = 2, .quiet = true, .log = "/dev/full"};
  int saved = quiet_begin(2, path_of("err-log.txt"));
  int rc = mtl_train(&model, &o);
  quiet_end(saved);
  size_t n;
  char *err = (char *)slurp(path_of("err-log.txt"), &n);
  CHECK("log/full-disk-fails", rc == 1 && err && strstr(err, "/dev/full: cannot write the log: No space left on device"));
  free(err);
  /* the first line fits, the second does not: the log keeps the first whole */
  o = (MtlTrainOpts){.epochs = 1, .quiet = true, .log = path_of("l1.log")};
  mtl_train(&model, &o);
  char *l1 = (char *)slurp(path_of("l1.log"), &n);
  size_t line = n;
  o = (MtlTrainOpts){.epochs = 3, .quiet = true, .log = path_of("l2.log")};
  limit_fsize(line + line / 2);
  saved = quiet_begin(2, path_of("err-log.txt"));
  rc = mtl_train(&model, &o);
  quiet_end(saved);
  restore_fsize();
  char *l2 = (char *)slurp(path_of("l2.log"), &n);
  char *nl = l2 ? strchr(l2, '\n') : NULL;
  CHECK("log/partial-line-cut", rc == 1 && nl && nl[1] == '\0' && !strncmp(l2, "{\"epoch\": 1,", 12));
  free(l1);
  free(l2);
  /* a save that fails after the epoch: the log holds the epoch's line */
  o = (MtlTrainOpts){.epochs = 1, .quiet = true, .log = path_of("l3.log"), .save = path_of("l3.st")};
  limit_fsize(line + 200); /* room for the log line, not the checkpoint */
  saved = quiet_begin(2, path_of("err-log.txt"));
  rc = mtl_train(&model, &o);
  quiet_end(saved);
  restore_fsize();
  char *l3 = (char *)slurp(path_of("l3.log"), &n);
  err = (char *)slurp(path_of("err-log.txt"), &n);
  CHECK("log/failed-save-keeps-the-line", rc == 1 && l3 && !strncmp(l3, "{\"epoch\": 1,", 12) &&
                                              err && strstr(err, "l3.st: cannot write: File too large"));
  CHECK("log/failed-save-no-checkpoint", !exists("l3.st") && count_names("l3.st.tmp") == 0);
  free(l3);
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

/* mtl_sgemm (mtl_gemm.c) against a double-precision loop: every
 * transposition, beta 0 and 1, row counts that make tiles of every height
 * from 1 to 8 (10: 5 + 5, 17: 6 + 6 + 5, 20: 7 + 7 + 6, 33: 7 + ... + 6),
 * column counts around the tiles' 16 and 32 (partial tiles, under a mask),
 * K past the chunks (256 where B is transposed, 1024 where not), leading
 * dimensions wider than the matrices, whose extra columns of C must stay
 * untouched; alpha 2 (BLAS's path) too */
static void test_gemm(void) {
  static const int64_t Ms[] = {1, 2, 3, 4, 8, 10, 17, 20, 33}, Ns[] = {1, 9, 16, 17, 31, 32, 33, 81};
  static const int64_t Ks[] = {1, 7, 64, 600, 1100};
  int cases = 0, bad = 0;
  char first[200] = "";
  for (size_t mi = 0; mi < sizeof Ms / sizeof *Ms; mi++)
    for (size_t ni = 0; ni < sizeof Ns / sizeof *Ns; ni++)
      for (size_t ki = 0; ki < sizeof Ks / sizeof *Ks; ki++)
        for (int t = 0; t < 4; t++)
          for (int beta = 0; beta <= 2; beta++) {
            int64_t M = Ms[mi], N = Ns[ni], K = Ks[ki];
            int ta = t & 1, tb = t >> 1;
            float alpha = beta == 2 ? 2.0f : 1.0f, bv = beta == 2 ? 1.0f : (float)beta;
            int64_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 5, ldc = N + 2;
            float *A = malloc(sizeof(float) * (size_t)((ta ? K : M) * lda));
            float *B = malloc(sizeof(float) * (size_t)((tb ? N : K) * ldb));
            float *C = malloc(sizeof(float) * (size_t)(M * ldc));
            double *R = malloc(sizeof(double) * (size_t)(M * N));
            for (int64_t i = 0; i < (ta ? K : M) * lda; i++)
              A[i] = (float)sin(0.37 * (double)i + 0.1 * (double)K);
            for (int64_t i = 0; i < (tb ? N : K) * ldb; i++)
              B[i] = (float)cos(0.61 * (double)i);
            for (int64_t i = 0; i < M * ldc; i++)
              C[i] = (float)(i % ldc >= N ? 1234.5 : 0.25 * sin((double)i));
            double mag = 0;
            for (int64_t i = 0; i < M; i++)
              for (int64_t j = 0; j < N; j++) {
                double sum = 0;
                for (int64_t k = 0; k < K; k++)
                  sum += (double)(ta ? A[k * lda + i] : A[i * lda + k]) *
                         (double)(tb ? B[j * ldb + k] : B[k * ldb + j]);
                R[i * N + j] = alpha * sum + bv * (double)C[i * ldc + j];
                mag = fmax(mag, fabs(R[i * N + j]));
              }
            mtl_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, bv, C, ldc);
            double err = 0;
            bool kept = true;
            for (int64_t i = 0; i < M; i++) {
              for (int64_t j = 0; j < N; j++)
                err = fmax(err, fabs((double)C[i * ldc + j] - R[i * N + j]));
              for (int64_t j = N; j < ldc; j++)
                kept = kept && C[i * ldc + j] == 1234.5f;
            }
            cases++;
            if (!(err <= 1e-5 * (mag + 1)) || !kept) {
              if (!bad++)
                snprintf(first, sizeof first,
                         "M=%lld N=%lld K=%lld ta=%d tb=%d beta=%g alpha=%g: error %.3g of %.3g%s",
                         (long long)M, (long long)N, (long long)K, ta, tb, bv, alpha, err, mag,
                         kept ? "" : ", a column past N written");
            }
            free(A), free(B), free(C), free(R);
          }
  char what[320];
  snprintf(what, sizeof what, "%d of %d shapes within 1e-5 of double (%s kernels)", cases - bad,
           cases, mtl_gemm_own() ? "mtl_gemm.c's" : "BLAS's");
  check("gemm/against-double", bad == 0, what, bad ? first : NULL, __LINE__);
}

/* a row of C is the same bits whatever M is, so whichever tile it falls in
 * (and whichever thread's share of a batch it is in): every row of M rows,
 * M = 1 to 19, each transposition, against the same row computed alone */
static void test_gemm_rows(void) {
  enum { MM = 19, N = 45, K = 70 };
  if (!mtl_gemm_own()) { /* OpenBLAS's blocking depends on M */
    printf("SKIP unit/runtime/gemm/rows-independent-of-M: BLAS's kernels (MTL_GEMM=blas, or a "
           "CPU without AVX-512) promise no such thing\n");
    return;
  }
  static float A[MM * K], B[K * N], C[MM * N], R[N]; /* B: K x N, or N x K transposed */
  for (int i = 0; i < MM * K; i++)
    A[i] = (float)sin(0.37 * i);
  for (int i = 0; i < K * N; i++)
    B[i] = (float)cos(0.61 * i);
  int bad = 0;
  char first[120] = "";
  for (int t = 0; t < 4; t++)
    for (int64_t M = 1; M <= MM; M++) {
      /* A is M x K (lda K) or, transposed, K x M (lda MM) */
      int ta = t & 1, tb = t >> 1;
      int64_t lda = ta ? MM : K, ldb = tb ? K : N;
      mtl_sgemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, N);
      for (int64_t i = 0; i < M; i++) {
        mtl_sgemm(ta, tb, 1, N, K, 1.0f, ta ? A + i : A + i * K, lda, B, ldb, 0.0f, R, N);
        if (memcmp(R, C + i * N, sizeof R) != 0 && !bad++)
          snprintf(first, sizeof first,
                   "row %lld of M=%lld (ta=%d tb=%d) differs from the row alone", (long long)i,
                   (long long)M, ta, tb);
      }
    }
  check("gemm/rows-independent-of-M", bad == 0, "every row of M = 1..19 bit-identical alone",
        bad ? first : NULL, __LINE__);
}

int main(int argc, char **argv) {
  lin_tables();
  if (argc == 3 && !strcmp(argv[1], "--write-ckpt"))
    return write_torch_ckpt(argv[2]);
  bool keep = argc == 3 && !strcmp(argv[1], "--keep"); /* the files, for fuzz seeds */
  if (keep && ((size_t)snprintf(dir, sizeof dir, "%s", argv[2]) >= sizeof dir || mkdir(dir, 0777))) {
    perror(argv[2]);
    return 1;
  }
  if (!keep && (snprintf(dir, sizeof dir, "/tmp/mtlrt.XXXXXX"), !mkdtemp(dir))) {
    perror("mkdtemp");
    return 1;
  }
  make_data();
  test_gemm();
  test_gemm_rows();
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
  test_gzip_streams();
  test_hostile_shapes();
  test_nonfinite_inputs();
  test_csv_text();
  test_not_regular();
  test_ckpt_not_regular();
  test_ckpt_hostile();
  test_resume_step_overflow();
  test_save_safety();
  test_nonfinite_training();
  test_override_checks();
  test_log_writes();
  char cmd[sizeof dir + 16];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (!failures && !keep && system(cmd) != 0)
    printf("could not remove %s\n", dir);
  return failures != 0;
}
