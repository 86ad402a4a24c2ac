#!/usr/bin/env bash
# tests/t_docs.sh: every ```mtl block of specs/README.md is a complete spec
# and checks clean: `mtlc check` exits 0 and reports nothing but warnings
# about data files absent from this machine. Fragments are fenced ```text
# and not checked. One [PASS]/[FAIL] line per block, named by its line.
set -u
cd "$(dirname "$0")/.."
MTLC=${MTLC:-build/mtlc}
doc=specs/README.md
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# split the ```mtl blocks into $tmp/LINE.mtl, LINE being the fence's line
awk -v dir="$tmp" '
  /^```mtl[ \t]*$/ { out = dir "/" NR ".mtl"; printf "" > out; next }
  /^```/ && out    { close(out); out = ""; next }
  out              { print > out }
' "$doc"

n=0
for line in $(cd "$tmp" && ls -- *.mtl 2>/dev/null | sed 's/\.mtl$//' | sort -n); do
  n=$((n + 1))
  f=$tmp/$line.mtl
  name="docs/README.md:$line"
  "$MTLC" check "$f" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  # a diagnostic is three lines: the message, the source line, the caret
  other=$(grep -E '^[^ ]+:[0-9]+:[0-9]+: (error|warning|note): ' "$tmp/err" |
          grep -v -E ": warning: data file '[^']*' not found")
  if [ $rc -eq 0 ] && [ -z "$other" ]; then
    echo "[PASS] $name"
  else
    echo "[FAIL] $name: exit $rc"
    sed 's/^/    /' "$tmp/err" | head -n 20
  fi
done
if [ $n -eq 0 ]; then
  echo "[FAIL] docs/README.md: no \`\`\`mtl blocks found"
fi
exit 0
