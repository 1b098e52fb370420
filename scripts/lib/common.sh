# common.sh: shell helpers shared by every pyscope script (sourced, POSIX sh).
#
# Sets PYSCOPE_ROOT (the checkout, or the installed tree of `make install`,
# found through symbolic links to the tools), PYSCOPE_BUILD (build products,
# default $PYSCOPE_ROOT/build), PYSCOPE_CACHE (caches kept between runs:
# modules, offsets; default ~/.cache/pyscope) and PYSCOPE_STATE (what runs
# write and keep: a patched SystemTap runtime, the guest's files; build/ in
# a checkout, $PYSCOPE_CACHE/state in an installed tree, which is not
# written), and provides:
#   pyscope_die MSG          one-line error on stderr, exit 1
#   pyscope_note MSG         one line on stderr (silenced by PYSCOPE_QUIET=1)
#   pyscope_show_stap_errors F  stap's stderr in F, expected noise removed
#   pyscope_guest_kernel     release of the kernel the guest boots
#   pyscope_stap_runtime K   runtime directory for `stap -R`, fixed for K if
#                            SystemTap's own runtime does not fit that kernel
#   pyscope_make_all         build what the tools need (a checkout), or
#                            check it is there (an installed tree)

# (the tools are found through links on PATH: the real file's directory)
: "${PYSCOPE_ROOT:=$(CDPATH= cd -- "$(dirname -- "$(readlink -f -- "$0")")/.." && pwd)}"
[ -f "$PYSCOPE_ROOT/scripts/lib/common.sh" ] ||
    PYSCOPE_ROOT=$(CDPATH= cd -- "$(dirname -- "$(readlink -f -- "$0")")/../.." && pwd)
: "${PYSCOPE_BUILD:=$PYSCOPE_ROOT/build}"
: "${PYSCOPE_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/pyscope}"
# INSTALLED marks a tree of `make install` (see the Makefile)
if [ -f "$PYSCOPE_ROOT/INSTALLED" ]; then
    : "${PYSCOPE_STATE:=$PYSCOPE_CACHE/state}"
else
    : "${PYSCOPE_STATE:=$PYSCOPE_BUILD}"
fi
PYSCOPE_PROG=${PYSCOPE_PROG:-$(basename -- "$0")}

pyscope_die() {
    printf '%s: %s\n' "$PYSCOPE_PROG" "$*" >&2
    exit 1
}

# stap's stderr minus the warnings expected when unwinding into code
# without unwind data (vDSO, JIT code); everything else is shown.
pyscope_show_stap_errors() {
    grep -v -e 'Missing unwind data for a module' -e '^Number of similar' \
        -e '_stp_read_address failed to access memory' -e '^Rerun with -v' "$1" >&2
}

# pyscope_tmp_init [--outputs]: a private temporary directory for this run
# (PYSCOPE_TMP), removed on every exit path, early errors and INT, TERM
# and HUP included, and the background helpers listed in PYSCOPE_HELPERS
# (PIDs) stopped.  --outputs: the tool writes files, only at its very end
# (pyscope_commit), so a signal before then says "nothing written".
pyscope_tmp_init() {
    [ "${1:-}" != --outputs ] || PYSCOPE_OUTPUTS="nothing written"
    PYSCOPE_TMP=""
    trap '_pyscope_exit' EXIT
    pyscope_signal_traps
    PYSCOPE_TMP=$(mktemp -d "${TMPDIR:-/tmp}/$PYSCOPE_PROG.XXXXXX") ||
        { PYSCOPE_TMP=""; pyscope_die "cannot create a temporary directory in ${TMPDIR:-/tmp}"; }
}
# pyscope_signal_traps: INT, TERM and HUP end the script through its EXIT
# trap, with the status a shell gives for them (128 + the signal's
# number): sh runs no EXIT trap when a signal kills it, which would leave
# its temporary files behind.  A tool that writes files (pyscope_tmp_init
# --outputs) says on one line that it wrote nothing.
pyscope_signal_traps() {
    trap '_pyscope_signalled 129' HUP
    trap '_pyscope_signalled 130' INT
    trap '_pyscope_signalled 143' TERM
}
_pyscope_signalled() {
    if [ -n "${PYSCOPE_KEEP:-}" ] && [ -f "$PYSCOPE_KEEP" ]; then
        trap '' HUP INT TERM
        if mv "$PYSCOPE_KEEP" "$PYSCOPE_KEEP_AS" 2>/dev/null; then
            pyscope_note "interrupted while writing the report: the run's records are kept in $PYSCOPE_KEEP_AS ($PYSCOPE_KEEP_HINT)"
            exit "$1"
        fi
    fi
    [ -z "${PYSCOPE_OUTPUTS:-}" ] || pyscope_note "interrupted: $PYSCOPE_OUTPUTS"
    exit "$1"
}
# pyscope_keep_on_signal FILE DEST HINT: the run is over and FILE holds
# its whole record stream; an INT, TERM or HUP from here until
# pyscope_commit (a second Ctrl-C while the report is written) moves FILE
# to DEST, the one output then written, and says so in one line, with
# HINT: how to write the report from it
pyscope_keep_on_signal() {
    PYSCOPE_KEEP=$1 PYSCOPE_KEEP_AS=$2 PYSCOPE_KEEP_HINT=$3
}
# pyscope_die_keeping MSG: a report tool failed (what it said is above):
# the stream of pyscope_keep_on_signal moves into place, for another look,
# and one line says MSG and where it is; exit 1
pyscope_die_keeping() {
    pyscope_commit
    if [ -n "${PYSCOPE_KEEP:-}" ] && mv "$PYSCOPE_KEEP" "$PYSCOPE_KEEP_AS" 2>/dev/null; then
        pyscope_die "$1; the run's records are kept in $PYSCOPE_KEEP_AS"
    fi
    pyscope_die "$1"
}
# pyscope_commit: from here on the tool only renames its finished files
# into place; INT, TERM and HUP wait until it has (a signal then would
# leave some of the files written and others not)
pyscope_commit() {
    trap '' HUP INT TERM
}
_pyscope_exit() {
    # helpers still running (progress lines, a report reader following
    # the stream) end with the tool, on every path
    for _p in ${PYSCOPE_HELPERS:-}; do kill "$_p" 2>/dev/null; done
    [ -z "${PYSCOPE_TMP:-}" ] || rm -rf "$PYSCOPE_TMP"
}

# pyscope_make_all: the report tools, the runtime and the tapsets' macro
# files, built by make in a checkout (quick when built); an installed tree
# has them all, and no make is run.
pyscope_make_all() {
    if [ -f "$PYSCOPE_ROOT/INSTALLED" ]; then
        for _f in pyscope-report pyscope-leak pyscope-offsets libpyscope-alloc.so; do
            [ -e "$PYSCOPE_BUILD/$_f" ] ||
                pyscope_die "$PYSCOPE_BUILD/$_f is missing: reinstall pyscope (make install)"
        done
        return 0
    fi
    make -s -C "$PYSCOPE_ROOT" BUILD="$PYSCOPE_BUILD" all >&2 ||
        pyscope_die "cannot build pyscope (make failed)"
}

# Milliseconds since the epoch (for -v timings).
pyscope_now_ms() { date +%s%3N; }

# pyscope_step MSG: with PYSCOPE_VERBOSE=1 (a tool's -v), one line saying
# how long after the tool started (PYSCOPE_T0, ms) MSG happened.
pyscope_step() {
    [ "${PYSCOPE_VERBOSE:-0}" = 1 ] || return 0
    printf '%s: %6d ms: %s\n' "$PYSCOPE_PROG" "$(($(pyscope_now_ms) - ${PYSCOPE_T0:-0}))" "$*" >&2
}

# pyscope_cpu_ticks PID: the CPU time PID has used so far (user + system,
# in clock ticks), or nothing when it is gone.
pyscope_cpu_ticks() {
    # fields after the command name, which may hold spaces and parentheses
    _st=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    _st=${_st##*) }
    set -- $_st
    [ $# -ge 13 ] && printf '%s\n' $((${12} + ${13}))
}

# pyscope_run_target OUTOPT FILE ERRFILE [STAP-ARGS...]: scripts/pyscope-run
# against the tool's target ($pid or $cmd, $runner_mode, $verbose), its
# stap output to FILE (OUTOPT -o, or --data to leave the command's stdout
# apart), its stderr to ERRFILE; sets PYSCOPE_RC to its exit status.  The
# runner goes in the background, so that an INT or TERM to this script
# alone (kill -INT, a supervisor) is passed on too, as a TERM, which the
# runner and stap treat like Ctrl-C (a background job ignores SIGINT);
# what was collected is then still written.  PYSCOPE_INTERRUPTED is 1
# after such a signal.
pyscope_run_target() {
    _o=$1 _f=$2 _e=$3
    shift 3
    _v=""
    [ "${verbose:-0}" = 0 ] || _v=-v
    if [ "${PYSCOPE_DRY_RUN:-0}" = 1 ]; then
        # --dry-run: the run, as one shell-quoted command line, and no run
        if [ -n "$pid" ]; then set -- -p "$pid" -- "$@"; else set -- -c "$cmd" -- "$@"; fi
        printf 'pyscope-run%s' "${runner_mode:+ $runner_mode}"
        for _w in "$@"; do printf ' %s' "$(pyscope_quote "$_w")"; done
        printf '\n'
        exit 0
    fi
    if [ -n "$pid" ]; then
        PYSCOPE_TARGET_DONE=1 "$PYSCOPE_ROOT/scripts/pyscope-run" $runner_mode $_v \
            -p "$pid" "$_o" "$_f" -- "$@" 2> "$_e" &
    else
        PYSCOPE_TARGET_DONE=1 "$PYSCOPE_ROOT/scripts/pyscope-run" $runner_mode $_v \
            -c "$cmd" "$_o" "$_f" -- "$@" 2> "$_e" &
    fi
    _r=$!
    PYSCOPE_INTERRUPTED=0
    trap 'PYSCOPE_INTERRUPTED=1; pyscope_note "interrupted: writing what was collected"; kill -TERM "$_r" 2>/dev/null' INT TERM
    pyscope_wait "$_r"
    pyscope_signal_traps
}

# pyscope_stop_if_interrupted WHAT: after pyscope_run_target, when a signal
# stopped the run before WHAT ("the first sample") was collected: one line
# saying nothing was written, and the status of an interrupted run (130)
pyscope_stop_if_interrupted() {
    [ "${PYSCOPE_INTERRUPTED:-0}" = 1 ] || return 0
    pyscope_note "interrupted before $1: nothing written"
    exit 130
}

# pyscope_wait PID: wait for the background job PID to end, through the
# signals this script traps meanwhile (wait returns early, status > 128,
# when one arrives); its exit status in PYSCOPE_RC.
pyscope_wait() {
    while :; do
        wait "$1"
        PYSCOPE_RC=$?
        [ "$PYSCOPE_RC" -gt 128 ] && kill -0 "$1" 2>/dev/null && continue
        break
    done
}

# pyscope_fresh_dir DIR: DIR, made and emptied, with an empty DIR/out
# (what a guest run's --out-dir fills); prints DIR's absolute path.  For
# tests/regrtest.sh and tests/soak.sh, whose logs live there.
pyscope_fresh_dir() {
    mkdir -p "$1" || pyscope_die "cannot create $1"
    _fd=$(CDPATH= cd -- "$1" && pwd) || pyscope_die "cannot enter $1"
    rm -rf "${_fd:?}"/*
    mkdir "$_fd/out" || pyscope_die "cannot create $_fd/out"
    printf '%s\n' "$_fd"
}

# pyscope_quote WORD: WORD as the shell reads it back (quoted when needed)
pyscope_quote() {
    case "$1" in
        "" | *[!A-Za-z0-9_./:=,+@%-]*)
            printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")" ;;
        *) printf '%s' "$1" ;;
    esac
}

pyscope_note() {
    [ "${PYSCOPE_QUIET:-0}" = 1 ] || printf '%s: %s\n' "$PYSCOPE_PROG" "$*" >&2
}

# The kernel the guest boots: PYSCOPE_KERNEL if set, else the newest
# /boot/vmlinuz-* that also has headers (/lib/modules/K/build) to build for.
pyscope_guest_kernel() {
    if [ -n "${PYSCOPE_KERNEL:-}" ]; then
        printf '%s\n' "$PYSCOPE_KERNEL"
        return 0
    fi
    for img in $(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -rV); do
        k=${img#/boot/vmlinuz-}
        if [ -d "/lib/modules/$k/build" ] && [ -d "/lib/modules/$k/kernel" ]; then
            printf '%s\n' "$k"
            return 0
        fi
    done
    return 1
}

# Does header file(s) under the kernel's include trees mention a word?
_pyscope_kheader_has() {
    k=$1 word=$2
    shift 2
    for rel in "$@"; do
        for top in "/lib/modules/$k/source" "/lib/modules/$k/build"; do
            [ -f "$top/$rel" ] && grep -qw -- "$word" "$top/$rel" && return 0
        done
    done
    return 1
}

# Print the runtime directory stap must use for kernel K.  SystemTap 4.8's
# runtime has two defects against 6.1.0-2x+ kernels and one in its output
# transport (see scripts/lib/stap-4.8-fixes/); each is detected from the
# kernel headers and the installed runtime, and only a needed fix is
# applied, to a copy under $PYSCOPE_STATE.  The system's runtime is never
# modified.
pyscope_stap_runtime() {
    k=$1
    sysrt=/usr/share/systemtap/runtime
    [ -d "$sysrt" ] || pyscope_die "SystemTap runtime not found at $sysrt (run scripts/install-deps.sh)"
    # The answer is fixed for a given runtime and kernel headers: kept,
    # with their stamps (some twenty greps cost seconds under emulation)
    memo=$PYSCOPE_STATE/stap-runtime/choice-$k
    stamp=$(stat -L -c '%Y %s' "$sysrt/linux/addr-map.c" "$sysrt/transport/relay_v2.c" \
        "/lib/modules/$k/build/Makefile" "$PYSCOPE_ROOT/scripts/lib/common.sh" \
        "$PYSCOPE_ROOT"/scripts/lib/stap-4.8-fixes/*.patch 2>/dev/null | tr '\n' ' ')
    if [ -f "$memo" ]; then
        { IFS= read -r mstamp; IFS= read -r mdir; } < "$memo"
        if [ "$mstamp" = "$stamp" ] && [ -d "$mdir" ]; then
            printf '%s\n' "$mdir"
            return 0
        fi
    fi
    dir=$(_pyscope_stap_runtime_choose "$k" "$sysrt") || exit 1
    { mkdir -p "$PYSCOPE_STATE/stap-runtime" &&
        printf '%s\n%s\n' "$stamp" "$dir" > "$memo.$$" && mv "$memo.$$" "$memo"; } 2>/dev/null
    printf '%s\n' "$dir"
}

_pyscope_stap_runtime_choose() {
    k=$1 sysrt=$2
    fixes=""
    # 1. task_work_cancel(task, func) became task_work_cancel_func().
    if _pyscope_kheader_has "$k" task_work_cancel_func include/linux/task_work.h &&
        ! grep -q task_work_cancel_func "$sysrt/stp_task_work.c"; then
        fixes="$fixes task-work-cancel-func"
    fi
    # 2. user_addr_max() is gone: user reads from interrupt context fail.
    if ! _pyscope_kheader_has "$k" user_addr_max \
            arch/x86/include/asm/uaccess.h arch/x86/include/asm/uaccess_64.h \
            include/linux/uaccess.h include/asm-generic/uaccess.h \
            include/asm-generic/access_ok.h &&
        ! grep -q 'define user_addr_max' "$sysrt/linux/addr-map.c"; then
        fixes="$fixes user-addr-max"
    fi
    # 3. A relay sub-buffer tail of 1-8 bytes is handed out for a message
    #    header that is then not written: stapio reads stale bytes as a
    #    header, loses its framing and drops what follows ("transport
    #    failures", output lost mid-run).
    if grep -q '} else if (buf->offset + size_request > buf->chan->subbuf_size) {' \
            "$sysrt/transport/relay_v2.c"; then
        fixes="$fixes relay-short-tail"
    fi
    # 4. stapio stops its readers as soon as the module answers STP_EXIT:
    #    what they had not read yet, the end probes' output on a busy run,
    #    was lost.  The module now waits for them to take it, as long as
    #    they make progress, and says so when they did not.
    if grep -q '^static void _stp_transport_data_fs_stop(void)' "$sysrt/transport/relay_v2.c" &&
        ! grep -q _stp_transport_data_fs_drain "$sysrt/transport/relay_v2.c"; then
        fixes="$fixes relay-drain-at-exit"
    fi
    # 5. Not a fix: a cache of the unwind rules of user pcs, so that a
    #    sampled stack costs lookups, not a walk of the CFI programs, for
    #    every pc seen before (see the patch).
    if grep -q '^static int unwind_frame(struct unwind_context \*context,' "$sysrt/unwind.c" &&
        ! grep -q stp_uw_rule "$sysrt/unwind.c"; then
        fixes="$fixes unwind-rule-cache"
    fi
    if [ -z "$fixes" ]; then
        printf '%s\n' "$sysrt"
        return 0
    fi
    ver=$(stap -V 2>&1 | sed -n 's/.*version \([0-9.]*\).*/\1/p' | head -n 1)
    # the patches' contents name the copy too: a changed patch, a new copy
    sum=$(for f in $fixes; do cat "$PYSCOPE_ROOT/scripts/lib/stap-4.8-fixes/$f.patch"; done |
        md5sum | cut -c1-8)
    tag=$(printf '%s' "$ver$fixes+$sum" | tr ' ' '+')
    dir=$PYSCOPE_STATE/stap-runtime/$tag
    if [ ! -f "$dir/.pyscope-fixed" ]; then
        rm -rf "$dir.tmp"
        mkdir -p "$dir.tmp"
        cp -a "$sysrt/." "$dir.tmp/"
        for f in $fixes; do
            patch -s -p1 -d "$dir.tmp" \
                < "$PYSCOPE_ROOT/scripts/lib/stap-4.8-fixes/$f.patch" ||
                pyscope_die "runtime fix $f does not apply to $sysrt"
        done
        printf '%s\n' $fixes > "$dir.tmp/.pyscope-fixed"
        rm -rf "$dir"
        mv "$dir.tmp" "$dir"
    fi
    printf '%s\n' "$dir"
}
