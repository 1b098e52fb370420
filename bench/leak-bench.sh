#!/bin/sh
# leak-bench.sh: what allocation tracing costs, as ratios.
#
# Runs a workload (examples/alloc_churn.py by default: allocation-heavy,
# memory flat) untraced and under each tracer (the contenders below), all
# in pyscope's QEMU guest (the same emulation), and prints for each the
# median of the `elapsed:` the workload itself measures around its work
# loop (interpreter start-up, tracer compile/attach and guest boot are not
# counted) and its ratio to the untraced median measured in the same run.
# A benchmark, never a test.
#
# The guest's clock (--clock): icount, the default, makes the guest count
# its instructions as its time (1 ns each, one emulation thread; see
# scripts/pyscope-run), so a ratio is one of instructions executed in the
# whole guest (the workload, the kernel's trap and probe handling, the
# tracer's own user-space reader) and repeats to within about 1% whatever
# the host is doing; like callgrind's counts, it leaves out what an
# instruction costs on real hardware (caches, pipeline flushes of a trap).
# wall: the emulation's real time, which on this kind of host varies by
# 10-30% from run to run (the host's load; emulation makes indirect
# branches and traps dearer than hardware does).
#
# usage: bench/leak-bench.sh [-r RUNS] [-n ITERATIONS] [-t THREADS]
#                            [-w WORKLOAD] [--clock icount|wall]
#                            [-o DIR] [--only NAME,...] [--contenders FILE]
#                            [--no-install]
#   -r RUNS        runs of every contender (default 3; the median is taken)
#   -n ITERATIONS  the workload's --iterations (default 120000 for
#                  alloc_churn.py, 4000 for service_churn.py: a few seconds
#                  untraced in the guest)
#   -t THREADS     the workload's --threads (default 1)
#   -w WORKLOAD    the workload: a script taking --iterations and
#                  --threads and printing `elapsed: S s`, e.g.
#                  examples/service_churn.py (a JSON request handler: work
#                  between its allocations, as services have)
#   --clock CLOCK  icount (default) or wall, as above
#   -o DIR         logs of every run and the table (default build/bench-leak)
#   --only LIST    only these contenders (comma-separated; the untraced
#                  baseline always runs)
#   --contenders FILE  the contender list from FILE (same format as the
#                  built-in one, below), e.g. to try a new one
#   --no-install   do not run scripts/install-deps.sh --bench first
#
# Rounds: each of the RUNS rounds boots one guest (scripts/pyscope-run
# --no-stap) that runs every `guest` contender one after another, so the
# baseline and the peers share a boot; their order rotates from round to
# round.  A `host` contender is a command run here that boots a guest of its
# own (pyscope's tools do: scripts/leak-watch.sh -> scripts/pyscope-run), once
# per round.  A contender whose files are missing prints "skipped: REASON";
# one whose run fails prints "failed" and the log to read.
set -u
PYSCOPE_PROG=leak-bench
. "$(dirname -- "$0")/../scripts/lib/common.sh"

# ------------------------------------------------------------ contenders
# One line each: NAME  WHERE  NEEDS  COMMAND
#   WHERE    guest: run inside the round's shared guest (no SystemTap);
#            host: run on this machine, boots its own guest
#   NEEDS    files that must exist (comma-separated), or -
#   COMMAND  a shell command line; @CMD@ is the workload
#            (@PY@ @CHURN@ --iterations @N@ --threads @T@), @OUT@ an output
#            prefix of this run (under DIR), @ROOT@ the checkout
# It must print the workload's `elapsed: S s` line (on stdout or stderr).
# The first line is the baseline.  `uprobes` is trace mode's floor: its
# very uprobes with empty handlers (bench/uprobes-floor.sh).  `runtime` is
# sampled mode's floor: the sampling runtime preloaded and sampling, with
# no SystemTap attached (its probes are then no-ops), i.e. the cost of the
# allocator hooks alone.
contenders() {
    if [ -n "$list" ]; then cat -- "$list"; return; fi
    cat <<'EOF'
untraced     guest  -                         @CMD@
tracemalloc  guest  -                         @PY@ -X tracemalloc=25 @CHURN@ --iterations @N@ --threads @T@
runtime      guest  @ROOT@/build/libpyscope-alloc.so  env LD_PRELOAD=@ROOT@/build/libpyscope-alloc.so @CMD@
memleak      guest  /usr/sbin/memleak-bpfcc   sh @ROOT@/bench/memleak-wrap.sh @CMD@
uprobes      host   @ROOT@/bench/uprobes-floor.sh  @ROOT@/bench/uprobes-floor.sh @PY@ '@CMD@'
trace        host   @ROOT@/scripts/leak-watch.sh  @ROOT@/scripts/leak-watch.sh -c '@CMD@' -o @OUT@
sampled      host   @ROOT@/scripts/leak-watch.sh,@ROOT@/build/libpyscope-alloc.so  @ROOT@/scripts/leak-watch.sh -c 'env LD_PRELOAD=@ROOT@/build/libpyscope-alloc.so @CMD@' -o @OUT@
sampled2m    host   @ROOT@/scripts/leak-watch.sh,@ROOT@/build/libpyscope-alloc.so  @ROOT@/scripts/leak-watch.sh -c 'env PYSCOPE_ALLOC_SAMPLE=2097152 LD_PRELOAD=@ROOT@/build/libpyscope-alloc.so @CMD@' -o @OUT@
EOF
}

usage() { sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//p}' "$0"; }

runs=3 iters="" threads=1 dir=$PYSCOPE_BUILD/bench-leak only="" install=1 list=""
CHURN=$PYSCOPE_ROOT/examples/alloc_churn.py clock=icount
while [ $# -gt 0 ]; do
    case "$1" in
        -r|-n|-t|-w|-o|--only|--contenders|--clock)
            [ $# -ge 2 ] || pyscope_die "$1 needs a value (try -h)"
            case "$1" in
                -r) runs=$2 ;; -n) iters=$2 ;; -t) threads=$2 ;;
                -o) dir=$2 ;; --only) only=$2 ;; --contenders) list=$2 ;;
                -w) CHURN=$2 ;; --clock) clock=$2 ;;
            esac
            shift 2 ;;
        --no-install) install=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) pyscope_die "unknown argument '$1' (try -h)" ;;
    esac
done
case "$clock" in icount|wall) ;; *) pyscope_die "--clock is icount or wall" ;; esac
export PYSCOPE_GUEST_CLOCK=$clock
[ -r "$CHURN" ] || pyscope_die "cannot read the workload $CHURN"
CHURN=$(CDPATH= cd -- "$(dirname -- "$CHURN")" && pwd)/$(basename -- "$CHURN")
case "$CHURN" in *[!A-Za-z0-9_./+-]*) pyscope_die "the workload's path must be plain (letters, digits, _./+-)" ;; esac
if [ -z "$iters" ]; then
    case "$CHURN" in */service_churn.py) iters=4000 ;; *) iters=120000 ;; esac
fi
for v in "$runs" "$iters" "$threads"; do
    case "$v" in *[!0-9]*|""|0) pyscope_die "-r, -n and -t need positive whole numbers" ;; esac
done

PY=/usr/bin/python3.11
[ -z "$list" ] || [ -r "$list" ] || pyscope_die "cannot read $list"
[ -x "$PY" ] || pyscope_die "$PY not found (run scripts/install-deps.sh)"
if [ "$install" = 1 ]; then
    "$PYSCOPE_ROOT/scripts/install-deps.sh" --bench ||
        pyscope_note "could not install the bench packages; contenders that need them are skipped"
fi
mkdir -p "$dir" || pyscope_die "cannot create $dir"
dir=$(CDPATH= cd -- "$dir" && pwd)
rm -f "$dir"/*.times "$dir"/*.failed "$dir"/*.log "$dir"/round-* "$dir"/table.txt

# The libc python3.11 runs with, copied to tmpfs in the guest and bound over
# its path: BPF uprobes (memleak's) cannot be registered on a file on 9p.
# Every guest contender, the baseline too, runs with this same copy.
libc=$(ldd "$PY" | awk '$1 ~ /^libc\.so/ { print $3; exit }')
[ -f "$libc" ] || pyscope_die "cannot find the libc of $PY"

CMD="$PY $CHURN --iterations $iters --threads $threads"
expand() {  # expand TEXT [OUT]
    printf '%s\n' "$1" | sed -e "s|@CMD@|$CMD|g" -e "s|@PY@|$PY|g" \
        -e "s|@CHURN@|$CHURN|g" -e "s|@N@|$iters|g" -e "s|@T@|$threads|g" \
        -e "s|@ROOT@|$PYSCOPE_ROOT|g" -e "s|@OUT@|${2:-}|g"
}
quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

# Which contenders run, and why the others do not.
names="" guest_names="" host_names="" base=""
while read -r name where needs command; do
    case "$name" in ''|'#'*) continue ;; esac
    if [ -z "$base" ]; then
        base=$name
        [ "$where" = guest ] || pyscope_die "the baseline ($name) must run in the guest"
    elif [ -n "$only" ]; then
        case ",$only," in *",$name,"*) ;; *) continue ;; esac
    fi
    names="$names $name"
    printf '%s\n' "$command" > "$dir/$name.command"
    why=""
    if [ "$needs" != - ]; then
        for f in $(expand "$needs" | tr ',' ' '); do
            [ -e "$f" ] && continue
            why="$f not found"
            case "$f" in *-bpfcc) why="$why (bpfcc-tools: scripts/install-deps.sh --bench)" ;; esac
            break
        done
    fi
    if [ -n "$why" ]; then
        printf '%s\n' "$why" > "$dir/$name.skipped"
        continue
    fi
    rm -f "$dir/$name.skipped"
    case "$where" in
        guest) guest_names="$guest_names $name" ;;
        host) host_names="$host_names $name" ;;
        *) pyscope_die "contender $name: WHERE must be guest or host, not '$where'" ;;
    esac
done <<EOF
$(contenders)
EOF
[ -n "$base" ] || pyscope_die "no contenders"

# elapsed seconds in a log, or nothing
elapsed_of() { sed -n 's/^elapsed: \([0-9.][0-9.]*\) s$/\1/p' "$1" | tail -n 1; }
# the last line that says something, as the reason of a failure
reason_of() { grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -n 1 | cut -c1-200; }
record() {  # record NAME ROUND LOG RC
    e=$(elapsed_of "$3")
    if [ "$4" = 0 ] && [ -n "$e" ]; then
        printf '%s\n' "$e" >> "$dir/$1.times"
        printf '  %-12s run %d: %s s\n' "$1" "$2" "$e" >&2
    else
        printf 'run %d: exit %s: %s (log: %s)\n' "$2" "$4" "$(reason_of "$3")" "$3" >> "$dir/$1.failed"
        printf '  %-12s run %d: failed (exit %s), see %s\n' "$1" "$2" "$4" "$3" >&2
    fi
}

guest_round() {  # guest_round R: one boot, every guest contender
    r=$1
    set -- $guest_names
    # rotate: round r starts with the ((r-1) mod n)-th contender
    n=$#; k=$(( (r - 1) % n ))
    while [ "$k" -gt 0 ]; do x=$1; shift; set -- "$@" "$x"; k=$((k - 1)); done
    script=$dir/round-$r.sh
    {
        printf '#!/bin/sh\n# leak-bench round %d, run in the guest by scripts/pyscope-run --no-stap\n' "$r"
        for name in "$@"; do
            printf 'echo "@@@ begin %s"\n' "$name"
            printf 'sh -c %s 2>&1 < /dev/null\n' "$(quote "$(expand "$(cat "$dir/$name.command")")")"
            printf 'echo "@@@ end %s rc=$?"\n' "$name"
        done
    } > "$script"
    pyscope_note "round $r: one guest boot for:$(printf ' %s' "$@")"
    "$PYSCOPE_ROOT/scripts/pyscope-run" --no-stap --bind-copy "$libc" \
        -o "$dir/round-$r.out" -c "sh $script" 2> "$dir/round-$r.err"
    grc=$?
    for name in "$@"; do
        log=$dir/$name.r$r.log
        awk -v b="@@@ begin $name" -v e="@@@ end $name rc=" '
            $0 == b { on = 1; next }
            on && index($0, e) == 1 { print substr($0, length(e) + 1) > "/dev/stderr"; on = 0; next }
            on { print }' "$dir/round-$r.out" > "$log" 2> "$log.rc"
        rc=$(cat "$log.rc"); rm -f "$log.rc"
        if [ -z "$rc" ]; then
            # never ended: the guest died or was stopped
            { echo "leak-bench: the guest round ended (pyscope-run exit $grc) before $name did:"
              tail -n 5 "$dir/round-$r.err"; } >> "$log"
            rc=${grc:-1}; [ "$rc" != 0 ] || rc=1
        fi
        record "$name" "$r" "$log" "$rc"
    done
}

host_round() {  # host_round R: every host contender, each its own boot
    r=$1
    for name in $host_names; do
        log=$dir/$name.r$r.log
        pyscope_note "round $r: $name (own guest boot)"
        sh -c "$(expand "$(cat "$dir/$name.command")" "$dir/$name.r$r")" > "$log" 2>&1 < /dev/null
        record "$name" "$r" "$log" $?
    done
}

load() { cut -d' ' -f1-3 /proc/loadavg; }
load0=$(load)
start=$(date +%s)
r=1
while [ "$r" -le "$runs" ]; do
    # alternate which goes first, so slow drift on the host hits both alike
    if [ $((r % 2)) = 1 ]; then
        guest_round "$r"; host_round "$r"
    else
        host_round "$r"; guest_round "$r"
    fi
    r=$((r + 1))
done

median() { sort -n "$1" | awk '{ a[NR] = $1 }
    END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

basemed=""
[ -s "$dir/$base.times" ] && basemed=$(median "$dir/$base.times")
{
    printf 'leak-bench: %s --iterations %s --threads %s, %s run(s) each,\n' "${CHURN#"$PYSCOPE_ROOT"/}" "$iters" "$threads" "$runs"
    if [ "$clock" = icount ]; then
        printf 'median of the elapsed time of its work loop, in the QEMU guest (%s, TCG, icount:\n' "$(pyscope_guest_kernel)"
        printf 'guest time counts guest instructions, 1 ns each);\n'
    else
        printf 'median of the elapsed time of its work loop, in the QEMU guest (%s, TCG, wall clock);\n' "$(pyscope_guest_kernel)"
    fi
    printf 'ratio = median / median of %s in the same bench run (%s s wall, host load %s -> %s)\n\n' \
        "$base" "$(($(date +%s) - start))" "$load0" "$(load)"
    printf '%-12s %-6s %10s %9s  %s\n' contender boot "median s" ratio "runs (s)"
    for name in $names; do
        where=$(contenders | awk -v n="$name" '$1 == n { print $2 }')
        boot=shared; [ "$where" = host ] && boot=own
        if [ -f "$dir/$name.skipped" ]; then
            printf '%-12s %-6s skipped: %s\n' "$name" "$boot" "$(cat "$dir/$name.skipped")"
            continue
        fi
        if [ ! -s "$dir/$name.times" ]; then
            printf '%-12s %-6s failed: %s\n' "$name" "$boot" "$(tail -n 1 "$dir/$name.failed")"
            continue
        fi
        med=$(median "$dir/$name.times")
        ratio=-
        [ -n "$basemed" ] && ratio=$(awk -v a="$med" -v b="$basemed" 'BEGIN { printf "%.2f", a / b }')
        okruns=$(wc -l < "$dir/$name.times")
        note=""
        [ "$okruns" -lt "$runs" ] && note="  ($okruns of $runs runs ok; see $dir/$name.failed)"
        printf '%-12s %-6s %10.3f %9s  %s%s\n' "$name" "$boot" "$med" "$ratio" \
            "$(tr '\n' ' ' < "$dir/$name.times" | sed 's/ $//')" "$note"
    done
    # each mode against its floor (the targets are set against these)
    for pair in trace:uprobes sampled:runtime sampled2m:runtime; do
        a=${pair%%:*} b=${pair#*:}
        [ -s "$dir/$a.times" ] && [ -s "$dir/$b.times" ] || continue
        printf '%s / %s (its floor): %s\n' "$a" "$b" "$(awk -v x="$(median "$dir/$a.times")" \
            -v y="$(median "$dir/$b.times")" 'BEGIN { printf "%.2f", x / y }')"
    done
    printf '\nboot: shared = the same guest boot as %s; own = a boot of its own (same emulation)\n' "$base"
    printf 'logs and commands: %s\n' "$dir"
} > "$dir/table.txt"
cat "$dir/table.txt"
[ -n "$basemed" ] || { pyscope_note "the baseline did not run"; exit 1; }
