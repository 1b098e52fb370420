#!/usr/bin/env bats
# The README's commands, run exactly as written.
load helpers

@test "README quickstart (pyscope-run + tapsets) runs as written" {
    cmd=$(sed -n '/<!-- quickstart -->/,/<!-- \/quickstart -->/p' "$ROOT/README.md" |
          sed -e '/^<!--/d' -e '/^```/d')
    [ -n "$cmd" ]
    cd "$ROOT"
    run bash -c "$cmd"
    echo "$output"
    [ "$status" -eq 0 ]
    # top stack: root first, the hot function at its line
    echo "$output" | head -n 1 | grep -E '^ +[0-9]+ <module> \([^;]*busy\.py:22\);main \([^;]*busy\.py:18\);hot_loop \([^;]*busy\.py:1[12]\)'
}

@test "README demo command writes a flame graph and a summary" {
    cd "$ROOT"
    rm -rf demo-out
    run scripts/demo.sh
    echo "$output" | tail -25
    [ "$status" -eq 0 ]
    [ -s demo-out/demo.folded ] && [ -s demo-out/demo.svg ]
    xmllint --noout demo-out/demo.svg
    for f in parse score rank main; do
        grep -qE "(^|;)$f \([^;]*examples/demo\.py:[0-9]+\)" demo-out/demo.folded
    done
    echo "$output" | grep -E 'HOT LINE +FUNCTION'
    echo "$output" | grep -E ' (parse|score|rank|<genexpr>|parse\.<locals>\.<genexpr>) \([^)]*demo\.py\)'
}
