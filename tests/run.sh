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
# the extension for every pyenv CPython, before two files can want it at
# once (versions.bats builds it too, and says when that fails; py_stack.bats,
# which runs alongside, uses it)
make -s pyext-versions > /dev/null 2>&1 || true

# The files that never boot the guest run beside the others (the guest
# emulates one CPU; the second one is mostly idle while it runs), with a
# TMPDIR of their own: the guest sees this machine's /tmp, and the attach
# tests check that no tool left files there.
HOST_ONLY="tests/cli.bats tests/flamegraph.bats tests/offsets.bats
tests/py_stack.bats tests/report.bats tests/report_formats.bats
tests/runtime.bats tests/tapsets.bats"
host=""
if [ $# -eq 0 ]; then
    set --
    for f in tests/*.bats; do
        case " $(echo $HOST_ONLY) " in
            *" $f "*) host="$host $f" ;;
            *) set -- "$@" "$f" ;;
        esac
    done
fi
log=$(mktemp)
hostlog=$(mktemp)
hosttmp=$(mktemp -d)
trap 'rm -rf "$log" "$hostlog" "$hosttmp"' EXIT
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

hpid=""
if [ -n "$host" ]; then
    # shellcheck disable=SC2086
    TMPDIR=$hosttmp bats --tap --timing $host > "$hostlog" 2>&1 &
    hpid=$!
fi
bats --tap --timing "$@" | tee "$log"
hfail=0
if [ -n "$hpid" ]; then
    hrc=0
    wait "$hpid" || hrc=$?
    echo "# the files that do not boot the guest (run alongside):"
    cat "$hostlog"
    cat "$hostlog" >> "$log"
    # a bats that failed without saying which test (it could not start)
    [ "$hrc" = 0 ] || grep -q '^not ok ' "$hostlog" || hfail=1
fi
passed=$(grep -c '^ok ' "$log")
failed=$(grep -c '^not ok ' "$log")
skipped=$(grep -c '^ok .* # skip' "$log")
passed=$((passed - skipped + cpass))
failed=$((failed + cfail + hfail))
echo "# suite took $(( $(date +%s) - start )) s; $skipped skipped (counted in neither)"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
