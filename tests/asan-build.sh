#!/usr/bin/env bash
# tests/asan-build.sh: builds mtlc's front end with clang-14's sanitizers,
# beside (not instead of) the Makefile's build:
#   build/asan/mtlc         -fsanitize=address,undefined
#   build/asan/fuzz_check   the libFuzzer harness tests/fuzz_check.c,
#                           -fsanitize=fuzzer,address,undefined
# It runs the Makefile's own rules with B=build/asan, so it follows the
# Makefile's source lists; the generated parser and scanner are made there too.
# With --run it then puts the robustness corpus (tests/robust.c over specs/
# and tests/robust-regress/; ROBUST_N, default 1000, and ROBUST_STRIDE,
# default 1, as in t_robust.sh) through build/asan/mtlc; any sanitizer
# report aborts mtlc, which robust reports as a signal. See tests/fuzz.md.
set -eu
cd "$(dirname "$0")/.."
CC=${CC:-clang-14}
B=build/asan
mkdir -p "$B"
# The Makefile's own rules, into another folder: B=build/asan. Objects get
# fuzzer coverage (fuzzer-no-link) too, so one set serves both binaries;
# -iquote makes "parser.h" this build's, not build/parser.h.
SAN="-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"
mk() { make -s --no-print-directory B="$B" CC="$CC" "$@"; }
val() { mk --eval="print-val: ; @echo $1" print-val; } # a make expression
mk CFLAGS="$SAN -fsanitize=fuzzer-no-link -iquote $B" "$B/mtlc"
# shellcheck disable=SC2046
$CC -std=c11 $SAN -fsanitize=fuzzer $(val '$(filter -I%,$(CPPFLAGS))') \
  -o "$B/fuzz_check" tests/fuzz_check.c \
  $(val '$(LIBOBJS) $(RT_LIB) $(BLAS_LIBS) $(LLVM_LIBS) $(LDLIBS)')
echo "built $B/mtlc and $B/fuzz_check"

if [ "${1:-}" = --run ]; then
  # sanitizer reports abort (a signal), never exit 1 like a user error
  export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:${ASAN_OPTIONS:-}
  export UBSAN_OPTIONS=abort_on_error=1:halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}
  mkdir -p build
  [ -x build/robust ] && [ build/robust -nt tests/robust.c ] ||
    cc -std=c11 -O2 -o build/robust tests/robust.c
  build/robust -n "${ROBUST_N:-1000}" -P "${ROBUST_STRIDE:-1}" "$B/mtlc" specs/*.mtl
  set -- tests/robust-regress/*.mtl
  [ -e "$1" ] && build/robust -n 100 -P 0 -p robust/regress/ "$B/mtlc" "$@"
fi
