#!/usr/bin/env bats
# Every CPython the machine has, 3.8 to 3.13: the same CPU-sampling and
# merged-stack checks, in real guest runs, against each source-built
# interpreter under /root/.pyenv/versions (shared libpython, DWARF), with
# the layout read from each build (scripts/lib/layout-stpm.sh).  Debian's
# python3.11 (static, DWARF from python3.11-dbg) is what every other test
# file runs.  A version that is absent is skipped with the reason.
load helpers

PYENV=/root/.pyenv/versions

python_of() {   # python_of 3.8.18 -> its executable
    echo "$PYENV/$1/bin/python${1%.*}"
}

# need_version VERSION: skip the test when it is not installed (called in
# the test's own shell: a skip inside $(...) would end only the subshell)
need_version() {
    [ -n "$1" ] && [ -x "$(python_of "$1")" ] ||
        skip "CPython ${1:-of this minor version} is not installed under $PYENV"
}

# One cpu-sample run a version serves two tests (one guest boot, one
# compile): callback.py's caller() for 4 s, execs() (code objects at
# reused addresses) for 0.7 s, then labelled(): with the pyscope extension
# built for that interpreter (make pyext-versions), two requests painted
# "alpha" (2 s) and "beta" (1 s) around the same hot function, under
# --labels split (and then execs() again, now with the walk of a process
# that has frame labels).  Its outputs are kept for the file's later tests.
version_run() {   # version_run VERSION -> $p: the run's output prefix
    need_version "$1"
    exe=$(python_of "$1")
    minor=${1%.*}
    p="$BATS_FILE_TMPDIR/v$1"
    [ -f "$p.rc" ] && return 0
    make -s -C "$ROOT" pyext-versions >/dev/null 2>&1 || true
    cat > "$p.py" <<'PYEOF'
import sys
import time
sys.path.insert(0, sys.argv[1])
from callback import caller

def work(deadline):
    n = 0
    while time.monotonic() < deadline:
        n += sum(i * i for i in range(500))
    return n

def handle(tag, seconds):
    with pyscope.label(tag):
        return work(time.monotonic() + seconds)

# compile() in a loop: each new "<module>" code object (and its line
# table) takes the place of the one before, a and b in turn
SRC_A = "t = 0\nfor i in range(3000):\n    t += i * i\n"
SRC_B = "\n\n\n\nt = 0\nfor i in range(3000):\n    t += i % 7\n"

def execs(seconds):
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        a = n % 2
        exec(compile(SRC_A if a else SRC_B, "reuse_a.py" if a else "reuse_b.py",
                     "exec"), {})
        n += 1

def labelled():
    global pyscope
    try:
        import pyscope
    except ImportError:
        return
    handle("alpha", 2.0)
    handle("beta", 1.0)

caller(time.monotonic() + 4.0)
execs(0.7)
labelled()
execs(0.7)
PYEOF
    "$ROOT/scripts/cpu-sample.sh" --labels split \
        -c "env PYTHONPATH=$ROOT/build/py-$minor $exe $p.py $ROOT/examples" \
        -o "$p" > "$p.out" 2>&1
    echo $? > "$p.rc"
    # the samples of the callback part (and of the start-up): none of
    # labelled()'s
    grep -v ';labelled (' "$p.folded" > "$p.callback" || true
}

# The callback part: caller() (line 20) calls the builtin sorted(), which
# calls slow_key() (lines 11-14) from C.  The merged stack must read
# caller -> sorted's native frames -> slow_key, with their lines, and the
# hot lines must be slow_key's loop.
check_version() {
    version_run "$1"
    tail -15 "$p.out"
    [ "$(cat "$p.rc")" -eq 0 ]
    u="$p.callback"
    # the thread root is the interpreter named by its own comm
    head -n 1 "$u" | grep -E "^python$minor \\(tid [0-9]+\\);"
    re='caller \([^;]*callback\.py:20\);([^;(]*;)*[^;(]*sorted[^;(]*;([^;(]*;)*slow_key \([^;]*callback\.py:1[1-4]\)'
    grep -E "$re" "$u" | head -n 2
    # Of the samples in caller() or slow_key() (the interpreter's start-up,
    # whose length varies with the machine, is neither), the merged chain
    # is nearly all: a native unwind that fails through sorted() leaves
    # slow_key without caller.  And slow_key's time is in its loop.
    grep -E 'caller \(|slow_key \(' "$u" > "$p.cs" || true
    grep -E 'slow_key \(' "$u" > "$p.sk" || true
    share=$(folded_share "$p.cs" "$re")
    hot=$(folded_share "$p.sk" 'slow_key \([^;]*callback\.py:1[34]\)')
    echo "CPython $1: caller->sorted->slow_key $share% of $(folded_total "$p.cs") samples in caller or slow_key, slow_key at lines 13-14 $hot%"
    [ "$(folded_total "$p.cs")" -ge 150 ]
    [ "$share" -ge 90 ]
    [ "$hot" -ge 60 ]
    # work() and handle() run only inside labelled(): outside it, a frame
    # with their name is another code object that had the same address
    # (pyenv's 3.11 exec()s a .pth line at start-up, and its code object
    # is freed; the reader must name each sample after the object it saw)
    ! grep -E ';(work|handle)[^;]* \(' "$u" || false
    # execs(): a at lines 1-3, b at 5-7; every sample names the object it
    # ran, though both sit at one address with one interned name
    na=$(awk '/<module> \(reuse_a\.py/ { s += $NF } END { print s + 0 }' "$p.folded")
    nb=$(awk '/<module> \(reuse_b\.py/ { s += $NF } END { print s + 0 }' "$p.folded")
    echo "exec()'d code at reused addresses: reuse_a.py $na samples, reuse_b.py $nb"
    [ "$na" -ge 5 ] && [ "$nb" -ge 5 ]
    ! grep -E '<module> \(reuse_a\.py:([4-9]|[0-9][0-9])' "$p.folded" || false
    ! grep -E '<module> \(reuse_b\.py:[0-4]\)' "$p.folded" || false
    # never the other way round; a frame that cannot be read (one caught
    # while the interpreter sets it up) is rare
    ! grep -E 'slow_key \([^;]*\);.*caller \(' "$p.folded" || false
    [ "$(folded_share "$p.folded" 'unreadable-frame')" -le 2 ]
}

@test "CPython 3.8: merged stacks, names and lines (PyFrameObject, co_lnotab)" {
    check_version "$(patch_of 3.8)"
}

@test "CPython 3.9: merged stacks, names and lines (PyFrameObject, co_lnotab)" {
    check_version "$(patch_of 3.9)"
}

@test "CPython 3.10: merged stacks, names and lines (3.10 co_linetable)" {
    check_version "$(patch_of 3.10)"
}

@test "CPython 3.11 (pyenv, shared libpython): merged stacks, names and lines" {
    check_version "$(patch_of 3.11)"
}

@test "CPython 3.12: merged stacks, names and lines (shim frames skipped)" {
    check_version "$(patch_of 3.12)"
}

@test "CPython 3.13: merged stacks, names and lines (f_executable, tstate->current_frame)" {
    check_version "$(patch_of 3.13)"
}

@test "the pyscope extension's unit tests pass under every installed CPython" {
    [ -d "$PYENV" ] || skip "no pyenv interpreters ($PYENV)"
    run "$ROOT/tests/py/run-versions.sh"
    echo "$output" | tail -20
    [ "$status" -eq 0 ]
    for m in 3.8 3.9 3.10 3.11 3.12 3.13; do
        echo "$output" | grep -qE "^$m: ([0-9]+ passed|skipped \(no pyenv)"
    done
    # at least one version really ran them
    echo "$output" | grep -qE '^3\.[0-9]+: [0-9]+ passed'
}

@test "a free-threaded build is refused in one line" {
    v=$(patch_of 3.13)
    need_version "$v"
    # the layout check alone (no guest): a free-threaded build's library
    # is libpython3.13t.so
    cp "$PYENV/$v/lib/libpython3.13.so.1.0" "$BATS_TEST_TMPDIR/libpython3.13t.so.1.0"
    run "$ROOT/scripts/lib/layout-stpm.sh" "$BATS_TEST_TMPDIR/libpython3.13t.so.1.0"
    echo "$output"
    [ "$status" -ne 0 ]
    [ "${#lines[@]}" -eq 1 ]
    echo "$output" | grep -q 'is a free-threaded CPython build: not supported yet'
}

@test "unsupported interpreters get one line naming the supported versions" {
    v=$(patch_of 3.7)
    need_version "$v"
    exe=$(python_of "$v")
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

# stripped_install VERSION DIR: VERSION's interpreter with a libpython that
# has no DWARF and no .symtab (strip --strip-all), loaded through
# LD_LIBRARY_PATH ahead of the original (the executable's RUNPATH is
# absolute); the standard library is the original's.
stripped_install() {
    v=$1 d=$2 m=${1%.*}
    mkdir -p "$d/bin" "$d/lib"
    cp "$PYENV/$v/bin/python$m" "$d/bin/"
    strip --strip-all -o "$d/lib/libpython$m.so.1.0" "$PYENV/$v/lib/libpython$m.so.1.0"
    ln -s "$PYENV/$v/lib/python$m" "$d/lib/python$m"
    ! readelf -S "$d/lib/libpython$m.so.1.0" | grep -q -e '\.debug_info' -e '\.symtab' || false
}

# the profile of callback.py is right: caller -> native frames -> slow_key
# (with no symbol table, SystemTap names a static function's frames after
# the nearest exported symbol, so sorted()'s frames are not named here)
callback_ok() {
    re='caller \([^;]*callback\.py:20\);([^;(]*;)+slow_key \([^;]*callback\.py:1[1-4]\)'
    share=$(folded_share "$1" "$re")
    echo "caller->sorted->slow_key: $share%"
    [ "$share" -ge 50 ]
}

@test "a stripped interpreter, profiled with offsets extracted beforehand by pyscope-offsets" {
    v=$(patch_of 3.12)
    need_version "$v"
    d="$BATS_TEST_TMPDIR/py312"
    stripped_install "$v" "$d"
    lib="$d/lib/libpython3.12.so.1.0"
    empty="$BATS_TEST_TMPDIR/no-tables"; mkdir -p "$empty"
    cache="$BATS_TEST_TMPDIR/offsets"; mkdir -p "$cache"
    cmd="env LD_LIBRARY_PATH=$d/lib $d/bin/python3.12 $ROOT/examples/callback.py 6"
    # without DWARF, an extracted table or a compiled-in one: one clear line
    run env PYSCOPE_TABLES="$empty" PYSCOPE_OFFSETS_DIR="$cache" \
        "$ROOT/scripts/cpu-sample.sh" -c "$cmd" -o "$BATS_TEST_TMPDIR/x"
    echo "$output"
    [ "$status" -ne 0 ]
    echo "$output" | grep -q 'no offset for .* extract them with pyscope-offsets'
    # extracted once, from the original's DWARF, into the cache by build-id
    bid=$(readelf -n "$lib" | sed -n 's/.*Build ID: *\([0-9a-f]*\).*/\1/p')
    "$ROOT/build/pyscope-offsets" --debug-file "$PYENV/$v/lib/libpython3.12.so.1.0" \
        -o "$cache/$bid.tsv" "$lib"
    run env PYSCOPE_TABLES="$empty" PYSCOPE_OFFSETS_DIR="$cache" \
        "$ROOT/scripts/cpu-sample.sh" -c "$cmd" -o "$BATS_TEST_TMPDIR/s"
    echo "$output" | tail -5
    [ "$status" -eq 0 ]
    echo "$output" | grep -q "CPython $(echo "$v" | sed 's/\./\\./g') ($lib): offsets from an extracted table ($cache/$bid\.tsv) ([0-9]* keys)\$"
    callback_ok "$BATS_TEST_TMPDIR/s.folded"
}

@test "CPython 3.13 with no DWARF at all: offsets from _Py_DebugOffsets" {
    v=$(patch_of 3.13)
    need_version "$v"
    d="$BATS_TEST_TMPDIR/py313"
    stripped_install "$v" "$d"
    lib="$d/lib/libpython3.13.so.1.0"
    # a compiled-in table whose frame and thread offsets are all wrong:
    # the run can only work if what the build itself says comes first
    tables="$BATS_TEST_TMPDIR/tables"; mkdir -p "$tables"
    awk -F '\t' 'BEGIN { OFS = "\t" }
        $1 ~ /^(tstate|interp|runtime)\./ || $1 ~ /^iframe\.(previous|code|instr|owner)$/ ||
        $1 ~ /^code\.co_/ { $2 += 8 } { print }' \
        "$ROOT/tools/offsets/tables/3.13.tsv" > "$tables/3.13.tsv"
    run env PYSCOPE_TABLES="$tables" PYSCOPE_OFFSETS_DIR="$BATS_TEST_TMPDIR/none" \
        "$ROOT/scripts/cpu-sample.sh" \
        -c "env LD_LIBRARY_PATH=$d/lib $d/bin/python3.13 $ROOT/examples/callback.py 6" \
        -o "$BATS_TEST_TMPDIR/s"
    echo "$output" | tail -5
    [ "$status" -eq 0 ]
    echo "$output" | grep -q "CPython 3\.13\.0 ($lib): offsets from _Py_DebugOffsets (file) ([0-9]* keys), the compiled-in 3\.13 table ([0-9]* keys)\$"
    callback_ok "$BATS_TEST_TMPDIR/s.folded"
}

# leaky.c built for one interpreter (plain gcc: 3.12+ have no setuptools;
# an extension module needs no link against libpython on Linux)
build_leaky() {   # build_leaky EXE DIR
    inc=$("$1" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
    suf=$("$1" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
    mkdir -p "$2"
    gcc -O0 -g -shared -fPIC -I"$inc" -o "$2/leaky$suf" "$ROOT/examples/ext/leaky.c"
}

# leak-watch (trace mode: uprobes on this libpython's allocators) finds
# examples/leak_demo.py's two leaks, at their lines, with their sizes.
# On 3.8 (PyFrameObject), pyenv's 3.11 (shared libpython, the interpreter
# frame) and 3.13 (f_executable): every version's walk is the profile's
# (check_version above), and the allocators' probes are the same
# functions on each; three runs keep the suite within its time.
# (-S: no site-packages, whose .pth imports make a traced start-up slow)
# The demo leaves through os._exit() after its rounds, with both leaks
# live, and the watch ends with it: no deadline that a slow start-up (a
# traced 3.13 once took longer than 45 s to reach its first round) can
# beat.  -d only keeps a stuck run from holding up the suite.
check_leaks() {
    need_version "$1"
    exe=$(python_of "$1")
    d="$BATS_TEST_TMPDIR/ext"
    build_leaky "$exe" "$d"
    p="$BATS_TEST_TMPDIR/leak"
    rounds=100
    run "$ROOT/scripts/leak-watch.sh" \
        -c "env PYTHONPATH=$d $exe -S $ROOT/examples/leak_demo.py $rounds 0.005 exit" \
        -d 600 --group-by line -o "$p"
    echo "$output" | grep -v '^    \|^leak-watch: .* surviving' | head -n 12
    echo "$output" | grep -E '^(ERROR|WARNING)' | head -n 5
    echo "$output" | sed -n '/^pyscope leak-watch report/,/^$/p'
    echo "$output" | sed -n '/^Top groups by growth/,/^$/p'
    [ "$status" -eq 0 ]
    # no SystemTap error: one (MAXACTION exceeded in a snapshot, say)
    # ends the watch at the last snapshot before it
    ! echo "$output" | grep -q '^ERROR' || false
    c_line=$(grep -n '# LEAK: C extension' "$ROOT/examples/leak_demo.py" | cut -d: -f1)
    cache_line=$(grep -n '# LEAK: cache' "$ROOT/examples/leak_demo.py" | cut -d: -f1)
    entry=$("$exe" -c 'import sys; print(sys.getsizeof(bytes(1000)))')
    # among the top ten growers: a -c watch also sees the interpreter's
    # start-up grow after the first snapshot (slow under trace mode: on
    # 3.10 five start-up groups grow more than the cache leak once the
    # first snapshot is taken on time, at 1 s, some 1,000 blocks into a
    # start-up of 15,000)
    top=$(sed -n '/^Top groups by growth/,/^$/p' "$p.txt" | sed -n '3,12p')
    echo "$top" | grep -q "examples/leak_demo.py:$c_line\$"
    echo "$top" | grep -q "examples/leak_demo.py:$cache_line\$"
    c=$(row_live growth "leak_demo.py:$c_line" "$p.txt")
    cache=$(row_live growth "leak_demo.py:$cache_line" "$p.txt")
    echo "CPython $1: C extension $c bytes (expected $((rounds * 4033))), cache $cache bytes (expected $((rounds * entry)))"
    within_10pct "$c" $((rounds * 4033))
    within_10pct "$cache" $((rounds * entry))
}

@test "leak-watch on CPython 3.8: both leaks, at their lines, within 10%" {
    check_leaks "$(patch_of 3.8)"
}

@test "leak-watch on CPython 3.11 (pyenv, shared libpython): both leaks, at their lines, within 10%" {
    check_leaks "$(patch_of 3.11)"
}

@test "leak-watch on CPython 3.13: both leaks, at their lines, within 10%" {
    check_leaks "$(patch_of 3.13)"
}

# The labelled part of version_run: cpu-sample --labels split charges each
# request's samples to its label.
check_labels() {
    version_run "$1"
    [ -f "$ROOT/build/py-$minor/pyscope/__init__.py" ] ||
        skip "the pyscope extension does not build for CPython $1"
    tail -4 "$p.out"
    [ "$(cat "$p.rc")" -eq 0 ]
    all=$(awk '/;work \(/ { s += $NF } END { print s + 0 }' "$p.folded")
    # (before 3.11 the interpreter's C frames sit between the two)
    a=$(awk '/\[label alpha\];handle \([^;]*v[0-9.]*\.py:[0-9]+\);([^;(]*;)*work \(/ { s += $NF } END { print s + 0 }' "$p.folded")
    b=$(awk '/\[label beta\];handle \([^;]*v[0-9.]*\.py:[0-9]+\);([^;(]*;)*work \(/ { s += $NF } END { print s + 0 }' "$p.folded")
    echo "CPython $1: work() $all samples: $a under alpha, $b under beta"
    [ "$all" -ge 100 ]
    [ $(( (a + b) * 100 )) -ge $(( all * 95 )) ]
    [ $(( a * 100 )) -ge $(( all * 50 )) ]
    [ $(( b * 100 )) -ge $(( all * 20 )) ]
}

@test "labels on CPython 3.8: each request's samples under its own label" {
    check_labels "$(patch_of 3.8)"
}

@test "labels on CPython 3.9: each request's samples under its own label" {
    check_labels "$(patch_of 3.9)"
}

@test "labels on CPython 3.10: each request's samples under its own label" {
    check_labels "$(patch_of 3.10)"
}

@test "labels on CPython 3.11 (pyenv, shared libpython): each request's samples under its own label" {
    check_labels "$(patch_of 3.11)"
}

@test "labels on CPython 3.12: each request's samples under its own label" {
    check_labels "$(patch_of 3.12)"
}

@test "labels on CPython 3.13: each request's samples under its own label" {
    check_labels "$(patch_of 3.13)"
}
