#!/usr/bin/env bats
# refcount-watch.sh and the object helpers (tapsets/python_object.stp),
# real runs in the guest against examples/ext/refbug.c.
load helpers

setup() {
    cd "$ROOT"
    SO=$(ls "$ROOT"/build/ext/refbug.cpython-311-*.so)
    SRC=$ROOT/examples/ext/refbug.c
    export PYTHONPATH=$ROOT/build/ext
}

# line number of the Nth line of refbug.c containing TEXT
src_line() {
    grep -n -F -- "$1" "$SRC" | sed -n "${2:-1}p" | cut -d: -f1
}

@test "refcount-watch: the missing Py_DECREF is named by its line, the object never freed" {
    run "$ROOT/scripts/refcount-watch.sh" \
        -c "$PY $ROOT/examples/refbug_demo.py buggy 3" --module "$SO" \
        --type tuple --alloc-in checksum --watch checksum
    echo "$output"
    [ "$status" -eq 0 ]
    new=$(src_line 'PySequence_Tuple(seq);' 1)
    incref=$(src_line 'Py_INCREF(view);' 1)
    drop=$(src_line '/* drops one */' 1)
    # every change, at its line
    echo "$output" | grep -E "^\+1 -> 1  refbug\.c:$new in checksum  allocated: tuple at 0x"
    echo "$output" | grep -E "^\+1 -> 2  refbug\.c:$incref in checksum$"
    echo "$output" | grep -E "^-1 -> 1  refbug\.c:$drop in checksum$"
    # with its merged stack: the C function above the Python caller
    stack=$(echo "$output" | sed -n "/refbug\.c:$incref in checksum\$/,/^[-+]/p")
    echo "$stack" | sed -n 2p | grep -E '^ +checksum$'
    echo "$stack" | grep -E '^ +cfunction_vectorcall_O'
    echo "$stack" | grep -E '^ +main \([^)]*refbug_demo\.py:22\)$'
    ! echo "$output" | grep -q 'python-unmatched' || false
    # the verdict is the last block and starts with "verdict:"
    verdict=$(echo "$output" | sed -n '/^verdict:/,$p')
    echo "$verdict" | head -n 1 | grep -E '^verdict: 1 unbalanced increment .*never freed'
    echo "$verdict" | grep -E '^freed: no$'
    echo "$verdict" | grep -E '^refcount at end: 1 '
    [ "$(echo "$verdict" | sed -n '/^unbalanced increments:/,$p' | sed 1d)" = "  refbug.c:$incref in checksum" ]
    # the target's own output is not mixed into the log
    echo "$output" | grep -E '^buggy 6$'
}

@test "refcount-watch: the fixed function balances and frees the object" {
    run "$ROOT/scripts/refcount-watch.sh" \
        -c "$PY $ROOT/examples/refbug_demo.py fixed 3" --module "$SO" \
        --type tuple --alloc-in checksum_fixed --watch checksum_fixed
    echo "$output"
    [ "$status" -eq 0 ]
    last=$(src_line '/* drops the last */' 1)
    echo "$output" | grep -E "^-1 -> 0  refbug\.c:$last in checksum_fixed  freed$"
    verdict=$(echo "$output" | sed -n '/^verdict:/,$p')
    echo "$verdict" | head -n 1 | grep -E '^verdict: balanced in the watched functions; the object was freed$'
    echo "$verdict" | grep -E "^freed: yes, at refbug\.c:$last in checksum_fixed$"
    echo "$verdict" | grep -E '^unbalanced increments: none$'
}

@test "refcount-watch: no matching object gives a verdict saying so" {
    run "$ROOT/scripts/refcount-watch.sh" \
        -c "$PY $ROOT/examples/refbug_demo.py fixed 1" --module "$SO" \
        --type dict --alloc-in=checksum_fixed --watch checksum_fixed --output "$BATS_TEST_TMPDIR/w"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(echo "$output" | grep -c '^verdict:')" = 1 ]
    echo "$output" | grep -E '^verdict: no dict was allocated under checksum_fixed during the watch$'
    grep -q '^verdict:' "$BATS_TEST_TMPDIR/w.log"
}

@test "refcount-watch: bad input gets one line and a non-zero exit" {
    check() {
        run "$ROOT/scripts/refcount-watch.sh" "$@"
        echo "$output"
        [ "$status" -ne 0 ]
        [ "$(echo "$output" | wc -l)" -eq 1 ]
        echo "$output" | grep -q '^refcount-watch: '
    }
    check --watch checksum --type tuple
    check -c "$PY x.py" --type tuple
    check -c "$PY x.py" --watch checksum
    check -c "$PY x.py" --watch 'check;sum' --type tuple --module "$SO"
    check -c "$PY x.py" --watch checksum --type 'tu ple' --module "$SO"
    check -c "$PY x.py" --watch checksum --type tuple --module /nonexistent.so
    check -c "$PY x.py" --watch no_such_function --type tuple --module "$SO"
    check -c "$PY x.py" --watch checksum --addr 0x1234 --module "$SO"
    check -c "$PY x.py" --watch checksum --type tuple --nth 0 --module "$SO"
    check -c "$PY x.py" --watch checksum --type tuple --module /etc/passwd
    check -p 999999999 --watch checksum --type tuple --module "$SO"
    check 999999999 --watch checksum --type tuple --module "$SO"
    check -c "$PY x.py" --watch checksum.x- --type tuple --module "$SO"
    check -c "$PY x.py" --watch checksum --type tuple --module "$SO" -o ""
}

@test "refcount-watch: -h documents every flag with an example" {
    run "$ROOT/scripts/refcount-watch.sh" -h
    [ "$status" -eq 0 ]
    for f in -p --pid -c --cmd -d --duration -o --output --watch --module --type --alloc-in \
            --nth --addr --vm --host --dry-run -v --verbose -h --help; do
        echo "$output" | grep -qE -- "^  (-[-a-z]+, )?$f( |,|$)" || { echo "missing $f"; false; }
    done
    echo "$output" | grep -q '^examples:'
}

@test "object helpers: README's ad-hoc example shows each object by value" {
    cmd=$(sed -n '/<!-- objects -->/,/<!-- \/objects -->/p' "$ROOT/README.md" |
          sed -e '/^<!--/d' -e '/^```/d')
    [ -n "$cmd" ]
    run bash -c "$cmd"
    echo "$output"
    [ "$status" -eq 0 ]
    echo "$output" | grep -E '^int refcount=[0-9]+ 12345$'
    echo "$output" | grep -E '^int refcount=[0-9]+ -7$'
    echo "$output" | grep -E '^int refcount=[0-9]+ 576460752303423489$'
    echo "$output" | grep -E '^int refcount=[0-9]+ <int of 4 digits>$'
    echo "$output" | grep -E '^float refcount=[0-9]+ 2\.50*$'
    echo "$output" | grep -E '^bool refcount=[0-9]+ True$'
    echo "$output" | grep -E '^NoneType refcount=[0-9]+ None$'
    echo "$output" | grep -E "^str refcount=[0-9]+ 'hello'$"
    echo "$output" | grep -F "str refcount=5 'quote \\\" and \\n newline'" ||
        echo "$output" | grep -E "^str refcount=[0-9]+ 'quote .* and .*n newline'$"
    echo "$output" | grep -E '^bytes refcount=[0-9]+ b"\\0bytes"$'
    echo "$output" | grep -E '^tuple refcount=[0-9]+ tuple\(len=3\)$'
    echo "$output" | grep -E '^list refcount=[0-9]+ list\(len=2\)$'
    echo "$output" | grep -E '^dict refcount=[0-9]+ dict\(len=3\)$'
    echo "$output" | grep -E '^Thing refcount=[0-9]+ <Thing at 0x[0-9a-f]+>$'
    echo "$output" | grep -E '^bad pointer: <invalid 0x10> -1$'
    # the forged objects (their reference counts near 2**30): each cut at
    # a bound or marked, and no error
    F='refcount=107374[0-9]{4}'
    echo "$output" | grep -E "^str $F 'x{40}'\.\.$"
    echo "$output" | grep -E "^str $F <invalid 0x[0-9a-f]+>$"
    echo "$output" | grep -E "^bytes $F b\"y{40}\"\.\.$"
    echo "$output" | grep -E "^bytes $F <bytes of bad size -5 at 0x[0-9a-f]+>$"
    echo "$output" | grep -E "^int $F <int of 1099511627776 digits>$"
    echo "$output" | grep -E "^list $F <list of bad size -1 at 0x[0-9a-f]+>$"
    [ "$(echo "$output" | grep -cE "^<invalid 0x[0-9a-f]+> $F <invalid 0x[0-9a-f]+>$")" = 2 ]
    ! echo "$output" | grep -E '^(ERROR|WARNING)' || false
    # no newline of the target's text leaked into a line of ours
    [ "$(echo "$output" | grep -c '^str ')" = 4 ]
}
