#!/usr/bin/env bats
# The tapsets as a user's own script uses them: a script that calls one
# public function compiles with only the files that function pulls in
# (stap -p4 on this host, for the guest's kernel, as the attach scenario's
# plain-SystemTap case does; no guest).
load helpers

setup_file() {
    krel=$(ls /lib/modules | sort -V | tail -n 1)
    export KBUILD="/lib/modules/$krel/build"
    export STAPRT="$("$ROOT/scripts/pyscope-run" --print-runtime)"
}

compiles() {   # NAME SCRIPT: stap -p4 of SCRIPT alone makes NAME.ko
    ( cd "$BATS_TEST_TMPDIR" &&
      stap -p4 -r "$KBUILD" -R "$STAPRT" -I "$ROOT/tapsets" \
          -d /usr/bin/python3.11 -m "$1" -e "$2" ) > "$BATS_TEST_TMPDIR/$1.log" 2>&1 ||
        { grep -v '^WARNING\|source:\|^ *^' "$BATS_TEST_TMPDIR/$1.log" | tail -n 15; return 1; }
    [ -s "$BATS_TEST_TMPDIR/$1.ko" ]
}

@test "a script of one public function compiles: py_tstate, pyscope_table, the record writers (the hex writer is defined wherever it is used)" {
    # each of these once failed: pyscope_hex used but never defined
    compiles only_tstate 'probe perf.sw.context_switches.sample(1) { if (pid() == target()) printf("%x\n", py_tstate()) }'
    compiles only_table 'probe perf.sw.context_switches.sample(1) { if (pid() == target()) printf("%x\n", pyscope_table()) }'
    compiles only_records 'probe begin { pyscope_records_begin("t"); pyscope_record_native(1, "f", "m"); exit() }'
}
