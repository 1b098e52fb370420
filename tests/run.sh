#!/bin/sh
# tests/run.sh: the whole test suite, from a fresh Debian 12 machine.
# Installs what it needs, builds, runs the C unit tests and every bats file
# (the SystemTap ones boot a QEMU guest), and ends with one line
# "N passed, N failed" (skipped tests are named on the line before).
#
# usage: tests/run.sh [BATS-FILE...]
set -u
root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
cd "$root" || exit 1
scripts/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }
make -s all "build/test-report" || { echo "0 passed, 1 failed"; exit 1; }

if [ $# -eq 0 ]; then
    set -- tests/*.bats
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$(date +%s)
# C unit tests first: their own "N passed, M failed" line is folded in.
build/test-report > "$log.c" 2>&1
crc=$?
cat "$log.c"
cpass=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\1/p' "$log.c" | tail -n 1)
cfail=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\2/p' "$log.c" | tail -n 1)
rm -f "$log.c"
[ -n "$cfail" ] || { cpass=0; cfail=1; }
[ "$crc" = 0 ] || [ "$cfail" != 0 ] || cfail=1

bats --tap --timing "$@" | tee "$log"
passed=$(grep -c '^ok ' "$log")
failed=$(grep -c '^not ok ' "$log")
skipped=$(grep -c '^ok .* # skip' "$log")
passed=$((passed - skipped + cpass))
failed=$((failed + cfail))
echo "# suite took $(( $(date +%s) - start )) s; $skipped skipped (counted in neither)"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
