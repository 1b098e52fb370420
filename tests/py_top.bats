#!/usr/bin/env bats
# py-top.sh, the live view, in a real terminal: tmux runs it against
# examples/busy.py (a real run, in the QEMU guest where the host cannot
# load modules), the test reads the screen (capture-pane) and presses q
# (send-keys).
load helpers

setup_file() {
    command -v tmux >/dev/null || { echo "tmux is not installed (scripts/install-deps.sh)" >&2; return 1; }
}

# (a test that failed half-way leaves no tmux behind)
teardown() { tmux -S "$BATS_TEST_TMPDIR/tmux.sock" kill-server 2>/dev/null || true; }

# The screen of the test's tmux session, as text.
screen() { tmux -S "$SOCK" capture-pane -p -t pt; }

@test "py-top: the hot function shows within 3 refreshes of the first samples; q ends the view and the run, and the terminal is as it was" {
    SOCK="$BATS_TEST_TMPDIR/tmux.sock"
    d=$BATS_TEST_TMPDIR
    # the terminal's modes before and after, and py-top's exit status
    tmux -S "$SOCK" new-session -d -s pt -x 160 -y 60 \
        "stty -g > $d/stty.before; $ROOT/scripts/py-top.sh -c '$PY $ROOT/examples/busy.py 300' --top 40 -o $d/t; echo PYTOP-EXIT=\$? > $d/exit; stty -g > $d/stty.after; sleep 600"
    # wait (bounded: 4 min, for the guest's boot and the module) for a
    # refresh that names the hot function (hot_loop, or the generator
    # expression it runs, by self); count from the first refresh that shows
    # the program's own code running (a frame of busy.py among the 40
    # rows: the interpreter's start-up, slow under emulation, comes first)
    first="" hot="" alt=""
    for _ in $(seq 480); do
        screen > "$d/pane"
        hdr=$(grep -E '^pyscope top: .* - [0-9]+ samples in .* refresh [0-9]+' "$d/pane" | head -n 1)
        if [ -n "$hdr" ]; then
            r=$(echo "$hdr" | sed -E 's/.*refresh ([0-9]+).*/\1/')
            [ -n "$first" ] || ! grep -qE ' \(.*/examples/busy\.py\)$' "$d/pane" || first=$r
            if grep -qE '^ +[0-9.]+ +[0-9.]+ +[0-9]+ +1[0-3] +hot_loop(\.<locals>\.<genexpr>)? \(.*/examples/busy\.py\)$' "$d/pane"; then
                hot=$r
                [ -n "$first" ] || first=$r
                alt=$(tmux -S "$SOCK" display -p -t pt '#{alternate_on}')
                break
            fi
        fi
        [ ! -f "$d/exit" ] || break
        sleep 0.5
    done
    cat "$d/pane"
    echo "first refresh with busy.py running: $first, the hot function shown at refresh: $hot"
    [ -n "$hot" ] && [ -n "$first" ]
    [ "$((hot - first))" -le 2 ]
    # drawn on the alternate screen, the q hint in the header
    [ "$alt" = 1 ]
    grep -q '; q quits$' "$d/pane"
    # q: the view ends, the run ends (busy.py had 300 s to go), the
    # terminal is back: normal screen, same modes, the last table kept
    tmux -S "$SOCK" send-keys -t pt q
    for _ in $(seq 240); do [ -f "$d/stty.after" ] && break; sleep 0.5; done
    screen > "$d/pane"
    cat "$d/pane"
    grep -qx 'PYTOP-EXIT=0' "$d/exit"
    [ "$(tmux -S "$SOCK" display -p -t pt '#{alternate_on}')" = 0 ]
    cmp "$d/stty.before" "$d/stty.after"
    grep -qx -- '--- stopped' "$d/pane"
    grep -qE ' hot_loop(\.<locals>\.<genexpr>)? \(.*/examples/busy\.py\)$' "$d/pane"
    # the run was interrupted, not ended by the target, and kept its stream
    grep -qx 'X	end_reason	3' "$d/t.raw"
    grep -q '^S' "$d/t.raw"
    tmux -S "$SOCK" kill-server
}

@test "py-top: bad input gives one line and a non-zero exit; -h shows every flag" {
    run "$ROOT/scripts/py-top.sh"
    [ "$status" -ne 0 ]; [ "${#lines[@]}" -eq 1 ]
    run "$ROOT/scripts/py-top.sh" -c "$PY -c pass" --interval 5
    [ "$status" -ne 0 ]; [ "${#lines[@]}" -eq 1 ]; echo "$output" | grep -q -- '--interval must be 100..60000'
    run "$ROOT/scripts/py-top.sh" -c "/bin/sleep 1"
    [ "$status" -ne 0 ]; [ "${#lines[@]}" -eq 1 ]; echo "$output" | grep -q 'not a CPython interpreter'
    run "$ROOT/scripts/py-top.sh" -h
    [ "$status" -eq 0 ]
    for f in -p --pid -c --cmd -F --rate -d --duration -o --output --stack --labels --top \
            --interval --vm --host --dry-run -v --verbose -h --help; do
        echo "$output" | grep -qE -- "^  (.*[ ,])?$f([ ,]|$)"
    done
}
