# mtlc: a compiler for multi-task neural networks.
#   make          build build/mtlc
#   make deps     install what is missing (Debian 12, apt-get)
#   make test     run every test; ends with "N passed, N failed"
#   make example  train the main example (specs/fashion_hard.mtl)
#   make bench    mtlc against PyTorch and onnxruntime; writes bench/RESULTS.md
#   make bench-mpi  data parallel over MPI against PyTorch DDP (bench/mpi.sh, also
#                 make bench's last stage); writes its section of bench/RESULTS.md
#   make bench-mtl  the balancing methods (bench/mtl.sh); writes bench/MTL.md
#   make bench-arch  the sharing architectures against PyTorch (bench/arch.sh);
#                 writes the architecture section of bench/MTL.md
#   make asan     the front end under ASan/UBSan on the robustness corpus
#   make fuzz     each of the runtime's readers under libFuzzer, FUZZ_TIME s each
#   make install  PREFIX=/usr/local DESTDIR=: mtlc, libmtlrt.a and .so, the
#                 headers, mtlrt.pc (pkg-config) and the man page mtlc(1);
#                 with MPI also libmtlc-mpi.so
CC      ?= cc
CFLAGS  ?= -O2 -g
WARN     = -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CPPFLAGS = -D_POSIX_C_SOURCE=200809L -I$(B) -Icompiler -Iruntime
LDLIBS   = -lz -lm
B        = build

# the compiler, by stage (DESIGN.md's pipeline)
SRCS = compiler/main.c \
       compiler/base/arena.c compiler/base/diag.c \
       compiler/front/ast.c \
       compiler/check/sema.c compiler/check/args.c compiler/check/layers.c \
       compiler/check/nets.c compiler/check/tasks.c compiler/check/recipe.c \
       compiler/check/data.c compiler/check/text.c compiler/check/summary.c compiler/check/sharing.c \
       compiler/check/balance.c \
       compiler/ops/tables.c compiler/ops/dense.c compiler/ops/conv.c compiler/ops/pool.c \
       compiler/ops/act.c compiler/ops/norm.c compiler/ops/loss.c compiler/ops/optim.c \
       compiler/ops/tensor.c compiler/ops/embed.c compiler/ops/conv1d.c compiler/ops/predict.c \
       compiler/ops/mix.c compiler/ops/balance.c \
       compiler/graph/ir.c compiler/graph/lower.c compiler/graph/autodiff.c \
       compiler/graph/interp.c compiler/graph/gradcheck.c compiler/graph/balance.c \
       compiler/kir/build.c compiler/kir/passes.c compiler/kir/unit.c compiler/kir/print.c \
       compiler/kir/gemm.c compiler/kir/infer.c \
       compiler/back/abi.c compiler/back/emit_c.c compiler/back/emit_infer.c compiler/back/cbuild.c \
       compiler/back/modinfo.c compiler/back/llvmload.c compiler/back/mpiload.c compiler/back/paths.c \
       compiler/tools/codegen_check.c compiler/tools/bench.c compiler/tools/plot.c \
       compiler/tools/graph.c compiler/tools/deploy.c compiler/tools/infer_check.c \
       compiler/tools/predict.c compiler/tools/image.c compiler/tools/gendata.c
# the LLVM back end: a shared object that mtlc loads when it needs it
LLVM_SRCS = compiler/back/emit_llvm.c compiler/back/jit.c
HDRS = $(wildcard compiler/*.h compiler/*/*.h compiler/*/*.def)
GEN  = $(B)/parser.c $(B)/lexer.c
OBJS = $(SRCS:compiler/%.c=$(B)/obj/%.o) $(GEN:.c=.o)

# the runtime: libmtlrt.a; CBLAS=0 builds its portable GEMM instead of OpenBLAS
CBLAS ?= 1
RT_SRCS = runtime/mtl_kernel.c runtime/mtl_gemm.c runtime/mtl_error.c runtime/mtl_read.c runtime/mtl_idx.c \
          runtime/mtl_npy.c runtime/mtl_csv.c runtime/mtl_text.c runtime/mtl_data.c runtime/mtl_json.c \
          runtime/mtl_write.c runtime/mtl_ckpt.c runtime/mtl_train.c runtime/mtl_norm.c \
          runtime/mtl_monitor.c runtime/mtl_cli.c runtime/mtl_solve.c runtime/mtl_balance.c \
          runtime/mtl_dist.c runtime/mtl_team.c
RT_OBJS = $(RT_SRCS:runtime/%.c=$(B)/rt/%.o)
RT_HDRS = runtime/mtl.h runtime/mtl_model.h runtime/mtl_kernel.h runtime/mtl_read.h runtime/mtl_json.h \
          runtime/mtl_write.h runtime/mtl_monitor.h runtime/mtl_balance.h runtime/mtl_balance.def \
          runtime/mtl_dist.h
ifeq ($(CBLAS),0)
RT_CFLAGS = -DMTL_NO_BLAS
BLAS_LIBS =
else
RT_CFLAGS = -I/usr/include/x86_64-linux-gnu/openblas-pthread
BLAS_LIBS = -lopenblas
endif
RT_LIB = $(B)/libmtlrt.a
RT_SO  = $(B)/libmtlrt.so
RT_PIC = $(RT_SRCS:runtime/%.c=$(B)/rt-pic/%.o)

# MPI (data-parallel training under mpirun): runtime/mtl_mpi.c, the only
# file that sees <mpi.h>, in its own shared object that mtlc loads only
# when it runs under a launcher; built when mpicc is found, MPI=0 skips it
MPICC ?= mpicc
MPI   ?= $(if $(shell command -v $(MPICC) 2>/dev/null),1,0)
ifeq ($(MPI),1)
MPI_LIB = $(B)/libmtlc-mpi.so
endif

all: $(B)/mtlc $(B)/libmtlc-llvm.so $(MPI_LIB)

mpi: $(B)/libmtlc-mpi.so

$(B)/libmtlc-mpi.so: runtime/mtl_mpi.c runtime/mtl_dist.h runtime/mtl_model.h | $(B)
	$(MPICC) -D_POSIX_C_SOURCE=200809L -Iruntime $(WARN) $(CFLAGS) -fPIC -shared -o $@ runtime/mtl_mpi.c

$(B)/mtlc: $(OBJS) $(RT_LIB) $(B)/libmtlc-llvm.so
	$(CC) $(CFLAGS) -rdynamic -o $@ $(OBJS) $(RT_LIB) $(BLAS_LIBS) $(LDLIBS) -ldl

$(RT_LIB): $(RT_OBJS)
	rm -f $@ && ar rcs $@ $(RT_OBJS)

$(B)/rt/%.o: runtime/%.c $(RT_HDRS) | $(B)
	@mkdir -p $(B)/rt
	$(CC) -D_POSIX_C_SOURCE=200809L -Iruntime $(RT_CFLAGS) $(WARN) $(CFLAGS) -c -o $@ $<

# the runtime as a shared library too, for make install
$(RT_SO): $(RT_PIC)
	$(CC) $(CFLAGS) -shared -Wl,-soname,libmtlrt.so.0 -o $@ $(RT_PIC) $(BLAS_LIBS) $(LDLIBS)
$(B)/rt-pic/%.o: runtime/%.c $(RT_HDRS) | $(B)
	@mkdir -p $(B)/rt-pic
	$(CC) -D_POSIX_C_SOURCE=200809L -Iruntime $(RT_CFLAGS) $(WARN) $(CFLAGS) -fPIC -c -o $@ $<

# the LLVM back end: only emit_llvm.c and jit.c see LLVM's headers; they
# are built position-independent into libmtlc-llvm.so
LLVM_CONFIG ?= llvm-config-14
LLVM_CFLAGS := $(shell $(LLVM_CONFIG) --cflags)
LLVM_LIBS   := $(shell $(LLVM_CONFIG) --ldflags) -lLLVM-14
LLVM_OBJS    = $(LLVM_SRCS:compiler/%.c=$(B)/llvm/%.o)
$(B)/llvm/%.o: compiler/%.c $(HDRS) $(RT_HDRS) | $(B)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(LLVM_CFLAGS) $(WARN) $(CFLAGS) -fPIC -c -o $@ $<
$(B)/libmtlc-llvm.so: $(LLVM_OBJS)
	$(CC) $(CFLAGS) -shared -o $@ $(LLVM_OBJS) $(LLVM_LIBS)

$(B)/obj/%.o: compiler/%.c $(HDRS) $(RT_HDRS) $(B)/parser.h | $(B)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -c -o $@ $<

# generated sources: built, never committed. Flex's output is not
# -Wextra-clean, so it gets fewer warnings.
$(B)/parser.c $(B)/parser.h &: compiler/front/parser.y | $(B)
	bison -Wall -Werror -d -o $(B)/parser.c $<
$(B)/lexer.c: compiler/front/lexer.l | $(B)
	flex -o $@ $<
$(B)/parser.o: $(B)/parser.c $(HDRS)
	$(CC) $(CPPFLAGS) -std=c11 -Wall $(CFLAGS) -c -o $@ $<
$(B)/lexer.o: $(B)/lexer.c $(B)/parser.h $(HDRS)
	$(CC) $(CPPFLAGS) -std=c11 -Wall -Wno-unused-function $(CFLAGS) -c -o $@ $<

$(B):
	mkdir -p $(B)

deps:
	tools/deps.sh

example: $(B)/mtlc
	$(B)/mtlc train specs/fashion_hard.mtl

test: $(B)/mtlc $(B)/test_ir $(B)/test_runtime $(B)/test_text $(B)/test_balance $(MPI_LIB)
	tests/run.sh

bench: $(B)/mtlc
	bench/run.sh

bench-mpi: $(B)/mtlc
	bench/mpi.sh

bench-mtl: $(B)/mtlc
	bench/mtl.sh

bench-arch: $(B)/mtlc
	bench/arch.sh

# the front end under AddressSanitizer and UBSan, through the robustness corpus
asan:
	tests/asan-build.sh --run

# make install PREFIX=... DESTDIR=...: the installed mtlc finds its
# headers and LLVM back end beside itself (compiler/back/paths.c), so a
# copy under DESTDIR works where it is
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR  = $(PREFIX)/bin
LIBDIR  = $(PREFIX)/lib
INCDIR  = $(PREFIX)/include/mtlc
MANDIR  = $(PREFIX)/share/man/man1
PUB_HDRS = runtime/mtl.h runtime/mtl_model.h runtime/mtl_kernel.h runtime/mtl_balance.h \
           runtime/mtl_balance.def runtime/mtl_dist.h

$(B)/mtlc.1: $(B)/mtlc tools/man.sh
	tools/man.sh $(B)/mtlc >$@.tmp && mv $@.tmp $@

# mtlrt.pc names PREFIX, so it is written for each install
install: all $(RT_SO) $(B)/mtlc.1
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/mtlc $(DESTDIR)$(LIBDIR)/pkgconfig \
	  $(DESTDIR)$(INCDIR) $(DESTDIR)$(MANDIR)
	install -m 755 $(B)/mtlc $(DESTDIR)$(BINDIR)/mtlc
	install -m 755 $(B)/libmtlc-llvm.so $(DESTDIR)$(LIBDIR)/mtlc/libmtlc-llvm.so
	$(if $(MPI_LIB),install -m 755 $(MPI_LIB) $(DESTDIR)$(LIBDIR)/mtlc/libmtlc-mpi.so)
	install -m 644 $(RT_LIB) $(DESTDIR)$(LIBDIR)/libmtlrt.a
	install -m 755 $(RT_SO) $(DESTDIR)$(LIBDIR)/libmtlrt.so.0
	ln -sf libmtlrt.so.0 $(DESTDIR)$(LIBDIR)/libmtlrt.so
	install -m 644 $(PUB_HDRS) $(DESTDIR)$(INCDIR)
	install -m 644 runtime/mtl_mpi.c $(DESTDIR)$(INCDIR)/mtl_mpi.c
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include' '' \
	  'Name: mtlrt' 'Description: the runtime of mtlc: kernels, data, checkpoints, the training loop' \
	  'Version: $(shell sed -n 's/^#define MTLC_VERSION "\(.*\)"/\1/p' compiler/mtlc.h)' \
	  'Cflags: -I$${includedir}/mtlc' 'Libs: -L$${libdir} -lmtlrt' \
	  'Libs.private: $(BLAS_LIBS) $(LDLIBS)' >$(DESTDIR)$(LIBDIR)/pkgconfig/mtlrt.pc
	install -m 644 $(B)/mtlc.1 $(DESTDIR)$(MANDIR)/mtlc.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/mtlc $(DESTDIR)$(LIBDIR)/mtlc/libmtlc-llvm.so \
	  $(DESTDIR)$(LIBDIR)/mtlc/libmtlc-mpi.so \
	  $(DESTDIR)$(LIBDIR)/libmtlrt.a $(DESTDIR)$(LIBDIR)/libmtlrt.so.0 \
	  $(DESTDIR)$(LIBDIR)/libmtlrt.so $(DESTDIR)$(LIBDIR)/pkgconfig/mtlrt.pc \
	  $(DESTDIR)$(MANDIR)/mtlc.1 $(addprefix $(DESTDIR)$(INCDIR)/,$(notdir $(PUB_HDRS)) mtl_mpi.c)
	-rmdir $(DESTDIR)$(LIBDIR)/mtlc $(DESTDIR)$(INCDIR)

clean:
	rm -rf $(B)

.PHONY: all deps example test bench bench-mpi bench-mtl bench-arch asan install uninstall fuzz fuzz-build clean mpi

# the runtime under AddressSanitizer and UBSan (clang-14), with libFuzzer's
# coverage: a libFuzzer harness per reader (tests/fuzz_NAME.c) and the
# runtime's unit test. tests/t_fuzz.sh runs them in `make test`; see
# tests/fuzz.md.
FUZZ_CC ?= clang-14
FUZZ_TIME ?= 60
FZ = $(B)/fuzz
FUZZERS = idx npy csv ckpt json split
SAN = -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
FZ_RT_OBJS = $(RT_SRCS:runtime/%.c=$(FZ)/rt/%.o)
FZ_FLAGS = -D_POSIX_C_SOURCE=200809L -Iruntime -Itests -Itests/unit $(WARN) $(SAN)
$(FZ)/rt/%.o: runtime/%.c $(RT_HDRS)
	@mkdir -p $(FZ)/rt
	$(FUZZ_CC) $(FZ_FLAGS) $(RT_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<
$(FZ)/fuzz_%: tests/fuzz_%.c tests/fuzz_data.h tests/unit/lin_model.h $(FZ_RT_OBJS)
	$(FUZZ_CC) $(FZ_FLAGS) -fsanitize=fuzzer -o $@ $< $(FZ_RT_OBJS) $(BLAS_LIBS) $(LDLIBS)
$(FZ)/test_runtime: tests/unit/test_runtime.c tests/unit/lin_model.h $(FZ_RT_OBJS)
	$(FUZZ_CC) $(FZ_FLAGS) -fsanitize=fuzzer-no-link -o $@ $< $(FZ_RT_OBJS) $(BLAS_LIBS) $(LDLIBS)
$(FZ)/libmtlrt.a: $(FZ_RT_OBJS)
	rm -f $@ && ar rcs $@ $(FZ_RT_OBJS)
fuzz-build: $(FUZZERS:%=$(FZ)/fuzz_%) $(FZ)/test_runtime $(FZ)/libmtlrt.a
fuzz: fuzz-build $(B)/test_runtime
	tests/fuzz-run.sh $(FUZZ_TIME) $(FUZZERS)

# unit tests link the compiler without its driver
LIBOBJS = $(filter-out $(B)/obj/main.o,$(OBJS))
$(B)/test_ir: tests/unit/test_ir.c $(LIBOBJS) $(RT_LIB) $(HDRS)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -o $@ tests/unit/test_ir.c $(LIBOBJS) $(RT_LIB) $(BLAS_LIBS) $(LDLIBS) -ldl

# the runtime's unit tests link libmtlrt alone
$(B)/test_runtime: tests/unit/test_runtime.c tests/unit/lin_model.h $(RT_LIB) $(RT_HDRS)
	$(CC) -D_POSIX_C_SOURCE=200809L -Iruntime $(WARN) $(CFLAGS) -o $@ tests/unit/test_runtime.c $(RT_LIB) $(BLAS_LIBS) $(LDLIBS)
$(B)/test_balance: tests/unit/test_balance.c $(RT_LIB) $(RT_HDRS)
	$(CC) -D_POSIX_C_SOURCE=200809L -Iruntime $(WARN) $(CFLAGS) -o $@ tests/unit/test_balance.c $(RT_LIB) $(BLAS_LIBS) $(LDLIBS)

# the text loader's unit test links libmtlrt alone
$(B)/test_text: tests/unit/test_text.c $(RT_LIB) $(RT_HDRS)
	$(CC) -D_POSIX_C_SOURCE=200809L -Iruntime $(WARN) $(CFLAGS) -o $@ tests/unit/test_text.c $(RT_LIB) $(BLAS_LIBS) $(LDLIBS)
