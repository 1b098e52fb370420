#!/bin/sh
# memleak-wrap.sh: run a command under bcc's memleak, traced from its first
# instruction to its exit, and exit with the command's status.
#
# usage: memleak-wrap.sh [-i INTERVAL] [-t SECONDS] [--] CMD [ARG...]
#
# `memleak-bpfcc -c CMD` cannot be used for a measurement: it starts CMD
# first and only then compiles its BPF program and attaches (tens of seconds
# in an emulated guest, during which CMD runs untraced; a short CMD is gone
# before the attach, which then fails with "could not determine address of
# symbol malloc in c"), and it never exits when CMD does.  So CMD is started
# stopped (a shell that SIGSTOPs itself and then execs CMD, same pid),
# `memleak-bpfcc -p PID INTERVAL` attaches to it, and CMD is continued once
# memleak has printed its first report (by then every uprobe is in place);
# when CMD exits, memleak gets SIGINT.  memleak's own output (its reports of
# outstanding allocations) goes to stderr, after CMD's; CMD's stdout stays
# alone on stdout.
#
# -i INTERVAL  memleak's report interval in seconds (default 5, memleak's own)
# -t SECONDS   give up if memleak has not attached after SECONDS (default 900)
# MEMLEAK=PATH the memleak to run (default memleak-bpfcc)
#
# In pyscope's QEMU guest the libc that memleak probes must not live on 9p:
# run this under `scripts/pyscope-run --no-stap --bind-copy <libc path>`.
MEMLEAK=${MEMLEAK:-memleak-bpfcc}
interval=5 limit=900
while [ $# -gt 0 ]; do
    case "$1" in
        -i) interval=$2; shift 2 ;;
        -t) limit=$2; shift 2 ;;
        --) shift; break ;;
        -h|--help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || { echo "memleak-wrap: no command given" >&2; exit 2; }
command -v "$MEMLEAK" >/dev/null 2>&1 ||
    { echo "memleak-wrap: $MEMLEAK not found (scripts/install-deps.sh --bench)" >&2; exit 2; }

log=$(mktemp "${TMPDIR:-/tmp}/memleak.XXXXXX") || exit 2
tpid="" mpid=""
finish() {
    [ -z "$tpid" ] || kill -KILL "$tpid" 2>/dev/null
    [ -z "$mpid" ] || kill -KILL "$mpid" 2>/dev/null
    rm -f "$log"
}
trap finish EXIT
trap 'exit 130' INT TERM

state() { sed 's/^.*) \([A-Za-z]\).*/\1/' "/proc/$1/stat" 2>/dev/null; }

sh -c 'kill -STOP $$ && exec "$@"' memleak-target "$@" &
tpid=$!
while [ "$(state "$tpid")" != T ]; do
    kill -0 "$tpid" 2>/dev/null ||
        { echo "memleak-wrap: the command did not start" >&2; tpid=""; exit 2; }
    sleep 0.05
done

t0=$(date +%s)
echo "memleak-wrap: $MEMLEAK -p $tpid $interval" >&2
"$MEMLEAK" -p "$tpid" "$interval" > "$log" 2>&1 &
mpid=$!
until grep -q 'stacks with outstanding allocations' "$log"; do
    if ! kill -0 "$mpid" 2>/dev/null; then
        wait "$mpid"
        echo "memleak-wrap: $MEMLEAK exited (status $?) before attaching:" >&2
        cat "$log" >&2
        mpid=""
        exit 3
    fi
    if [ $(($(date +%s) - t0)) -ge "$limit" ]; then
        echo "memleak-wrap: $MEMLEAK did not attach within ${limit}s:" >&2
        cat "$log" >&2
        exit 3
    fi
    sleep 0.2
done
echo "memleak-wrap: attached after $(($(date +%s) - t0)) s; continuing the command" >&2
kill -CONT "$tpid"
wait "$tpid"
rc=$?
tpid=""
kill -INT "$mpid" 2>/dev/null
n=0
while kill -0 "$mpid" 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
kill -KILL "$mpid" 2>/dev/null
wait "$mpid" 2>/dev/null
mpid=""
echo "memleak-wrap: memleak's output:" >&2
cat "$log" >&2
exit "$rc"
