#!/usr/bin/env bats
# Offsets tables: build/pyscope-offsets (struct offsets from DWARF)
# against the oracle (tests/c/offsets_oracle.c: offsetof/sizeof from each
# CPython's own headers) and against the live interpreter
# (tests/offsets/live_check.py reads its own memory at the table's
# offsets); the committed fallback tables runtime/offsets/tables/3.X.tsv;
# stripped binaries, older DWARF, and bad input.
load helpers

PYENV_VERSIONS=${PYENV_ROOT:-/root/.pyenv}/versions
USAGE="usage: pyscope-offsets [-o FILE] [--debug-file DEBUGFILE] BINARY"

setup_file() {
    cd "$ROOT" || return 1
    make -s -f runtime/offsets/offsets.mk build/pyscope-offsets >&2
}

setup() {
    TOOL=$ROOT/build/pyscope-offsets
    TMP=$BATS_TEST_TMPDIR
}

# The newest pyenv CPython 3.MINOR, or nothing.
pyenv_dir() {
    ls -d "$PYENV_VERSIONS"/3."$1".* 2>/dev/null | sort -V | tail -n 1
}

# Skip (with the reason) unless pyenv has CPython 3.$1 with a shared
# libpython and internal headers; then DIR, LIB, INCLUDE, PYTHON are set.
need_pyenv() {
    DIR=$(pyenv_dir "$1")
    [ -n "$DIR" ] || skip "CPython 3.$1 is not installed ($PYENV_VERSIONS/3.$1.*)"
    LIB=$DIR/lib/libpython3.$1.so.1.0
    INCLUDE=$DIR/include/python3.$1
    PYTHON=$DIR/bin/python3.$1
    [ -f "$LIB" ] || skip "$DIR has no shared libpython (not --enable-shared)"
    [ -d "$INCLUDE/internal" ] || skip "$INCLUDE has no internal/ headers"
}

# The newest pyenv version of 3.11 or later (for the DWARF fixture).
need_pyenv_311_plus() {
    local minor
    for minor in 13 12 11; do
        if [ -n "$(pyenv_dir "$minor")" ]; then
            need_pyenv "$minor"
            MINOR=$minor
            return 0
        fi
    done
    skip "no pyenv CPython 3.11 or newer is installed"
}

# oracle INCLUDE_DIR TABLE: the oracle's table for those headers.
oracle() {
    "$ROOT/tests/offsets/build-oracle.sh" "$1" "$TMP/oracle" &&
        "$TMP/oracle" > "$2"
}

# compare_tables ORACLE TOOL: every oracle key is in the tool's table with
# the same value, the tool has no other key but sym.*, and reported none
# missing.  Prints each difference.
compare_tables() {
    awk -F '\t' '
        FNR == NR { if ($0 !~ /^#/ && NF == 2) want[$1] = $2; next }
        /^# missing / { print "tool: " $0; bad = 1; next }
        /^#/ || NF != 2 { next }
        { got[$1] = $2 }
        END {
            for (k in want) {
                if (!(k in got)) {
                    print "only in the oracle: " k "=" want[k]; bad = 1
                } else if (got[k] != want[k]) {
                    print "differs: " k " tool=" got[k] " oracle=" want[k]
                    bad = 1
                }
            }
            for (k in got)
                if (!(k in want) && k !~ /^sym\./) {
                    print "only in the tool: " k "=" got[k]; bad = 1
                }
            exit bad
        }' "$1" "$2"
}

# value TABLE KEY
value() {
    awk -F '\t' -v k="$2" '$1 == k { print $2; found = 1 } END { exit !found }' "$1"
}

build_id() {
    readelf -n "$1" | sed -n 's/^ *Build ID: *//p'
}

# st_value of a defined symbol, in decimal (readelf's .symtab/.dynsym).
symbol_value() {
    local hex
    hex=$(readelf -Ws "$1" | awk -v s="$2" '$8 == s && $7 != "UND" { print $2; exit }')
    [ -n "$hex" ] && echo $((16#$hex))
}

# The checks shared by every pyenv version: tool on libpython = oracle on
# the headers = what the running interpreter shows.
check_pyenv_version() {
    local minor=$1
    need_pyenv "$minor"

    run "$TOOL" -o "$TMP/tool.tsv" "$LIB"
    echo "$output"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    sed -n 1,3p "$TMP/tool.tsv" > "$TMP/header"
    printf '# pyscope-offsets 1\n# binary %s\n# build-id %s\n' \
        "$LIB" "$(build_id "$LIB")" | diff - "$TMP/header"
    grep -qx "# dwarf $LIB (binary itself)" "$TMP/tool.tsv"

    oracle "$INCLUDE" "$TMP/oracle.tsv"
    compare_tables "$TMP/oracle.tsv" "$TMP/tool.tsv"

    # Facts checked by hand on this machine.
    [ "$(value "$TMP/tool.tsv" version_hex)" = \
      "$("$PYTHON" -c 'import sys; print(sys.hexversion)')" ]
    [ "$(value "$TMP/tool.tsv" free_threaded)" = 0 ]
    [ "$(value "$TMP/tool.tsv" sym._PyRuntime)" = \
      "$(symbol_value "$LIB" _PyRuntime)" ]
    if [ "$minor" -le 11 ]; then
        value "$TMP/tool.tsv" runtime.tstate_current
        [ "$(value "$TMP/tool.tsv" str.ascii_size)" = 48 ]
    else
        ! value "$TMP/tool.tsv" runtime.tstate_current
        [ "$(value "$TMP/tool.tsv" str.ascii_size)" = 40 ]
    fi
    if [ "$minor" -ge 11 ]; then
        [ "$(value "$TMP/tool.tsv" sym.Py_Version)" = \
          "$(symbol_value "$LIB" Py_Version)" ]
        grep -q '^# version-source Py_Version symbol' "$TMP/tool.tsv"
    else
        grep -q "^# version-source .rodata string \"3\\.$minor\\." "$TMP/tool.tsv"
    fi

    run "$PYTHON" "$ROOT/tests/offsets/live_check.py" "$TMP/tool.tsv"
    echo "$output" | grep -v '^ok '
    [ "$status" -eq 0 ]
    [ "$(echo "$output" | grep -c '^ok ')" -ge 35 ]
}

@test "3.8: pyscope-offsets on libpython3.8.so = oracle = live interpreter" {
    check_pyenv_version 8
}

@test "3.9: pyscope-offsets on libpython3.9.so = oracle = live interpreter" {
    check_pyenv_version 9
}

@test "3.10: pyscope-offsets on libpython3.10.so = oracle = live interpreter" {
    check_pyenv_version 10
}

@test "3.11: pyscope-offsets on libpython3.11.so = oracle = live interpreter" {
    check_pyenv_version 11
}

@test "3.12: pyscope-offsets on libpython3.12.so = oracle = live interpreter" {
    check_pyenv_version 12
}

@test "3.13: pyscope-offsets on libpython3.13.so = oracle = live interpreter" {
    check_pyenv_version 13
}

@test "Debian's stripped python3.11: DWARF by build-id = oracle on /usr/include/python3.11 = live" {
    local exe=/usr/bin/python3.11 id debug
    [ -x "$exe" ] || skip "$exe is not installed"
    [ -d /usr/include/python3.11/internal ] || skip "no /usr/include/python3.11/internal (python3.11-dev)"
    id=$(build_id "$exe")
    debug=/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug
    [ -f "$debug" ] || skip "no $debug (install python3.11-dbg)"
    ! readelf -S "$exe" | grep -q '\.debug_info'      # really stripped

    run "$TOOL" "$exe"
    [ "$status" -eq 0 ]
    echo "$output" > "$TMP/tool.tsv"
    grep -qx "# build-id $id" "$TMP/tool.tsv"
    grep -qx "# dwarf $debug (build-id)" "$TMP/tool.tsv"

    oracle /usr/include/python3.11 "$TMP/oracle.tsv"
    compare_tables "$TMP/oracle.tsv" "$TMP/tool.tsv"
    [ "$(value "$TMP/tool.tsv" version_hex)" = \
      "$("$exe" -c 'import sys; print(sys.hexversion)')" ]
    # A fixed-address executable: st_value is the address.
    [ "$(value "$TMP/tool.tsv" sym._PyRuntime)" = "$(symbol_value "$debug" _PyRuntime)" ]

    run "$exe" "$ROOT/tests/offsets/live_check.py" "$TMP/tool.tsv"
    echo "$output" | grep -v '^ok '
    [ "$status" -eq 0 ]
}

@test "stripped copy of a libpython: --debug-file ORIGINAL gives its table; a wrong one is refused" {
    need_pyenv_311_plus
    local copy=$TMP/libpython3.$MINOR.so.1.0 other
    objcopy --strip-debug "$LIB" "$copy"
    ! readelf -S "$copy" | grep -q '\.debug_info'

    "$TOOL" -o "$TMP/original.tsv" "$LIB"
    run "$TOOL" -o "$TMP/copy.tsv" --debug-file "$LIB" "$copy"
    echo "$output"
    [ "$status" -eq 0 ]
    grep -qx "# dwarf $LIB (--debug-file)" "$TMP/copy.tsv"
    diff <(grep -v '^#' "$TMP/original.tsv") <(grep -v '^#' "$TMP/copy.tsv")
    oracle "$INCLUDE" "$TMP/oracle.tsv"
    compare_tables "$TMP/oracle.tsv" "$TMP/copy.tsv"

    # With every symbol gone too, sym.* come from the debug file's .symtab
    # (and Py_Version's data still from the binary).
    objcopy --strip-all "$LIB" "$TMP/all-stripped.so"
    run "$TOOL" --debug-file "$LIB" "$TMP/all-stripped.so"
    [ "$status" -eq 0 ]
    diff <(grep -v '^#' "$TMP/original.tsv") <(echo "$output" | grep -v '^#')

    # The debug file of another build: refused, by build-id.
    for other in "$PYENV_VERSIONS"/3.*/lib/libpython3.*.so.1.0; do
        [ "$other" != "$LIB" ] && break
    done
    [ "$other" != "$LIB" ] || skip "only one libpython to try as a wrong debug file"
    run "$TOOL" -o "$TMP/wrong.tsv" --debug-file "$other" "$copy"
    echo "$output"
    [ "$status" -eq 1 ]
    [ "$output" = "pyscope-offsets: $other is not the debug file of $copy (build-id $(build_id "$other"), not $(build_id "$copy"))" ]
    [ ! -e "$TMP/wrong.tsv" ]
}

@test "DWARF in a .gnu_debuglink file next to the binary, and compressed DWARF (zlib-gabi, zlib-gnu)" {
    need_pyenv_311_plus
    "$TOOL" -o "$TMP/original.tsv" "$LIB"
    mkdir "$TMP/lib"
    objcopy --only-keep-debug "$LIB" "$TMP/lib/python.debug"
    (cd "$TMP/lib" && objcopy --strip-debug --add-gnu-debuglink=python.debug \
        "$LIB" "$TMP/lib/libpython3.$MINOR.so.1.0")
    run "$TOOL" "$TMP/lib/libpython3.$MINOR.so.1.0"
    [ "$status" -eq 0 ]
    echo "$output" | grep -qx "# dwarf $TMP/lib/python.debug (.gnu_debuglink)"
    diff <(grep -v '^#' "$TMP/original.tsv") <(echo "$output" | grep -v '^#')

    local kind
    for kind in zlib-gabi zlib-gnu; do
        objcopy --compress-debug-sections=$kind "$LIB" "$TMP/$kind.so"
        run "$TOOL" "$TMP/$kind.so"
        [ "$status" -eq 0 ]
        diff <(grep -v '^#' "$TMP/original.tsv") <(echo "$output" | grep -v '^#')
    done
    readelf -S "$TMP/zlib-gnu.so" | grep -q '\.zdebug_info'
}

@test "no DWARF anywhere: one clear line, exit 1, no output file" {
    need_pyenv_311_plus
    local copy=$TMP/libpython3.$MINOR.so.1.0
    objcopy --strip-debug "$LIB" "$copy"
    run "$TOOL" -o "$TMP/out.tsv" "$copy"
    [ "$status" -eq 1 ]
    [ "$output" = "pyscope-offsets: no DWARF for $copy (install its -dbg/-dbgsym package or pass --debug-file)" ]
    [ ! -e "$TMP/out.tsv" ]

    run "$TOOL" --debug-file "$copy" "$copy"
    [ "$status" -eq 1 ]
    [ "$output" = "pyscope-offsets: no DWARF in $copy" ]
}

@test "bad arguments: the usage line on stderr, exit 2" {
    run "$TOOL"
    [ "$status" -eq 2 ] && [ "$output" = "$USAGE" ]
    run "$TOOL" a b
    [ "$status" -eq 2 ] && [ "$output" = "$USAGE" ]
    run "$TOOL" -o
    [ "$status" -eq 2 ] && [ "${lines[1]}" = "$USAGE" ]
    run "$TOOL" --debug-file
    [ "$status" -eq 2 ] && [ "${lines[1]}" = "$USAGE" ]
    run "$TOOL" --no-such-option /bin/true
    [ "$status" -eq 2 ] && [ "${lines[1]}" = "$USAGE" ]
    run "$TOOL" -o "" /bin/true
    [ "$status" -eq 2 ] && [ "$output" = "$USAGE" ]
    run "$TOOL" --help
    [ "$status" -eq 0 ] && [ "$output" = "$USAGE" ]
}

@test "odd input: not ELF, empty, a directory, missing, truncated, no CPython structs: exit 1, one line" {
    need_pyenv_311_plus
    : > "$TMP/empty"
    echo 'not an ELF file' > "$TMP/text"
    mkdir "$TMP/dir"
    head -c 65536 "$LIB" > "$TMP/truncated.so"
    printf 'int main(void) { return 0; }\n' > "$TMP/plain.c"
    cc -g -o "$TMP/plain" "$TMP/plain.c"
    local f
    for f in "$TMP/empty" "$TMP/text" "$TMP/dir" "$TMP/missing" \
             "$TMP/truncated.so" "$TMP/plain"; do
        run "$TOOL" "$f"
        echo "$f: $status: $output"
        [ "$status" -eq 1 ]
        [ "${#lines[@]}" -eq 1 ]
        [[ "$output" == "pyscope-offsets: "* ]]
    done
    run "$TOOL" "$TMP/plain"
    [ "$output" = "pyscope-offsets: the DWARF in $TMP/plain has no CPython structs (for a python executable that uses libpython3.X.so, pass that library)" ]
}

@test "corrupted DWARF, symbols and headers never crash it (40 damaged copies)" {
    need_pyenv_311_plus
    run python3 - "$TOOL" "$LIB" "$TMP/damaged.so" <<'PYEOF'
import random, subprocess, sys
tool, lib, out = sys.argv[1:4]
data = bytes(open(lib, "rb").read())
random.seed(1234)
statuses = set()
for trial in range(40):
    damaged = bytearray(data)
    # Bytes anywhere past the ELF header (DWARF is most of the file),
    # sometimes in the header too.
    for _ in range(random.choice([1, 10, 100, 1000])):
        damaged[random.randrange(64, len(damaged))] = random.randrange(256)
    if trial % 5 == 0:
        damaged[random.randrange(16, 64)] = random.randrange(256)
    with open(out, "wb") as f:
        f.write(damaged)
    r = subprocess.run([tool, out], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=60)
    statuses.add(r.returncode)
    if r.returncode not in (0, 1):
        print("trial", trial, "status", r.returncode, r.stderr[-300:])
        sys.exit(1)
print("statuses", sorted(statuses))
PYEOF
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "older DWARF (2 and 4: DW_AT_bit_offset, location blocks) and DWARF 5 give the oracle's values" {
    need_pyenv_311_plus
    oracle "$INCLUDE" "$TMP/oracle.tsv"
    local v
    for v in 2 4 5; do
        cc -shared -fPIC -g -gdwarf-$v -DPy_BUILD_CORE -I"$INCLUDE" \
            -o "$TMP/libfixture$v.so" "$ROOT/tests/offsets/dwarf_fixture.c"
        run "$TOOL" "$TMP/libfixture$v.so"
        echo "DWARF $v: $output" | grep -E 'version|missing|str\.state' || true
        [ "$status" -eq 0 ]
        echo "$output" > "$TMP/fixture$v.tsv"
        compare_tables "$TMP/oracle.tsv" "$TMP/fixture$v.tsv"
    done
    # The encodings this test is about are really there.
    readelf --debug-dump=info "$TMP/libfixture4.so" | grep -q 'DW_AT_bit_offset'
    ! readelf --debug-dump=info "$TMP/libfixture4.so" | grep -q 'DW_AT_data_bit_offset'
    readelf --debug-dump=info "$TMP/libfixture2.so" | grep -q 'DW_OP_plus_uconst'
    readelf --debug-dump=info "$TMP/libfixture5.so" | grep -q 'DW_AT_data_bit_offset'
}

@test "version without Py_Version: a .rodata string, else the file name, and the source is named" {
    need_pyenv_311_plus
    oracle "$INCLUDE" "$TMP/oracle.tsv"
    cc -shared -fPIC -g -DPy_BUILD_CORE -DFIXTURE_NO_PY_VERSION \
        -DFIXTURE_VERSION_STRING -I"$INCLUDE" -o "$TMP/librodata.so" \
        "$ROOT/tests/offsets/dwarf_fixture.c"
    run "$TOOL" "$TMP/librodata.so"
    [ "$status" -eq 0 ]
    echo "$output" > "$TMP/rodata.tsv"
    grep -E '^# version-source \.rodata string "3\.'"$MINOR"'\.[0-9]+"' "$TMP/rodata.tsv"
    [ "$(value "$TMP/rodata.tsv" version_hex)" = "$(value "$TMP/oracle.tsv" version_hex)" ]
    ! value "$TMP/rodata.tsv" sym.Py_Version

    cc -shared -fPIC -g -DPy_BUILD_CORE -DFIXTURE_NO_PY_VERSION \
        -I"$INCLUDE" -o "$TMP/libpython3.$MINOR.so" \
        "$ROOT/tests/offsets/dwarf_fixture.c"
    run "$TOOL" "$TMP/libpython3.$MINOR.so"
    [ "$status" -eq 0 ]
    echo "$output" > "$TMP/name.tsv"
    grep -qx "# version-source file name libpython3.$MINOR.so (3.$MINOR; micro version and release level unknown)" "$TMP/name.tsv"
    [ "$(value "$TMP/name.tsv" version_hex)" = $(( (3 << 24) | (MINOR << 16) )) ]
}

@test "committed fallback tables: make-tables.sh reproduces every one it can, and they are well-formed" {
    local table committed made=0 minor
    for minor in 8 9 10 11 12 13; do
        [ -f "$ROOT/runtime/offsets/tables/3.$minor.tsv" ]
    done
    run "$ROOT/tests/offsets/make-tables.sh" "$TMP/tables"
    echo "$output"
    [ "$status" -eq 0 ]
    for table in "$TMP"/tables/3.*.tsv; do
        [ -f "$table" ] || continue
        committed=$ROOT/runtime/offsets/tables/${table##*/}
        if [ "$(sed -n 2p "$committed")" = "$(sed -n 2p "$table")" ]; then
            diff "$committed" "$table"      # the same build: byte for byte
        else
            # Another 3.X.Y than the committed table's: the same layout.
            sed -n 2p "$table"
            diff <(grep -v -e '^#' -e '^version_hex' "$committed") \
                 <(grep -v -e '^#' -e '^version_hex' "$table")
        fi
        made=$((made + 1))
    done
    [ "$made" -gt 0 ] || skip "no CPython headers to rebuild the tables from"
    # Every table, also those written by hand for versions not installed:
    # a comment header, then sorted "key<TAB>decimal" lines, keys from
    # keys.tsv only, no sym.* (per ELF file).
    grep -v '^#' "$ROOT/runtime/offsets/keys.tsv" | cut -f 1 > "$TMP/known"
    for table in "$ROOT"/runtime/offsets/tables/3.*.tsv; do
        echo "$table"
        head -n 1 "$table" | grep -q '^# '
        ! grep -q '^sym\.' "$table"
        grep -v '^#' "$table" | LC_ALL=C sort -c
        ! grep -v '^#' "$table" | grep -vqE '^[a-z_.A-Z0-9]+	[0-9]+$'
        ! grep -v '^#' "$table" | cut -f 1 | grep -vxF -f "$TMP/known"
        grep -q '^version_hex	' "$table"
    done
}

@test "committed tables on the live interpreters; Debian 3.11.2 has the 3.11 table's layout" {
    local minor ran=0
    for minor in 8 9 10 11 12 13; do
        DIR=$(pyenv_dir "$minor")
        [ -n "$DIR" ] && [ -x "$DIR/bin/python3.$minor" ] || continue
        run "$DIR/bin/python3.$minor" "$ROOT/tests/offsets/live_check.py" \
            "$ROOT/runtime/offsets/tables/3.$minor.tsv"
        echo "3.$minor:"; echo "$output" | grep -v '^ok '
        [ "$status" -eq 0 ]
        ran=$((ran + 1))
    done
    if [ -d /usr/include/python3.11/internal ]; then
        oracle /usr/include/python3.11 "$TMP/debian.tsv"
        diff <(grep -v -e '^#' -e '^version_hex' "$ROOT/runtime/offsets/tables/3.11.tsv") \
             <(grep -v -e '^#' -e '^version_hex' "$TMP/debian.tsv" | LC_ALL=C sort)
    fi
    [ "$ran" -gt 0 ] || skip "no pyenv CPython to run"
}

@test "keys.tsv: the tool and oracles together produce exactly its keys" {
    local minor
    : > "$TMP/all"
    for minor in 8 9 10 11 12 13; do
        need_pyenv "$minor"
        "$TOOL" "$LIB" >> "$TMP/all"
        oracle "$INCLUDE" "$TMP/o.tsv"
        cat "$TMP/o.tsv" >> "$TMP/all"
    done
    diff <(grep -v '^#' "$ROOT/runtime/offsets/keys.tsv" | cut -f 1 | LC_ALL=C sort) \
         <(grep -v '^#' "$TMP/all" | cut -f 1 | LC_ALL=C sort -u)
}

@test "the checks can fail: one offset off by 8 is caught by compare_tables and live_check" {
    need_pyenv 12
    "$TOOL" -o "$TMP/tool.tsv" "$LIB"
    sed 's/^dict\.ma_used\t16$/dict.ma_used\t24/' "$TMP/tool.tsv" > "$TMP/bad.tsv"
    ! cmp -s "$TMP/tool.tsv" "$TMP/bad.tsv"
    run compare_tables "$TMP/tool.tsv" "$TMP/bad.tsv"
    [ "$status" -eq 1 ]
    [ "$output" = "differs: dict.ma_used tool=24 oracle=16" ]
    run "$PYTHON" "$ROOT/tests/offsets/live_check.py" "$TMP/bad.tsv"
    [ "$status" -eq 1 ]
    echo "$output" | grep -x 'FAIL dict.ma_used: got [0-9]*, want 2'
    echo "$output" | grep -x '1 failed'
}
