#!/usr/bin/env bats
# cpu-sample.sh end to end: real stap runs in the QEMU guest against
# Debian's python3.11, asserting on the profiles they produce.
load helpers

CS() { "$ROOT/scripts/cpu-sample.sh" "$@"; }

# The busy loop, once for the whole file (no test uses what another test
# made): the first test reads the profile, the second re-reports its raw
# stream; the loop would run 300 s, -d 12 ends the run.
setup_file() {
    export B="$BATS_FILE_TMPDIR/busy"
    "$ROOT/scripts/cpu-sample.sh" -d 12 -c "$PY $ROOT/examples/busy.py 300" -o "$B" --format all > "$B.out" 2>&1
    echo $? > "$B.rc"
}

@test "busy loop: the hot function carries >= 80% of samples, at busy.py:12" {
    p=$B
    output=$(cat "$B.out")
    echo "$output" | tail -25
    [ "$(cat "$B.rc")" -eq 0 ]
    [ -s "$p.folded" ] && [ -s "$p.svg" ] && [ -s "$p.raw" ]
    share=$(folded_share "$p.folded" ';hot_loop \([^)]*/examples/busy\.py:1[0-3]\)')
    at12=$(folded_share "$p.folded" ';hot_loop \([^)]*/examples/busy\.py:12\)')
    echo "hot_loop: $share%, at busy.py:12: $at12%"
    [ "$share" -ge 80 ]
    [ "$at12" -ge 70 ]
    # the summary names it with its hot line; stderr counts the samples
    echo "$output" | grep -E '^ +[0-9.]+ +[0-9.]+ +[0-9]+ +12 +hot_loop \(.*busy\.py\)'
    echo "$output" | grep -E '^pyscope: [0-9]+ samples \(ok [0-9]+'
    # folded format: root first, "frames count"
    head -n 1 "$p.folded" | grep -E '^python3\.11 \(tid [0-9]+\);([^;]+;)+hot_loop \([^;]+\)(;.*)? [0-9]+$'
    # the flame graph is well-formed XML that names the function
    xmllint --noout "$p.svg"
    grep -q 'hot_loop (' "$p.svg"
}

@test "busy loop: --format all: go tool pprof and speedscope's importer read the run's files, and agree with its folded file" {
    p=$B
    [ "$(cat "$B.rc")" -eq 0 ]
    [ -s "$p.pb.gz" ] && [ -s "$p.speedscope.json" ]
    export GOCACHE="$BATS_TEST_TMPDIR/gocache"
    # pprof: hot_loop's busy.py:12 has the folded file's count of samples
    # that end there, and hot_loop's cumulative count is the folded
    # file's count of samples through it; the period is the run's (-F 99)
    go tool pprof -sample_index=samples -lines -top -nodecount=1000 "$p.pb.gz" 2>/dev/null > "$BATS_TEST_TMPDIR/top"
    head -12 "$BATS_TEST_TMPDIR/top"
    flat12=$(grep -E ' hot_loop [^ ]*/examples/busy\.py:12$' "$BATS_TEST_TMPDIR/top" | awk '{ print $1 }')
    n12=$(grep -E ';hot_loop \([^)]*/examples/busy\.py:12\) [0-9]+$' "$p.folded" | awk '{ n += $NF } END { print n + 0 }')
    nhot=$(grep -E ';hot_loop \(' "$p.folded" | awk '{ n += $NF } END { print n + 0 }')
    echo "pprof flat at busy.py:12: $flat12, folded: $n12; folded through hot_loop: $nhot"
    [ "$n12" -gt 0 ] && [ "$flat12" -eq "$n12" ]
    cum=$(go tool pprof -sample_index=samples -top -cum -nodecount=1000 "$p.pb.gz" 2>/dev/null | awk '$6 == "hot_loop" { print $4; exit }')
    [ "$cum" -eq "$nhot" ]
    go tool pprof -raw "$p.pb.gz" 2>/dev/null | grep -E '^Period: 10101010$'
    # speedscope's own importer: one profile per thread; hot_loop's total
    # weight is the folded file's
    node "$ROOT/tests/formats/speedscope-import.js" \
        "${PYSCOPE_CACHE:-$HOME/.cache/pyscope}/npm/speedscope-1.25.0/node_modules/speedscope" \
        "$p.speedscope.json" > "$BATS_TEST_TMPDIR/ss.json"
    jq -e --argjson n "$nhot" '[.profiles[].frames[] | select(.name == "hot_loop") | .total] | add == ($n * 10101010)' "$BATS_TEST_TMPDIR/ss.json" ||
        jq -e --argjson n "$nhot" '[.profiles[].frames[] | select(.name == "hot_loop") | .total] | add == $n' "$BATS_TEST_TMPDIR/ss.json"
}

@test "busy loop: --mode python and --mode native from the same samples" {
    raw="$B.raw"
    [ "$(cat "$B.rc")" -eq 0 ] && [ -s "$raw" ]
    "$ROOT/build/pyscope-report" --mode python --folded "$BATS_TEST_TMPDIR/py.folded" "$raw" >/dev/null
    "$ROOT/build/pyscope-report" --mode native --folded "$BATS_TEST_TMPDIR/nat.folded" "$raw" >/dev/null
    # python mode: only Python frames (and markers) under the thread root
    grep -E '^python3\.11 \(tid [0-9]+\);<module> \([^;]*busy\.py:2[0-9]\);main \([^;]*\);hot_loop ' "$BATS_TEST_TMPDIR/py.folded"
    ! grep -q '_PyEval_EvalFrameDefault\|_start' "$BATS_TEST_TMPDIR/py.folded" || false
    # native mode: the interpreter loop itself, no Python frames
    grep -q ';_PyEval_EvalFrameDefault' "$BATS_TEST_TMPDIR/nat.folded"
    ! grep -q 'hot_loop' "$BATS_TEST_TMPDIR/nat.folded" || false
}

@test "busy loop: cpu-sample --stack python samples Python frames alone, in the probe" {
    p="$BATS_TEST_TMPDIR/pyonly"
    run CS --stack python -c "$PY $ROOT/examples/busy.py 3" -o "$p"
    echo "$output" | tail -20
    [ "$status" -eq 0 ]
    # the probe walked no native frame: the raw stream holds none
    ! grep -E '^S.*[[:space:]][ne][0-9a-f]+ ' "$p.raw" || false
    grep -E '^python3\.11 \(tid [0-9]+\);<module> \([^;]*busy\.py:2[0-9]\);main \([^;]*\);hot_loop \([^;]*busy\.py:1[0-3]\) [0-9]+$' "$p.folded"
    # 3 s of work: start-up (imports, slow under emulation) is a larger
    # share than in the 12 s run (measured 60-73% for 2 s)
    [ "$(folded_share "$p.folded" ';hot_loop \([^)]*/examples/busy\.py:1[0-3]\)')" -ge 50 ]
}

@test "C callback: sorted()'s native frames sit between the caller and the key function" {
    p="$BATS_TEST_TMPDIR/cb"
    run CS -c "$PY $ROOT/examples/callback.py 6" -o "$p"
    echo "$output" | tail -20
    [ "$status" -eq 0 ]
    # root first: caller (line 20) ; native frames incl. builtin_sorted ; slow_key (line 13)
    re='caller \([^;]*callback\.py:20\);([^;(]*;)*[^;(]*sorted[^;(]*;([^;(]*;)*slow_key \([^;]*callback\.py:1[0-4]\)'
    grep -E "$re" "$p.folded" | head -n 3
    share=$(folded_share "$p.folded" "$re")
    echo "caller->sorted->slow_key: $share%"
    [ "$share" -ge 50 ]
    # and never the other way round
    ! grep -E 'slow_key \([^;]*\);.*caller \(' "$p.folded" || false
}

@test "two threads: each hot function under its own thread" {
    p="$BATS_TEST_TMPDIR/thr"
    run CS -c "$PY $ROOT/examples/threads.py 6" -o "$p"
    echo "$output" | tail -20
    [ "$status" -eq 0 ]
    ta=$(grep 'spin_alpha (' "$p.folded" | sed -n 's/^python3\.11 (tid \([0-9]*\)).*/\1/p' | sort -u)
    tb=$(grep 'spin_beta (' "$p.folded" | sed -n 's/^python3\.11 (tid \([0-9]*\)).*/\1/p' | sort -u)
    echo "alpha tids: $ta / beta tids: $tb"
    [ "$(echo "$ta" | wc -w)" -eq 1 ]
    [ "$(echo "$tb" | wc -w)" -eq 1 ]
    [ "$ta" != "$tb" ]
    [ "$(folded_share "$p.folded" 'spin_alpha \(')" -ge 15 ]
    [ "$(folded_share "$p.folded" 'spin_beta \(')" -ge 15 ]
    ! grep -E 'spin_alpha.*spin_beta|spin_beta.*spin_alpha' "$p.folded" || false
}

@test "outer native frames from the per-thread cache are those a whole unwind finds" {
    # every sample of two threads: the native frames of the merged stack
    # (whose outer part comes from tapsets/native_stack.stp's cache once a
    # thread has been seen) against SystemTap's own unwind of the rest
    run "$ROOT/scripts/pyscope-run" -c "$PY $ROOT/examples/threads.py 3" -- \
        -I "$ROOT/tapsets" -d "$PY" --ldd -e '
        global same, differ
        probe perf.sw.cpu_clock.sample(1001001) {
            if (pid() != target() || py_tstate() == 0) next
            m = sprint_merged_stack_raw()
            nat = ""
            tok = tokenize(m, " ")
            while (tok != "") {
                k = substr(tok, 0, 1)
                if (k == "n" || k == "e") nat .= substr(tok, 1, 20) . " "
                tok = tokenize("", " ")
            }
            whole = ""
            for (i = 0; i < 100; i++) {
                pc = __py_upc(i)
                if (pc == 0) break
                whole .= sprintf("%x ", pc)
            }
            if (nat == whole) same++
            else { differ++; printf("DIFFER\n %s\n %s\n", nat, whole) }
        }
        probe end { printf("same=%d differ=%d hits/stores=%s\n", same, differ, __py_tail_counters()) }'
    echo "$output" | grep -v '^[NCLT]	' | tail -8
    [ "$status" -eq 0 ]
    line=$(echo "$output" | grep -E '^same=[0-9]+ differ=[0-9]+ hits/stores=[0-9]+ [0-9]+$')
    set -- $(echo "$line" | sed 's/[^0-9 ]/ /g')
    echo "same $1 differ $2 hits $3 stores $4"
    [ "$2" -eq 0 ]
    [ "$1" -ge 500 ]
    # the cache served most samples, and each thread's tail was stored once or a few times
    [ "$3" -ge $(( $1 / 2 )) ]
    [ "$4" -ge 2 ] && [ "$4" -le $(( $3 / 10 )) ]
}

@test "samples before the interpreter is ready are counted, not fatal" {
    p="$BATS_TEST_TMPDIR/early"
    run CS -F 400 -c "$PY -c 'print(\"the target speaks\")'" -o "$p"
    echo "$output" | tail -20
    [ "$status" -eq 0 ]
    # the target's own output reaches the terminal, never the record stream
    echo "$output" | grep -qx 'the target speaks'
    ! grep -q 'the target speaks' "$p.raw" || false
    line=$(echo "$output" | grep -E '^pyscope: [0-9]+ samples')
    nopy=$(echo "$line" | sed -n 's/.*no python state \([0-9]*\),.*/\1/p')
    fault=$(echo "$line" | sed -n 's/.*read faults \([0-9]*\)).*/\1/p')
    echo "no python state: $nopy, faults: $fault"
    [ $((nopy + fault)) -gt 0 ]
    grep -E '\[(no python state|python read fault)\] [0-9]+$' "$p.folded"
    # later samples of the same run do carry Python frames
    grep -q '<module> (' "$p.folded"
}

@test "-d SECONDS ends the run and still writes everything" {
    # the busy loop's run (setup_file): a 300 s loop, -d 12
    tail -n 5 "$B.out"
    [ "$(cat "$B.rc")" -eq 0 ]
    grep -q 'the run ended after 1[2-3]\.[0-9] s: the duration (-d) was reached' "$B.out"
    for f in folded svg raw speedscope.json pb.gz; do [ -s "$B.$f" ]; done
}

@test "bad input: one clear line and a non-zero exit" {
    run CS
    [ "$status" -ne 0 ]; [ "${#lines[@]}" -eq 1 ]; echo "$output" | grep -q 'give a PID, -p PID or -c CMD'
    run CS -c "/bin/sleep 1"
    [ "$status" -ne 0 ]; [ "${#lines[@]}" -eq 1 ]; echo "$output" | grep -q 'not a CPython interpreter'
    run CS -p 999999999
    [ "$status" -ne 0 ]; [ "${#lines[@]}" -eq 1 ]; echo "$output" | grep -q 'no process'
    run CS -c "$PY -c pass" -F fast
    [ "$status" -ne 0 ]; [ "${#lines[@]}" -eq 1 ]
    run CS -c "$PY -c pass" --mode weird
    [ "$status" -ne 0 ]; [ "${#lines[@]}" -eq 1 ]
    run CS -c "$PY -c pass" -o /nonexistent/dir/x
    [ "$status" -ne 0 ]; [ "${#lines[@]}" -eq 1 ]
    run CS -p $$ --vm
    [ "$status" -ne 0 ]; [ "${#lines[@]}" -eq 1 ]
    run CS --bogus
    [ "$status" -ne 0 ]; [ "${#lines[@]}" -eq 1 ]
}

@test "-h documents every flag with an example" {
    run CS -h
    [ "$status" -eq 0 ]
    for f in -p --pid -c --cmd -F --rate -d --duration -o --output --stack --labels \
            --format --no-lines --minwidth --children --top --no-threads --vm --host --dry-run -v \
            --verbose -h --help; do
        echo "$output" | grep -qE -- "^  (.*[ ,])?$f([ ,]|$)"
    done
    echo "$output" | grep -q 'cpu-sample.sh -c'
}

# µs in folded file $1 of thread $2 whose stack matches extended regex $3
wall_us() {
    awk -v tid="$2" -v re="$3" 'index($0, "(tid " tid ");") && $0 ~ re { n += $NF } END { print n + 0 }' "$1"
}
# on-CPU µs (the samples', not under an [off-cpu: ...] or [runnable] leaf)
# in folded file $1 of thread $2
oncpu_us() {
    awk -v tid="$2" 'index($0, "(tid " tid ");") && $0 !~ /;\[(off-cpu: [^]]*|runnable)\] [0-9]+$/ { n += $NF } END { print n + 0 }' "$1"
}
# A thread's profile total ($1 µs) against its wall time ($2 µs): the
# off-CPU part is measured, the on-CPU part ($3 µs) is N samples of
# PERIOD ($4 µs), a count with a standard deviation of sqrt(N) samples;
# within 5% plus three of those
within_sampling() {
    awk -v t="$1" -v w="$2" -v on="$3" -v p="$4" 'BEGIN {
        d = t - w; if (d < 0) d = -d
        b = w * 0.05 + 3 * sqrt(on / p) * p
        printf "off by %d us, allowed %d us\n", d, b
        exit !(w > 0 && d <= b) }'
}

@test "--wall: every thread's time by reason at its line: computing or waiting for the GIL, clock_nanosleep, recvfrom; the totals are the threads' wall time" {
    p="$BATS_TEST_TMPDIR/wall"
    run CS --wall -c "$PY $ROOT/examples/wall.py 2" -o "$p" --format folded,pprof
    echo "$output" | tail -30
    [ "$status" -eq 0 ]
    f=$p.folded
    W=examples/wall.py
    wl() { grep -n -F -- "# WALL: $1" "$ROOT/$W" | cut -d: -f1; }
    # (computing threads wait for the GIL where the loop checks for it:
    # at the while line, or inside the generator expression)
    spin="spin \\([^)]*$W:[0-9]+\\)"
    for name in compute rival sleeper reader; do
        set -- $(echo "$output" | sed -n "s/^thread $name \([0-9]*\) \([0-9.]*\)$/\1 \2/p")
        tid=$1 us=$(awk -v s="$2" 'BEGIN { printf "%d", s * 1000000 }')
        total=$(wall_us "$f" "$tid" '')
        case $name in
        compute|rival)
            at=$(wall_us "$f" "$tid" ";$spin;")
            gil=$(wall_us "$f" "$tid" ";$spin;.*\\[off-cpu: gil\\] [0-9]+$") ;;
        sleeper)
            at=$(wall_us "$f" "$tid" ";sleeper \\([^)]*$W:$(wl sleep)\\);.*\\[off-cpu: clock_nanosleep\\] [0-9]+$") gil=- ;;
        reader)
            at=$(wall_us "$f" "$tid" ";reader \\([^)]*$W:$(wl recv)\\);.*\\[off-cpu: recvfrom\\] [0-9]+$") gil=- ;;
        esac
        on=$(oncpu_us "$f" "$tid")
        echo "$name (tid $tid): wall $us us, profile $total us ($on on the CPU), at its line for its reason $at us, GIL $gil us"
        # the thread's time adds up to its wall time (its start before the
        # common start is in it too), within what sampling its time on
        # the CPU allows, and its line and reason carry it
        within_sampling "$total" "$us" "$on" 10101
        [ $((at * 100)) -ge $((us * 85)) ]
        # two threads computing on one CPU: each waits for the GIL
        [ "$gil" = - ] || [ $((gil * 100)) -ge $((us * 10)) ]
    done
    # every on-CPU sample weighs the period: 10101 us at 99 Hz
    grep -q '^X	wall	1$' "$p.raw"
    # pprof reads it as wall-clock microseconds
    export GOCACHE="$BATS_TEST_TMPDIR/gocache"
    go tool pprof -top "$p.pb.gz" 2>/dev/null | tee "$BATS_TEST_TMPDIR/top" | head -12
    grep -E '^Type: wall$' "$BATS_TEST_TMPDIR/top"
    grep -E '\[off-cpu: clock_nanosleep\]$' "$BATS_TEST_TMPDIR/top"
    # the summary's table by thread names the reasons
    echo "$output" | grep -E '^Wall-clock time by thread'
    echo "$output" | grep -E 'clock_nanosleep [0-9]+\.[0-9]'
}
