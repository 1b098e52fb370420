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
                --no-threads --help -h; do
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

@test "zero samples: files still written, exit 0" {
    run --separate-stderr "$REPORT" --folded "$OUT/f" --svg "$OUT/z.svg" \
        /dev/null
    [ "$status" -eq 0 ]
    [ "$stderr" = "pyscope: 0 samples (ok 0, no python state 0, read faults 0), 0 lost, 0 truncated" ]
    [ -f "$OUT/f" ] && [ ! -s "$OUT/f" ]
    grep -q 'no samples' "$OUT/z.svg"
    if command -v xmllint >/dev/null; then
        xmllint --noout "$OUT/z.svg"
    fi
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
