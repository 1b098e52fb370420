#!/usr/bin/env bats
# 20 attach/detach cycles against one long-running service in the guest
# (tests/attach/cycles.sh says which): the service's own self-check, a
# computation with a known answer printed every second, keeps passing,
# and no module, uprobe or temporary file is left after any detach.
load helpers

setup_file() {
    export O="$BATS_FILE_TMPDIR/out"
    mkdir -p "$O"
    rc=0
    "$ROOT/scripts/pyscope-run" --no-stap -T 1200 --out-dir "$O" \
        --bind-copy /usr/bin/python3.11 --bind-copy /lib/x86_64-linux-gnu/libc.so.6 \
        -c "env PYSCOPE_ROOT_DIR=$ROOT sh $ROOT/tests/attach/cycles.sh" \
        > "$BATS_FILE_TMPDIR/scenario.log" 2>&1 || rc=$?
    echo "$rc" > "$BATS_FILE_TMPDIR/scenario.rc"
}

@test "20 attach/detach cycles: every one ends cleanly and leaves nothing behind" {
    cat "$BATS_FILE_TMPDIR/scenario.log"
    cat "$O/cycles"
    [ "$(cat "$BATS_FILE_TMPDIR/scenario.rc")" -eq 0 ]
    [ "$(grep -c '^cycle [0-9]* rc 0 clean$' "$O/cycles")" -eq 20 ]
    # each staprun cycle really attached: its module wrote records
    for i in $(seq 3 20); do
        [ "$(cat "$O/records.$i")" -gt 0 ] || { echo "cycle $i wrote nothing"; cat "$O/staprun.$i"; false; }
    done
}

@test "20 attach/detach cycles: the service's self-check passed every second, without a gap" {
    tail -n 3 "$O/S.log"
    ! grep -q FAIL "$O/S.log" || false
    awk '$1 == "ok" { if ($2 != n) exit 1; n++ }' n=0 "$O/S.log"
    n=$(grep -c '^ok ' "$O/S.log")
    echo "$n self-checks"
    [ "$n" -ge 30 ]
}
