#!/bin/sh
# py-top.sh: a live view of where a Python process spends its CPU, like
# `py-spy top`: cpu-sample's probes (scripts/cpu-sample.stp) write their
# record stream into a private file, and build/pyscope-top
# (tools/report/top_main.c) follows it and redraws a table every second.
PYSCOPE_PROG=py-top
. "$(dirname -- "$(readlink -f -- "$0")")/lib/common.sh"
. "$PYSCOPE_ROOT/scripts/lib/target.sh"
. "$PYSCOPE_ROOT/scripts/lib/cli.sh"

usage() {
    cat <<'EOF'
usage: py-top.sh (-p PID | PID | -c CMD) [-F HZ] [-d SECONDS] [-o PREFIX]
                 [--stack merged|python|native] [--labels] [--top N]
                 [--interval MS] [--vm | --host] [--dry-run] [-v]

Watch where a Python process (any CPython 3.8-3.14) spends its CPU: a
table of its functions by self and total share of the samples so far,
native (C) and Python ones, each Python function with its hottest line,
redrawn every second.  q or Ctrl-C ends the view and the run, restores the
terminal and leaves the last table on the screen; so does the end of -d
or of the process.

  -p, --pid PID   watch a running process (a bare PID too; needs a kernel
                  that loads modules)
  -c, --cmd CMD   start CMD and watch it (its own output goes to
                  PREFIX.out, so that it does not run over the table)
  -F, --rate HZ   samples per second per CPU, 1..10000 (default 99)
  -d, --duration SECONDS
                  stop after SECONDS (default: when CMD exits, or q)
  -o, --output PREFIX
                  also keep the raw sample stream as PREFIX.raw (pyscope-
                  report makes folded, SVG, pprof... from it later), and
                  CMD's output as PREFIX.out (default: py-top, with -c)
  --stack S       merged (default), python (Python frames only, the
                  cheapest samples) or native
  --labels        also the samples of each frame label (runtime/pyscope)
  --top N         rows of the table, 1..1000 (default 20)
  --interval MS   refresh period in milliseconds, 100..60000 (default 1000)
  --vm, --host    force the QEMU guest or the host kernel (default: host
                  if it can load modules, else the guest)
  --dry-run       check the target and every value, print the run's
                  command (pyscope-run and stap's arguments), and exit
  -v, --verbose   say how long each step took
  -h, --help      this help

Not on a terminal, each refresh is printed in turn after a line
"--- refresh N".

examples:
  py-top.sh 1234
  py-top.sh -p 1234 -F 199 --labels --top 30
  py-top.sh -c '/usr/bin/python3.11 examples/busy.py 30' --interval=500
EOF
}

hz=99 prefix="" mode=merged top=20 labels="" interval=1000
PYSCOPE_CLI_VALUES="-F --stack --top --interval"
PYSCOPE_CLI_FLAGS="--labels"
tool_option() {
    case "$1" in
        --stack) mode=$2 ;;
        --top) top=$2 ;;
        --interval) interval=$2 ;;
        --labels) labels=--labels ;;
    esac
}
PYSCOPE_T0=${PYSCOPE_T0:-$(pyscope_now_ms)}
export PYSCOPE_T0
pyscope_cli_parse "$@"
pyscope_cli_check
case "$mode" in merged|python|native) ;; *) pyscope_die "--stack must be merged, python or native, got '$mode'" ;; esac
pyscope_cli_number top --top 1 1000
pyscope_cli_number interval --interval 100 60000
[ -n "$prefix" ] || [ -z "$cmd" ] || prefix=py-top

viewer=$PYSCOPE_BUILD/pyscope-top
pyscope_make_all
pyscope_step "built"
pyscope_tmp_init --outputs
pyscope_check_target "$pid" "$cmd" "$runner_mode"
pyscope_step "target checked, layout read"

# stap arguments: cpu-sample's (one compiled module serves both tools).
# User input reaches stap only as separate argv words, never inside script text.
work=$PYSCOPE_TMP
pyonly=0
[ "$mode" != python ] || pyonly=1
pyscope_cpu_sample_args "$work/args" "$hz" 0 "$pyonly" 0
set --
while IFS= read -r a; do set -- "$@" "$a"; done < "$work/args"
pyscope_step "stap arguments ready"

raw=$work/raw
: > "$raw"
# --dry-run prints the run and exits here, before any view
if [ "${PYSCOPE_DRY_RUN:-0}" = 1 ]; then
    pyscope_run_target --data "$raw" "$work/err" "$@"
fi
pyscope_note "watching ${cmd:+"'$cmd' "}${pid:+PID $pid }at $hz Hz$( [ "$secs" -gt 0 ] && printf ' for %ss' "$secs"); q quits"

# The view follows the stream until $work/done exists; q in it sends this
# script SIGINT, which ends the run as Ctrl-C does (pyscope_run_target's
# trap).  The run's own output (CMD's, stap's messages) goes to files, so
# nothing draws over the table; stap's messages are shown after.
title="pyscope top: ${cmd:-PID $pid}"
"$viewer" --follow "$work/done" --stop "$$" --interval "$interval" \
    --top "$top" --mode "$mode" $labels --title "$title" "$raw" < /dev/null &
view=$!
PYSCOPE_HELPERS="$view"
pyscope_run_target --data "$raw" "$work/err" "$@" > "$work/out"
rc=$PYSCOPE_RC
: > "$work/done"
pyscope_wait "$view"
vrc=$PYSCOPE_RC

pyscope_target_gone "$work/err"
pyscope_show_stap_errors "$work/err"
[ "$vrc" = 0 ] || pyscope_die "the view failed (exit $vrc)"
grep -q '^S' "$raw" || pyscope_stop_if_interrupted "the first sample"
grep -q '^S' "$raw" ||
    pyscope_die "no samples were taken (stap exit $rc); see the messages above"
if [ -n "$prefix" ]; then
    pyscope_commit
    mv "$raw" "$prefix.raw" && { [ -z "$cmd" ] || mv "$work/out" "$prefix.out"; } ||
        pyscope_die "cannot write the outputs to $prefix.*"
    pyscope_note "wrote $prefix.raw$( [ -n "$cmd" ] && printf ' %s' "$prefix.out")"
fi
exit 0
