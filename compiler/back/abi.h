/* back/abi.h: MtlModelInfo (runtime/mtl_model.h) described once, field by
 * field, with the C compiler's own offsets (abi.c). Both back ends write a
 * model's description from it: emit_c.c as C initializers, emit_llvm.c as
 * LLVM constants whose struct layout is checked against every offset. */
#ifndef MTLC_ABI_H
#define MTLC_ABI_H
#include "mtlc.h"

typedef enum {
  AF_I32,   /* int, or an enum */
  AF_I64,   /* int64_t */
  AF_U64,   /* uint64_t */
  AF_F32,
  AF_F64,
  AF_STR,   /* const char *, never NULL */
  AF_DIMS,  /* int64_t[4] */
  AF_TABLE, /* const T *: count elements, counted by another member (structs, or
             * AF_I32, AF_I64, AF_F64 scalars) */
  AF_FN,    /* an entry point: the model's NAME_<fn> */
} AbiKind;

typedef struct AbiStruct AbiStruct;

typedef struct {
  const char *name;
  AbiKind kind;
  size_t offset;
  const AbiStruct *elem;   /* AF_TABLE of structs */
  AbiKind elem_kind;       /* AF_TABLE of scalars (AF_I32, AF_I64) when elem is NULL */
  const char *count;       /* AF_TABLE: the member that counts it */
  const char *const *enum_names; /* AF_I32: the enumerators' names, or NULL */
  int n_enum;
  const char *fn;          /* AF_FN: the entry point's suffix, "train_step" */
} AbiField;

struct AbiStruct {
  const char *name; /* the C type */
  size_t size, align;
  int nfields;
  const AbiField *fields;
};

extern const AbiStruct abi_model_info;

/* a field's value in an instance */
int64_t abi_int(const void *base, const AbiField *f);
double abi_real(const void *base, const AbiField *f);
const void *abi_ptr(const void *base, const AbiField *f);
/* the count of a table field, from its counting member */
int abi_count(const void *base, const AbiStruct *s, const AbiField *f);
size_t abi_elem_size(const AbiField *f);
const char *abi_elem_ctype(const AbiField *f); /* an AF_TABLE's element, in C */
/* whether a model defines the entry point f (AF_FN) */
bool abi_fn_defined(const void *info, const AbiField *f);

#endif
