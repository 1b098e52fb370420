#!/usr/bin/env bats
# report_formats.bats - pyscope-report's and pyscope-leak's pprof and
# speedscope outputs, and pyscope-report's folded input, checked with the
# programs people read them with, never with pyscope's own parser:
#
# - go tool pprof (Debian's golang-go; works offline) reads the pprof files;
# - speedscope's own importer (the npm package speedscope, pinned in
#   scripts/install-deps.sh) loads the JSON, folded and pprof files, driven
#   from node by tests/formats/speedscope-import.js (its head says how).
#
# Host-only and fast: runs $PYSCOPE_REPORT and $PYSCOPE_LEAK (default
# build/pyscope-report, build/pyscope-leak).  Fixtures: tests/c/fixtures/
# labelled.txt (a cpu-sample stream: three threads of two processes,
# labelled frames with hostile label texts), wall.txt (a cpu-sample --wall
# stream: on-CPU samples and off-CPU time) and leak.txt (a leak-watch
# stream, three snapshots).  What is expected is computed from the folded
# output of the same input, or from the stream's own numbers.

bats_require_minimum_version 1.5.0

SPEEDSCOPE_VERSION=1.25.0

setup() {
    ROOT="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
    REPORT="${PYSCOPE_REPORT:-$ROOT/build/pyscope-report}"
    LEAK="${PYSCOPE_LEAK:-$ROOT/build/pyscope-leak}"
    FIXTURES="$ROOT/tests/c/fixtures"
    OUT="$BATS_TEST_TMPDIR"
    SPEEDSCOPE="${PYSCOPE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pyscope}/npm/speedscope-$SPEEDSCOPE_VERSION/node_modules/speedscope"
    for tool in "$REPORT" "$LEAK"; do
        [ -x "$tool" ] || { echo "not built: $tool (make)" >&2; return 1; }
    done
    # The readers are the point of these tests: missing ones fail them.
    command -v go >/dev/null ||
        { echo "go is not installed (scripts/install-deps.sh)" >&2; return 1; }
    command -v node >/dev/null && command -v jq >/dev/null ||
        { echo "node or jq is not installed (scripts/install-deps.sh)" >&2; return 1; }
    [ -f "$SPEEDSCOPE/package.json" ] ||
        { echo "speedscope $SPEEDSCOPE_VERSION is not installed in $SPEEDSCOPE (scripts/install-deps.sh)" >&2; return 1; }
    # go tool pprof keeps nothing between runs, but go wants a cache
    export GOCACHE="$OUT/gocache"
}

pprof() {
    go tool pprof "$@" 2>/dev/null
}

# The first row of `go tool pprof -top` style output: "FLAT<TAB>NAME".
pprof_first_row() {
    awk '/^ *flat  *flat%/ { getline; n = $1; $1 = $2 = $3 = $4 = $5 = "";
        sub(/^ +/, ""); print n "\t" $0; exit }'
}

# `go tool pprof -tags` totals of one tag: "COUNT<TAB>VALUE" lines, sorted.
pprof_tag_totals() {   # TAG FILE [pprof options]
    local tag=$1 file=$2
    shift 2
    pprof -tags "$@" "$file" | awk -v tag="$tag" '
        $0 ~ "^ *" tag ": Total " { on = 1; next }
        on && /^$/ { exit }
        on { n = $1; sub(/^ *[0-9.]+ \( *[0-9.]+%\): /, ""); printf "%d\t%s\n", n, $0 }' |
        LC_ALL=C sort
}

# The leaf with most samples in a folded file, as pprof -lines names it:
# "COUNT<TAB>NAME FILE:LINE" for "NAME (FILE:LINE)", else the frame.
folded_top_leaf() {
    awk '{ n = $NF; $NF = ""; sub(/ $/, ""); k = split($0, f, ";");
        self[f[k]] += n }
        END { for (s in self) print self[s] "\t" s }' "$1" |
        LC_ALL=C sort -t "$(printf '\t')" -k1,1nr -k2 | head -n 1 |
        sed -E 's/^([0-9]+)\t(.*) \((.*:[0-9]+)\)$/\1\t\2 \3/'
}

# Samples per innermost "[label TEXT]" frame of a folded file (--labels
# split): "COUNT<TAB>TEXT" lines, sorted.
folded_label_totals() {
    awk '{ n = $NF; $NF = ""; sub(/ $/, ""); k = split($0, f, ";");
        for (i = k; i > 0; i--) if (f[i] ~ /^\[label .*\]$/) {
            t[substr(f[i], 8, length(f[i]) - 8)] += n; break } }
        END { for (l in t) print t[l] "\t" l }' "$1" | LC_ALL=C sort
}

speedscope_import() {
    node "$ROOT/tests/formats/speedscope-import.js" "$SPEEDSCOPE" "$1"
}

# What speedscope should make of a folded file with thread roots: per
# thread and frame, "THREAD<TAB>NAME<TAB>FILE<TAB>LINE<TAB>SELF<TAB>TOTAL"
# (a Python frame "NAME (FILE:LINE)" split into its parts; total counts a
# frame once per stack), sorted.
folded_frame_weights() {
    awk '{
        c = $0; sub(/.* /, "", c)
        line = $0; sub(/ [0-9]+$/, "", line)
        k = split(line, f, ";")
        delete seen
        for (i = 2; i <= k; i++) {
            key = f[1] "\t" f[i]
            if (i == k) self[key] += c
            if (!(key in seen)) { seen[key] = 1; total[key] += c }
        } }
        END { for (key in total) print key "\t" self[key] + 0 "\t" total[key] }' "$1" |
    sed -E 's/^([^\t]*)\t(.*) \(([^\t]*):([0-9]+)\)\t/\1\t\2\t\3\t\4\t/; t
            s/^([^\t]*)\t([^\t]*)\t/\1\t\2\t\t\t/' | LC_ALL=C sort
}

# The same from speedscope's import: one profile per thread.
speedscope_frame_weights() {
    jq -r '.profiles[] | .name as $t | .frames[] |
        [$t, .name, (.file // ""), (.line // ""), .self, .total] |
        map(tostring) | join("\t")' "$1" |
        LC_ALL=C sort
}

@test "pprof: go tool pprof reads it; the top function and its file:line are the folded output's" {
    for mode in merged python native; do
        "$REPORT" --mode "$mode" --top 0 --folded "$OUT/$mode.folded" \
            --pprof "$OUT/$mode.pb.gz" "$FIXTURES/labelled.txt" 2>/dev/null
        want=$(folded_top_leaf "$OUT/$mode.folded")
        got=$(pprof -lines -top "$OUT/$mode.pb.gz" | pprof_first_row)
        echo "$mode: want '$want', got '$got'"
        [ -n "$want" ] && [ "$got" = "$want" ]
        total=$(awk '{ t += $NF } END { print t }' "$OUT/$mode.folded")
        pprof -top "$OUT/$mode.pb.gz" | grep -q "of $total total\$"
    done
    # the fixture's answer, so that the comparison above compares something
    [ "$(folded_top_leaf "$OUT/python.folded")" = "$(printf '7\tcompute /srv/app/model.py:7')" ]
    [ "$(folded_top_leaf "$OUT/native.folded")" = "$(printf '9\t_PyEval_EvalFrameDefault')" ]
    # function granularity: compute's two lines add up
    [ "$(pprof -top "$OUT/python.pb.gz" | pprof_first_row)" = "$(printf '13\tcompute')" ]
    # a Python frame's location is its file and line, a qualname stays whole
    pprof -raw "$OUT/merged.pb.gz" | grep -q ' Model.fit.<locals>.<lambda> /srv/app/model.py:51 '
}

@test "pprof: -tags label totals are the innermost [label] frames of the folded output; hostile labels round-trip" {
    "$REPORT" --labels split --top 0 --folded "$OUT/split.folded" \
        "$FIXTURES/labelled.txt" 2>/dev/null
    # the pprof labels need no --labels: they are always there
    "$REPORT" --top 0 --pprof "$OUT/p.pb.gz" "$FIXTURES/labelled.txt" 2>/dev/null
    diff -u <(folded_label_totals "$OUT/split.folded") \
        <(pprof_tag_totals label "$OUT/p.pb.gz")
    # the texts, exactly as the B records have them (the TAB escaped, as
    # the producer wrote it)
    diff -u - <(pprof_tag_totals label "$OUT/p.pb.gz") <<'EOF'
1	tab\there
2	<script>alert(1)</script>
4	say "hi" & 'bye'
8	req-42
EOF
    # pid from the T records (threads 100 and 101 are process 100), the
    # thread's comm
    diff -u - <(pprof_tag_totals pid "$OUT/p.pb.gz") <<'EOF'
12	100
6	200
EOF
    diff -u - <(pprof_tag_totals thread "$OUT/p.pb.gz") <<'EOF'
16	python3
2	worker
EOF
    # one label selects its samples: -tagfocus on the hostile one
    pprof -tagfocus='label=<script>alert\(1\)</script>' -top "$OUT/p.pb.gz" |
        grep -q 'accounting for 2, 11.11% of 18 total$'
}

@test "pprof: cpu/nanoseconds only when the stream gives the period" {
    "$REPORT" --top 0 --pprof "$OUT/count.pb.gz" "$FIXTURES/labelled.txt" 2>/dev/null
    pprof -raw "$OUT/count.pb.gz" | grep -qx 'samples/count\[dflt\]'
    printf 'X\tperiod_ns\t10000000\n' | cat "$FIXTURES/labelled.txt" - >"$OUT/period.txt"
    "$REPORT" --top 0 --pprof "$OUT/cpu.pb.gz" "$OUT/period.txt" 2>/dev/null
    pprof -raw "$OUT/cpu.pb.gz" | grep -qx 'samples/count cpu/nanoseconds\[dflt\]'
    pprof -raw "$OUT/cpu.pb.gz" | grep -qx 'Period: 10000000'
    # 18 samples of 10 ms
    pprof -top "$OUT/cpu.pb.gz" | grep -q 'of 180ms total$'
    pprof -sample_index=samples -top "$OUT/cpu.pb.gz" | grep -q 'of 18 total$'
}

@test "speedscope: its importer loads the JSON; one profile per thread, frames and weights as in the folded output" {
    "$REPORT" --labels split --top 0 --folded "$OUT/s.folded" \
        --speedscope "$OUT/s.json" "$FIXTURES/labelled.txt" 2>/dev/null
    speedscope_import "$OUT/s.json" >"$OUT/imported.json"
    [ "$(jq -r '[.profiles[].name] | join(",")' "$OUT/imported.json")" = \
        "python3 (tid 100),worker (tid 101),python3 (tid 200)" ]
    [ "$(jq -r '[.profiles[].unit] | unique | join(",")' "$OUT/imported.json")" = none ]
    diff -u <(folded_frame_weights "$OUT/s.folded") \
        <(speedscope_frame_weights "$OUT/imported.json")
    # per thread, the totals of the folded file
    diff -u <(awk '{ split($0, f, ";"); t[f[1]] += $NF } END { for (k in t) print k "\t" t[k] }' \
                "$OUT/s.folded" | LC_ALL=C sort) \
        <(jq -r '.profiles[] | [.name, .total] | @tsv' "$OUT/imported.json" | LC_ALL=C sort)
    # hostile label texts are text to speedscope, and no markup in the file
    jq -e '[.profiles[].frames[].name] | index("[label <script>alert(1)</script>]")' \
        "$OUT/imported.json" >/dev/null
    jq -e '[.profiles[].frames[].name] | index("[label say \"hi\" & '"'"'bye'"'"']")' \
        "$OUT/imported.json" >/dev/null
    jq -e '[.profiles[].frames[].name] | index("[label tab\\there]")' \
        "$OUT/imported.json" >/dev/null
    run ! grep -q '<script>' "$OUT/s.json"
}

@test "speedscope: with the period known, weights are nanoseconds" {
    printf 'X\tperiod_ns\t10000000\n' | cat "$FIXTURES/labelled.txt" - >"$OUT/period.txt"
    "$REPORT" --top 0 --speedscope "$OUT/n.json" "$OUT/period.txt" 2>/dev/null
    speedscope_import "$OUT/n.json" >"$OUT/imported.json"
    [ "$(jq -r '[.profiles[].unit] | unique | join(",")' "$OUT/imported.json")" = nanoseconds ]
    [ "$(jq '[.profiles[].total] | add' "$OUT/imported.json")" -eq 180000000 ]
}

@test "speedscope: control characters and invalid UTF-8 in names stay text" {
    printf 'S\t1\tok\tn10 \nN\t10\tq"\\\x01\x1b[2J\xff</script>\t\nT\t1\tx\n' >"$OUT/h.txt"
    "$REPORT" --top 0 --speedscope "$OUT/h.json" "$OUT/h.txt" 2>/dev/null
    jq -e . "$OUT/h.json" >/dev/null
    speedscope_import "$OUT/h.json" >"$OUT/imported.json"
    [ "$(jq -r '.profiles[0].frames[0].name' "$OUT/imported.json")" = \
        "$(printf 'q"\\\x01\x1b[2J\xef\xbf\xbd</script>')" ]
}

@test "speedscope: its importer reads the folded file (collapsed stacks) and the pprof file with the same totals" {
    "$REPORT" --top 0 --folded "$OUT/f.folded" --pprof "$OUT/f.pb.gz" \
        "$FIXTURES/labelled.txt" 2>/dev/null
    speedscope_import "$OUT/f.folded" >"$OUT/folded.json"
    [ "$(jq '.profiles | length' "$OUT/folded.json")" -eq 1 ]
    [ "$(jq '.profiles[0].total' "$OUT/folded.json")" -eq 18 ]
    # every frame of the folded file, by its whole name
    diff -u <(tr ';' '\n' <"$OUT/f.folded" | sed 's/ [0-9]*$//' | LC_ALL=C sort -u) \
        <(jq -r '.profiles[0].frames[].name' "$OUT/folded.json" | LC_ALL=C sort -u)
    speedscope_import "$OUT/f.pb.gz" >"$OUT/pprof.json"
    [ "$(jq '.profiles[0].total' "$OUT/pprof.json")" -eq 18 ]
    jq -e '.profiles[0].frames[] | select(.name == "compute" and .file == "/srv/app/model.py")' \
        "$OUT/pprof.json" >/dev/null
}

@test "wall stream: go tool pprof reads wall/microseconds; on-CPU and off-CPU time add up as in the folded output" {
    "$REPORT" --top 0 --folded "$OUT/w.folded" --pprof "$OUT/w.pb.gz" \
        "$FIXTURES/wall.txt" 2>/dev/null
    # one sample type, the period in microseconds
    pprof -raw "$OUT/w.pb.gz" | grep -qx 'wall/microseconds\[dflt\]'
    pprof -raw "$OUT/w.pb.gz" | grep -qx 'PeriodType: wall microseconds'
    pprof -raw "$OUT/w.pb.gz" | grep -qx 'Period: 10000'
    pprof -top "$OUT/w.pb.gz" | grep -qx 'Type: wall'
    # the total: 5 samples of 10 ms and 2012 ms off the CPU
    total=$(awk '{ t += $NF } END { print t }' "$OUT/w.folded")
    [ "$total" -eq 2062000 ]
    pprof -unit=us -top "$OUT/w.pb.gz" | grep -q "of ${total}us total\$"
    # the leaves: flat time of the off-CPU frames, the GIL wait included
    pprof -unit=us -nodefraction=0 -top "$OUT/w.pb.gz" >"$OUT/top"
    [ "$(pprof_first_row <"$OUT/top")" = "$(printf '2001000us\t[off-cpu: clock_nanosleep]')" ]
    grep -Eq '^ +3100us .* 3100us .*  \[off-cpu: gil\]$' "$OUT/top"
    grep -Eq '^ +5200us .* 5200us .*  \[runnable\]$' "$OUT/top"
    grep -Eq '^ +2000us .* 2000us .*  \[off-cpu: futex\]$' "$OUT/top"
    # take_gil holds exactly the GIL wait
    grep -Eq '^ +0 .* 3100us .*  take_gil.lto_priv.0$' "$OUT/top"
    # per thread, the folded output's totals
    diff -u - <(pprof -tags -unit=us "$OUT/w.pb.gz" | awk '
        /^ *thread: Total / { on = 1; next } on && /^$/ { exit }
        on { sub(/^ +/, ""); print }') <<'EOF'
2011000.0us (97.53%): worker
51000.0us ( 2.47%): python3.11
EOF
}

@test "wall stream: speedscope's importer reads microseconds, per thread the folded output's totals" {
    "$REPORT" --top 0 --folded "$OUT/w.folded" --speedscope "$OUT/w.json" \
        "$FIXTURES/wall.txt" 2>/dev/null
    speedscope_import "$OUT/w.json" >"$OUT/imported.json"
    [ "$(jq -r '[.profiles[].unit] | unique | join(",")' "$OUT/imported.json")" = microseconds ]
    [ "$(jq -r '.name' "$OUT/imported.json")" = "pyscope wall-clock profile" ]
    diff -u <(folded_frame_weights "$OUT/w.folded") \
        <(speedscope_frame_weights "$OUT/imported.json")
    diff -u - <(jq -r '.profiles[] | [.name, .total] | @tsv' "$OUT/imported.json" | LC_ALL=C sort) <<'EOF'
python3.11 (tid 4242)	51000
worker (tid 4250)	2011000
EOF
    jq -e '.profiles[].frames[] | select(.name == "[off-cpu: gil]" and .self == 3100)' \
        "$OUT/imported.json" >/dev/null
}

@test "folded input: read back, it gives the same folded file and summary" {
    for args in "" "--labels split" "--mode native" "--no-threads"; do
        # shellcheck disable=SC2086
        "$REPORT" $args --top 30 --folded "$OUT/a.folded" \
            "$FIXTURES/labelled.txt" >"$OUT/a.out" 2>/dev/null
        "$REPORT" --top 30 --folded "$OUT/b.folded" --svg "$OUT/b.svg" \
            "$OUT/a.folded" >"$OUT/b.out" 2>"$OUT/err"
        cmp "$OUT/a.folded" "$OUT/b.folded"
        # the summary knows Python functions, their files and hot lines
        cmp "$OUT/a.out" "$OUT/b.out"
        [ "$(cat "$OUT/err")" = "pyscope: 18 samples in $(wc -l <"$OUT/a.folded") stacks (folded input)" ]
        grep -q '18 samples, mode folded input' "$OUT/b.svg"
    done
    grep -q '        7  compute (/srv/app/model.py)$' "$OUT/b.out"
    # ';' in a name (pyscope writes \x3b) survives the round trip
    "$REPORT" --folded "$OUT/m.folded" "$FIXTURES/mixed.txt" 2>/dev/null
    grep -q 'worker\\x3b1 (tid 101)' "$OUT/m.folded"
    "$REPORT" --top 0 --folded "$OUT/m2.folded" --svg "$OUT/m.svg" \
        "$OUT/m.folded" 2>/dev/null
    cmp "$OUT/m.folded" "$OUT/m2.folded"
    if command -v xmllint >/dev/null; then
        xmllint --noout "$OUT/m.svg"
    fi
    grep -q '<title>worker;1 (tid 101) (1 samples, 20.00%)</title>' "$OUT/m.svg"
}

@test "folded input from elsewhere (py-spy style): file and line reach pprof and speedscope" {
    cat >"$OUT/pyspy.txt" <<'EOF'
process 4242:"python app.py";<module> (app.py:10);main (app.py:5);work (lib/util.py:42) 7
process 4242:"python app.py";<module> (app.py:10);main (app.py:6) 3

process 4242:"python app.py";<module> (app.py:10);main (app.py:5);json.dumps (/usr/lib/python3.11/json/__init__.py:231);[native] 2
EOF
    run --separate-stderr "$REPORT" --top 0 --pprof "$OUT/y.pb.gz" \
        --speedscope "$OUT/y.json" --svg "$OUT/y.svg" "$OUT/pyspy.txt"
    [ "$status" -eq 0 ]
    [ "$stderr" = "pyscope: 12 samples in 3 stacks (folded input)" ]
    [ "$(pprof -lines -top "$OUT/y.pb.gz" | pprof_first_row)" = \
        "$(printf '7\twork lib/util.py:42')" ]
    pprof -lines -top "$OUT/y.pb.gz" | grep -q ' main app.py:6$'
    speedscope_import "$OUT/y.json" >"$OUT/imported.json"
    jq -e '.profiles[0].frames[] | select(.name == "work" and .file == "lib/util.py" and .line == 42 and .self == 7)' \
        "$OUT/imported.json" >/dev/null
    jq -e '.profiles[0].frames[] | select(.name == "process 4242:\"python app.py\"" and .total == 12)' \
        "$OUT/imported.json" >/dev/null
    [ "$(jq '.profiles[0].total' "$OUT/imported.json")" -eq 12 ]
    # --input-format stream reads the same bytes as a record stream: none
    run --separate-stderr "$REPORT" --input-format stream --svg "$OUT/s.svg" \
        "$OUT/pyspy.txt"
    [ "$status" -eq 1 ]
    [ ! -e "$OUT/s.svg" ]
}

@test "pyscope-leak --pprof: go tool pprof -sample_index=inuse_space shows the last snapshot's bytes" {
    run --separate-stderr "$LEAK" --pprof "$OUT/l.pb.gz" --folded "$OUT/l.folded" \
        "$FIXTURES/leak.txt"
    [ "$status" -eq 0 ]
    # leak.txt's last snapshot: sid 1 20480 bytes in 5 blocks, sid 2 1500
    # bytes in 30, sid 3 freed
    pprof -sample_index=inuse_space -unit=B -top "$OUT/l.pb.gz" >"$OUT/space"
    grep -q 'of 21980B total$' "$OUT/space"
    [ "$(pprof_first_row <"$OUT/space")" = "$(printf '20480B\tmalloc')" ]
    grep -Eq '^ +0 +0% +100% +20480B +93.18% +leak_one$' "$OUT/space"
    pprof -sample_index=inuse_objects -top "$OUT/l.pb.gz" >"$OUT/objects"
    grep -q 'of 35 total$' "$OUT/objects"
    [ "$(pprof_first_row <"$OUT/objects")" = "$(printf '30\tPyBytes_FromStringAndSize')" ]
    # inuse_space is the default; the file and line of the Python frames
    pprof -top "$OUT/l.pb.gz" | grep -q '^Type: inuse_space$'
    pprof -raw "$OUT/l.pb.gz" | grep -q ' handle /srv/app/views.py:12 '
    # the same bytes as its folded file
    [ "$(awk '{ t += $NF } END { print t }' "$OUT/l.folded")" -eq 21980 ]
    # no snapshot: no profile
    grep -v '^E' "$FIXTURES/leak.txt" >"$OUT/nosnap.txt"
    run --separate-stderr "$LEAK" --pprof "$OUT/none.pb.gz" "$OUT/nosnap.txt"
    [ "$status" -eq 1 ]
    [ ! -e "$OUT/none.pb.gz" ]
}

@test "bad, empty or garbage input: one line on stderr, exit 1, no output file" {
    mkdir "$OUT/in" "$OUT/out"
    : >"$OUT/in/empty"
    printf '\n\n\r\n' >"$OUT/in/blank"
    printf 'hello world\nthis is no profile\n' >"$OUT/in/text"
    printf '\x7fELF\x02\x01\x01\x00\x00\xff\xfe\n\x00\x01' >"$OUT/in/binary"
    printf 'V\t1\tcpu-sample\nX\ttruncated\t0\n' >"$OUT/in/nosamples"
    printf 'S\t1\tOK\tn1\nS\tx\tok\tn1\n' >"$OUT/in/badsamples"
    printf 'a;b 3\nc;d 0\n' >"$OUT/in/folded-ok"
    printf 'a;b 3\nnot a stack\nc 1\n' >"$OUT/in/folded-badline"
    printf 'a;b 0\n' >"$OUT/in/folded-zero"
    printf 'a;b 3\nc\td 2\n' >"$OUT/in/folded-tab"
    for input in empty blank text binary nosamples badsamples folded-badline \
                 folded-zero folded-tab; do
        run --separate-stderr "$REPORT" --folded "$OUT/out/f" --svg "$OUT/out/s.svg" \
            --pprof "$OUT/out/p.pb.gz" --speedscope "$OUT/out/s.json" \
            "$OUT/in/$input"
        echo "$input: status $status, stderr: $stderr"
        [ "$status" -eq 1 ]
        [ "${#stderr_lines[@]}" -eq 1 ]
        [[ "$stderr" == "pyscope-report: "* ]]
        [ -z "$output" ]
        [ -z "$(ls -A "$OUT/out")" ]
    done
    # the bad line is named
    run --separate-stderr "$REPORT" "$OUT/in/folded-badline"
    [ "$stderr" = "pyscope-report: '$OUT/in/folded-badline' line 2 is not a folded stack (frame;frame COUNT)" ]
    # --input-format folded on a record stream: its first line is bad
    run --separate-stderr "$REPORT" --input-format folded "$FIXTURES/mixed.txt"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"line 1 is not a folded stack"* ]]
    # stdin the same
    run --separate-stderr "$REPORT" --svg "$OUT/out/s.svg" - <"$OUT/in/text"
    [ "$status" -eq 1 ]
    [ "$stderr" = "pyscope-report: no samples in '<stdin>' (not a record stream of pyscope's, or a run that took none); nothing written" ]
    [ -z "$(ls -A "$OUT/out")" ]
    # an earlier result is left alone
    echo old >"$OUT/out/s.svg"
    run --separate-stderr "$REPORT" --svg "$OUT/out/s.svg" "$OUT/in/empty"
    [ "$status" -eq 1 ]
    [ "$(cat "$OUT/out/s.svg")" = old ]
    # a good folded file with a zero-count line is fine
    run --separate-stderr "$REPORT" --folded "$OUT/out/ok" "$OUT/in/folded-ok"
    [ "$status" -eq 0 ]
    [ "$(cat "$OUT/out/ok")" = "a;b 3" ]
    # bad values of the new options
    run --separate-stderr "$REPORT" --input-format xml "$FIXTURES/mixed.txt"
    [ "$status" -eq 2 ]
    [ "${#stderr_lines[@]}" -eq 1 ]
    run --separate-stderr "$REPORT" --labels join "$OUT/in/folded-ok"
    [ "$status" -eq 2 ]
    [ "${#stderr_lines[@]}" -eq 1 ]
}

@test "an output that cannot be written: one line, exit 1, no temporary file left" {
    # (a path below a file: root could write into a read-only directory)
    touch "$OUT/file"
    run --separate-stderr "$REPORT" --pprof "$OUT/file/p.pb.gz" "$FIXTURES/labelled.txt"
    [ "$status" -eq 1 ]
    [ "${#stderr_lines[@]}" -eq 1 ]
    [ "$stderr" = "pyscope-report: cannot write '$OUT/file/p.pb.gz': Not a directory" ]
    # a written output is renamed into place: no temporary file beside it
    "$REPORT" --top 0 --pprof "$OUT/ok.pb.gz" --speedscope "$OUT/ok.json" \
        "$FIXTURES/labelled.txt" 2>/dev/null
    [ -z "$(ls "$OUT" | grep '\.tmp-')" ]
    # a path that is no regular file is written in place, never replaced:
    # a device, a symbolic link
    "$REPORT" --top 0 --folded /dev/null --pprof /dev/null "$FIXTURES/mixed.txt" 2>/dev/null
    [ -c /dev/null ]
    ln -s real.folded "$OUT/link.folded"
    "$REPORT" --top 0 --folded "$OUT/link.folded" "$FIXTURES/mixed.txt" 2>/dev/null
    [ -L "$OUT/link.folded" ] && [ -s "$OUT/real.folded" ]
    # and created as fopen would: 0666 less the umask
    [ "$(umask 022; "$REPORT" --top 0 --folded "$OUT/m.folded" "$FIXTURES/mixed.txt" 2>/dev/null; stat -c %a "$OUT/m.folded")" = 644 ]
}

@test "--help of both tools names the formats" {
    run "$REPORT" --help
    [ "$status" -eq 0 ]
    for word in --pprof --speedscope --input-format folded samples/count \
                cpu/nanoseconds period_ns thread pid; do
        [[ "$output" == *"$word"* ]] || { echo "missing $word"; return 1; }
    done
    run "$LEAK" --help
    [ "$status" -eq 0 ]
    for word in --pprof inuse_objects/count inuse_space/bytes; do
        [[ "$output" == *"$word"* ]] || { echo "missing $word"; return 1; }
    done
}

# ---- output safety: hostile names through every format ----

# A record stream whose label, function name and file name are hostile:
# a <script> label, a formula label, a qualname with " & < > and control
# characters (no newline: the producer escapes those), a file name with a
# comma and a spreadsheet formula, a native symbol and a thread comm with
# markup.  Every output must keep them text.
HOSTILE_LABEL='<script>alert(1)</script>'
HOSTILE_FORMULA="=cmd|' /C calc'!A0"
HOSTILE_FILE="=cmd|' /C calc'!A0,evil.py"

hostile_stream() {
    printf 'V\t1\tcpu-sample\n'
    printf 'T\t100\t<b>py"&\t100\n'
    printf 'N\t10\tnat<i>"&\x01sym\t/usr/lib/x.so\n'
    printf 'C\ta1\tq"&<x>\x01\x02\x1b[2J\x7fz\t%s\t1\n' "$HOSTILE_FILE"
    printf 'L\ta1\t0\t7\n'
    printf 'B\t1\t%s\n' "$HOSTILE_LABEL"
    printf 'B\t2\t%s\n' "$HOSTILE_FORMULA"
    printf 'S\t100\tok\tn10 pa1:0 l1 \n'
    printf 'S\t100\tok\tn10 pa1:0 l1 \n'
    printf 'S\t100\tok\tpa1:0 l2 \n'
    printf 'X\tsamples\t3\n'
}

@test "hostile names: SVG escapes them, JSON round-trips them, pprof keeps them" {
    qual=$(printf 'q"&<x>\x01\x02\x1b[2J\x7fz')
    hostile_stream >"$OUT/h.txt"
    run --separate-stderr "$REPORT" --labels split --top 5 --folded "$OUT/h.folded" \
        --svg "$OUT/h.svg" --speedscope "$OUT/h.json" --pprof "$OUT/h.pb.gz" \
        "$OUT/h.txt"
    [ "$status" -eq 0 ]
    # the summary on the terminal: no raw control character
    [[ "$output" != *$'\e'* ]] && [[ "$output" != *$'\x01'* ]]

    # SVG: well-formed, no markup from the names, their escaped forms there
    xmllint --noout "$OUT/h.svg"
    run ! grep -q '<script>alert' "$OUT/h.svg"
    run ! grep -q '<b>py' "$OUT/h.svg"
    run ! grep -q '<x>' "$OUT/h.svg"
    grep -qF '&lt;script&gt;alert(1)&lt;/script&gt;' "$OUT/h.svg"
    grep -qF 'q&quot;&amp;&lt;x&gt;' "$OUT/h.svg"
    grep -qF '=cmd|&#39; /C calc&#39;!A0,evil.py' "$OUT/h.svg"
    # the only <script> element is the viewer's own
    [ "$(grep -c '<script' "$OUT/h.svg")" -eq 1 ]
    # what a browser reads back: the exact texts
    python3 - "$OUT/h.svg" "$HOSTILE_LABEL" "$HOSTILE_FILE" <<'PY'
import sys
import xml.etree.ElementTree as ET
titles = [t.text or "" for t in ET.parse(sys.argv[1]).iter("{http://www.w3.org/2000/svg}title")]
assert any(t.startswith("[label " + sys.argv[2] + "]") for t in titles), titles
assert any(sys.argv[3] + ":7)" in t for t in titles), titles
assert any(t.startswith('<b>py"& (tid 100)') for t in titles), titles
PY

    # JSON: parses (jq and python), no raw markup, the exact strings back
    jq -e . "$OUT/h.json" >/dev/null
    run ! grep -q '<script>' "$OUT/h.json"
    python3 - "$OUT/h.json" "$qual" "$HOSTILE_FILE" "$HOSTILE_LABEL" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1], encoding="utf-8"))
frames = doc["shared"]["frames"]
assert {"name": sys.argv[2], "file": sys.argv[3], "line": 7} in frames, frames
assert any(f["name"] == "[label " + sys.argv[4] + "]" for f in frames), frames
assert any(f["name"] == 'nat<i>"&\x01sym' for f in frames), frames
assert doc["profiles"][0]["name"] == '<b>py"& (tid 100)', doc["profiles"][0]["name"]
PY
    # speedscope's own importer takes it, the names as text
    speedscope_import "$OUT/h.json" >"$OUT/imported.json"
    jq -e --arg n "$qual" '[.profiles[].frames[].name] | index($n)' "$OUT/imported.json" >/dev/null

    # pprof: go tool pprof decodes it; names, file and labels exact (the
    # control characters U+FFFD, as pprof.c says)
    shown=$(printf 'q"&<x>\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd[2J\xef\xbf\xbdz')
    pprof -raw "$OUT/h.pb.gz" >"$OUT/raw"
    grep -qF " $shown $HOSTILE_FILE:7" "$OUT/raw"
    grep -qF "$(printf 'nat<i>"&\xef\xbf\xbdsym')" "$OUT/raw"
    [ "$(pprof_tag_totals label "$OUT/h.pb.gz")" = "$(printf '1\t%s\n2\t%s' "$HOSTILE_FORMULA" "$HOSTILE_LABEL")" ]
    [ "$(pprof_tag_totals thread "$OUT/h.pb.gz")" = "$(printf '3\t<b>py"&')" ]
}

@test "hostile names: the CSV files parse, the exact texts back, a cell starting with = defused" {
    hostile_stream >"$OUT/h.txt"
    run --separate-stderr "$REPORT" --labels join --top 0 \
        --labels-csv "$OUT/labels.csv" "$OUT/h.txt"
    [ "$status" -eq 0 ]
    # a leak stream grouped by that file name
    {
        printf 'V\t1\tleak-watch\nI\tmode\ttrace\nI\tinterval_ms\t1000\n'
        printf 'I\tmin_age_intervals\t1\nI\tdomains\tpy\x1b[2J\n'
        printf 'N\t10\tmalloc\t/lib/x86_64-linux-gnu/libc.so.6\n'
        printf 'C\taa\thandle"&<x>\t%s\t10\nL\taa\t4\t12\n' "$HOSTILE_FILE"
        printf 'K\t1\tn10 paa:4 \nA\t1000\t1\t4096\t1\nE\t1000\t1\t0\t0\t0\n'
        printf 'A\t2000\t1\t8192\t2\nE\t2000\t2\t0\t0\t0\nX\tevents\t3\n'
    } >"$OUT/leak.txt"
    run --separate-stderr "$LEAK" --group-by file --csv "$OUT/leak.csv" \
        --plot-data "$OUT/plot.dat" "$OUT/leak.txt"
    [ "$status" -eq 0 ]
    # the report on the terminal: no raw escape (the domains included)
    [[ "$output" != *$'\e'* ]]
    python3 - "$OUT/labels.csv" "$OUT/leak.csv" "$HOSTILE_LABEL" "$HOSTILE_FORMULA" "$HOSTILE_FILE" <<'PY'
import csv, sys
labels_csv, leak_csv, label, formula, path = sys.argv[1:]
rows = list(csv.reader(open(labels_csv, newline="", encoding="utf-8")))
assert rows[0] == ["label", "pid", "samples", "percent"], rows
assert all(len(r) == 4 for r in rows), rows
cells = [r[0] for r in rows[1:]]
# markup is no danger in CSV: kept as it is
assert label in cells, cells
# a formula: a ' in front (a spreadsheet shows the text), nothing else
assert "'" + formula in cells and formula not in cells, cells
assert not any(c[:1] in ("=", "+", "-", "@", "\t", "\r") for c in cells), cells
rows = list(csv.reader(open(leak_csv, newline="", encoding="utf-8")))
assert rows[0] == ["time_s", "rank", "group", "bytes", "blocks"], rows
assert all(len(r) == 5 for r in rows), rows
groups = {r[2] for r in rows[1:]}
# the comma stays inside the cell, the formula defused
assert "'" + path in groups, groups
assert not any(g[:1] in ("=", "+", "-", "@", "\t", "\r") for g in groups), groups
PY
    # the neutralised cells are quoted as well (OWASP)
    grep -qF "\"'$HOSTILE_FORMULA\",100," "$OUT/labels.csv"
    grep -qF ",1,\"'$HOSTILE_FILE\",8192,2" "$OUT/leak.csv"
    # gnuplot's column header: the name one quoted title, its quotes
    # made harmless
    head -n 1 "$OUT/plot.dat" | grep -qx "\"time\" \"all tracked\" \"=cmd|' /C calc'!A0,evil.py\""
}
