/* check/layers.c: what the layer table's shape rules share (the rules
 * themselves are in their families' files, ops/FAMILY.c): limits on
 * tensor sizes, saturating counts, the hint for maps given a vector, and
 * looking a layer up by name. */
#include "check/sema.h"

#include <math.h>
#include <string.h>

int find_layer(const char *name) {
  for (int i = 0; i < NUM_LAYERS; i++)
    if (!strcmp(layer_rules[i].name, name))
      return i;
  return -1;
}

const char *layer_list(Sema *s) {
  const char *list = "layers:";
  for (int i = 0; i < NUM_LAYERS; i++)
    list = arena_printf(s->a, "%s%s %s", list, i ? "," : "", layer_rules[i].name);
  return list;
}

bool layer_too_big(Sema *s, Call *c, Shape sh) {
  double n = 1;
  for (int i = 0; i < sh.rank; i++)
    n *= (double)sh.d[i];
  if (n > (double)MAX_ELEMS) {
    ERR(c->span, "%s gives an output of %.3g elements per sample, more than "
        "mtlc supports (%lld)", c->name, n, (long long)MAX_ELEMS);
    return true;
  }
  return false;
}

/* A weight tensor is a tensor: at most MAX_ELEMS elements. */
bool layer_too_many_weights(Sema *s, Call *c, double n) {
  if (n > (double)MAX_ELEMS) {
    ERR(c->span, "%s has a weight of %.3g elements, more than mtlc supports "
        "(%lld)", c->name, n, (long long)MAX_ELEMS);
    return true;
  }
  return false;
}

/* The FLOPs of an absurd but legal model must not wrap around. */
int64_t sat_add(int64_t a, int64_t b) { return a > INT64_MAX - b ? INT64_MAX : a + b; }

int64_t sat_mul(int64_t a, int64_t b) { return b && a > INT64_MAX / b ? INT64_MAX : a * b; }

/* What to do when conv2d or a pooling gets a vector or a sequence: declare
 * the input as an image, or move the layer before flatten and dense. */
const char *image_hint(Sema *s, Shape in) {
  if (s->at_input && in.rank == 2)
    return arena_printf(s->a, "the input is a sequence [T, D]; an image needs its "
                        "channels: declare it like f32[1, %lld, %lld]", (long long)in.d[0],
                        (long long)in.d[1]);
  if (!s->at_input || in.rank != 1)
    return "conv2d and pooling work on [C, H, W] maps, so use them before "
           "flatten and dense";
  int64_t side = (int64_t)floor(sqrt((double)in.d[0]) + 0.5);
  if (side * side == in.d[0])
    return arena_printf(s->a, "declare the input as an image with its "
                        "channels, like f32[1, %lld, %lld]", (long long)side,
                        (long long)side);
  return "declare the input as an image with its channels, like "
         "f32[1, 28, 28]";
}

int64_t int_arg(Value *v, int64_t dflt) { return v ? (int64_t)v->num : dflt; }

bool bool_arg(Value *v, bool dflt) { return v ? v->num != 0 : dflt; }
