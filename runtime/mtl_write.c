/* mtl_write.c: checked writes, and files replaced atomically: a
 * temporary file beside the target, created with O_CREAT | O_EXCL (so a
 * symbolic link planted under its name is never followed), written,
 * fsync'ed, renamed over the target, the folder fsync'ed; all through one
 * descriptor of the folder, so the folder cannot be swapped mid-way. A
 * writer killed before its rename leaves its temporary behind; the next
 * write to the same target removes it before it makes its own, when it is
 * a regular file of this user whose process is gone. Several files can be
 * replaced together: all their temporaries are written and synced before
 * the first rename, so a failed write (a full disk) replaces none. What is
 * written is the caller's. */
#include "mtl_write.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

bool mtl_write_all(int fd, const void *p, size_t n) {
  const char *q = p;
  while (n) {
    ssize_t k = write(fd, q, n);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0) {
      if (k == 0)
        errno = ENOSPC;
      return false;
    }
    q += k, n -= (size_t)k;
  }
  return true;
}

/* ---- temporary files: BASE.tmp.PID.XXXXXX beside the target --------------- */

/* Creates BASE.tmp.PID.XXXXXX in the folder; O_EXCL fails on any name that
 * exists, a symbolic link included. */
static int create_temp(int dfd, const char *base, char *name, size_t cap) {
  static uint64_t counter;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t x = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30 ^ (uint64_t)getpid() << 40 ^
               ++counter;
  for (int tries = 0; tries < 100; tries++) {
    uint64_t r = mtl_splitmix64(&x);
    char suffix[7];
    for (int i = 0; i < 6; i++, r /= 36)
      suffix[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[r % 36];
    suffix[6] = '\0';
    if ((size_t)snprintf(name, cap, "%s.tmp.%ld.%s", base, (long)getpid(), suffix) >= cap) {
      errno = ENAMETOOLONG;
      return -1;
    }
    int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST)
      return fd;
  }
  return -1;
}

/* the PID in a name BASE.tmp.PID.XXXXXX, or 0 when it is not one */
static long temp_pid(const char *name, const char *base) {
  size_t bl = strlen(base);
  if (strncmp(name, base, bl) || strncmp(name + bl, ".tmp.", 5))
    return 0;
  const char *q = name + bl + 5;
  long pid = 0;
  for (; *q >= '0' && *q <= '9' && pid < 1L << 40; q++)
    pid = pid * 10 + (*q - '0');
  if (*q++ != '.' || strlen(q) != 6)
    return 0;
  for (int i = 0; i < 6; i++)
    if (!((q[i] >= 'a' && q[i] <= 'z') || (q[i] >= '0' && q[i] <= '9')))
      return 0;
  return pid;
}

/* Removes the temporaries of earlier writes to BASE that died before their
 * rename (kill -9, a crash): regular files of this user named as
 * create_temp names them, whose process is gone or is this one (which
 * writes one file at a time). A live process's temporary is left alone. */
static void remove_stale(int dfd, const char *base) {
  int fd = dup(dfd);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (!d) {
    if (fd >= 0)
      close(fd);
    return;
  }
  struct dirent *e;
  while ((e = readdir(d))) {
    long pid = temp_pid(e->d_name, base);
    struct stat st;
    if (pid <= 0 || (pid != (long)getpid() && (kill((pid_t)pid, 0) == 0 || errno != ESRCH)))
      continue;
    if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
        st.st_uid == geteuid())
      unlinkat(dfd, e->d_name, 0);
  }
  closedir(d);
}

/* ---- replacing a file ------------------------------------------------------ */

/* The folder of path and its last component: "a/b/c.st" is "a/b", "c.st". */
static bool split_path(const char *path, char *dir, size_t cap, const char **base) {
  const char *slash = strrchr(path, '/');
  *base = slash ? slash + 1 : path;
  int k = !slash ? snprintf(dir, cap, ".") : slash == path ? snprintf(dir, cap, "/")
          : snprintf(dir, cap, "%.*s", (int)(slash - path), path);
  return (size_t)k < cap;
}

/* the body into the temporary file, then fsync and close */
static bool fill(int fd, int dfd, const char *base, bool (*body)(int, void *), void *ctx,
                 const char **step) {
  struct stat st; /* the file it replaces keeps its permissions */
  if (fstatat(dfd, base, &st, 0) == 0 && S_ISREG(st.st_mode))
    fchmod(fd, st.st_mode & 07777);
  *step = "cannot write";
  bool ok = body(fd, ctx);
  if (ok)
    *step = "cannot sync", ok = fsync(fd) == 0;
  int saved = errno;
  if (close(fd) != 0 && ok)
    *step = "cannot close", ok = false;
  else
    errno = saved;
  return ok;
}

/* One file being replaced: its folder, its temporary. */
typedef struct {
  int dfd;       /* the folder, or -1 */
  const char *base;
  char dir[4096], tmp[512];
  bool made;     /* the temporary exists */
} Pending;

/* Writes the temporary of f into p: false with *step and errno set. */
static bool prepare(Pending *p, const MtlOutFile *f, const char **step) {
  *step = "cannot create a temporary file in its folder";
  if (!split_path(f->path, p->dir, sizeof p->dir, &p->base)) {
    errno = ENAMETOOLONG;
    return false;
  }
  p->dfd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (p->dfd < 0)
    return false;
  remove_stale(p->dfd, p->base); /* first, so that at most one temporary is ever left: its own */
  int fd = create_temp(p->dfd, p->base, p->tmp, sizeof p->tmp);
  p->made = fd >= 0;
  return p->made && fill(fd, p->dfd, p->base, f->body, f->ctx, step);
}

bool mtl_write_replace_all(const MtlOutFile *f, int n) {
  Pending *p = calloc((size_t)n + 1, sizeof *p);
  if (!p) {
    mtl_set_error("%s: out of memory", n ? f[0].path : "");
    return false;
  }
  const char *step = "";
  int i = 0, renamed = 0;
  bool ok = true;
  for (; i < n; i++)
    p[i].dfd = -1;
  for (i = 0; ok && i < n; i++)
    ok = prepare(&p[i], &f[i], &step);
  int at = i - 1; /* the file that failed */
  for (i = 0; ok && i < n; i++, renamed++) {
    step = "cannot rename the temporary file over it", at = i;
    ok = renameat(p[i].dfd, p[i].tmp, p[i].dfd, p[i].base) == 0;
    if (ok)
      p[i].made = false; /* it is the target now */
  }
  for (i = 0; ok && i < n; i++) /* some file systems cannot sync a folder: EINVAL */
    step = "cannot sync its folder", at = i, ok = fsync(p[i].dfd) == 0 || errno == EINVAL;
  if (!ok) {
    int saved = errno;
    mtl_set_error("%s: %s: %s%s", f[at].path, step, strerror(saved),
                  renamed && renamed < n ? " (the files before it were replaced)" : "");
  }
  for (i = 0; i < n; i++) {
    if (p[i].made)
      unlinkat(p[i].dfd, p[i].tmp, 0);
    if (p[i].dfd >= 0)
      close(p[i].dfd);
  }
  free(p);
  return ok;
}

bool mtl_write_replace(const char *path, bool (*body)(int fd, void *ctx), void *ctx) {
  MtlOutFile f = {path, body, ctx};
  return mtl_write_replace_all(&f, 1);
}

bool mtl_write_bytes(int fd, void *ctx) {
  const MtlBytes *b = ctx;
  return mtl_write_all(fd, b->p, b->n);
}
