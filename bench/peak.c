/* peak.c: the machine's FP32 peak on one core, measured: independent
 * chains of fused multiply-adds on vectors, a multiply-add counted as 2
 * FLOPs. Built with -O2 -march=native; prints GFLOP/s. */
#include <stdio.h>
#include <time.h>

#define LANES 16 /* one AVX-512 vector of floats; the compiler splits it where needed */
#define CHAINS 12
typedef float vec __attribute__((vector_size(4 * LANES)));

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(void) {
  vec acc[CHAINS], a, b;
  for (int i = 0; i < LANES; i++)
    a[i] = 0.999999f, b[i] = 1e-7f;
  for (int c = 0; c < CHAINS; c++)
    acc[c] = b * (float)c;
  const long iters = 20000000;
  double best = 0;
  for (int rep = 0; rep < 5; rep++) {
    double t0 = now();
    for (long i = 0; i < iters; i++)
      for (int c = 0; c < CHAINS; c++)
        acc[c] = acc[c] * a + b;
    double t = now() - t0, flops = 2.0 * LANES * CHAINS * (double)iters;
    best = flops / t / 1e9 > best ? flops / t / 1e9 : best;
  }
  float sink = 0;
  for (int c = 0; c < CHAINS; c++)
    sink += acc[c][0];
  printf("%.1f\n", best + (sink == 12345.f ? 1 : 0));
  return 0;
}
