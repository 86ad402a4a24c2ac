/* ops/tables.c: the tables built from the two lists, ops/ops.def and
 * ops/layers.def: each op's metadata and its four rules (shape, backward,
 * interpreter, kernel IR), and each layer's row (name, signature, flags,
 * summary, its family's argument, shape and lowering rules). A rule that a
 * family's file does not define is a link error. */
#include "ops/ops.h"

const OpInfo op_info[NUM_OPS] = {
#define OP(name, text, arity, kind, flags, operands)                           \
  [OP_##name] = {text, arity, OPK_##kind, flags, operands},
#define PRESET OPF_PRESET
#define VIEW OPF_VIEW
#include "ops/ops.def"
#undef PRESET
#undef VIEW
#undef OP
};

ShapeFn *const shape_rule[NUM_OPS] = {
#define OP(name, text, arity, kind, flags, operands) [OP_##name] = shape_##name,
#include "ops/ops.def"
#undef OP
};

BwdFn *const bwd_rule[NUM_OPS] = {
#define OP(name, text, arity, kind, flags, operands) [OP_##name] = bwd_##name,
#include "ops/ops.def"
#undef OP
};

InterpFn *const interp_rule[NUM_OPS] = {
#define OP(name, text, arity, kind, flags, operands) [OP_##name] = interp_##name,
#include "ops/ops.def"
#undef OP
};

KirFn *const kir_rule[NUM_OPS] = {
#define OP(name, text, arity, kind, flags, operands) [OP_##name] = kir_##name,
#include "ops/ops.def"
#undef OP
};

const LayerRule layer_rules[NUM_LAYERS] = {
#define LAYER(id, name, family, flags, summary)                                \
  [L_##id] = {name, &sig_##id, flags, summary, family##_args, family##_shape,  \
              family##_lower},
#include "ops/layers.def"
#undef LAYER
};

Shape shp(int rank, int64_t d0, int64_t d1, int64_t d2, int64_t d3) {
  return (Shape){rank, {d0, d1, d2, d3}};
}
