#!/bin/sh
# py-stack.sh: every thread's stack of a running Python process, once (like
# pystack or `py-spy dump`): what a hung service is doing right now.
#
# Why not SystemTap, as every other pyscope tool: in a hung service every
# thread is blocked in the kernel, so no probe ever fires in its context,
# and a probe cannot read another process's memory (only the current
# one's, and without sleeping).  So the dump reads the process from user
# space, as root, and never stops it: /proc/PID/mem for the interpreter's
# structures (tapsets/python_walk.stp's walk, ported to C in tools/dump),
# /proc/PID/task/TID/comm for thread names, and for a thread blocked in a
# system call /proc/PID/task/TID/syscall, whose stack pointer and pc start
# its native unwind (libdw).  The layout of the interpreter comes from the
# same place as every tool's (scripts/lib/layout-stpm.sh, through
# target.sh's checks).  docs/dump.md says more.
PYSCOPE_PROG=py-stack
. "$(dirname -- "$(readlink -f -- "$0")")/lib/common.sh"
. "$PYSCOPE_ROOT/scripts/lib/target.sh"
. "$PYSCOPE_ROOT/scripts/lib/cli.sh"

usage() {
    cat <<'EOF'
usage: py-stack.sh (-p PID | PID) [--json] [--native | --no-native]
                   [--dry-run] [-v]

Print the stack of every thread of a running Python process (any CPython
3.8-3.14, read from the binary) once, innermost frame first: each thread
as "Thread TID (NAME)", "[holds the GIL]" on the thread that holds it,
then its frames, Python ones as "qualname (file:line)" and native ones as
"symbol (native, module)", each interpreter call's native frame replaced
by the Python frames it runs.  Read-only: the process is never stopped.

A thread blocked in the kernel (a hung service's usual state) gets its
native frames too, unwound from where its system call left it; a thread
running on a CPU gets its Python frames and the marker "[running: native
frames need the thread stopped]".  Needs root, and the interpreter's
offsets (its debug symbols, e.g. python3.11-dbg, or a compiled-in table).

  -p, --pid PID   the process (a bare PID too)
  --json          one JSON document instead: {pid, process, python,
                  gil_known, threads: [{tid, name, python, gil, running,
                  frames: [{kind: python|native|marker, name, file, line,
                  label}]}]}
  --native        native frames of blocked threads (the default)
  --no-native     Python frames only
  --dry-run       check the target and every value, print the dump's
                  command (pyscope-dump and its arguments), and exit
  -v, --verbose   say how long each step took
  -h, --help      this help

-c, -d, -F and -o do not apply: a dump looks once at a process that is
already running and prints to stdout.

examples:
  py-stack.sh 1234
  py-stack.sh -p 1234 --json > stacks.json
  py-stack.sh --pid=1234 --no-native
EOF
}

json=0 native=1
# (-F parsed to be refused; secs and prefix empty: given or not)
secs="" hz=""
PYSCOPE_CLI_VALUES="-F"
PYSCOPE_CLI_FLAGS="--json --native --no-native"
tool_option() {
    case "$1" in
        --json) json=1 ;;
        --native) native=1 ;;
        --no-native) native=0 ;;
        -F) hz=$2 ;;
    esac
}
PYSCOPE_T0=${PYSCOPE_T0:-$(pyscope_now_ms)}
export PYSCOPE_T0
pyscope_cli_parse "$@"
[ -z "$cmd" ] ||
    pyscope_die "-c does not apply: a dump looks at a process that is already running; give -p PID"
[ -z "$secs" ] || pyscope_die "-d does not apply: a dump looks at the process once"
[ -z "$hz" ] || pyscope_die "-F does not apply: a dump takes no samples"
[ "$prefix_given" = 0 ] || pyscope_die "-o does not apply: the dump goes to stdout"
[ -z "$runner_mode" ] ||
    pyscope_die "$runner_mode does not apply: a dump loads no kernel module and runs no guest"
[ -n "$pid" ] || pyscope_die "give a PID or -p PID (try -h)"
case "$pid" in
    *[!0-9]*|0*) pyscope_die "-p needs a process ID, got '$pid'" ;;
esac
pyscope_cli_env
[ -d "/proc/$pid" ] || pyscope_die "no process with PID $pid"
[ "$(id -u)" = 0 ] ||
    pyscope_die "reading PID $pid's memory needs root"

# pyscope-dump and pyscope-offsets (quick when built)
dump=$PYSCOPE_BUILD/pyscope-dump
if [ -f "$PYSCOPE_ROOT/INSTALLED" ]; then
    for f in pyscope-dump pyscope-offsets; do
        [ -x "$PYSCOPE_BUILD/$f" ] ||
            pyscope_die "$PYSCOPE_BUILD/$f is missing: reinstall pyscope (make install)"
    done
else
    make -s -C "$PYSCOPE_ROOT" BUILD="$PYSCOPE_BUILD" "$dump" \
        "$PYSCOPE_BUILD/pyscope-offsets" >&2 ||
        pyscope_die "cannot build pyscope-dump (make failed)"
fi
pyscope_step "built"

pyscope_tmp_init
# not Python, not a version pyscope reads, no offsets (debug symbols):
# one line each (target.sh, layout-stpm.sh)
pyscope_check_pid "$pid"
pyscope_step "target checked, layout read"
pyscope_note "$(sed -n '2s/^ *//p' "$PYSCOPE_LAYOUT"): $(sed -n '4s/^ *\(.*\) \*\/$/\1/p' "$PYSCOPE_LAYOUT")"

set -- --pid "$pid" --layout "$PYSCOPE_LAYOUT" --elf "${PYSCOPE_SYSROOT:-}$PYSCOPE_PYTHON"
[ "$json" = 0 ] || set -- "$@" --json
[ "$native" = 1 ] || set -- "$@" --no-native
if [ "${PYSCOPE_DRY_RUN:-0}" = 1 ]; then
    # (the layout file is the run's own, removed on exit)
    printf 'pyscope-dump'
    for w in "$@"; do printf ' %s' "$(pyscope_quote "$w")"; done
    printf '\n'
    exit 0
fi
"$dump" "$@" 2> "$PYSCOPE_TMP/err"
rc=$?
pyscope_step "dumped"
if [ "$rc" != 0 ]; then
    # its one line, as this tool's
    msg=$(sed -n '1s/^pyscope-dump: //p' "$PYSCOPE_TMP/err")
    [ -d "/proc/$pid" ] || pyscope_die "PID $pid exited during the dump"
    pyscope_die "${msg:-pyscope-dump failed (exit $rc)}"
fi
cat "$PYSCOPE_TMP/err" >&2
exit 0
