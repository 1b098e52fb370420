# run-host.sh: pyscope-run's host mode (sourced by scripts/pyscope-run):
# the module comes from pyscope's module cache (scripts/lib/modcache.sh),
# compiled on a miss: here, or on the host of the QEMU guest this runs in
# when its runner offers a compile service; then staprun loads it into
# this kernel.  Its output reaches stdout, or FILE (-o / --data).
#
# pyscope_run_host STAP-ARGS...: uses pyscope-run's settings ($cmd, $pid,
# $out, $data, $defaults, say) and exits with staprun's status.
pyscope_run_host() {
    [ -e /proc/modules ] ||
        pyscope_die "this kernel cannot load modules (no CONFIG_MODULES); use --vm, or a machine whose kernel loads them"
    krel=$(uname -r)
    [ -d "/lib/modules/$krel/build" ] ||
        pyscope_die "no build tree for the running kernel $krel (install linux-headers-$krel)"
    command -v staprun >/dev/null 2>&1 ||
        pyscope_die "staprun not found (run scripts/install-deps.sh)"
    rt=$(pyscope_stap_runtime "$krel") || exit 1
    # the private directory first: a compile cut short leaves nothing
    [ -n "${PYSCOPE_TMP:-}" ] || pyscope_tmp_init
    [ -z "$cmd" ] || set -- "$@" -c "$cmd"
    [ -z "$pid" ] || set -- "$@" -x "$pid"
    [ -z "$pid" ] || [ -d "/proc/$pid" ] ||
        pyscope_die "PID $pid exited before the probes could start"
    # shellcheck disable=SC2086
    pyscope_module_split $defaults "$@"
    t0=$(now_ms)
    key=$(pyscope_module_key "$krel" "$rt")
    ko=$(pyscope_module_path "$krel" "$key")
    if [ -f "$ko" ]; then
        say "module from the cache in $(($(now_ms) - t0)) ms: $ko"
    elif [ -n "${PYSCOPE_COMPILE_SERVICE:-}" ] && [ -d "$PYSCOPE_COMPILE_SERVICE" ]; then
        say "not in the cache: asking the guest runner's host to compile it"
        pyscope_module_request "$krel" "$key" ||
            pyscope_die "stap could not compile the script (on the compile service's host)"
        say "compiled on the host in $(($(now_ms) - t0)) ms: $ko"
    else
        say "compiling for $krel (stap -p4)"
        pyscope_module_compile "$krel" "" "$rt" "$key" ||
            pyscope_die "stap could not compile the script"
        say "compiled in $(($(now_ms) - t0)) ms: $ko"
    fi
    # stap's output goes through a pipe and cat: SystemTap 4.8's stapio
    # drops what it has not read when the run ends, and falls behind when
    # each of its writes is slow (a file on NFS, 9p, a slow terminal);
    # into a pipe its writes are quick, and cat passes on everything
    hostdir=$PYSCOPE_TMP
    mkfifo "$hostdir/out" || pyscope_die "cannot create a pipe in $hostdir"
    dest=${out:-$data}
    if [ -n "$dest" ]; then
        : > "$dest" || pyscope_die "cannot write $dest"
        cat "$hostdir/out" > "$dest" &
    else
        cat "$hostdir/out" &
    fi
    copier=$!
    # staprun [options] MODULE [module parameters]; -R gives the module a
    # name of its own, so that runs of one module can overlap
    eval "$(pyscope_args_set "$PYSCOPE_RUN_ARGS-o
$hostdir/out
-R
$(_pyscope_arg_enc "$ko")
${PYSCOPE_RUN_PARAMS:-}")"
    # staprun -x waits for a process that is gone as if it were idle
    # (a writer that comes and goes lets a cat still waiting to open the
    # pipe see its end; read-write, so that it never blocks)
    release_copier() {
        while kill -0 "$copier" 2>/dev/null; do
            exec 3<> "$hostdir/out"; exec 3>&-
            sleep 0.1
        done
    }
    if [ -n "$pid" ] && [ ! -d "/proc/$pid" ]; then
        release_copier
        pyscope_die "PID $pid exited before the probes could start"
    fi
    say "loading: staprun $*"
    staprun "$@" &
    sp=$!
    # Ctrl-C reaches staprun with the rest of the process group; a TERM or
    # INT sent to this script alone is passed on
    trap 'kill -TERM "$sp" 2>/dev/null' INT TERM HUP
    pyscope_wait "$sp"
    # a staprun that failed before opening the pipe leaves cat waiting
    release_copier
    wait "$copier"
    exit "$PYSCOPE_RC"
}
