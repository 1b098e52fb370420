#!/bin/sh
# layout-stpm.sh ELF [PID]: print the tapset macro file (pyscope_layout.stpm)
# describing the CPython build in ELF (a python executable with the
# interpreter linked in, or a libpython3.X.so), for the process PID when one
# is given.  The tapsets' version layer (tapsets/python_offsets.stp) reads
# every offset and fact from these macros.
#
# Where each offset comes from, first source first (a key is taken from the
# first source that has it; what the target says wins over compiled-in data):
#   1. _Py_DebugOffsets read from the live process PID (3.13+)
#   2. the build's DWARF (build/pyscope-offsets; python3.X-dbg installs it)
#   3. a table extracted beforehand for this build-id:
#      $PYSCOPE_OFFSETS_DIR/BUILD-ID.tsv (default ~/.cache/pyscope/offsets;
#      pyscope-offsets --debug-file DEBUGFILE -o DIR/BUILD-ID.tsv ELF)
#   4. _Py_DebugOffsets as initialised in the ELF file itself (3.13+)
#   5. the table of its minor version, tools/offsets/tables/3.X.tsv
#      ($PYSCOPE_TABLES instead of tools/offsets/tables, for tests)
# The const keys of keys.tsv (values of the build's headers: frame owners,
# tag bits, the int layout, tp_flags bits) are in no DWARF and no
# _Py_DebugOffsets: they come from the same sources (in practice the table
# of 5.), else from the shipped tools/offsets/tables/3.X.tsv even when
# $PYSCOPE_TABLES replaces the tables, and are not counted in the note's
# "offsets from SOURCE (N keys)".
# The version and _PyRuntime's address always come from ELF itself.  One
# line on stderr says which interpreter it is and where its offsets came
# from (silenced by PYSCOPE_QUIET=1).
#
# Exit status 1 with one line on stderr: not CPython, an unsupported version
# or a free-threaded build, or an offset no source has.
set -eu
PYSCOPE_PROG=${PYSCOPE_PROG:-layout-stpm}
. "$(dirname -- "$0")/common.sh"

# The versions the tapsets read (3.14: from CPython's sources, untested).
SUPPORTED_MIN=8
SUPPORTED_MAX=14

elf=${1:?usage: layout-stpm.sh ELF [PID]}
pid=${2:-}
offsets=$PYSCOPE_BUILD/pyscope-offsets
[ -x "$offsets" ] || pyscope_die "$offsets is missing (run make)"
tables=${PYSCOPE_TABLES:-$PYSCOPE_ROOT/tools/offsets/tables}
shipped=$PYSCOPE_ROOT/tools/offsets/tables
# (PYSCOPE_CACHE: common.sh)
dir=${PYSCOPE_OFFSETS_DIR:-$PYSCOPE_CACHE/offsets}

case "$elf" in
    *'
'*|*'"'*|*'\'*) pyscope_die "cannot use a path with a newline, quote or backslash: $elf" ;;
esac

# ELF as the process names it (what the tapsets say) and where it is read
# from here: through PYSCOPE_SYSROOT for a process in a root of its own
file=${PYSCOPE_SYSROOT:-}$elf

# removed on every exit path: errors (pyscope_die), INT, TERM and HUP
tmp=""
trap '[ -z "$tmp" ] || rm -rf "$tmp"' EXIT
pyscope_signal_traps
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pyscope-layout.XXXXXX") ||
    pyscope_die "cannot create a temporary directory in ${TMPDIR:-/tmp}"

"$offsets" --elf-only "$file" > "$tmp/0.tsv" 2> "$tmp/err" ||
    pyscope_die "$elf is not a CPython interpreter ($(head -n 1 "$tmp/err"))"
# version and build-id, in one pass
vb=$(awk -F '\t' '$1 == "version_hex" { h = $2 } /^# build-id / { b = $0; sub(/^# build-id /, "", b) }
    END { print h " " b }' "$tmp/0.tsv")
hex=${vb%% *} bid=${vb#* }
[ -n "$hex" ] || pyscope_die "cannot tell which CPython version $elf is"
major=$(( (hex >> 24) & 255 )); minor=$(( (hex >> 16) & 255 ))
micro=$(( (hex >> 8) & 255 ))
if [ "$major" != 3 ] || [ "$minor" -lt $SUPPORTED_MIN ] || [ "$minor" -gt $SUPPORTED_MAX ]; then
    pyscope_die "$elf is CPython $major.$minor.$micro; pyscope reads 3.$SUPPORTED_MIN to 3.$SUPPORTED_MAX"
fi
case "${elf##*/}" in
    python3.*t|libpython3.*t.so*)
        pyscope_die "$elf is a free-threaded CPython build: not supported yet" ;;
esac

# The whole answer is kept too, when it cannot depend on a process (every
# version before 3.13, and 3.13+ without a PID), keyed by every file it is
# made of: a hit costs a handful of processes instead of some twenty.
dbg=""
if [ -n "$bid" ]; then
    dbg=/usr/lib/debug/.build-id/$(printf '%.2s' "$bid")/${bid#??}.debug
fi
memo=""
if [ -z "$pid" ] || [ "$minor" -lt 13 ]; then
    k=$( { printf '%s %s %s\n' "$elf" "$tables" "$dir"
           stat -L -c '%n %s %Y' "$file" "$offsets" "$0" "$PYSCOPE_ROOT/tools/offsets/keys.tsv" \
               "$PYSCOPE_ROOT/tools/offsets/glibc.tsv" "$tables/3.$minor.tsv" "$shipped/3.$minor.tsv" \
               ${dbg:+"$dbg"} ${bid:+"$dir/$bid.tsv"} 2>&1; } | md5sum)
    memo=$PYSCOPE_CACHE/layout/${k%% *}
    if [ -f "$memo.stpm" ] && [ -f "$memo.note" ]; then
        pyscope_note "$(cat "$memo.note")"
        cat "$memo.stpm"
        exit 0
    fi
fi

# The DWARF source: reading a big build's DWARF takes a second here and
# half a minute under emulation, and its answer is fixed for a given
# ELF file, debug file and extractor, so it is kept in the cache under a
# digest of those (a stripped copy of a build, another path or size, gets
# its own entry; a failure is never kept).
dwarf_table() {
    if [ -n "$bid" ]; then
        k=$( { printf '%s\n' "$elf"; stat -L -c '%s %Y' "$file" "$offsets" 2>/dev/null
               stat -L -c '%s %Y' "$dbg" 2>/dev/null
               cat "$PYSCOPE_ROOT/tools/offsets/keys.tsv"; } | md5sum | cut -c1-32)
        c=$PYSCOPE_CACHE/dwarf/$bid-$k.tsv
        if [ -f "$c" ]; then
            cat "$c"
            return 0
        fi
        "$offsets" "$file" > "$tmp/dwarf" || return 1
        mkdir -p "$PYSCOPE_CACHE/dwarf" 2>/dev/null &&
            cp "$tmp/dwarf" "$c.tmp.$$" 2>/dev/null && mv "$c.tmp.$$" "$c" 2>/dev/null
        cat "$tmp/dwarf"
    else
        "$offsets" "$file"
    fi
}

# Each source is a numbered file; its name for the note goes into .name.
n=1
add_source() {  # add_source NAME COMMAND...: file n holds COMMAND's table, or nothing
    name=$1; shift
    "$@" > "$tmp/$n.tsv" 2>/dev/null || : > "$tmp/$n.tsv"
    printf '%s\n' "$name" > "$tmp/$n.name"
    n=$((n + 1))
}
if [ -n "$pid" ] && [ "$minor" -ge 13 ]; then
    add_source "_Py_DebugOffsets (process $pid)" "$offsets" --debug-offsets --pid "$pid" "$file"
fi
add_source "DWARF" dwarf_table
if [ -n "$bid" ] && [ -f "$dir/$bid.tsv" ]; then
    add_source "an extracted table ($dir/$bid.tsv)" cat "$dir/$bid.tsv"
fi
if [ "$minor" -ge 13 ]; then
    add_source "_Py_DebugOffsets (file)" "$offsets" --debug-offsets "$file"
fi
if [ -f "$tables/3.$minor.tsv" ]; then
    add_source "the compiled-in 3.$minor table" cat "$tables/3.$minor.tsv"
fi
printf 'the ELF file\n' > "$tmp/0.name"

# One awk program (a process costs a lot under emulation) merges the
# sources, derives the layout's facts, checks that every offset those
# facts need is there, and writes the macro file: one value per key, from
# the first source that has it; only well-formed keys and decimal values
# get through (they become macro text).  Every key of keys.tsv gets a
# macro (-1: not in this version), so the tapsets compile for any version;
# the facts say which apply; so does every key of tools/offsets/glibc.tsv
# (the C library's layout).  A const key no source has is read from the
# shipped table (consts); one that applies must be there.  An error is
# one line in $tmp/err.
set --
for f in "$tmp"/[0-9]*.tsv; do set -- "$@" "$f"; done
awk -F '\t' -v keys="$PYSCOPE_ROOT/tools/offsets/keys.tsv" -v err="$tmp/err" \
    -v libc="$PYSCOPE_ROOT/tools/offsets/glibc.tsv" -v consts="$shipped/3.$minor.tsv" \
    -v note="$tmp/note" -v elf="$elf" -v minor="$minor" -v major="$major" \
    -v micro="$micro" -v bid="${bid:-unknown}" -v tmp="$tmp" '
function has(k) { return k in v }
# Text for a /* */ comment of the macro file: a path may hold "*/", which
# would end the comment and make the rest of it stap source.
function comment(s) { gsub(/\*\//, "* /", s); return s }
function need(k) {
    if (!(k in v) && !failed) {
        printf "no offset for %s in CPython 3.%s (%s): install its debug symbols, or extract them with pyscope-offsets\n", k, minor, elf > err
        failed = 1
    }
}
# keys.tsv: which keys are const ones, and the versions they apply to
BEGIN {
    while ((getline line < keys) > 0) {
        if (line ~ /^#/) continue
        split(line, kf, "\t")
        if (kf[2] != "const") continue
        if (minor + 0 >= kf[3] + 0 && (kf[4] == "-" || minor + 0 <= kf[4] + 0))
            is_const[kf[1]] = (kf[5] == "yes") ? 1 : 2   # 2: must be there
        else
            is_const[kf[1]] = 0
    }
    close(keys)
}
/^#/ || NF != 2 { next }
$1 !~ /^[A-Za-z_][A-Za-z0-9_.]*$/ || $2 !~ /^-?[0-9]+$/ { next }
!($1 in v) { v[$1] = $2; if ($1 !~ /^(sym|elf)\./ && $1 != "version_hex" && !($1 in is_const)) cnt[FILENAME]++ }
END {
    if (v["free_threaded"] == 1) {
        printf "%s is a free-threaded CPython build: not supported yet\n", elf > err
        exit 1
    }
    # the const keys no source had: the shipped table of this version
    for (k in is_const) if (is_const[k] && !(k in v)) missing_const = 1
    if (missing_const) {
        while ((getline line < consts) > 0) {
            if (split(line, kf, "\t") != 2 || !(kf[1] in is_const) || (kf[1] in v)) continue
            if (kf[2] ~ /^-?[0-9]+$/) v[kf[1]] = kf[2]
        }
        close(consts)
    }
    for (k in is_const) {
        if (is_const[k] == 2 && !(k in v)) {
            printf "no value for %s in CPython 3.%s (%s): %s lacks it (a constant of the build, from its headers)\n", k, minor, elf, consts > err
            exit 1
        }
    }
    split("sym._PyRuntime runtime.interpreters_head interp.next interp.threads_head " \
          "tstate.next code.co_filename code.co_firstlineno str.length str.state " \
          "str.ascii_size str.compact_size str.utf8 str.utf8_length bytes.ob_sval " \
          "varobject.ob_size", base, " ")
    for (i = 1; i in base; i++) need(base[i])
    # How a thread innermost frame is found, what a frame is, where the
    # bytecode and line table are: facts of the layout, not of a version
    # number.
    if (has("pyframe.f_back")) {
        need("tstate.frame"); need("pyframe.f_back"); need("pyframe.f_code"); need("pyframe.f_lasti")
        frame_model = 1; cur_frame = 1; entry_rule = 1
        if (minor <= 9) { lasti_model = 1; linetable = 38; need("code.co_lnotab") }
        else { lasti_model = 2; linetable = 310; need("code.co_linetable") }
    } else {
        need("iframe.previous"); need("iframe.code"); need("iframe.instr"); need("iframe.owner")
        need("code.co_linetable"); need("code.co_code_adaptive")
        frame_model = 2; lasti_model = 3; linetable = 311
        if (has("tstate.current_frame")) cur_frame = 3
        else { need("tstate.cframe"); need("cframe.current_frame"); cur_frame = 2 }
        entry_rule = has("iframe.is_entry") ? 2 : 3
    }
    if (has("tstate.native_thread_id")) thread_match = 1
    else { thread_match = 2; need("tstate.thread_id") }
    # 3.14 keeps f_executable as a tagged _PyStackRef (Py_TAG_BITS are tags)
    code_tag_mask = has("stackref.tag_bits") ? v["stackref.tag_bits"] : 0
    name_key = has("code.co_qualname") ? "code.co_qualname" : "code.co_name"
    need(name_key)
    if (failed) exit 1
    # str.state: 3.12 dropped the ready bit but kept these positions
    kind_bit = has("str.state.kind_bit") ? v["str.state.kind_bit"] : 2
    compact_bit = has("str.state.compact_bit") ? v["str.state.compact_bit"] : 5
    ascii_bit = has("str.state.ascii_bit") ? v["str.state.ascii_bit"] : 6

    # "offsets from SOURCE (N keys), ...", in the order of the sources
    sources = ""
    for (i = 1; i < ARGC; i++) {
        f = ARGV[i]
        if (!(f in cnt)) continue
        namef = f; sub(/\.tsv$/, ".name", namef)
        getline name < namef
        close(namef)
        sources = sources (sources == "" ? "" : ", ") name " (" cnt[f] " keys)"
    }
    printf "CPython %s.%s.%s (%s): offsets from %s\n", major, minor, micro, elf, sources > note

    printf "/* pyscope_layout.stpm - generated by scripts/lib/layout-stpm.sh; do not edit.\n"
    printf "   CPython %s.%s.%s (%s)\n   build-id %s\n   offsets from %s */\n", major, minor, micro, comment(elf), comment(bid), comment(sources)
    printf "@define pyscope_python %%( \"%s\" %%)\n@define py_version_minor %%( %s %%)\n\n", elf, minor
    printf "/* facts (tapsets/python_offsets.stp says what each means) */\n"
    printf "@define py_frame_model %%( %d %%)\n@define py_cur_frame_path %%( %d %%)\n", frame_model, cur_frame
    printf "@define py_entry_rule %%( %d %%)\n@define py_lasti_model %%( %d %%)\n", entry_rule, lasti_model
    printf "@define py_linetable_format %%( %d %%)\n@define py_thread_match %%( %d %%)\n", linetable, thread_match
    printf "@define py_code_tag_mask %%( %d %%)\n@define py_off_code_name %%( %s %%)\n", code_tag_mask, v[name_key]
    printf "@define py_str_kind_bit %%( %s %%)\n@define py_str_compact_bit %%( %s %%)\n", kind_bit, compact_bit
    printf "@define py_str_ascii_bit %%( %s %%)\n\n", ascii_bit
    printf "/* offsets and constants (tools/offsets/keys.tsv; -1: not in this version) */\n"
    while ((getline line < keys) > 0) {
        if (line ~ /^#/) continue
        split(line, kf, "\t")
        if (kf[1] == "" || kf[2] == "") continue
        name = kf[1]; gsub(/\./, "_", name)
        printf "@define py_%s %%( %s %%)\n", name, (kf[1] in v) ? v[kf[1]] : -1
    }
    printf "\n/* the C library (tools/offsets/glibc.tsv) */\n"
    while ((getline line < libc) > 0) {
        if (line ~ /^#/ || line == "") continue
        split(line, kf, "\t")
        if (kf[1] !~ /^glibc\.[A-Za-z0-9_.]+$/ || kf[2] !~ /^[0-9]+$/) {
            printf "%s: not \"glibc.KEY<TAB>decimal\": %s\n", libc, line > err
            exit 1
        }
        name = kf[1]; gsub(/\./, "_", name)
        printf "@define py_%s %%( %s %%)\n", name, kf[2]
    }
}' "$@" > "$tmp/out" || pyscope_die "$(cat "$tmp/err" 2>/dev/null || echo "cannot build the layout of $elf")"
pyscope_note "$(cat "$tmp/note")"
cat "$tmp/out"
if [ -n "$memo" ]; then
    { mkdir -p "${memo%/*}" && cp "$tmp/out" "$memo.stpm.$$" && cp "$tmp/note" "$memo.note.$$" &&
        mv "$memo.stpm.$$" "$memo.stpm" && mv "$memo.note.$$" "$memo.note"; } 2>/dev/null
fi
