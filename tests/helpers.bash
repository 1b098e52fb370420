# helpers.bash: shared by the bats files.
ROOT=$(CDPATH= cd -- "$BATS_TEST_DIRNAME/.." && pwd)
PY=/usr/bin/python3.11
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
