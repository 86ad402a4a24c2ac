/* specs/data/tabular.c: the data of specs/tabular.mtl, made up and
 * deterministic (the same files on every machine: a splitmix64 stream, no
 * libc random numbers). Each row is a customer:
 *   x0..x3   four numeric features, already standardized: N(0, 1), x1 and
 *            x2 correlated (0.6)
 *   region   0..7, plan 0..3, device 0..4: categorical, written as ids of
 *            one embedding table with offsets (region 0..7, plan 8..11,
 *            device 12..16), so that one input i32[3] holds them
 *   churn    binary: a logistic draw from a score with an interaction of
 *            x0 and the plan, a bump in x3 and a per-region effect
 *   spend    real: a smooth function of x1, x2, the plan and the device,
 *            plus N(0, 0.3) noise
 * Usage: tabular DIR [N_TRAIN [N_TEST]] writes DIR/train.csv and
 * DIR/test.csv (20000 and 5000 rows by default), with a header row.
 * Build: cc -O2 -o tabular specs/data/tabular.c -lm. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t state = 0x7ab1e5eedull;

static uint64_t next(void) { /* splitmix64 */
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static double uniform(void) { return (double)(next() >> 11) * 0x1.0p-53; }

static double normal(void) { /* Box-Muller, one value a call */
  double u = uniform(), v = uniform();
  return sqrt(-2 * log(u > 0 ? u : 0x1.0p-53)) * cos(6.283185307179586 * v);
}

static const double region_effect[8] = {-1.2, -0.6, -0.2, 0, 0.1, 0.4, 0.8, 1.3};
static const double plan_slope[4] = {-1.5, -0.5, 0.5, 1.5};
static const double plan_spend[4] = {0.2, 0.8, 1.6, 3.0};
static const double device_spend[5] = {-0.4, 0, 0.3, 0.5, -0.2};

static int write_rows(const char *path, long n) {
  FILE *f = fopen(path, "w");
  if (!f) {
    perror(path);
    return 1;
  }
  fprintf(f, "x0,x1,x2,x3,region,plan,device,churn,spend\n");
  for (long i = 0; i < n; i++) {
    double x0 = normal(), x1 = normal(), x2 = 0.6 * x1 + 0.8 * normal(), x3 = normal();
    int region = (int)(next() % 8), plan = (int)(next() % 4), device = (int)(next() % 5);
    double score = plan_slope[plan] * x0 + 1.5 * exp(-2 * x3 * x3) - 0.7 + region_effect[region];
    int churn = uniform() < 1 / (1 + exp(-2 * score));
    double spend = plan_spend[plan] + device_spend[device] + 0.8 * tanh(2 * x1) + 0.5 * x2 * x2 +
                   0.3 * normal();
    fprintf(f, "%.5f,%.5f,%.5f,%.5f,%d,%d,%d,%d,%.5f\n", x0, x1, x2, x3, region, 8 + plan,
            12 + device, churn, spend);
  }
  if (fclose(f) != 0) {
    perror(path);
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s DIR [N_TRAIN [N_TEST]]\n", argv[0]);
    return 2;
  }
  long ntrain = argc > 2 ? atol(argv[2]) : 20000, ntest = argc > 3 ? atol(argv[3]) : 5000;
  char path[4096];
  snprintf(path, sizeof path, "%s/train.csv", argv[1]);
  if (write_rows(path, ntrain))
    return 1;
  snprintf(path, sizeof path, "%s/test.csv", argv[1]);
  if (write_rows(path, ntest))
    return 1;
  printf("%s/train.csv: %ld rows, %s/test.csv: %ld rows\n", argv[1], ntrain, argv[1], ntest);
  return 0;
}
