# debian.sh: attach scenarios against Debian's python3.11, run inside the
# QEMU guest by tests/attach.bats (each tool runs there in host mode, as on
# a server whose kernel loads modules).  Every target is started before
# the tool that attaches to it.
. "$PYSCOPE_ROOT_DIR/tests/attach/lib.sh"
O=$PYSCOPE_OUT
EXT=$(ls build/ext/refbug.cpython-311-*.so)
leftovers > "$O/leftovers.before"

# A: labels painted (pyscope imported before any tool), the allocation
# sampler (16 KiB mean), a refcount bug, a leak.
PYSCOPE_ALLOC_SAMPLE=16384 start_service A --labels --refbug --leak
A=$SVC_PID
# cold: an empty module cache of its own (the module is compiled, on the
# host of this guest); then the same attach finds it in the cache
mkdir -p /tmp/cold-cache
PYSCOPE_CACHE=/tmp/cold-cache run_case cpu_cold scripts/cpu-sample.sh -v -p "$A" -d 4 --labels split -o "$O/cpu_cold/p"
rm -rf /tmp/cold-cache
run_case cpu scripts/cpu-sample.sh -v -p "$A" -d 4 --labels split -o "$O/cpu/p"
leftovers > "$O/cpu/leftovers"
run_case leak_sampled scripts/leak-watch.sh -v "$A" -d 6 --group-by line -o "$O/leak_sampled/p"
ADDR=$(sed -n 's/^refbug //p' "$O/A.log")
run_case refcount scripts/refcount-watch.sh -p "$A" --addr "$ADDR" --module "$EXT" \
    --watch checksum -d 5 -o "$O/refcount/w"
run_case tapset scripts/pyscope-run -p "$A" -- -I tapsets -e '
    probe perf.sw.cpu_clock.sample(10000000) {
        if (pid() == target() && tid() == pid()) { print(py_stack()); exit() }
    }'
[ -z "${PLAINKO:-}" ] || {
    run_case plain staprun -x "$A" -o /tmp/plain.out "$PLAINKO"
    cp /tmp/plain.out "$O/plain.out"
    rm -f /tmp/plain.out
}
kill "$A"

# installed CASE TOOL ARGS...: run_case with the installed tool ($INST:
# make install PREFIX=$INST on the host), found on PATH through its link,
# from another directory: what a user of an installed pyscope runs
installed() {
    c=$1; shift
    ( cd /tmp && PATH=$INST/bin:$PATH && export PATH && run_case "$c" "$@" )
}

# C: 50 threads, two of them busy
start_service C --busy-threads 1 --idle-threads 48
installed threads pyscope-cpu-sample --pid="$SVC_PID" --duration 3 --output "$O/threads/p"
ls /proc/"$SVC_PID"/task | wc -l > "$O/threads/nthreads"
# the live view, not on a terminal: a table a refresh, the last at the end
# (every row: the busy thread's own frames have no samples of their own,
# only work()'s, and rows of no self time sort by total, which puts them
# among, or after, the frames every thread shares)
installed top pyscope top --pid="$SVC_PID" --duration 3 --interval 500 --top 200 --output "$O/top/p"
kill "$SVC_PID"

# G: a "container": a chroot whose interpreter is /opt/py/bin/python3, a
# path the tools' side does not have ($CTR, its files and the example at
# /app, was made on the host, so that the compile service sees it too)
if [ -n "${CTR:-}" ]; then
    mkdir -p "$CTR/proc" "$CTR/dev" "$CTR/tmp"
    mount -t proc proc "$CTR/proc"
    mount --bind /dev "$CTR/dev"
    mount -t tmpfs tmpfs "$CTR/tmp"
    SVC_PY="chroot $CTR /opt/py/bin/python3" SVC_SCRIPT=/app/examples/service.py \
        start_service G --leak
    G=$SVC_PID
    echo "$G" > "$O/G.pid"
    run_case ctr_cpu scripts/cpu-sample.sh -p "$G" -d 3 -o "$O/ctr_cpu/p"
    # no pyscope in there: leak-watch chooses trace mode
    run_case ctr_leak scripts/leak-watch.sh -p "$G" -d 5 --group-by line -o "$O/ctr_leak/p"
    kill "$G"
fi

# D: a Python process that does nothing at all, once it has started (its
# start-up would be CPU time during the run)
SVC_SCRIPT=-c start_service D 'import time; print("ready", flush=True); time.sleep(600)'
D=$SVC_PID
installed idle pyscope record "$D" -d 2 -o "$O/idle/p"
kill "$D"
# what those runs wrote into the installed tree (nothing, it should be)
find "$INST" -newer "$INST/lib/pyscope/INSTALLED" > "$O/installed.written"

# E: killed during the watch, once a snapshot has counted its allocations
# (not when the module is loaded: its probes may still be registering)
start_service E --idle --leak
E=$SVC_PID
# (this run's stream: not one of a leak-watch that some other run left)
ls -d /tmp/leak-watch.* > "$O/exit_leak.before" 2>/dev/null
run_bg exit_leak scripts/leak-watch.sh -p "$E" --group-by line -o "$O/exit_leak/p"
wait_module
i=0
until for d in /tmp/leak-watch.*; do grep -qxF "$d" "$O/exit_leak.before" || cat "$d/raw"; done 2>/dev/null |
        awk -F '\t' '$1 == "E" && $3 > 0 { f = 1 } END { exit !f }'; do
    i=$((i + 1))
    [ "$i" -lt 600 ] || { echo "no snapshot with allocations"; break; }
    sleep 0.2
done
kill -9 "$E"
wait "$BG_PID"

# F: Ctrl-C (SIGINT to the tool's process group) during a profile
start_service F
F=$SVC_PID
run_bg interrupt scripts/cpu-sample.sh -p "$F" -o "$O/interrupt/p"
wait_module
sleep 3
kill -INT "-$BG_PID"
wait "$BG_PID"
# and Ctrl-C early: once the tool has named the interpreter, before its
# module loads or as it loads (what a user who changed their mind does)
run_bg interrupt_early scripts/cpu-sample.sh -p "$F" -o "$O/interrupt_early/p"
until grep -q 'cpu-sample: CPython' "$O/interrupt_early/out" 2>/dev/null; do
    kill -0 "$BG_PID" 2>/dev/null || break
    sleep 0.05
done
kill -INT "-$BG_PID"
wait "$BG_PID"
lsmod | awk '$1 ~ /^pyscope_/' > "$O/interrupt_early/modules"
kill "$F"

# H: hostile memory (tests/hostile): the target's frames replaced, 400 ms
# at a time, by chains that lie (a cycle, an unmapped caller, a garbage
# code object, strings and a line table claiming 2**40, 100,000 frames),
# round after round, each chain under a frame label, while py-stack reads
# it, a profile (labels split: its label walks meet the chains) and a
# trace-mode leak watch attach to it; then (SIGUSR1) the target says
# whether it survived
if [ -n "${HOSTILE:-}" ]; then
    PYTHONPATH=$HOSTILE:$PYTHONPATH $PY tests/hostile/run.py --rounds 0 400 > "$O/H.log" 2>&1 &
    H=$!
    until grep -q 'chain in place' "$O/H.log"; do
        kill -0 "$H" 2>/dev/null || break
        sleep 0.1
    done
    run_case hostile_stack scripts/py-stack.sh -p "$H"
    run_case hostile_cpu scripts/cpu-sample.sh -p "$H" -d 5 --labels split -o "$O/hostile_cpu/p"
    run_case hostile_leak scripts/leak-watch.sh -p "$H" -d 5 --mode trace -o "$O/hostile_leak/p"
    kill -USR1 "$H"
    wait "$H"
    echo $? > "$O/H.rc"
fi

# I: real code in the shapes that stress a walker (tests/hostile/shapes.py):
# a recursion 10,000 frames deep, 200 idle threads, a function and a file
# with non-ASCII names, a name of 10,000 characters, generators torn down
# while sampled; py-stack and a profile read it while all of it runs (the
# leak watch's stack keys are the same walk; hostile_leak covers them)
mkdir -p "$O/shapes"
SVC_SCRIPT=tests/hostile/shapes.py start_service I "$O/shapes"
I=$SVC_PID
# (Python frames only: the native unwinding of 205 threads takes 2 s on
# this host, 95 s in the emulated guest)
run_case shapes_stack scripts/py-stack.sh --no-native -p "$I"
run_case shapes_cpu scripts/cpu-sample.sh -p "$I" -d 4 -o "$O/shapes_cpu/p"
kill -USR1 "$I"
wait "$I"
echo $? > "$O/I.rc"

# J: a target that forks and then execs a program that is not Python
# (tests/hostile/forkexec.py), told to go on once the tool has attached;
# a profile, then a leak watch, each of its own target
for t in cpu leak; do
    SVC_SCRIPT=tests/hostile/forkexec.py start_service "J_$t" 5
    J=$SVC_PID
    case $t in
        cpu) run_bg forkexec_cpu scripts/cpu-sample.sh -p "$J" -d 5 -o "$O/forkexec_cpu/p" ;;
        leak) run_bg forkexec_leak scripts/leak-watch.sh -p "$J" -d 5 --mode trace -o "$O/forkexec_leak/p" ;;
    esac
    # on once it samples (its module loaded, and a second of samples) or
    # once its first snapshot is out (uprobes take seconds to register)
    case $t in
        cpu) wait_module; sleep 1 ;;
        leak) until grep -q '^leak-watch: *[0-9.]* s ' "$O/forkexec_leak/out" 2>/dev/null; do
                  kill -0 "$BG_PID" 2>/dev/null || break
                  sleep 0.2
              done ;;
    esac
    kill -USR1 "$J"
    wait "$BG_PID"
    wait "$J"
    echo $? > "$O/J_$t.rc"
done

# bad input on the attach path
sleep 600 &
S=$!
run_case not_python scripts/cpu-sample.sh -p "$S" -d 2 -o "$O/not_python/p"
kill "$S"
# a target that exits while the tool sets up (the setup takes seconds here)
$PY -c 'import time; time.sleep(2)' &
run_case gone scripts/leak-watch.sh -p $! -d 2 -o "$O/gone/p"

leftovers > "$O/leftovers.after"
