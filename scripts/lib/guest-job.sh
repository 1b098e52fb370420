#!/bin/sh
# job.sh: runs inside pyscope's guest, chrooted into the overlay of the
# host's root.  The host's runner put env.sh beside it; this script prepares
# the system, copies every probed binary to tmpfs (uprobes cannot be
# registered on a file that lives on 9p) and bind-mounts it over its path,
# then runs staprun.  Output goes to files in the job directory, which the
# host reads while it grows.
J=/run/pyscope-job
. "$J/env.sh"
mount -t proc proc /proc 2>/dev/null
mount -t sysfs sysfs /sys 2>/dev/null
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs tmpfs /dev/shm 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t tmpfs tmpfs /run/pyscope-bin 2>/dev/null ||
    { mkdir -p /run/pyscope-bin && mount -t tmpfs tmpfs /run/pyscope-bin; }
echo 1 > /proc/sys/kernel/sysrq
# Kernel warnings and their stack dumps (a soft lockup's, say) reach the
# console file, so that a failed run can show them; boot stays quiet.
echo 5 > /proc/sys/kernel/printk
echo 0 > /proc/sys/kernel/kptr_restrict 2>/dev/null
# loopback only: programs talk to themselves over 127.0.0.1, nothing else
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up 2>/dev/null
hostname pyscope-guest 2>/dev/null

# finish RC: the run's exit status for the host, then power off
finish() {
    echo "$1" > "$J/rc.tmp" && mv "$J/rc.tmp" "$J/rc"
    sync
    echo o > /proc/sysrq-trigger
    sleep 30
}

echo booted > "$J/booted"
# The host may still be compiling the module: it writes $J/ready once the
# module and $J/binaries are there (a stop request while waiting ends the
# run).
while [ ! -e "$J/ready" ]; do
    [ ! -e "$J/stop" ] || finish 130
    sleep 0.1
done

n=0
while IFS= read -r bin; do
    [ -f "$bin" ] || continue
    n=$((n + 1))
    # -p: the copy keeps the file's time, so that caches keyed by it
    # (modules, DWARF tables) see the same file as the host does
    cp -p "$bin" "/run/pyscope-bin/$n" && mount --bind "/run/pyscope-bin/$n" "$bin"
done < "$J/binaries"

cd "$PYSCOPE_CWD" 2>/dev/null || cd /

# stap's output goes to a file in the guest's memory (tmpfs), which stapio
# writes at once, and from there to the job directory (9p), which the host
# reads while it grows, by tail, which copies what has piled up in few
# writes.  Written straight to 9p (one write per message), stap's output
# made stapio's readers fall seconds behind on busy runs; through a pipe,
# a reader blocked behind a slow 9p write (a loaded host) was still
# reading when the run ended, and SystemTap 4.8's stapio drops what it has
# not read then.  $J/out names the file it goes to.
[ ! -f "$J/out" ] || : > /dev/shm/pyscope-out
# cmd.sh execs staprun, so $pid is staprun (later stapio, same pid); with
# --no-stap it is the sh that runs the command.  The job starts as a
# terminal's foreground job would: in a process group of its own (setsid
# does not fork here: a background job of this shell leads no group) and
# with SIGINT and SIGQUIT at their default actions, which a shell's
# background job would otherwise find ignored (and Python keeps a SIGINT
# it finds ignored: no KeyboardInterrupt).
setsid env --default-signal=INT,QUIT sh "$J/cmd.sh" \
    >> "$J/stdout" 2> "$J/stderr" < /dev/null &
pid=$!
copier=""
if [ -f "$J/out" ]; then
    # from the file's first byte; once stapio is gone, tail copies what
    # is left and ends
    tail -c +1 -s 0.1 -f --pid="$pid" /dev/shm/pyscope-out >> "$J/$(cat "$J/out")" &
    copier=$!
fi
# Ctrl-C on the host creates $J/stop: pass it on as SIGINT.  A stap job's
# goes to stap alone, which runs its end probes, so that everything
# collected is still written, and then ends its command.  A plain command's
# (--no-stap: no $J/out) goes to its whole process group, as a terminal's
# Ctrl-C does, so that it reaches the command and not only the sh that
# waits for it.
if [ -f "$J/out" ]; then group=""; else group=-$pid; fi
( while [ ! -e "$J/stop" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  kill -INT "${group:-$pid}" 2>/dev/null ) &
wait "$pid"
rc=$?
# The sh may die of the SIGINT before its command has finished handling
# it: give the group the time a Ctrl-C'd program takes to write what it
# holds (the host kills the guest 60 s after its stop request).
i=0
while [ -n "$group" ] && [ -e "$J/stop" ] && [ "$i" -lt 500 ] &&
        kill -0 "$group" 2>/dev/null; do
    sleep 0.1
    i=$((i + 1))
done
[ -z "$copier" ] || wait "$copier"
finish "$rc"
