#!/bin/sh
# tests/py/run-versions.sh: the extension's unit tests (tests/py/*.py) under
# every CPython 3.8 to 3.13 that pyenv has (side by side, one per CPU),
# each against its own build of the extension, build/py-3.X (`make
# pyext-versions`, from runtime/pyscope/versions.mk, which also says which
# interpreters: the newest pyenv 3.X.Y of each 3.X).  Debian's python3.11 and build/py are
# the main suite's (tests/labels.bats); this does not run them.
#
# Builds first (make -f runtime/pyscope/versions.mk pyext-versions, a no-op
# when up to date), then runs, per version,
#     PYTHONPATH=build/py-3.X python3.X -m unittest discover -s tests/py
# and prints one line per version:
#     3.X: N passed                      (", S skipped" if any were)
#     3.X: N passed, F failed            followed by the failures, indented
#     3.X: skipped (no pyenv 3.X.N)
# The sampler's preload tests use build/libpyscope-alloc.so when the main
# build made it (any interpreter can preload it), else they are skipped.
# Exits 1 if any version failed (or could not be built).
#
# usage: tests/py/run-versions.sh [-n] [-v] [3.X ...]
#   -n     do not build first
#   -v     print each version's whole unittest output
#   3.X    only these versions (default: 3.8 to 3.13)
set -u
root=$(CDPATH='' cd -- "$(dirname -- "$0")/../.." && pwd)
cd "$root" || exit 1

build=1
verbose=0
while getopts nv opt; do
    case $opt in
    n) build=0 ;;
    v) verbose=1 ;;
    *) sed -n '/^# usage:/,/^#   3\.X/s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))

# Per version; a hung test must not hang the whole run.
TIMEOUT=${PYSCOPE_TEST_TIMEOUT:-900}
versions_mk="make -s --no-print-directory -f runtime/pyscope/versions.mk"
found=$($versions_mk pyext-versions-found) || exit 1
for minor in "$@"; do
    echo "$found" | grep -q "^$minor " ||
        echo "$minor: not a version this extension supports (3.8 to 3.13)"
done
if [ $build = 1 ]; then
    $versions_mk pyext-versions || { echo "run-versions: build failed" >&2; exit 1; }
fi

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
status=0
asked() {   # asked MINOR [3.X ...]: no versions given, or MINOR among them
    m=$1
    shift
    [ $# -gt 0 ] || return 0
    case " $* " in *" $m "*) return 0 ;; esac
    return 1
}
# The versions run side by side, as many at once as there are CPUs (each
# mostly waits on its stress and fork tests); the report follows, in order.
jobs=$(nproc 2>/dev/null || echo 2)
echo "$found" | while read -r minor python; do
    asked "$minor" "$@" && [ "$python" != - ] || continue
    printf '%s %s\n' "$minor" "$python"
done | xargs -r -P "$jobs" -L 1 sh -c '
    timeout "$1" env PYTHONPATH="$2/build/py-$4" "$5" -m unittest discover -s tests/py > "$3/$4.log" 2>&1
    echo $? > "$3/$4.rc"' run-one "$TIMEOUT" "$root" "$logs"
echo "$found" | while read -r minor python; do
    asked "$minor" "$@" || continue
    if [ "$python" = - ]; then
        echo "$minor: skipped (no pyenv $minor.N)"
        continue
    fi
    log=$logs/$minor.log
    rc=$(cat "$logs/$minor.rc" 2>/dev/null || echo 1)
    [ $verbose = 1 ] && sed 's/^/    /' "$log"
    ran=$(sed -n 's/^Ran \([0-9]*\) tests\{0,1\} in .*/\1/p' "$log" | tail -n 1)
    summary=$(grep -E '^(OK|FAILED)( \(.*\))?$' "$log" | tail -n 1)
    count() {   # count KEY: the number after KEY= in the summary line
        n=$(echo "$summary" | sed -n "s/.*[( ]$1=\([0-9]*\).*/\1/p")
        echo "${n:-0}"
    }
    skipped=$(count skipped)
    failed=$(( $(count failures) + $(count errors) + $(count "unexpected successes") ))
    passed=$(( ${ran:-0} - skipped - failed - $(count "expected failures") ))
    skip_note=
    [ "$skipped" = 0 ] || skip_note=", $skipped skipped"
    if [ $rc = 0 ] && [ -n "$ran" ] && [ "${summary%% *}" = OK ]; then
        echo "$minor: $passed passed$skip_note"
        continue
    fi
    if [ $rc = 124 ]; then
        echo "$minor: timed out after $TIMEOUT s ($python)"
    elif [ -z "$ran" ]; then
        echo "$minor: could not run the tests ($python, exit $rc)"
    else
        echo "$minor: $passed passed, $failed failed$skip_note"
    fi
    # The failure reports (from the first ==== line to the summary), or
    # the end of the output if there are none.
    if grep -q '^======' "$log"; then
        # (without the "Ran N tests" line and the rule above it)
        sed -n '/^======/,/^Ran [0-9]* test/p' "$log" | sed '$d' |
            sed '$d; s/^/    /'
    else
        { tail -n 20 "$log"; echo; } | sed 's/^/    /'
    fi
    echo failed > "$logs/.failed"
done
[ -f "$logs/.failed" ] && status=1
exit $status
