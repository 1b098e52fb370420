#!/usr/bin/env bats
# Scope painting seen from outside: the tapsets read the labels that
# runtime/pyscope paints, in real guest runs against python3.11.
load helpers

setup_file() {
    export PYTHONPATH="$ROOT/build/py"
}

@test "tapsets: labels show on painted frames, vanish on return and raise, nest" {
    cat > "$BATS_TEST_TMPDIR/t.py" <<'PYEOF'
import os, sys, time
import pyscope

def marker(tag):
    os.path.exists("/pyscope-marker-" + tag)   # a stat the probe below catches

def inner():
    with pyscope.label("inner-B"):
        marker("nested")

def outer():
    pyscope.paint("outer-A")
    marker("painted")
    inner()

def raiser():
    pyscope.paint("raised-C")
    raise ValueError("x")

outer()
marker("after-return")
try:
    raiser()
except ValueError:
    pass
marker("after-raise")
PYEOF
    run "$ROOT/scripts/pyscope-run" -c "$PY $BATS_TEST_TMPDIR/t.py" -- \
        -I "$ROOT/tapsets" -d "$PY" -d "$(ls "$ROOT"/build/py/pyscope/_pyscope*.so)" -e '
        probe syscall.fstatat {
            if (pid() == target() && isinstr(path, "pyscope-marker-"))
                printf("%s|%s|%s\n", path, py_labels(), py_label())
        }'
    echo "$output"
    [ "$status" -eq 0 ]
    echo "$output" | grep -Fx '"/pyscope-marker-painted"|outer-A|outer-A'
    echo "$output" | grep -Fx '"/pyscope-marker-nested"|outer-A > inner-B|inner-B'
    echo "$output" | grep -Fx '"/pyscope-marker-after-return"||'
    echo "$output" | grep -Fx '"/pyscope-marker-after-raise"||'
}

@test "stress: sampled at a high rate while 4 threads repaint, no torn label" {
    run "$ROOT/scripts/pyscope-run" -c "$PY $ROOT/examples/labels_stress.py 8" -- \
        -I "$ROOT/tapsets" -d "$PY" -d "$(ls "$ROOT"/build/py/pyscope/_pyscope*.so)" -e '
        global seen, empty
        probe perf.sw.cpu_clock.sample(2500000) {
            if (pid() != target()) next
            l = py_label()
            if (l == "") empty++; else { seen++; printf("L|%s\n", l) }
        }
        probe end { printf("seen=%d empty=%d torn_given_up=%d\n", seen, empty, pyscope_labels_torn()) }'
    echo "$output" | tail -5
    [ "$status" -eq 0 ]
    seen=$(echo "$output" | sed -n 's/^seen=\([0-9]*\) .*/\1/p')
    [ "$seen" -ge 100 ]
    # every label seen must be one that was written whole
    echo "$output" | grep '^L|' | "$PY" -c '
import re, sys
bad = 0
for line in sys.stdin:
    text = line.rstrip("\n")[2:]
    m = re.fullmatch(r"s(\d+):((?:\d+,)+)", text)
    n = int(m.group(1)) if m else -1
    if not m or m.group(2) != f"{n}," * (n % 7 + 1):
        bad += 1
        print("torn:", text)
sys.exit(1 if bad else 0)'
}

@test "cpu-sample --labels split/join: a threaded server's heavy request is charged to its label" {
    p="$BATS_TEST_TMPDIR/srv"
    run "$ROOT/scripts/cpu-sample.sh" --labels split \
        -c "$PY $ROOT/examples/labels_server.py --selftest 8" -o "$p"
    echo "$output" | tail -20
    [ "$status" -eq 0 ]
    # split: the same function under different labels is different stacks
    n=$(grep -oE '\[label req-[0-9]+\];[^;]*handle \([^;]*\);compute \(' "$p.folded" |
        sed 's/;.*//' | sort -u | wc -l)
    echo "labels with compute(): $n"
    [ "$n" -ge 3 ]
    # the heavy path (build_report, run only by request 7) is under req-7
    heavy=$(awk '/build_report \(/ { s += $NF } END { print s + 0 }' "$p.folded")
    under=$(awk '/\[label req-7\];.*build_report \(/ { s += $NF } END { print s + 0 }' "$p.folded")
    echo "heavy path: $heavy samples, $under under [label req-7]"
    [ "$heavy" -ge 20 ]
    [ $((under * 100)) -ge $((heavy * 90)) ]
    # join, from the same samples: req-7's row holds >= 90% of the heavy path
    run "$ROOT/build/pyscope-report" --labels join --labels-csv "$p.csv" \
        --folded /dev/null "$p.raw"
    echo "$output" | tail -12
    row=$(echo "$output" | grep -E '^ +[0-9]+ +[0-9.]+ +[0-9]+ +req-7$')
    echo "join row: $row"
    [ "$(echo "$row" | awk '{ print $1 }')" -ge $((heavy * 90 / 100)) ]
    grep -E '^req-7,[0-9]+,[0-9]+,' "$p.csv"
}

@test "cross-process: one trace id's CPU summed over both processes" {
    # The backend (a child that execs and then imports pyscope) is found
    # through the runtime's pyscope_table_published() probe.
    p="$BATS_TEST_TMPDIR/trace"
    run "$ROOT/scripts/cpu-sample.sh" -F 49 --children --labels join \
        -c "$PY $ROOT/examples/labels_trace.py 8" -o "$p"
    echo "$output" | tail -20
    [ "$status" -eq 0 ]
    # both processes contributed samples to trace-heavy
    row=$(echo "$output" | grep -E '^ +[0-9]+ +[0-9.]+ +[0-9]+ +trace-heavy$')
    echo "row: $row"
    [ "$(echo "$row" | awk '{ print $3 }')" -eq 2 ]
    [ "$(grep -c '^trace-heavy,' "$p.labels.csv")" -eq 2 ]
    grep -q 'front_work (' "$p.folded"
    grep -q 'back_work (' "$p.folded"
}

@test "hostile labels: stored truncated, escaped in folded, SVG and CSV" {
    cat > "$BATS_TEST_TMPDIR/h.py" <<'PYEOF'
import time
import pyscope

def spin(deadline):
    while time.monotonic() < deadline:
        sum(range(500))

def hostile(deadline):
    with pyscope.label('<script>alert("x")</script>;,=cmd|\n' + "\ud800" + "z" * (1 << 20)):
        spin(deadline)

hostile(time.monotonic() + 5)
PYEOF
    p="$BATS_TEST_TMPDIR/h"
    run "$ROOT/scripts/cpu-sample.sh" --labels split -c "$PY $BATS_TEST_TMPDIR/h.py" -o "$p"
    echo "$output" | tail -8
    [ "$status" -eq 0 ]
    # folded: ';' escaped, newline escaped, truncated to the label limit
    line=$(grep -F '[label <script>alert("x")</script>\x3b,=cmd|\n\\ud800zzz' "$p.folded" | head -n 1)
    [ -n "$line" ]
    lab=$(printf '%s' "$line" | grep -oE '\[label [^]]*\]' | head -n 1)
    [ "${#lab}" -le 150 ]
    # svg: well-formed, no raw script element
    xmllint --noout "$p.svg"
    ! grep -q '<script>alert' "$p.svg" || false
    grep -q '&lt;script&gt;alert' "$p.svg"
    # csv from the same samples: quoted, formula-safe
    "$ROOT/build/pyscope-report" --labels join --labels-csv "$p.csv" --folded /dev/null "$p.raw" >/dev/null
    grep -qF '"<script>alert(""x"")</script>;,=cmd|\n\\ud800zzz' "$p.csv"
}

@test "cpu-sample --wall --labels join: asyncio tasks run under the label they were created under (entered through a @contextmanager wrapper); a waiting loop's time goes to the slow request's label" {
    p="$BATS_TEST_TMPDIR/async"
    run "$ROOT/scripts/cpu-sample.sh" --wall --labels join \
        -c "$PY $ROOT/examples/labels_async.py 4 1.5 20" -o "$p"
    echo "$output" | tail -30
    [ "$status" -eq 0 ]
    # the slow request took its backend's 1.5 s (or more, on a slow
    # machine), and fast ones came and went meanwhile
    echo "$output" | awk '/^slow request [0-9.]+ s, [0-9]+ fast requests$/ {
        ok = $3 >= 1.5 && $3 < 10 && $5 >= 5 } END { exit !ok }'
    # part 1, on the CPU (microseconds): the work runs in gather()'s
    # tasks, whose frames the requests never painted: inherited,
    # req-heavy carries >= 90% of heavy_work
    "$ROOT/build/pyscope-report" --labels split --folded "$p.split" --top 0 \
        "$p.raw" 2>/dev/null
    on_cpu() {
        grep -v -e '\[off-cpu: ' -e '\[runnable\]' "$p.split" |
            awk -v re="$1" '$0 ~ re { s += $NF } END { print s + 0 }'
    }
    heavy=$(on_cpu 'heavy_work \(')
    under=$(on_cpu '\[label req-heavy\];heavy_work \(')
    echo "heavy_work: $heavy us on the CPU, $under under [label req-heavy]"
    [ "$heavy" -ge 500000 ]
    [ $((under * 100)) -ge $((heavy * 90)) ]
    # and every light request's work is under its own label
    light=$(on_cpu 'light_work \(')
    lunder=$(on_cpu '\[label req-[0-3]\];light_work \(')
    echo "light_work: $light us on the CPU, $lunder under [label req-N]"
    [ "$light" -ge 50000 ]
    [ $((lunder * 100)) -ge $((light * 90)) ]
    # part 2: the loop waits for I/O (epoll_wait) while the slow request
    # waits for its backend; the table by label charges >= 90% of all the
    # process's epoll_wait to req-slow alone (the fast requests' 1 ms
    # waits are shared, "req-fast-N + req-slow")
    ms_of() {   # TABLE ROW: the row's epoll_wait ms (0 if none), summed
        echo "$output" | awk -v table="$1" -v row="$2" '
            /^Wall-clock time by / { t = ($4 == table) ; next }
            /^[^ ]/ { t = 0 }
            t && (row == "*" || $1 == row) {
                if (match($0, /epoll_wait [0-9.]+/))
                    s += substr($0, RSTART + 11, RLENGTH - 11)
            }
            END { printf "%d\n", s }'
    }
    all=$(ms_of thread '*')
    slow=$(ms_of label req-slow)
    echo "epoll_wait: $all ms in all, $slow ms under req-slow"
    [ "$all" -ge 300 ]
    [ $((slow * 100)) -ge $((all * 90)) ]
}
