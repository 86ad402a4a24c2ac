/* mtl_read.h: what the runtime's file readers share; internal to
 * libmtlrt, not installed. A file is read whole (gunzipped when it is
 * gzip) into Bytes; a format's parser (mtl_idx.c, mtl_npy.c, mtl_csv.c)
 * turns it into a View: a typed, shaped window on the values, which
 * mtl_data.c converts into an MtlArray. */
#ifndef MTL_READ_H
#define MTL_READ_H

#include "mtl.h"

typedef struct {
  uint8_t *p;
  size_t n;
} Bytes;

typedef enum { E_BOOL, E_U8, E_I8, E_U16, E_I16, E_U32, E_I32, E_U64, E_I64, E_F32, E_F64 } Elem;
extern const int mtl_elem_size[];
extern const char *const mtl_elem_name[];

/* n samples of ndim-1 dims each, stored as elem, big-endian when swap. */
typedef struct {
  const uint8_t *p;
  Elem elem;
  bool swap, scale; /* scale: unsigned bytes (IDX or .npy), read to [0, 1] as f32 */
  int ndim;
  int64_t dims[8];
} View;

/* the whole file, gunzipped when it is gzip; false with mtl_error() set */
bool mtl_read_file(const char *path, Bytes *out);
bool mtl_little_endian(void);
double mtl_view_f64(const View *v, int64_t i);   /* element i, as a double */
int64_t mtl_view_numel(const View *v, int from); /* product of dims[from..] */
/* the dims against the bytes after the header: not truncated, nothing left over */
bool mtl_view_check_size(const char *path, const View *v, size_t avail);

/* the formats, each in its own file */
bool mtl_idx_parse(const char *path, const Bytes *b, View *v);
bool mtl_npy_parse(const char *path, const Bytes *b, View *v);
/* the chosen columns as f64 into *vals (rows x ncols, malloc'ed) */
bool mtl_csv_parse(const char *path, const Bytes *b, const int64_t *cols, int ncols, int delim,
                   double **vals, View *v);

#endif
