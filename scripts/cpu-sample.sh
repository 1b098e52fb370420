#!/bin/sh
# cpu-sample.sh: sampling CPU profiler for a Python process: merged C+Python
# stacks, a folded file, an interactive flame graph and a top-N summary.
PYSCOPE_PROG=cpu-sample
. "$(dirname -- "$(readlink -f -- "$0")")/lib/common.sh"
. "$PYSCOPE_ROOT/scripts/lib/target.sh"
. "$PYSCOPE_ROOT/scripts/lib/cli.sh"

usage() {
    cat <<'EOF'
usage: cpu-sample.sh (-p PID | PID | -c CMD) [-F HZ] [-d SECONDS] [-o PREFIX]
                     [--stack merged|python|native] [--labels off|split|join]
                     [--format LIST] [--no-lines] [--minwidth W]
                     [--wall] [--children] [--top N] [--no-threads]
                     [--vm | --host] [--dry-run] [-v]

Sample where a Python process (any CPython 3.8-3.14, read from the binary)
spends its CPU time, with native (C) and Python frames in one stack, and
write (--format picks; folded and svg by default):
  PREFIX.folded  one line per distinct stack, root first, frames joined by
                 ';', then the sample count (flamegraph.pl/speedscope format);
                 Python frames as 'qualname (file:line)', native as symbols
  PREFIX.svg     an interactive flame graph (open it in a browser)
  PREFIX.speedscope.json
                 speedscope's file format, one profile per thread
                 (https://www.speedscope.app, or the speedscope command)
  PREFIX.pb.gz   pprof's profile.proto, gzipped, each frame label a sample
                 label (go tool pprof, Pyroscope, Parca, Grafana)
  PREFIX.raw     the raw sample stream, always (pyscope-report re-reads it)
A summary of the top functions (self and total %) goes to stdout; how many
samples were taken, lost or failed goes to stderr.

  -p, --pid PID   profile a running process (a bare PID too; needs a kernel
                  that loads modules: a QEMU guest cannot see host processes)
  -c, --cmd CMD   start CMD and profile it until it exits (its own output
                  goes to stdout and stderr, as without the tool)
  -F, --rate HZ   samples per second per CPU, 1..10000 (default 99)
  -d, --duration SECONDS
                  stop after SECONDS (default: when CMD exits, or Ctrl-C;
                  an interrupted run still writes everything)
  -o, --output PREFIX
                  output prefix (default: cpu-profile)
  --stack S       merged (default): C and Python frames interleaved;
                  python: Python frames only (no native unwinding at all:
                  the cheapest samples); native: C frames only (--mode S,
                  its former name, still works)
  --labels L      frame labels painted with pyscope's runtime
                  (runtime/pyscope): off (default); split: a painted frame's
                  label becomes a frame of its own, so the same code under
                  different labels is separate; join: also report the CPU
                  of each label (the painted frame and all it called), to
                  stdout and PREFIX.labels.csv
  --format LIST   comma-separated: folded, svg, speedscope, pprof, or all
                  (default folded,svg)
  --no-lines      by function: Python frames without their line numbers
                  (in the folded file and the flame graph)
  --minwidth W    flame graph: frames narrower than W pixels (or W%) are
                  merged into a "..." frame (default 1)
  --wall          wall-clock: each thread's time off the CPU too, charged
                  to its stack where it left the CPU, under a frame saying
                  why: [off-cpu: gil] (waiting for the GIL),
                  [off-cpu: SYSCALL] (blocked in futex, read, recvfrom,
                  clock_nanosleep, ...), [runnable] (preempted, waiting
                  for a CPU); weights are microseconds, and the summary
                  adds each thread's (and label's) time by reason
  --children      sample the target's child processes too (with -c)
  --top N         rows in the summary, 0..1000 (default 15, 0 for none)
  --no-threads    do not put each thread under its own root frame
  --vm, --host    force the QEMU guest or the host kernel (default: host
                  if it can load modules, else the guest)
  --dry-run       check the target and every value, print the run's
                  command (pyscope-run and stap's arguments), and exit
  -v, --verbose   say how long each step took: the module (compiled, or
                  from pyscope's module cache) and the first sample
  -h, --help      this help

Long options take their value as the next word or after '=' (--rate=999);
short ones also attached (-F999).  Attaching (-p) to a process that runs
on no CPU during the run gives one line saying so and writes nothing.  The
files are written at the end, all of them complete, also when the run is
cut short (-d, Ctrl-C, the target exiting); a run that fails leaves none
behind.

examples:
  cpu-sample.sh -c '/usr/bin/python3.11 examples/busy.py 3' -o busy
  cpu-sample.sh -p 1234 -d 30 -F 199 --stack python -o service
  cpu-sample.sh --pid=1234 --duration=10 --labels=join --output=/tmp/req
  cpu-sample.sh -p 1234 -d 30 --format pprof,speedscope -o service
  cpu-sample.sh -p 1234 --no-lines --minwidth 0.5% -o by-function
  cpu-sample.sh -p 1234 -d 10 --wall --labels join -o wall
EOF
}

hz=99 prefix=cpu-profile mode=merged top=15 threads="" labels=off children=0
formats=folded,svg nolines="" minwidth="" wall=0
PYSCOPE_CLI_VALUES="-F --stack --mode --labels --top --format --minwidth"
PYSCOPE_CLI_FLAGS="--children --no-threads --no-lines --wall"
tool_option() {
    case "$1" in
        --stack|--mode) mode=$2 ;;
        --labels) labels=$2 ;;
        --top) top=$2 ;;
        --format) formats=$2 ;;
        --minwidth) minwidth=$2 ;;
        --no-lines) nolines=--no-lines ;;
        --children) children=1 ;;
        --wall) wall=1 ;;
        --no-threads) threads=--no-threads ;;
    esac
}
PYSCOPE_T0=${PYSCOPE_T0:-$(pyscope_now_ms)}
export PYSCOPE_T0
pyscope_cli_parse "$@"
pyscope_cli_check
case "$mode" in merged|python|native) ;; *) pyscope_die "--stack must be merged, python or native, got '$mode'" ;; esac
case "$labels" in off|split|join) ;; *) pyscope_die "--labels must be off, split or join, got '$labels'" ;; esac
pyscope_cli_number top --top 0 1000
[ -z "$minwidth" ] || printf '%s\n' "$minwidth" | grep -Eqx '[0-9]+(\.[0-9]+)?%?' ||
    pyscope_die "--minwidth takes pixels or a percentage (1, 0.5, 2%), got '$minwidth'"
# --format: each of the four once, or all
[ "$formats" != all ] || formats=folded,svg,speedscope,pprof
want_folded=0 want_svg=0 want_speedscope=0 want_pprof=0
outs=""
for f in $(printf '%s\n' "$formats" | tr ',' ' '); do
    case "$f" in
        folded) want_folded=1 outs="$outs,folded" ;;
        svg) want_svg=1 outs="$outs,svg" ;;
        speedscope) want_speedscope=1 outs="$outs,speedscope.json" ;;
        pprof) want_pprof=1 outs="$outs,pb.gz" ;;
        *) pyscope_die "--format takes folded, svg, speedscope, pprof (comma-separated) or all, got '$formats'" ;;
    esac
done
[ -n "$outs" ] || pyscope_die "--format takes folded, svg, speedscope, pprof (comma-separated) or all, got '$formats'"
outs="${outs#,},raw"

# The report tool, the runtime and its tapset macro files (quick when built).
report=$PYSCOPE_BUILD/pyscope-report
pyscope_make_all

pyscope_step "built"
pyscope_tmp_init --outputs
pyscope_check_target "$pid" "$cmd" "$runner_mode"
pyscope_step "target checked, layout read"
# --wall tells GIL waits by CPython's take_gil() on the stack: say so when
# this build has no such symbol (inlined away)
if [ "$wall" = 1 ]; then
    dbg=$(pyscope_elf_debug_file "${PYSCOPE_SYSROOT:-}$PYSCOPE_PYTHON" 2>/dev/null) || dbg=""
    { nm "${PYSCOPE_SYSROOT:-}$PYSCOPE_PYTHON" 2>/dev/null; [ -z "$dbg" ] || nm "$dbg" 2>/dev/null; } |
        grep -Eq ' [tT] take_gil(\.|$)' ||
        pyscope_note "$PYSCOPE_PYTHON has no take_gil symbol (inlined or stripped): waits for the GIL show as [off-cpu: futex]"
fi

# stap arguments: tapsets, unwind data for the target, transport buffer.
# User input reaches stap only as separate argv words, never inside script text.
work=$PYSCOPE_TMP
pyonly=0
[ "$mode" != python ] || pyonly=1
pyscope_cpu_sample_args "$work/args" "$hz" "$children" "$pyonly" "$wall"
set --
while IFS= read -r a; do set -- "$@" "$a"; done < "$work/args"
pyscope_step "stap arguments ready"

# Everything is written in the private directory and moved into place at
# the end: a run cut short still leaves complete files, a failed one none.
raw=$work/raw
: > "$raw"
# Ctrl-C: the runner (or stap) stops the run and its end probe still runs;
# this script goes on to write the report from what was collected.

pyscope_note "sampling ${cmd:+"'$cmd' "}${pid:+PID $pid }at $hz Hz$( [ "$secs" -gt 0 ] && printf ' for %ss' "$secs"), writing $prefix.{$outs}"
[ -z "$pid" ] || ticks0=$(pyscope_cpu_ticks "$pid")
# progress every 10 s
# shellcheck disable=SC2016
pyscope_progress 'if [ -s "$raw" ]; then echo "$(grep -c "^S" "$raw") samples so far"; else echo "starting the probes"; fi'
pyscope_run_target --data "$raw" "$work/err" "$@"
rc=$PYSCOPE_RC
pyscope_progress_stop
[ -z "$pid" ] || ticks1=$(pyscope_cpu_ticks "$pid")

# a target gone before the probes started: that one line, nothing else
pyscope_target_gone "$work/err"
pyscope_show_stap_errors "$work/err"
if [ "$verbose" = 1 ]; then
    # when the probes started and the first sample came (the end probe's
    # records), from the start of this tool
    at=$(awk -F '\t' '$1 == "X" && $2 == "attach_ms" { print $3 }' "$raw")
    first=$(awk -F '\t' '$1 == "X" && $2 == "first_sample_ms" { print $3 }' "$raw")
    [ -z "$at" ] || pyscope_note "probes on $((at - PYSCOPE_T0)) ms after the start"
    [ -z "$first" ] || pyscope_note "first sample $((first - PYSCOPE_T0)) ms after the start"
fi

# (samples the kernel side had to skip or could not deliver: the
# stream's own X skipped_probes and X transport_failures)

if grep -q 'probe overhead.*exceeded threshold' "$work/err"; then
    pyscope_note "stopped early: sampling took more than half a CPU (SystemTap's overload guard); try a lower -F"
fi
if ! grep -q '^[SW]' "$raw"; then
    # no sample: an idle process, or a run that failed
    pyscope_stop_if_interrupted "the first sample"
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
# the run is over: a signal from here on keeps its stream, whole
pyscope_keep_on_signal "$raw" "$prefix.raw" \
    "$(pyscope_quote "$report") --mode $mode --folded $(pyscope_quote "$prefix.folded") $(pyscope_quote "$prefix.raw") writes the profile from them"
set -- --mode "$mode" --top "$top" --labels "$labels" \
    --title "pyscope CPU profile: ${cmd:-PID $pid}"
[ "$want_folded" = 0 ] || set -- "$@" --folded "$work/out.folded"
[ "$want_svg" = 0 ] || set -- "$@" --svg "$work/out.svg"
[ "$want_speedscope" = 0 ] || set -- "$@" --speedscope "$work/out.speedscope.json"
[ "$want_pprof" = 0 ] || set -- "$@" --pprof "$work/out.pb.gz"
[ -z "$threads" ] || set -- "$@" --no-threads
[ -z "$nolines" ] || set -- "$@" --no-lines
[ -z "$minwidth" ] || set -- "$@" --minwidth "$minwidth"
[ "$labels" != join ] || set -- "$@" --labels-csv "$work/out.labels.csv"
"$report" "$@" "$raw" || pyscope_die_keeping "pyscope-report failed"
# A few samples of an attached process: it was almost idle (its only CPU
# time can be the few milliseconds the attach itself runs in it)
nsamples=$(grep -c '^S' "$raw")
if [ -n "$pid" ] && [ "$nsamples" -lt 10 ] && [ -n "${ticks0:-}" ] && [ -n "${ticks1:-}" ]; then
    pyscope_note "PID $pid was almost idle: $nsamples samples, $(( (ticks1 - ticks0) * 1000 / $(getconf CLK_TCK) )) ms of CPU during the run; the profile says little; try a longer -d or a higher -F"
fi
pyscope_commit
mv "$raw" "$prefix.raw" &&
    { [ "$want_folded" = 0 ] || mv "$work/out.folded" "$prefix.folded"; } &&
    { [ "$want_svg" = 0 ] || mv "$work/out.svg" "$prefix.svg"; } &&
    { [ "$want_speedscope" = 0 ] || mv "$work/out.speedscope.json" "$prefix.speedscope.json"; } &&
    { [ "$want_pprof" = 0 ] || mv "$work/out.pb.gz" "$prefix.pb.gz"; } &&
    { [ "$labels" != join ] || mv "$work/out.labels.csv" "$prefix.labels.csv"; } ||
    pyscope_die "cannot write the outputs to $prefix.*"
exit "$rc"
