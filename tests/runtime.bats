#!/usr/bin/env bats
# The pyscope runtime (runtime/pyscope) in its own process, on this
# machine (no guest): its unit tests under Debian's python3.11 and its
# install by pip.  labels.bats reads its labels from outside, in the guest;
# versions.bats runs the same unit tests under every pyenv CPython.
load helpers

@test "runtime unit tests (labels, asyncio, threads, hostile text, stress, crash)" {
    run env PYTHONPATH="$ROOT/build/py" "$PY" -m unittest discover -s "$ROOT/tests/py" -v
    echo "$output" | tail -30
    [ "$status" -eq 0 ]
    echo "$output" | grep -E '^Ran (1[0-9]|[2-9][0-9]) tests'
}

@test "pip installs the runtime from its pyproject.toml: it imports, paints a label, and keeps the DWARF the tapsets read" {
    # the whole runtime/: setup.py also compiles ../sampler and ../include
    cp -r "$ROOT/runtime" "$BATS_TEST_TMPDIR/src"
    rm -rf "$BATS_TEST_TMPDIR/src/pyscope/build" "$BATS_TEST_TMPDIR"/src/pyscope/*.egg-info
    run "$PY" -m pip install --no-build-isolation --no-deps --no-index \
        --target "$BATS_TEST_TMPDIR/site" "$BATS_TEST_TMPDIR/src/pyscope"
    echo "$output"
    [ "$status" -eq 0 ]
    # the pyproject.toml route, not setup.py's legacy install
    echo "$output" | grep -q 'pyproject.toml'
    ! echo "$output" | grep -qi 'legacy\|deprecat' || false
    so=$(ls "$BATS_TEST_TMPDIR"/site/pyscope/_pyscope.cpython-311-*.so)
    readelf -S "$so" | grep -q '\.debug_info'
    run env PYTHONPATH="$BATS_TEST_TMPDIR/site" "$PY" -c '
import pyscope
with pyscope.label("req 7"):
    print(pyscope.labels()[-1], pyscope.__file__)'
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = "req 7 $BATS_TEST_TMPDIR/site/pyscope/__init__.py" ]
}
