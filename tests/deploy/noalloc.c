/* tests/deploy/noalloc.c: fashion_hard's inference-only C, weights from a
 * blob, under a malloc that counts: linked with -Wl,--wrap=malloc,
 * --wrap=calloc,--wrap=realloc,--wrap=free, so every call to them from
 * this program and from the generated code comes here. Reads the blob
 * (argv[1]) and the first N images of an IDX file (argv[2]), checks that
 * a damaged blob is refused, then counts the allocations made while
 * fashion_hard_predict runs on each image: it prints the count and each
 * image's classes, and exits 1 when anything was allocated. Built with
 * -DNOALLOC_SELFTEST it allocates in that window itself, and must fail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fashion_hard.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t k);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t k);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

static int counting;
static long calls;

void *__wrap_malloc(size_t n) { calls += counting; return __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t k) { calls += counting; return __real_calloc(n, k); }
void *__wrap_realloc(void *p, size_t n) { calls += counting; return __real_realloc(p, n); }
void __wrap_free(void *p) { calls += counting && p; __real_free(p); }

static fashion_hard_input in;
static fashion_hard_output out;

int main(int argc, char **argv) {
  if (argc < 3)
    return 2;
  static unsigned char blob[fashion_hard_WEIGHTS_BYTES + 1];
  FILE *f = fopen(argv[1], "rb");
  size_t n = f ? fread(blob, 1, sizeof blob, f) : 0;
  if (f)
    fclose(f);
  if (n != fashion_hard_WEIGHTS_BYTES || !fashion_hard_weights(blob, n)) {
    fprintf(stderr, "noalloc: %s: the blob is refused (%zu bytes)\n", argv[1], n);
    return 1;
  }
  /* damaged: a short blob, another hash */
  int refused = !fashion_hard_weights(blob, n - 4);
  blob[16] ^= 1;
  refused &= !fashion_hard_weights(blob, n);
  blob[16] ^= 1;
  const float *w = fashion_hard_weights(blob, n);
  void *ws = malloc(fashion_hard_WORKSPACE_BYTES);
  unsigned char px[784];
  f = fopen(argv[2], "rb");
  if (!f || fseek(f, 16, SEEK_SET) != 0)
    return 1;
  int images = argc > 3 ? atoi(argv[3]) : 10;
  for (int i = 0; i < images && fread(px, 1, 784, f) == 784; i++) {
    for (int k = 0; k < 784; k++)
      in.image[0][k] = ((float)px[k] / 255.0f - fashion_hard_image_MEAN) / fashion_hard_image_STD;
    counting = 1;
    fashion_hard_predict(w, &in, &out, ws);
#ifdef NOALLOC_SELFTEST /* the count must see an allocation in the window */
    {
      void *volatile p = malloc(16);
      free(p);
    }
#endif
    counting = 0;
    printf("%d %d\n", out.item_class[0], out.category_class[0]);
  }
  fclose(f);
  free(ws);
  printf("allocations during predict: %ld; damaged blobs refused: %s\n", calls,
         refused ? "yes" : "no");
  return calls == 0 && refused ? 0 : 1;
}
