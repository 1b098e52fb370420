# target.sh: checks on the process or command a pyscope tool is pointed at
# (sourced after common.sh).  Each check ends the tool with one clear line.
#
#   pyscope_check_pid PID       the process exists and runs a Python we read
#   pyscope_check_cmd CMD       the command's program is a Python we read
#   pyscope_stap_target_args    stap -d/--ldd flags for the chosen target
# After either check, PYSCOPE_PYTHON is the interpreter ELF file.

# The interpreters this version reads (DWARF-described 3.11, see
# tapsets/pyscope.stpm).
PYSCOPE_SUPPORTED=/usr/bin/python3.11

_pyscope_check_python() {
    py=$(readlink -f -- "$1" 2>/dev/null || printf '%s' "$1")
    case " $PYSCOPE_SUPPORTED " in
        *" $py "*) ;;
        *) pyscope_die "$2 runs $py, not a supported interpreter ($PYSCOPE_SUPPORTED)" ;;
    esac
    # Its DWARF: python3.11-dbg puts it under /usr/lib/debug/.build-id.
    bid=$(readelf -n "$py" 2>/dev/null | sed -n 's/.*Build ID: *\([0-9a-f]*\).*/\1/p' | head -n 1)
    if [ -n "$bid" ] && ! readelf -S "$py" 2>/dev/null | grep -q '\.debug_info'; then
        dbg=/usr/lib/debug/.build-id/$(printf '%s' "$bid" | cut -c1-2)/$(printf '%s' "$bid" | cut -c3-).debug
        [ -f "$dbg" ] || pyscope_die "no debuginfo for $py (install python3.11-dbg)"
    fi
    PYSCOPE_PYTHON=$py
}

pyscope_check_pid() {
    case "$1" in *[!0-9]*|"") pyscope_die "not a PID: '$1'" ;; esac
    [ -d "/proc/$1" ] || pyscope_die "no process with PID $1"
    exe=$(readlink "/proc/$1/exe" 2>/dev/null) ||
        pyscope_die "cannot read /proc/$1/exe (not root?)"
    _pyscope_check_python "$exe" "PID $1"
    PYSCOPE_PID=$1
}

pyscope_check_cmd() {
    [ -n "$1" ] || pyscope_die "-c needs a command"
    # staprun splits CMD like a shell word list, without running a shell.
    case "$1" in
        *[\;\|\&\`\<\>]*|*'$('*) pyscope_die "CMD must be a plain command line (no ; | & < > \` \$(...)): wrap it in a script" ;;
    esac
    set -f
    # shellcheck disable=SC2086
    set -- $1
    set +f
    prog=$1
    while :; do
        case "$prog" in
            env|*/env|nice|*/nice|taskset|*/taskset) shift; prog=${1:-} ;;
            *=*) shift; prog=${1:-} ;;
            *) break ;;
        esac
    done
    path=$(command -v -- "$prog" 2>/dev/null) ||
        pyscope_die "command not found: $prog"
    _pyscope_check_python "$path" "command '$prog'"
}

# -d for the interpreter and (for a PID) every shared object it maps, so
# the unwinder has their unwind tables; --ldd for a command's libraries.
pyscope_stap_target_args() {
    printf -- '-d\n%s\n' "$PYSCOPE_PYTHON"
    if [ -n "${PYSCOPE_PID:-}" ]; then
        awk '$6 ~ /^\// && $6 ~ /\.so/ {print $6}' "/proc/$PYSCOPE_PID/maps" |
            sort -u | while IFS= read -r so; do printf -- '-d\n%s\n' "$so"; done
    else
        printf -- '--ldd\n'
    fi
}
