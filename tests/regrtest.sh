#!/bin/sh
# regrtest.sh: a traced program behaves as if pyscope were not there.
#
# Runs a subset of CPython's own regression tests (Debian's
# libpython3.11-testsuite; breadth: threads, signals, subprocess, gc,
# weakref, asyncio, ctypes, pickle, json, re, unicode, ...) four ways, all
# in one boot of pyscope's QEMU guest, where pyscope's tools run in host
# mode as on a server whose kernel loads modules:
#   untraced     python3.11 -m test -v MODULES
#   cpu-sample   the same under scripts/cpu-sample.sh -F 999 (merged stacks)
#   leak-watch   the same under scripts/leak-watch.sh --mode sampled (the
#                preloaded sampler hooks every allocator; one sample per
#                64 KiB; trace mode, a uprobe on every allocation, slows
#                allocation-heavy code 8-16 times: too slow for this
#                subset in the guest, and timing-dependent tests would
#                then measure the slowdown, not pyscope)
#   runtime      the same with pyscope's extension imported and install()
#                called (it hooks the allocators and the excepthook)
# and compares, test by test, what unittest said of each (ok, FAIL, ERROR,
# skipped, expected failure, unexpected success): every test's result must
# be the same in all four runs, each run's summary must be SUCCESS, and no
# tool may report a SystemTap error.  Prints a table and "N tests, same
# results in all four runs" (or the differences) and writes it to the
# results file.  Exits 1 when anything differs.  Not part of the suite:
# `make regrtest` (the default 22 modules, 4,650 tests, took 50 minutes in
# the guest).
#
# usage: tests/regrtest.sh [-o DIR] [--results FILE] [--no-install]
#                          [MODULE ...]
#   -o DIR          logs (default build/regrtest)
#   --results FILE  also write the table there (default
#                   bench/results/regrtest.md; "" writes none)
#   --no-install    do not run scripts/install-deps.sh --regrtest first
#   MODULE          test modules (default: the 22 below)
set -u
PYSCOPE_PROG=regrtest
. "$(dirname -- "$0")/../scripts/lib/common.sh"

MODULES="test_json test_re test_unicode test_gc test_weakref test_ctypes
test_pickle test_signal test_threading test_thread test_subprocess
test_asyncio.test_tasks test_struct test_collections test_dict test_set
test_list test_exceptions test_generators test_contextlib test_string
test_sys"

usage() { sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//p}' "$0"; }

dir=$PYSCOPE_BUILD/regrtest
results=$PYSCOPE_ROOT/bench/results/regrtest.md
install=1
while [ $# -gt 0 ]; do
    case "$1" in
        -o|--results)
            [ $# -ge 2 ] || pyscope_die "$1 needs a value (try -h)"
            case "$1" in -o) dir=$2 ;; --results) results=$2 ;; esac
            shift 2 ;;
        --no-install) install=0; shift ;;
        -h|--help) usage; exit 0 ;;
        -*) pyscope_die "unknown argument '$1' (try -h)" ;;
        *) break ;;
    esac
done
[ $# -eq 0 ] || MODULES=$*
if [ "$install" = 1 ]; then
    "$PYSCOPE_ROOT/scripts/install-deps.sh" --regrtest ||
        pyscope_die "could not install libpython3.11-testsuite"
fi
PY=/usr/bin/python3.11
$PY -c 'import test.test_json' 2>/dev/null ||
    pyscope_die "no CPython test suite for $PY (apt install libpython3.11-testsuite)"
make -s -C "$PYSCOPE_ROOT" all >&2 || pyscope_die "make failed"
dir=$(pyscope_fresh_dir "$dir") || exit 1
mods=$(printf '%s ' $MODULES)
tests="$PY -m test -v $mods"
# the runtime way: pyscope imported and installed, then regrtest as
# python -m test would run it
runtime="$PY -c 'import pyscope, runpy, sys; pyscope.install(); sys.argv = [\"test\", \"-v\"] + sys.argv[1:]; runpy.run_module(\"test\", run_name=\"__main__\")' $mods"

# The guest's part (the host's files are read-only there): each way's
# output in WAY.log, its exit status in WAY.rc, the tools' own output
# files WAY.*, all in $PYSCOPE_OUT, copied to DIR/out at the end
script=$dir/guest.sh
{
    printf '#!/bin/sh\n# regrtest.sh, run in the guest by scripts/pyscope-run --no-stap\n'
    printf 'cd %s\n' "$(pyscope_quote "$PYSCOPE_ROOT")"
    printf 'D=$PYSCOPE_OUT\n'
    # (every way's Python starts with SIGINT's default action, as from a
    # terminal: the guest starts its job so, see guest-job.sh; with SIGINT
    # ignored there, test_signal's and test_threading's KeyboardInterrupt
    # tests failed in the untraced way only)
    printf 'way() { w=$1; shift; echo "@@@ $w"; "$@" > "$D/$w.log" 2>&1; echo $? > "$D/$w.rc"; }\n'
    printf 'way untraced sh -c %s\n' "$(pyscope_quote "cd /tmp && $tests")"
    printf 'way cpu-sample scripts/cpu-sample.sh -F 999 --top 5 -o "$D/cpu-sample" -c %s\n' "$(pyscope_quote "$tests")"
    printf 'way leak-watch scripts/leak-watch.sh --mode sampled --sample-mean 65536 --top 5 -o "$D/leak-watch" -c %s\n' "$(pyscope_quote "$tests")"
    printf 'way runtime sh -c %s\n' "$(pyscope_quote "cd /tmp && PYTHONPATH=$PYSCOPE_BUILD/py $runtime")"
} > "$script"

start=$(date +%s)
pyscope_note "one guest boot: $(printf '%s\n' $MODULES | wc -l) test modules, four ways (the default 22 take some 50 minutes)"
"$PYSCOPE_ROOT/scripts/pyscope-run" --no-stap -T 5400 \
    --bind-copy "$PY" --bind-copy "$(readlink -f /lib/x86_64-linux-gnu/libc.so.6)" \
    --bind-copy "$PYSCOPE_BUILD/libpyscope-alloc.so" \
    --out-dir "$dir/out" -o "$dir/guest.out" -c "sh $script" 2> "$dir/guest.err" ||
    pyscope_die "the guest run failed (see $dir/guest.err)"

# WAY.results: "MODULE-QUALIFIED TEST<TAB>OUTCOME", sorted, from unittest's
# -v lines ("test_x (test.test_y.Case.test_x) ... ok"; an outcome may come
# on a later line when the test printed meanwhile)
outcomes() {
    awk '
        match($0, /^test[^ ]* \([^)]*\)/) { t = substr($0, RSTART, RLENGTH) }
        t != "" && match($0, / \.\.\. (ok|FAIL|ERROR|skipped|expected failure|unexpected success)/) {
            o = substr($0, RSTART + 5, RLENGTH - 5)
            print t "\t" o; t = ""; next }
        t != "" && /^(ok|FAIL|ERROR|skipped|expected failure|unexpected success)/ {
            split($0, w, /[ :]/); print t "\t" w[1]; t = "" }
    ' "$1" | sort -u
}
status=0
ways="untraced cpu-sample leak-watch runtime"
dir=$dir/out
for w in $ways; do
    [ -s "$dir/$w.log" ] || { pyscope_note "$w: no output"; status=1; : > "$dir/$w.log"; }
    outcomes "$dir/$w.log" > "$dir/$w.results"
done
{
    printf 'regrtest: %s test modules of CPython %s (Debian libpython3.11-testsuite), four ways, %s\n' \
        "$(printf '%s\n' $MODULES | wc -l)" "$($PY -c 'import platform; print(platform.python_version())')" \
        "$(date -u +%Y-%m-%d)"
    printf 'guest: %s under QEMU TCG, 1 CPU; the tools in host mode inside it\n' "$(pyscope_guest_kernel)"
    printf 'modules: %s\n\n' "$(printf '%s\n' $MODULES | paste -sd ' ')"
    printf '| way | exit | summary | tests | ok | skipped | failed or error | stap errors |\n'
    printf '|---|---|---|---|---|---|---|---|\n'
    for w in $ways; do
        rc=$(cat "$dir/$w.rc" 2>/dev/null || echo -)
        summ=$(sed -n 's/^== Tests result: \(.*\) ==$/\1/p' "$dir/$w.log" | tail -n 1)
        n=$(wc -l < "$dir/$w.results")
        ok=$(grep -c '	ok$' "$dir/$w.results")
        sk=$(grep -c '	skipped$' "$dir/$w.results")
        bad=$(grep -c -E '	(FAIL|ERROR|unexpected success)$' "$dir/$w.results")
        se=$(grep -c -E '^(ERROR|WARNING: Number of errors)|too many errors' "$dir/$w.log")
        printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$w" "$rc" "${summ:--}" "$n" "$ok" "$sk" "$bad" "$se"
        [ "$rc" = 0 ] && [ "$summ" = SUCCESS ] && [ "$se" = 0 ] && [ "$n" -gt 0 ] || status=1
    done
    printf '\n'
    same=1
    for w in cpu-sample leak-watch runtime; do
        if ! cmp -s "$dir/untraced.results" "$dir/$w.results"; then
            same=0
            printf 'differs from untraced, %s:\n```\n' "$w"
            diff "$dir/untraced.results" "$dir/$w.results" | head -n 40
            printf '```\n'
        fi
    done
    if [ "$same" = 1 ]; then
        printf '%s tests, same results in all four runs\n' "$(wc -l < "$dir/untraced.results")"
    else
        status=1
    fi
    printf 'wall time: %s s; logs: %s\n' "$(($(date +%s) - start))" "$dir"
} > "$dir/table.txt"
cat "$dir/table.txt"
if [ -n "$results" ]; then
    {
        printf '# A traced program behaves as if pyscope were not there (`make regrtest`)\n\n'
        cat "$dir/table.txt"
    } > "$results" && pyscope_note "results written to $results"
fi
exit "$status"
