#!/usr/bin/env bats
# report.bats - end-to-end tests of pyscope-report on small input streams.
#
# Builds nothing: runs $PYSCOPE_REPORT (default: build/pyscope-report under
# the repository root).  Fixtures are in tests/c/fixtures/.

bats_require_minimum_version 1.5.0

setup() {
    ROOT="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
    REPORT="${PYSCOPE_REPORT:-$ROOT/build/pyscope-report}"
    FIXTURES="$ROOT/tests/c/fixtures"
    OUT="$BATS_TEST_TMPDIR"
    if [ ! -x "$REPORT" ]; then
        echo "pyscope-report is not built: $REPORT" >&2
        return 1
    fi
}

need_xmllint() {
    command -v xmllint >/dev/null || skip "xmllint not installed (libxml2-utils)"
}

@test "--help lists every flag" {
    run "$REPORT" --help
    [ "$status" -eq 0 ]
    for flag in --mode --folded --svg --title --top --min-count \
                --no-threads --labels --labels-csv off split join \
                --pprof --speedscope --input-format --help -h; do
        [[ "$output" == *"$flag"* ]] || { echo "missing $flag"; return 1; }
    done
}

@test "a bad flag is a one-line error and exit 2" {
    run --separate-stderr "$REPORT" --bogus "$FIXTURES/mixed.txt"
    [ "$status" -eq 2 ]
    [ "${#stderr_lines[@]}" -eq 1 ]
    [[ "$stderr" == *"--bogus"* ]]
    [ -z "$output" ]
}

@test "a bad mode, a bad number or a missing argument is exit 2" {
    run --separate-stderr "$REPORT" --mode mixed "$FIXTURES/mixed.txt"
    [ "$status" -eq 2 ]
    [ "${#stderr_lines[@]}" -eq 1 ]
    run --separate-stderr "$REPORT" --top -3 "$FIXTURES/mixed.txt"
    [ "$status" -eq 2 ]
    [ "${#stderr_lines[@]}" -eq 1 ]
    run --separate-stderr "$REPORT" --svg
    [ "$status" -eq 2 ]
    [ "${#stderr_lines[@]}" -eq 1 ]
}

@test "unreadable input is a one-line error and exit 1" {
    run --separate-stderr "$REPORT" "$OUT/does-not-exist"
    [ "$status" -eq 1 ]
    [ "${#stderr_lines[@]}" -eq 1 ]
    [[ "$stderr" == *"does-not-exist"* ]]
    run --separate-stderr "$REPORT" "$OUT"
    [ "$status" -eq 1 ]
    [ "${#stderr_lines[@]}" -eq 1 ]
}

@test "merged mode: folded stacks root first, sorted, late dictionaries" {
    run --separate-stderr "$REPORT" --folded "$OUT/f" "$FIXTURES/mixed.txt"
    [ "$status" -eq 0 ]
    diff -u - "$OUT/f" <<'EOF'
python3 (tid 100);main;outer (/app/a.py:2);inner (/app/a.py:5);PyNumber_Add 2
python3 (tid 100);main;PyNumber_Add;[python read fault] 1
python3 (tid 100);main;outer (/app/a.py:2);inner (/app/a.py:6);PyNumber_Add 1
worker\x3b1 (tid 101);main;0x40;[no python state] 1
EOF
}

@test "python mode keeps Python frames and markers" {
    run --separate-stderr "$REPORT" --mode python --folded "$OUT/f" \
        "$FIXTURES/mixed.txt"
    [ "$status" -eq 0 ]
    diff -u - "$OUT/f" <<'EOF'
python3 (tid 100);outer (/app/a.py:2);inner (/app/a.py:5) 2
python3 (tid 100);[python read fault] 1
python3 (tid 100);outer (/app/a.py:2);inner (/app/a.py:6) 1
worker\x3b1 (tid 101);[no python state] 1
EOF
}

@test "native mode keeps native and eval frames, no markers" {
    run --separate-stderr "$REPORT" --mode native --folded "$OUT/f" \
        "$FIXTURES/mixed.txt"
    [ "$status" -eq 0 ]
    diff -u - "$OUT/f" <<'EOF'
python3 (tid 100);main;_PyEval_EvalFrameDefault;PyNumber_Add 4
worker\x3b1 (tid 101);main;0x40 1
EOF
}

@test "--no-threads and --min-count" {
    run --separate-stderr "$REPORT" --no-threads --folded "$OUT/f" \
        "$FIXTURES/mixed.txt"
    [ "$status" -eq 0 ]
    diff -u - "$OUT/f" <<'EOF'
main;outer (/app/a.py:2);inner (/app/a.py:5);PyNumber_Add 2
main;0x40;[no python state] 1
main;PyNumber_Add;[python read fault] 1
main;outer (/app/a.py:2);inner (/app/a.py:6);PyNumber_Add 1
EOF
    run --separate-stderr "$REPORT" --min-count 2 --folded "$OUT/f" \
        "$FIXTURES/mixed.txt"
    [ "$status" -eq 0 ]
    diff -u - "$OUT/f" <<'EOF'
python3 (tid 100);main;outer (/app/a.py:2);inner (/app/a.py:5);PyNumber_Add 2
EOF
}

@test "stdin works like a file, also as -" {
    "$REPORT" --folded "$OUT/from-file" "$FIXTURES/mixed.txt" 2>/dev/null
    "$REPORT" --folded "$OUT/from-stdin" <"$FIXTURES/mixed.txt" 2>/dev/null
    "$REPORT" --folded "$OUT/from-dash" - <"$FIXTURES/mixed.txt" 2>/dev/null
    cmp "$OUT/from-file" "$OUT/from-stdin"
    cmp "$OUT/from-file" "$OUT/from-dash"
}

@test "stderr: the count line and the extra counters" {
    run --separate-stderr "$REPORT" --top 0 "$FIXTURES/mixed.txt"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    [ "${#stderr_lines[@]}" -eq 2 ]
    [ "${stderr_lines[0]}" = "pyscope: 5 samples (ok 3, no python state 1, read faults 1), 3 lost, 2 truncated" ]
    [ "${stderr_lines[1]}" = "pyscope: counters: probe_hits=9" ]
}

@test "stderr: a stream without its closing counters is said to be cut short" {
    grep -v '^X' "$FIXTURES/mixed.txt" > "$BATS_TEST_TMPDIR/cut.txt"
    run --separate-stderr "$REPORT" --top 0 "$BATS_TEST_TMPDIR/cut.txt"
    [ "$status" -eq 0 ]
    [ "${#stderr_lines[@]}" -eq 2 ]
    [ "${stderr_lines[1]}" = "pyscope: WARNING: the sampler's closing counters never arrived (its output was cut short): the last samples may be missing" ]
}

@test "summary: merged mode, self and total per function" {
    run --separate-stderr "$REPORT" "$FIXTURES/mixed.txt"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "  SELF%  TOTAL%  SAMPLES  HOT LINE  FUNCTION" ]
    [ "${lines[1]}" = "   80.0    80.0        4         -  PyNumber_Add" ]
    [ "${lines[2]}" = "   20.0    20.0        1         -  0x40" ]
    [ "${lines[3]}" = "    0.0   100.0        0         -  main" ]
    [ "${#lines[@]}" -eq 6 ]
    [[ "$output" != *"tid"* ]]
    [[ "$output" != *"["* ]]
}

@test "summary: python mode aggregates lines and shows the hot line" {
    run --separate-stderr "$REPORT" --mode python --top 1 \
        "$FIXTURES/mixed.txt"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 2 ]
    [ "${lines[1]}" = "   60.0    60.0        3         5  inner (/app/a.py)" ]
}

@test "svg: well-formed, hostile names escaped" {
    need_xmllint
    run --separate-stderr "$REPORT" --svg "$OUT/h.svg" \
        --title '<b>"title" & more</b>' "$FIXTURES/hostile.txt"
    [ "$status" -eq 0 ]
    xmllint --noout "$OUT/h.svg"
    run ! grep -q '<script>' "$OUT/h.svg"
    grep -q '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;' "$OUT/h.svg"
    grep -q '&lt;b&gt;&quot;title&quot; &amp; more&lt;/b&gt;' "$OUT/h.svg"
    grep -q 'evil;sym&lt;' "$OUT/h.svg"
    grep -q '3 samples, mode merged' "$OUT/h.svg"
    # The escape character and the invalid UTF-8 are gone.
    run ! grep -q $'\e' "$OUT/h.svg"
    iconv -f UTF-8 -t UTF-8 "$OUT/h.svg" >/dev/null
}

@test "svg: the demo input is well-formed with title texts" {
    need_xmllint
    run --separate-stderr "$REPORT" --svg "$OUT/m.svg" "$FIXTURES/mixed.txt"
    [ "$status" -eq 0 ]
    xmllint --noout "$OUT/m.svg"
    grep -q '<title>all (5 samples, 100.00%)</title>' "$OUT/m.svg"
    grep -q '<title>PyNumber_Add (2 samples, 40.00%)</title>' "$OUT/m.svg"
    grep -q '<title>worker;1 (tid 101) (1 samples, 20.00%)</title>' "$OUT/m.svg"
}

@test "hostile names do not reach the terminal raw" {
    run --separate-stderr "$REPORT" "$FIXTURES/hostile.txt"
    [ "$status" -eq 0 ]
    [[ "$output" != *$'\e'* ]]
    [[ "$output" == *'<script>alert("x")</script>'* ]]
}

@test "malformed lines are ignored, never a crash" {
    run --separate-stderr "$REPORT" --folded "$OUT/f" --svg "$OUT/g.svg" \
        "$FIXTURES/garbage.txt"
    [ "$status" -eq 0 ]
    [ "${stderr_lines[0]}" = "pyscope: 3 samples (ok 2, no python state 0, read faults 1), 0 lost, 0 truncated" ]
    diff -u - "$OUT/f" <<'EOF'
? (tid 1) 1
? (tid 2);[python read fault] 1
? (tid 3);0x1 1
EOF
}

@test "zero samples: a one-line error, exit 1, no file written" {
    run --separate-stderr "$REPORT" --folded "$OUT/f" --svg "$OUT/z.svg" \
        /dev/null
    [ "$status" -eq 1 ]
    [ "$stderr" = "pyscope-report: no samples in '/dev/null' (not a record stream of pyscope's, or a run that took none); nothing written" ]
    [ -z "$output" ]
    [ ! -e "$OUT/f" ] && [ ! -e "$OUT/z.svg" ]
}

@test "the V record: version 1 read, another version refused by both readers; the stream's own counters are its losses" {
    printf 'V\t1\tcpu-sample\nS\t1\tok\tn10\nN\t10\tmain\tprog\nX\tskipped_probes\t3\nX\ttransport_failures\t2\nX\ttruncated\t0\n' >"$OUT/v1"
    run --separate-stderr "$REPORT" --folded "$OUT/f" "$OUT/v1"
    [ "$status" -eq 0 ]
    [ "${stderr_lines[0]}" = "pyscope: 1 samples (ok 1, no python state 0, read faults 0), 5 lost, 0 truncated" ]
    printf 'V\t2\tcpu-sample\nS\t1\tok\tn10\n' >"$OUT/v2"
    run --separate-stderr "$REPORT" --folded "$OUT/f2" "$OUT/v2"
    [ "$status" -eq 2 ]
    [ "$stderr" = "pyscope-report: '$OUT/v2' is a record stream of another format (its V record says version 2; this reader knows version 1)" ]
    [ ! -e "$OUT/f2" ]
    run --separate-stderr "$ROOT/build/pyscope-leak" "$OUT/v2"
    [ "$status" -eq 2 ]
    [ "$stderr" = "pyscope-leak: $OUT/v2 is a record stream of another format (its V record says version 2; this reader knows version 1)" ]
}

@test "a very long line is handled" {
    awk 'BEGIN {
        printf "S\t1\tok\t"
        for (i = 0; i < 20000; i++) printf "%sn%x", (i ? " " : ""), i % 500
        printf "\nN\t0\t"
        for (i = 0; i < 100000; i++) printf "x"
        printf "\t\n"
    }' >"$OUT/long.txt"
    run --separate-stderr "$REPORT" --folded "$OUT/f" --svg "$OUT/l.svg" \
        "$OUT/long.txt"
    [ "$status" -eq 0 ]
    [ "${stderr_lines[0]}" = "pyscope: 1 samples (ok 1, no python state 0, read faults 0), 0 lost, 0 truncated" ]
    [ "$(wc -l <"$OUT/f")" -eq 1 ]
}

# ---- frame labels (--labels, --labels-csv) ----

# A labelled stream: compute (p3) under handle (p1, painted with label 7
# or 8) under serve (p2); thread 100 of pid 100 and thread 200 of pid 200;
# the B records come after the samples that use them.
labelled_stream() {
    printf 'S\t100\tok\tn10 p3:0 p1:4 l7 p2:8 e20 n30\n'
    printf 'S\t100\tok\tn10 p3:0 p1:4 l7 p2:8 e20 n30\n'
    printf 'S\t200\tok\tn10 p3:0 p1:4 l7 p2:8 e20 n30\n'
    printf 'S\t200\tok\tn10 p3:0 p1:4 l8 p2:8 e20 n30\n'
    printf 'S\t100\tok\tn10 l7 p2:8 e20 n30\n'
    printf 'N\t10\tPyNumber_Add\t/usr/bin/python3\n'
    printf 'N\t20\t_PyEval_EvalFrameDefault\t/usr/bin/python3\n'
    printf 'N\t30\tmain\t/usr/bin/python3\n'
    printf 'C\t1\thandle\ts.py\t10\nC\t2\tserve\ts.py\t30\nC\t3\tcompute\ts.py\t1\n'
    printf 'L\t1\t4\t12\nL\t2\t8\t40\nL\t3\t0\t5\n'
    printf 'B\t7\treq-42\n'
    printf 'B\t8\t<script>alert("x")</script>;,=cmd\n'
    printf 'T\t100\tpython3\t100\n'
    printf 'T\t200\tworker\t200\n'
}

@test "labels: bad values are a one-line error and exit 2" {
    labelled_stream >"$OUT/l.txt"
    run --separate-stderr "$REPORT" --labels on "$OUT/l.txt"
    [ "$status" -eq 2 ]
    [ "${#stderr_lines[@]}" -eq 1 ]
    [[ "$stderr" == *"'on'"* ]]
    [ -z "$output" ]
    run --separate-stderr "$REPORT" --labels
    [ "$status" -eq 2 ]
    [ "${#stderr_lines[@]}" -eq 1 ]
    for how in "" --labels=off --labels=split; do
        run --separate-stderr "$REPORT" $how --labels-csv "$OUT/x.csv" \
            "$OUT/l.txt"
        [ "$status" -eq 2 ]
        [ "${#stderr_lines[@]}" -eq 1 ]
        [[ "$stderr" == *"--labels join"* ]]
        [ ! -e "$OUT/x.csv" ]
    done
}

@test "labels off (the default) and join: stacks as without labels" {
    labelled_stream >"$OUT/l.txt"
    grep -v '^B' "$OUT/l.txt" | sed 's/ l[0-9]*//' >"$OUT/plain.txt"
    "$REPORT" --folded "$OUT/plain.folded" --svg "$OUT/plain.svg" \
        "$OUT/plain.txt" >"$OUT/plain.out" 2>"$OUT/plain.err"
    "$REPORT" --folded "$OUT/off.folded" --svg "$OUT/off.svg" \
        "$OUT/l.txt" >"$OUT/off.out" 2>"$OUT/off.err"
    "$REPORT" --labels off --folded "$OUT/off2.folded" "$OUT/l.txt" \
        >"$OUT/off2.out" 2>/dev/null
    "$REPORT" --labels join --folded "$OUT/join.folded" \
        --svg "$OUT/join.svg" "$OUT/l.txt" >"$OUT/join.out" 2>"$OUT/join.err"
    cmp "$OUT/plain.folded" "$OUT/off.folded"
    cmp "$OUT/plain.folded" "$OUT/off2.folded"
    cmp "$OUT/plain.folded" "$OUT/join.folded"
    cmp "$OUT/plain.svg" "$OUT/off.svg"
    cmp "$OUT/plain.svg" "$OUT/join.svg"
    cmp "$OUT/plain.out" "$OUT/off.out"
    cmp "$OUT/plain.out" "$OUT/off2.out"
    cmp "$OUT/plain.err" "$OUT/off.err"
    cmp "$OUT/plain.err" "$OUT/join.err"
    # join: the same summary first, then the label table
    head -n "$(wc -l <"$OUT/plain.out")" "$OUT/join.out" |
        cmp - "$OUT/plain.out"
}

@test "labels split: a label frame above each labelled Python frame" {
    labelled_stream >"$OUT/l.txt"
    run --separate-stderr "$REPORT" --labels split --folded "$OUT/f" \
        "$OUT/l.txt"
    [ "$status" -eq 0 ]
    diff -u - "$OUT/f" <<'EOF'
python3 (tid 100);main;serve (s.py:40);[label req-42];handle (s.py:12);compute (s.py:5);PyNumber_Add 2
python3 (tid 100);main;serve (s.py:40);PyNumber_Add 1
worker (tid 200);main;serve (s.py:40);[label <script>alert("x")</script>\x3b,=cmd];handle (s.py:12);compute (s.py:5);PyNumber_Add 1
worker (tid 200);main;serve (s.py:40);[label req-42];handle (s.py:12);compute (s.py:5);PyNumber_Add 1
EOF
    # the summary has no label rows
    [[ "$output" != *"label"* ]]
    [ "${lines[1]}" = "  100.0   100.0        5         -  PyNumber_Add" ]
    # (a function without self samples: its line with most samples)
    [ "${lines[5]}" = "    0.0    80.0        0        12  handle (s.py)" ]

    run --separate-stderr "$REPORT" --labels split --mode python \
        --no-threads --folded "$OUT/f" "$OUT/l.txt"
    [ "$status" -eq 0 ]
    diff -u - "$OUT/f" <<'EOF'
serve (s.py:40);[label req-42];handle (s.py:12);compute (s.py:5) 3
serve (s.py:40) 1
serve (s.py:40);[label <script>alert("x")</script>\x3b,=cmd];handle (s.py:12);compute (s.py:5) 1
EOF

    run --separate-stderr "$REPORT" --labels split --mode native \
        --no-threads --folded "$OUT/f" "$OUT/l.txt"
    [ "$status" -eq 0 ]
    diff -u - "$OUT/f" <<'EOF'
main;_PyEval_EvalFrameDefault;PyNumber_Add 5
EOF
}

@test "labels split: hostile labels escaped in the SVG" {
    need_xmllint
    labelled_stream >"$OUT/l.txt"
    printf 'B\t9\t\e[2J\xff\xfe<\n' >>"$OUT/l.txt"
    printf 'S\t100\tok\tp3:0 l9 p2:8\n' >>"$OUT/l.txt"
    run --separate-stderr "$REPORT" --labels split --svg "$OUT/l.svg" \
        "$OUT/l.txt"
    [ "$status" -eq 0 ]
    xmllint --noout "$OUT/l.svg"
    run ! grep -q '<script>' "$OUT/l.svg"
    run ! grep -q $'\e' "$OUT/l.svg"
    iconv -f UTF-8 -t UTF-8 "$OUT/l.svg" >/dev/null
    grep -qF '<title>[label &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;;,=cmd] (1 samples, 16.67%)</title>' "$OUT/l.svg"
    grep -qF '<title>[label req-42] (2 samples, 33.33%)</title>' "$OUT/l.svg"
    # label frames are blue-violet
    grep -A1 -F '<title>[label req-42]' "$OUT/l.svg" |
        grep -Eq 'fill="rgb\((1[6-9][0-9]|20[0-9]),1[2-5][0-9],2[1-5][0-9]\)"'
}

@test "labels join: per-label table after the summary, PROCS across pids" {
    labelled_stream >"$OUT/l.txt"
    # another thread of pid 100, and a thread without a pid (counts as
    # its own process)
    printf 'T\t101\tpython3\t100\n' >>"$OUT/l.txt"
    printf 'S\t101\tok\tp3:0 p1:4 l7 p2:8\n' >>"$OUT/l.txt"
    printf 'S\t300\tnopy\tn30\n' >>"$OUT/l.txt"
    run --separate-stderr "$REPORT" --labels join --top 2 "$OUT/l.txt"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "  SELF%  TOTAL%  SAMPLES  HOT LINE  FUNCTION" ]
    [ "${#lines[@]}" -eq 7 ]
    [ "${lines[3]}" = "  SAMPLES      %  PROCS  LABEL" ]
    [ "${lines[4]}" = "        4   57.1      2  req-42" ]
    [ "${lines[5]}" = "        2   28.6      2  (no label)" ]
    [ "${lines[6]}" = '        1   14.3      1  <script>alert("x")</script>;,=cmd' ]
    # a blank line between the two tables
    [[ "$output" == *$'\n\n  SAMPLES'* ]]

    # --top 0: the label table alone
    run --separate-stderr "$REPORT" --labels join --top 0 "$OUT/l.txt"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 4 ]
    [ "${lines[0]}" = "  SAMPLES      %  PROCS  LABEL" ]
    [ "${lines[1]}" = "        4   57.1      2  req-42" ]
}

@test "labels join: innermost label, unknown ids, terminal-safe text" {
    printf 'S\t1\tok\tp1:0 l2 p2:0 l1 p3:0\n' >"$OUT/n.txt"
    printf 'S\t1\tok\tp1:0 l5 p3:0\n' >>"$OUT/n.txt"
    printf 'S\t1\tok\tp1:0 l6 p3:0\n' >>"$OUT/n.txt"
    printf 'S\t1\tok\tn1 l1 p3:0\n' >>"$OUT/n.txt"
    printf 'B\t1\touter\nB\t2\tinner\nB\t6\tbad\e[31m\xff\n' >>"$OUT/n.txt"
    run --separate-stderr "$REPORT" --labels join --top 0 "$OUT/n.txt"
    [ "$status" -eq 0 ]
    [[ "$output" != *$'\e'* ]]
    [ "${#lines[@]}" -eq 5 ]
    [ "${lines[1]}" = "        1   25.0      1  (no label)" ]
    [ "${lines[2]}" = "        1   25.0      1  ?5" ]
    [ "${lines[3]}" = $'        1   25.0      1  bad\xef\xbf\xbd[31m\xef\xbf\xbd' ]
    [ "${lines[4]}" = "        1   25.0      1  inner" ]
    [[ "$output" != *"outer"* ]]
}

@test "labels join: CSV per label and pid, quoted, formulas defused" {
    labelled_stream >"$OUT/l.txt"
    printf 'B\t9\t=1+2\xff\nB\t10\t@x,"y"\n' >>"$OUT/l.txt"
    printf 'S\t100\tok\tp3:0 l9 p2:8\n' >>"$OUT/l.txt"
    printf 'S\t100\tok\tp3:0 l10 p2:8\n' >>"$OUT/l.txt"
    run --separate-stderr "$REPORT" --labels join --top 0 \
        --labels-csv "$OUT/l.csv" "$OUT/l.txt"
    [ "$status" -eq 0 ]
    diff -u - "$OUT/l.csv" <<'EOF'
label,pid,samples,percent
req-42,100,2,28.6
req-42,200,1,14.3
(no label),100,1,14.3
"<script>alert(""x"")</script>;,=cmd",200,1,14.3
"'=1+2\xff",100,1,14.3
"'@x,""y""",100,1,14.3
EOF
}

# ---- wall-clock streams (cpu-sample --wall) ----

# tests/c/fixtures/wall.txt (its head says what is in it): on-CPU samples
# of 10 ms, off-CPU time in W records of K stacks.

@test "wall stream: folded stacks in microseconds, off-CPU time under its leaf" {
    run --separate-stderr "$REPORT" --top 0 --folded "$OUT/f" "$FIXTURES/wall.txt"
    [ "$status" -eq 0 ]
    diff -u - "$OUT/f" <<'EOF'
worker (tid 4250);main;sleeper (/srv/app.py:52);clock_nanosleep;[off-cpu: clock_nanosleep] 2001000
python3.11 (tid 4242);main;serve (/srv/app.py:40);handle (/srv/app.py:12);PyNumber_Add 30000
python3.11 (tid 4242);main;serve (/srv/app.py:40) 10000
worker (tid 4250);main;sleeper (/srv/app.py:52) 10000
python3.11 (tid 4242);main;serve (/srv/app.py:40);handle (/srv/app.py:12);[runnable] 5200
python3.11 (tid 4242);main;serve (/srv/app.py:40);handle (/srv/app.py:12);take_gil.lto_priv.0;__futex_abstimed_wait_common;[off-cpu: gil] 3100
python3.11 (tid 4242);main;serve (/srv/app.py:40);__futex_abstimed_wait_common;[off-cpu: futex] 2000
python3.11 (tid 4242);[stack-unknown];[off-cpu: read] 700
EOF
    # python mode still tells the GIL (its native frames are not shown)
    run --separate-stderr "$REPORT" --mode python --no-threads --top 0 \
        --folded "$OUT/p" "$FIXTURES/wall.txt"
    [ "$status" -eq 0 ]
    grep -qx 'serve (/srv/app.py:40);handle (/srv/app.py:12);\[off-cpu: gil\] 3100' "$OUT/p"
    # --labels split: the label frame, and the leaf still innermost
    run --separate-stderr "$REPORT" --labels split --no-threads --top 0 \
        --folded "$OUT/s" "$FIXTURES/wall.txt"
    [ "$status" -eq 0 ]
    grep -qx 'main;serve (/srv/app.py:40);\[label req-42\];handle (/srv/app.py:12);\[runnable\] 5200' "$OUT/s"
    # the SVG: widths are the same weights, and say they are microseconds
    run --separate-stderr "$REPORT" --top 0 --svg "$OUT/w.svg" "$FIXTURES/wall.txt"
    [ "$status" -eq 0 ]
    grep -q '<title>\[off-cpu: gil\] (3100 us, 0.15%)</title>' "$OUT/w.svg"
    grep -q '<svg [^>]* data-unit="us">' "$OUT/w.svg"
    grep -q '<text id="subtitle" [^>]*>2062000 us, mode merged' "$OUT/w.svg"
    grep -q '>pyscope wall-clock profile</text>' "$OUT/w.svg"
}

@test "wall stream: the summary in ms, then wall-clock time by thread and by label" {
    run --separate-stderr "$REPORT" --top 3 "$FIXTURES/wall.txt"
    [ "$status" -eq 0 ]
    diff -u - <(printf '%s\n' "${lines[@]}") <<'EOF'
  SELF%  TOTAL%       MS  HOT LINE  FUNCTION
   97.0    97.0   2001.0         -  clock_nanosleep
    1.5     1.5     30.0         -  PyNumber_Add
    0.5    97.5     10.0        52  sleeper (/srv/app.py)
Wall-clock time by thread (ms):
  THREAD                     WALL     ON-CPU   RUNNABLE  OFF-CPU
  worker (tid 4250)        2011.0       10.0        0.0  clock_nanosleep 2001.0
  python3.11 (tid 4242)      51.0       40.0        5.2  gil 3.1, futex 2.0, read 0.7
Wall-clock time by label (ms):
  LABEL           WALL     ON-CPU   RUNNABLE  OFF-CPU
  (no label)    2023.7       20.0        0.0  clock_nanosleep 2001.0, futex 2.0, read 0.7
  req-42          38.3       30.0        5.2  gil 3.1
EOF
    # blank lines between the tables
    [[ "$output" == *$'sleeper (/srv/app.py)\n\nWall-clock time by thread'* ]]
    [[ "$output" == *$'read 0.7\n\nWall-clock time by label'* ]]
    # --labels join in the same weights; its CSV in microseconds
    run --separate-stderr "$REPORT" --top 0 --labels join \
        --labels-csv "$OUT/l.csv" "$FIXTURES/wall.txt"
    [ "$status" -eq 0 ]
    diff -u - <(printf '%s\n' "${lines[@]}") <<'EOF'
       MS      %  PROCS  LABEL
   2023.7   98.1      1  (no label)
     38.3    1.9      1  req-42
EOF
    diff -u - "$OUT/l.csv" <<'EOF'
label,pid,usec,percent
(no label),4242,2023700,98.1
req-42,4242,38300,1.9
EOF
    # no labels in the stream: no label table
    grep -v '^B' "$FIXTURES/wall.txt" | sed 's/ l1//' >"$OUT/nolabels.txt"
    run --separate-stderr "$REPORT" --top 1 "$OUT/nolabels.txt"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Wall-clock time by thread (ms):"* ]]
    [[ "$output" != *"by label"* ]]
}

@test "wall stream: the counts on stderr" {
    run --separate-stderr "$REPORT" --top 0 "$FIXTURES/wall.txt"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    diff -u - <(printf '%s\n' "${stderr_lines[@]}") <<'EOF'
pyscope: 5 samples (ok 5, no python state 0, read faults 0), 0 lost, 0 truncated
pyscope: wall-clock: 5 on-CPU samples (50.0 ms), off-CPU 2012.0 ms in 5 stacks
pyscope: counters: samples=5
EOF
}

@test "wall stream: without X period_ns it is one line, exit 1, no file written" {
    grep -v period_ns "$FIXTURES/wall.txt" >"$OUT/noperiod.txt"
    run --separate-stderr "$REPORT" --folded "$OUT/f" --pprof "$OUT/p.pb.gz" \
        "$OUT/noperiod.txt"
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    [ "$stderr" = "pyscope-report: '$OUT/noperiod.txt' is a wall-clock stream without its sampling period (X period_ns); nothing written" ]
    [ ! -e "$OUT/f" ] && [ ! -e "$OUT/p.pb.gz" ]
    # X wall alone makes a wall stream; X wall 0 does not
    printf 'S\t1\tok\tn1 \nX\twall\t1\n' >"$OUT/xwall.txt"
    run --separate-stderr "$REPORT" "$OUT/xwall.txt"
    [ "$status" -eq 1 ]
    printf 'S\t1\tok\tn1 \nX\twall\t0\nX\tperiod_ns\t1000000\n' >"$OUT/xwall0.txt"
    run --separate-stderr "$REPORT" --folded "$OUT/f0" "$OUT/xwall0.txt"
    [ "$status" -eq 0 ]
    [ "$(cat "$OUT/f0")" = "? (tid 1);0x1 1" ]
    [ "${lines[0]}" = "  SELF%  TOTAL%  SAMPLES  HOT LINE  FUNCTION" ]
    [[ "$output" != *"Wall-clock"* ]]
}

@test "wall stream: --help says what a wall stream is" {
    run "$REPORT" --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"wall stream"* ]]
    [[ "$output" == *"wall/microseconds"* ]]
    [[ "$output" == *"[off-cpu: REASON]"* ]]
}
