/* mtl_read.h: what the runtime's file readers share; internal to
 * libmtlrt, not installed. A data file is never read whole: an MtlStream reads
 * it in order (gunzipped when it is gzip), a format's reader (mtl_idx.c,
 * mtl_npy.c, mtl_csv.c) reads its header and describes the values in a
 * View, and mtl_data.c checks that View against what the model wants before
 * it reads the data, in chunks, into an MtlArray. So a file that claims
 * more than it holds, or other than the model needs, costs no memory.
 * (Text files of ids, mtl_text.c, are read whole: mtl_read_file.) */
#ifndef MTL_READ_H
#define MTL_READ_H

#define ZLIB_CONST /* z_stream.next_in is const: it may point at the caller's bytes */
#include <zlib.h>

#include "mtl.h"

/* A regular file (or, for fuzzers and tests, bytes in memory) read in
 * order. With gunzip, a file that starts with gzip's magic is inflated: one
 * or more gzip members and nothing after them. */
typedef struct {
  const char *path;  /* for messages */
  int fd;            /* -1: bytes in memory */
  bool gz, eof, member_end, z_live;
  z_stream z;        /* next_in, avail_in: the unread input, inflated or not */
  uint64_t size;     /* the file's bytes (compressed ones when gz) */
  uint64_t taken;    /* of them, read so far */
  uint8_t back[16];  /* bytes given back by mtl_stream_unread */
  int nback;
  uint8_t *buf;      /* the fd's read buffer */
} MtlStream;

/* Opens a regular file: a folder, a device, a FIFO or a socket is an error
 * naming the file (and is never opened). */
bool mtl_stream_open(MtlStream *s, const char *path, bool gunzip);
/* n < 4 GiB bytes at p, named name in messages (the fuzz harnesses') */
void mtl_stream_mem(MtlStream *s, const char *name, const void *p, size_t n, bool gunzip);
/* Up to n bytes; *got < n only at the end. False with mtl_error() set. */
bool mtl_stream_read(MtlStream *s, void *buf, size_t n, size_t *got);
/* gives back the last n <= 16 bytes read, for the next read */
void mtl_stream_unread(MtlStream *s, const void *buf, size_t n);
/* bytes left to read when not gzip (exact); UINT64_MAX when gzip */
uint64_t mtl_stream_left(const MtlStream *s);
/* true in *end when no byte is left */
bool mtl_stream_at_end(MtlStream *s, bool *end);
void mtl_stream_close(MtlStream *s);

typedef enum { E_BOOL, E_U8, E_I8, E_U16, E_I16, E_U32, E_I32, E_U64, E_I64, E_F32, E_F64 } Elem;
extern const int mtl_elem_size[];
extern const char *const mtl_elem_name[];

/* dims[0] samples of dims[1..ndim) each, stored as elem, big-endian when
 * swap; p: a chunk of the values, when they are read. */
typedef struct {
  const uint8_t *p;
  Elem elem;
  bool swap, scale; /* scale: unsigned bytes (IDX or .npy), read to [0, 1] as f32 */
  int ndim;
  int64_t dims[8];
} View;

bool mtl_little_endian(void);
double mtl_view_f64(const View *v, int64_t i); /* element i of v->p, as a double */
/* samples, values per sample and data bytes of the shape, checked for
 * overflow; false with mtl_error() set when the shape is too large */
bool mtl_view_sizes(const char *path, const View *v, int64_t *n, int64_t *per, uint64_t *bytes);
/* "[60000, 28, 28] of u8", for messages */
void mtl_view_text(char *buf, size_t cap, const View *v);

/* the formats' headers, each in its own file: on return the stream is at
 * the first value */
bool mtl_idx_header(MtlStream *s, View *v);
bool mtl_npy_header(MtlStream *s, View *v);
/* CSV is text: the chosen columns of every row as f64, read whole into
 * *vals (rows x ncols, malloc'ed; finite, or an error naming the line and
 * column), described by *v */
bool mtl_csv_read(MtlStream *s, const int64_t *cols, int ncols, int delim, double **vals,
                  View *v);

/* A file of any format (mtl_data.c), from a stream: what mtl_load does.
 * `what` describes the model's need for shape errors (or NULL). */
bool mtl_read_array(MtlArray *out, MtlStream *s, MtlDtype want, int64_t width, int csv_column,
                    const int64_t *csv_columns, int n_csv_columns, int delim, const char *what);
/* A checkpoint from a stream (mtl_ckpt.c): what mtl_ckpt_load does. */
bool mtl_ckpt_read(MtlStream *s, const MtlModelInfo *m, float *params, float *state, float *stats,
                   MtlCkptMeta *meta);

/* Text read as lines (mtl_text.c) is the one reader that takes a file
 * whole: a regular file, gunzipped when it is gzip, into malloc'ed bytes. */
typedef struct {
  uint8_t *p;
  size_t n;
} Bytes;
bool mtl_read_file(const char *path, Bytes *out);

#endif
