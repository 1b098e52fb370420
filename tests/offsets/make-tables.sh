#!/bin/sh
# make-tables.sh: write tools/offsets/tables/3.X.tsv, the compiled-in
# fallback offsets tables, one per CPython 3.X found on this machine.
#
# Each table is the output of tests/c/offsets_oracle.c built against that
# build's own headers (tests/offsets/build-oracle.sh), keys sorted, under a
# comment header naming the build.  Sources, newest 3.X.Y first:
#   $PYENV_ROOT/versions/3.X.Y/include/python3.X   (default /root/.pyenv)
#   /usr/include/python3.X                         (the distribution's)
# A 3.X with no headers that have internal/ is skipped with a note.  The
# sym.* keys are not in these tables (only the ELF file knows them).
#
# usage: tests/offsets/make-tables.sh [OUTPUT-DIR]
set -eu
root=$(CDPATH='' cd -- "$(dirname -- "$0")/../.." && pwd)
out_dir=${1:-$root/tools/offsets/tables}
pyenv_versions=${PYENV_ROOT:-/root/.pyenv}/versions
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out_dir"

tab=$(printf '\t')

# "3.X.Y<TAB>INCLUDE_DIR<TAB>what", one line per build found.
candidates() {
    for dir in "$pyenv_versions"/3.*; do
        [ -d "$dir" ] || continue
        version=${dir##*/}
        minor=${version#3.}
        minor=${minor%%.*}
        printf '%s\t%s\t%s\n' "$version" \
            "$dir/include/python3.$minor" "pyenv $dir"
    done
    for include in /usr/include/python3.*; do
        case ${include##*/} in
        python3.[0-9] | python3.[0-9][0-9]) ;;
        *) continue ;;      # python3.11d and the like: other ABIs
        esac
        version=$(sed -n 's/^#define PY_VERSION[[:space:]]*"\(.*\)"/\1/p' \
                  "$include/patchlevel.h" 2>/dev/null)
        [ -n "$version" ] || continue
        printf '%s\t%s\t%s\n' "$version" "$include" "system headers"
    done
}

# Newest 3.X.Y first, so the first of each 3.X is the one used.
done_minors=" "
candidates | sort -t "$tab" -k1,1Vr |
while IFS="$tab" read -r version include what; do
    minor=${version#3.}
    minor=${minor%%.*}
    case $minor in
    [0-9] | [0-9][0-9]) [ "$minor" -ge 8 ] || continue ;;
    *) continue ;;
    esac
    case $done_minors in *" $minor "*) continue ;; esac
    if [ ! -d "$include/internal" ]; then
        echo "make-tables.sh: skip $version ($what): no internal/" >&2
        continue
    fi
    "$root/tests/offsets/build-oracle.sh" "$include" "$work/oracle-$version"
    table=$out_dir/3.$minor.tsv
    {
        echo "# pyscope-offsets 1"
        echo "# table 3.$minor: CPython $version ($what), $(uname -m)"
        echo "# made by tests/offsets/make-tables.sh: tests/c/offsets_oracle.c"
        echo "# compiled against $include (-DPy_BUILD_CORE):"
        echo "# offsetof/sizeof, header constants, and a runtime probe for the str.state bits."
        echo "# Keys sorted; no sym.* keys.  Regenerate, do not edit."
        "$work/oracle-$version" | grep -v '^#' | LC_ALL=C sort
    } > "$table.tmp"
    mv "$table.tmp" "$table"
    echo "make-tables.sh: wrote $table from $version ($what)"
    done_minors="$done_minors$minor "
done
