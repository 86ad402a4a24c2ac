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

/* twelve independent chains, each its own variable so that they stay in
 * registers: enough to cover the FMA latency on two ports */
#define STEP(x) x = x * a + b
int main(void) {
  vec a, b;
  for (int i = 0; i < LANES; i++)
    a[i] = 0.999999f, b[i] = 1e-7f;
  vec c0 = b, c1 = b * 2, c2 = b * 3, c3 = b * 4, c4 = b * 5, c5 = b * 6;
  vec c6 = b * 7, c7 = b * 8, c8 = b * 9, c9 = b * 10, c10 = b * 11, c11 = b * 12;
  const long iters = 20000000;
  double best = 0;
  for (int rep = 0; rep < 5; rep++) {
    double t0 = now();
    for (long i = 0; i < iters; i++) {
      STEP(c0), STEP(c1), STEP(c2), STEP(c3), STEP(c4), STEP(c5);
      STEP(c6), STEP(c7), STEP(c8), STEP(c9), STEP(c10), STEP(c11);
      __asm__ volatile("" : "+v"(c0), "+v"(c1), "+v"(c2), "+v"(c3), "+v"(c4), "+v"(c5),
                       "+v"(c6), "+v"(c7), "+v"(c8), "+v"(c9), "+v"(c10), "+v"(c11));
    }
    double t = now() - t0, flops = 2.0 * LANES * CHAINS * (double)iters;
    best = flops / t / 1e9 > best ? flops / t / 1e9 : best;
  }
  vec sum = c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11;
  printf("%.1f\n", best + (sum[0] == 12345.f ? 1 : 0));
  return 0;
}
