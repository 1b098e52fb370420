#!/usr/bin/env bats
# The command line every tool shares (scripts/lib/cli.sh) and the pyscope
# front command: each case is refused or reaches the target check on this
# machine, before any guest boots (the tools' real runs, with these flags,
# are in cpu_sample.bats, leak_watch.bats, refcount_watch.bats and the
# attach scenarios).
load helpers

setup() {
    cd "$ROOT"
    SO=$(ls "$ROOT"/build/ext/refbug.cpython-311-*.so)
    NOPID=999999999
}

# tool NAME ARGS...: the tool with the arguments it needs besides the
# shared ones (refcount-watch needs its object and function)
tool() {
    t=$1; shift
    case "$t" in
        refcount-watch) "$ROOT/scripts/$t.sh" --watch checksum --type tuple --module "$SO" "$@" ;;
        *) "$ROOT/scripts/$t.sh" "$@" ;;
    esac
}

# one line from the tool, a non-zero exit, and the line matches
one_line() {   # REGEX TOOL ARGS...
    re=$1; shift
    run tool "$@"
    echo "$output"
    [ "$status" -ne 0 ]
    [ "${#lines[@]}" -eq 1 ]
    echo "${lines[0]}" | grep -qE "^$1: $re" || { echo "wanted: $re"; false; }
}

@test "every tool: long forms, --name=value, attached short values and a bare PID mean what the short forms mean" {
    for t in cpu-sample leak-watch refcount-watch py-top; do
        one_line "no process with PID $NOPID" "$t" -p "$NOPID"
        one_line "no process with PID $NOPID" "$t" --pid "$NOPID"
        one_line "no process with PID $NOPID" "$t" --pid="$NOPID"
        one_line "no process with PID $NOPID" "$t" "-p$NOPID"
        one_line "no process with PID $NOPID" "$t" "$NOPID"
        one_line "no process with PID $NOPID" "$t" "$NOPID" --duration=5 --output "$BATS_TEST_TMPDIR/x"
        run tool "$t" --verbose "$NOPID"
        [ "$status" -ne 0 ]
        echo "$output" | grep -qE "^$t: +[0-9]+ ms: built$" || { echo "verbose: $output"; false; }
        [ "${lines[${#lines[@]} - 1]}" = "$t: no process with PID $NOPID" ]
        one_line "-d needs a whole number, got 'soon'" "$t" "$NOPID" --duration soon
        one_line "-d needs a whole number, got '1e3'" "$t" "$NOPID" -d1e3
        one_line "command not found: no-such-program" "$t" --cmd 'no-such-program x'
        one_line "command not found: no-such-program" "$t" --cmd='no-such-program x'
        one_line "give -p PID or -c CMD, not both" "$t" "$NOPID" -c "$PY -c pass"
        one_line "unexpected argument '12': PID $NOPID was given already" "$t" "$NOPID" 12
        one_line "unexpected argument 'x.py'" "$t" x.py
        one_line "unknown option '--bogus' \(try -h\)" "$t" "$NOPID" --bogus
        one_line "--vm takes no value, got '--vm=1'" "$t" "$NOPID" --vm=1
        one_line "--duration needs a value \(try -h\)" "$t" "$NOPID" --duration
        one_line "-p needs a process ID, got '-1'" "$t" --pid=-1
    done
    # -F99 and --rate=99: accepted (the target check comes next); bad rates not
    one_line "no process with PID $NOPID" cpu-sample -F99 "$NOPID"
    one_line "no process with PID $NOPID" cpu-sample --rate=999 --stack=python --labels join "$NOPID"
    one_line "-F needs a whole number, got 'fast'" cpu-sample --rate fast "$NOPID"
    one_line "-F must be 1..10000, got 20000" cpu-sample -F20000 "$NOPID"
    one_line "--stack must be merged, python or native, got 'weird'" cpu-sample --stack weird "$NOPID"
    # --mode, the former name of --stack, still works
    one_line "--stack must be merged, python or native, got 'weird'" cpu-sample --mode=weird "$NOPID"
    one_line "-i must be 1..3600, got 0" leak-watch --interval=0 "$NOPID"
    one_line "--top must be 1..1000, got 5000" leak-watch --top 5000 "$NOPID"
    one_line "--top must be 0..1000, got 5000" cpu-sample --top=5000 "$NOPID"
}

@test "every tool: -o must name files in a directory that can be written, checked before anything runs" {
    for t in cpu-sample leak-watch refcount-watch py-top; do
        one_line "-o needs a file name prefix, got an empty one" "$t" -c "$PY -c pass" -o ""
        one_line "-o needs a file name prefix, not a directory \('$BATS_TEST_TMPDIR/'\); e.g. -o $BATS_TEST_TMPDIR/profile" \
            "$t" -c "$PY -c pass" -o "$BATS_TEST_TMPDIR/"
        one_line "-o needs a file name prefix, not a directory" "$t" -c "$PY -c pass" --output=.
        one_line "cannot write /nonexistent/dir/x.\*: no directory /nonexistent/dir" "$t" -c "$PY -c pass" -o /nonexistent/dir/x
        # not writable even for root (access(2) alone would say yes to
        # root on many file systems): tried by creating a file
        one_line "cannot write /proc/x.\*: /proc is not writable" "$t" -c "$PY -c pass" -o /proc/x
    done
    # nothing was left behind by the write checks
    [ -z "$(ls -A "$BATS_TEST_TMPDIR")" ]
}

@test "every tool: PYSCOPE_* settings are checked like flags" {
    for t in cpu-sample leak-watch refcount-watch py-top; do
        PYSCOPE_ALLOC_SAMPLE=abc one_line "PYSCOPE_ALLOC_SAMPLE must be a number of bytes \(0: sampling off\), got 'abc'" "$t" -c "$PY -c pass"
        PYSCOPE_ALLOC_SEED=-3 one_line "PYSCOPE_ALLOC_SEED must be a whole number, got '-3'" "$t" -c "$PY -c pass"
        PYSCOPE_GUEST_CLOCK=fast one_line "PYSCOPE_GUEST_CLOCK must be wall or icount, got 'fast'" "$t" -c "$PY -c pass"
        PYSCOPE_GUEST_MEM=2G one_line "PYSCOPE_GUEST_MEM must be MiB, a whole number, got '2G'" "$t" -c "$PY -c pass"
        PYSCOPE_VERBOSE=yes one_line "PYSCOPE_VERBOSE must be 0 or 1, got 'yes'" "$t" -c "$PY -c pass"
    done
}

@test "every tool's -h shows the shared flags with their long forms" {
    for t in cpu-sample leak-watch refcount-watch py-top; do
        run "$ROOT/scripts/$t.sh" --help
        [ "$status" -eq 0 ]
        echo "$output" | head -n 1 | grep -q "^usage: $t.sh (-p PID | PID | -c CMD)"
        for f in '-p, --pid PID' '-c, --cmd CMD' '-d, --duration SECONDS' '-o, --output PREFIX' \
                '-v, --verbose' '-h, --help' '--vm, --host' '--dry-run'; do
            echo "$output" | grep -qE -- "^  $f" || { echo "$t: missing '$f'"; false; }
        done
        echo "$output" | grep -q "^  $t.sh --pid=1234 " ||
            echo "$output" | grep -q "^  $t.sh -p 1234 " || { echo "$t: no example with a PID"; false; }
    done
    "$ROOT/scripts/cpu-sample.sh" -h | grep -qE '^  -F, --rate HZ'
    "$ROOT/scripts/leak-watch.sh" -h | grep -qE '^  -i, --interval SECONDS'
}

# Every example of the tools' -h texts, the pyscope front command's, the
# README's and the docs pages' code blocks, one a line (continuation lines
# joined, comments dropped), with scripts/ in front.
examples() {
    for t in cpu-sample.sh leak-watch.sh refcount-watch.sh py-top.sh pyscope; do
        "$ROOT/scripts/$t" -h | sed -n '/^examples:/,$p' | sed 1d
    done | sed 's/^ *//' |
        awk '{ if (sub(/\\$/, "")) { buf = buf $0; next } print buf $0; buf = "" }' |
        sed -e 's,^\(cpu-sample\.sh\|leak-watch\.sh\|refcount-watch\.sh\|py-top\.sh\|pyscope\) ,scripts/\1 ,' \
            -e 's/ *# .*$//'
    cat "$ROOT/README.md" "$ROOT"/docs/*.md |
        awk '/^```/ { inb = !inb; next } inb' |
        awk '{ if (sub(/\\$/, "")) { buf = buf $0; next } print buf $0; buf = "" }' |
        sed 's/^ *//' |
        grep -E '^scripts/(cpu-sample\.sh|leak-watch\.sh|refcount-watch\.sh|py-top\.sh|pyscope) ' |
        sed 's/ *# .*$//'
}

@test "every example of the -h texts, the README and the docs runs as written (--dry-run; its PID a live one)" {
    "$PY" -c 'import time; time.sleep(600)' &
    live=$!
    examples > "$BATS_TEST_TMPDIR/examples"
    cat "$BATS_TEST_TMPDIR/examples"
    # each tool's, and the front command's
    for t in cpu-sample leak-watch refcount-watch py-top pyscope; do
        grep -q "^scripts/$t[ .]" "$BATS_TEST_TMPDIR/examples" || { echo "no example of $t"; false; }
    done
    n=0
    while IFS= read -r ex; do
        line=$(printf '%s\n' "$ex" | sed "s/\b1234\b/$live/g")
        out=$(cd "$ROOT" && sh -c "$line --dry-run" 2> "$BATS_TEST_TMPDIR/err") ||
            { echo "failed: $line"; cat "$BATS_TEST_TMPDIR/err"; kill "$live"; false; }
        echo "$out" | tail -n 1 | grep -q '^pyscope-run ' ||
            { echo "no run printed: $line"; kill "$live"; false; }
        n=$((n + 1))
    done < "$BATS_TEST_TMPDIR/examples"
    kill "$live"
    echo "$n examples"
    [ "$n" -ge 15 ]
}

@test "--dry-run prints the run: pyscope-run and stap's arguments, each word one argument" {
    run "$ROOT/scripts/cpu-sample.sh" --dry-run -c "$PY -c 'print(1)'" -F 250 -d 3 --stack python -o "$BATS_TEST_TMPDIR/it's"
    echo "$output"
    [ "$status" -eq 0 ]
    last=${lines[${#lines[@]} - 1]}
    # read back by the shell as the words the tool would run
    eval "set -- $last"
    [ "$1" = pyscope-run ] && [ "$2" = -c ] && [ "$3" = "$PY -c 'print(1)'" ] && [ "$4" = -- ]
    for w in "$@"; do [ "$w" != "$ROOT/scripts/cpu-sample.stp" ] || found=1; done
    [ "${found:-0}" = 1 ]
    [ "$(eval "echo \${$(($# - 1))}")" = 1 ]       # --stack python
    [ "$(eval "echo \${$#}")" = 0 ]                # no --wall
    echo "$last" | grep -q ' -G pyscope_duration_s=3 '
    echo "$last" | grep -q " $ROOT/scripts/cpu-sample.stp 4000000 0 1 0\$"
    # --wall is the script's 4th argument
    run "$ROOT/scripts/cpu-sample.sh" --dry-run -c "$PY -c 'print(1)'" --wall -o "$BATS_TEST_TMPDIR/w"
    [ "$status" -eq 0 ]
    echo "${lines[${#lines[@]} - 1]}" | grep -q " $ROOT/scripts/cpu-sample.stp 10101010 0 0 1\$"
    # nothing was written
    [ -z "$(ls -A "$BATS_TEST_TMPDIR")" ]
}

@test "pyscope: one command over the tools (record, leaks, refcount, run)" {
    P=$ROOT/scripts/pyscope
    run "$P" -h
    [ "$status" -eq 0 ]
    for c in record top leaks refcount run dump; do
        echo "$output" | grep -qE "^  $c  " || { echo "missing $c"; false; }
    done
    # each subcommand is its tool: the same help, the same checks
    [ "$("$P" record -h)" = "$("$ROOT/scripts/cpu-sample.sh" -h)" ]
    [ "$("$P" leaks --help)" = "$("$ROOT/scripts/leak-watch.sh" --help)" ]
    [ "$("$P" top -h)" = "$("$ROOT/scripts/py-top.sh" -h)" ]
    [ "$("$P" refcount -h)" = "$("$ROOT/scripts/refcount-watch.sh" -h)" ]
    [ "$("$P" run -h)" = "$("$ROOT/scripts/pyscope-run" -h)" ]
    run "$P" record --pid="$NOPID"
    [ "$status" -ne 0 ]; [ "$output" = "cpu-sample: no process with PID $NOPID" ]
    run "$P" leaks "$NOPID"
    [ "$status" -ne 0 ]; [ "$output" = "leak-watch: no process with PID $NOPID" ]
    # through a symbolic link elsewhere, as make install links it
    ln -s "$P" "$BATS_TEST_TMPDIR/pyscope"
    ( cd / && "$BATS_TEST_TMPDIR/pyscope" refcount -h | grep -q '^usage: refcount-watch.sh' )
    run "$P" profile
    [ "$status" -ne 0 ]; [ "${#lines[@]}" -eq 1 ]
    [ "$output" = "pyscope: unknown command 'profile': record, top, leaks, refcount, run or dump (try -h)" ]
    run "$P"
    [ "$status" -eq 2 ]; echo "$output" | grep -q '^usage: pyscope COMMAND'
}

@test "demo.sh -h explains itself and runs nothing" {
    run "$ROOT/scripts/demo.sh" -h
    [ "$status" -eq 0 ]
    # the help alone: nothing installed, built or sampled
    [ "$output" = "$("$ROOT/scripts/demo.sh" --help)" ]
    echo "$output" | head -n 1 | grep -q '^usage: demo.sh$'
    ! echo "$output" | grep -qE "^(Reading|Building|make|cpu-sample)" || false
    run "$ROOT/scripts/demo.sh" --bogus
    [ "$status" -ne 0 ]; [ "$output" = "demo.sh: unknown argument '--bogus' (try -h)" ]
}

# ---- temporary files: a private directory, gone on every exit path ----

# A sleep of our own: a live process that is no Python.
start_sleep() {
    sleep 300 </dev/null >/dev/null 2>&1 &
    SLEEP_PID=$!
    # (until the forked shell has become sleep)
    for _ in $(seq 100); do
        [ "$(readlink "/proc/$SLEEP_PID/exe")" = "$(readlink -f "$(command -v sleep)")" ] && return 0
        sleep 0.05
    done
}

# early_fails TOOL-ARGS...: the command fails, in one line, and leaves
# nothing in the fresh, empty TMPDIR $T
early_fails() {
    run env TMPDIR="$T" "$@" </dev/null
    echo "$*: status $status: $output"
    [ "$status" -ne 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [ -z "$(ls -A "$T")" ] || { ls -lA "$T"; false; }
}

@test "every tool: an early failure is one line, a non-zero exit, and nothing left in TMPDIR" {
    T=$BATS_TEST_TMPDIR/tmp
    mkdir "$T"
    start_sleep
    S=$ROOT/scripts
    RW="--watch checksum --type tuple --module $SO"
    for t in cpu-sample leak-watch py-top refcount-watch; do
        extra=""
        [ "$t" != refcount-watch ] || extra=$RW
        # shellcheck disable=SC2086
        {
            early_fails "$S/$t.sh" $extra --bogus
            early_fails "$S/$t.sh" $extra -p "$NOPID"
            early_fails "$S/$t.sh" $extra
            early_fails "$S/$t.sh" $extra -p abc
            early_fails "$S/$t.sh" $extra -d soon -p "$NOPID"
            # a process that is no Python (--dry-run: this check comes
            # before any module, on a kernel that loads none too)
            early_fails "$S/$t.sh" $extra --dry-run -p "$SLEEP_PID"
            [[ "$output" == *"which is not a CPython interpreter" ]]
            early_fails "$S/$t.sh" $extra --dry-run -c "sleep 1"
            [[ "$output" == *"which is not a CPython interpreter" ]]
        }
    done
    early_fails "$S/py-stack.sh" --bogus
    early_fails "$S/py-stack.sh" -p "$NOPID"
    early_fails "$S/py-stack.sh"
    early_fails "$S/py-stack.sh" --dry-run -p "$SLEEP_PID"
    [[ "$output" == *"which is not a CPython interpreter" ]]
    early_fails "$S/pyscope" record --bogus
    early_fails "$S/pyscope" leaks -p "$NOPID"
    early_fails "$S/pyscope" nonsense
    # pyscope-run: cases refused before a module or a guest is involved
    # (an unknown option would be stap's: not tried here)
    early_fails "$S/pyscope-run"
    early_fails "$S/pyscope-run" -p abc -- -e 'probe begin { exit() }'
    early_fails "$S/pyscope-run" -T soon -- -e 'probe begin { exit() }'
    early_fails "$S/pyscope-run" -c true -p 1 -- -e 'probe begin { exit() }'
    early_fails "$S/pyscope-run" --out-dir /nonexistent --no-stap -c true
    # with pyscope's tapsets the target is checked first (and refused: no
    # Python, or no loadable modules here)
    early_fails "$S/pyscope-run" -p "$SLEEP_PID" -- -I "$ROOT/tapsets" -e 'probe begin { exit() }'
    # host mode: the private directory is made before the module, and
    # removed when the process is gone before it
    early_fails "$S/pyscope-run" --host -p "$NOPID" -- -e 'probe begin { exit() }'
    kill "$SLEEP_PID"
}

# interrupted CMD...: start CMD (TMPDIR $T, PATH with $B first), wait for
# $MARK (it is in the middle of its work), send it SIGNAL; it must end
# with 128 + the signal's number and leave nothing in $T.  CMD starts with
# HUP, INT and TERM at their defaults: a shell cannot trap a signal that
# was ignored when it started (as HUP is under nohup), and a background
# job starts with INT ignored.
interrupted() {   # SIGNAL STATUS CMD...
    sig=$1 want=$2
    shift 2
    rm -f "$MARK"
    PATH="$B:$PATH" TMPDIR="$T" /usr/bin/python3 -c 'import os, signal, sys
for s in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM):
    signal.signal(s, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' "$@" </dev/null >/dev/null 2>"$BATS_TEST_TMPDIR/interrupted.err" &
    p=$!
    for _ in $(seq 600); do [ -e "$MARK" ] && break; sleep 0.05; done
    [ -e "$MARK" ] || { kill "$p"; echo "$*: never got there"; false; }
    kill "-$sig" "$p"
    rc=0
    wait "$p" || rc=$?
    echo "$* ($sig): status $rc"
    [ "$rc" -eq "$want" ]
    [ -z "$(ls -A "$T")" ] || { ls -lA "$T"; false; }
}
# the one line a tool that writes files says then
says_nothing_written() {
    cat "$BATS_TEST_TMPDIR/interrupted.err"
    [ "$(grep -c . "$BATS_TEST_TMPDIR/interrupted.err")" -eq 1 ]
    grep -q ': interrupted: nothing written$' "$BATS_TEST_TMPDIR/interrupted.err"
}

@test "every tool: TERM or HUP in the middle of the target check leaves nothing in TMPDIR, and says so in one line" {
    T=$BATS_TEST_TMPDIR/tmp B=$BATS_TEST_TMPDIR/bin MARK=$BATS_TEST_TMPDIR/mark
    mkdir "$T" "$B"
    # a pyenv shim as the command: the check asks `pyenv which`, which is
    # ours and takes its time
    printf '#!/bin/sh\n# a pyenv shim\nexit 1\n' >"$B/python3.11"
    printf '#!/bin/sh\n: > "%s"\nsleep 1\nexit 1\n' "$MARK" >"$B/pyenv"
    chmod +x "$B/python3.11" "$B/pyenv"
    for t in cpu-sample leak-watch py-top refcount-watch; do
        extra=""
        [ "$t" != refcount-watch ] || extra="--watch checksum --type tuple --module $SO"
        # shellcheck disable=SC2086
        {
            interrupted TERM 143 "$ROOT/scripts/$t.sh" $extra --dry-run -c "$B/python3.11 app.py"
            says_nothing_written
            interrupted HUP 129 "$ROOT/scripts/$t.sh" $extra --dry-run -c "$B/python3.11 app.py"
            says_nothing_written
        }
    done
}

@test "layout-stpm.sh: an error, TERM or HUP leaves no pyscope-layout.* directory" {
    T=$BATS_TEST_TMPDIR/tmp B=$BATS_TEST_TMPDIR/build MARK=$BATS_TEST_TMPDIR/mark
    mkdir "$T" "$B"
    L=$ROOT/scripts/lib/layout-stpm.sh
    # not CPython: one line, exit 1
    run env TMPDIR="$T" PYSCOPE_CACHE="$BATS_TEST_TMPDIR/cache" "$L" "$(readlink -f "$(command -v sleep)")"
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *"is not a CPython interpreter"* ]]
    [ -z "$(ls -A "$T")" ]
    # a signal while it reads the ELF file (a slow pyscope-offsets)
    printf '#!/bin/sh\n: > "%s"\nsleep 1\nexit 1\n' "$MARK" >"$B/pyscope-offsets"
    chmod +x "$B/pyscope-offsets"
    export PYSCOPE_BUILD=$B PYSCOPE_CACHE=$BATS_TEST_TMPDIR/cache
    interrupted TERM 143 "$L" "$PY"
    interrupted HUP 129 "$L" "$PY"
}

@test "layout-stpm.sh: the interpreter's path stays data: a */ in it cannot end the comment" {
    # a directory name an unprivileged user can make: with */ the path
    # would close the header comment, and what follows would be stap
    # source of the macro file
    d="$BATS_TEST_TMPDIR/a*/@define py_off_code_name %( 0 %)/*"
    mkdir -p "$d"
    cp "$PY" "$d/python3.11"
    PYSCOPE_CACHE=$BATS_TEST_TMPDIR/cache PYSCOPE_QUIET=1 \
        "$ROOT/scripts/lib/layout-stpm.sh" "$d/python3.11" >"$BATS_TEST_TMPDIR/l.stpm"
    # one comment, closed at the end of its fourth line; the path whole
    # in the string of @pyscope_python alone
    [ "$(head -n 4 "$BATS_TEST_TMPDIR/l.stpm" | grep -o '\*/' | wc -l)" -eq 1 ]
    head -n 4 "$BATS_TEST_TMPDIR/l.stpm" | tail -n 1 | grep -q ' \*/$'
    grep -qF "@define pyscope_python %( \"$d/python3.11\" %)" "$BATS_TEST_TMPDIR/l.stpm"
    [ "$(grep -c '^@define py_off_code_name ' "$BATS_TEST_TMPDIR/l.stpm")" -eq 1 ]
    # stap itself reads it as macros only (its parser alone: -p1, when
    # stap and kernel headers are here)
    k=$(ls /lib/modules/*/build/Makefile 2>/dev/null | head -n 1 | cut -d/ -f4)
    if command -v stap >/dev/null && [ -n "$k" ]; then
        mkdir "$BATS_TEST_TMPDIR/ts"
        cp "$BATS_TEST_TMPDIR/l.stpm" "$BATS_TEST_TMPDIR/ts/pyscope_layout.stpm"
        run stap -p1 -r "$k" -I "$BATS_TEST_TMPDIR/ts" -e 'probe begin { println(@pyscope_python) }'
        echo "$output"
        [ "$status" -eq 0 ]
    fi
}

# A tree of pyscope in which the run is a stand-in (scripts/pyscope-run
# writes a fixed record stream) and the report waits for a signal: what a
# second Ctrl-C while the report is written does, without SystemTap.
# fake_tree DIR STREAM: the tree in DIR (PYSCOPE_ROOT), its build products
# in DIR/build (PYSCOPE_BUILD), the real ones but for the report tools,
# which mark $MARK and wait before they run
fake_tree() {
    d=$1 stream=$2
    mkdir -p "$d/build"
    cp -r "$ROOT/scripts" "$d/"
    ln -s "$ROOT/tapsets" "$d/tapsets"
    : > "$d/INSTALLED"
    for f in "$ROOT"/build/*; do ln -s "$f" "$d/build/"; done
    for r in pyscope-report pyscope-leak; do
        rm "$d/build/$r"
        # (leak-watch's reader follows the stream from the start, until
        # the file after --follow says the run is over)
        cat > "$d/build/$r" <<EOT
#!/bin/sh
done=""
prev=""
for a in "\$@"; do [ "\$prev" != --follow ] || done=\$a; prev=\$a; done
while [ -n "\$done" ] && [ ! -e "\$done" ]; do sleep 0.05; done
: > "$MARK"
sleep 30
exec "$ROOT/build/$r" "\$@"
EOT
        chmod +x "$d/build/$r"
    done
    # the run: the stream, into the file after --data
    cat > "$d/scripts/pyscope-run" <<EOT
#!/bin/sh
while [ \$# -gt 0 ] && [ "\$1" != --data ]; do shift; done
cp "$stream" "\$2"
EOT
}

@test "a Ctrl-C while the report is written, or a report tool that fails, keeps the run's records whole; after the Ctrl-C one line says how to write the report from them" {
    T=$BATS_TEST_TMPDIR/tmp MARK=$BATS_TEST_TMPDIR/mark
    mkdir "$T"
    # a profile's stream: a thread, one Python frame, 3 samples
    printf 'V\t1\tcpu-sample\nT\t100\tpython3.11\t100\nC\t1000\twork\t/srv/app.py\t3\nL\t1000\t10\t4\n' > "$BATS_TEST_TMPDIR/cpu.raw"
    for _ in 1 2 3; do printf 'S\t100\tok\tp1000:10 \n' >> "$BATS_TEST_TMPDIR/cpu.raw"; done
    printf 'X\tperiod_ns\t10101010\nX\tend_reason\t3\n' >> "$BATS_TEST_TMPDIR/cpu.raw"
    # a leak watch's stream: one snapshot, 4096 bytes in 2 blocks at a line
    printf 'V\t1\tleak-watch\nI\tmode\ttrace\nI\tinterval_ms\t1000\nC\t1000\twork\t/srv/app.py\t3\nL\t1000\t10\t4\nK\t0\tm[stack-table-full]\nK\t1\tp1000:10 \nA\t1000\t1\t4096\t2\nE\t1000\t2\t0\t0\t0\nX\tfinal_reason\t3\n' > "$BATS_TEST_TMPDIR/leak.raw"
    for t in cpu leak; do
        fake_tree "$BATS_TEST_TMPDIR/$t-tree" "$BATS_TEST_TMPDIR/$t.raw"
    done
    for t in cpu leak; do
        rm -f "$MARK"
        case $t in
            cpu) tool=cpu-sample ;;
            leak) tool=leak-watch ;;
        esac
        o=$BATS_TEST_TMPDIR/$t-out/p
        mkdir -p "${o%/*}"
        # its own process group, as a terminal's foreground job: Ctrl-C
        # is an INT to the group
        PYSCOPE_ROOT=$BATS_TEST_TMPDIR/$t-tree PYSCOPE_BUILD=$BATS_TEST_TMPDIR/$t-tree/build \
            PYSCOPE_CACHE=$BATS_TEST_TMPDIR/cache TMPDIR=$T /usr/bin/python3 -c 'import os, signal, sys
for s in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM):
    signal.signal(s, signal.SIG_DFL)
os.setsid()
os.execvp(sys.argv[1], sys.argv[1:])' "$BATS_TEST_TMPDIR/$t-tree/scripts/$tool.sh" \
            -c "$PY $ROOT/examples/busy.py" -o "$o" \
            </dev/null >"$BATS_TEST_TMPDIR/$t.out" 2>"$BATS_TEST_TMPDIR/$t.err" &
        p=$!
        for _ in $(seq 600); do [ -e "$MARK" ] && break; sleep 0.05; done
        [ -e "$MARK" ] || { kill -- "-$p"; cat "$BATS_TEST_TMPDIR/$t.err"; false; }
        kill -INT -- "-$p"
        rc=0
        wait "$p" || rc=$?
        cat "$BATS_TEST_TMPDIR/$t.err"
        [ "$rc" -eq 130 ]
        # the records, as the run wrote them, and nothing else
        cmp "$BATS_TEST_TMPDIR/$t.raw" "$o.raw"
        [ "$(ls "${o%/*}")" = p.raw ]
        [ -z "$(ls -A "$T")" ]
        # one line says so, with a command that writes the report
        last=$(tail -n 1 "$BATS_TEST_TMPDIR/$t.err")
        echo "$last" | grep -F "$tool: interrupted while writing the report: the run's records are kept in $o.raw ("
        hint=${last##*(}
        hint=${hint% writes the profile from them)}
        hint=${hint% prints the report from them)}
        # (the real report tool, not this tree's waiting one)
        hint=${hint//$BATS_TEST_TMPDIR\/$t-tree\/build/$ROOT\/build}
        eval "$hint" > "$BATS_TEST_TMPDIR/$t.report"
        cat "$BATS_TEST_TMPDIR/$t.report"
        case $t in
            cpu) grep -qx 'python3.11 (tid 100);work (/srv/app.py:4) 3' "$o.folded" ;;
            leak) grep -q 'app.py:4' "$BATS_TEST_TMPDIR/$t.report"
                  grep -q '4096' "$BATS_TEST_TMPDIR/$t.report" ;;
        esac
    done
    # a report tool that fails keeps them too
    for t in cpu leak; do
        case $t in
            cpu) tool=cpu-sample r=pyscope-report ;;
            leak) tool=leak-watch r=pyscope-leak ;;
        esac
        printf '#!/bin/sh\necho "%s: cannot go on" >&2\nexit 1\n' "$r" > "$BATS_TEST_TMPDIR/$t-tree/build/$r"
        o=$BATS_TEST_TMPDIR/$t-failed/p
        mkdir -p "${o%/*}"
        run env PYSCOPE_ROOT="$BATS_TEST_TMPDIR/$t-tree" PYSCOPE_BUILD="$BATS_TEST_TMPDIR/$t-tree/build" \
            PYSCOPE_CACHE="$BATS_TEST_TMPDIR/cache" TMPDIR="$T" \
            "$BATS_TEST_TMPDIR/$t-tree/scripts/$tool.sh" -c "$PY $ROOT/examples/busy.py" -o "$o"
        echo "$output"
        [ "$status" -eq 1 ]
        echo "$output" | grep -qx "$r: cannot go on"
        [ "${lines[-1]}" = "$tool: $r failed$([ $t = leak ] && echo ' (exit 1)'); the run's records are kept in $o.raw" ]
        cmp "$BATS_TEST_TMPDIR/$t.raw" "$o.raw"
        [ "$(ls "${o%/*}")" = p.raw ]
        [ -z "$(ls -A "$T")" ]
    done
}
