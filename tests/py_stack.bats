#!/usr/bin/env bats
# py-stack.sh (pyscope dump): every thread's stack of a live process, read
# from /proc on this machine (no kernel module, no guest: host-only).
# The target is examples/hung.py: a main thread in time.sleep, "sleeper"
# in time.sleep, "waiter" in Event().wait(), "spinner" holding the GIL in
# a Python loop; the lines the tests name are its "# LINE" comments.
load helpers

HUNG=examples/hung.py

setup() {
    cd "$ROOT"
    make -s build/pyscope-dump build/pyscope-offsets >&2
    NOPID=999999999
    HPIDS=""
}

teardown() {
    for p in $HPIDS; do kill "$p" 2>/dev/null || true; done
}

# start_hung PYTHON [TICK [SECONDS]]: hung.py under PYTHON in the
# background, once every thread is in place: $HP its PID, $HOUT its output
start_hung() {
    HOUT=$BATS_TEST_TMPDIR/hung.$RANDOM.out
    "$1" "$ROOT/$HUNG" "${2:-1}" "${3:-120}" > "$HOUT" 2>&1 &
    HP=$!
    HPIDS="$HPIDS $HP"
    for _ in $(seq 100); do
        grep -q '^ready' "$HOUT" && return 0
        sleep 0.1
    done
    cat "$HOUT"
    false
}

# line_of TAG: the line of hung.py marked "# LINE TAG"
line_of() {
    grep -n "# LINE $1\$" "$ROOT/$HUNG" | cut -d: -f1
}

# block NAME FILE: the frames of the thread named NAME in a text dump
block() {
    awk -v n="$1" '/^Thread / { on = index($0, "(" n ")") > 0; next }
        /^$/ { on = 0 } on' "$2"
}

# first_python NAME FILE: the innermost Python frame of thread NAME
first_python() {
    block "$1" "$2" | grep -E '^  [^[].* \(.*:[0-9]+\)$' | head -n 1 | sed 's/^  //'
}

# the innermost Python frame of every thread is the line it waits on
check_innermost() {   # DUMPFILE
    f=$ROOT/$HUNG
    [ "$(first_python sleeper "$1")" = "sleeper ($f:$(line_of sleeper))" ]
    [ "$(first_python waiter "$1")" != "" ]
    block waiter "$1" | grep -qxF "  waiter ($f:$(line_of waiter))"
    # waiter's innermost Python frames are threading's Event.wait
    block waiter "$1" | grep -E '^  [^[].*\.py:[0-9]+\)$' | head -n 1 | grep -q 'threading.py'
    [ "$(first_python spinner "$1")" = "spin ($f:$(line_of spin))" ]
    block spinner "$1" | grep -qxF "  spinner ($f:$(line_of spinner))"
    # the main thread (its name is the program's)
    grep -qxF "  main ($f:$(line_of main))" "$1"
}

# dump_until REGEX ARGS...: py-stack.sh ARGS... into $D until its output
# matches REGEX (the spinner holds the GIL and runs on a CPU nearly all
# the time, except for the moments the main thread takes the GIL to
# tick), at most 10 tries
dump_until() {
    re=$1; shift
    D=$BATS_TEST_TMPDIR/dump.txt
    for _ in $(seq 10); do
        "$ROOT/scripts/py-stack.sh" "$@" > "$D" 2> "$BATS_TEST_TMPDIR/err" || {
            cat "$BATS_TEST_TMPDIR/err"; false; }
        awk -v re="$re" 'BEGIN { RS = ""; ORS = "\n\n" } $0 ~ re' "$D" | grep -q . && return 0
        sleep 0.3
    done
    cat "$D"
    false
}

@test "Debian's python3.11: every thread's Python frames, innermost first, at the right lines, with names; the GIL holder" {
    start_hung "$PY"
    # (the GIL: the spinner holds it but for the moments the main thread
    # takes it to tick, once a second)
    dump_until '\(spinner\) \[holds the GIL\]' --no-native "$HP"
    cp "$D" "$BATS_TEST_TMPDIR/d"
    cat "$BATS_TEST_TMPDIR/d"
    "$ROOT/scripts/py-stack.sh" --no-native "$HP" 2> "$BATS_TEST_TMPDIR/err" > /dev/null
    # which interpreter, and where its offsets came from: one line on stderr
    grep -q '^py-stack: CPython 3\.11\.[0-9]* (/usr/bin/python3\.11): offsets from ' "$BATS_TEST_TMPDIR/err"
    head -n 1 "$BATS_TEST_TMPDIR/d" | grep -qE "^Process $HP \(python3\.11\): CPython 3\.11\.[0-9]+ \(/usr/bin/python3\.11\)$"
    for n in sleeper waiter spinner; do
        grep -qE "^Thread [0-9]+ \($n\)" "$BATS_TEST_TMPDIR/d" || { echo "no thread $n"; false; }
    done
    # four threads, the main one first (its tid is the PID)
    [ "$(grep -c '^Thread ' "$BATS_TEST_TMPDIR/d")" -eq 4 ]
    grep '^Thread ' "$BATS_TEST_TMPDIR/d" | head -n 1 | grep -q "^Thread $HP "
    check_innermost "$BATS_TEST_TMPDIR/d"
    # one thread holds the GIL: the one in the Python loop
    [ "$(grep -c 'holds the GIL' "$BATS_TEST_TMPDIR/d")" -eq 1 ]
    grep -qE '^Thread [0-9]+ \(spinner\) \[holds the GIL\]$' "$BATS_TEST_TMPDIR/d"
    # outermost frames of a thread: threading's bootstrap
    block sleeper "$BATS_TEST_TMPDIR/d" | tail -n 1 | grep -q '^  Thread._bootstrap (.*threading.py:[0-9]*)$'
    # Python frames only: no native frame
    ! grep -q '(native' "$BATS_TEST_TMPDIR/d" || false
}

@test "native frames of blocked threads: libc's sleep and futex waits, the interpreter loop replaced by its Python frames" {
    start_hung "$PY"
    dump_until '\(spinner\)[^\n]*\n  \[running: native frames need the thread stopped\]' "$HP"
    cat "$D"
    check_innermost "$D"
    # sleeper: libc's nanosleep innermost, then time.sleep's C function,
    # then the Python frame that called it
    block sleeper "$D" | head -n 1 | grep -qE '^  (__GI___)?(__)?clock_nanosleep.* \(native, libc\.so\.6\)$'
    block sleeper "$D" | grep -qE '^  time_sleep.* \(native, python3\.11\)$'
    block sleeper "$D" | grep -n . | grep -E 'time_sleep|sleeper \(' | head -n 1 | grep -q time_sleep
    # waiter: a futex wait in libc (a semaphore, the lock under Event.wait)
    block waiter "$D" | head -n 1 | grep -qE 'futex.* \(native, libc\.so\.6\)$'
    block waiter "$D" | grep -qE '^  PyThread_acquire_lock_timed \(native'
    # the stacks go down to the thread's start
    block sleeper "$D" | grep -qE '^  start_thread \(native, libc\.so\.6\)$'
    # every interpreter call shows as its Python frames, never as itself
    ! grep -q '_PyEval_EvalFrameDefault' "$D" || false
    # a running thread: the marker first, then its Python frames only
    block spinner "$D" | head -n 1 | grep -qxF '  [running: native frames need the thread stopped]'
    ! block spinner "$D" | grep -q '(native' || false
}

@test "--json: one document that python3 -m json.tool parses, holding the same frames" {
    start_hung "$PY"
    "$ROOT/scripts/py-stack.sh" "$HP" > "$BATS_TEST_TMPDIR/d.txt"
    for _ in $(seq 10); do
        "$ROOT/scripts/py-stack.sh" -p "$HP" --json > "$BATS_TEST_TMPDIR/d.json"
        grep -q '"name": "spinner", "python": true, "gil": true' "$BATS_TEST_TMPDIR/d.json" && break
        sleep 0.3
    done
    python3 -m json.tool "$BATS_TEST_TMPDIR/d.json" > /dev/null
    f=$ROOT/$HUNG
    python3 - "$BATS_TEST_TMPDIR/d.json" "$HP" "$f" "$(line_of sleeper)" "$(line_of waiter)" \
        "$(line_of spin)" "$(line_of main)" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
pid, f = int(sys.argv[2]), sys.argv[3]
sl, wl, spl, ml = map(int, sys.argv[4:8])
assert doc["pid"] == pid, doc["pid"]
assert doc["python"].startswith("CPython 3.11."), doc["python"]
threads = {t["name"]: t for t in doc["threads"]}
assert {"sleeper", "waiter", "spinner"} <= set(threads), list(threads)
assert doc["threads"][0]["tid"] == pid
def py(t):
    return [(fr["name"], fr["file"], fr["line"]) for fr in t["frames"] if fr["kind"] == "python"]
assert py(threads["sleeper"])[0] == ("sleeper", f, sl), py(threads["sleeper"])
assert ("waiter", f, wl) in py(threads["waiter"])
assert py(threads["spinner"])[0] == ("spin", f, spl), py(threads["spinner"])
assert py(doc["threads"][0])[0] == ("main", f, ml)
for t in doc["threads"]:
    assert set(t) >= {"tid", "name", "gil", "frames", "python", "running"}, t.keys()
    for fr in t["frames"]:
        assert fr["kind"] in ("python", "native", "marker"), fr
        assert set(fr) >= {"kind", "name", "file", "line", "label"}, fr
# the GIL: known, and held by the spinner alone
assert doc["gil_known"] is True
assert [t["name"] for t in doc["threads"] if t["gil"]] == ["spinner"], doc["threads"]
assert all(t["gil"] is False for t in doc["threads"] if t["name"] != "spinner")
# native frames of a blocked thread, symbolized
assert any(fr["kind"] == "native" and "nanosleep" in fr["name"] and fr["file"] == "libc.so.6"
           for fr in threads["sleeper"]["frames"]), threads["sleeper"]["frames"]
EOF
    # the text dump names the same Python frames, thread by thread
    for n in sleeper waiter; do
        a=$(block "$n" "$BATS_TEST_TMPDIR/d.txt" | grep -vE '\(native|^  \[' )
        b=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for t in d["threads"]:
    if t["name"] == sys.argv[2]:
        for fr in t["frames"]:
            if fr["kind"] == "python":
                print("  %s (%s:%d)" % (fr["name"], fr["file"], fr["line"]))' "$BATS_TEST_TMPDIR/d.json" "$n")
        [ "$a" = "$b" ] || { echo "text: $a"; echo "json: $b"; false; }
    done
}

@test "JSON strings are escaped: quotes, backslashes, control characters and non-ASCII names" {
    cat > "$BATS_TEST_TMPDIR/odd.py" <<'EOF'
import sys, threading, time
def f():
    time.sleep(1000)
ns = {"time": time}
exec("def g\u00e9_\u4e2d():\n    time.sleep(1000)\n", ns)
f.__code__ = f.__code__.replace(co_qualname='q"uote\\back\tslash\x01')
threading.Thread(target=f, daemon=True).start()
threading.Thread(target=ns["g\u00e9_\u4e2d"], daemon=True).start()
time.sleep(0.3)
print("ready", flush=True)
time.sleep(1000)
EOF
    "$PY" "$BATS_TEST_TMPDIR/odd.py" > "$BATS_TEST_TMPDIR/odd.out" &
    HP=$! HPIDS=$HP
    for _ in $(seq 50); do grep -q ready "$BATS_TEST_TMPDIR/odd.out" && break; sleep 0.1; done
    "$ROOT/scripts/py-stack.sh" --json --no-native "$HP" > "$BATS_TEST_TMPDIR/d.json"
    python3 - "$BATS_TEST_TMPDIR/d.json" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
names = [fr["name"] for t in doc["threads"] for fr in t["frames"]]
assert 'q"uote\\back\tslash\x01' in names, names
assert "g\u00e9_\u4e2d" in names, names
EOF
}

@test "frame labels painted by pyscope's runtime: [label: TEXT] on the painted frame, in JSON too (3.11; pyenv's 3.8 and 3.12 where make pyext-versions built it)" {
    cat > "$BATS_TEST_TMPDIR/lab.py" <<'EOF'
import threading, time, pyscope
def handler():
    with pyscope.label('req-42 "x"'):
        work()
def work():
    time.sleep(1000)
threading.Thread(target=handler, daemon=True).start()
time.sleep(0.3)
print("ready", flush=True)
time.sleep(1000)
EOF
    n=0
    for m in 3.11 3.8 3.12; do
        if [ "$m" = 3.11 ]; then
            py=$PY pp=$ROOT/build/py
        else
            v=$(patch_of "$m") pp=$ROOT/build/py-$m
            py=$PYENV/$v/bin/python$m
            [ -n "$v" ] && ls "$pp"/pyscope/_pyscope.cpython-*.so > /dev/null 2>&1 || continue
        fi
        PYTHONPATH=$pp "$py" "$BATS_TEST_TMPDIR/lab.py" > "$BATS_TEST_TMPDIR/lab.out" &
        HP=$!
        HPIDS="$HPIDS $HP"
        for _ in $(seq 50); do grep -q ready "$BATS_TEST_TMPDIR/lab.out" && break; sleep 0.1; done
        "$ROOT/scripts/py-stack.sh" "$HP" > "$BATS_TEST_TMPDIR/d"
        echo "== $m"; cat "$BATS_TEST_TMPDIR/d"
        f=$BATS_TEST_TMPDIR/lab.py
        # the painted frame, and only it (work() runs under the label,
        # but is not painted itself)
        grep -qxF "  handler ($f:4) [label: req-42 \"x\"]" "$BATS_TEST_TMPDIR/d"
        grep -qxF "  work ($f:6)" "$BATS_TEST_TMPDIR/d"
        [ "$(grep -c '\[label: ' "$BATS_TEST_TMPDIR/d")" -eq 1 ]
        "$ROOT/scripts/py-stack.sh" --json --no-native "$HP" > "$BATS_TEST_TMPDIR/d.json"
        python3 -c '
import json, sys
labels = [(fr["name"], fr["label"]) for t in json.load(open(sys.argv[1]))["threads"]
          for fr in t["frames"] if fr["label"] is not None]
assert labels == [("handler", "req-42 \"x\"")], labels' "$BATS_TEST_TMPDIR/d.json"
        kill "$HP"
        n=$((n + 1))
    done
    echo "$n versions"
    [ "$n" -ge 1 ]
    # a process without the runtime: no label anywhere
    start_hung "$PY"
    ! "$ROOT/scripts/py-stack.sh" "$HP" | grep -q '\[label: ' || false
}

@test "pyenv's 3.8-3.13: the same frames and GIL holder on every version's layout (shared libpython)" {
    n=0
    for m in 3.8 3.9 3.10 3.11 3.12 3.13; do
        v=$(patch_of "$m")
        [ -n "$v" ] || continue
        start_hung "$PYENV/$v/bin/python$m"
        dump_until '\(spinner\) \[holds the GIL\]\n  \[running' "$HP"
        echo "== $v"; cat "$D"
        # 3.8 names the script as it was given: the path it ran
        sed "s|($HUNG:|($ROOT/$HUNG:|" "$D" > "$D.abs"
        check_innermost "$D.abs"
        [ "$(grep -c 'holds the GIL' "$D")" -eq 1 ]
        head -n 1 "$D" | grep -q "CPython $v (.*libpython$m"
        block sleeper "$D" | head -n 1 | grep -qE '(nanosleep|select).*\(native, libc\.so\.6\)$'
        ! grep -q '_PyEval_EvalFrameDefault' "$D" || false
        kill "$HP"
        n=$((n + 1))
    done
    echo "$n versions"
    [ "$n" -ge 2 ]
}

@test "the target is unaffected: it keeps running and prints what it would have" {
    start_hung "$PY" 0.1 6
    for _ in 1 2 3; do
        "$ROOT/scripts/py-stack.sh" "$HP" > /dev/null
        "$ROOT/scripts/py-stack.sh" --json --no-native "$HP" > /dev/null
    done
    # never stopped: its state is not T (stopped) or t (traced)
    st=$(awk '{ print $3 }' "/proc/$HP/stat")
    [ "$st" != T ] && [ "$st" != t ]
    [ "$(awk '/^TracerPid:/ { print $2 }' "/proc/$HP/status")" = 0 ]
    wait "$HP"
    cat "$HOUT"
    # every tick, in order, then done
    [ "$(tail -n 1 "$HOUT")" = done ]
    n=$(grep -c '^tick ' "$HOUT")
    [ "$n" -ge 30 ]
    [ "$(grep '^tick ' "$HOUT" | awk '{ print $2 }' | tr '\n' ' ')" = "$(seq -s ' ' 1 "$n") " ]
}

@test "bad input: one line and a non-zero exit" {
    check() {   # EXPECTED ARGS...
        want=$1; shift
        run "$ROOT/scripts/py-stack.sh" "$@"
        echo "$output"
        [ "$status" -ne 0 ]
        [ "${#lines[@]}" -eq 1 ]
        [ "$output" = "py-stack: $want" ]
    }
    check "no process with PID $NOPID" "$NOPID"
    check "no process with PID $NOPID" -p "$NOPID"
    check "unexpected argument 'abc' (try -h)" abc
    check "-p needs a process ID, got 'abc'" -p abc
    check "give a PID or -p PID (try -h)"
    sleep 100 &
    s=$!
    HPIDS=$s
    check "PID $s runs $(readlink -f /bin/sleep), which is not a CPython interpreter" "$s"
    check "-c does not apply: a dump looks at a process that is already running; give -p PID" -c "$PY x.py"
    check "-d does not apply: a dump looks at the process once" -p "$s" -d 5
    check "-F does not apply: a dump takes no samples" -F 99 "$s"
    check "-o does not apply: the dump goes to stdout" -o out "$s"
    check "--vm does not apply: a dump loads no kernel module and runs no guest" --vm "$s"
    check "unknown option '--bogus' (try -h)" --bogus "$s"
    # not root
    run setpriv --reuid=65534 --regid=65534 --clear-groups "$ROOT/scripts/py-stack.sh" "$s"
    [ "$status" -ne 0 ]; [ "${#lines[@]}" -eq 1 ]
    [ "$output" = "py-stack: reading PID $s's memory needs root" ]
}

@test "a Python without offsets: one line naming what to install" {
    # tables of nothing, no extracted table, and a copy that names no
    # debug file (python3.11-dbg's DWARF is found by build-id or debuglink)
    mkdir "$BATS_TEST_TMPDIR/tables"
    cp "$PY" "$BATS_TEST_TMPDIR/python3.11"
    objcopy --remove-section=.note.gnu.build-id --remove-section=.gnu_debuglink \
        "$BATS_TEST_TMPDIR/python3.11"
    "$BATS_TEST_TMPDIR/python3.11" "$ROOT/$HUNG" 1 60 > "$BATS_TEST_TMPDIR/s.out" &
    sp=$!
    HPIDS="$HPIDS $sp"
    for _ in $(seq 50); do grep -q ready "$BATS_TEST_TMPDIR/s.out" && break; sleep 0.1; done
    PYSCOPE_TABLES=$BATS_TEST_TMPDIR/tables PYSCOPE_OFFSETS_DIR=$BATS_TEST_TMPDIR/none \
        PYSCOPE_CACHE=$BATS_TEST_TMPDIR/cache run "$ROOT/scripts/py-stack.sh" "$sp"
    echo "$output"
    [ "$status" -ne 0 ]; [ "${#lines[@]}" -eq 1 ]
    echo "$output" | grep -q '^py-stack: no offset for .*install its debug symbols'
}

@test "-h, pyscope dump and --dry-run" {
    run "$ROOT/scripts/py-stack.sh" -h
    [ "$status" -eq 0 ]
    echo "$output" | head -n 1 | grep -q '^usage: py-stack.sh'
    for w in '--json' '--no-native' '--dry-run' 'examples:'; do
        echo "$output" | grep -qe "$w" || { echo "no $w"; false; }
    done
    [ "$("$ROOT/scripts/pyscope" dump -h)" = "$output" ]
    "$ROOT/scripts/pyscope" -h | grep -qE '^  dump  '
    start_hung "$PY"
    run "$ROOT/scripts/py-stack.sh" --dry-run --json "$HP"
    [ "$status" -eq 0 ]
    echo "$output" | tail -n 1 | grep -qE "^pyscope-dump --pid $HP --layout [^ ]+ --elf /usr/bin/python3\.11 --json\$"
    # the examples of -h, with a live PID, check out
    "$ROOT/scripts/py-stack.sh" -h | sed -n '/^examples:/,$p' | sed 1d | sed 's/^ *//; s/ *>.*$//' |
    while IFS= read -r ex; do
        line=$(printf '%s\n' "$ex" | sed "s/\b1234\b/$HP/g; s,^py-stack.sh,$ROOT/scripts/py-stack.sh,")
        sh -c "$line --dry-run" | tail -n 1 | grep -q '^pyscope-dump ' || { echo "failed: $line"; false; }
    done
}
