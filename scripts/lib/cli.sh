# cli.sh: the command line every pyscope tool shares (sourced after
# common.sh and target.sh, POSIX sh).
#
# One flag vocabulary, one meaning each, in every tool:
#   -p, --pid PID        attach to a running process; a bare PID does the same
#   -c, --cmd CMD        start CMD and follow it until it exits
#   -d, --duration SECS  stop after SECS (0: when the target ends, or Ctrl-C)
#   -o, --output PREFIX  write PREFIX.<ext> files
#   -F, --rate HZ        samples a second (tools that sample)
#   --vm, --host         force the QEMU guest or the host kernel
#   --dry-run            check everything, print the run's command line
#                        (pyscope-run and stap's arguments) and exit
#   -v, --verbose        say how long each step took
#   -h, --help           the tool's usage()
# Long options take their value as the next word or after '=' (--pid=12);
# short ones as the next word or attached (-F99).
#
# A tool sets PYSCOPE_CLI_VALUES (its own options that take a value, "-F"
# included when it samples), PYSCOPE_CLI_FLAGS (its own options without
# one) and PYSCOPE_CLI_ALIASES (long names of its own short options, as
# "--interval=-i"), defines usage() and tool_option NAME VALUE for its own options, and
# calls:
#   pyscope_cli_parse "$@"   sets pid cmd secs prefix hz runner_mode verbose
#                            (defaults: the tool's own, set before the call);
#                            prefix_given=1 when -o was given
#   pyscope_cli_check        every shared value and PYSCOPE_* setting
#                            checked before anything is built or booted:
#                            one line and exit 1 when one is wrong
# and later pyscope_stap_args_file (the stap words for the target; for
# cpu-sample.stp all of them: pyscope_cpu_sample_args),
# and pyscope_progress (a progress line every 10 s).

# the shared values' defaults (a tool sets hz and prefix after sourcing)
pid="" cmd="" secs=0 hz="" prefix="" prefix_given=0 runner_mode="" verbose=0

# Is NAME (canonical) an option that takes a value?
_pyscope_cli_takes_value() {
    case " -p -c -d -o $PYSCOPE_CLI_VALUES " in *" $1 "*) return 0 ;; esac
    return 1
}
_pyscope_cli_is_flag() {
    case " --vm --host --dry-run -v -h $PYSCOPE_CLI_FLAGS " in *" $1 "*) return 0 ;; esac
    return 1
}

pyscope_cli_parse() {
    while [ $# -gt 0 ]; do
        _a=$1
        shift
        _v="" _hv=0
        case "$_a" in
            --) [ $# -eq 0 ] || pyscope_die "unexpected argument '$1' (try -h)"
                break ;;
            --*=*) _n=${_a%%=*} _v=${_a#*=} _hv=1 ;;
            --?*) _n=$_a ;;
            -[A-Za-z]) _n=$_a ;;
            -[A-Za-z]?*) _n=${_a%"${_a#??}"} _v=${_a#??} _hv=1 ;;
            -*) pyscope_die "unknown option '$_a' (try -h)" ;;
            *)
                # a bare PID
                case "$_a" in
                    *[!0-9]*|"") pyscope_die "unexpected argument '$_a' (try -h)" ;;
                esac
                [ -z "$pid" ] || pyscope_die "unexpected argument '$_a': PID $pid was given already"
                pid=$_a
                continue ;;
        esac
        case "$_n" in
            --pid) _n=-p ;;
            --cmd|--command) _n=-c ;;
            --duration) _n=-d ;;
            --output) _n=-o ;;
            --rate) _n=-F ;;
            --verbose) _n=-v ;;
            --help) _n=-h ;;
        esac
        # a tool's own long names for its short options: "--interval=-i"
        for _al in ${PYSCOPE_CLI_ALIASES:-}; do
            [ "$_n" != "${_al%%=*}" ] || _n=${_al#*=}
        done
        if _pyscope_cli_takes_value "$_n"; then
            if [ "$_hv" = 0 ]; then
                [ $# -ge 1 ] || pyscope_die "$_a needs a value (try -h)"
                _v=$1
                shift
            fi
        elif _pyscope_cli_is_flag "$_n"; then
            [ "$_hv" = 0 ] || pyscope_die "$_n takes no value, got '$_a'"
        else
            pyscope_die "unknown option '$_a' (try -h)"
        fi
        case "$_n" in
            -p) pid=$_v ;;
            -c) cmd=$_v ;;
            -d) secs=$_v ;;
            -o) prefix=$_v prefix_given=1 ;;
            -F) hz=$_v ;;
            --vm|--host) runner_mode=$_n ;;
            --dry-run) PYSCOPE_DRY_RUN=1; export PYSCOPE_DRY_RUN ;;
            -v) verbose=1 PYSCOPE_VERBOSE=1; export PYSCOPE_VERBOSE ;;
            -h) usage; exit 0 ;;
            *) tool_option "$_n" "$_v" ;;
        esac
    done
}

# pyscope_cli_whole NAME VALUE MIN MAX: VALUE is a whole number in MIN..MAX
pyscope_cli_whole() {
    case "$2" in
        *[!0-9]*|"") pyscope_die "$1 needs a whole number, got '$2'" ;;
    esac
    # (leading zeros: read as decimal, and no overflow of [ -le ])
    _w=$(pyscope_cli_dec "$2")
    [ "${#_w}" -le 12 ] && [ "$_w" -ge "$3" ] && [ "$_w" -le "$4" ] ||
        pyscope_die "$1 must be $3..$4, got $2"
}

# pyscope_cli_number VAR NAME MIN MAX: $VAR (a tool's own variable) is a
# whole number in MIN..MAX, for option NAME; left without leading zeros.
pyscope_cli_number() {
    eval "_nv=\$$1"
    pyscope_cli_whole "$2" "$_nv" "$3" "$4"
    eval "$1=\$(pyscope_cli_dec \"\$_nv\")"
}

# pyscope_cli_dec NUMBER: a checked whole number without leading zeros
# (sh arithmetic reads 010 as octal)
pyscope_cli_dec() {
    _w=$(printf '%s' "$1" | sed 's/^0*//')
    printf '%s\n' "${_w:-0}"
}

# pyscope_cli_prefix PREFIX: the files PREFIX.* can be written: a name
# (not a directory) in a directory this user can create files in.
pyscope_cli_prefix() {
    case "$1" in
        "") pyscope_die "-o needs a file name prefix, got an empty one" ;;
        */|*/.|*/..|.|..) pyscope_die "-o needs a file name prefix, not a directory ('$1'); e.g. -o ${1%/}/profile" ;;
        *'
'*) pyscope_die "-o: a prefix cannot contain a newline" ;;
    esac
    _od=$(dirname -- "$1")
    [ -d "$_od" ] || pyscope_die "cannot write $1.*: no directory $_od"
    # tried for real: access(2) says yes to root on a read-only mount of
    # some file systems and on NFS with root squashed
    _t=$(mktemp "$_od/.pyscope-check.XXXXXX" 2>/dev/null) ||
        pyscope_die "cannot write $1.*: $_od is not writable"
    rm -f -- "$_t"
}

# The PYSCOPE_* settings a user may give, checked like flags.
pyscope_cli_env() {
    if [ -n "${PYSCOPE_ALLOC_SAMPLE+set}" ]; then
        case "$PYSCOPE_ALLOC_SAMPLE" in
            0) ;;
            *[!0-9]*|"") pyscope_die "PYSCOPE_ALLOC_SAMPLE must be a number of bytes (0: sampling off), got '$PYSCOPE_ALLOC_SAMPLE'" ;;
        esac
    fi
    if [ -n "${PYSCOPE_ALLOC_SEED+set}" ]; then
        case "$PYSCOPE_ALLOC_SEED" in
            *[!0-9]*|"") pyscope_die "PYSCOPE_ALLOC_SEED must be a whole number, got '$PYSCOPE_ALLOC_SEED'" ;;
        esac
    fi
    case "${PYSCOPE_GUEST_CLOCK:-wall}" in wall|icount) ;;
        *) pyscope_die "PYSCOPE_GUEST_CLOCK must be wall or icount, got '$PYSCOPE_GUEST_CLOCK'" ;;
    esac
    case "${PYSCOPE_GUEST_MEM:-2048}" in
        *[!0-9]*|"") pyscope_die "PYSCOPE_GUEST_MEM must be MiB, a whole number, got '$PYSCOPE_GUEST_MEM'" ;;
    esac
    [ "${PYSCOPE_GUEST_MEM:-2048}" -ge 256 ] ||
        pyscope_die "PYSCOPE_GUEST_MEM must be at least 256 (MiB), got $PYSCOPE_GUEST_MEM"
    for _e in PYSCOPE_VERBOSE PYSCOPE_QUIET; do
        eval "_ev=\${$_e:-0}"
        case "$_ev" in 0|1) ;;
            *) pyscope_die "$_e must be 0 or 1, got '$_ev'" ;;
        esac
    done
}

pyscope_cli_check() {
    [ -n "$pid$cmd" ] || pyscope_die "give a PID, -p PID or -c CMD (try -h)"
    [ -z "$pid" ] || [ -z "$cmd" ] || pyscope_die "give -p PID or -c CMD, not both"
    if [ -n "$pid" ]; then
        case "$pid" in
            *[!0-9]*|0*) pyscope_die "-p needs a process ID, got '$pid'" ;;
        esac
        # attaching loads a kernel module into this kernel: root, before anything
        [ "$(id -u)" = 0 ] ||
            pyscope_die "attaching to PID $pid needs root (SystemTap loads a kernel module)"
    else
        [ -n "$cmd" ] || pyscope_die "-c needs a command"
    fi
    pyscope_cli_number secs -d 0 31536000
    case " $PYSCOPE_CLI_VALUES " in
        *" -F "*) pyscope_cli_number hz -F 1 10000 ;;
    esac
    [ "$prefix_given" = 0 ] && [ -z "$prefix" ] || pyscope_cli_prefix "$prefix"
    pyscope_cli_env
}

# pyscope_stap_args_file FILE: the stap words for the target, one a line
# (the tapsets, its binaries' unwind data); a tool reads them back into
# its argument list (POSIX sh has no arrays), so no word is ever split.
pyscope_stap_args_file() {
    pyscope_stap_tapset_args > "$1" && pyscope_stap_target_args >> "$1"
}

# pyscope_attached_param: the module parameter cpu-sample.stp and
# leak-watch.stp take for how the target came ($pid: attached, 1; -c: 0)
pyscope_attached_param() {
    if [ -n "${pid:-}" ]; then echo pyscope_attached=1; else echo pyscope_attached=0; fi
}

# pyscope_cpu_sample_args FILE HZ CHILDREN PYONLY WALL: the whole stap
# argument list of a run of scripts/cpu-sample.stp (cpu-sample.sh and
# py-top.sh, one compiled module for both), one word a line as above:
# the transport buffer, pyscope_stap_args_file's words, the duration ($secs)
# and whether the target was attached to ($pid) as module parameters (one
# module serves every -d, -p and -c), the script and its
# arguments (its head comment says what they are).
pyscope_cpu_sample_args() {
    {
        printf -- '-s\n32\n'
        pyscope_stap_tapset_args && pyscope_stap_target_args &&
            printf -- '-G\npyscope_duration_s=%s\n-G\n%s\n%s\n%s\n%s\n%s\n%s\n' \
                "$secs" "$(pyscope_attached_param)" "$PYSCOPE_ROOT/scripts/cpu-sample.stp" \
                "$((1000000000 / $2))" "$3" "$4" "$5"
    } > "$1"
}

# pyscope_progress 'COMMAND': in the background, every 10 s, one line on
# stderr saying what COMMAND prints (a count so far); stopped by the
# tool's exit (PYSCOPE_HELPERS) or pyscope_progress_stop.
pyscope_progress() {
    (
        # (the sleep keeps no copy of our output: killing this loop must
        # close it at once, or a reader of the output waits for the sleep)
        while sleep 10 < /dev/null > /dev/null 2>&1; do
            pyscope_note "$(eval "$1")"
        done
    ) &
    _pyscope_progress=$!
    PYSCOPE_HELPERS="${PYSCOPE_HELPERS:-} $_pyscope_progress"
}
pyscope_progress_stop() {
    [ -z "${_pyscope_progress:-}" ] || kill "$_pyscope_progress" 2>/dev/null
    _pyscope_progress=""
}

# pyscope_target_gone ERRFILE: the one line when an attached process was
# gone before the probes started.
pyscope_target_gone() {
    [ -z "$pid" ] || ! grep -q 'exited before the probes could start' "$1" ||
        pyscope_die "PID $pid exited before the probes could start; nothing written"
}
