#!/usr/bin/env bats
# Offsets tables: build/pyscope-offsets (struct offsets from DWARF)
# against the oracle (tests/c/offsets_oracle.c: offsetof/sizeof from each
# CPython's own headers) and against the live interpreter
# (tests/offsets/live_check.py reads its own memory at the table's
# offsets); the committed fallback tables tools/offsets/tables/3.X.tsv;
# stripped binaries, older DWARF, and bad input.  The modes without DWARF:
# --elf-only, and --debug-offsets (3.13+'s _Py_DebugOffsets, from the file
# or a live process; 3.14 through a fixture built from
# tools/offsets/tables/3.14-notes.md).
load helpers

PYENV_VERSIONS=${PYENV_ROOT:-/root/.pyenv}/versions
USAGE="usage: pyscope-offsets [-o FILE] [--debug-file DEBUGFILE | --elf-only | --debug-offsets [--pid PID]] BINARY"

setup_file() {
    cd "$ROOT" || return 1
    make -s -f tools/offsets/offsets.mk build/pyscope-offsets >&2
}

setup() {
    TOOL=$ROOT/build/pyscope-offsets
    TMP=$BATS_TEST_TMPDIR
    BG_PID=
}

teardown() {
    if [ -n "$BG_PID" ]; then
        kill "$BG_PID" 2>/dev/null || true
        wait "$BG_PID" 2>/dev/null || true
    fi
}

# start_ready COMMAND...: run COMMAND in the background (BG_PID; teardown
# kills it) and wait until it has printed "ready" (so that it has been
# exec'd and its libraries mapped).
start_ready() {
    "$@" > "$TMP/ready" 3>&- &
    BG_PID=$!
    local i
    for i in $(seq 100); do
        grep -q ready "$TMP/ready" && return 0
        sleep 0.1
    done
    echo "not ready after 10 s: $*"
    return 1
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
# the same value, the tool has no other key but sym.* and elf.*, and
# reported none missing.  Prints each difference.  (Not the const keys of
# keys.tsv: values of the headers, which no DWARF holds; the oracle's
# tables are their source, checked by "committed fallback tables".)
compare_tables() {
    awk -F '\t' '
        FNR == 1 { f++ }
        f == 1 { if ($0 !~ /^#/ && $2 == "const") isconst[$1] = 1; next }
        f == 2 { if ($0 !~ /^#/ && NF == 2 && !($1 in isconst)) want[$1] = $2; next }
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
                if (!(k in want) && k !~ /^(sym|elf)\./) {
                    print "only in the tool: " k "=" got[k]; bad = 1
                }
            exit bad
        }' "$ROOT/tools/offsets/keys.tsv" "$1" "$2"
}

# The keys of a table, one a line, in the table's order.
keys_of() {
    grep -v '^#' "$1" | cut -f 1
}

# agree REFERENCE TABLE: every key the two share has the same value.
# Prints each difference, then "N keys agree".
agree() {
    awk -F '\t' '
        /^#/ || NF != 2 { next }
        FNR == NR { want[$1] = $2; next }
        $1 in want {
            if ($2 != want[$1]) {
                print "differs: " $1 " table=" $2 " reference=" want[$1]
                bad = 1
            } else {
                n++
            }
        }
        END { print n + 0 " keys agree"; exit bad }' "$1" "$2"
}

# The keys --debug-offsets prints for 3.13 and 3.14 (sorted): the ELF
# facts and the _Py_DebugOffsets members that are keys.tsv keys.
DEBUG_OFFSETS_KEYS="bytes.ob_sval code.co_code_adaptive code.co_filename
code.co_firstlineno code.co_linetable code.co_name code.co_qualname elf.exec
float.ob_fval free_threaded iframe.code iframe.instr iframe.owner
iframe.previous interp.next interp.threads_head long.lv_tag long.ob_digit
object.ob_type runtime.interpreters_head str.ascii_size str.length str.state
sym.Py_Version sym._PyRuntime tstate.current_frame tstate.interp
tstate.native_thread_id tstate.next tstate.thread_id type.tp_flags
type.tp_name varobject.ob_size version_hex"

# check_keys TABLE: its keys are DEBUG_OFFSETS_KEYS, in that order.
check_debug_offsets_keys() {
    diff <(echo $DEBUG_OFFSETS_KEYS | tr ' ' '\n') <(keys_of "$1")
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
    [ "$(value "$TMP/tool.tsv" elf.exec)" = 0 ]
    [ "$(value "$TMP/tool.tsv" sym._PyRuntime)" = \
      "$(symbol_value "$LIB" _PyRuntime)" ]
    if [ "$minor" -le 11 ]; then
        value "$TMP/tool.tsv" runtime.tstate_current
        [ "$(value "$TMP/tool.tsv" str.ascii_size)" = 48 ]
    else
        ! value "$TMP/tool.tsv" runtime.tstate_current || false
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
    ! readelf -S "$exe" | grep -q '\.debug_info' || false      # really stripped

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
    [ "$(value "$TMP/tool.tsv" elf.exec)" = 1 ]

    run "$exe" "$ROOT/tests/offsets/live_check.py" "$TMP/tool.tsv"
    echo "$output" | grep -v '^ok '
    [ "$status" -eq 0 ]
}

@test "stripped copy of a libpython: --debug-file ORIGINAL gives its table; a wrong one is refused" {
    need_pyenv_311_plus
    local copy=$TMP/libpython3.$MINOR.so.1.0 other
    objcopy --strip-debug "$LIB" "$copy"
    ! readelf -S "$copy" | grep -q '\.debug_info' || false

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
    [ "$status" -eq 2 ]
    [ "$output" = "$USAGE" ]
    run "$TOOL" a b
    [ "$status" -eq 2 ]
    [ "$output" = "$USAGE" ]
    run "$TOOL" -o
    [ "$status" -eq 2 ]
    [ "${lines[1]}" = "$USAGE" ]
    run "$TOOL" --debug-file
    [ "$status" -eq 2 ]
    [ "${lines[1]}" = "$USAGE" ]
    run "$TOOL" --no-such-option /bin/true
    [ "$status" -eq 2 ]
    [ "${lines[1]}" = "$USAGE" ]
    run "$TOOL" -o "" /bin/true
    [ "$status" -eq 2 ]
    [ "$output" = "$USAGE" ]
    # The modes: one at a time, --pid (a positive decimal) only with
    # --debug-offsets, one BINARY.
    local args
    for args in "--elf-only --debug-offsets" "--elf-only --debug-file /bin/true" \
                "--debug-offsets --debug-file /bin/true" "--pid 1" \
                "--elf-only --pid 1" "--debug-offsets --pid abc" \
                "--debug-offsets --pid 0" "--debug-offsets --pid -5" \
                "--debug-offsets --pid 12x" "--debug-offsets --pid 99999999999" \
                "--debug-offsets --pid" "--elf-only /bin/true" \
                "--debug-offsets --pid 1 /bin/true"; do
        run "$TOOL" $args /bin/true
        echo "$args: $status $output"
        [ "$status" -eq 2 ]
        [ "${lines[${#lines[@]}-1]}" = "$USAGE" ]
    done
    run "$TOOL" --help
    [ "$status" -eq 0 ]
    [ "$output" = "$USAGE" ]
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

@test "corrupted DWARF, symbols and headers never crash it, in any mode (40 damaged copies)" {
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
    for mode in ([], ["--elf-only"], ["--debug-offsets"]):
        r = subprocess.run([tool] + mode + [out], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=60)
        statuses.add(r.returncode)
        if r.returncode not in (0, 1):
            print("trial", trial, mode, "status", r.returncode,
                  r.stderr[-300:])
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
    ! readelf --debug-dump=info "$TMP/libfixture4.so" | grep -q 'DW_AT_data_bit_offset' || false
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
    ! value "$TMP/rodata.tsv" sym.Py_Version || false

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
        [ -f "$ROOT/tools/offsets/tables/3.$minor.tsv" ]
    done
    run "$ROOT/tests/offsets/make-tables.sh" "$TMP/tables"
    echo "$output"
    [ "$status" -eq 0 ]
    for table in "$TMP"/tables/3.*.tsv; do
        [ -f "$table" ] || continue
        committed=$ROOT/tools/offsets/tables/${table##*/}
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
    grep -v '^#' "$ROOT/tools/offsets/keys.tsv" | cut -f 1 > "$TMP/known"
    for table in "$ROOT"/tools/offsets/tables/3.*.tsv; do
        echo "$table"
        head -n 1 "$table" | grep -q '^# '
        ! grep -q '^sym\.' "$table" || false
        grep -v '^#' "$table" | LC_ALL=C sort -c
        ! grep -v '^#' "$table" | grep -vqE '^[a-z_.A-Z0-9]+	[0-9]+$' || false
        ! grep -v '^#' "$table" | cut -f 1 | grep -vxF -f "$TMP/known" || false
        grep -q '^version_hex	' "$table"
    done
}

@test "committed tables on the live interpreters; Debian 3.11.2 has the 3.11 table's layout" {
    local minor ran=0
    for minor in 8 9 10 11 12 13; do
        DIR=$(pyenv_dir "$minor")
        [ -n "$DIR" ] && [ -x "$DIR/bin/python3.$minor" ] || continue
        run "$DIR/bin/python3.$minor" "$ROOT/tests/offsets/live_check.py" \
            "$ROOT/tools/offsets/tables/3.$minor.tsv"
        echo "3.$minor:"; echo "$output" | grep -v '^ok '
        [ "$status" -eq 0 ]
        ran=$((ran + 1))
    done
    if [ -d /usr/include/python3.11/internal ]; then
        oracle /usr/include/python3.11 "$TMP/debian.tsv"
        diff <(grep -v -e '^#' -e '^version_hex' "$ROOT/tools/offsets/tables/3.11.tsv") \
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
    # (a key of 3.14 on only, stackref.tag_bits: no 3.14 headers here; its
    # value is tables/3.14.tsv's)
    diff <(awk -F '\t' '!/^#/ && $3 <= 13 { print $1 }' "$ROOT/tools/offsets/keys.tsv" | LC_ALL=C sort) \
         <(grep -v '^#' "$TMP/all" | cut -f 1 | LC_ALL=C sort -u)
    grep -q '^stackref\.tag_bits	' "$ROOT/tools/offsets/tables/3.14.tsv"
}

@test "keys.tsv: the tapsets' accessors are generated, one a key, and no tapset names a key's macro outside the version layer" {
    # one __py_key_<key>() a key of keys.tsv, returning its @py_<key>
    diff <(awk -F '\t' '!/^#/ && NF { k = $1; gsub(/\./, "_", k); print k }' "$ROOT/tools/offsets/keys.tsv" | LC_ALL=C sort) \
         <(sed -n 's/^function __py_key_\([A-Za-z0-9_]*\):long () { return @py_\1 }$/\1/p' "$ROOT/tapsets/python_keys.stp" | LC_ALL=C sort)
    # the file is what the schema generates now (make keeps it so)
    sh "$ROOT/tools/offsets/gen-keys.sh" tapset "$ROOT/tools/offsets/keys.tsv" | cmp - "$ROOT/tapsets/python_keys.stp"
    # a key's macro is read by its accessor, or by a rule of python_offsets.stp
    keymacros=$(awk -F '\t' '!/^#/ && NF { k = $1; gsub(/\./, "_", k); printf "%s@py_%s\\b", sep, k; sep = "|" }' "$ROOT/tools/offsets/keys.tsv")
    run grep -nE "$keymacros" $(ls "$ROOT"/tapsets/*.stp | grep -v -e '/python_keys.stp$' -e '/python_offsets.stp$')
    echo "$output"
    [ "$status" -eq 1 ]
}

@test "the checks can fail: one offset off by 8 is caught by compare_tables and live_check" {
    need_pyenv 12
    "$TOOL" -o "$TMP/tool.tsv" "$LIB"
    sed 's/^dict\.ma_used\t16$/dict.ma_used\t24/' "$TMP/tool.tsv" > "$TMP/bad.tsv"
    ! cmp -s "$TMP/tool.tsv" "$TMP/bad.tsv" || false
    run compare_tables "$TMP/tool.tsv" "$TMP/bad.tsv"
    [ "$status" -eq 1 ]
    [ "$output" = "differs: dict.ma_used tool=24 oracle=16" ]
    run "$PYTHON" "$ROOT/tests/offsets/live_check.py" "$TMP/bad.tsv"
    [ "$status" -eq 1 ]
    echo "$output" | grep -x 'FAIL dict.ma_used: got [0-9]*, want 2'
    echo "$output" | grep -x '1 failed'
}

@test "--elf-only on a strip --strip-all copy of libpython3.12: the DWARF mode's version_hex and sym.*, elf.exec 0" {
    need_pyenv 12
    local copy=$TMP/libpython3.12.so.1.0
    strip --strip-all -o "$copy" "$LIB"
    ! readelf -S "$copy" | grep -qE '\.symtab|\.debug_info' || false
    readelf -S "$copy" | grep -q '\.dynsym'
    "$TOOL" -o "$TMP/dwarf.tsv" "$LIB"

    run "$TOOL" --elf-only "$copy"
    echo "$output"
    [ "$status" -eq 0 ]
    echo "$output" > "$TMP/elf.tsv"
    printf '# pyscope-offsets 1\n# binary %s\n# build-id %s\n# dwarf none (--elf-only)\n' \
        "$copy" "$(build_id "$LIB")" | diff - <(sed -n 1,4p "$TMP/elf.tsv")
    grep -qx "# version-source Py_Version symbol (8 bytes at 0x$(printf %x \
        "$(symbol_value "$LIB" Py_Version)"))" "$TMP/elf.tsv"
    diff <(printf '%s\n' elf.exec sym.Py_Version sym._PyRuntime version_hex) \
         <(keys_of "$TMP/elf.tsv")
    [ "$(value "$TMP/elf.tsv" elf.exec)" = 0 ]
    [ "$(value "$TMP/elf.tsv" version_hex)" = \
      "$("$PYTHON" -c 'import sys; print(sys.hexversion)')" ]
    [ "$(value "$TMP/elf.tsv" sym._PyRuntime)" = "$(symbol_value "$LIB" _PyRuntime)" ]
    [ "$(value "$TMP/elf.tsv" sym.Py_Version)" = "$(symbol_value "$LIB" Py_Version)" ]
    run agree "$TMP/dwarf.tsv" "$TMP/elf.tsv"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = "4 keys agree" ]
    # The original (symbols from its .symtab) gives the same.
    diff <(grep -v '^#' "$TMP/elf.tsv") <("$TOOL" --elf-only "$LIB" | grep -v '^#')
}

@test "--elf-only on Debian's stripped python3.11 (ET_EXEC): readelf's symbols, its hexversion, elf.exec 1" {
    local exe=/usr/bin/python3.11 id debug
    [ -x "$exe" ] || skip "$exe is not installed"
    ! readelf -S "$exe" | grep -qE '\.symtab|\.debug_info' || false     # .dynsym only
    readelf -h "$exe" | grep -q 'Type: *EXEC'

    run "$TOOL" --elf-only "$exe"
    echo "$output"
    [ "$status" -eq 0 ]
    echo "$output" > "$TMP/elf.tsv"
    grep -qx '# dwarf none (--elf-only)' "$TMP/elf.tsv"
    grep -q '^# version-source Py_Version symbol' "$TMP/elf.tsv"
    diff <(printf '%s\n' elf.exec sym.Py_Version sym._PyRuntime version_hex) \
         <(keys_of "$TMP/elf.tsv")
    [ "$(value "$TMP/elf.tsv" elf.exec)" = 1 ]
    [ "$(value "$TMP/elf.tsv" version_hex)" = \
      "$("$exe" -c 'import sys; print(sys.hexversion)')" ]
    [ "$(value "$TMP/elf.tsv" sym._PyRuntime)" = "$(symbol_value "$exe" _PyRuntime)" ]
    [ "$(value "$TMP/elf.tsv" sym.Py_Version)" = "$(symbol_value "$exe" Py_Version)" ]

    # And what the DWARF mode says, with the debug file found by build-id.
    id=$(build_id "$exe")
    debug=/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug
    [ -f "$debug" ] || skip "no $debug (python3.11-dbg) to compare with the DWARF mode"
    "$TOOL" -o "$TMP/dwarf.tsv" "$exe"
    run agree "$TMP/dwarf.tsv" "$TMP/elf.tsv"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = "4 keys agree" ]
}

@test "--elf-only and --debug-offsets errors: not CPython, a python that uses libpython: exit 1, one line" {
    need_pyenv 13
    printf 'int main(void) { return 0; }\n' > "$TMP/plain.c"
    cc -o "$TMP/plain" "$TMP/plain.c"
    local mode
    for mode in --elf-only --debug-offsets; do
        run "$TOOL" $mode -o "$TMP/out.tsv" "$TMP/plain"
        [ "$status" -eq 1 ]
        [ "$output" = "pyscope-offsets: $TMP/plain is not CPython: no _PyRuntime symbol (in .symtab or .dynsym) and no CPython version" ]
        [ ! -e "$TMP/out.tsv" ]
        run "$TOOL" $mode "$PYTHON"
        [ "$status" -eq 1 ]
        [ "$output" = "pyscope-offsets: $PYTHON has no _PyRuntime symbol (in .symtab or .dynsym; for a python executable that uses libpython3.X.so, pass that library)" ]
        run "$TOOL" $mode "$TMP/missing"
        [ "$status" -eq 1 ]
        [ "$output" = "pyscope-offsets: $TMP/missing: No such file or directory" ]
    done
}

@test "--debug-offsets on libpython3.13 and a strip --strip-all copy: every key = tables/3.13.tsv = the DWARF mode" {
    need_pyenv 13
    local f
    "$TOOL" -o "$TMP/dwarf.tsv" "$LIB"
    strip --strip-all -o "$TMP/copy.so" "$LIB"
    ! readelf -S "$TMP/copy.so" | grep -qE '\.symtab|\.debug_info' || false

    for f in "$LIB" "$TMP/copy.so"; do
        run "$TOOL" --debug-offsets "$f"
        echo "$f: $output"
        [ "$status" -eq 0 ]
        echo "$output" > "$TMP/do.tsv"
        grep -qx "# binary $f" "$TMP/do.tsv"
        grep -qx '# dwarf none (--debug-offsets)' "$TMP/do.tsv"
        grep -qx '# source _Py_DebugOffsets (file)' "$TMP/do.tsv"
        check_debug_offsets_keys "$TMP/do.tsv"
        # All but sym.* and elf.exec are in the committed table.
        run agree "$ROOT/tools/offsets/tables/3.13.tsv" "$TMP/do.tsv"
        echo "$output"
        [ "$status" -eq 0 ]
        [ "$output" = "31 keys agree" ]
        run agree "$TMP/dwarf.tsv" "$TMP/do.tsv"
        echo "$output"
        [ "$status" -eq 0 ]
        [ "$output" = "34 keys agree" ]
    done
    # By hand: tools/offsets/tables/3.14-notes.md section 7.2.
    [ "$(value "$TMP/do.tsv" runtime.interpreters_head)" = 632 ]
    [ "$(value "$TMP/do.tsv" interp.next)" = 7264 ]
    [ "$(value "$TMP/do.tsv" tstate.native_thread_id)" = 160 ]
    [ "$(value "$TMP/do.tsv" iframe.owner)" = 70 ]
    [ "$(value "$TMP/do.tsv" code.co_code_adaptive)" = 200 ]
    [ "$(value "$TMP/do.tsv" version_hex)" = $((0x030d00f0)) ]
}

@test "--debug-offsets --pid on a live 3.13 process: the file's values, at libpython's load base + st_value; /proc/PID/mem fallback" {
    need_pyenv 13
    local address base
    "$TOOL" --debug-offsets -o "$TMP/file.tsv" "$LIB"
    # The pyenv python finds its libpython by its RUNPATH.
    readelf -d "$PYTHON" | grep -q "RUNPATH.*\[$DIR/lib\]"
    start_ready "$PYTHON" -c 'import time; print("ready", flush=True); time.sleep(60)'
    grep -q " $LIB\$" "/proc/$BG_PID/maps"

    run "$TOOL" --debug-offsets --pid "$BG_PID" "$LIB"
    echo "$output"
    [ "$status" -eq 0 ]
    echo "$output" > "$TMP/live.tsv"
    grep -qx "# source _Py_DebugOffsets (pid $BG_PID)" "$TMP/live.tsv"
    diff <(grep -v '^#' "$TMP/file.tsv") <(grep -v '^#' "$TMP/live.tsv")
    check_debug_offsets_keys "$TMP/live.tsv"
    run agree "$ROOT/tools/offsets/tables/3.13.tsv" "$TMP/live.tsv"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = "31 keys agree" ]

    # The address read: libpython's first PT_LOAD (vaddr 0, file offset 0)
    # is mapped at the load base.
    readelf -lW "$LIB" | awk '$1 == "LOAD" { print $2, $3; exit }' |
        grep -qx '0x000000 0x0000000000000000'
    address=$(sed -n 's/^# address 0x\([0-9a-f]*\) (_PyRuntime in process [0-9]*)$/\1/p' "$TMP/live.tsv")
    base=$(awk -v lib="$LIB" '$6 == lib && $3 == "00000000" { split($1, r, "-"); print r[1]; exit }' "/proc/$BG_PID/maps")
    echo "address $address base $base"
    [ -n "$address" ]
    [ -n "$base" ]
    [ $((16#$address)) -eq $((16#$base + $(value "$TMP/live.tsv" sym._PyRuntime))) ]

    # A copy of the library is not what the process mapped.
    strip --strip-all -o "$TMP/copy.so" "$LIB"
    run "$TOOL" --debug-offsets --pid "$BG_PID" "$TMP/copy.so"
    [ "$status" -eq 1 ]
    [ "$output" = "pyscope-offsets: $TMP/copy.so is not mapped in process $BG_PID" ]

    # process_vm_readv refused (strace injects EPERM): /proc/PID/mem.
    command -v strace > /dev/null || skip "no strace to make process_vm_readv fail"
    run strace -qq -o "$TMP/strace" -e trace=process_vm_readv,pread64 \
        -e inject=process_vm_readv:error=EPERM \
        "$TOOL" --debug-offsets --pid "$BG_PID" "$LIB"
    echo "$output"
    [ "$status" -eq 0 ]
    diff <(grep -v '^#' "$TMP/file.tsv") <(echo "$output" | grep -v '^#')
    grep -q '^process_vm_readv(.*= -1 EPERM' "$TMP/strace"
    grep -q '^pread64(.*"xdebugpy' "$TMP/strace"
}

@test "--debug-offsets errors: 3.12, a damaged cookie or version field, no such process: exit 1, one line" {
    need_pyenv 12
    run "$TOOL" --debug-offsets "$LIB"
    [ "$status" -eq 1 ]
    [ "$output" = "pyscope-offsets: $LIB is CPython 3.12: _Py_DebugOffsets exists from 3.13 on" ]

    need_pyenv 13
    local copy=$TMP/bad.so addr offset at pid_max
    # _PyRuntime is the start of the .PyRuntime section: at is its file
    # offset.
    read -r addr offset < <(readelf -SW "$LIB" | sed 's/^ *\[ *[0-9]*\] *//' |
        awk '$1 == ".PyRuntime" { print $3, $4 }')
    [ $((16#$addr)) -eq "$(symbol_value "$LIB" _PyRuntime)" ]
    at=$((16#$offset))

    cp "$LIB" "$copy"
    printf 'xdebugpz' | dd of="$copy" bs=1 seek="$at" conv=notrunc status=none
    run "$TOOL" --debug-offsets -o "$TMP/out.tsv" "$copy"
    [ "$status" -eq 1 ]
    [ "$output" = "pyscope-offsets: $copy (file): no _Py_DebugOffsets: the cookie is \"xdebugpz\", not \"xdebugpy\"" ]
    [ ! -e "$TMP/out.tsv" ]
    printf '\001\377' | dd of="$copy" bs=1 seek="$at" conv=notrunc status=none
    run "$TOOL" --debug-offsets "$copy"
    [ "$status" -eq 1 ]
    [ "$output" = "pyscope-offsets: $copy (file): no _Py_DebugOffsets: the cookie is \"\\x01\\xffebugpz\", not \"xdebugpy\"" ]

    # The version field says 3.12.0, then 3.13.0b2.
    cp "$LIB" "$copy"
    printf '\360\000\014\003' | dd of="$copy" bs=1 seek=$((at + 8)) conv=notrunc status=none
    run "$TOOL" --debug-offsets "$copy"
    [ "$status" -eq 1 ]
    [ "$output" = "pyscope-offsets: $copy (file): _Py_DebugOffsets says version 0x30c00f0, not CPython 3.13 as the ELF file says" ]
    printf '\262\000\015\003' | dd of="$copy" bs=1 seek=$((at + 8)) conv=notrunc status=none
    run "$TOOL" --debug-offsets "$copy"
    [ "$status" -eq 1 ]
    [ "$output" = "pyscope-offsets: $copy (file): _Py_DebugOffsets version 0x30d00b2 is an alpha or beta, whose layout may differ from the 3.13 release's" ]

    # pid_max itself is never a process id.
    pid_max=$(cat /proc/sys/kernel/pid_max)
    [ ! -e "/proc/$pid_max" ]
    run "$TOOL" --debug-offsets --pid "$pid_max" "$LIB"
    [ "$status" -eq 1 ]
    [ "$output" = "pyscope-offsets: no process $pid_max" ]
}

@test "3.14 layout: a fixture made from 3.14-notes.md section 7.3 gives tables/3.14.tsv's values (file; live ET_EXEC and PIE)" {
    local notes=$ROOT/tools/offsets/tables/3.14-notes.md kind f address
    python3 "$ROOT/tests/offsets/debugoffsets_fixture.py" "$notes" 14 "$TMP/fixture.c"
    mkdir "$TMP/exec" "$TMP/pie"
    cc -O0 -no-pie -o "$TMP/exec/python3.14" "$TMP/fixture.c"
    cc -O0 -fPIE -pie -o "$TMP/pie/python3.14" "$TMP/fixture.c"
    cc -O0 -shared -fPIC -o "$TMP/libpython3.14.so.1.0" "$TMP/fixture.c"
    readelf -h "$TMP/exec/python3.14" | grep -q 'Type: *EXEC'
    readelf -h "$TMP/pie/python3.14" | grep -q 'Type: *DYN'

    for f in "$TMP/exec/python3.14" "$TMP/pie/python3.14" "$TMP/libpython3.14.so.1.0"; do
        run "$TOOL" --debug-offsets "$f"
        echo "$f: $output"
        [ "$status" -eq 0 ]
        echo "$output" > "$TMP/do.tsv"
        check_debug_offsets_keys "$TMP/do.tsv"
        # 3.14.10 (the binary the notes' values were read from), not the
        # committed table's 3.14.0.
        [ "$(value "$TMP/do.tsv" version_hex)" = $((0x030e0af0)) ]
        run agree "$ROOT/tools/offsets/tables/3.14.tsv" \
            <(grep -v '^version_hex' "$TMP/do.tsv")
        echo "$output"
        [ "$status" -eq 0 ]
        [ "$output" = "30 keys agree" ]
        [ "$(value "$TMP/do.tsv" runtime.interpreters_head)" = 808 ]
        [ "$(value "$TMP/do.tsv" iframe.owner)" = 74 ]
    done
    [ "$(value "$TMP/do.tsv" elf.exec)" = 0 ]

    # Live: the fixture sets free_threaded to 1 before it says "ready".
    for kind in exec pie; do
        f=$TMP/$kind/python3.14
        "$TOOL" --debug-offsets -o "$TMP/file.tsv" "$f"
        start_ready "$f"
        run "$TOOL" --debug-offsets --pid "$BG_PID" "$f"
        echo "$kind: $output"
        [ "$status" -eq 0 ]
        echo "$output" > "$TMP/live.tsv"
        [ "$(value "$TMP/file.tsv" free_threaded)" = 0 ]
        [ "$(value "$TMP/live.tsv" free_threaded)" = 1 ]
        diff <(grep -v -e '^#' -e '^free_threaded' "$TMP/file.tsv") \
             <(grep -v -e '^#' -e '^free_threaded' "$TMP/live.tsv")
        address=$(sed -n 's/^# address 0x\([0-9a-f]*\) .*/\1/p' "$TMP/live.tsv")
        if [ "$kind" = exec ]; then
            [ "$(value "$TMP/live.tsv" elf.exec)" = 1 ]
            [ $((16#$address)) -eq "$(value "$TMP/live.tsv" sym._PyRuntime)" ]
        else
            [ "$(value "$TMP/live.tsv" elf.exec)" = 0 ]
            [ $((16#$address)) -ne "$(value "$TMP/live.tsv" sym._PyRuntime)" ]
        fi
        kill "$BG_PID"
        wait "$BG_PID" || true
        BG_PID=
    done
}
