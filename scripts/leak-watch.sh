#!/bin/sh
# leak-watch.sh: surviving allocations of a Python process over time, by
# stack, line, file or label: what it allocates and never frees.
PYSCOPE_PROG=leak-watch
. "$(dirname -- "$(readlink -f -- "$0")")/lib/common.sh"
. "$PYSCOPE_ROOT/scripts/lib/target.sh"
. "$PYSCOPE_ROOT/scripts/lib/cli.sh"

usage() {
    cat <<'EOF'
usage: leak-watch.sh (-p PID | PID | -c CMD) [-d SECONDS] [-i INTERVAL]
                     [--domain py|raw|libc|all] [--group-by stack|line|file|label]
                     [--include GLOB] [--exclude GLOB] [--min-age SECONDS]
                     [-o PREFIX] [--top N] [--max-live N] [--vm | --host]
                     [--mode auto|trace|sampled] [--sample-mean BYTES]
                     [--dry-run] [-v]

Trace every allocation and free of a Python process, keep the ones still
alive, and every INTERVAL take a snapshot of them grouped as asked (bytes
and blocks per group); print the top growers as it goes.  At the end (-d,
the process exiting, or Ctrl-C) write:
  PREFIX.txt     the report (also printed): top groups by growth since the
                 first snapshot and by surviving bytes, with merged stacks
  PREFIX.csv     time series of the top groups (time_s,rank,group,bytes,blocks)
  PREFIX.svg     a plot of surviving bytes over time for the top groups
                 (gnuplot)
  PREFIX.folded  folded stacks weighted by surviving bytes (memory flame
                 graph input for flamegraph.pl, speedscope, inferno)
  PREFIX.pb.gz   the last snapshot as pprof's profile.proto, gzipped
                 (go tool pprof -sample_index=inuse_space; Pyroscope, Parca)
  PREFIX.raw     the raw stream (pyscope-leak re-reads it with other options)
The last snapshot is the program's state when its interpreter began
finalizing (before the teardown frees its objects) when it exits through
its interpreter, else the state at the end of the watch; the report says
which.  The files are written at the end, all of them complete, also when
the watch is cut short; a watch that fails leaves none behind.

  -p, --pid PID   watch a running process (a bare PID too; needs a kernel
                  that loads modules)
  -c, --cmd CMD   start CMD and watch it until it exits
  -d, --duration SECONDS
                  stop after SECONDS (default: when CMD exits, or Ctrl-C)
  -i, --interval SECONDS
                  snapshot interval, 1..3600 (default 1)
  --domain D      py: CPython's object and mem allocators; raw: PyMem_Raw*;
                  libc: malloc and friends; all (default)
  --group-by K    stack (default: the whole merged C+Python stack), line
                  (innermost Python file:line), file, or label (innermost
                  frame label painted with pyscope's runtime)
  --include GLOB  only stacks with a frame matching GLOB (a function name,
                  "qualname (file:line)", or a Python file); repeatable
  --exclude GLOB  leave out stacks with a frame matching GLOB; repeatable
  --min-age S     count only blocks alive for at least S seconds (rounded
                  up to whole intervals)
  -o, --output PREFIX
                  output prefix (default: leak-watch)
  --top N         groups in the report, the CSV and the plot, 1..1000
                  (default 10)
  --max-live N    live blocks tracked at most (default 262144); beyond it
                  allocations are counted as dropped and totals are lower
                  bounds (the report says so)
  --mode M        trace: a uprobe on every allocation and free (any
                  process; costly on allocation-heavy code); sampled: the
                  target's pyscope runtime samples allocations by bytes and
                  reports only the samples (cheap; bytes and blocks are
                  estimates); auto (default): sampled when the process has
                  loaded pyscope's runtime (imported pyscope, or runs with
                  LD_PRELOAD=build/libpyscope-alloc.so), else trace.  With
                  -c, sampled starts CMD with that LD_PRELOAD (before
                  any LD_PRELOAD CMD would inherit)
  --sample-mean B sampled mode with -c: one sample per B bytes allocated,
                  on average (default 524288)
  --vm, --host    force the QEMU guest or the host kernel
  --dry-run       check the target and every value, print the run's
                  command (pyscope-run and stap's arguments), and exit
  -v, --verbose   say how long each step took: the module (compiled, or
                  from pyscope's module cache) and the start of the probes
  -h, --help      this help

Long options take their value as the next word or after '=' (--top=20);
short ones also attached (-i5).  PYSCOPE_ALLOC_SAMPLE=BYTES in a sampled
target's environment sets its mean (0: off); PYSCOPE_ALLOC_SEED=N makes its
samples repeat from run to run.

What trace mode sees: every call of CPython's public allocation functions
and of libc's malloc family.  CPython builds with PGO+LTO (Debian's)
inline the small-object fast path of PyObject_Malloc into hot callers;
those allocations (<= 512 bytes) and frees are invisible to uprobes.
Blocks over 512 bytes always reach malloc and are always seen.  Trace
mode slows an allocation-heavy process a lot (make bench-leak measures it)
and does not stop itself for that (SystemTap's overload guard is off).
Sampled mode sees every allocation (the runtime wraps the allocators).

examples:
  leak-watch.sh 1234                          # a running process, Ctrl-C to stop
  leak-watch.sh -c 'python3.11 app.py' -d 60 --group-by line -o app
  leak-watch.sh -p 1234 --include '*/myapp/*' --min-age 30 -i 10
  leak-watch.sh -c 'python3.11 server.py' --mode sampled -d 600 -i 30
  leak-watch.sh --pid=1234 --duration=60 --group-by=file --output=/tmp/svc
EOF
}

interval=1 domain=all group=stack prefix=leak-watch minage=0 top=10
maxlive=262144 mode=auto mean=524288
PYSCOPE_CLI_VALUES="-i --domain --group-by --include --exclude --min-age --top --max-live --mode --sample-mean"
PYSCOPE_CLI_FLAGS=""
PYSCOPE_CLI_ALIASES="--interval=-i"
PYSCOPE_T0=${PYSCOPE_T0:-$(pyscope_now_ms)}
export PYSCOPE_T0
pyscope_tmp_init --outputs
work=$PYSCOPE_TMP
globs=$work/globs
: > "$globs"
tool_option() {
    case "$1" in
        -i) interval=$2 ;;
        --domain) domain=$2 ;;
        --group-by) group=$2 ;;
        --include|--exclude)
            case "$2" in *'
'*) pyscope_die "$1: a glob cannot contain a newline" ;; esac
            printf '%s\n%s\n' "$1" "$2" >> "$globs" ;;
        --min-age) minage=$2 ;;
        --top) top=$2 ;;
        --max-live) maxlive=$2 ;;
        --mode) mode=$2 ;;
        --sample-mean) mean=$2 ;;
    esac
}
pyscope_cli_parse "$@"
pyscope_cli_check
pyscope_cli_number interval -i 1 3600
pyscope_cli_number minage --min-age 0 31536000
pyscope_cli_number top --top 1 1000
pyscope_cli_number maxlive --max-live 1000 4000000
pyscope_cli_number mean --sample-mean 1024 1073741824
case "$mode" in auto|trace|sampled) ;; *) pyscope_die "--mode must be auto, trace or sampled, got '$mode'" ;; esac
case "$domain" in
    py) doms="1 0 0" ;; raw) doms="0 1 0" ;; libc) doms="0 0 1" ;; all) doms="1 1 1" ;;
    *) pyscope_die "--domain must be py, raw, libc or all, got '$domain'" ;;
esac
case "$group" in stack|line|file|label) ;; *) pyscope_die "--group-by must be stack, line, file or label, got '$group'" ;; esac

leak=$PYSCOPE_BUILD/pyscope-leak
preload=$PYSCOPE_BUILD/libpyscope-alloc.so
pyscope_make_all

pyscope_step "built"
pyscope_check_target "$pid" "$cmd" "$runner_mode"
pyscope_step "target checked, layout read"
preload=$(readlink -f -- "$preload")

# Sampled or trace: a running process samples when it loaded pyscope's
# runtime and did not switch sampling off.
runtime_loaded() {
    grep -qE '/libpyscope-alloc\.so$|/pyscope/_pyscope\.cpython-[^/]*\.so$' "/proc/$1/maps" 2>/dev/null &&
        ! tr '\0' '\n' < "/proc/$1/environ" 2>/dev/null | grep -qx 'PYSCOPE_ALLOC_SAMPLE=0'
}
if [ -n "$pid" ]; then
    if [ "$mode" = auto ]; then
        if runtime_loaded "$pid"; then mode=sampled; else mode=trace; fi
    elif [ "$mode" = sampled ] && ! runtime_loaded "$pid"; then
        pyscope_die "PID $pid has not loaded pyscope's allocation sampler (import pyscope, or start it with LD_PRELOAD=$preload); use --mode trace"
    fi
else
    # a command that preloads the sampler itself samples
    preloaded=0
    printf '%s\n' "${PYSCOPE_CMD_ENV:-}" | grep -q '^LD_PRELOAD=.*libpyscope-alloc\.so' &&
        preloaded=1
    if [ "$mode" = auto ]; then
        if [ "$preloaded" = 1 ]; then mode=sampled; else mode=trace; fi
    fi
    # staprun runs CMD without a shell; env(1) sets the preload for it,
    # for CMD's Python alone: loaded in the interpreter, the preload takes
    # itself and these variables out of the environment before its main()
    # (PYSCOPE_PRELOAD_PRIVATE; a wrapper before it, env or a shell,
    # passes them on), so the program sees the environment it would see
    # without pyscope, and what it starts runs unhooked.  An LD_PRELOAD
    # CMD would inherit from here (a jemalloc, say) stays, after ours.
    if [ "$mode" = sampled ] && [ "$preloaded" = 0 ]; then
        libs=$preload${LD_PRELOAD:+:$LD_PRELOAD}
        cmd="env LD_PRELOAD=$(pyscope_quote "$libs") PYSCOPE_ALLOC_SAMPLE=$mean PYSCOPE_PRELOAD_PRIVATE=1 $cmd"
    fi
fi
sampled=0
[ "$mode" != sampled ] || sampled=1

# stap arguments; user input reaches stap only as separate argv words.
errlog=$work/err
pyscope_stap_args_file "$work/args"
# A snapshot (a timer probe) goes over the tables in one handler: each
# (stack, age) entry, each stack alive (a new stack's K and A records:
# under 10 statements; 266 new stacks took between 500 and 2,650), each
# stack shown before.  With every table full (16384 of each) that is some
# 250,000 statements, past SystemTap's 100,000 a handler (pyscope-run's
# default); past its limit, stap stops every probe ("MAXACTION
# exceeded") and the watch ends at the last snapshot that fitted.  Room
# for the tables' worst case, 40 a stack:
stacks=16384
set -- -s 256 -DMAXSTRINGLEN=1024 -DMAXTRYLOCK=1000000 \
    -DMAXACTION=$((100000 + 40 * stacks))
while IFS= read -r a; do set -- "$@" "$a"; done < "$work/args"
[ "$sampled" = 0 ] || set -- "$@" -d "$preload"
# Trace mode's cost is the point of it (a trap per allocation): SystemTap's
# overload guard would end the watch of any allocation-heavy process, so it
# is off; every handler is still bounded (MAXACTION, bounded walks).
[ "$sampled" = 1 ] || set -- "$@" -DSTP_NO_OVERLOAD
# A command's extension modules are loaded later (dlopen), so --ldd does
# not see them: the shared objects in the directories of its PYTHONPATH
# get their unwind data in too (a running process's come from its maps).
if [ -z "$pid" ]; then
    pp=$(printf '%s\n' "${PYSCOPE_CMD_ENV:-}" | sed -n 's/^PYTHONPATH=//p' | tail -n 1)
    n=0
    set -f
    for dir in $(printf '%s' "$pp" | tr ':' ' '); do
        set +f
        for so in "$dir"/*.so "$dir"/*/*.so; do
            [ -f "$so" ] && [ "$n" -lt 64 ] || continue
            case "$so" in *[!A-Za-z0-9_./+-]*) continue ;; esac
            set -- "$@" -d "$so"; n=$((n + 1))
        done
        set -f
    done
    set +f
fi
minage_iv=$(( (minage + interval - 1) / interval ))
# shellcheck disable=SC2086
# (the duration and -p are module parameters: one module serves every -d,
# -p and -c)
set -- "$@" -G "pyscope_duration_s=$secs" -G "$(pyscope_attached_param)" \
    "$PYSCOPE_ROOT/scripts/leak-watch.stp" \
    "$((interval * 1000))" $doms "$minage_iv" "$sampled" "$maxlive" "$stacks"

# The report reader follows the stream while it is written (progress on
# stderr) and finishes once $work/done exists.  Everything is written in
# the private directory and moved into place at the end: a watch cut short
# still leaves complete files, a failed one none.
raw=$work/raw
: > "$raw"
{
    printf -- '--group-by\n%s\n--top\n%s\n' "$group" "$top"
    cat "$globs"
} > "$work/leak-args"
(
    set --
    while IFS= read -r a; do set -- "$@" "$a"; done < "$work/leak-args"
    exec "$leak" "$@" --follow "$work/done" --csv "$work/out.csv" \
        --plot-data "$work/plot.dat" --folded "$work/out.folded" \
        --pprof "$work/out.pb.gz" "$raw" \
        > "$work/out.txt"
) &
reader=$!
PYSCOPE_HELPERS="$reader"

pyscope_note "$( [ "$sampled" = 1 ] && echo "sampled mode: the runtime's samples" || echo "trace mode: every allocation ($domain)") of ${cmd:-PID $pid}$( [ "$secs" -gt 0 ] && printf ' for %ss' "$secs"); a snapshot every ${interval}s"
pyscope_step "stap arguments ready"
pyscope_run_target --data "$raw" "$errlog" "$@"
rc=$PYSCOPE_RC

# a target gone before the probes started: that one line, nothing else
pyscope_target_gone "$errlog"
pyscope_show_stap_errors "$errlog"
: > "$work/done"
# the run is over: a signal from here on keeps its stream, whole
grep -q '^E' "$raw" && pyscope_keep_on_signal "$raw" "$prefix.raw" \
    "$(pyscope_quote "$leak") $(pyscope_quote "$prefix.raw") prints the report from them"
wait "$reader"
lrc=$?
if [ "$verbose" = 1 ]; then
    at=$(awk -F '\t' '$1 == "X" && $2 == "attach_ms" { print $3 }' "$raw")
    [ -z "$at" ] || pyscope_note "probes on $((at - PYSCOPE_T0)) ms after the start"
fi
if ! grep -q '^E' "$raw"; then
    pyscope_stop_if_interrupted "the first snapshot"
    pyscope_die "no snapshot was taken (stap exit $rc); see the messages above"
fi
[ "$lrc" = 0 ] || pyscope_die_keeping "pyscope-leak failed (exit $lrc)"

# The plot: a fixed gnuplot script over fixed file names in $work, so no
# name or path from the run ever becomes gnuplot syntax.
plot=0
if command -v gnuplot >/dev/null 2>&1; then
    ncol=$(head -n 1 "$work/plot.dat" | awk -F'" "' '{print NF}')
    (
        cd "$work" && gnuplot -e "ncol=$ncol" - <<'EOF'
set terminal svg size 1000,560 noenhanced font "sans,11"
set output "plot.svg"
set title "surviving bytes over time (top groups by growth)"
set xlabel "seconds"
set ylabel "bytes"
set key outside below
set key autotitle columnheader
set format y "%.0s%cB"
plot for [i=2:ncol] "plot.dat" using 1:i with linespoints
EOF
    ) 2> "$work/gnuplot.err" && plot=1 ||
        pyscope_note "no plot: gnuplot failed ($(head -n 1 "$work/gnuplot.err"))"
else
    pyscope_note "no plot: gnuplot is not installed (apt install gnuplot-nox)"
fi

pyscope_commit
{ mv "$raw" "$prefix.raw" && mv "$work/out.txt" "$prefix.txt" &&
    mv "$work/out.csv" "$prefix.csv" && mv "$work/out.folded" "$prefix.folded" &&
    { [ ! -f "$work/out.pb.gz" ] || mv "$work/out.pb.gz" "$prefix.pb.gz"; } &&
    { [ "$plot" = 0 ] || mv "$work/plot.svg" "$prefix.svg"; }; } ||
    pyscope_die "cannot write the outputs to $prefix.*"
cat "$prefix.txt"
pyscope_note "wrote $prefix.txt $prefix.csv $prefix.folded$( [ -f "$prefix.pb.gz" ] && printf ' %s' "$prefix.pb.gz") $prefix.raw$( [ "$plot" = 1 ] && printf ' %s' "$prefix.svg")"
exit "$rc"
