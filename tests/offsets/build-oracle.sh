#!/bin/sh
# build-oracle.sh: compile tests/c/offsets_oracle.c against one CPython's
# own headers, so that it prints that build's offsets table from
# offsetof()/sizeof().  INCLUDE_DIR is the include/python3.X directory of
# the build; it must have the internal/ headers (-DPy_BUILD_CORE).  The
# keys and the versions they apply to come from tools/offsets/keys.tsv
# (tools/offsets/gen-keys.sh oracle writes them as oracle_keys.h).
#
# usage: tests/offsets/build-oracle.sh INCLUDE_DIR OUTPUT
set -eu
root=$(CDPATH='' cd -- "$(dirname -- "$0")/../.." && pwd)

if [ $# -ne 2 ]; then
    echo "usage: $0 INCLUDE_DIR OUTPUT" >&2
    exit 2
fi
include=$1
output=$2
if [ ! -f "$include/Python.h" ] || [ ! -d "$include/internal" ]; then
    echo "build-oracle.sh: $include has no Python.h and internal/ headers" >&2
    exit 1
fi
# Which keys apply to which version: tools/offsets/keys.tsv, as a header.
gen=$(mktemp -d)
trap 'rm -rf "$gen"' EXIT
"$root/tools/offsets/gen-keys.sh" oracle "$root/tools/offsets/keys.tsv" \
    > "$gen/oracle_keys.h"
${CC:-cc} -std=c11 -O0 -Wall -Wextra -DPy_BUILD_CORE -I"$include" -I"$gen" \
    -o "$output" "$root/tests/c/offsets_oracle.c"
