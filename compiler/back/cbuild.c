/* back/cbuild.c: turns a unit into running code through the C back end: emit
 * the sources into a private temporary folder, compile them with the
 * system's C compiler ($CC, else cc) into a shared object, and load it. The
 * object's calls into the runtime's kernel layer resolve against mtlc
 * itself, which exports them. What `mtlc train --backend c` and
 * `mtlc check-codegen` run on. Its symbols bind within the object
 * (-Bsymbolic), so a model named like a function of libc or of mtlc
 * itself still calls its own. */
#define _GNU_SOURCE /* dladdr */
#include "back/back.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* cc FLAGS -fPIC -shared -o DIR/NAME.so DIR/NAME.c; on failure, the
 * compiler's first lines */
bool cbuild_so(Arena *a, const char *dir, const char *name, const char *flags, bool verbose) {
  const char *cc = getenv("CC");
  if (!cc || !*cc)
    cc = "cc";
  char *src = arena_printf(a, "%s/%s.c", dir, name);
  char *obj = arena_printf(a, "%s/%s.so", dir, name);
  char *log = arena_printf(a, "%s/cc.log", dir);
  char *cmd = arena_printf(a, "%s %s -fPIC -shared -Wl,-Bsymbolic -I'%s' -o '%s' '%s' -lm >'%s' 2>&1",
                           cc, flags, mtlc_runtime_dir(), obj, src, log);
  if (verbose)
    fprintf(stderr, "mtlc: %s\n", cmd);
  int rc = system(cmd);
  if (rc != 0) {
    fprintf(stderr, "mtlc: the C compiler failed on the generated code (%s", cmd);
    fprintf(stderr, "); its output:\n");
    FILE *f = fopen(log, "r");
    if (f) {
      char line[512];
      for (int i = 0; i < 30 && fgets(line, sizeof line, f); i++)
        fputs(line, stderr);
      fclose(f);
    }
    return false;
  }
  return true;
}

void cbuild_clean(Arena *a, const char *dir, const char *name) {
  const char *files[] = {"%s/%s.c", "%s/%s.h", "%s/%s.so", "%s/cc.log", "%s/%s.bin"};
  for (int i = 0; i < 5; i++)
    remove(arena_printf(a, files[i], dir, name));
  rmdir(dir);
}

const MtlModelInfo *cbuild_load(Unit *u, const char *cmdline, bool verbose) {
  Arena *a = u->a;
  const char *tmp = getenv("TMPDIR");
  char *dir = arena_printf(a, "%s/mtlc-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir)) {
    fprintf(stderr, "mtlc: cannot make a temporary folder in %s: %s\n",
            tmp && *tmp ? tmp : "/tmp", strerror(errno));
    return NULL;
  }
  const char *name = u->m->name;
  const MtlModelInfo *info = NULL;
  if (emit_c(u, dir, false, cmdline) && cbuild_so(a, dir, name, "-std=c11 -O3 -march=native", verbose)) {
    char *so = arena_printf(a, "%s/%s.so", dir, name);
    void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    if (!h)
      fprintf(stderr, "mtlc: cannot load the compiled model: %s\n", dlerror());
    else if (!(info = dlsym(h, arena_printf(a, "%s_info", name))))
      fprintf(stderr, "mtlc: the compiled model has no %s_info\n", name);
    else if (info->abi != MTL_MODEL_ABI) {
      fprintf(stderr, "mtlc: the compiled model's ABI is %d, not %d\n", info->abi, MTL_MODEL_ABI);
      info = NULL;
    }
  }
  if (!getenv("MTLC_KEEP_TMP"))
    cbuild_clean(a, dir, name); /* a loaded object stays mapped */
  else
    fprintf(stderr, "mtlc: generated code kept in %s\n", dir);
  return info;
}

/* The headers a model's NAME.h would hide from a program compiled with -I
 * on its folder: the runtime's and the C library's. */
static const char *const headers[] = {
    "mtl", "mtl_kernel", "mtl_model", "assert", "complex", "ctype", "errno", "fenv", "float",
    "inttypes", "iso646", "limits", "locale", "math", "setjmp", "signal", "stdalign",
    "stdarg", "stdatomic", "stdbit", "stdbool", "stdckdint", "stddef", "stdint", "stdio",
    "stdlib", "stdnoreturn", "string", "tgmath", "threads", "time", "uchar", "wchar",
    "wctype", "pthread", "unistd", "cblas", "openblas_config", "zlib", NULL};

/* A program that links a model's code beside the C library, libm,
 * OpenBLAS and mtlc's runtime calls the model's NAME_init wherever one of
 * those libraries defines the same name (a model named pthread_mutex
 * would receive libc's and OpenBLAS's calls to pthread_mutex_init). mtlc
 * loads its own code with its symbols bound locally, so only the
 * standalone outputs are refused: this process links exactly those
 * libraries, so a symbol it finds is one such a program would collide
 * with. mtlc's own functions count only in the runtime's name space. */
bool exports_free(Unit *u, const char *const *exports) {
  const char *name = u->m->name, *spec = u->m->src->path;
  for (int i = 0; headers[i]; i++)
    if (!strcmp(name, headers[i])) {
      fprintf(stderr, "mtlc: %s: model '%s' would write %s.h, which would hide <%s.h> from a "
                      "program compiled with -I on its folder. Rename the model (model NAME "
                      "in the spec); mtlc train and check-codegen are not affected\n",
              spec, name, name, name);
      return false;
    }
  Dl_info self;
  if (!dladdr((void *)exports_free, &self))
    self.dli_fname = NULL;
  for (int i = 0; exports[i]; i++) {
    const char *sym = arena_printf(u->a, "%s_%s", name, exports[i]);
    void *p = dlsym(RTLD_DEFAULT, sym);
    Dl_info where;
    if (!p || !dladdr(p, &where))
      continue;
    bool ours = self.dli_fname && where.dli_fname && !strcmp(self.dli_fname, where.dli_fname);
    if (ours && strncmp(sym, "mtl_", 4))
      continue;
    fprintf(stderr,
            "mtlc: %s: model '%s' would export %s, which %s defines already: a program "
            "linking both would call the wrong one. Rename the model (model NAME in the "
            "spec); mtlc train and check-codegen are not affected\n",
            spec, name, sym,
            ours ? "mtlc's runtime" : where.dli_fname ? where.dli_fname : "a system library");
    return false;
  }
  return true;
}
