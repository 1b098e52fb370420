#!/usr/bin/env bats
# leak-watch.sh, in real guest runs against python3.11: the leaks of
# examples/leak_demo.py (one in a C extension, one a Python cache) are
# found, named and measured; steady churn shows no growth; every way a run
# ends writes the whole report.
load helpers

LW() { "$ROOT/scripts/leak-watch.sh" "$@"; }
LEAK() { "$ROOT/build/pyscope-leak" "$@"; }

DEMO_ROUNDS=200
DEMO_CMD() { echo "env PYTHONPATH=$ROOT/build/ext $PY $ROOT/examples/leak_demo.py $DEMO_ROUNDS 0.005 $1"; }

# The leak demo, once for the whole file: 200 rounds, then it idles with
# everything alive (at exit the interpreter frees its cache) until -d ends
# the watch.  Tests below read its outputs, or re-read its raw stream.
setup_file() {
    export D="$BATS_FILE_TMPDIR"
    "$ROOT/scripts/leak-watch.sh" -c "$(DEMO_CMD 120)" -d 20 --group-by line \
        -o "$D/demo" > "$D/demo.out" 2> "$D/demo.err"
    echo $? > "$D/demo.rc"
}

line_of() { grep -n "$1" "$ROOT/examples/leak_demo.py" | head -n 1 | cut -d: -f1; }


@test "leaks: the C extension's line and the cache line are the top growers, within 10%" {
    cat "$D/demo.err" | tail -5
    [ "$(cat "$D/demo.rc")" -eq 0 ]
    c_line=$(line_of '# LEAK: C extension'); cache_line=$(line_of '# LEAK: cache')
    # the demo prints what it leaks per round
    grep -q "rounds: $DEMO_ROUNDS leak_per_call: 4033 cache_entry: 1033" "$D/demo.out"
    sed -n '/^Top groups by growth/,/^$/p' "$D/demo.txt"
    # the two leaks lead; only the interpreter's own start-up (the arena
    # map of its first pymalloc arenas, 384 KiB, allocated once) may come
    # between them when the first snapshot lands before it
    top=$(sed -n '/^Top groups by growth/,/^$/p' "$D/demo.txt" | sed -n '3,5p')
    echo "$top" | sed -n 1p | grep -q "examples/leak_demo.py:$c_line\$"
    echo "$top" | sed -n '2,3p' | grep -q "examples/leak_demo.py:$cache_line\$"
    # what survives of each is what the demo leaked (growth since the
    # first snapshot is less when that snapshot lands after the first
    # rounds: it depends on how fast the guest runs)
    c=$(row_live growth "leak_demo.py:$c_line" "$D/demo.txt")
    cache=$(row_live growth "leak_demo.py:$cache_line" "$D/demo.txt")
    echo "C extension: $c bytes, cache: $cache bytes"
    within_10pct "$c" $((DEMO_ROUNDS * 4033))
    within_10pct "$cache" $((DEMO_ROUNDS * 1033))
    [ "$(row_growth growth "leak_demo.py:$c_line" "$D/demo.txt")" -gt 0 ]
}

@test "leaks by stack: the top grower names the leaking C function and the Python line" {
    c_line=$(line_of '# LEAK: C extension')
    LEAK --group-by stack --top 3 "$D/demo.raw" > "$D/stack.txt"
    sed -n '/^Top groups by growth/,/^$/p' "$D/stack.txt"
    first=$(sed -n '/^Top groups by growth/,/^$/p' "$D/stack.txt" | sed -n 3p)
    echo "$first" | grep -qE "PyBytes_FromStringAndSize < frame < .*handle \(.*examples/leak_demo.py:$c_line\)\$"
    # its merged stack, innermost first: the allocator's caller, the C
    # function, then Python frames down to <module>
    sed -n '/^Stacks/,$p' "$D/stack.txt" | sed -n '2,8p' > "$D/stack1.txt"
    cat "$D/stack1.txt"
    sed -n 2p "$D/stack1.txt" | grep -qx ' *PyBytes_FromStringAndSize'
    sed -n 3p "$D/stack1.txt" | grep -qx ' *frame'
    grep -q "main (.*examples/leak_demo.py:" "$D/stack1.txt"
}

@test "outputs: CSV series, folded by bytes, SVG plot all agree with the report" {
    c_line=$(line_of '# LEAK: C extension')
    head -n 3 "$D/demo.csv"
    head -n 1 "$D/demo.csv" | grep -qx 'time_s,rank,group,bytes,blocks'
    # the C-extension group's last CSV value is its surviving bytes
    last=$(grep ",examples/leak_demo.py:$c_line,\|/examples/leak_demo.py:$c_line," "$D/demo.csv" | tail -n 1 | awk -F, '{print $(NF-1)}')
    live=$(awk -v w="leak_demo.py:$c_line" '/^Top groups by growth/{t=1;next} /^$/{t=0} t && $NF ~ w"$" {print $3; exit}' "$D/demo.txt")
    echo "csv $last report $live"
    [ "$last" -eq "$live" ]
    # the series grows: the first row of that group is below the last
    first=$(grep "/examples/leak_demo.py:$c_line," "$D/demo.csv" | head -n 1 | awk -F, '{print $(NF-1)}')
    [ "$first" -lt "$last" ]
    # folded: frames root first; stacks through frame() sum to the leak
    f=$(awk '/;frame;PyBytes_FromStringAndSize /{ s += $NF } END { print s + 0 }' "$D/demo.folded")
    echo "folded frame(): $f"
    within_10pct "$f" $((DEMO_ROUNDS * 4033))
    # the plot is well-formed SVG with the group names as legend text
    "$PY" -c 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1])' "$D/demo.svg"
    grep -q "leak_demo.py:$c_line" "$D/demo.svg"
    # pprof, read by go tool pprof: in use through frame() is the folded
    # file's count of bytes, and the total is the folded file's total
    export GOCACHE="$BATS_TEST_TMPDIR/gocache"
    go tool pprof -sample_index=inuse_space -unit=B -top -cum -nodecount=1000 "$D/demo.pb.gz" 2>/dev/null > "$D/pprof.top"
    head -8 "$D/pprof.top"
    pf=$(awk '$6 == "frame" { sub(/B$/, "", $4); print $4; exit }' "$D/pprof.top")
    echo "pprof frame(): $pf"
    ff=$(awk '{ n = $NF; k = split(substr($0, 1, length($0) - length(n) - 1), f, ";")
        for (i = 1; i <= k; i++) { g = f[i]; sub(/ \(.*/, "", g); if (g == "frame") { s += n; break } } }
        END { print s + 0 }' "$D/demo.folded")
    [ "$ff" -gt 0 ] && [ "$pf" -eq "$ff" ]
    total=$(sed -n 's/.*accounting for [0-9.]*B, [0-9.]*% of \([0-9]*\)B total.*/\1/p' "$D/pprof.top")
    [ "$total" -eq "$(awk '{ s += $NF } END { print s }' "$D/demo.folded")" ]
}

@test "progress: a line per snapshot while it runs" {
    grep -c '^leak-watch: .* s .*surviving in .* blocks' "$D/demo.err" > "$D/n"
    [ "$(cat "$D/n")" -ge 10 ]
    grep -q '^    +.*leak_demo.py:' "$D/demo.err"
}

@test "--include / --exclude keep and drop stacks by frame" {
    # kept: stacks with a leak_demo.py frame anywhere (a block allocated
    # by the import at its top groups under importlib's line, but its
    # stack passes through leak_demo.py too)
    LEAK --group-by line --include '*leak_demo.py' --folded "$D/inc.folded" \
        "$D/demo.raw" > "$D/inc.txt"
    grep -q "leak_demo.py:$(line_of '# LEAK: C extension')\$" "$D/inc.txt"
    # every stack kept (the folded file has them whole) has such a frame
    [ -s "$D/inc.folded" ]
    ! grep -v 'leak_demo\.py:' "$D/inc.folded" || false
    LEAK --group-by line --exclude 'frame' "$D/demo.raw" > "$D/exc.txt"
    c_line=$(line_of '# LEAK: C extension')
    ! grep -q "leak_demo.py:$c_line\$" "$D/exc.txt" || false
    grep -q "leak_demo.py:$(line_of '# LEAK: cache')\$" "$D/exc.txt"
}

@test "a stream without its closing records is reported as cut short" {
    ! grep -q 'closing records' "$D/demo.txt" || false
    grep -v '^X' "$D/demo.raw" > "$BATS_TEST_TMPDIR/cut.raw"
    LEAK --group-by line "$BATS_TEST_TMPDIR/cut.raw" > "$BATS_TEST_TMPDIR/cut.txt"
    grep -q "^WARNING: the tracer's closing records never arrived (its output was cut short)" \
        "$BATS_TEST_TMPDIR/cut.txt"
}

@test "sampled mode: the runtime's samples, scaled, find both leaks (estimates within 25%)" {
    p="$BATS_TEST_TMPDIR/samp"
    # 800 rounds, one sample per 4 KiB on average: about 500 samples of the
    # C leak and 180 of the cache, so 25% is over 3.5 standard deviations
    run LW -c "env PYTHONPATH=$ROOT/build/ext $PY $ROOT/examples/leak_demo.py 800 0.002 120" \
        -d 20 --mode sampled --sample-mean 4096 --group-by line -o "$p"
    echo "$output" | sed -n '/^pyscope leak-watch report/,/^$/p'
    [ "$status" -eq 0 ]
    grep -q '^mode: sampled .* one per 4096 bytes' "$p.txt"
    c=$(row_live growth "leak_demo.py:$(line_of '# LEAK: C extension')" "$p.txt")
    cache=$(row_live growth "leak_demo.py:$(line_of '# LEAK: cache')" "$p.txt")
    echo "C extension ~$c bytes, cache ~$cache bytes"
    awk -v a="$c" -v e=$((800 * 4033)) 'BEGIN { d = a - e; if (d < 0) d = -d; exit !(d * 4 <= e) }'
    awk -v a="$cache" -v e=$((800 * 1033)) 'BEGIN { d = a - e; if (d < 0) d = -d; exit !(d * 4 <= e) }'
    # the sampler's own frames are not part of the stacks
    ! grep -q 'pyscope_sample' "$p.txt" || false
}

@test "sampled mode -c: the program sees the environment it was given, and a Python it starts runs unhooked" {
    p="$BATS_TEST_TMPDIR/env"
    # (env before Python: a wrapper passes the preload on; the interpreter
    # takes it out.  A hooked child Python would print no pymalloc
    # statistics: CPython's test_sys.test_debugmallocstats failed so.
    # An LD_PRELOAD of the user's, libbz2 here, which Python does not
    # link, stays: in the program, its environment and its children)
    bz2=/lib/x86_64-linux-gnu/libbz2.so.1.0
    cat > "$BATS_TEST_TMPDIR/envcheck.py" <<'EOF2'
import os, subprocess, sys
seen = [os.environ.get(k) for k in ("LD_PRELOAD", "PYSCOPE_ALLOC_SAMPLE",
                                     "PYSCOPE_PRELOAD_PRIVATE", "PYSCOPE_TEST")]
r = subprocess.run([sys.executable, "-c", "import sys; sys._debugmallocstats()"],
                   capture_output=True)
keep = [bytes(4000) for _ in range(2000)]
maps = open("/proc/self/maps").read()
print("envcheck:", seen, b"Small block threshold" in r.stderr,
      "libpyscope-alloc" in maps, "libbz2" in maps, flush=True)
EOF2
    run env LD_PRELOAD=$bz2 "$ROOT/scripts/leak-watch.sh" \
        -c "env PYSCOPE_TEST=1 $PY $BATS_TEST_TMPDIR/envcheck.py" \
        --mode sampled --sample-mean 4096 -o "$p"
    echo "$output" | grep -v '^    '
    [ "$status" -eq 0 ]
    # no pyscope variable, the program's own and the user's preload; the
    # child's pymalloc statistics; both preloads were there
    echo "$output" | grep -qxF "envcheck: ['$bz2', None, None, '1'] True True True"
    # and it was sampled: the 8 MB it keeps, at its line
    grep -q '^mode: sampled' "$p.txt"
    grep -q "envcheck.py:$(grep -n 'keep = ' "$BATS_TEST_TMPDIR/envcheck.py" | cut -d: -f1)" "$p.txt"
}

@test "--min-age: blocks younger than the age are not counted yet" {
    # the tracer counts only blocks alive for 3 s or more: the watch
    # starts with the process, so its first snapshot (at 1 s) counts
    # nothing, where the watch without a minimum age (setup_file's) counts
    # the interpreter's start-up; the leaks, older by the end, are there
    p="$BATS_TEST_TMPDIR/age"
    run LW -c "$(DEMO_CMD 60)" -d 10 --min-age 3 --group-by line -o "$p"
    [ "$status" -eq 0 ]
    grep 'surviving at the last snapshot' "$p.txt" "$D/demo.txt"
    grep -q 'min-age 3.0 s' "$p.txt"
    grep -q '(at the first snapshot: 0 bytes)$' "$p.txt"
    ! grep -q '(at the first snapshot: 0 bytes)$' "$D/demo.txt" || false
    grep -q "leak_demo.py:$(line_of '# LEAK: C extension')\$" "$p.txt"
}

@test "steady churn: no group grows (no false positive)" {
    p="$BATS_TEST_TMPDIR/churn"
    run LW -c "$PY $ROOT/examples/alloc_churn.py --seconds 30" -d 18 --group-by line --top 30 -o "$p"
    echo "$output" | sed -n '/^Top groups by growth/,/^$/p'
    [ "$status" -eq 0 ]
    # Each group of the churning file, from 3 s after it first holds
    # memory (its ring of 64 blocks is full by then) to the end: the later
    # half of its snapshots never rises more than 64 KiB above the earlier
    # half's highest (a leak raises it by what it leaks)
    awk -F, -v lim=65536 '
        $1 == "time_s" || $3 !~ /alloc_churn/ { next }
        $4 > 0 && !($3 in t0) { t0[$3] = $1 }
        ($3 in t0) && $1 >= t0[$3] + 3 { n[$3]++; v[$3, n[$3]] = $4 }
        END {
            bad = 0
            for (g in n) {
                h = int(n[g] / 2); a = 0; b = 0
                for (i = 1; i <= h; i++) if (v[g, i] > a) a = v[g, i]
                for (i = h + 1; i <= n[g]; i++) if (v[g, i] > b) b = v[g, i]
                printf "%s: %d snapshots, max %d then %d\n", g, n[g], a, b
                if (n[g] < 6 || b > a + lim) bad = 1
            }
            exit bad || length(n) == 0
        }' "$p.csv"
    # and the churn's own lines are allocating all the time: they are seen
    grep -q 'alloc_churn.py' "$p.raw"
}

@test "a process that exits during the watch still gets the whole report" {
    p="$BATS_TEST_TMPDIR/exit"
    run LW -c "$(DEMO_CMD 0)" -o "$p"
    echo "$output" | sed -n '/^Top groups by growth/,/^$/p'
    [ "$status" -eq 0 ]
    for ext in txt csv folded raw svg; do [ -s "$p.$ext" ]; done
    grep -q '^Top groups by growth' "$p.txt"
    # the C extension's leak survives the interpreter's exit
    grep -q "leak_demo.py:$(line_of '# LEAK: C extension')" "$p.txt" ||
        grep -q "< frame <" "$p.txt"
}

@test "Ctrl-C ends the watch and still writes the whole report" {
    p="$BATS_TEST_TMPDIR/int"
    python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])' \
        "$ROOT/scripts/leak-watch.sh" -c "$(DEMO_CMD 300)" -o "$p" \
        > "$BATS_TEST_TMPDIR/int.out" 2> "$BATS_TEST_TMPDIR/int.err" &
    pid=$!
    for i in $(seq 1 150); do
        [ "$(grep -c '^leak-watch: .* surviving' "$BATS_TEST_TMPDIR/int.err" 2>/dev/null)" -ge 6 ] && break
        sleep 1
    done
    kill -INT "$pid"
    start=$(date +%s)
    wait "$pid" || true
    cat "$BATS_TEST_TMPDIR/int.err" | tail -3
    [ $(( $(date +%s) - start )) -lt 90 ]
    for ext in txt csv folded raw svg; do [ -s "$p.$ext" ]; done
    grep -q "leak_demo.py:$(line_of '# LEAK: C extension')" "$p.txt" ||
        grep -q "< frame <" "$p.txt"
}

@test "a full live-block table is reported as dropped events and lower bounds" {
    p="$BATS_TEST_TMPDIR/full"
    run LW -c "$(DEMO_CMD 0)" --max-live 1000 -o "$p"
    [ "$status" -eq 0 ]
    grep -E 'WARNING: [1-9][0-9]* allocations \([0-9]+ bytes\) were not tracked .* lower bound' "$p.txt"
}

@test "--group-by label: leaks split by the frame label painted around them" {
    cat > "$BATS_TEST_TMPDIR/lab.py" <<'PYEOF'
import time
import pyscope
keep = []
def work(n):
    keep.append(bytes(3000))
for i in range(60):
    with pyscope.label("tenant-a"):
        work(i)
    if i % 3 == 0:
        with pyscope.label("tenant-b"):
            work(i)
print("done", flush=True)
time.sleep(60)
PYEOF
    p="$BATS_TEST_TMPDIR/lab"
    run LW -c "env PYTHONPATH=$ROOT/build/py $PY $BATS_TEST_TMPDIR/lab.py" -d 12 --group-by label -o "$p"
    echo "$output" | sed -n '/^Top groups by growth/,/^$/p'
    [ "$status" -eq 0 ]
    # surviving bytes, not growth: the 60 rounds may all come before the
    # first snapshot
    a=$(row_live growth "tenant-a" "$p.txt"); b=$(row_live growth "tenant-b" "$p.txt")
    echo "a=$a b=$b"
    within_10pct "$a" $((60 * 3033))
    within_10pct "$b" $((20 * 3033))
}

@test "a program that exits by itself: the last snapshot is its state before the interpreter's teardown" {
    p="$BATS_TEST_TMPDIR/exit"
    leak=$(grep -n '# LEAK' "$ROOT/examples/leak_exit.py" | cut -d: -f1)
    run LW -c "$PY $ROOT/examples/leak_exit.py 8" --group-by line -o "$p"
    echo "$output" | tail -25
    [ "$status" -eq 0 ]
    n=$(echo "$output" | sed -n 's/^appended \([0-9]*\)$/\1/p')
    grep -q '^last snapshot: at [0-9.]* s, when the interpreter began finalizing' "$p.txt"
    # the report's top grower and the folded file's heaviest stack are the
    # leaking line, holding what the program appended (1033 bytes each)
    top=$(sed -n '/^Top groups by growth/,/^$/p' "$p.txt" | sed -n 3p)
    echo "$top"
    echo "$top" | grep -q "examples/leak_exit.py:$leak\$"
    live=$(row_live growth "leak_exit.py:$leak" "$p.txt")
    echo "surviving at the leaking line: $live bytes; the program appended $n"
    within_10pct "$live" $((n * 1033))
    awk '$NF > m { m = $NF; l = $0 } END { print l }' "$p.folded" |
        grep -q "leaker ([^;]*examples/leak_exit.py:$leak)"
}

@test "bad input: one clear line and a non-zero exit" {
    run LW
    [ "$status" -ne 0 ]; [ "${#lines[@]}" -eq 1 ]; echo "$output" | grep -q 'give a PID'
    run LW -c "/bin/sleep 1"
    [ "$status" -ne 0 ]; [ "${#lines[@]}" -eq 1 ]; echo "$output" | grep -q 'not a CPython interpreter'
    run LW 999999999
    [ "$status" -ne 0 ]; [ "${#lines[@]}" -eq 1 ]; echo "$output" | grep -q 'no process'
    run LW -c "$PY -c pass" --domain heap
    [ "$status" -ne 0 ]; [ "${#lines[@]}" -eq 1 ]
    run LW -c "$PY -c pass" --group-by color
    [ "$status" -ne 0 ]; [ "${#lines[@]}" -eq 1 ]
    run LW -c "$PY -c pass" -i 0
    [ "$status" -ne 0 ]; [ "${#lines[@]}" -eq 1 ]
    run LW -c "$PY -c pass" --min-age soon
    [ "$status" -ne 0 ]; [ "${#lines[@]}" -eq 1 ]
    run LW -c "$PY -c pass" -o /nonexistent/dir/x
    [ "$status" -ne 0 ]; [ "${#lines[@]}" -eq 1 ]
    run LW -p $$ --vm
    [ "$status" -ne 0 ]; [ "${#lines[@]}" -eq 1 ]
    run LW --bogus
    [ "$status" -ne 0 ]; [ "${#lines[@]}" -eq 1 ]
}

@test "-h documents every flag with an example" {
    run LW -h
    [ "$status" -eq 0 ]
    for f in -p --pid -c --cmd -d --duration -i --interval -o --output --domain --group-by \
            --include --exclude --min-age --top --max-live --mode --sample-mean --vm --host --dry-run \
            -v --verbose -h --help; do
        echo "$output" | grep -qE -- "^  (.*[ ,])?$f([ ,]|$)"
    done
    echo "$output" | grep -q 'leak-watch.sh 1234'
}
