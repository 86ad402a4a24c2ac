#!/usr/bin/env bash
# tests/run.sh: every test of mtlc, run by `make test`. Prints [PASS] or
# [FAIL] per test and ends with the line "N passed, N failed"; exits non-zero
# on any failure. UPDATE=1 rewrites golden files from current output (then
# read the diff before committing it).
set -u
cd "$(dirname "$0")/.."
MTLC=${MTLC:-build/mtlc}
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { echo "[PASS] $1"; pass=$((pass + 1)); }
bad() {
  echo "[FAIL] $1"
  if [ -n "${2:-}" ]; then printf '%s\n' "$2" | head -n 30 | sed 's/^/    /'; fi
  fail=$((fail + 1))
}

# golden: NAME WANT-FILE GOT-FILE
golden() {
  if [ "${UPDATE:-}" = 1 ]; then cp "$3" "$2"; fi
  if [ ! -f "$2" ]; then bad "$1" "missing golden file $2"; return; fi
  if d=$(diff -u "$2" "$3"); then ok "$1"; else bad "$1" "$d"; fi
}

# 1. wrong specs: tests/diag/NAME.mtl beside NAME.err, the full diagnostic;
#    mtlc check must exit 1 and print exactly that.
for f in tests/diag/*.mtl; do
  [ -e "$f" ] || { bad "diag/: no specs found"; break; }
  n=${f%.mtl}
  "$MTLC" check "$f" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  if [ $rc -ne 1 ]; then bad "diag/$(basename "$n")" "exit $rc, want 1"; continue; fi
  golden "diag/$(basename "$n")" "$n.err" "$tmp/err"
done

# 1b. specs that check clean but deserve a warning: tests/warn/NAME.mtl
#    beside NAME.err; mtlc check must exit 0 and print exactly that.
for f in tests/warn/*.mtl; do
  [ -e "$f" ] || { bad "warn/: no specs found"; break; }
  n=${f%.mtl}
  "$MTLC" check "$f" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  if [ $rc -ne 0 ]; then bad "warn/$(basename "$n")" "exit $rc, want 0"; continue; fi
  golden "warn/$(basename "$n")" "$n.err" "$tmp/err"
done

# 2. every spec in LANGUAGE.md, copied verbatim, checks clean: exit 0,
#    nothing on stderr.
for f in tests/lang/*.mtl; do
  [ -e "$f" ] || { bad "lang/: no specs found"; break; }
  "$MTLC" check "$f" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  if [ $rc -eq 0 ] && [ ! -s "$tmp/err" ]; then ok "lang/$(basename "$f")"
  else bad "lang/$(basename "$f")" "exit $rc: $(cat "$tmp/err")"; fi
done

# 3. golden summaries of every spec in specs/ (stdout only: warnings about
#    absent data sets depend on the machine).
for f in specs/*.mtl; do
  [ -e "$f" ] || { bad "summary/: no specs found"; break; }
  n=$(basename "${f%.mtl}")
  "$MTLC" summary "$f" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  if [ $rc -ne 0 ]; then bad "summary/$n" "exit $rc: $(cat "$tmp/err")"; continue; fi
  golden "summary/$n" "tests/summary/$n.out" "$tmp/out"
done

# 4. more groups register here as tests/*.sh scripts that print [PASS]/[FAIL]
#    lines of their own.
for t in tests/t_*.sh; do
  [ -e "$t" ] || { bad "tests/t_*.sh: no groups found"; break; }
  while IFS= read -r line; do
    echo "$line"
    case $line in
      "[PASS] "*) pass=$((pass + 1)) ;;
      "[FAIL] "*) fail=$((fail + 1)) ;;
      "[END] rc=0") ;;
      "[END] rc="*) echo "[FAIL] $t exited with ${line#\[END\] rc=}"; fail=$((fail + 1)) ;;
    esac
  done < <(MTLC="$MTLC" bash "$t" 2>&1; echo "[END] rc=$?")
done

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
