/* mtl_write.h: how libmtlrt writes files, and mtlc its outputs (emit-c,
 * emit-llvm); not installed with the trainer's headers. Every
 * write is checked and a failure names the file; a file that replaces
 * another (a checkpoint) appears whole or not at all. */
#ifndef MTL_WRITE_H
#define MTL_WRITE_H

#include "mtl.h"

/* all of p[0, n) to fd; false with errno set (ENOSPC for a write of 0) */
bool mtl_write_all(int fd, const void *p, size_t n);

/* Writes path whole or not at all: body writes into a temporary file
 * PATH.tmp.PID.XXXXXX created exclusively beside path (never through a
 * link planted there), which is fsync'ed, renamed over path (keeping its
 * permissions), and its folder fsync'ed. First the temporaries of earlier
 * writes to path whose process died are removed, so a crash leaves at
 * most one. On failure nothing is left and mtl_error() names path, the
 * step and the cause. */
bool mtl_write_replace(const char *path, bool (*body)(int fd, void *ctx), void *ctx);

/* Several files together, as mtl_write_replace writes one: every
 * temporary is written and synced before the first is renamed, so a write
 * that fails (a full disk) leaves every target as it was. */
typedef struct {
  const char *path;
  bool (*body)(int fd, void *ctx);
  void *ctx;
} MtlOutFile;
bool mtl_write_replace_all(const MtlOutFile *f, int n);

/* a body for mtl_write_replace: ctx is an MtlBytes */
typedef struct {
  const void *p;
  size_t n;
} MtlBytes;
bool mtl_write_bytes(int fd, void *ctx);

#endif
