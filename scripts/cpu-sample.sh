#!/bin/sh
# cpu-sample.sh: sampling CPU profiler for a Python process: merged C+Python
# stacks, a folded file, an interactive flame graph and a top-N summary.
PYSCOPE_PROG=cpu-sample
. "$(dirname -- "$(readlink -f -- "$0")")/lib/common.sh"
. "$PYSCOPE_ROOT/scripts/lib/target.sh"

usage() {
    cat <<'EOF'
usage: cpu-sample.sh (-p PID | -c CMD) [-F HZ] [-d SECONDS] [-o PREFIX]
                     [--mode merged|python|native] [--labels off|split|join]
                     [--children] [--top N] [--no-threads] [--vm | --host] [-v]

Sample where a Python process (any CPython 3.8-3.14, read from the binary)
spends its CPU time, with native (C) and Python frames in one stack, and
write:
  PREFIX.folded  one line per distinct stack, root first, frames joined by
                 ';', then the sample count (flamegraph.pl/speedscope format);
                 Python frames as 'qualname (file:line)', native as symbols
  PREFIX.svg     an interactive flame graph (open it in a browser)
  PREFIX.raw     the raw sample stream, for re-reporting
A summary of the top functions (self and total %) goes to stdout; how many
samples were taken, lost or failed goes to stderr.

  -p PID          profile a running process (needs a kernel that loads
                  modules: a QEMU guest cannot see host processes)
  -c CMD          start CMD and profile it until it exits (its own output
                  goes to stdout and stderr, as without the tool)
  -F HZ           samples per second per CPU (default 99)
  -d SECONDS      stop after SECONDS (default: when CMD exits, or Ctrl-C;
                  an interrupted run still writes everything)
  -o PREFIX       output prefix (default: cpu-profile)
  --mode M        merged (default): C and Python frames interleaved;
                  python: Python frames only (no native unwinding at all:
                  the cheapest samples); native: C frames only
  --labels L      frame labels painted with pyscope's runtime
                  (runtime/pyscope): off (default); split: a painted frame's
                  label becomes a frame of its own, so the same code under
                  different labels is separate; join: also report the CPU
                  of each label (the painted frame and all it called), to
                  stdout and PREFIX.labels.csv
  --children      sample the target's child processes too (with -c)
  --top N         rows in the summary (default 15, 0 for none)
  --no-threads    do not put each thread under its own root frame
  --vm, --host    force the QEMU guest or the host kernel (default: host
                  if it can load modules, else the guest)
  -v              say how long each step took: the module (compiled, or
                  from pyscope's module cache) and the first sample
  -h, --help      this help

Attaching (-p) to a process that runs on no CPU during the run gives one
line saying so and writes nothing.  The files are written at the end, all
of them complete, also when the run is cut short (-d, Ctrl-C, the target
exiting); a run that fails leaves none behind.

examples:
  cpu-sample.sh -c '/usr/bin/python3.11 examples/busy.py 3' -o busy
  cpu-sample.sh -p 1234 -d 30 -F 199 --mode python -o service
EOF
}

pid="" cmd="" hz=99 secs=0 prefix=cpu-profile mode=merged top=15 threads=""
labels=off children=0 verbose=0
runner_mode=""
PYSCOPE_T0=${PYSCOPE_T0:-$(pyscope_now_ms)}
export PYSCOPE_T0
while [ $# -gt 0 ]; do
    case "$1" in
        -p) [ $# -ge 2 ] || pyscope_die "-p needs a PID"; pid=$2; shift 2 ;;
        -c) [ $# -ge 2 ] || pyscope_die "-c needs a command"; cmd=$2; shift 2 ;;
        -F) [ $# -ge 2 ] || pyscope_die "-F needs a rate"; hz=$2; shift 2 ;;
        -d) [ $# -ge 2 ] || pyscope_die "-d needs seconds"; secs=$2; shift 2 ;;
        -o) [ $# -ge 2 ] || pyscope_die "-o needs a prefix"; prefix=$2; shift 2 ;;
        --mode) [ $# -ge 2 ] || pyscope_die "--mode needs a value"; mode=$2; shift 2 ;;
        --mode=*) mode=${1#--mode=}; shift ;;
        --labels) [ $# -ge 2 ] || pyscope_die "--labels needs a value"; labels=$2; shift 2 ;;
        --labels=*) labels=${1#--labels=}; shift ;;
        --children) children=1; shift ;;
        --top) [ $# -ge 2 ] || pyscope_die "--top needs a number"; top=$2; shift 2 ;;
        --no-threads) threads=--no-threads; shift ;;
        --vm) runner_mode=--vm; shift ;;
        --host) runner_mode=--host; shift ;;
        -v) verbose=1; PYSCOPE_VERBOSE=1; export PYSCOPE_VERBOSE; shift ;;
        -h|--help) usage; exit 0 ;;
        *) pyscope_die "unknown argument '$1' (try -h)" ;;
    esac
done

[ -n "$pid$cmd" ] || pyscope_die "give -p PID or -c CMD (try -h)"
[ -z "$pid" ] || [ -z "$cmd" ] || pyscope_die "give -p PID or -c CMD, not both"
# attaching loads a kernel module into this kernel: root, before anything
[ -z "$pid" ] || [ "$(id -u)" = 0 ] ||
    pyscope_die "attaching to PID $pid needs root (SystemTap loads a kernel module)"
case "$hz" in *[!0-9]*|"") pyscope_die "-F needs a whole number of Hz, got '$hz'" ;; esac
[ "$hz" -ge 1 ] && [ "$hz" -le 10000 ] || pyscope_die "-F must be 1..10000 Hz, got $hz"
case "$secs" in *[!0-9]*|"") pyscope_die "-d needs whole seconds, got '$secs'" ;; esac
case "$mode" in merged|python|native) ;; *) pyscope_die "--mode must be merged, python or native, got '$mode'" ;; esac
case "$labels" in off|split|join) ;; *) pyscope_die "--labels must be off, split or join, got '$labels'" ;; esac
case "$top" in *[!0-9]*|"") pyscope_die "--top needs a number, got '$top'" ;; esac
outdir=$(dirname -- "$prefix")
[ -d "$outdir" ] && [ -w "$outdir" ] || pyscope_die "cannot write into $outdir"

# The report tool, the runtime and its tapset macro files (quick when built).
report=$PYSCOPE_BUILD/pyscope-report
pyscope_make_all

pyscope_step "built"
pyscope_tmp_init
pyscope_check_target "$pid" "$cmd" "$runner_mode"
pyscope_step "target checked, layout read"

# stap arguments: tapsets, unwind data for the target, transport buffer.
# User input reaches stap only as separate argv words, never inside script text.
work=$PYSCOPE_TMP
pyscope_stap_tapset_args > "$work/args"
pyscope_stap_target_args >> "$work/args"
set -- -s 32
while IFS= read -r a; do set -- "$@" "$a"; done < "$work/args"
period=$((1000000000 / hz))
pyonly=0
[ "$mode" != python ] || pyonly=1
# the duration is a module parameter: one module serves every -d
set -- "$@" -G "pyscope_duration_s=$secs" \
    "$PYSCOPE_ROOT/scripts/cpu-sample.stp" "$period" "$children" "$pyonly"
pyscope_step "stap arguments ready"

# Everything is written in the private directory and moved into place at
# the end: a run cut short still leaves complete files, a failed one none.
raw=$work/raw
: > "$raw"
# Ctrl-C: the runner (or stap) stops the run and its end probe still runs;
# this script goes on to write the report from what was collected.

pyscope_note "sampling ${cmd:+"'$cmd' "}${pid:+PID $pid }at $hz Hz$( [ "$secs" -gt 0 ] && printf ' for %ss' "$secs"), writing $prefix.{folded,svg,raw}"
[ -z "$pid" ] || ticks0=$(pyscope_cpu_ticks "$pid")
(
    # progress every 10 s
    # (the sleep keeps no copy of our output: killing this loop must
    # close it at once, or a reader of the output waits for the sleep)
    while sleep 10 < /dev/null > /dev/null 2>&1; do
        if [ -s "$raw" ]; then
            pyscope_note "$(grep -c '^S' "$raw") samples so far"
        else
            pyscope_note "starting the probes"
        fi
    done
) &
progress=$!
PYSCOPE_HELPERS="$progress"
pyscope_run_target --data "$raw" "$work/err" "$@"
rc=$PYSCOPE_RC
kill "$progress" 2>/dev/null
[ -z "$pid" ] || ticks1=$(pyscope_cpu_ticks "$pid")

# a target gone before the probes started: that one line, nothing else
[ -z "$pid" ] || ! grep -q 'exited before the probes could start' "$work/err" ||
    pyscope_die "PID $pid exited before the probes could start; nothing written"
pyscope_show_stap_errors "$work/err"
if [ "$verbose" = 1 ]; then
    # when the probes started and the first sample came (the end probe's
    # records), from the start of this tool
    at=$(awk -F '\t' '$1 == "X" && $2 == "attach_ms" { print $3 }' "$raw")
    first=$(awk -F '\t' '$1 == "X" && $2 == "first_sample_ms" { print $3 }' "$raw")
    [ -z "$at" ] || pyscope_note "probes on $((at - PYSCOPE_T0)) ms after the start"
    [ -z "$first" ] || pyscope_note "first sample $((first - PYSCOPE_T0)) ms after the start"
fi

# Samples the kernel side could not deliver or had to skip.
lost=$(sed -n -e 's/.*There were \([0-9]*\) transport failures.*/\1/p' \
    -e 's/.*skipped probes: \([0-9]*\).*/\1/p' "$work/err" | awk '{s += $1} END {print s + 0}')
printf 'X\tlost\t%s\n' "$lost" >> "$raw"

if grep -q 'probe overhead.*exceeded threshold' "$work/err"; then
    pyscope_note "stopped early: sampling took more than half a CPU (SystemTap's overload guard); try a lower -F"
fi
if ! grep -q '^S' "$raw"; then
    # no sample: an idle process, or a run that failed
    if grep -q '^X	end_reason	2$' "$raw"; then
        pyscope_die "no samples: ${pid:+PID $pid}${cmd:+the command} exited before a sample was taken; nothing written"
    fi
    if [ -n "$pid" ] && grep -q '^X	end_reason' "$raw" &&
        [ -n "${ticks0:-}" ] && [ "${ticks1:-$ticks0}" = "$ticks0" ]; then
        pyscope_die "no samples: PID $pid ran on no CPU during the run (idle); nothing written"
    fi
    if [ -n "$pid" ] && grep -q '^X	end_reason' "$raw" && [ -n "${ticks0:-}" ]; then
        pyscope_die "no samples: PID $pid was almost idle ($(( (ticks1 - ticks0) * 1000 / $(getconf CLK_TCK) )) ms of CPU); try a longer -d or a higher -F; nothing written"
    fi
    pyscope_die "no samples were taken (stap exit $rc); see the messages above"
fi
set -- --mode "$mode" --top "$top" --labels "$labels" --folded "$work/out.folded" \
    --svg "$work/out.svg" --title "pyscope CPU profile: ${cmd:-PID $pid}"
[ -z "$threads" ] || set -- "$@" --no-threads
[ "$labels" != join ] || set -- "$@" --labels-csv "$work/out.labels.csv"
"$report" "$@" "$raw" ||
    pyscope_die "pyscope-report failed"
# A few samples of an attached process: it was almost idle (its only CPU
# time can be the few milliseconds the attach itself runs in it)
nsamples=$(grep -c '^S' "$raw")
if [ -n "$pid" ] && [ "$nsamples" -lt 10 ] && [ -n "${ticks0:-}" ] && [ -n "${ticks1:-}" ]; then
    pyscope_note "PID $pid was almost idle: $nsamples samples, $(( (ticks1 - ticks0) * 1000 / $(getconf CLK_TCK) )) ms of CPU during the run; the profile says little; try a longer -d or a higher -F"
fi
mv "$raw" "$prefix.raw" && mv "$work/out.folded" "$prefix.folded" &&
    mv "$work/out.svg" "$prefix.svg" &&
    { [ "$labels" != join ] || mv "$work/out.labels.csv" "$prefix.labels.csv"; } ||
    pyscope_die "cannot write the outputs to $prefix.*"
exit "$rc"
