#!/bin/sh
# cpu-bench.sh: what CPU sampling costs, as ratios and instructions a sample.
#
# Runs CPU-bound workloads (examples/cpu_churn.py) untraced and under each
# profiler (the contenders below), all inside pyscope's QEMU guest with the
# icount clock (guest time counts guest instructions, 1 ns each, so a
# measurement repeats to within about 1% whatever the host is doing), and
# prints per workload the median of the `elapsed:` the workload measures
# around its work loop, its ratio to the untraced median of the same bench
# run, and the extra instructions per sample taken: (median - untraced
# median) / samples.  Profilers run in the guest exactly as on a server
# whose kernel loads modules (pyscope's tools in host mode; a module they
# miss in pyscope's cache is compiled on this machine by the runner's
# compile service, before the workload starts).  Instruction counts leave
# out what a trap or an interrupt costs on real hardware beyond its
# instructions (pipeline flushes, cache misses): there every sample costs
# more.  A benchmark, never a test.
#
# usage: bench/cpu-bench.sh [-r RUNS] [-n ITERATIONS] [-w WORKLOADS]
#                           [--only NAME,...] [-o DIR] [--results FILE]
#                           [--no-install]
#   -r RUNS        rounds; each round is one guest boot running every
#                  contender on every workload (default 3: medians and
#                  spread of 3)
#   -n ITERATIONS  cpu_churn.py --iterations (default 10000: some 3.5 s of
#                  guest time untraced)
#   -w WORKLOADS   comma-separated (default python,callback,threads,deep;
#                  also pingpong, switch-heavy: make bench-wall)
#   --only LIST    only these contenders (the untraced baseline always runs)
#   -o DIR         logs and the table (default build/bench-cpu)
#   --results FILE the table, the machine and the date, also written to
#                  FILE (default bench/results/cpu.md, which the README
#                  links; "" writes none)
#   --no-install   do not run scripts/install-deps.sh --bench first
set -u
PYSCOPE_PROG=cpu-bench
. "$(dirname -- "$0")/../scripts/lib/common.sh"

# ------------------------------------------------------------ contenders
# NAME  COMMAND (run in the guest by sh -c; @CMD@ is the workload command,
# @OUT@ a scratch prefix).  It must pass the workload's `elapsed: S s` line
# through and print `samples: N` (how many samples the profiler took).
contenders() {
    cat <<'EOF'
untraced      @CMD@; echo "samples: 0"
perf-99       perf record -q -F 99 -g -o @OUT@.data -- @CMD@; echo "samples: $(perf script -i @OUT@.data -F pid 2>/dev/null | wc -l)"
perf-999      perf record -q -F 999 -g -o @OUT@.data -- @CMD@; echo "samples: $(perf script -i @OUT@.data -F pid 2>/dev/null | wc -l)"
bpftrace-999  bpftrace -q -e 'profile:hz:999 /pid == cpid/ { @s[ustack] = count(); @n = @n + 1; } END { printf("samples: %d\n", @n); clear(@s); clear(@n); }' -c '@CMD@'
stap-empty    @ROOT@/scripts/pyscope-run -c '@CMD@' -- -e 'global n; probe perf.sw.cpu_clock.sample(1001001) { if (pid() == target()) n++ } probe end { printf("samples: %d\n", n) }'
stap-ustack   @ROOT@/scripts/pyscope-run -c '@CMD@' -- -d /usr/bin/python3.11 --ldd -e 'global n; probe perf.sw.cpu_clock.sample(1001001) { if (pid() == target()) { n++; try { for (i = 0; i < 100; i++) if (ustack(i) == 0) break } catch { } } } probe end { printf("samples: %d\n", n) }'
stap-pywalk   @ROOT@/scripts/pyscope-run -c '@CMD@' -- -I @ROOT@/tapsets -e 'global n; probe perf.sw.cpu_clock.sample(1001001) { if (pid() == target()) { n++; f = py_current_frame(py_tstate()); try { for (i = 0; f != 0 && i < 1000; i++) { c = py_frame_code(f); l = py_frame_lasti(f); f = py_frame_previous(f) } } catch { } } } probe end { printf("samples: %d\n", n) }'
cs-merged-99  @ROOT@/scripts/cpu-sample.sh -c '@CMD@' -F 99 -o @OUT@ --top 0 2>&1 | sed 's/^pyscope: \([0-9]*\) samples (.*/samples: \1/'
cs-merged-999 @ROOT@/scripts/cpu-sample.sh -c '@CMD@' -F 999 -o @OUT@ --top 0 2>&1 | sed 's/^pyscope: \([0-9]*\) samples (.*/samples: \1/'
stap-switch   @ROOT@/scripts/pyscope-run -c '@CMD@' -- -e 'global n, m; probe perf.sw.context_switches.sample(1) { if (pid() == target()) n++ } probe kprobe.function("finish_task_switch.isra.0") !, kprobe.function("finish_task_switch") { if (pid() == target()) m++ } probe end { printf("samples: %d\n", n) }'
cs-wall-99    @ROOT@/scripts/cpu-sample.sh -c '@CMD@' -F 99 --wall -o @OUT@ --top 0 2>&1 | sed 's/^pyscope: \([0-9]*\) samples (.*/samples: \1/'
cs-python-999 @ROOT@/scripts/cpu-sample.sh -c '@CMD@' -F 999 --stack python -o @OUT@ --top 0 2>&1 | sed 's/^pyscope: \([0-9]*\) samples (.*/samples: \1/'
EOF
}

usage() { sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//p}' "$0"; }

runs=3 iters=10000 workloads=python,callback,threads,deep only="" install=1
results=$PYSCOPE_ROOT/bench/results/cpu.md
dir=$PYSCOPE_BUILD/bench-cpu
while [ $# -gt 0 ]; do
    case "$1" in
        -r|-n|-w|-o|--only|--results)
            [ $# -ge 2 ] || pyscope_die "$1 needs a value (try -h)"
            case "$1" in
                -r) runs=$2 ;; -n) iters=$2 ;; -w) workloads=$2 ;;
                -o) dir=$2 ;; --only) only=$2 ;; --results) results=$2 ;;
            esac
            shift 2 ;;
        --no-install) install=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) pyscope_die "unknown argument '$1' (try -h)" ;;
    esac
done
for v in "$runs" "$iters"; do
    case "$v" in *[!0-9]*|""|0) pyscope_die "-r and -n need positive whole numbers" ;; esac
done
for w in $(printf '%s' "$workloads" | tr ',' ' '); do
    case "$w" in python|callback|threads|deep|pingpong) ;; *) pyscope_die "no workload '$w' (python, callback, threads, deep, pingpong)" ;; esac
done
if [ "$install" = 1 ]; then
    "$PYSCOPE_ROOT/scripts/install-deps.sh" --bench ||
        pyscope_note "could not install the bench packages; contenders that need them fail"
fi
make -s -C "$PYSCOPE_ROOT" all >&2 || pyscope_die "make failed"
mkdir -p "$dir" || pyscope_die "cannot create $dir"
dir=$(CDPATH= cd -- "$dir" && pwd)
rm -f "$dir"/*.times "$dir"/*.samples "$dir"/round-* "$dir"/table.txt

PY=/usr/bin/python3.11
CHURN=$PYSCOPE_ROOT/examples/cpu_churn.py
names=""
while read -r name command; do
    case "$name" in ''|'#'*) continue ;; esac
    if [ -n "$only" ] && [ "$name" != untraced ]; then
        case ",$only," in *",$name,"*) ;; *) continue ;; esac
    fi
    names="$names $name"
    printf '%s\n' "$command" > "$dir/$name.command"
done <<EOF
$(contenders)
EOF
quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
expand() {  # expand TEXT WORKLOAD OUT
    printf '%s\n' "$1" | sed -e "s|@CMD@|$PY $CHURN --workload $2 --iterations $iters|g" \
        -e "s|@ROOT@|$PYSCOPE_ROOT|g" -e "s|@OUT@|$3|g"
}

# One guest boot per round: every workload, every contender (their order
# rotating from round to round); the guest's own /tmp holds the scratch.
round() {
    r=$1
    set -- $names
    n=$#; k=$(( (r - 1) % n ))
    while [ "$k" -gt 0 ]; do x=$1; shift; set -- "$@" "$x"; k=$((k - 1)); done
    script=$dir/round-$r.sh
    {
        printf '#!/bin/sh\n# cpu-bench round %d, run in the guest by scripts/pyscope-run --no-stap\n' "$r"
        printf 'cd %s\n' "$(quote "$PYSCOPE_ROOT")"
        for w in $(printf '%s' "$workloads" | tr ',' ' '); do
            for name in "$@"; do
                printf 'echo "@@@ begin %s %s"\n' "$w" "$name"
                printf 'sh -c %s 2>&1 < /dev/null\n' \
                    "$(quote "$(expand "$(cat "$dir/$name.command")" "$w" "/tmp/bench-$name-$w")")"
                printf 'echo "@@@ end %s %s rc=$?"\n' "$w" "$name"
                printf 'rm -rf /tmp/bench-%s-%s*\n' "$name" "$w"
            done
        done
    } > "$script"
    pyscope_note "round $r of $runs: one guest boot (icount clock)"
    PYSCOPE_GUEST_CLOCK=icount "$PYSCOPE_ROOT/scripts/pyscope-run" --no-stap \
        --bind-copy "$PY" -o "$dir/round-$r.out" -c "sh $script" 2> "$dir/round-$r.err" ||
        pyscope_note "round $r: the guest ended with an error (see $dir/round-$r.err)"
    for w in $(printf '%s' "$workloads" | tr ',' ' '); do
        for name in "$@"; do
            log=$dir/$w.$name.r$r.log
            awk -v b="@@@ begin $w $name" -v e="@@@ end $w $name rc=" '
                $0 == b { on = 1; next }
                on && index($0, e) == 1 { on = 0; next }
                on { print }' "$dir/round-$r.out" > "$log"
            e=$(sed -n 's/^elapsed: \([0-9.][0-9.]*\) s$/\1/p' "$log" | tail -n 1)
            s=$(sed -n 's/^samples: \([0-9][0-9]*\)$/\1/p' "$log" | tail -n 1)
            if [ -n "$e" ] && [ -n "$s" ]; then
                printf '%s\n' "$e" >> "$dir/$w.$name.times"
                printf '%s\n' "$s" >> "$dir/$w.$name.samples"
                printf '  %-9s %-14s round %d: %s s, %s samples\n' "$w" "$name" "$r" "$e" "$s" >&2
            else
                printf '  %-9s %-14s round %d: failed (see %s)\n' "$w" "$name" "$r" "$log" >&2
            fi
        done
    done
}

start=$(date +%s)
r=1
while [ "$r" -le "$runs" ]; do
    round "$r"
    r=$((r + 1))
done

median() { sort -n "$1" | awk '{ a[NR] = $1 }
    END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
spread() { sort -n "$1" | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.3f-%.3f", lo, hi }'; }
{
    printf 'cpu-bench: examples/cpu_churn.py --iterations %s, %s round(s), %s\n' "$iters" "$runs" "$(date -u +%Y-%m-%d)"
    printf 'machine: %s, %s CPUs (host); guest: %s under QEMU TCG, 1 CPU, icount clock\n' \
        "$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)" "$(nproc)" "$(pyscope_guest_kernel)"
    printf 'ratio = median elapsed / untraced median (same bench run); instr/sample = extra guest\n'
    printf 'instructions (1 ns each) / samples taken.  On hardware each sample costs more than its\n'
    printf 'instructions (the interrupt, cache and pipeline effects are not counted here).\n\n'
    for w in $(printf '%s' "$workloads" | tr ',' ' '); do
        base=""
        [ -s "$dir/$w.untraced.times" ] && base=$(median "$dir/$w.untraced.times")
        printf '%s\n' "workload: $w"
        printf '| %-14s | %10s | %13s | %7s | %8s | %13s |\n' contender "median s" "spread s" ratio samples instr/sample
        printf '|%s|%s|%s|%s|%s|%s|\n' ---------------- ------------ --------------- --------- ---------- ---------------
        for name in $names; do
            if [ ! -s "$dir/$w.$name.times" ]; then
                printf '| %-14s | %10s | %13s | %7s | %8s | %13s |\n' "$name" failed - - - -
                continue
            fi
            med=$(median "$dir/$w.$name.times")
            smp=$(median "$dir/$w.$name.samples")
            ratio=- ips=-
            if [ -n "$base" ]; then
                ratio=$(awk -v a="$med" -v b="$base" 'BEGIN { printf "%.4f", a / b }')
                # (a median of an even count of runs may end in .5)
                ips=$(awk -v a="$med" -v b="$base" -v s="$smp" \
                    'BEGIN { if (s > 0) printf "%.0f", (a - b) * 1e9 / s; else print "-" }')
            fi
            printf '| %-14s | %10.3f | %13s | %7s | %8s | %13s |\n' "$name" "$med" \
                "$(spread "$dir/$w.$name.times")" "$ratio" "$smp" "$ips"
        done
        printf '\n'
    done
    printf 'bench wall time: %s s; logs: %s\n' "$(($(date +%s) - start))" "$dir"
} > "$dir/table.txt"
cat "$dir/table.txt"
if [ -n "$results" ]; then
    mkdir -p "$(dirname -- "$results")" && {
        printf '# What CPU sampling costs (`make bench-cpu`)\n\n```\n'
        sed '/^bench wall time:/d' "$dir/table.txt"
        printf '```\n'
    } > "$results" && pyscope_note "results written to $results"
fi
