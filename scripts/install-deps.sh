#!/bin/sh
# install-deps.sh: install every Debian package pyscope needs (idempotent).
#
# Usage: scripts/install-deps.sh [-q] [--bench] [--regrtest]
#   -q       say nothing when there is nothing to do (the default)
#   --bench  also the peers that bench/leak-bench.sh measures against
#            (bcc's memleak); the tools and the test suite never need them
#   --regrtest  also CPython's own tests (libpython3.11-testsuite), for
#            make regrtest (tests/regrtest.sh)
# Fast when everything is already there: dpkg is asked first, apt only for
# what is missing.  Must run as root (or with sudo available).
#
# Also the readers tests/report_formats.bats checks pyscope-report's
# pprof and speedscope files with: go tool pprof (golang-go), and
# speedscope's own importer, the npm package speedscope at a pinned
# version in its own npm prefix $PYSCOPE_CACHE/npm/speedscope-VERSION
# (default ~/.cache/pyscope/...; nodejs and npm from Debian only when no
# node or npm is on PATH).  And for the flame graph's browser test
# (tests/flamegraph.bats): Debian's chromium, driven by the npm package
# playwright-core at a pinned version in $PYSCOPE_CACHE/npm/
# playwright-core-VERSION (it uses /usr/bin/chromium, downloads no
# browser).
set -eu

PKGS="systemtap systemtap-runtime systemtap-sdt-dev qemu-system-x86 \
linux-image-amd64 linux-headers-amd64 busybox-static python3.11 \
python3.11-dbg python3.11-dev python3-setuptools python3-pip python3-wheel bats \
elfutils libdw-dev \
gcc make cpio kmod gnuplot-nox libc6-dbg libxml2-utils strace tmux \
zlib1g-dev golang-go jq chromium"

# speedscope's importer for the format tests (tests/report_formats.bats
# looks for it there)
SPEEDSCOPE_VERSION=1.25.0
SPEEDSCOPE_DIR="${PYSCOPE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pyscope}/npm/speedscope-$SPEEDSCOPE_VERSION"

# The flame graph's browser test drives chromium with it
# (tests/flamegraph.bats looks for it there).
PLAYWRIGHT_VERSION=1.64.1
PLAYWRIGHT_DIR="${PYSCOPE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pyscope}/npm/playwright-core-$PLAYWRIGHT_VERSION"

# Only for the benchmarks (make bench-leak, make bench-cpu).
BENCH_PKGS="bpfcc-tools bpftrace linux-perf"
# Only for make regrtest (tests/regrtest.sh): CPython's own tests.
REGRTEST_PKGS="libpython3.11-testsuite"

for arg in "$@"; do
    case "$arg" in
        --bench) PKGS="$PKGS $BENCH_PKGS" ;;
        --regrtest) PKGS="$PKGS $REGRTEST_PKGS" ;;
        -q) ;;
        *) echo "install-deps: unknown argument '$arg'" >&2; exit 2 ;;
    esac
done

command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs"
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"

# install_npm PACKAGE VERSION DIR: the pinned npm PACKAGE in its own
# prefix DIR, unless that version is there (after the Debian packages: npm).
install_npm() {
    have=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' \
        "$3/node_modules/$1/package.json" 2>/dev/null || true)
    [ "$have" != "$2" ] || return 0
    echo "install-deps: installing $1@$2 (npm) in $3" >&2
    mkdir -p "$3"
    npm install --prefix "$3" --no-audit --no-fund --loglevel=error "$1@$2" >&2
}
install_speedscope() { install_npm speedscope "$SPEEDSCOPE_VERSION" "$SPEEDSCOPE_DIR"; }
install_playwright() { install_npm playwright-core "$PLAYWRIGHT_VERSION" "$PLAYWRIGHT_DIR"; }

missing=""
for p in $PKGS; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$st" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done

if [ -z "$missing" ]; then
    install_speedscope
    install_playwright
    exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || {
        echo "install-deps: need root to install:$missing" >&2; exit 1; }
    SUDO=sudo
fi
echo "install-deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >&2
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing >&2
install_speedscope
install_playwright
