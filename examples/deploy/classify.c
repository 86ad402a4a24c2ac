/* classify.c: a deployed model. It links the inference-only C that
 * `mtlc emit-c specs/fashion_hard.mtl --infer --weights CKPT` writes (the
 * trained weights are in it) and classifies Fashion-MNIST images: 28x28
 * PGM files (P5), or the images of an IDX file. No mtlc, no runtime, no
 * BLAS, no allocation: C99 and the standard library.
 *   ./classify IMAGE.pgm...        item and category of each image
 *   ./classify --idx FILE [N]      of the first N (default 10) images
 *   --logits                       every logit too, %.9g
 *   --bench N                      microseconds per NAME_predict (of fashion_hard_BATCH
 *                                  samples, as emit-c --batch made it), median of 5 runs of N */
#define _POSIX_C_SOURCE 199309L /* clock_gettime, where there is one */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fashion_hard.h"

static const char *const items[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
static const char *const categories[5] = {"tops", "trousers", "dresses", "footwear", "bags"};

/* static: nothing here is allocated either */
static fashion_hard_input in;
static fashion_hard_output out;
static float workspace[fashion_hard_WORKSPACE_BYTES / sizeof(float) + 1];
static int show_logits;

/* 8-bit pixels to the model's input, normalized as in training */
static void set_image(const unsigned char *px) {
  int i;
  for (i = 0; i < 784; i++)
    in.image[0][i] = ((float)px[i] / 255.0f - fashion_hard_image_MEAN) / fashion_hard_image_STD;
}

static void report(const char *name, long index) {
  int i, c, k;
  fashion_hard_predict(&in, &out, workspace);
  c = out.item_class[0], k = out.category_class[0];
  printf("%s[%ld]  item %d %s (%.3f)  category %d %s (%.3f)", name, index, c, items[c],
         (double)out.item_probs[0][c], k, categories[k], (double)out.category_probs[0][k]);
  if (show_logits) {
    printf("  logits");
    for (i = 0; i < 10; i++)
      printf(" %.9g", (double)out.item_logits[0][i]);
    for (i = 0; i < 5; i++)
      printf(" %.9g", (double)out.category_logits[0][i]);
  }
  putchar('\n');
}

/* a 28x28 P5 PGM with maxval 255 */
static int read_pgm(const char *path, unsigned char *px) {
  FILE *f = fopen(path, "rb");
  int w = 0, h = 0, maxv = 0, ok;
  if (!f) {
    fprintf(stderr, "classify: cannot open %s\n", path);
    return 0;
  }
  ok = fscanf(f, "P5 %d %d %d", &w, &h, &maxv) == 3 && w == 28 && h == 28 && maxv == 255 &&
       fgetc(f) != EOF && fread(px, 1, 784, f) == 784;
  fclose(f);
  if (!ok)
    fprintf(stderr, "classify: %s is not a 28x28 8-bit PGM (P5) image\n", path);
  return ok;
}

static int classify_idx(const char *path, long n) {
  unsigned char head[16], px[784];
  long i;
  FILE *f = fopen(path, "rb");
  if (!f || fread(head, 1, 16, f) != 16 || head[2] != 8 || head[3] != 3) {
    fprintf(stderr, "classify: %s is not an IDX file of images (gunzip it first)\n", path);
    if (f)
      fclose(f);
    return 1;
  }
  for (i = 0; i < n && fread(px, 1, 784, f) == 784; i++) {
    set_image(px);
    report(path, i);
  }
  fclose(f);
  return 0;
}

/* seconds of wall time where POSIX has a monotonic clock, else of CPU time */
static double seconds(void) {
#ifdef CLOCK_MONOTONIC
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
#else
  return (double)clock() / CLOCKS_PER_SEC;
#endif
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int bench(long steps) {
  double us[5];
  unsigned char px[784];
  int r, i;
  long s;
  for (i = 0; i < 784; i++)
    px[i] = (unsigned char)(i * 7 % 256);
  set_image(px);
  for (s = 0; s < 20; s++)
    fashion_hard_predict(&in, &out, workspace);
  for (r = 0; r < 5; r++) {
    double t0 = seconds();
    for (s = 0; s < steps; s++)
      fashion_hard_predict(&in, &out, workspace);
    us[r] = 1e6 * (seconds() - t0) / (double)steps;
  }
  printf("{\"backend\": \"inference-only C\", \"batch\": %d, \"us_per_call\": [%.2f, %.2f, "
         "%.2f, %.2f, %.2f]", fashion_hard_BATCH, us[0], us[1], us[2], us[3], us[4]);
  qsort(us, 5, sizeof us[0], cmp);
  printf(", \"median\": %.2f, \"min\": %.2f, \"max\": %.2f}\n", us[2], us[0], us[4]);
  return 0;
}

int main(int argc, char **argv) {
  int i, rc = 0;
  unsigned char px[784];
  if (argc < 2) {
    fprintf(stderr, "usage: classify [--logits] IMAGE.pgm... | --idx FILE [N] | --bench N\n");
    return 2;
  }
  for (i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--logits"))
      show_logits = 1;
    else if (!strcmp(argv[i], "--bench") && i + 1 < argc)
      return bench(atol(argv[i + 1]));
    else if (!strcmp(argv[i], "--idx") && i + 1 < argc) {
      long n = i + 2 < argc ? atol(argv[i + 2]) : 10;
      return classify_idx(argv[i + 1], n > 0 ? n : 10);
    } else if (read_pgm(argv[i], px)) {
      set_image(px);
      report(argv[i], 0);
    } else
      rc = 1;
  }
  return rc;
}
