#!/bin/sh
# uprobes-floor.sh: run a command under every uprobe leak-watch's trace mode
# places (the probe points of tapsets/python_alloc.stp, all domains), each
# with an empty handler: the floor of any tracer that stops at every
# allocation and free of the command (bench/leak-bench.sh's `uprobes`
# contender, to which trace mode's cost is compared).
#
# usage: uprobes-floor.sh PYTHON CMD
#   PYTHON  the interpreter CMD runs (its unwind data is not needed; its
#           symbols are)
#   CMD     the command line (run by scripts/pyscope-run -c)
#
# Prints CMD's output alone (a handler that counted its hits would no
# longer be empty).
set -eu
[ $# -eq 2 ] || { echo "usage: uprobes-floor.sh PYTHON CMD" >&2; exit 2; }
root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
stp=$(mktemp "${TMPDIR:-/tmp}/uprobes-floor.XXXXXX")
trap 'rm -f "$stp"' EXIT
points=$(grep -o 'process(@pyscope_[a-z]*)\.function("[A-Za-z_]*")\.\(call\|return\)' \
    "$root/tapsets/python_alloc.stp" | sort -u)
[ -n "$points" ] || { echo "uprobes-floor: no probe points in tapsets/python_alloc.stp" >&2; exit 1; }
# (an empty block would be elided by stap: an embedded-C expression "0",
# guru mode, is a handler that does nothing and is kept)
printf 'probe %s\n{ %%{ 0 %%} }\n' "$(printf '%s\n' "$points" | paste -sd, - | sed 's/,/,\n\t/g')" > "$stp"
"$root/scripts/pyscope-run" -c "$2" -- -g -I "$root/tapsets" -d "$1" --ldd "$stp"
