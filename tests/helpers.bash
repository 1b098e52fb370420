# helpers.bash: shared by the bats files.
ROOT=$(CDPATH= cd -- "$BATS_TEST_DIRNAME/.." && pwd)
PY=/usr/bin/python3.11
PYENV=${PYENV:-/root/.pyenv/versions}

# The newest installed patch release of a minor version under $PYENV
# (3.8 -> 3.8.18), or nothing: the tests run on whatever pyenv has, not on
# one patch release.
patch_of() {
    ls -d "$PYENV/$1".[0-9]* 2>/dev/null | sed 's|.*/||' | sort -V | tail -n 1
}
export PYSCOPE_QUIET=0

# Share of samples (in percent, integer) in a folded file whose stack
# matches an extended regex.
folded_share() {
    awk -v re="$2" '{ n = $NF; t += n; if ($0 ~ re) m += n }
        END { if (t == 0) print 0; else printf "%d\n", 100 * m / t }' "$1"
}

folded_total() {
    awk '{ t += $NF } END { print t + 0 }' "$1"
}

# A leak-watch report row's field (2 GROWTH_BYTES, 3 LIVE_BYTES), for the
# row whose group ends in WANT, in table TABLE ("growth": top groups by
# growth, "bytes": by surviving bytes) of report FILE.
leak_row_field() {   # FIELD TABLE WANT FILE
    awk -v f="$1" -v table="$2" -v want="$3" '
        /^Top groups by growth/ { t = "growth"; next }
        /^Top groups by surviving/ { t = "bytes"; next }
        /^$/ { t = "" }
        t == table && $1 ~ /^[0-9]+$/ && substr($0, length($0) - length(want) + 1) == want { print $f + 0; exit }' "$4"
}
row_growth() { leak_row_field 2 "$@"; }   # TABLE WANT FILE
row_live() { leak_row_field 3 "$@"; }

within_10pct() {   # actual expected
    awk -v a="$1" -v e="$2" 'BEGIN { d = a - e; if (d < 0) d = -d; exit !(e > 0 && d * 10 <= e) }'
}
