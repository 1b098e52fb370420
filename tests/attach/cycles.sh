# cycles.sh: 20 attach/detach cycles against one long-running service,
# inside the QEMU guest (tests/attach_cycles.bats).  Cycles 1 and 2 are
# pyscope's tools (cpu-sample at 999 Hz, the service being almost idle,
# then leak-watch in trace mode: perf events,
# then uprobes on the interpreter and libc); cycles 3-20 load those same
# two modules again with staprun, in turn (a tool's own start-up costs
# some 15 s of emulated time; what attaching and detaching does to the
# target is the module's).  After each cycle: the modules loaded, the
# uprobes registered and the temporary files left.
. "$PYSCOPE_ROOT_DIR/tests/attach/lib.sh"
O=$PYSCOPE_OUT
leftovers > "$O/leftovers.before"
start_service S --leak --idle
S=$SVC_PID
: > "$O/cycles"
check() {   # check CYCLE RC
    leftovers > "$O/leftovers.$1"
    if diff -q "$O/leftovers.before" "$O/leftovers.$1" > /dev/null; then l=clean; else l=dirty; fi
    echo "cycle $1 rc $2 $l" >> "$O/cycles"
}
run_case c1 scripts/cpu-sample.sh -v -p "$S" -F 999 -d 1 -o "$O/c1/p"
check 1 "$(cat "$O/c1/rc")"
run_case c2 scripts/leak-watch.sh -v -p "$S" -d 1 -o "$O/c2/p"
check 2 "$(cat "$O/c2/rc")"
m1=$(sed -n 's/.*: \(\/[^ ]*\.ko\)$/\1/p' "$O/c1/out" | head -n 1)
m2=$(sed -n 's/.*: \(\/[^ ]*\.ko\)$/\1/p' "$O/c2/out" | head -n 1)
echo "modules: $m1 $m2" >> "$O/cycles"
i=3
while [ "$i" -le 20 ]; do
    if [ $((i % 2)) = 1 ]; then m=$m1; else m=$m2; fi
    staprun -R -x "$S" -o "/tmp/cycle.out" "$m" pyscope_duration_s=1 > "$O/staprun.$i" 2>&1
    rc=$?
    grep -c . /tmp/cycle.out > "$O/records.$i" 2>/dev/null
    rm -f /tmp/cycle.out
    check "$i" "$rc"
    i=$((i + 1))
done
sleep 2
kill "$S"
