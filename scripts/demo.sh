#!/bin/sh
# demo.sh: from a fresh Debian 12 machine to a flame graph.  Installs what
# pyscope needs, builds it, CPU-profiles examples/demo.py for 5 seconds and
# writes demo-out/demo.{folded,svg} plus a top-functions summary.
set -e
case "${1:-}" in
    "") ;;
    -h|--help)
        cat <<'EOT'
usage: demo.sh

pyscope's demo, from a fresh Debian 12 machine: installs what pyscope
needs (apt packages; root or sudo), builds it, profiles examples/demo.py
for 5 seconds with scripts/cpu-sample.sh, and writes
demo-out/demo.folded and demo-out/demo.svg (open it in a browser), with
the top functions on stdout.  It takes no options.
EOT
        exit 0 ;;
    *) echo "demo.sh: unknown argument '$1' (try -h)" >&2; exit 1 ;;
esac
root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
cd "$root"
scripts/install-deps.sh
make -s all
mkdir -p demo-out
scripts/cpu-sample.sh -c "/usr/bin/python3.11 $root/examples/demo.py 5" -o demo-out/demo
echo "flame graph: $root/demo-out/demo.svg (open it in a browser)"
