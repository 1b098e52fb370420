#!/usr/bin/env bats
# Every CPython the machine has, 3.8 to 3.13: the same CPU-sampling and
# merged-stack checks, in real guest runs, against each source-built
# interpreter under /root/.pyenv/versions (shared libpython, DWARF), with
# the layout read from each build (scripts/lib/layout-stpm.sh).  Debian's
# python3.11 (static, DWARF from python3.11-dbg) is what every other test
# file runs.  A version that is absent is skipped with the reason.
load helpers

PYENV=/root/.pyenv/versions

python_of() {   # python_of 3.8.18 -> its executable, or skip
    exe=$PYENV/$1/bin/python${1%.*}
    [ -x "$exe" ] || skip "CPython $1 is not installed ($exe)"
    echo "$exe"
}

# callback.py under cpu-sample: caller() (line 20) calls the builtin
# sorted(), which calls slow_key() (lines 11-14) from C.  The merged stack
# must read caller -> sorted's native frames -> slow_key, with their
# lines, and the hot lines must be slow_key's loop.
check_version() {
    exe=$(python_of "$1")
    minor=${1%.*}
    p="$BATS_TEST_TMPDIR/cb"
    run "$ROOT/scripts/cpu-sample.sh" -c "$exe $ROOT/examples/callback.py 8" -o "$p"
    echo "$output" | tail -15
    [ "$status" -eq 0 ]
    # the thread root is the interpreter named by its own comm
    head -n 1 "$p.folded" | grep -E "^python$minor \\(tid [0-9]+\\);"
    re='caller \([^;]*callback\.py:20\);([^;(]*;)*[^;(]*sorted[^;(]*;([^;(]*;)*slow_key \([^;]*callback\.py:1[1-4]\)'
    grep -E "$re" "$p.folded" | head -n 2
    share=$(folded_share "$p.folded" "$re")
    hot=$(folded_share "$p.folded" 'slow_key \([^;]*callback\.py:1[34]\)')
    echo "CPython $1: caller->sorted->slow_key $share%, slow_key at lines 13-14 $hot%"
    [ "$share" -ge 50 ]
    [ "$hot" -ge 40 ]
    # and never the other way round, nor frames the walk could not place
    ! grep -E 'slow_key \([^;]*\);.*caller \(' "$p.folded"
    ! grep -q 'unreadable-frame' "$p.folded"
}

@test "CPython 3.8: merged stacks, names and lines (PyFrameObject, co_lnotab)" {
    check_version 3.8.18
}

@test "CPython 3.9: merged stacks, names and lines (PyFrameObject, co_lnotab)" {
    check_version 3.9.18
}

@test "CPython 3.10: merged stacks, names and lines (3.10 co_linetable)" {
    check_version 3.10.13
}

@test "CPython 3.11 (pyenv, shared libpython): merged stacks, names and lines" {
    check_version 3.11.7
}

@test "CPython 3.12: merged stacks, names and lines (shim frames skipped)" {
    check_version 3.12.1
}

@test "CPython 3.13: merged stacks, names and lines (f_executable, tstate->current_frame)" {
    check_version 3.13.0
}

@test "unsupported interpreters get one line naming the supported versions" {
    exe=$(python_of 3.7.16)
    run "$ROOT/scripts/cpu-sample.sh" -c "$exe $ROOT/examples/busy.py 1" -o "$BATS_TEST_TMPDIR/x"
    echo "$output"
    [ "$status" -ne 0 ]
    [ "$(echo "$output" | wc -l)" -eq 1 ]
    echo "$output" | grep -q 'is CPython 3\.7\.16; pyscope reads 3\.8 to 3\.14'
    run "$ROOT/scripts/cpu-sample.sh" -c "/bin/true" -o "$BATS_TEST_TMPDIR/x"
    echo "$output"
    [ "$status" -ne 0 ]
    echo "$output" | grep -q 'not a CPython interpreter'
}
