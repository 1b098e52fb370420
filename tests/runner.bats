#!/usr/bin/env bats
# The runner and the SystemTap runtime fixes (real runs in the QEMU guest).
load helpers

setup_file() {
    export RUNNER="$ROOT/scripts/pyscope-run"
}

# ctrl_c_when PATTERN FILE: once FILE has PATTERN (at most 120 s), Ctrl-C
# the background job $pid and wait for it to end; SECS: how long it took.
# Start the job with `env --default-signal=INT`, as a terminal's
# foreground job has it: bats starts background jobs with SIGINT ignored.
ctrl_c_when() {
    for i in $(seq 1 120); do grep -q "$1" "$2" 2>/dev/null && break; sleep 1; done
    grep -q "$1" "$2"
    kill -INT "$pid"
    start=$(date +%s)
    wait "$pid" || true
    SECS=$(( $(date +%s) - start ))
}

@test "runtime fixes: detected from the kernel headers and applied to a copy only" {
    PYSCOPE_ROOT=$ROOT PYSCOPE_BUILD=$ROOT/build
    . "$ROOT/scripts/lib/common.sh"
    k=$(pyscope_guest_kernel)
    rt=$(pyscope_stap_runtime "$k")
    [ "$rt" != /usr/share/systemtap/runtime ]
    grep -q task_work_cancel_func "$rt/stp_task_work.c"
    grep -q 'define user_addr_max() TASK_SIZE_MAX' "$rt/linux/addr-map.c"
    ! grep -q task_work_cancel_func /usr/share/systemtap/runtime/stp_task_work.c || false
    ! grep -q 'define user_addr_max() TASK_SIZE_MAX' /usr/share/systemtap/runtime/linux/addr-map.c || false
    grep -q 'subbuf_size - buf->offset <= sizeof(struct _stp_trace)' "$rt/transport/relay_v2.c"
    ! grep -q 'subbuf_size - buf->offset <= sizeof(struct _stp_trace)' /usr/share/systemtap/runtime/transport/relay_v2.c || false
    grep -q _stp_transport_data_fs_drain "$rt/transport/transport.c"
    grep -q 'stapio did not read the end of the' "$rt/transport/transport.c"
    ! grep -q _stp_transport_data_fs_drain /usr/share/systemtap/runtime/transport/transport.c || false
}

# Many short messages of varied length, each sent on its own (a flush per
# message), numbered: every number must arrive, once, in order, and the
# end probe's line last.  Before the relay fix, 1-8 byte sub-buffer tails
# made stapio lose its framing ("transport failures", thousands of lines
# gone); before the output went through a pipe, one 9p write per message
# let stapio's readers fall seconds behind, and what they had not read
# when the run ended was dropped.  Then 20,000 messages from the end probe:
# stapio 4.8 stops its readers as soon as the module has exited, and
# before the drain fix some 4,500 of them arrived, and no "last" line.
@test "runner: stap's output arrives whole at 4000 messages a second, and the end probe's too" {
    cat > "$BATS_TEST_TMPDIR/burst.stp" <<'EOF'
function flush() %{ _stp_print_flush(); %}
global n, filler
probe begin { for (i = 0; i < 60; i++) filler .= "x" }
probe timer.ms(1) {
	for (i = 0; i < 4; i++) {
		n++
		printf("%d %s\n", n, substr(filler, 0, n % 61))
		flush()
	}
}
probe end {
	for (i = 1; i <= 20000; i++) { printf("end %d\n", i); flush() }
	printf("last %d\n", n)
}
EOF
    out="$BATS_TEST_TMPDIR/burst.out"
    run "$RUNNER" -c 'sleep 12' --data "$out" -- -g -DSTP_NO_OVERLOAD -DMAXACTION=200000 "$BATS_TEST_TMPDIR/burst.stp"
    echo "$output" | tail -5
    [ "$status" -eq 0 ]
    ! echo "$output" | grep -q 'transport failure' || false
    last=$(sed -n 's/^last \([0-9]*\)$/\1/p' "$out")
    echo "lines: $(wc -l < "$out"), end lines: $(grep -c '^end ' "$out"), last: $last"
    [ -n "$last" ]
    [ "$last" -ge 10000 ]
    [ "$(tail -n 1 "$out")" = "last $last" ]
    # 1..last, each once, in order, each with its own length; then the end
    # probe's 1..20000 in order
    awk -v last="$last" '
        NR <= last { if ($1 != NR || length($2) != NR % 61) { print "line " NR ": " $0; bad = 1; exit 1 } }
        NR > last && NR <= last + 20000 { if ($0 != "end " (NR - last)) { print "line " NR ": " $0; bad = 1; exit 1 } }
        END { if (!bad && NR != last + 20001) { print NR " lines"; exit 1 } }' "$out"
}

@test "runtime fix works: a sampled user stack has frames and @cast reads _PyRuntime" {
    run "$RUNNER" -c "$PY $ROOT/examples/busy.py 2" -- -d "$PY" --ldd -e '
        global deepest, casts
        probe perf.sw.cpu_clock.sample(10000000) {
            if (pid() != target()) next
            n = 0
            for (i = 0; i < 50; i++) { try { if (ustack(i) == 0) break } catch { break }; n++ }
            if (n > deepest) deepest = n
            try {
                if (@cast(&@var("_PyRuntime", "/usr/bin/python3.11"), "_PyRuntimeState",
                          "/usr/bin/python3.11")->initialized == 1) casts++
            } catch { }
        }
        probe end { printf("deepest=%d casts=%d\n", deepest, casts) }'
    echo "$output"
    [ "$status" -eq 0 ]
    d=$(echo "$output" | sed -n 's/^deepest=\([0-9]*\) .*/\1/p')
    c=$(echo "$output" | sed -n 's/.* casts=\([0-9]*\)$/\1/p')
    [ "$d" -gt 5 ]
    [ "$c" -gt 10 ]
}

@test "runner: stap's output alone reaches stdout; -o FILE lands on the host; cached module" {
    out="$BATS_TEST_TMPDIR/out.txt"
    run "$RUNNER" -v -o "$out" -c "/bin/true" -- -e 'probe begin { println("pyscope-hello") }'
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(cat "$out")" = "pyscope-hello" ]
    # the same script again: SystemTap's cache, no recompilation
    run "$RUNNER" -v -c "/bin/true" -- -e 'probe begin { println("pyscope-hello") }'
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(echo "$output" | grep -v '^pyscope-run:')" = "pyscope-hello" ]
    echo "$output" | grep -q 'module from the cache'
}

@test "runner: --data keeps stap's output apart, and the command's environment is its own" {
    out="$BATS_TEST_TMPDIR/data.txt"
    run "$RUNNER" -c 'sh -c "echo env:; env"' --data "$out" -- -e 'probe begin { println("pyscope-data") }'
    echo "$output" | grep -v '^PATH=\|^HOME=' | head -20
    [ "$status" -eq 0 ]
    [ "$(cat "$out")" = "pyscope-data" ]
    echo "$output" | grep -qx 'env:'
    ! echo "$output" | grep -q pyscope-data || false
    # nothing of the runner's own (a preload, a buffering setting) leaks in
    ! echo "$output" | grep -E '^(LD_PRELOAD|_STDBUF_)' || false
}

@test "runner: the exit status is stap's" {
    run "$RUNNER" -- -e 'probe begin { error("deliberate failure") }'
    echo "$output"
    [ "$status" -ne 0 ]
    echo "$output" | grep -q 'deliberate failure'
}

@test "runner: Ctrl-C stops the run and end probes still report" {
    out="$BATS_TEST_TMPDIR/int.txt"
    env --default-signal=INT "$RUNNER" -o "$out" -c "/bin/sleep 120" -- -e '
        probe begin { println("began") }
        probe end { println("ended cleanly") }' 2>"$BATS_TEST_TMPDIR/err" &
    pid=$!
    ctrl_c_when began "$out"
    [ "$SECS" -lt 60 ]
    grep -q 'ended cleanly' "$out"
}

@test "runner: Ctrl-C reaches a --no-stap command, which finishes handling it" {
    out="$BATS_TEST_TMPDIR/nostap-int.txt"
    # the program takes a second over its KeyboardInterrupt, after the sh
    # that started it has died of the same SIGINT
    cat > "$BATS_TEST_TMPDIR/int.py" <<'PYEOF'
import sys, time
print("started", flush=True)
try:
    time.sleep(300)
except KeyboardInterrupt:
    time.sleep(1)
    print("interrupted, cleaned up", flush=True)
    sys.exit(3)
PYEOF
    env --default-signal=INT "$RUNNER" --no-stap -o "$out" \
        -c "$PY $BATS_TEST_TMPDIR/int.py; echo not reached" 2>"$BATS_TEST_TMPDIR/err" &
    pid=$!
    ctrl_c_when started "$out"
    cat "$out" "$BATS_TEST_TMPDIR/err"
    [ "$SECS" -lt 30 ]
    grep -qx 'interrupted, cleaned up' "$out"
    ! grep -q 'not reached' "$out" || false
}

@test "runner: -p PID in guest mode is refused in one line" {
    run "$RUNNER" --vm -p $$ -- -e 'probe begin { exit() }'
    [ "$status" -ne 0 ]
    [ "${#lines[@]}" -eq 1 ]
    echo "$output" | grep -q 'cannot reach a host process'
}

@test "runner: bad input gets one line and a non-zero exit" {
    run "$RUNNER"
    [ "$status" -ne 0 ]; [ "${#lines[@]}" -eq 1 ]
    run "$RUNNER" -p abc -- -e 'probe begin { exit() }'
    [ "$status" -ne 0 ]; [ "${#lines[@]}" -eq 1 ]
}

@test "runner: .return probes on user code work (the guest kernel's real symbol table)" {
    run "$ROOT/scripts/pyscope-run" -c "$PY $ROOT/examples/objects.py" -- -e '
        global n, ok
        probe process("/usr/bin/python3.11").function("builtin_id").return {
            n++; if ($return != 0) ok++
        }
        probe end { printf("returns=%d nonzero=%d\n", n, ok) }'
    echo "$output"
    [ "$status" -eq 0 ]
    # examples/objects.py calls id() on 14 objects, then on 8 forged ones
    echo "$output" | grep -E '^returns=22 nonzero=22$'
    grep -q ' arch_uretprobe_hijack_return_addr$' "$ROOT"/build/kernel-*/System.map
}

@test "runner: PYSCOPE_GUEST_CLOCK=icount: guest time counts instructions, so the same work takes the same time" {
    run env PYSCOPE_GUEST_CLOCK=sundial "$RUNNER" --no-stap -c true
    [ "$status" -ne 0 ]; [ "${#lines[@]}" -eq 1 ]
    echo "$output" | grep -q 'PYSCOPE_GUEST_CLOCK must be wall or icount'
    # three runs of one loop in one guest: under icount they agree to 1%
    # (the emulation's wall clock, on a shared host, varies 10-30%).  CPU
    # time, not elapsed: elapsed time once came out 9% longer for one of
    # the three, most likely from the guest's other processes (the
    # runner's stop watcher starts /bin/sleep every 0.2 s).
    loop='import time
for _ in range(3):
    t = time.process_time(); sum(range(300000)); print(time.process_time() - t)'
    run env PYSCOPE_GUEST_CLOCK=icount "$RUNNER" -v --no-stap -c "$PY -c '$loop'"
    echo "$output"
    [ "$status" -eq 0 ]
    echo "$output" | grep -q 'guest clock: instruction count'
    echo "$output" | grep -E '^[0-9.]+$' | awk '
        { t[NR] = $1; if (NR == 1 || $1 < lo) lo = $1; if ($1 > hi) hi = $1 }
        END { printf "spread %.4f\n", (hi - lo) / lo; exit !(NR == 3 && lo > 0 && (hi - lo) <= 0.01 * lo) }'
}
