# target.sh: checks on the process or command a pyscope tool is pointed at
# (sourced after common.sh).  Each check ends the tool with one clear line.
#
#   pyscope_check_pid PID       the process exists and runs a Python we read
#   pyscope_check_cmd CMD       the command's program is a Python we read
#   pyscope_check_target PID CMD RUNNER   either of them, and -p with --vm
#   pyscope_elf_debug_file ELF  the file with ELF's DWARF
#   pyscope_stap_target_args    stap -d/--ldd flags for the chosen target
#   pyscope_stap_tapset_args    stap -I/-d flags for the tapsets and, when
#                               the target loads one, pyscope's runtime
# A process in a root of its own (a chroot, a container's mount namespace)
# names its files by paths inside that root; so do the tapsets and stap's
# -d options (SystemTap matches them against the process's mappings), and
# the files are read through PYSCOPE_SYSROOT (stap --sysroot): the root's
# path here for a chroot, else /proc/PID/root.
#
# After either check, PYSCOPE_PYTHON is the ELF file that holds the
# interpreter (the executable, or the libpython3.X.so it uses),
# PYSCOPE_PYTHON_EXE the executable, and PYSCOPE_LAYOUT a tapset macro
# file describing that interpreter's layout (scripts/lib/layout-stpm.sh),
# in the run's private temporary directory (pyscope_tmp_init).

# _pyscope_check_python EXE WHAT [PID]: EXE (run by PID, if given) is a
# CPython the tapsets read; any of 3.8-3.14, its version read from the
# binary itself.
_pyscope_check_python() {
    if [ -n "${3:-}" ]; then
        py=$1      # /proc/PID/exe: already resolved, inside the target's root
    else
        py=$(readlink -f -- "$1" 2>/dev/null || printf '%s' "$1")
    fi
    sr=${PYSCOPE_SYSROOT:-}
    # a pyenv shim (a shell script) runs the interpreter pyenv picks
    if [ -z "${3:-}" ] && head -c 64 "$py" 2>/dev/null | grep -q '^#!' &&
        grep -q 'pyenv' "$py" 2>/dev/null; then
        real=$(pyenv which "$(basename -- "$1")" 2>/dev/null) &&
            py=$(readlink -f -- "$real")
    fi
    [ -f "$sr$py" ] || pyscope_die "$2: $sr$py not found${sr:+ (the process's root is $sr)}"
    # the interpreter: in the executable, or in the libpython it maps/links
    elf=$py
    if ! "$PYSCOPE_BUILD/pyscope-offsets" --elf-only "$sr$py" >/dev/null 2>&1; then
        if [ -n "${3:-}" ]; then
            lib=$(awk '$6 ~ /\/libpython3\.[0-9]+[a-z]*\.so/ { print $6; exit }' \
                "/proc/$3/maps" 2>/dev/null)
            lib=$(pyscope_in_target "$lib")
        else
            # with the command's own environment (LD_LIBRARY_PATH)
            lib=$(printf '%s\n' "${PYSCOPE_CMD_ENV:-}" | {
                while IFS= read -r kv; do [ -z "$kv" ] || export "${kv?}"; done
                ldd "$py" 2>/dev/null; } | awk '$1 ~ /^libpython3/ { print $3; exit }')
        fi
        [ -n "$lib" ] || pyscope_die "$2 runs $py, which is not a CPython interpreter"
        if [ -n "${3:-}" ]; then
            elf=$lib
            [ -f "$sr$elf" ] || pyscope_die "$2 maps $elf, but $sr$elf cannot be read here"
        else
            elf=$(readlink -f -- "$lib")
        fi
    fi
    [ -x "$PYSCOPE_BUILD/pyscope-offsets" ] ||
        pyscope_die "$PYSCOPE_BUILD/pyscope-offsets is missing (run make)"
    [ -n "${PYSCOPE_TMP:-}" ] || pyscope_tmp_init
    PYSCOPE_LAYOUT=$PYSCOPE_TMP/pyscope_layout.stpm
    # (its note, which interpreter and where its offsets came from, is
    # shown once every check has passed: pyscope_stap_tapset_args)
    PYSCOPE_PROG=$PYSCOPE_PROG PYSCOPE_QUIET=1 PYSCOPE_SYSROOT=$sr \
        "$PYSCOPE_ROOT/scripts/lib/layout-stpm.sh" "$elf" ${3:-} > "$PYSCOPE_LAYOUT" || exit 1
    PYSCOPE_PYTHON=$elf
    PYSCOPE_PYTHON_EXE=$py
}

# The file holding an ELF file's DWARF: the file itself when it has
# .debug_info, else its build-id debug file; fails when there is neither.
pyscope_elf_debug_file() {
    if readelf -S "$1" 2>/dev/null | grep -q '\.debug_info'; then
        printf '%s\n' "$1"
        return 0
    fi
    bid=$(readelf -n "$1" 2>/dev/null | sed -n 's/.*Build ID: *\([0-9a-f]*\).*/\1/p' | head -n 1)
    [ -n "$bid" ] || return 1
    dbg=/usr/lib/debug/.build-id/$(printf '%s' "$bid" | cut -c1-2)/$(printf '%s' "$bid" | cut -c3-).debug
    [ -f "$dbg" ] && printf '%s\n' "$dbg"
}

# The checks every tool makes on -p PID / -c CMD (RUNNER is --vm, --host
# or ""): the target runs a Python we read, and the guest is not asked to
# reach a host process.
pyscope_check_target() {
    if [ -n "$1" ]; then
        [ "$3" != --vm ] ||
            pyscope_die "-p $1 with --vm: the QEMU guest cannot reach a host process; use -c CMD"
        case "$1" in *[!0-9]*|"") pyscope_die "not a PID: '$1'" ;; esac
        [ -d "/proc/$1" ] || pyscope_die "no process with PID $1"
        # attaching runs the probes in this machine's own kernel (a dry
        # run loads nothing)
        [ -e /proc/modules ] || [ "${PYSCOPE_DRY_RUN:-0}" = 1 ] ||
            pyscope_die "attaching to PID $1 needs a kernel that loads modules, and this one cannot (no CONFIG_MODULES: a container or microVM?); run pyscope where the process runs, or use -c CMD to start it in pyscope's QEMU guest"
        pyscope_check_pid "$1"
        [ "$(id -u)" = 0 ] || pyscope_die "attaching to a process needs root"
    else
        pyscope_check_cmd "$2"
    fi
}

pyscope_check_pid() {
    case "$1" in *[!0-9]*|"") pyscope_die "not a PID: '$1'" ;; esac
    [ -d "/proc/$1" ] || pyscope_die "no process with PID $1"
    exe=$(readlink "/proc/$1/exe" 2>/dev/null) ||
        pyscope_die "cannot read /proc/$1/exe (not root?)"
    PYSCOPE_SYSROOT=""
    if ! [ "/proc/$1/root" -ef / ]; then
        # a chroot (its root is a directory here) or a mount namespace
        # of its own (reached through /proc/PID/root)
        if [ "$(readlink "/proc/$1/ns/mnt")" = "$(readlink /proc/self/ns/mnt)" ]; then
            PYSCOPE_SYSROOT=$(readlink "/proc/$1/root")
        else
            PYSCOPE_SYSROOT=/proc/$1/root
        fi
        [ -d "$PYSCOPE_SYSROOT/" ] ||
            pyscope_die "PID $1 runs in a root of its own, and $PYSCOPE_SYSROOT cannot be read here"
        exe=$(pyscope_in_target "$exe")
    fi
    _pyscope_check_python "$exe" "PID $1" "$1"
    PYSCOPE_PID=$1
}

# pyscope_in_target PATH: a path as shown here (/proc/PID/maps, .../exe)
# as the target names it inside its own root.
pyscope_in_target() {
    case "${PYSCOPE_SYSROOT:-}" in
        ""|/proc/*) printf '%s\n' "$1" ;;
        *) case "$1" in
               "$PYSCOPE_SYSROOT"/*) printf '%s\n' "${1#"$PYSCOPE_SYSROOT"}" ;;
               *) printf '%s\n' "$1" ;;
           esac ;;
    esac
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
    PYSCOPE_CMD_ENV=""
    while :; do
        case "$prog" in
            env|*/env|nice|*/nice) shift; prog=${1:-} ;;
            *=*) PYSCOPE_CMD_ENV="$PYSCOPE_CMD_ENV
$prog"; shift; prog=${1:-} ;;
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
    [ "$PYSCOPE_PYTHON_EXE" = "$PYSCOPE_PYTHON" ] ||
        printf -- '-d\n%s\n' "$PYSCOPE_PYTHON_EXE"
    if [ -n "${PYSCOPE_PID:-}" ]; then
        maps=$(cat "/proc/$PYSCOPE_PID/maps" 2>/dev/null) ||
            pyscope_die "PID $PYSCOPE_PID exited before the probes could start; nothing written"
        # every shared object it maps, named as inside its root
        printf '%s\n' "$maps" | awk -v sr="${PYSCOPE_SYSROOT:-}" '
            $6 ~ /^\// && $6 ~ /\.so/ {
                p = $6
                if (sr != "" && sr !~ /^\/proc\// && index(p, sr "/") == 1) p = substr(p, length(sr) + 1)
                print p }' |
            sort -u | while IFS= read -r so; do printf -- '-d\n%s\n' "$so"; done
        [ -z "${PYSCOPE_SYSROOT:-}" ] || printf -- '--sysroot=%s\n' "$PYSCOPE_SYSROOT"
    else
        printf -- '--ldd\n'
    fi
}

# The tapset directory and the runtime's shared object for the target.  The
# tapsets name the runtime built by `make` (tapsets/pyscope_runtime.stpm);
# a target that loads another copy (pip-installed elsewhere) gets a private
# copy of the tapsets naming that one.
pyscope_stap_tapset_args() {
    # "CPython 3.X.Y (FILE): offsets from ...", from the layout's header
    pyscope_note "$(sed -n '2s/^ *//p' "$PYSCOPE_LAYOUT"): $(sed -n '4s/^ *\(.*\) \*\/$/\1/p' "$PYSCOPE_LAYOUT")"
    [ -z "${PYSCOPE_SYSROOT:-}" ] ||
        pyscope_note "PID $PYSCOPE_PID runs in a root of its own: its files are read through $PYSCOPE_SYSROOT"
    dir=$PYSCOPE_ROOT/tapsets
    so=""
    if [ -n "${PYSCOPE_PID:-}" ]; then
        so=$(awk '$6 ~ /\/pyscope\/_pyscope\.cpython-[^\/]*\.so$/ { print $6; exit }' \
            "/proc/$PYSCOPE_PID/maps" 2>/dev/null)
        [ -z "$so" ] || so=$(pyscope_in_target "$so")
    else
        so=$(printf '%s\n' "$PYSCOPE_CMD_ENV" | {
            while IFS= read -r kv; do [ -z "$kv" ] || export "${kv?}"; done
            "$PYSCOPE_PYTHON_EXE" -c 'import importlib.util as u; s = u.find_spec("pyscope._pyscope"); print(s.origin if s else "")' 2>/dev/null
        })
    fi
    other_so=0
    if [ -n "$so" ]; then
        [ -n "${PYSCOPE_PID:-}" ] || so=$(readlink -f -- "$so")
        built=$PYSCOPE_BUILD/py/pyscope/${so##*/}
        [ "${PYSCOPE_SYSROOT:-}$so" -ef "$built" ] && [ "$so" = "$(readlink -f -- "$built")" ] ||
            other_so=1
    fi
    # A private copy of the tapsets when the target is not what the
    # installed macro files describe: another interpreter (its layout), or
    # another copy of pyscope's runtime.
    if [ "$other_so" = 1 ] ||
        ! cmp -s "$PYSCOPE_LAYOUT" "$PYSCOPE_ROOT/tapsets/pyscope_layout.stpm"; then
        dir=$PYSCOPE_TMP/tapsets
        mkdir "$dir" || pyscope_die "cannot create $dir"
        cp "$PYSCOPE_ROOT"/tapsets/*.stp "$PYSCOPE_ROOT"/tapsets/pyscope.stpm \
            "$PYSCOPE_ROOT"/tapsets/pyscope_runtime.stpm \
            "$PYSCOPE_ROOT"/tapsets/pyscope_shared.stpm "$dir/"
        cp "$PYSCOPE_LAYOUT" "$dir/pyscope_layout.stpm"
        if [ "$other_so" = 1 ]; then
            "$PYSCOPE_ROOT/scripts/lib/runtime-stpm.sh" "$so" > "$dir/pyscope_runtime.stpm" ||
                pyscope_die "cannot use the pyscope runtime at $so"
            grep -A1 'The allocation sampler' "$PYSCOPE_ROOT/tapsets/pyscope_runtime.stpm" \
                >> "$dir/pyscope_runtime.stpm" || true
        fi
    fi
    printf -- '-I\n%s\n' "$dir"
    [ -z "$so" ] || printf -- '-d\n%s\n' "$so"
}
