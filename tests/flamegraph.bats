#!/usr/bin/env bats
# flamegraph.bats - the SVG flame graph of pyscope-report (--svg): narrow
# frames merged into "…" frames, --minwidth, --no-lines, shortened paths,
# the legend, escaping, and its script driven in headless Chromium.
#
# Builds nothing: runs $PYSCOPE_REPORT (default: build/pyscope-report under
# the repository root).  The browser test needs Debian's chromium and the
# npm package playwright-core that scripts/install-deps.sh installs (it is
# skipped without them); its screenshots go to build/test-artifacts/
# flamegraph/.

bats_require_minimum_version 1.5.0

setup() {
    ROOT="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
    REPORT="${PYSCOPE_REPORT:-$ROOT/build/pyscope-report}"
    OUT="$BATS_TEST_TMPDIR"
    if [ ! -x "$REPORT" ]; then
        echo "pyscope-report is not built: $REPORT" >&2
        return 1
    fi
}

need_xmllint() {
    command -v xmllint >/dev/null || skip "xmllint not installed (libxml2-utils)"
}

# narrow_stream CWD: a profile whose frames are mostly too narrow to draw.
#   5000 samples  main;<module>;handler:10;compute
#    300 samples  main;<module>;handler:12;leaf_I;callee  (1 each, I=0..299)
#     40 samples  main;<module>;handler:10;medium;kid_J   (4 each, J=0..9)
#     20 samples  main;<module>;handler:10;<hostile>
#      3 samples  main;<module>;handler:10;tiny_I              (1 each)
narrow_stream() {
    awk -v cwd="$1" 'BEGIN {
        OFS = "\t"
        print "V", 1, "cpu-sample"
        for (i = 0; i < 5000; i++) print "S", 1, "ok", "p3:0 p2:0 p1:0 n1"
        for (i = 0; i < 300; i++)
            printf "S\t1\tok\tp6:0 p%x:0 p2:2 p1:0 n1\n", 4096 + i
        for (j = 0; j < 10; j++)
            for (k = 0; k < 4; k++)
                printf "S\t1\tok\tp%x:0 p5:0 p2:0 p1:0 n1\n", 8192 + j
        for (i = 0; i < 20; i++) print "S", 1, "ok", "p7:0 p2:0 p1:0 n1"
        for (i = 0; i < 3; i++)
            printf "S\t1\tok\tp%x:0 p2:0 p1:0 n1\n", 12288 + i
        print "N", 1, "main", "/usr/bin/python3.11"
        print "C", 1, "<module>", "/usr/lib/python3.11/runpy.py", 1
        print "C", 2, "handler", cwd "/app/views.py", 1
        print "C", 3, "compute", \
            "/opt/venv/lib/python3.11/site-packages/numpy/core/fromnumeric.py", 1
        print "C", 5, "medium", "/usr/lib/python3.11/json/decoder.py", 1
        print "C", 6, "callee", "/usr/lib/python3.11/json/scanner.py", 1
        print "C", 7, "<script>alert(\"x\")</script> & '\''q'\''", \
            "/tmp/a&b\".py", 1
        for (i = 0; i < 300; i++)
            printf "C\t%x\tleaf_%d\t/usr/lib/python3/dist-packages/pkg/mod.py\t1\n", 4096 + i, i
        for (j = 0; j < 10; j++)
            printf "C\t%x\tkid_%d\t/usr/lib/python3.11/json/decoder.py\t1\n", 8192 + j, j
        for (i = 0; i < 3; i++)
            printf "C\t%x\ttiny_%d\t%s/app/tiny.py\t1\n", 12288 + i, i, cwd
        print "L", 2, 0, 10
        print "L", 2, 2, 12
        print "T", 1, "python3", 1
        print "X", "truncated", 0
    }'
}

# Make $OUT/w/n.txt (the working directory of the run: a hostile name)
# and the flame graph of it, $OUT/w/n.svg, with the options given.
narrow_svg() {
    W="$OUT/w&<x>\"'"
    mkdir -p "$W"
    narrow_stream "$W" >"$W/n.txt"
    (cd "$W" && "$REPORT" --top 0 --svg n.svg --folded n.folded "$@" n.txt)
}

# The "…" frames' titles, one a line.
dot_titles() {
    grep -A1 '<g class="f m"' "$1" | sed -n 's/^<title>\(.*\)<\/title>$/\1/p'
}

# The sum of data-w (samples) and of the rect widths (pixels) over the
# frames drawn at depth $2 ("…" frames included).
row_sums() {
    awk -v d="$2" '
        /^<g class="f( m)?"/ && $0 ~ "data-d=\"" d "\"" {
            match($0, /data-w="[0-9]+"/)
            w += substr($0, RSTART + 8, RLENGTH - 9); drawn = 1; next
        }
        drawn && /^<rect/ {
            match($0, /width="[0-9.]+"/)
            px += substr($0, RSTART + 7, RLENGTH - 8); drawn = 0
        }
        END { printf "%d %.2f\n", w, px }' "$1"
}

@test "--help documents --minwidth and --no-lines; bad widths are exit 2" {
    run "$REPORT" --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"--minwidth W "*"pixels of the 1200-pixel image"*"default 1"*"\"N%\""* ]]
    [[ "$output" == *"--no-lines "*"\"NAME (FILE)\""* ]]
    narrow_stream "$OUT" >"$OUT/n.txt"
    for bad in -1 1181 101% 1px "" nan " 1" 1e400; do
        run --separate-stderr "$REPORT" --minwidth "$bad" --svg "$OUT/x.svg" \
            "$OUT/n.txt"
        [ "$status" -eq 2 ]
        [ "${#stderr_lines[@]}" -eq 1 ]
        [[ "$stderr" == *"--minwidth"* ]]
        [ ! -e "$OUT/x.svg" ]
    done
}

@test "narrow siblings merge into one … frame each, with their counts" {
    need_xmllint
    narrow_svg
    xmllint --noout "$W/n.svg"
    diff -u - <(dot_titles "$W/n.svg" | sort) <<'EOF2'
… 10 frames merged (40 samples, 0.75%)
… 3 frames merged (3 samples, 0.06%)
… 300 frames merged, 600 with their callees (300 samples, 5.59%)
EOF2
    # 3 + 10 + 600 frames merged, said in the subtitle
    grep -qF '<text id="subtitle" x="600" y="44">5363 samples, mode merged<tspan id="merged" data-what="narrower than 1 px">; 613 frames narrower than 1 px merged into 3 …</tspan></text>' "$W/n.svg"
    # what each "…" holds, from the folded file
    [ "$(grep -F 'views.py:12);leaf_' "$W/n.folded" | awk '{s += $NF} END {print s}')" = 300 ]
    [ "$(grep -F ';medium (' "$W/n.folded" | awk '{s += $NF} END {print s}')" = 40 ]
    [ "$(grep -F ';tiny_' "$W/n.folded" | awk '{s += $NF} END {print s}')" = 3 ]
}

@test "no sample is lost: a row's drawn frames and … add up to all" {
    narrow_svg
    # every stack reaches depth 5 (thread, main, <module>, handler, its
    # callee): compute 5000, medium 40, the hostile name 20, the tiny
    # frames' … 3, the leaves' … 300
    run row_sums "$W/n.svg" 5
    read -r samples pixels <<<"$output"
    [ "$samples" -eq 5363 ]
    awk -v p="$pixels" 'BEGIN { exit !(p > 1179.9 && p < 1180.1) }'
    run row_sums "$W/n.svg" 1
    [ "$output" = "5363 1180.00" ]
    # with no minimum width nothing merges and every frame is drawn
    narrow_svg --minwidth 0
    [ "$(grep -c '<g class="f m"' "$W/n.svg")" -eq 0 ]
    [ "$(grep -c '<g class="f hide"' "$W/n.svg")" -eq 0 ]
    grep -qF '<tspan id="merged" data-what="narrower than 0 px"></tspan>' "$W/n.svg"
    grep -q '<title>tiny_2 (' "$W/n.svg"
    run row_sums "$W/n.svg" 6
    [ "${output%% *}" -eq 340 ]    # the leaves' callees, medium's kids
}

@test "frames merged in the full view stay in the SVG for zooming in" {
    narrow_svg
    # medium's children (4 samples: 0.88 px) are merged in the full view
    # but kept, hidden, so zooming into medium draws them
    [ "$(grep -c '^<g class="f hide"' "$W/n.svg")" -eq 610 ]
    for j in 0 1 2 3 4 5 6 7 8 9; do
        grep -A1 "^<g class=\"f hide\"" "$W/n.svg" |
            grep -q "^<title>kid_$j (/usr/lib/python3.11/json/decoder.py) (4 samples"
    done
    # the tiny frames (1 of handler:10's 5063 samples) are too narrow
    # even with their caller zoomed: counted in its data-r, not kept
    run ! grep -q 'tiny_' "$W/n.svg"
    grep -A1 'data-r="3 3 3"' "$W/n.svg" | grep -q '<title>handler (.*views.py:10)'
    # a wider --minwidth: the leaves are not kept either
    narrow_svg --minwidth 0.5%
    run ! grep -q 'leaf_' "$W/n.svg"
    grep -q 'data-r="300 600 300"' "$W/n.svg"
    dot_titles "$W/n.svg" | grep -qx '… 300 frames merged, 600 with their callees (300 samples, 5.59%)'
}

@test "--no-lines: the lines of a function merge, folded and SVG" {
    narrow_svg
    [ "$(grep -c '<title>handler (' "$W/n.svg")" -eq 2 ]
    narrow_svg --no-lines
    run ! grep -q 'views.py:1[02])' "$W/n.folded"
    run ! grep -q 'views.py:1[02])' "$W/n.svg"
    [ "$(awk '{s += $NF} END {print s}' "$W/n.folded")" -eq 5363 ]
    [ "$(grep -c ';handler ([^;]*/app/views.py);' "$W/n.folded")" -eq "$(wc -l <"$W/n.folded")" ]
    grep -q '^<title>handler (.*/app/views.py) (5363 samples, 100.00%)</title>$' "$W/n.svg"
    [ "$(grep -c '<title>handler (' "$W/n.svg")" -eq 1 ]
    grep -q '^<title>medium (/usr/lib/python3.11/json/decoder.py) (40 samples' "$W/n.svg"
    # native frames and thread roots are untouched
    grep -q '^<title>main (5363 samples' "$W/n.svg"
    grep -q '^<title>python3 (tid 1) (5363 samples' "$W/n.svg"
    # folded input with lines gives the same function-level stacks
    narrow_svg
    (cd "$W" && "$REPORT" --top 0 --no-lines --folded again.folded n.folded) 2>/dev/null
    narrow_svg --no-lines
    cmp "$W/n.folded" "$W/again.folded"
}

@test "paths are shortened in the drawn text, whole in the tooltip" {
    narrow_svg
    # site-packages, the stdlib, the working directory
    grep -A3 'data-s="compute (&lt;site&gt;/numpy/core/fromnumeric.py)"' "$W/n.svg" |
        grep -qx '<title>compute (/opt/venv/lib/python3.11/site-packages/numpy/core/fromnumeric.py) (5000 samples, 93.23%)</title>'
    grep -A3 'data-s="compute (' "$W/n.svg" |
        grep -q '^<text [^>]*>compute (&lt;site&gt;/numpy/core/fromnumeric.py)</text>$'
    grep -A3 'data-s="&lt;module&gt; (&lt;stdlib&gt;/runpy.py)"' "$W/n.svg" |
        grep -q '^<text [^>]*>&lt;module&gt; (&lt;stdlib&gt;/runpy.py)</text>$'
    grep -q 'data-s="handler (./app/views.py:10)"' "$W/n.svg"
    grep -q 'data-s="leaf_0 (&lt;site&gt;/pkg/mod.py)"' "$W/n.svg"
    # the tooltip keeps the working directory, escaped
    grep -qF "<title>handler ($OUT/w&amp;&lt;x&gt;&quot;&#39;/app/views.py:10) (5063 samples" "$W/n.svg"
    # run elsewhere, the application's path is not shortened
    (cd / && "$REPORT" --top 0 --svg "$OUT/elsewhere.svg" "$W/n.txt")
    run ! grep -q 'data-s="handler' "$OUT/elsewhere.svg"
    grep -q 'data-s="compute (&lt;site&gt;/' "$OUT/elsewhere.svg"
}

@test "the legend names the colour of each kind of frame drawn" {
    narrow_svg
    legend=$(sed -n '/^<g id="legend">$/,/^<\/g>$/p' "$W/n.svg")
    [[ "$legend" == *'fill="rgb(190,217,70)"/><text x="24.00" y="56">Python</text>'* ]]
    [[ "$legend" == *'>native (C)</text>'* ]]
    [[ "$legend" == *'>thread, all</text>'* ]]
    [[ "$legend" == *'class="swatch m"'*'>… merged narrow frames</text>'* ]]
    [[ "$legend" != *'label'* && "$legend" != *'marker'* ]]
    # a label frame and a marker: their swatches too
    printf 'S\t1\tok\tp1:0 l7 n1\nS\t1\tnopy\tn1\nC\t1\tf\ta.py\t1\nN\t1\tmain\t\nB\t7\treq\n' >"$OUT/l.txt"
    "$REPORT" --top 0 --labels split --svg "$OUT/l.svg" "$OUT/l.txt" 2>/dev/null
    legend=$(sed -n '/^<g id="legend">$/,/^<\/g>$/p' "$OUT/l.svg")
    [[ "$legend" == *'>frame label</text>'* && "$legend" == *'>marker</text>'* ]]
}

@test "hostile names are escaped everywhere, also in data-s" {
    need_xmllint
    narrow_svg --title '<b>"t" & '"'"'u'"'"'</b>'
    xmllint --noout "$W/n.svg"
    run ! grep -q '<script>alert' "$W/n.svg"
    run ! grep -q '<b>' "$W/n.svg"
    grep -qF '<title>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39; (/tmp/a&amp;b&quot;.py) (20 samples, 0.37%)</title>' "$W/n.svg"
    grep -qF '&lt;b&gt;&quot;t&quot; &amp; &#39;u&#39;&lt;/b&gt;' "$W/n.svg"
    # a hostile path shortened: the drawn text and data-s escaped too
    printf 'S\t1\tok\tp1:0\nC\t1\tf\t/v/site-packages/<i>&"x/m.py\t1\n' >"$OUT/h.txt"
    "$REPORT" --top 0 --svg "$OUT/h.svg" "$OUT/h.txt" 2>/dev/null
    xmllint --noout "$OUT/h.svg"
    grep -qF 'data-s="f (&lt;site&gt;/&lt;i&gt;&amp;&quot;x/m.py)"' "$OUT/h.svg"
    grep -qF '>f (&lt;site&gt;/&lt;i&gt;&amp;&quot;x/m.py)</text>' "$OUT/h.svg"
}

# ---- the script, in headless Chromium ----

# Skip unless Debian's chromium and install-deps.sh's playwright-core are
# there; sets PLAYWRIGHT_CORE.
need_browser() {
    command -v chromium >/dev/null || skip "chromium not installed (scripts/install-deps.sh)"
    command -v node >/dev/null || skip "node not installed (scripts/install-deps.sh)"
    local version
    version=$(sed -n 's/^PLAYWRIGHT_VERSION=//p' "$ROOT/scripts/install-deps.sh")
    PLAYWRIGHT_CORE="${PYSCOPE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pyscope}/npm/playwright-core-$version/node_modules/playwright-core"
    [ -f "$PLAYWRIGHT_CORE/package.json" ] ||
        skip "playwright-core $version not installed (scripts/install-deps.sh)"
    export PLAYWRIGHT_CORE
}

@test "browser: click zooms, Reset Zoom restores, search highlights, … frames redrawn" {
    need_browser
    narrow_svg
    shots="$ROOT/build/test-artifacts/flamegraph"
    mkdir -p "$shots"
    run node "$ROOT/tests/browser/flamegraph_check.js" "$W/n.svg" "$shots"
    echo "$output"
    [ "$status" -eq 0 ]
    for line in "ok: three … frames in the full view" \
            "ok: the clicked frame is zoomed to the full width" \
            "ok: zoomed in, its 10 merged children are drawn, 118 px each" \
            "ok: Reset Zoom redraws the full view as the C code drew it" \
            "ok: zoomed into handler:12, all 300 leaves are drawn" \
            "ok: a … holding a match is highlighted" \
            "ok: zoomed in, exactly the matching frames are highlighted" \
            "ok: no script errors []"; do
        [[ "$output" == *"$line"* ]] || { echo "missing: $line"; return 1; }
    done
    [ -s "$shots/zoomed.png" ] && [ -s "$shots/full.png" ]
}

@test "browser: the check fails on a broken script" {
    need_browser
    narrow_svg
    # the zoomed frame drawn at half the width
    sed 's|place(all\[z\], PAD, avail);|place(all[z], PAD, avail / 2);|' \
        "$W/n.svg" >"$OUT/half.svg"
    ! cmp -s "$W/n.svg" "$OUT/half.svg"
    run node "$ROOT/tests/browser/flamegraph_check.js" "$OUT/half.svg" "$OUT"
    [ "$status" -eq 1 ]
    [[ "$output" == *"FAILED: the clicked frame is zoomed to the full width"* ]]
    # no merge when zoomed: the narrow frames drawn as they are
    sed 's|if (ws\[k\] >= minFrac \* ws\[z\]) {|if (true) {|' \
        "$W/n.svg" >"$OUT/nomerge.svg"
    ! cmp -s "$W/n.svg" "$OUT/nomerge.svg"
    run node "$ROOT/tests/browser/flamegraph_check.js" "$OUT/nomerge.svg" "$OUT"
    [ "$status" -eq 1 ]
    [[ "$output" == *"FAILED: Reset Zoom redraws the full view as the C code drew it"* ]]
}
