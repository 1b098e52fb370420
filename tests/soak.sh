#!/bin/sh
# soak.sh: heavy load for minutes; what a long run on a busy service gets.
#
# All in one boot of pyscope's QEMU guest, where the tools run in host
# mode as on a server whose kernel loads modules, each attached (-p) to a
# process already running:
#   leak-trace    leak-watch --mode trace on tests/soak/alloc.py (tens of
#                 millions of objects a second untraced here, a steady
#                 leak of 2,000 malloc'd strings a second: the live-block
#                 table, 262,144 by default, fills after some 130 s)
#   leak-sampled  leak-watch on the same workload run with the preloaded
#                 allocation sampler (sampled mode, one sample per 64 KiB)
#   cpu           cpu-sample -F 999 on tests/soak/busy.py (16 busy
#                 threads: half in Python, half hashing in C)
# Meanwhile the guest's kernel memory (VmallocUsed + Percpu + SUnreclaim
# of /proc/meminfo: where SystemTap's maps and buffers live) is read every
# 5 s.  Checks, each a line of the table:
#   every tool exits 0 with no SystemTap error, and writes its report;
#   leak-trace: allocations dropped for a full table are counted, and the
#   report then says its totals are lower bounds; the leaking line leads;
#   cpu: every thread sampled, lost samples counted and reported, the
#   report's memory (its maximum resident size re-reading the raw stream)
#   grows with the distinct stacks, not with the samples (the whole
#   stream against its first tenth);
#   the kernel memory never rises more than 16 MiB above its reading 5 s
#   after a run's module loaded (SystemTap allocates its maps when a
#   module loads; the table also says what the load took).
# Prints the table (and writes it to the results file); exits 1 when a
# check fails.  Not part of the suite: `make soak` (the defaults take
# some 22 minutes in the guest).
#
# usage: tests/soak.sh [-o DIR] [--results FILE] [--leak-seconds S]
#                      [--cpu-seconds S] [--threads N] [--no-run]
#   -o DIR            logs and the tools' outputs (default build/soak)
#   --results FILE    also write the table there (default
#                     bench/results/soak.md; "" writes none)
#   --leak-seconds S  each leak watch (default 300)
#   --cpu-seconds S   the profile (default 600)
#   --threads N       busy threads in the profiled process (default 16)
#   --no-run          make the table again from DIR's logs of the last run
#                     (the same durations must be given)
set -u
PYSCOPE_PROG=soak
. "$(dirname -- "$0")/../scripts/lib/common.sh"

usage() { sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//p}' "$0"; }

dir=$PYSCOPE_BUILD/soak
results=$PYSCOPE_ROOT/bench/results/soak.md
leak_s=300 cpu_s=600 nthreads=16 run=1
while [ $# -gt 0 ]; do
    case "$1" in
        -o|--results|--leak-seconds|--cpu-seconds|--threads)
            [ $# -ge 2 ] || pyscope_die "$1 needs a value (try -h)"
            case "$1" in
                -o) dir=$2 ;;
                --results) results=$2 ;;
                --leak-seconds) leak_s=$2 ;;
                --cpu-seconds) cpu_s=$2 ;;
                --threads) nthreads=$2 ;;
            esac
            shift 2 ;;
        --no-run) run=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) pyscope_die "unknown argument '$1' (try -h)" ;;
    esac
done
for v in "$leak_s" "$cpu_s" "$nthreads"; do
    case "$v" in ''|*[!0-9]*|0) pyscope_die "durations and --threads are whole numbers above 0, got '$v'" ;; esac
done
PY=/usr/bin/python3.11
make -s -C "$PYSCOPE_ROOT" all >&2 || pyscope_die "make failed"
if [ "$run" = 0 ]; then
    [ -s "$dir/out/runs.tsv" ] || pyscope_die "no run's logs in $dir/out to make the table from"
    dir=$(CDPATH= cd -- "$dir" && pwd)
else
    dir=$(pyscope_fresh_dir "$dir") || exit 1
fi

# The guest's part: each run's tool output in RUN.out, its exit status in
# RUN.rc, its files RUN.*, the target's lines in RUN.target; kmem.tsv
# ("seconds kernel-KiB" every 5 s) and runs.tsv ("run start end", the
# module's load and the run's end, in the same seconds)
script=$dir/guest.sh
cat > "$script" <<EOF
#!/bin/sh
# soak.sh, run in the guest by scripts/pyscope-run --no-stap
cd $(pyscope_quote "$PYSCOPE_ROOT") || exit 1
D=\$PYSCOPE_OUT
PY=$PY
LEAK_S=$leak_s CPU_S=$cpu_s THREADS=$nthreads
EOF
cat >> "$script" <<'EOF'
kmem() {
    awk '/^(VmallocUsed|Percpu|SUnreclaim):/ { s += $2 } END { print s }' /proc/meminfo
}
( while :; do echo "$(date +%s) $(kmem)"; sleep 5; done ) > "$D/kmem.tsv" &
MON=$!
# start NAME CMD...: a target in the background, until its "ready"
start() {
    n=$1; shift
    "$@" > "$D/$n.target" 2>&1 &
    T=$!
    until grep -q '^ready' "$D/$n.target"; do
        kill -0 "$T" 2>/dev/null || { echo "$n: the target did not start"; return 1; }
        sleep 0.2
    done
}
# run NAME TOOL...: the tool, its module's load time and its end noted
run() {
    n=$1; shift
    echo "@@@ $n $(date)"
    "$@" > "$D/$n.out" 2>&1 &
    R=$!
    until lsmod | grep -q '^pyscope_' || ! kill -0 "$R" 2>/dev/null; do sleep 0.5; done
    t0=$(date +%s)
    wait "$R"
    echo $? > "$D/$n.rc"
    echo "$n $t0 $(date +%s)" >> "$D/runs.tsv"
}
start leak-trace $PY tests/soak/alloc.py
# two rates measured before any tool (a line every 5 s)
until [ "$(grep -c '^rate' "$D/leak-trace.target")" -ge 2 ]; do sleep 1; done
run leak-trace scripts/leak-watch.sh -p "$T" --mode trace -d "$LEAK_S" -i 30 --group-by line -o "$D/leak-trace"
kill "$T"; wait "$T"
start leak-sampled env LD_PRELOAD="$PWD/build/libpyscope-alloc.so" PYSCOPE_ALLOC_SAMPLE=65536 $PY tests/soak/alloc.py
until [ "$(grep -c '^rate' "$D/leak-sampled.target")" -ge 2 ]; do sleep 1; done
run leak-sampled scripts/leak-watch.sh -p "$T" -d "$LEAK_S" -i 30 --group-by line -o "$D/leak-sampled"
kill "$T"; wait "$T"
start cpu $PY tests/soak/busy.py "$THREADS"
run cpu scripts/cpu-sample.sh -p "$T" -F 999 -d "$CPU_S" -o "$D/cpu"
kill "$T"; wait "$T"
kill "$MON"
# the report's memory: the whole stream, then its first tenth
maxrss() {
    $PY -c 'import resource, subprocess, sys
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if r == 0 else "-")' "$@"
}
if [ -s "$D/cpu.raw" ]; then
    n=$(wc -l < "$D/cpu.raw")
    head -n $((n / 10)) "$D/cpu.raw" > /tmp/soak-tenth.raw
    echo "$(maxrss build/pyscope-report --folded /tmp/soak-w.folded "$D/cpu.raw") $(wc -l < /tmp/soak-w.folded)" > "$D/report-whole"
    echo "$(maxrss build/pyscope-report --folded /tmp/soak-t.folded /tmp/soak-tenth.raw) $(wc -l < /tmp/soak-t.folded)" > "$D/report-tenth"
    rm -f /tmp/soak-tenth.raw /tmp/soak-w.folded /tmp/soak-t.folded
fi
EOF

start=$(date +%s)
[ "$run" = 0 ] || {
pyscope_note "one guest boot: two leak watches of ${leak_s}s, a profile of ${cpu_s}s on $nthreads threads"
"$PYSCOPE_ROOT/scripts/pyscope-run" --no-stap -T $((2 * leak_s + cpu_s + 1200)) \
    --bind-copy "$PY" --bind-copy "$(readlink -f /lib/x86_64-linux-gnu/libc.so.6)" \
    --bind-copy "$PYSCOPE_BUILD/libpyscope-alloc.so" \
    --out-dir "$dir/out" -o "$dir/guest.out" -c "sh $script" 2> "$dir/guest.err" ||
    pyscope_die "the guest run failed (see $dir/guest.err)"
echo "$(($(date +%s) - start))" > "$dir/guest.seconds"
}

D=$dir/out
status=0
# row CHECK VALUE OK: a line of the table; OK 0 fails the run
row() {
    printf '| %s | %s | %s |\n' "$1" "$2" "$( [ "$3" = 1 ] && echo ok || echo FAILED )"
    [ "$3" = 1 ] || status=1
}
counter() { awk -F '\t' -v k="$2" '$1 == "X" && $2 == k { v = $3 } END { print v + 0 }' "$1"; }
stap_errors() { grep -c -E '^(ERROR|WARNING: Number of errors)|too many errors' "$1"; }
# kmem_drift RUN: "GROWTH LOAD": KiB of kernel memory, the highest reading
# until the run's end over the reading 5 s after its module loaded, and
# that reading over the last one before the load (what loading took)
kmem_drift() {
    awk -v r="$1" 'NR == FNR { if ($1 == r) { l = $2; s = $2 + 5; e = $3 }; next }
        $1 < l { b = $2 }
        $1 >= s && a == "" { a = $2 }
        $1 >= s && $1 <= e && $2 > m { m = $2 }
        END { if (a == "" || b == "") print "-"; else print m - a, a - b }' "$D/runs.tsv" "$D/kmem.tsv"
}
# kmem_row RUN: its table line
kmem_row() {
    set -- "$1" $(kmem_drift "$1")
    row "$1: kernel memory while the probes ran: growth after the load (the load's own, KiB)" \
        "${2:--} (${3:--})" "$( [ "${2:--}" != - ] && [ "$2" -lt 16384 ] && echo 1 )"
}
rates() { awk '/^rate/ { print $2 }' "$1"; }
{
    printf 'soak: %s, %s; guest %s under QEMU TCG (1 CPU), the tools in host mode inside it\n\n' \
        "$(date -u +%Y-%m-%d)" "$($PY -c 'import platform; print("CPython " + platform.python_version())')" \
        "$(pyscope_guest_kernel)"
    printf '| check | measured | |\n|---|---|---|\n'
    for r in leak-trace leak-sampled; do
        rc=$(cat "$D/$r.rc" 2>/dev/null || echo -)
        raw=$D/$r.raw
        row "$r: exit status, stap errors" "$rc, $(stap_errors "$D/$r.out")" \
            "$( [ "$rc" = 0 ] && [ "$(stap_errors "$D/$r.out")" = 0 ] && echo 1 )"
        row "$r: report written" "$(ls "$D/$r".txt "$D/$r".folded "$D/$r".csv 2>/dev/null | wc -l) of 3 files" \
            "$( [ -s "$D/$r.txt" ] && [ -s "$D/$r.folded" ] && [ -s "$D/$r.csv" ] && echo 1 )"
        before=$(rates "$D/$r.target" | head -n 2 | tail -n 1)
        during=$(rates "$D/$r.target" | sed -n '4,$p' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
        ev=$(counter "$raw" events)
        row "$r: objects made a second, untraced / traced (median)" "${before:-?} / ${during:-?}" 1
        row "$r: allocator events seen, a second" "$(( ev / leak_s ))" "$( [ "$ev" -gt 0 ] && echo 1 )"
        dropped=$(counter "$raw" dropped)
        lower=$(grep -c "every total is a lower bound" "$D/$r.txt" 2>/dev/null); lower=${lower:-0}
        row "$r: dropped (table full), report says lower bound" "$dropped, $( [ "$lower" -gt 0 ] && echo yes || echo no)" \
            "$( { [ "$dropped" -gt 0 ] && [ "$lower" -gt 0 ]; } || { [ "$dropped" = 0 ] && [ "$lower" = 0 ]; } && echo 1 )"
        row "$r: skipped probes, transport failures, stacks full" \
            "$(counter "$raw" skipped_probes), $(counter "$raw" transport_failures), $(counter "$raw" stacks_full)" 1
        lead=$(awk '/^Top groups by growth/ { f = 1; next } f && /alloc\.py:[0-9]/ { print; exit }' "$D/$r.txt")
        row "$r: the leaking line leads" "$(printf '%s' "$lead" | sed 's/^ *//;s/  */ /g' | cut -c 1-70)" \
            "$(printf '%s' "$lead" | grep -q "alloc.py:$(grep -n '^    kept.append' tests/soak/alloc.py | cut -d: -f1)" && echo 1)"
        kmem_row "$r"
    done
    r=cpu
    rc=$(cat "$D/$r.rc" 2>/dev/null || echo -)
    row "cpu: exit status, stap errors" "$rc, $(stap_errors "$D/$r.out")" \
        "$( [ "$rc" = 0 ] && [ "$(stap_errors "$D/$r.out")" = 0 ] && echo 1 )"
    line=$(grep -E '^pyscope: [0-9]+ samples' "$D/$r.out" | tail -n 1)
    n=$(printf '%s' "$line" | sed -n 's/^pyscope: \([0-9]*\) samples.*/\1/p')
    lost=$(printf '%s' "$line" | sed -n 's/.*, \([0-9]*\) lost.*/\1/p')
    row "cpu: samples (999 Hz x ${cpu_s} s on 1 CPU: $((999 * cpu_s)))" "${n:-0}" "$( [ "${n:-0}" -gt $((999 * cpu_s / 2)) ] && echo 1 )"
    row "cpu: lost samples, reported" "${lost:-not reported}" "$( [ -n "$lost" ] && echo 1 )"
    tids=$(sed -n 's/^[^;]* (tid \([0-9]*\));.*/\1/p' "$D/$r.folded" 2>/dev/null | sort -u | wc -l)
    row "cpu: threads sampled" "$tids of $nthreads busy" "$( [ "$tids" -ge "$nthreads" ] && echo 1 )"
    set -- $(cat "$D/report-whole" 2>/dev/null) - -
    w_rss=$1 w_st=$2
    set -- $(cat "$D/report-tenth" 2>/dev/null) - -
    t_rss=$1 t_st=$2
    row "cpu: raw stream" "$(( $(wc -c < "$D/$r.raw") / 1048576 )) MiB, $(grep -c '^S' "$D/$r.raw") sample records" 1
    row "cpu: report max RSS (KiB) and stacks, whole stream / first tenth" "$w_rss, $w_st / $t_rss, $t_st" \
        "$( [ "$w_rss" != - ] && [ "$t_rss" != - ] && [ "$w_rss" -le $((t_rss * 2 + 4096)) ] && echo 1 )"
    kmem_row cpu
    printf '\nTraps cost more on hardware than their instructions: the rates under\n'
    printf 'trace mode here are TCG'"'"'s, not a server'"'"'s.\n'
    [ ! -s "$dir/guest.seconds" ] || printf 'the guest run took %s s; ' "$(cat "$dir/guest.seconds")"
    printf 'logs: %s\n' "$D"
} > "$dir/table.txt"
cat "$dir/table.txt"
if [ -n "$results" ]; then
    {
        printf '# Heavy load for minutes (`make soak`)\n\n'
        cat "$dir/table.txt"
    } > "$results" && pyscope_note "results written to $results"
fi
exit "$status"
