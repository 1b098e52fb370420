#!/usr/bin/env bats
# Attaching to pyenv's CPythons (3.8 and 3.12: a shared libpython, loaded
# wherever the process put it) and to a 3.13 whose libpython has no DWARF
# and no symbol table, so that its offsets can only come from the live
# process's _Py_DebugOffsets.  One guest boot runs tests/attach/versions.sh
# (the tools in host mode inside the guest; see tests/attach.bats).
load helpers

setup_file() {
    export O="$BATS_FILE_TMPDIR/out"
    mkdir -p "$O"
    set --
    # a 3.13 with its DWARF hidden: libpython stripped of everything
    v=$(patch_of 3.13)
    if [ -n "$v" ] && [ -x "$PYENV/$v/bin/python3.13" ]; then
        d="$BATS_FILE_TMPDIR/py313"
        mkdir -p "$d/bin" "$d/lib"
        cp "$PYENV/$v/bin/python3.13" "$d/bin/"
        strip --strip-all -o "$d/lib/libpython3.13.so.1.0" "$PYENV/$v/lib/libpython3.13.so.1.0"
        ln -s "$PYENV/$v/lib/python3.13" "$d/lib/python3.13"
        export STRIPPED313=$d
        # a compiled-in table whose frame and thread offsets are all
        # wrong: the profile can only be right if the process's own
        # _Py_DebugOffsets come first
        t="$BATS_FILE_TMPDIR/tables"
        mkdir -p "$t"
        cp "$ROOT"/tools/offsets/tables/*.tsv "$t/"
        awk -F '\t' 'BEGIN { OFS = "\t" }
            $1 ~ /^(tstate|interp|runtime)\./ || $1 ~ /^iframe\.(previous|code|instr|owner)$/ ||
            $1 ~ /^code\.co_/ { $2 += 8 } { print }' \
            "$ROOT/tools/offsets/tables/3.13.tsv" > "$t/3.13.tsv"
        export PYSCOPE_TABLES=$t
    fi
    for m in 3.8 3.12; do
        v=$(patch_of "$m")
        [ -n "$v" ] && [ -f "$PYENV/$v/lib/libpython$m.so.1.0" ] &&
            set -- "$@" --bind-copy "$PYENV/$v/lib/libpython$m.so.1.0"
    done
    rc=0
    "$ROOT/scripts/pyscope-run" --no-stap -T 1800 --out-dir "$O" "$@" \
        --bind-copy /lib/x86_64-linux-gnu/libc.so.6 \
        -c "env PYSCOPE_ROOT_DIR=$ROOT STRIPPED313=${STRIPPED313:-} sh $ROOT/tests/attach/versions.sh" \
        > "$BATS_FILE_TMPDIR/scenario.log" 2>&1 || rc=$?
    echo "$rc" > "$BATS_FILE_TMPDIR/scenario.rc"
}

SVC=examples/service.py
line_of() { grep -n -F -- "$1" "$ROOT/$SVC" | head -n 1 | cut -d: -f1; }
show() { cat "$BATS_FILE_TMPDIR/scenario.log"; echo "--- $1:"; tail -n 25 "$O/$1/out" 2>/dev/null; }
need() {   # need MINOR: skip unless a patch release of it is installed
    v=$(patch_of "$1")
    [ -n "$v" ] && [ -x "$PYENV/$v/bin/python$1" ] || skip "CPython $1 is not installed under $PYENV"
}

check_cpu() {   # check_cpu MINOR FILE-IN-NOTE [python]
    show "cpu-$1"
    [ "$(cat "$O/cpu-$1/rc")" -eq 0 ]
    grep -q "CPython $1\\.[0-9]* ($2): offsets from" "$O/cpu-$1/out"
    work=$(line_of 'total += i * i % 7')
    share=$(folded_share "$O/cpu-$1/p.folded" ";work \\([^;]*examples/service\\.py:$work\\)")
    echo "work at service.py:$work: $share%"
    [ "$share" -ge 50 ]
    grep -E '^pyscope: [0-9]+ samples \(ok [0-9]+, no python state 0, read faults 0\)' "$O/cpu-$1/out"
    if [ "${3:-}" = python ]; then
        # --stack python samples no native frame at all
        ! grep -E 'PyEval|_PyEval_EvalFrameDefault|\[native\]' "$O/cpu-$1/p.folded" || false
        grep -q "^[^;]*;<module> ([^;]*examples/service\.py:[0-9]*);" "$O/cpu-$1/p.folded"
    else
        grep -q "PyEval_EvalCode;.*;work (" "$O/cpu-$1/p.folded"
    fi
}

check_leak() {
    show "leak-$1"
    [ "$(cat "$O/leak-$1/rc")" -eq 0 ]
    grep -q '^mode: trace' "$O/leak-$1/p.txt"
    sed -n '/^Top groups by growth/,/^$/p' "$O/leak-$1/p.txt" | sed -n 3p |
        grep -q "examples/service.py:$(line_of '# LEAK')\$"
}

@test "attach to CPython 3.8 (shared libpython): Python-only stacks (--stack python) with lines" {
    need 3.8
    check_cpu 3.8 "$PYENV/$v/lib/libpython3.8.so.1.0" python
}

@test "attach to CPython 3.12 (shared libpython): merged stacks with lines, and leak-watch" {
    need 3.12
    check_cpu 3.12 "$PYENV/$v/lib/libpython3.12.so.1.0"
    check_leak 3.12
}

@test "attach to CPython 3.13 without DWARF: offsets from the live process's _Py_DebugOffsets (--stack python)" {
    need 3.13
    check_cpu 3.13 "$BATS_FILE_TMPDIR/py313/lib/libpython3.13.so.1.0" python
    grep -q "): offsets from _Py_DebugOffsets (process [0-9]*) ([0-9]* keys)" "$O/cpu-3.13/out"
}
