# lib.sh: helpers for the attach scenarios (sourced inside the QEMU guest,
# where scripts/pyscope-run --no-stap runs them; see tests/attach.bats).
# Each case writes into $PYSCOPE_OUT/CASE/: out (the tool's stdout and
# stderr), rc (its exit status) and the tool's own output files.
cd "$PYSCOPE_ROOT_DIR" || exit 1
PY=/usr/bin/python3.11
export PYTHONPATH=$PYSCOPE_ROOT_DIR/build/py:$PYSCOPE_ROOT_DIR/build/ext

# start_service NAME ARGS...: examples/service.py in the background, its
# lines in $PYSCOPE_OUT/NAME.log; waits for "ready" and sets SVC_PID.
start_service() {
    name=$1; shift
    ${SVC_PY:-$PY} "${SVC_SCRIPT:-$PYSCOPE_ROOT_DIR/examples/service.py}" "$@" > "$PYSCOPE_OUT/$name.log" 2>&1 &
    SVC_PID=$!
    i=0
    while ! grep -q '^ready' "$PYSCOPE_OUT/$name.log"; do
        i=$((i + 1))
        [ "$i" -lt 600 ] && kill -0 "$SVC_PID" 2>/dev/null || { echo "service $name did not start"; return 1; }
        sleep 0.1
    done
}

# run_case CASE CMD...: run a tool, keep its output and status
run_case() {
    c=$1; shift
    mkdir -p "$PYSCOPE_OUT/$c"
    s=$(date +%s%3N)
    "$@" > "$PYSCOPE_OUT/$c/out" 2>&1
    echo $? > "$PYSCOPE_OUT/$c/rc"
    echo $(( $(date +%s%3N) - s )) > "$PYSCOPE_OUT/$c/ms"
    echo "case $c: rc $(cat "$PYSCOPE_OUT/$c/rc") in $(cat "$PYSCOPE_OUT/$c/ms") ms"
}

# leftovers: modules, uprobes and temporary files a tool left behind
leftovers() {
    lsmod | awk '$1 ~ /^(pyscope_|stap_)/ { print "module " $1 }'
    cat /sys/kernel/tracing/uprobe_events 2>/dev/null | sed 's/^/uprobe /'
    ls -d /tmp/cpu-sample.* /tmp/leak-watch.* /tmp/refcount-watch.* /tmp/pyscope* \
        /tmp/stap* 2>/dev/null | sed 's/^/tmp /'
}

# wait_module: until a pyscope module is loaded (a tool has attached)
wait_module() {
    i=0
    while ! lsmod | grep -q '^pyscope_'; do
        i=$((i + 1))
        [ "$i" -lt 1200 ] || { echo "no module was loaded"; return 1; }
        sleep 0.25
    done
}

# run_bg CASE CMD...: run_case in the background, in a session of its own
# and with SIGINT at its default (a shell starts background jobs with
# SIGINT ignored), so that kill -INT -$BG_PID reaches all of it as a
# Ctrl-C at a terminal reaches a foreground job
run_bg() {
    c=$1; shift
    mkdir -p "$PYSCOPE_OUT/$c"
    $PY -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.setsid()
os.execvp("sh", ["sh", "-c", "trap : INT; c=$1; shift; \"$@\" > \"$PYSCOPE_OUT/$c/out\" 2>&1; echo $? > \"$PYSCOPE_OUT/$c/rc\"", "run_bg"] + sys.argv[1:])' \
        "$c" "$@" &
    BG_PID=$!
}
