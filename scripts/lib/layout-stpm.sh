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
#   5. the table of its minor version, runtime/offsets/tables/3.X.tsv
#      ($PYSCOPE_TABLES instead of runtime/offsets/tables, for tests)
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
tables=${PYSCOPE_TABLES:-$PYSCOPE_ROOT/runtime/offsets/tables}
dir=${PYSCOPE_OFFSETS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pyscope/offsets}

case "$elf" in
    *'
'*|*'"'*|*'\'*) pyscope_die "cannot use a path with a newline, quote or backslash: $elf" ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pyscope-layout.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

"$offsets" --elf-only "$elf" > "$tmp/0.tsv" 2> "$tmp/err" ||
    pyscope_die "$elf is not a CPython interpreter ($(head -n 1 "$tmp/err"))"
value() { awk -F '\t' -v k="$1" '$1 == k { print $2; exit }' "$2"; }
hex=$(value version_hex "$tmp/0.tsv")
[ -n "$hex" ] || pyscope_die "cannot tell which CPython version $elf is"
major=$(( (hex >> 24) & 255 )); minor=$(( (hex >> 16) & 255 ))
micro=$(( (hex >> 8) & 255 ))
if [ "$major" != 3 ] || [ "$minor" -lt $SUPPORTED_MIN ] || [ "$minor" -gt $SUPPORTED_MAX ]; then
    pyscope_die "$elf is CPython $major.$minor.$micro; pyscope reads 3.$SUPPORTED_MIN to 3.$SUPPORTED_MAX"
fi
case "$(basename -- "$elf")" in
    python3.*t|libpython3.*t.so*)
        pyscope_die "$elf is a free-threaded CPython build: not supported yet" ;;
esac

# Each source is a numbered file; its name for the note goes into .name.
n=1
add_source() {  # add_source NAME COMMAND...: file n holds COMMAND's table, or nothing
    name=$1; shift
    "$@" > "$tmp/$n.tsv" 2>/dev/null || : > "$tmp/$n.tsv"
    printf '%s\n' "$name" > "$tmp/$n.name"
    n=$((n + 1))
}
if [ -n "$pid" ] && [ "$minor" -ge 13 ]; then
    add_source "_Py_DebugOffsets (process $pid)" "$offsets" --debug-offsets --pid "$pid" "$elf"
fi
add_source "DWARF" "$offsets" "$elf"
bid=$(sed -n 's/^# build-id \([0-9a-f]*\)$/\1/p' "$tmp/0.tsv")
if [ -n "$bid" ] && [ -f "$dir/$bid.tsv" ]; then
    add_source "an extracted table ($dir/$bid.tsv)" cat "$dir/$bid.tsv"
fi
if [ "$minor" -ge 13 ]; then
    add_source "_Py_DebugOffsets (file)" "$offsets" --debug-offsets "$elf"
fi
if [ -f "$tables/3.$minor.tsv" ]; then
    add_source "the compiled-in 3.$minor table" cat "$tables/3.$minor.tsv"
fi
printf 'the ELF file\n' > "$tmp/0.name"

# One value per key, from the first source that has it; only well-formed
# keys and decimal values get through (they become macro text).
set --
for f in "$tmp"/[0-9]*.tsv; do set -- "$@" "$f"; done
awk -F '\t' -v used="$tmp/used" '
    /^#/ || NF != 2 { next }
    $1 !~ /^[A-Za-z_][A-Za-z0-9_.]*$/ || $2 !~ /^-?[0-9]+$/ { next }
    !($1 in v) { v[$1] = $2; if ($1 !~ /^(sym|elf)\./ && $1 != "version_hex") cnt[FILENAME]++ }
    END {
        for (k in v) printf "%s\t%s\n", k, v[k]
        for (f in cnt) printf "%s\t%d\n", f, cnt[f] > used
    }' "$@" | sort > "$tmp/table"
# "offsets from SOURCE (N), SOURCE (N)", in the order of the sources
sources=$(for f in "$@"; do
    c=$(awk -F '\t' -v f="$f" '$1 == f { print $2 }' "$tmp/used" 2>/dev/null)
    [ -z "$c" ] || printf '%s (%s keys), ' "$(cat "${f%.tsv}.name")" "$c"
done | sed 's/, $//')
grep -q '^free_threaded	1$' "$tmp/table" &&
    pyscope_die "$elf is a free-threaded CPython build: not supported yet"

# Every key of keys.tsv gets a macro (-1: not in this version), so the
# tapsets compile for any version; the facts below say which apply.
keys=$(awk -F '\t' '!/^#/ && NF >= 2 { print $1 }' "$PYSCOPE_ROOT/runtime/offsets/keys.tsv")
has() { grep -q "^$1	" "$tmp/table"; }
get() { value "$1" "$tmp/table"; }
need() {
    for k in "$@"; do
        has "$k" || pyscope_die "no offset for $k in CPython 3.$minor ($elf): install its debug symbols, or extract them with pyscope-offsets"
    done
}

need sym._PyRuntime runtime.interpreters_head interp.next interp.threads_head \
    tstate.next code.co_filename code.co_firstlineno str.length str.state \
    str.ascii_size str.compact_size str.utf8 str.utf8_length bytes.ob_sval \
    varobject.ob_size
# How a thread's innermost frame is found, what a frame is, where the
# bytecode and line table are: facts of the layout, not of a version
# number.
if has pyframe.f_back; then
    need tstate.frame pyframe.f_back pyframe.f_code pyframe.f_lasti
    frame_model=1 cur_frame=1 entry_rule=1
    if [ "$minor" -le 9 ]; then lasti_model=1 linetable=38; need code.co_lnotab
    else lasti_model=2 linetable=310; need code.co_linetable; fi
else
    need iframe.previous iframe.code iframe.instr iframe.owner code.co_linetable \
        code.co_code_adaptive
    frame_model=2 lasti_model=3 linetable=311
    if has tstate.current_frame; then cur_frame=3
    else need tstate.cframe cframe.current_frame; cur_frame=2; fi
    if has iframe.is_entry; then entry_rule=2; else entry_rule=3; fi
fi
if has tstate.native_thread_id; then thread_match=1; else thread_match=2; need tstate.thread_id; fi
# 3.14 keeps f_executable as a tagged _PyStackRef (low 2 bits are tags).
code_tag_mask=0
[ "$minor" -ge 14 ] && code_tag_mask=3
name_key=code.co_name
has code.co_qualname && name_key=code.co_qualname
need "$name_key"
# str.state: 3.12 dropped the `ready` bit but kept these positions.
kind_bit=$(get str.state.kind_bit); compact_bit=$(get str.state.compact_bit)
ascii_bit=$(get str.state.ascii_bit)

pyscope_note "CPython $major.$minor.$micro ($elf): offsets from $sources"
cat <<EOT
/* pyscope_layout.stpm - generated by scripts/lib/layout-stpm.sh; do not edit.
   CPython $major.$minor.$micro ($elf)
   build-id ${bid:-unknown}
   offsets from $sources */
@define pyscope_python %( "$elf" %)
@define py_version_minor %( $minor %)

/* facts (tapsets/python_offsets.stp says what each means) */
@define py_frame_model %( $frame_model %)
@define py_cur_frame_path %( $cur_frame %)
@define py_entry_rule %( $entry_rule %)
@define py_lasti_model %( $lasti_model %)
@define py_linetable_format %( $linetable %)
@define py_thread_match %( $thread_match %)
@define py_code_tag_mask %( $code_tag_mask %)
@define py_off_code_name %( $(get "$name_key") %)
@define py_str_kind_bit %( ${kind_bit:-2} %)
@define py_str_compact_bit %( ${compact_bit:-5} %)
@define py_str_ascii_bit %( ${ascii_bit:-6} %)

/* offsets (runtime/offsets/keys.tsv; -1: not in this version) */
EOT
for k in $keys; do
    name=$(printf '%s' "$k" | tr '.' '_')
    v=$(get "$k"); [ -n "$v" ] || v=-1
    printf '@define py_%s %%( %s %%)\n' "$name" "$v"
done
