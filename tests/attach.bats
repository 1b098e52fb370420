#!/usr/bin/env bats
# Attaching to processes that are already running, on a machine whose
# kernel loads modules: the QEMU guest.  One guest boot runs
# tests/attach/debian.sh, which starts each target first and then runs
# pyscope's own tools against its PID, in host mode, exactly as a user on
# such a server would; their modules come from the module cache, compiled
# on this machine for the guest's kernel (the runner's compile service).
# The tests below assert on what those runs wrote.
load helpers

# every binary a tool puts uprobes on is copied to tmpfs in the guest
# before the targets start (uprobes cannot be registered on 9p files)
bind_copies() {
    for f in /usr/bin/python3.11 /lib/x86_64-linux-gnu/libc.so.6 \
        "$ROOT"/build/py/pyscope/_pyscope.cpython-311-*.so \
        "$ROOT"/build/libpyscope-alloc.so "$ROOT"/build/ext/refbug.cpython-311-*.so; do
        printf -- '--bind-copy\n%s\n' "$(readlink -f "$f")"
    done
}

setup_file() {
    export O="$BATS_FILE_TMPDIR/out"
    mkdir -p "$O"
    # the container's root, with its own interpreter at /opt/py/bin, made
    # here so that this machine (the compile service) sees its files too:
    # the interpreter, its libraries and standard library, the example
    # (hard links where the file system allows)
    export CTR="$BATS_FILE_TMPDIR/ctr"
    mkdir -p "$CTR/opt/py/bin" "$CTR/app/examples" "$CTR/usr/lib"
    cp -p /usr/bin/python3.11 "$CTR/opt/py/bin/python3"
    for l in $(ldd /usr/bin/python3.11 | awk '$3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
        f=$(readlink -f "$l")
        mkdir -p "$CTR$(dirname "$f")"
        cp -al "$f" "$CTR$f" 2>/dev/null || cp -a "$f" "$CTR$f"
        # and its soname, as a link beside it
        [ "${l##*/}" = "${f##*/}" ] || ln -sf "${f##*/}" "$CTR$(dirname "$f")/${l##*/}"
    done
    # merged /usr, as on the host: /lib is usr/lib; the loader in /lib64
    ln -s usr/lib "$CTR/lib"
    mkdir -p "$CTR/lib64"
    ln -s /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$CTR/lib64/ld-linux-x86-64.so.2"
    cp -al /usr/lib/python3.11 "$CTR/usr/lib/" 2>/dev/null || cp -a /usr/lib/python3.11 "$CTR/usr/lib/"
    cp "$ROOT/examples/service.py" "$CTR/app/examples/"
    set -- --bind-copy "$CTR/opt/py/bin/python3" \
        --bind-copy "$CTR$(readlink -f /lib/x86_64-linux-gnu/libc.so.6)"
    # plain SystemTap, the way it cross-compiles: stap -p4 here for the
    # guest's kernel (the README's own script), staprun -x there
    krel=$(ls /lib/modules | sort -V | tail -n 1)
    script=$(sed -n '/<!-- plainstap -->/,/<!-- \/plainstap -->/p' "$ROOT/README.md" |
        sed -n "s/^ *-e '\(.*\)'\$/\1/p")
    ( cd "$BATS_FILE_TMPDIR" &&
      stap -p4 -r "/lib/modules/$krel/build" -R "$("$ROOT/scripts/pyscope-run" --print-runtime)" \
          -I "$ROOT/tapsets" -d /usr/bin/python3.11 -m plainstap -e "$script" ) \
        > "$BATS_FILE_TMPDIR/plainstap.log" 2>&1
    export PLAINKO="$BATS_FILE_TMPDIR/plainstap.ko"
    # the hostile-memory extension (tests/hostile), built here for the
    # guest's python3.11
    export HOSTILE="$BATS_FILE_TMPDIR/hostile"
    ( cd "$ROOT/tests/hostile" && /usr/bin/python3.11 setup.py -q build_ext \
          --build-lib "$HOSTILE" --build-temp "$BATS_FILE_TMPDIR/hostile-tmp" ) \
        > "$BATS_FILE_TMPDIR/hostile.log" 2>&1
    # an installed pyscope (two of the scenario's cases run it), its fixed
    # SystemTap runtime made here, once, as its first run on a server would
    export INST="$BATS_FILE_TMPDIR/inst"
    make -s -C "$ROOT" install PREFIX="$INST" > "$BATS_FILE_TMPDIR/install.log" 2>&1 &&
        "$INST/bin/pyscope-run" --print-runtime >> "$BATS_FILE_TMPDIR/install.log" 2>&1
    while IFS= read -r a; do set -- "$@" "$a"; done <<EOF
$(bind_copies)
EOF
    rc=0
    "$ROOT/scripts/pyscope-run" --no-stap -T 2400 --out-dir "$O" "$@" \
        -c "env PYSCOPE_ROOT_DIR=$ROOT CTR=$CTR PLAINKO=$PLAINKO INST=$INST HOSTILE=$HOSTILE sh $ROOT/tests/attach/debian.sh" \
        > "$BATS_FILE_TMPDIR/scenario.log" 2>&1 || rc=$?
    echo "$rc" > "$BATS_FILE_TMPDIR/scenario.rc"
}

SVC=examples/service.py
line_of() { grep -n -F -- "$2" "$ROOT/$1" | head -n 1 | cut -d: -f1; }
show() { cat "$BATS_FILE_TMPDIR/scenario.log"; echo "--- $1:"; cat "$O/$1/out" 2>/dev/null | tail -n "${2:-30}"; }
# FILE's first Python frame is "NAME (.../examples/service.py:LINE)" for a
# NAME that service.py defines
innermost_is_service_function() {
    first=$(grep -m 1 -E '^[^ ]+ \([^)]*:[0-9]+\)$' "$1")
    echo "innermost: $first"
    name=$(printf '%s\n' "$first" | sed -n 's/^\([A-Za-z_][A-Za-z_0-9]*\) ([^)]*examples\/service\.py:[0-9]*)$/\1/p')
    [ -n "$name" ] && grep -q "^def $name(" "$ROOT/examples/service.py"
}

@test "attach: the scenario ran in the guest" {
    cat "$BATS_FILE_TMPDIR/scenario.log"
    [ "$(cat "$BATS_FILE_TMPDIR/scenario.rc")" -eq 0 ]
}

@test "attach cpu-sample -p: the interpreter already runs: the hot line, no sample without Python state" {
    show cpu
    [ "$(cat "$O/cpu/rc")" -eq 0 ]
    work=$(line_of $SVC 'total += i * i % 7')
    share=$(folded_share "$O/cpu/p.folded" ";work \\([^;]*examples/service\\.py:$work\\)")
    echo "work at service.py:$work: $share%"
    [ "$share" -ge 50 ]
    # every sample of the (one-thread) target had its Python state
    grep -E '^pyscope: [0-9]+ samples \(ok [0-9]+, no python state 0, read faults 0\)' "$O/cpu/out"
    grep -q 'the run ended after [0-9.]* s: the duration (-d) was reached' "$O/cpu/out"
}

@test "attach timing: a cold attach compiles (on the host), a cached one loads the module; -v says when" {
    show cpu_cold 12
    grep -q 'compiled on the host in [0-9]* ms' "$O/cpu_cold/out"
    grep -q 'module from the cache in [0-9]* ms' "$O/cpu/out"
    ! grep -q 'compiled' "$O/cpu/out" || false
    grep -E 'cpu-sample: +[0-9]+ ms:|pyscope-run: +[0-9]+ ms:|after the start' "$O/cpu_cold/out" "$O/cpu/out"
    cold=$(sed -n 's/.*first sample \([0-9]*\) ms after the start/\1/p' "$O/cpu_cold/out")
    cached=$(sed -n 's/.*first sample \([0-9]*\) ms after the start/\1/p' "$O/cpu/out")
    # reported (for the README), not judged: the guest is emulated
    echo "time to first sample in the guest: cold $cold ms, cached $cached ms" >&3
    [ -n "$cold" ] && [ -n "$cached" ]
}

@test "attach: frame labels of a process that imported pyscope before the tool" {
    show cpu 5
    for l in req-0 req-1 req-2; do
        grep -q "\\[label $l\\];handle (" "$O/cpu/p.folded"
    done
    r0=$(folded_share "$O/cpu/p.folded" '\[label req-0\];')
    r2=$(folded_share "$O/cpu/p.folded" '\[label req-2\];')
    echo "req-0 $r0%, req-2 $r2% (req-2 does three times the work)"
    [ "$r2" -gt $((r0 * 2)) ]
}

@test "attach leak-watch PID: sampled mode chosen by itself; the leaking line leads" {
    show leak_sampled
    [ "$(cat "$O/leak_sampled/rc")" -eq 0 ]
    grep -q '^mode: sampled' "$O/leak_sampled/p.txt"
    leak=$(line_of $SVC '# LEAK')
    sed -n '/^Top groups by growth/,/^$/p' "$O/leak_sampled/p.txt" | sed -n 3p |
        grep -q "examples/service.py:$leak\$"
    [ "$(row_growth growth "service.py:$leak" "$O/leak_sampled/p.txt")" -gt 0 ]
    grep -q '^last snapshot: at [0-9.]* s, when the duration (-d) ended' "$O/leak_sampled/p.txt"
}

@test "attach leak-watch -p: trace mode for a process without pyscope; the leaking line leads" {
    # the chroot's service (G) imports no pyscope
    show ctr_leak
    [ "$(cat "$O/ctr_leak/rc")" -eq 0 ]
    grep -q '^mode: trace' "$O/ctr_leak/p.txt"
    leak=$(line_of $SVC '# LEAK')
    sed -n '/^Top groups by growth/,/^$/p' "$O/ctr_leak/p.txt" | sed -n 3p |
        grep -q "examples/service.py:$leak\$"
    # bytes(10000) objects: the growth is a whole number of them
    g=$(row_growth growth "service.py:$leak" "$O/ctr_leak/p.txt")
    echo "growth $g bytes"
    [ "$g" -ge 10000 ]
}

@test "attach refcount-watch -p --addr: the object id() printed, the line that never gave its reference back" {
    show refcount 20
    [ "$(cat "$O/refcount/rc")" -eq 0 ]
    incref=$(grep -n -F 'Py_INCREF(view);' "$ROOT/examples/ext/refbug.c" | head -n 1 | cut -d: -f1)
    addr=$(sed -n 's/^refbug //p' "$O/A.log")
    grep -q "^object: object at $addr, allocated at before the watch" "$O/refcount/w.log"
    grep -E '^verdict: [0-9]+ unbalanced increments? in the watched functions; the object was never freed' "$O/refcount/w.log"
    # each call leaks the reference taken at Py_INCREF(view), and only that
    sed -n '/^unbalanced increments:/,$p' "$O/refcount/w.log" | sed 1d > "$BATS_TEST_TMPDIR/unb"
    cat "$BATS_TEST_TMPDIR/unb"
    [ -s "$BATS_TEST_TMPDIR/unb" ]
    ! grep -v "refbug\\.c:$incref in checksum" "$BATS_TEST_TMPDIR/unb" || false
}

@test "attach pyscope-run -p with an ad-hoc tapset script" {
    show tapset
    [ "$(cat "$O/tapset/rc")" -eq 0 ]
    # the main thread's stack: innermost a function of service.py (where
    # the sample fell: work, handle, remember...), then main
    innermost_is_service_function "$O/tapset/out"
    grep -E "^main \\([^)]*examples/service\\.py:[0-9]+\\)" "$O/tapset/out"
}

@test "attach with plain SystemTap: the README's script, stap -p4 here, staprun -x in the guest" {
    cat "$BATS_FILE_TMPDIR/plainstap.log"
    [ -s "$PLAINKO" ]
    cat "$O/plain/out" "$O/plain.out"
    [ "$(cat "$O/plain/rc")" -eq 0 ]
    innermost_is_service_function "$O/plain.out"
    grep -E "^main \([^)]*examples/service\.py:[0-9]+\)" "$O/plain.out"
}

@test "attach: 50 threads, two busy: samples where there is CPU, no error" {
    show threads 20
    [ "$(cat "$O/threads/rc")" -eq 0 ]
    [ "$(cat "$O/threads/nthreads")" -ge 50 ]
    ! grep -qi 'error\|warning' "$O/threads/out" || false
    w=$(grep ';spin_worker (' "$O/threads/p.folded" | sed -n 's/^python3\.11 (tid \([0-9]*\)).*/\1/p' | sort -u)
    m=$(grep ';main (' "$O/threads/p.folded" | grep -v spin_worker | sed -n 's/^python3\.11 (tid \([0-9]*\)).*/\1/p' | sort -u)
    echo "spin_worker tid: $w, main tid: $m"
    [ "$(echo "$w" | wc -w)" -eq 1 ] && [ "$(echo "$m" | wc -w)" -eq 1 ] && [ "$w" != "$m" ]
    # the 48 idle threads took no sample
    [ "$(sed -n 's/^python3\.11 (tid \([0-9]*\)).*/\1/p' "$O/threads/p.folded" | sort -u | wc -l)" -le 3 ]
}

@test "attach to a process in a root of its own (a chroot): its files through its root, its stacks and leaks" {
    show ctr_cpu 12
    [ "$(cat "$O/ctr_cpu/rc")" -eq 0 ]
    grep -q "CPython 3.11.2 (/opt/py/bin/python3): offsets from" "$O/ctr_cpu/out"
    grep -q "PID $(cat "$O/G.pid") runs in a root of its own: its files are read through $CTR" "$O/ctr_cpu/out"
    work=$(line_of $SVC 'total += i * i % 7')
    share=$(folded_share "$O/ctr_cpu/p.folded" "PyEval_EvalCode;.*;work \\([^;]*examples/service\\.py:$work\\)")
    echo "work at service.py:$work, under the native frames: $share%"
    [ "$share" -ge 50 ]
    show ctr_leak 12
    [ "$(cat "$O/ctr_leak/rc")" -eq 0 ]
    sed -n '/^Top groups by growth/,/^$/p' "$O/ctr_leak/p.txt" | sed -n 3p |
        grep -q "examples/service.py:$(line_of $SVC '# LEAK')\$"
}

@test "attach: the live view (pyscope top, not on a terminal) prints a table a refresh naming the busy thread's function, and the last one when the run ends" {
    show top 30
    [ "$(cat "$O/top/rc")" -eq 0 ]
    # 3 s at 500 ms: several refreshes, then the run's end
    [ "$(grep -c '^--- refresh [0-9]*$' "$O/top/out")" -ge 3 ]
    grep -qx -- '--- the run ended' "$O/top/out"
    # the last table: spin_worker, with its hot line, among the top rows
    sed -n '/^--- the run ended$/,$p' "$O/top/out" > "$BATS_TEST_TMPDIR/last"
    # (its time is work()'s: its hot line is the line that calls work, or
    # its loop's, where its own samples fell)
    sw=$(line_of $SVC 'def spin_worker')
    hot=$(sed -n 's/^ *[0-9.]* *[0-9.]* *[0-9]* *\([0-9]*\)  spin_worker (.*service\.py)$/\1/p' "$BATS_TEST_TMPDIR/last")
    echo "spin_worker at service.py:$sw, hot line: $hot"
    [ "$hot" -eq $((sw + 1)) ] || [ "$hot" -eq $((sw + 2)) ]
    grep -E '^pyscope top: PID [0-9]+ - [1-9][0-9]* samples in ' "$BATS_TEST_TMPDIR/last"
    # the stream was kept (-o) and holds those samples
    grep -q '^S' "$O/top/p.raw"
}

# The threads and idle cases ran pyscope as `make install` puts it: the
# checks here are of the installed tree itself.
@test "attach with an installed pyscope (make install): links on PATH, a tree that names no checkout and is not written; make uninstall" {
    cat "$BATS_FILE_TMPDIR/install.log"
    [ -f "$INST/lib/pyscope/INSTALLED" ]
    for t in pyscope-cpu-sample pyscope-leak-watch pyscope-refcount-watch pyscope-py-stack \
            pyscope-py-top pyscope-run pyscope; do
        [ -L "$INST/bin/$t" ] && [ -x "$INST/bin/$t" ]
    done
    # those cases ran it, and it worked (their own tests check the output)
    [ "$(cat "$O/threads/rc")" -eq 0 ] && [ -s "$O/threads/p.folded" ]
    # what the tools read names the installed runtime, never the checkout
    # (the example outputs and DWARF of the binaries aside)
    grep -q "\"$INST/lib/pyscope/build/py/pyscope/_pyscope\." "$INST/lib/pyscope/tapsets/pyscope_runtime.stpm"
    ! grep -rIl -F "$ROOT" "$INST" --exclude='*_example.txt' || false
    # the runs wrote nothing into the installed tree (looked at in the
    # guest, whose writes stay there)
    cat "$O/installed.written"
    [ -f "$O/installed.written" ] && [ ! -s "$O/installed.written" ]
    # a link into the tree works from anywhere (the checkout's scripts did
    # not: they looked for lib/common.sh beside the link)
    ( cd / && PATH="$INST/bin:$PATH" pyscope-leak-watch -h | grep -q '^usage: leak-watch' )
    ( cd / && PATH="$INST/bin:$PATH" pyscope leaks -h | grep -q '^usage: leak-watch' )
    make -s -C "$ROOT" uninstall PREFIX="$INST"
    [ -z "$(find "$INST" ! -type d)" ]
}

# The attach itself runs a few milliseconds in the target (SystemTap's task
# finder wakes it to report its threads and mappings: measured 3.8 ms of
# CPU and 2 context switches on a process asleep in time.sleep), so a
# sample or two can land there.  Either way the user is told it was idle.
@test "attach to an idle process: one line saying so, nothing written" {
    show idle
    # besides the notes saying what runs (interpreter, sampling), one line
    grep -v -e '^cpu-sample: CPython ' -e '^cpu-sample: sampling ' -e '^cpu-sample: starting the probes' \
        "$O/idle/out" > "$BATS_TEST_TMPDIR/idle"
    if [ "$(cat "$O/idle/rc")" -ne 0 ]; then
        [ "$(wc -l < "$BATS_TEST_TMPDIR/idle")" -eq 1 ]
        grep -E -q 'no samples: PID [0-9]* (ran on no CPU during the run \(idle\)|was almost idle \([0-9]+ ms of CPU\); try a longer -d or a higher -F); nothing written' "$BATS_TEST_TMPDIR/idle"
        ! ls "$O"/idle/p.* 2>/dev/null || false
    else
        # the attach's own samples: a handful, in the target's one Python
        # frame (asleep in time.sleep), and said so
        grep -q 'PID [0-9]* was almost idle: [1-3] samples, [0-9]* ms of CPU during the run; the profile says little' "$O/idle/out"
        [ "$(folded_total "$O/idle/p.folded")" -le 3 ]
        [ "$(folded_total "$O/idle/p.folded")" -eq "$(awk '/;<module> \(<string>/ { s += $NF } END { print s + 0 }' "$O/idle/p.folded")" ]
    fi
}

@test "attach: the target killed during a leak watch: the whole report, saying so" {
    show exit_leak
    [ "$(cat "$O/exit_leak/rc")" -eq 0 ]
    for f in txt csv folded raw; do [ -s "$O/exit_leak/p.$f" ]; done
    grep -q '^last snapshot: at [0-9.]* s, when the process had exited' "$O/exit_leak/p.txt"
    leak=$(line_of $SVC '# LEAK')
    grep -q "examples/service.py:$leak\$" "$O/exit_leak/p.txt"
}

@test "attach: Ctrl-C during a profile writes every file, and says it was interrupted" {
    show interrupt
    for f in folded svg raw; do [ -s "$O/interrupt/p.$f" ]; done
    grep -q 'the run ended after [0-9.]* s: interrupted' "$O/interrupt/out"
    xmllint --noout "$O/interrupt/p.svg"
    grep -q ';work (' "$O/interrupt/p.folded"
}

@test "attach: Ctrl-C before the first sample: one line saying nothing was written, or every file; no module left" {
    show interrupt_early
    rc=$(cat "$O/interrupt_early/rc")
    if [ "$rc" -eq 130 ]; then
        tail -n 1 "$O/interrupt_early/out" | grep -E '^cpu-sample: interrupted( before the first sample)?: nothing written$'
        ! ls "$O"/interrupt_early/p.* 2>/dev/null || false
    else
        # the probes were quicker than the signal: a whole, short profile
        [ "$rc" -eq 0 ]
        grep -q 'the run ended after [0-9.]* s: interrupted' "$O/interrupt_early/out"
        for f in folded svg raw; do [ -s "$O/interrupt_early/p.$f" ]; done
        xmllint --noout "$O/interrupt_early/p.svg"
    fi
    ! grep -E '^(ERROR|Traceback)' "$O/interrupt_early/out" || false
    [ ! -s "$O/interrupt_early/modules" ]
}

@test "attach: bad input (not Python, a target gone before the probes start): one line, no files" {
    show not_python
    [ "$(cat "$O/not_python/rc")" -ne 0 ]
    [ "$(wc -l < "$O/not_python/out")" -eq 1 ]
    grep -q 'not a CPython interpreter' "$O/not_python/out"
    ! ls "$O"/not_python/p.* 2>/dev/null || false
    show gone
    [ "$(cat "$O/gone/rc")" -ne 0 ]
    grep -v -e '^leak-watch: CPython ' -e '^leak-watch: trace mode' "$O/gone/out" > "$BATS_TEST_TMPDIR/gone"
    [ "$(wc -l < "$BATS_TEST_TMPDIR/gone")" -eq 1 ]
    grep -E 'no process with PID|exited before the probes could start' "$BATS_TEST_TMPDIR/gone"
    ! ls "$O"/gone/p.* 2>/dev/null || false
}

@test "attach to hostile memory (tests/hostile: a frame cycle, an unmapped caller, garbage code, 2**40-long strings and line table, 100,000 frames): every tool ends, says so with markers, and the target survives" {
    cat "$BATS_FILE_TMPDIR/hostile.log"
    tail -n 3 "$O/H.log"
    # the target ran chain after chain until told to stop, and went on
    # as if untouched
    [ "$(cat "$O/H.rc")" -eq 0 ]
    n=$(sed -n 's/^survived \([0-9]*\)$/\1/p' "$O/H.log")
    [ "${n:-0}" -ge 12 ]
    for c in hostile_stack hostile_cpu hostile_leak; do
        show "$c"
        [ "$(cat "$O/$c/rc")" -eq 0 ]
        # no SystemTap error, let alone the abort of too many
        ! grep -E '^(ERROR|WARNING: Number of errors)|too many errors' "$O/$c/out" || false
    done
    # py-stack read some chain and ended it within its bounds
    grep -E '^  (victim \(|\[truncated\]|\[unreadable frame\]|main \()' "$O/hostile_stack/out"
    [ "$(wc -l < "$O/hostile_stack/out")" -le 200 ]
    # the profile: samples in the crafted frames, the walks cut by the
    # bound (the cycle, the 100,000 frames) and at the unmapped caller
    f="$O/hostile_cpu/p.folded"
    grep -q 'victim (' "$f"
    grep -q '\[truncated\]' "$f"
    grep -q '\[unreadable-frame\]' "$f"
    grep -E '^pyscope: [0-9]+ samples' "$O/hostile_cpu/out"
    # the label walks met the chains too: the chains that end in the
    # real frames reach the painted one
    grep -E '\[label hostile-(wild-string|lying-lines)\]' "$f" | head -n 2
    # the leak watch: its whole report, over stacks read from the chains
    # (each chain keeps one block for good: survivors whatever the moment
    # the watch ends), cut by the bound and at the unmapped caller too
    grep -q 'trace mode' "$O/hostile_leak/out"
    [ -s "$O/hostile_leak/p.txt" ]
    f="$O/hostile_leak/p.folded"
    grep -q 'victim (' "$f"
    grep -q '^\[truncated\];' "$f"
    grep -q '^\[unreadable-frame\];' "$f"
}

@test "attach to real code in hostile shapes (tests/hostile/shapes.py: 10,000 frames deep, 200 idle threads, non-ASCII names and file, a 10,000-character name, generators dying while sampled): py-stack and a profile end, bounded, names intact" {
    tail -n 3 "$O/I.log"
    [ "$(cat "$O/I.rc")" -eq 0 ]
    grep -qx 'ready 205 threads' "$O/I.log"
    grep -qx 'survived 204' "$O/I.log"
    for c in shapes_stack shapes_cpu; do
        show "$c" 5
        [ "$(cat "$O/$c/rc")" -eq 0 ]
        ! grep -E '^(ERROR|WARNING: Number of errors)|too many errors' "$O/$c/out" || false
    done
    q200=$(printf 'q%.0s' $(seq 200))
    # py-stack: every thread, the deep one cut at 128 Python frames, the
    # names as the source spells them, the long one cut at 200 with ".."
    s="$O/shapes_stack/out"
    [ "$(grep -c '^Thread [0-9]' "$s")" -eq 205 ]
    grep -q '^  \[truncated\]$' "$s"
    n=$(grep -c '^  deep (.*shapes\.py:[0-9]*)$' "$s")
    echo "deep frames shown: $n"
    [ "$n" -ge 120 ] && [ "$n" -le 128 ]
    grep -q "^  función_λ (.*/shapes/módulo_ñ\.py:2)\$" "$s"
    grep -q "^  $q200\.\. (<string>:2)\$" "$s"
    # the profile: the same frames, and the generators'
    f="$O/shapes_cpu/p.folded"
    grep -q "función_λ (.*/shapes/módulo_ñ\.py:2)" "$f"
    grep -q ";$q200\.\. (<string>:2)" "$f"
    grep '\[truncated\]' "$f" | grep -q ';deep ('
    # a truncated stack ends at the bound: nothing outside the 128 frames
    # shown (no outer deep(), no native frame) is read or shown, and the
    # run counts them
    ! grep -E '^[^;]*;[^;]+;.*\[truncated\]' "$f" || false
    grep -E '^pyscope: .* [1-9][0-9]* truncated' "$O/shapes_cpu/out"
    grep -q ';churn (' "$f"
    xmllint --noout "$O/shapes_cpu/p.svg"
    grep -E '^pyscope: [0-9]+ samples' "$O/shapes_cpu/out"
}

@test "attach to a target that forks and then execs: the profile and the leak watch end at the exec, whole, and say so; the child is not the target" {
    for t in cpu leak; do
        cat "$O/J_$t.log"
        grep -qx 'child 7' "$O/J_$t.log"
        [ "$(cat "$O/J_$t.rc")" -eq 0 ]
        show "forkexec_$t"
        [ "$(cat "$O/forkexec_$t/rc")" -eq 0 ]
        ! grep -E '^(ERROR|WARNING: Number of errors)|too many errors' "$O/forkexec_$t/out" || false
    done
    grep -q "the run ended after [0-9.]* s: the target process exec'd another program" "$O/forkexec_cpu/out"
    f="$O/forkexec_cpu/p.folded"
    grep -q ';before_fork (' "$f"
    grep -q ';after_fork (' "$f"
    ! grep -q ';in_child (' "$f" || false
    xmllint --noout "$O/forkexec_cpu/p.svg"
    grep -q "when the process exec'd another program" "$O/forkexec_leak/p.txt"
    # what it held at the exec: the last 1,000 strings after_fork() kept
    grep -q "forkexec\.py:$(line_of tests/hostile/forkexec.py 'keep.append(')" "$O/forkexec_leak/p.txt"
    for x in txt csv folded raw; do [ -s "$O/forkexec_leak/p.$x" ]; done
}

@test "attach leaves the target unharmed and nothing behind" {
    cat "$O/A.log" | tail -n 5
    # service A answered its self-check every second, right, through
    # five attaches of four tools
    ! grep -q FAIL "$O/A.log" || false
    n=$(grep -c '^ok ' "$O/A.log")
    echo "$n self-checks"
    [ "$n" -ge 20 ]
    awk '$1 == "ok" { if ($2 != n) exit 1; n++ }' n=0 "$O/A.log"
    # no module, uprobe or temporary file left after the tools
    diff "$O/leftovers.before" "$O/leftovers.after"
    diff "$O/leftovers.before" "$O/cpu/leftovers"
}

@test "attach on this machine (no modules): one clear line, nothing written" {
    [ ! -e /proc/modules ] || skip "this kernel loads modules (the guest tests cover it)"
    python3.11 -c 'import time; time.sleep(60)' &
    p=$!
    run "$ROOT/scripts/cpu-sample.sh" -p "$p" -d 1 -o "$BATS_TEST_TMPDIR/x"
    run2=$("$ROOT/scripts/leak-watch.sh" -p "$p" -d 1 -o "$BATS_TEST_TMPDIR/y" 2>&1; echo "rc=$?")
    kill "$p"
    echo "$output"; echo "$run2"
    [ "$status" -ne 0 ]
    [ "${#lines[@]}" -eq 1 ]
    echo "$output" | grep -q 'needs a kernel that loads modules'
    echo "$run2" | grep -q 'needs a kernel that loads modules'
    echo "$run2" | tail -n 1 | grep -q 'rc=[1-9]'
    [ "$(echo "$run2" | grep -c .)" -eq 2 ]
    ! ls "$BATS_TEST_TMPDIR"/x.* "$BATS_TEST_TMPDIR"/y.* 2>/dev/null || false
}

@test "attach as a user who is not root: one clear line, nothing written" {
    python3.11 -c 'import time; time.sleep(60)' &
    p=$!
    cd "$BATS_TEST_TMPDIR"
    chmod 777 "$BATS_TEST_TMPDIR"
    for tool in cpu-sample leak-watch; do
        run setpriv --reuid=nobody --regid=nogroup --clear-groups \
            "$ROOT/scripts/$tool.sh" -p "$p" -d 1 -o "$BATS_TEST_TMPDIR/$tool"
        echo "$output"
        [ "$status" -ne 0 ]
        [ "${#lines[@]}" -eq 1 ]
        echo "$output" | grep -q "attaching to PID $p needs root"
    done
    run setpriv --reuid=nobody --regid=nogroup --clear-groups \
        "$ROOT/scripts/refcount-watch.sh" -p "$p" --addr 0x1000 --watch checksum -d 1
    echo "$output"
    [ "$status" -ne 0 ] && [ "${#lines[@]}" -eq 1 ]
    echo "$output" | grep -q "attaching to PID $p needs root"
    kill "$p"
    ! ls "$BATS_TEST_TMPDIR"/cpu-sample.* "$BATS_TEST_TMPDIR"/leak-watch.* 2>/dev/null || false
}
