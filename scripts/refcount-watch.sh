#!/bin/sh
# refcount-watch.sh: catch one Python object and follow its reference count
# through the C functions you suspect, line by line, to the line whose
# increment is never undone.
PYSCOPE_PROG=refcount-watch
. "$(dirname -- "$(readlink -f -- "$0")")/lib/common.sh"
. "$PYSCOPE_ROOT/scripts/lib/target.sh"
. "$PYSCOPE_ROOT/scripts/lib/cli.sh"

usage() {
    cat <<'EOF2'
usage: refcount-watch.sh (-p PID | PID | -c CMD) --watch FUNC [--watch FUNC...]
                         (--type NAME [--alloc-in FUNC] [--nth N] | --addr 0xADDR)
                         [--module PATH] [-d SECONDS] [-o PREFIX] [--vm | --host]
                         [--dry-run] [-v]

Choose one object, then print every change of its reference count made
while the watched C functions run, with the source line that made it and
the merged C+Python stack, until the object is freed or the watch ends.
The last block of stdout is the verdict: it starts with "verdict:", then
the object, its refcount at the end, whether it was freed, and the lines
whose increments no decrement in the watched functions paid back.

  -p, --pid PID    watch a running process (a bare PID too; needs a kernel
                   that loads modules: a QEMU guest cannot see host
                   processes)
  -c, --cmd CMD    start CMD and watch it until it exits
  --watch FUNC     a C function whose every line is watched (repeatable);
                   it lives in --module, or in the interpreter; its name
                   as in the source (list_append), or as the compiler
                   named its copy (list_append.lto_priv.0)
  --module PATH    the shared object (an extension module) or executable
                   holding the watched C functions, built with -g; default:
                   the interpreter
  --type NAME      catch the first object of this type (tp_name: tuple,
                   list, mymod.Thing) that is allocated ...
  --alloc-in FUNC  ... while this function is running: a C function (in
                   --module or the interpreter) or a Python function
                   (qualified or bare name); default: anywhere
  --nth N          catch the Nth such object instead of the first
  --addr 0xADDR    watch the object at this address (with -p)
  -d, --duration SECONDS
                   stop watching after SECONDS (default: when the object
                   is freed, the command exits, or Ctrl-C)
  -o, --output PREFIX
                   write the whole log to PREFIX.log; stdout gets the
                   verdict (default: the whole log to stdout)
  --vm, --host     force the QEMU guest or the host kernel
  --dry-run        check the target and every value, print the run's
                   command (pyscope-run and stap's arguments), and exit
  -v, --verbose    say how long each step took
  -h, --help       this help

Long options take their value as the next word or after '='
(--watch=checksum).

How lines are blamed: a change is seen at the next line's probe and
belongs to the line that ran in between; the verdict pairs each decrement
with the oldest unpaired increment (a reference returned to the caller
pays one off).  Code built with optimisation may merge or reorder lines:
build the suspect with -O0 -g.  Every allocation and deallocation in the
process passes a probe while the object is looked for and watched, so the
target runs slower during the watch.

examples:
  refcount-watch.sh -c '/usr/bin/python3.11 examples/refbug_demo.py' \
      --module build/ext/refbug.cpython-311-x86_64-linux-gnu.so \
      --type tuple --alloc-in checksum --watch checksum
  refcount-watch.sh -p 1234 --addr 0x7f3a2c1b4e80 --watch checksum \
      --module build/ext/refbug.cpython-311-x86_64-linux-gnu.so -d 60 -o watch
EOF2
}

module="" type="" alloc_in="" nth=1 addr="" watches=""
PYSCOPE_CLI_VALUES="--watch --module --type --alloc-in --nth --addr"
PYSCOPE_CLI_FLAGS=""
tool_option() {
    case "$1" in
        --watch) watches="$watches $2" ;;
        --module) module=$2 ;;
        --type) type=$2 ;;
        --alloc-in) alloc_in=$2 ;;
        --nth) nth=$2 ;;
        --addr) addr=$2 ;;
    esac
}
PYSCOPE_T0=${PYSCOPE_T0:-$(pyscope_now_ms)}
export PYSCOPE_T0
pyscope_cli_parse "$@"
pyscope_cli_check

is_c_name() {
    case "$1" in ""|[0-9]*|*[!A-Za-z0-9_]*) return 1 ;; esac
    return 0
}
# A watched function: a C name, or a compiler's name for its copy of one
# (NAME.lto_priv.0, NAME.isra.0, NAME.constprop.0: the C name, dot, then
# letters, digits, underscores and dots); watched by its C name, which
# is what the DWARF calls it.
watch_name() {
    case "$1" in
        *.*) is_c_name "${1%%.*}" || return 1
             case "${1#*.}" in ""|*[!A-Za-z0-9_.]*|*..*|*.) return 1 ;; esac ;;
        *) is_c_name "$1" || return 1 ;;
    esac
    printf '%s\n' "${1%%.*}"
}

[ -n "$watches" ] || pyscope_die "give at least one --watch FUNC (try -h)"
cwatches=""
for w in $watches; do
    c=$(watch_name "$w") || pyscope_die "--watch needs a C function name, got '$w'"
    cwatches="$cwatches $c"
done
watches=$cwatches
pyscope_cli_number nth --nth 1 1000000000
if [ -n "$addr" ]; then
    [ -z "$type" ] || pyscope_die "give --type or --addr, not both"
    [ -z "$alloc_in" ] || pyscope_die "--alloc-in chooses among allocations; it does not go with --addr"
    case "$addr" in 0x*|0X*) ;; *) pyscope_die "--addr needs a hex address like 0x7f3a2c1b4e80, got '$addr'" ;; esac
    case "${addr#0[xX]}" in ""|*[!0-9a-fA-F]*) pyscope_die "--addr needs a hex address, got '$addr'" ;; esac
    [ "$((addr))" != 0 ] || pyscope_die "--addr 0 is no object"
else
    [ -n "$type" ] || pyscope_die "choose the object: --type NAME [--alloc-in FUNC] or --addr 0xADDR"
    case "$type" in [0-9.]*|*[!A-Za-z0-9_.]*) pyscope_die "--type needs a type name like tuple or mymod.Thing, got '$type'" ;; esac
fi
if [ -n "$alloc_in" ]; then
    case "$alloc_in" in [0-9.]*|*[!A-Za-z0-9_.]*|*..*|*.) pyscope_die "--alloc-in needs a function name, got '$alloc_in'" ;; esac
fi

[ -n "$pid" ] || [ -z "$addr" ] ||
    pyscope_die "--addr needs -p PID: a command's objects have no address before it runs"
pyscope_make_all
pyscope_step "built"
pyscope_tmp_init --outputs
pyscope_check_target "$pid" "$cmd" "$runner_mode"
pyscope_step "target checked, layout read"

# The ELF file with the watched functions: it must have them, with DWARF.
# Its path reaches stap as an argument (data), but the guest copies probed
# files by path, so it must be a plain one.
if [ -n "$module" ]; then
    [ -f "$module" ] || pyscope_die "--module $module: no such file"
    module=$(readlink -f -- "$module")
    case "$module" in *[!A-Za-z0-9_./+-]*) pyscope_die "--module: use a path without spaces or special characters (a symlink will do), got '$module'" ;; esac
    head -c 4 "$module" | grep -q ELF || pyscope_die "--module $module is not an ELF file"
else
    module=$PYSCOPE_PYTHON
fi

# A function's symbol: its name, or the name a compiler gave its only copy
# (list_append.lto_priv.0, f.isra.0, f.constprop.0; never a .cold part,
# which holds no whole function).  DWARF and stap know it by its name.
symbol_of() {   # symbol_of ELF FUNC -> "ADDR SIZE" of its first symbol
    readelf -Ws "$1" 2>/dev/null | awk -v f="$2" '
        $4 == "FUNC" && ($8 == f || (index($8, f ".") == 1 && $8 !~ /\.cold(\.[0-9]+)?$/)) {
            print $2, $3; found = 1; exit
        }
        END { exit !found }'
}
elf_has_function() {
    symbol_of "$1" "$2" > /dev/null
}
# The line of a watched function's closing brace: that of its last byte.
closing_line() {
    set -- $(symbol_of "$mdebug" "$1")
    [ $# = 2 ] || pyscope_die "no symbol for $1 in $mdebug"
    l=$(eu-addr2line -e "$mdebug" "$(printf '0x%x' $((0x$1 + $2 - 1)))" | sed -n 's/.*:\([0-9][0-9]*\):[0-9]*$/\1/p; s/.*:\([0-9][0-9]*\)$/\1/p')
    [ -n "$l" ] || pyscope_die "no line information for $1 in $mdebug"
    printf '%s\n' "$l"
}
mdebug=$(pyscope_elf_debug_file "$module") ||
    pyscope_die "no debuginfo for $module (build it with -g, or install its -dbg package)"
for w in $watches; do
    elf_has_function "$module" "$w" || elf_has_function "$mdebug" "$w" ||
        pyscope_die "--watch $w: no such function in $module"
done
alloc_c=""
if [ -n "$alloc_in" ] && is_c_name "$alloc_in"; then
    pydebug=$(pyscope_elf_debug_file "$PYSCOPE_PYTHON")
    if elf_has_function "$module" "$alloc_in" || elf_has_function "$mdebug" "$alloc_in" ||
        elf_has_function "$PYSCOPE_PYTHON" "$alloc_in" ||
        { [ -n "$pydebug" ] && elf_has_function "$pydebug" "$alloc_in"; }; then
        alloc_c=$alloc_in
    fi
fi

tmp=$PYSCOPE_TMP

# The script: the fixed part, then one block of probes per watched
# function.  The blocks name their functions only as @N (stap's script
# arguments), so nothing the user typed is ever script text.
script=$tmp/refcount-watch.stp
cp "$PYSCOPE_ROOT/scripts/refcount-watch.stp" "$script"
set -- "${type}" "$nth" "${addr:-0}" "$alloc_in" "$secs" "$module" "$alloc_c"
n=8
for w in $watches; do
    {
        printf '\n// watched function @%d\n' "$n"
        printf 'probe process(@6).statement(@%d) { __line(pp(), __catching ? $$locals : "", __catching ? $$parms : "", @%d) }\n' "$n" $((n + 1))
    } >> "$script"
    last=$(closing_line "$w") || exit 1
    set -- "$@" "$w@*:*" "$last"
    n=$((n + 2))
done
stapargs=$tmp/args
pyscope_stap_args_file "$stapargs"
[ "$module" = "$PYSCOPE_PYTHON" ] || printf -- '-d\n%s\n' "$module" >> "$stapargs"
for a in "$@"; do printf '%s\n' "$a"; done > "$tmp/scriptargs"
set -- -s 8
while IFS= read -r a; do set -- "$@" "$a"; done < "$stapargs"
set -- "$@" "$script"
while IFS= read -r a; do set -- "$@" "$a"; done < "$tmp/scriptargs"

# the log is written in the private directory and moved to PREFIX.log at
# the end: a watch that fails leaves no partial log behind
log=$tmp/log
what=${addr:-"the ${nth}th $type allocated${alloc_in:+ under $alloc_in}"}
[ "$nth" != 1 ] || [ -n "$addr" ] || what="the first $type allocated${alloc_in:+ under $alloc_in}"
pyscope_note "watching$(printf ' %s' $watches) in $module for $what"
# progress every 10 s
# shellcheck disable=SC2016
pyscope_progress 'n=$(grep -c "^[-+][0-9]* -> " "$log" 2>/dev/null); echo "${n:-0} refcount changes so far"'
pyscope_step "stap arguments ready"
pyscope_run_target --data "$log" "$tmp/err" "$@"
rc=$PYSCOPE_RC
pyscope_progress_stop
# a target gone before the probes started: that one line, nothing else
pyscope_target_gone "$tmp/err"
pyscope_show_stap_errors "$tmp/err"

grep -q '^verdict:' "$log" ||
    pyscope_die "the watch ended without a verdict (stap exit $rc); see the messages above"
if [ -n "$prefix" ]; then
    mv "$log" "$prefix.log" || pyscope_die "cannot write $prefix.log"
    sed -n '/^verdict:/,$p' "$prefix.log"
else
    cat "$log"
fi
exit 0
