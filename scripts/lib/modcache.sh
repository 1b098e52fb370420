# modcache.sh: pyscope's cache of compiled SystemTap modules (sourced after
# common.sh).
#
# A SystemTap run is two steps: stap compiles the script into a kernel
# module (passes 1-4: parse, elaborate, translate, build with the kernel's
# kbuild), and staprun loads it and starts the probes (pass 5).  The
# module does not depend on which process it will watch (-x PID, -c CMD
# and -o FILE are staprun's), so pyscope compiles once per distinct input
# and keeps the module here, keyed by everything the module is built from:
#
#   the stap binary, the kernel (release and its Module.symvers), the
#   runtime directory (stap -R, with pyscope's fixes), every compile-time
#   argument, the content of every tapset directory (-I) and script file,
#   and the size and time of every ELF file whose symbols and unwind data
#   go in (-d; the module also checks their build-ids when it loads).
#
# The same key is computed here and in the QEMU guest (which sees this
# machine's files at the same paths), so a module compiled here for the
# guest's kernel is what a tool in the guest finds: SystemTap's documented
# cross-instrumentation (stap -p4 -r KERNEL here, staprun there), with the
# bookkeeping done for the user.  SystemTap's own cache cannot serve the
# guest: its key is taken after pass 2, which alone costs 10-15 s of
# emulated time, and did not match across the two machines when tried.
#
#   pyscope_module_split ARG...      sets PYSCOPE_MOD_ARGS (compile-time
#                                    arguments, one per line, for
#                                    pyscope_args_set) and PYSCOPE_RUN_ARGS
#                                    (staprun's options, the same form)
#   pyscope_module_key KREL RT       the cache key of PYSCOPE_MOD_ARGS
#   pyscope_module_path KREL KEY     where that module is (or would be)
#   pyscope_module_compile KREL KBUILD RT KEY
#                                    compile PYSCOPE_MOD_ARGS into the
#                                    cache (KBUILD "" for the running
#                                    kernel's own build tree)
#   pyscope_module_request KREL KEY  ask the compile service of the guest
#                                    runner (PYSCOPE_COMPILE_SERVICE) to
#                                    compile PYSCOPE_MOD_ARGS on its host
#
# Arguments travel as text with one argument per line, each escaped by
# _pyscope_arg_enc (backslash and newline), so a -e script with newlines
# survives; pyscope_args_set decodes them back into "$@".

# (PYSCOPE_CACHE: common.sh)

_pyscope_nl='
'
_pyscope_arg_enc() {
    case "$1" in
        *\\*|*"$_pyscope_nl"*)
            printf '%s' "$1" | awk 'BEGIN { ORS = "" }
                { n = split($0, part, "\\"); out = part[1]
                  for (i = 2; i <= n; i++) out = out "\\\\" part[i]
                  if (NR > 1) print "\\n"
                  print out }
                END { print "\n" }' ;;
        *) printf '%s\n' "$1" ;;   # the common case, without a process
    esac
}

# pyscope_args_set LIST: prints a shell fragment that sets "$@" to the
# arguments of LIST (encoded by _pyscope_arg_enc); eval it.
pyscope_args_set() {
    printf 'set --'
    printf '%s' "$1" | awk '
        { s = $0; out = ""
          while ((i = index(s, "\\")) > 0) {
              out = out substr(s, 1, i - 1)
              c = substr(s, i + 1, 1)
              out = out (c == "n" ? "\n" : c)
              s = substr(s, i + 2)
          }
          out = out s
          gsub(/'\''/, "'\''\\'\'''\''", out)
          printf " '\''%s'\''", out }'
    printf '\n'
}

_pyscope_abs() {
    case "$1" in /*) printf '%s' "$1" ;; *) printf '%s/%s' "$(pwd)" "$1" ;; esac
}

# Options of stap that take a value, and which of them belong to staprun.
pyscope_module_split() {
    PYSCOPE_MOD_ARGS="" PYSCOPE_RUN_ARGS="" PYSCOPE_RUN_PARAMS="" PYSCOPE_MOD_SCRIPT=""
    _script=0
    while [ $# -gt 0 ]; do
        _pm_a=$1; shift
        case "$_pm_a" in
            -x|-o)
                [ $# -ge 1 ] || pyscope_die "stap option $_pm_a needs a value"
                PYSCOPE_RUN_ARGS="$PYSCOPE_RUN_ARGS$(_pyscope_arg_enc "$_pm_a")
$(_pyscope_arg_enc "$1")
"
                shift ;;
            -c)
                # staprun starts the command; stap also reads its program
                # (--ldd, process probes without a path)
                [ $# -ge 1 ] || pyscope_die "stap option -c needs a value"
                PYSCOPE_RUN_ARGS="$PYSCOPE_RUN_ARGS-c
$(_pyscope_arg_enc "$1")
"
                PYSCOPE_MOD_ARGS="$PYSCOPE_MOD_ARGS-c
$(_pyscope_arg_enc "$1")
"
                shift ;;
            -s)
                [ $# -ge 1 ] || pyscope_die "stap option -s needs a value"
                PYSCOPE_RUN_ARGS="$PYSCOPE_RUN_ARGS-b
$(_pyscope_arg_enc "$1")
"
                shift ;;
            -G)
                [ $# -ge 1 ] || pyscope_die "stap option -G needs a value"
                PYSCOPE_RUN_PARAMS="$PYSCOPE_RUN_PARAMS$(_pyscope_arg_enc "$1")
"
                shift ;;
            -I|-d|-r|-R)
                # paths: made absolute (stap compiles in a directory of
                # its own)
                [ $# -ge 1 ] || pyscope_die "stap option $_pm_a needs a value"
                PYSCOPE_MOD_ARGS="$PYSCOPE_MOD_ARGS$(_pyscope_arg_enc "$_pm_a")
$(_pyscope_arg_enc "$(_pyscope_abs "$1")")
"
                shift ;;
            -D|-e|-E|-B|-a|-m|-p|-T|-S|-C|-j)
                [ $# -ge 1 ] || pyscope_die "stap option $_pm_a needs a value"
                [ "$_pm_a" != -e ] || _script=1
                PYSCOPE_MOD_ARGS="$PYSCOPE_MOD_ARGS$(_pyscope_arg_enc "$_pm_a")
$(_pyscope_arg_enc "$1")
"
                shift ;;
            -*)
                PYSCOPE_MOD_ARGS="$PYSCOPE_MOD_ARGS$(_pyscope_arg_enc "$_pm_a")
" ;;
            *)
                # the script file (unless -e gave the script), then its
                # arguments ($1, @1...): compile-time
                if [ "$_script" = 0 ]; then
                    _script=1
                    _pm_a=$(_pyscope_abs "$_pm_a")
                    PYSCOPE_MOD_SCRIPT=$_pm_a
                fi
                PYSCOPE_MOD_ARGS="$PYSCOPE_MOD_ARGS$(_pyscope_arg_enc "$_pm_a")
" ;;
        esac
    done
}

# The manifest the key is the digest of.  Few processes: under emulation
# each one costs a tenth of a second or more.
_pyscope_module_manifest() {
    _pm_krel=$1 _pm_rt=$2
    printf 'pyscope-module 2\nkernel %s\nruntime %s\n' "$_pm_krel" "$_pm_rt"
    eval "$(pyscope_args_set "$PYSCOPE_MOD_ARGS")"
    # -d files are read through --sysroot=DIR when there is one
    _sysroot=""
    for _pm_a in "$@"; do
        case "$_pm_a" in --sysroot=*) _sysroot=${_pm_a#--sysroot=} ;; esac
    done
    # sizes and times of the files whose identity matters: stap, the
    # kernel's symbol versions, every -d file and -c program
    _stamped="$(command -v stap)
/lib/modules/$_pm_krel/build/Module.symvers"
    while [ $# -gt 0 ]; do
        _pm_a=$1; shift
        case "$_pm_a" in
            -I) printf 'I\n'
                ( cd "$1" 2>/dev/null && md5sum -- *.stp *.stpm 2>/dev/null )
                shift ;;
            -d) printf 'd %s\n' "$1"
                _stamped="$_stamped
$_sysroot$1"
                shift ;;
            -c) # the program, not its arguments, goes into the module
                _prog=$(set -f; set -- $1; command -v -- "$1" 2>/dev/null || printf '%s' "$1")
                printf 'c %s\n' "$_prog"
                _stamped="$_stamped
$_prog"
                shift ;;
            -D|-e|-E|-B|-a|-r|-R|-m|-p|-T|-S|-C|-j)
                printf '%s %d:%s\n' "$_pm_a" "${#1}" "$1"; shift ;;
            *)
                if [ -n "$PYSCOPE_MOD_SCRIPT" ] && [ "$_pm_a" = "$PYSCOPE_MOD_SCRIPT" ] &&
                    [ -f "$_pm_a" ]; then
                    printf 'script '
                    md5sum < "$_pm_a"
                    PYSCOPE_MOD_SCRIPT=""
                else
                    printf 'arg %d:%s\n' "${#_pm_a}" "$_pm_a"
                fi ;;
        esac
    done
    printf '%s\n' "$_stamped" | tr '\n' '\0' | xargs -0 stat -L -c '%n %s %Y' 2>&1
}

pyscope_module_key() {
    _k=$(_pyscope_module_manifest "$1" "$2" | md5sum)
    printf '%s\n' "${_k%% *}"
}

# The file is named after the module inside it (staprun -R renames a
# module by its file name): pyscope_ and 24 digits of the key.
pyscope_module_path() {
    _k=$2
    while [ ${#_k} -gt 24 ]; do _k=${_k%?}; done
    printf '%s/modules/%s/pyscope_%s.ko\n' "$PYSCOPE_CACHE" "$1" "$_k"
}

# pyscope_module_compile KREL KBUILD RT KEY: compile into the cache; stap's
# messages go to stderr (the symbol-table warning of a kernel that is not
# the running one filtered out).  Returns stap's status.
pyscope_module_compile() {
    _pm_krel=$1 _pm_kbuild=${2:+$(_pyscope_abs "$2")} _pm_rt=$(_pyscope_abs "$3") _pm_key=$4
    _pm_dest=$(pyscope_module_path "$_pm_krel" "$_pm_key")
    mkdir -p "$(dirname -- "$_pm_dest")" || pyscope_die "cannot create $(dirname -- "$_pm_dest")"
    # inside the run's private directory when there is one, so that an
    # interrupted compile leaves nothing behind either
    _ctmp=$(mktemp -d "${PYSCOPE_TMP:-${TMPDIR:-/tmp}}/pyscope-compile.XXXXXX") ||
        pyscope_die "cannot create a temporary directory"
    eval "$(pyscope_args_set "$PYSCOPE_MOD_ARGS")"
    set -- -p4 ${_pm_kbuild:+-r "$_pm_kbuild"} -R "$_pm_rt" -m "$(basename -- "$_pm_dest" .ko)" "$@"
    # in the background, so that INT, TERM or HUP stop it at once: stap
    # stopped, the directory removed, the shell's status for the signal
    ( cd "$_ctmp" && exec stap "$@" > "$_ctmp/out" 2> "$_ctmp/err" ) &
    _pm_stap=$!
    trap '_pyscope_compile_stop 129' HUP
    trap '_pyscope_compile_stop 130' INT
    trap '_pyscope_compile_stop 143' TERM
    wait "$_pm_stap"
    _rc=$?
    pyscope_signal_traps
    grep -v 'Kernel function symbol table missing' "$_ctmp/err" >&2
    _pm_ko=$(tail -n 1 "$_ctmp/out")
    case "$_pm_ko" in /*) ;; ?*) _pm_ko=$_ctmp/$_pm_ko ;; esac
    if [ "$_rc" = 0 ] && [ -f "$_pm_ko" ]; then
        cp "$_pm_ko" "$_pm_dest.tmp.$$" && mv "$_pm_dest.tmp.$$" "$_pm_dest" || _rc=1
    else
        [ "$_rc" != 0 ] || _rc=1
    fi
    rm -rf "$_ctmp"
    return "$_rc"
}

_pyscope_compile_stop() {
    kill -TERM "$_pm_stap" 2>/dev/null
    wait "$_pm_stap"
    rm -rf "$_ctmp"
    exit "$1"
}

# pyscope_module_request KREL KEY: the guest's side of the compile service
# (see scripts/pyscope-run, --no-stap): the arguments, and a copy of every
# tapset directory and script file (they may exist only in the guest), go
# to the runner through the job directory; the host compiles for this
# kernel and puts the module in the request, from where it is copied into
# this machine's cache.  Status 0 when the module is in the cache.
pyscope_module_request() {
    _pm_krel=$1 _pm_key=$2 _pm_svc=$PYSCOPE_COMPILE_SERVICE
    _pm_req=$_pm_svc/$_pm_key.$$
    rm -rf "$_pm_req.tmp"
    mkdir -p "$_pm_req.tmp/b" || pyscope_die "cannot write to the compile service ($_pm_svc)"
    eval "$(pyscope_args_set "$PYSCOPE_MOD_ARGS")"
    _pm_n=0 _pm_script=$PYSCOPE_MOD_SCRIPT
    while [ $# -gt 0 ]; do
        _pm_a=$1; shift
        _pm_n=$((_pm_n + 1))
        case "$_pm_a" in
            -I) _pyscope_arg_enc "$_pm_a" > "$_pm_req.tmp/$(printf 'a%04d' $_pm_n)"
                _pm_n=$((_pm_n + 1))
                mkdir -p "$_pm_req.tmp/b/$_pm_n"
                cp "$1"/*.stp "$1"/*.stpm "$_pm_req.tmp/b/$_pm_n/" 2>/dev/null
                printf 'b/%s\n' "$_pm_n" > "$_pm_req.tmp/$(printf 'a%04d.bundle' $_pm_n)"
                shift ;;
            -c|-d|-D|-e|-E|-B|-a|-r|-R|-m|-p|-T|-S|-C|-j)
                _pyscope_arg_enc "$_pm_a" > "$_pm_req.tmp/$(printf 'a%04d' $_pm_n)"
                _pm_n=$((_pm_n + 1))
                _pyscope_arg_enc "$1" > "$_pm_req.tmp/$(printf 'a%04d' $_pm_n)"
                shift ;;
            *)
                if [ -n "$_pm_script" ] && [ "$_pm_a" = "$_pm_script" ] && [ -f "$_pm_a" ]; then
                    mkdir -p "$_pm_req.tmp/b/$_pm_n"
                    cp "$_pm_a" "$_pm_req.tmp/b/$_pm_n/$(basename -- "$_pm_a")"
                    printf 'b/%s/%s\n' "$_pm_n" "$(basename -- "$_pm_a")" > "$_pm_req.tmp/$(printf 'a%04d.bundle' $_pm_n)"
                    _pm_script=""
                else
                    _pyscope_arg_enc "$_pm_a" > "$_pm_req.tmp/$(printf 'a%04d' $_pm_n)"
                fi ;;
        esac
    done
    printf '%s\n' "$_pm_krel" > "$_pm_req.tmp/krel"
    printf '%s\n' "$_pm_key" > "$_pm_req.tmp/key"
    mv "$_pm_req.tmp" "$_pm_req.req" || pyscope_die "cannot write to the compile service ($_pm_svc)"
    # the runner answers with rc (and err, module.ko)
    i=0
    while [ ! -f "$_pm_req.req/rc" ]; do
        [ -d "$_pm_req.req" ] || pyscope_die "the compile service dropped the request"
        i=$((i + 1))
        [ "$i" -lt 9000 ] || pyscope_die "the compile service did not answer within 15 minutes"
        sleep 0.1
    done
    cat "$_pm_req.req/err" >&2 2>/dev/null
    _rc=$(cat "$_pm_req.req/rc")
    if [ "$_rc" = 0 ]; then
        _pm_dest=$(pyscope_module_path "$_pm_krel" "$_pm_key")
        mkdir -p "$(dirname -- "$_pm_dest")" &&
            cp "$_pm_req.req/module.ko" "$_pm_dest.tmp.$$" && mv "$_pm_dest.tmp.$$" "$_pm_dest" || _rc=1
    fi
    # renamed first: the runner never sees a half-removed request
    mv "$_pm_req.req" "$_pm_req.done" && rm -rf "$_pm_req.done"
    return "$_rc"
}

# pyscope_module_serve REQDIR KBUILD RT: the runner's side: compile one
# request (a REQDIR named *.req, which the caller marked taken) for the
# guest.
pyscope_module_serve() {
    _pm_r=$1 _pm_kbuild=$2 _pm_rt=$3
    _pm_krel=$(cat "$_pm_r/krel") _pm_key=$(cat "$_pm_r/key")
    case "$_pm_key" in *[!0-9a-f]*|"") echo 1 > "$_pm_r/rc"; return 1 ;; esac
    set --
    for _pm_f in "$_pm_r"/a[0-9][0-9][0-9][0-9] "$_pm_r"/a[0-9][0-9][0-9][0-9].bundle; do
        [ -e "$_pm_f" ] && printf '%s\n' "$_pm_f"
    done | sort > "$_pm_r/order"
    PYSCOPE_MOD_ARGS=""
    while IFS= read -r _pm_f; do
        case "$_pm_f" in
            *.bundle) PYSCOPE_MOD_ARGS="$PYSCOPE_MOD_ARGS$(_pyscope_arg_enc "$_pm_r/$(cat "$_pm_f")")
" ;;
            *) PYSCOPE_MOD_ARGS="$PYSCOPE_MOD_ARGS$(cat "$_pm_f")
" ;;
        esac
    done < "$_pm_r/order"
    # every file the guest named must be this machine's same file
    eval "$(pyscope_args_set "$PYSCOPE_MOD_ARGS")"
    _sysroot=""
    for _pm_a in "$@"; do
        case "$_pm_a" in --sysroot=*) _sysroot=${_pm_a#--sysroot=} ;; esac
    done
    while [ $# -gt 0 ]; do
        if [ "$1" = -d ] && [ ! -f "$_sysroot$2" ]; then
            printf 'pyscope compile service: %s exists only in the guest; the host cannot compile against it\n' "$_sysroot$2" > "$_pm_r/err"
            echo 1 > "$_pm_r/rc.tmp" && mv "$_pm_r/rc.tmp" "$_pm_r/rc"
            return 1
        fi
        shift
    done
    if pyscope_module_compile "$_pm_krel" "$_pm_kbuild" "$_pm_rt" "$_pm_key" 2> "$_pm_r/err"; then
        cp "$(pyscope_module_path "$_pm_krel" "$_pm_key")" "$_pm_r/module.ko" && echo 0 > "$_pm_r/rc.tmp" ||
            echo 1 > "$_pm_r/rc.tmp"
    else
        echo 1 > "$_pm_r/rc.tmp"
    fi
    mv "$_pm_r/rc.tmp" "$_pm_r/rc"
}
