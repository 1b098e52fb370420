#!/bin/sh
# install-deps.sh: install every Debian package pyscope needs (idempotent).
#
# Usage: scripts/install-deps.sh [-q] [--bench]
#   --bench  also the peers that bench/leak-bench.sh measures against
#            (bcc's memleak); the tools and the test suite never need them
# Fast when everything is already there: dpkg is asked first, apt only for
# what is missing.  Must run as root (or with sudo available).
set -eu

PKGS="systemtap systemtap-runtime systemtap-sdt-dev qemu-system-x86 \
linux-image-amd64 linux-headers-amd64 busybox-static python3.11 \
python3.11-dbg python3.11-dev python3-setuptools python3-pip python3-wheel bats \
elfutils libdw-dev \
gcc make cpio kmod gnuplot-nox libc6-dbg libxml2-utils strace tmux"

# Only for the benchmarks (make bench-leak, make bench-cpu).
BENCH_PKGS="bpfcc-tools bpftrace linux-perf"

for arg in "$@"; do
    case "$arg" in
        --bench) PKGS="$PKGS $BENCH_PKGS" ;;
        -q) ;;
        *) echo "install-deps: unknown argument '$arg'" >&2; exit 2 ;;
    esac
done

missing=""
for p in $PKGS; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$st" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done

[ -z "$missing" ] && exit 0

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
