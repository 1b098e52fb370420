# run-vm.sh: pyscope-run's guest mode (sourced by scripts/pyscope-run).
# The module is compiled here for Debian's kernel (into pyscope's module
# cache), while a throwaway QEMU guest boots that kernel over this
# machine's filesystem (read-only, 9p); inside it scripts/lib/guest-job.sh
# runs staprun (or, with --no-stap, the command alone) and powers off.
# The guest's output files are followed from here while it runs.
#
# pyscope_run_vm STAP-ARGS...: uses pyscope-run's settings ($cmd, $out,
# $data, $outdir, $nostap, $bindcopy, $timeout, $keep, $defaults, say) and
# exits with the guest's status (stap's, or with --no-stap the command's).

# The job directory the guest sees at /run/pyscope-job (a 9p share):
# env.sh and cmd.sh from here, job.sh (guest-job.sh), the list of binaries
# to copy to tmpfs, and the files the guest writes (stdout, data, stderr,
# rc, console.log).  Removed at exit unless --keep.
_vm_job_new() {
    job=$(mktemp -d "${TMPDIR:-/tmp}/pyscope-job.XXXXXX") ||
        pyscope_die "cannot create a job directory"
    mkdir -p "$job/compile" "$job/results"
    cp "$PYSCOPE_ROOT/scripts/lib/guest-job.sh" "$job/job.sh"
    : > "$job/env.stamp"
}

# The job's environment: the caller's settings the guest needs.
_vm_env() {
    printf 'PYSCOPE_CWD=%s\n' "$(pyscope_quote "$(pwd)")"
    printf 'export PATH=%s\n' "$(pyscope_quote "$PATH")"
    printf 'export HOME=/root LANG=C.UTF-8 PYTHONUNBUFFERED=1\n'
    for v in PYTHONPATH PYTHONHASHSEED PYSCOPE_TEST PYSCOPE_QUIET \
             PYSCOPE_CACHE PYSCOPE_OFFSETS_DIR PYSCOPE_TABLES; do
        eval "val=\${$v-}"
        [ -z "$val" ] || printf 'export %s=%s\n' "$v" "$(pyscope_quote "$val")"
    done
    # build products and state only as the caller's environment sets them:
    # a tool in the guest otherwise uses its own tree's (a checkout's, or
    # an installed one's), as it would here
    for v in PYSCOPE_BUILD PYSCOPE_STATE; do
        val=$(printenv "$v") || continue
        [ -z "$val" ] || printf 'export %s=%s\n' "$v" "$(pyscope_quote "$val")"
    done
    printf 'export PYSCOPE_EMULATED=1\n'
    if [ "$nostap" = 1 ]; then
        # pyscope's tools run in the guest: their modules are compiled here
        printf 'export PYSCOPE_COMPILE_SERVICE=/run/pyscope-job/compile\n'
        [ -z "$outdir" ] || printf 'export PYSCOPE_OUT=/run/pyscope-job/results\n'
    fi
}

# The ELF files the module probes or unwinds through, and those named with
# --bind-copy: the guest copies them to tmpfs (uprobes cannot be
# registered on 9p files); then the guest may go on.
_vm_job_ready() {
    if [ -n "$ko" ]; then
        strings -a "$ko" | grep '^/[^ ]*$' | sort -u | while IFS= read -r f; do
            [ -f "$f" ] || continue
            head -c 4 "$f" 2>/dev/null | grep -q 'ELF' && printf '%s\n' "$f"
        done > "$job/binaries"
        say "probed binaries: $(tr '\n' ' ' < "$job/binaries")"
    fi
    if [ -n "$bindcopy" ]; then
        printf '%s' "$bindcopy" | while IFS= read -r f; do
            grep -qxF -- "$f" "$job/binaries" || printf '%s\n' "$f" >> "$job/binaries"
        done
        say "copied to tmpfs in the guest: $(printf '%s' "$bindcopy" | tr '\n' ' ')"
    fi
    : > "$job/ready"
}

# _vm_boot CMDLINE-EXTRA: boot the guest on $job and follow it until it is
# gone: its stdout to $out (or stdout), its data to $data, its stderr to
# stderr; meanwhile finish a compile in the background ($cpid), serve the
# compile requests of tools running in the guest, stop it at -T or on a
# signal, and stop a guest whose kernel locked up.  Returns the job's
# exit status (1, with its console's last words, when it has none).
#
# One emulated CPU, on one host thread.  With two, each on a host thread
# of its own (QEMU's default), about 1 cpu-sample run in 20-50 locked the
# guest up: both CPUs spinning on one instruction in syscall entry
# (syscall_trace_enter) right after the module started, that is, after the
# kernel had patched its own code (static keys, as tracepoints and perf
# events are switched on) while the other CPU ran it.  With two taking
# turns on one thread (thread=single), a probe waiting for a lock held by
# the other CPU waited out that CPU's whole turn, and perf samples were
# skipped by the hundred (stap gives up at 100).  One CPU has neither.
# A guest kernel that still locks up is stopped from here once its console
# reports a CPU stuck for 100 s or more, so that the run ends, not hangs.
# setsid: a Ctrl-C at the terminal must reach only us, not QEMU.
_vm_boot() {
    initrd=$(sh "$PYSCOPE_ROOT/scripts/lib/make-initramfs.sh" "$krel") ||
        pyscope_die "cannot build the guest initramfs"
    : > "$job/stdout"
    : > "$job/stderr"
    : > "$job/data"
    mem=${PYSCOPE_GUEST_MEM:-2048}
    case "${PYSCOPE_GUEST_CLOCK:-wall}" in
        wall) clock="" ;;
        # shift=0: one instruction is one nanosecond of guest time
        icount) clock="-icount shift=0,sleep=on"
                say "guest clock: instruction count (icount, 1 ns each)" ;;
        *) pyscope_die "PYSCOPE_GUEST_CLOCK must be wall or icount" ;;
    esac
    # shellcheck disable=SC2086
    setsid qemu-system-x86_64 -accel tcg,thread=single -cpu max -smp 1 -m "$mem" $clock \
        -nodefaults -display none -no-reboot \
        -kernel "/boot/vmlinuz-$krel" -initrd "$initrd" \
        -append "console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init $1" \
        -serial "file:$job/console.log" \
        -fsdev "local,id=hostroot,path=/,readonly=on,security_model=none,multidevs=remap" \
        -device "virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot" \
        -fsdev "local,id=job,path=$job,security_model=none" \
        -device "virtio-9p-pci,fsdev=job,mount_tag=job" \
        > "$job/qemu.log" 2>&1 &
    qpid=$!
    say "guest booting (qemu pid $qpid)"

    if [ -n "$out" ]; then
        : > "$out" || pyscope_die "cannot write $out"
        tail -c +1 -f --pid="$qpid" "$job/stdout" > "$out" &
    else
        tail -c +1 -f --pid="$qpid" "$job/stdout" &
    fi
    tailpid=$!
    datapid=""
    if [ -n "$data" ]; then
        : > "$data" || pyscope_die "cannot write $data"
        tail -c +1 -f --pid="$qpid" "$job/data" > "$data" &
        datapid=$!
    fi
    tail -c +1 -f --pid="$qpid" "$job/stderr" >&2 &
    errpid=$!

    booted=0 start=$(date +%s) stopped_at=0 servers=""
    while kill -0 "$qpid" 2>/dev/null; do
        # the module compiled while the guest booted (-T counts from here)
        if [ -n "$cpid" ] && [ -f "$job/compile.rc" ]; then
            cpid=""
            [ "$(cat "$job/compile.rc")" = 0 ] ||
                pyscope_die "stap could not compile the script"
            say "compiled in $(($(now_ms) - t0)) ms: $ko"
            _vm_job_ready
            start=$(date +%s)
        fi
        if [ -n "$cpid" ] && [ "$interrupted" = 1 ]; then
            pkill -TERM -P "$cpid" 2>/dev/null
            kill "$cpid" 2>/dev/null
            pyscope_die "interrupted while compiling the script"
        fi
        # the compile service: a tool in the guest missed the module cache
        for r in "$job"/compile/*.req; do
            [ -f "$r/key" ] && [ ! -e "$r/taken" ] || continue
            : > "$r/taken"
            say "compiling for a tool in the guest: $(basename -- "$r" .req)"
            ( pyscope_module_serve "$r" "$kbuild" "$rt" ) &
            servers="$servers $!"
        done
        if [ "$booted" = 0 ] && [ -e "$job/booted" ]; then
            booted=1
            say "guest up in $(($(now_ms) - t1)) ms"
        fi
        if [ "$timeout" -gt 0 ] && [ "$stopped_at" = 0 ] &&
            [ $(($(date +%s) - start)) -ge "$timeout" ]; then
            say "time limit of ${timeout}s reached, stopping"
            : > "$job/stop"
            stopped_at=$(date +%s)
        fi
        if [ "$interrupted" = 1 ] && [ "$stopped_at" = 0 ]; then
            stopped_at=$(date +%s)
        fi
        if grep -q 'soft lockup - CPU#[0-9]* stuck for [0-9][0-9][0-9]' "$job/console.log" 2>/dev/null; then
            printf 'pyscope-run: the guest kernel locked up (its console: a CPU stuck for 100 s); stopping it\n' >&2
            kill "$qpid" 2>/dev/null
            break
        fi
        # A guest that does not shut down within 60 s of a stop request is killed.
        if [ "$stopped_at" -gt 0 ] && [ $(($(date +%s) - stopped_at)) -ge 60 ]; then
            kill "$qpid" 2>/dev/null
        fi
        sleep 0.2
    done
    wait "$qpid" 2>/dev/null
    qpid=""
    for p in $servers; do kill "$p" 2>/dev/null; done
    if [ -n "$outdir" ]; then
        cp -R "$job/results/." "$outdir/" 2>/dev/null ||
            printf 'pyscope-run: could not copy the guest'"'"'s outputs to %s\n' "$outdir" >&2
    fi
    # shellcheck disable=SC2086
    wait "$tailpid" "$errpid" $datapid 2>/dev/null
    say "guest done after $(($(now_ms) - t1)) ms"

    if [ ! -f "$job/rc" ]; then
        printf 'pyscope-run: the guest ended without a result; its console said:\n' >&2
        if grep -q 'soft lockup' "$job/console.log"; then
            # the first report, with the stuck CPU's registers and stack
            sed -n '/soft lockup/,$p' "$job/console.log" | head -n 80 >&2
        else
            tail -n 15 "$job/console.log" >&2
        fi
        return 1
    fi
    return "$(cat "$job/rc")"
}

# _vm_kernel_symbols KBUILD: the guest kernel's symbol table, once.
# Debian's linux-image ships a placeholder System.map, and without the
# real one SystemTap assumes the kernel has no uretprobes (".return"
# probes on user functions are refused).  The real table is read from the
# guest's own /proc/kallsyms (a boot of its own, with nokaslr, so that its
# addresses are the link-time ones) and kept, with links to the kernel
# headers, in a build tree of our own that stap takes as -r KBUILD.
_vm_kernel_symbols() {
    kb=$1
    say "reading the guest kernel's symbol table (once, into $kb)"
    mkdir -p "$kb" || pyscope_die "cannot create $kb"
    src=$(readlink -f "/lib/modules/$krel/build")
    for e in "$src"/* "$src"/.config "$src"/.kernelvariables; do
        [ -e "$e" ] && ln -sfn "$e" "$kb/$(basename -- "$e")"
    done
    map=$kb/System.map.$$
    # a boot of its own, in a subshell: its job, settings and exit trap
    # are its own
    (
        job="" qpid="" ko="" cpid="" out=$map data="" outdir="" nostap=0
        bindcopy="" timeout=0 interrupted=0 t0=$(now_ms) t1=$(now_ms)
        trap '[ -z "$qpid" ] || kill "$qpid" 2>/dev/null; [ -z "$job" ] || rm -rf "$job"' EXIT
        trap 'interrupted=1; [ -z "$job" ] || : > "$job/stop"' INT TERM HUP
        _vm_job_new
        _vm_env > "$job/env.sh"
        printf 'exec cat /proc/kallsyms\n' > "$job/cmd.sh"
        : > "$job/binaries"
        : > "$job/ready"
        _vm_boot nokaslr
    ) || { rm -f "$map"; pyscope_die "cannot read the guest kernel's symbol table"; }
    grep -q ' arch_uretprobe_hijack_return_addr$' "$map" ||
        { rm -f "$map"; pyscope_die "the guest kernel's symbol table looks incomplete"; }
    # the kernel's own symbols only (modules loaded in the guest vary)
    grep -v '\[' "$map" > "$map.k" && mv "$map.k" "$kb/System.map"
    rm -f "$map"
}

pyscope_run_vm() {
    [ -z "$pid" ] || pyscope_die "-p $pid: the QEMU guest cannot reach a host process; use -c CMD, or --host on a machine that loads modules"
    command -v qemu-system-x86_64 >/dev/null 2>&1 ||
        pyscope_die "qemu-system-x86_64 not found (run scripts/install-deps.sh)"
    krel=$(pyscope_guest_kernel) ||
        pyscope_die "no guest kernel with headers found (install linux-image-amd64 linux-headers-amd64)"
    # (also for --no-stap: its command may run pyscope's tools, whose
    # modules the compile service builds)
    rt=$(pyscope_stap_runtime "$krel") || exit 1

    # a private directory for the compile (removed by _vm_cleanup, also
    # when a compile running while the guest boots is cut short)
    [ -n "${PYSCOPE_TMP:-}" ] || pyscope_tmp_init
    job="" qpid=""
    trap '_vm_cleanup' EXIT
    trap 'interrupted=1; [ -z "$job" ] || : > "$job/stop"' INT TERM HUP
    interrupted=0

    kbuild=$PYSCOPE_STATE/kernel-$krel
    [ -s "$kbuild/System.map" ] || _vm_kernel_symbols "$kbuild"

    _vm_job_new
    # Compile on the host for the guest kernel, into pyscope's module
    # cache.  A module that is not in the cache is compiled while the
    # guest boots: the guest waits for $job/ready (written once the module
    # and the list of binaries it probes are there) before it copies those
    # binaries and starts staprun.
    t0=$(now_ms)
    cpid=""
    ko=""
    if [ "$nostap" = 1 ]; then
        : > "$job/binaries"
        say "no SystemTap module (--no-stap)"
    else
        [ -z "$cmd" ] || set -- "$@" -c "$cmd"
        # shellcheck disable=SC2086
        pyscope_module_split $defaults "$@"
        key=$(pyscope_module_key "$krel" "$rt")
        ko=$(pyscope_module_path "$krel" "$key")
        if [ -f "$ko" ]; then
            say "module from the cache in $(($(now_ms) - t0)) ms: $ko"
        else
            say "compiling for $krel (stap -p4 -r $kbuild), while the guest boots"
            ( pyscope_module_compile "$krel" "$kbuild" "$rt" "$key"
              echo $? > "$job/compile.rc" ) &
            cpid=$!
        fi
    fi
    t1=$(now_ms)
    [ -n "$cpid" ] || _vm_job_ready

    # The job: environment and the staprun command, quoted safely.
    _vm_env > "$job/env.sh"
    bufopt=""
    prev=""
    for a in "$@"; do
        [ "$prev" != "-s" ] || bufopt=" -b $(pyscope_quote "$a")"
        prev=$a
    done
    if [ "$nostap" = 1 ]; then
        printf 'exec /bin/sh -c %s\n' "$(pyscope_quote "$cmd")" > "$job/cmd.sh"
    else
        {
            # stap's output goes to a file in the guest's memory, copied
            # to the job directory as it grows (see guest-job.sh); the command
            # staprun starts gets its environment unchanged
            printf 'exec staprun%s -o /dev/shm/pyscope-out' "$bufopt"
            [ -z "$cmd" ] || printf ' -c %s' "$(pyscope_quote "$cmd")"
            printf ' %s' "$(pyscope_quote "$ko")"
            # module parameters (-G NAME=VALUE) follow the module
            (eval "$(pyscope_args_set "${PYSCOPE_RUN_PARAMS:-}")"
             for p in "$@"; do printf ' %s' "$(pyscope_quote "$p")"; done)
            printf '\n'
        } > "$job/cmd.sh"
        # where job.sh copies stap's output (see there)
        if [ -n "$data" ]; then echo data; else echo stdout; fi > "$job/out"
    fi

    _vm_boot ""
    exit $?
}

_vm_cleanup() {
    [ -z "$qpid" ] || kill "$qpid" 2>/dev/null
    [ -z "${PYSCOPE_TMP:-}" ] || rm -rf "$PYSCOPE_TMP"
    [ -n "$job" ] || return 0
    if [ "$keep" = 1 ]; then
        printf 'pyscope-run: job directory kept: %s\n' "$job" >&2
    else
        rm -rf "$job"
    fi
}
