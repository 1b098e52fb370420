# versions.sh: attach scenarios against pyenv's CPythons (a shared,
# relocated libpython each), run inside the QEMU guest by
# tests/attach_versions.bats.  $STRIPPED313 is a 3.13 install whose
# libpython has no DWARF and no symbol table (made on the host).
. "$PYSCOPE_ROOT_DIR/tests/attach/lib.sh"
O=$PYSCOPE_OUT
PYENV=/root/.pyenv/versions

for m in 3.8 3.12; do
    # the newest installed patch release
    v=$(ls -d "$PYENV/$m".[0-9]* 2>/dev/null | sed 's|.*/||' | sort -V | tail -n 1)
    exe=$PYENV/${v:-none}/bin/python$m
    [ -x "$exe" ] || { echo "absent $m"; continue; }
    SVC_PY=$exe start_service "svc-$m"
    # 3.8: Python frames alone (the probe's walk in C), 3.12: merged
    mode=merged
    [ "$m" != 3.8 ] || mode=python
    run_case "cpu-$m" scripts/cpu-sample.sh -p "$SVC_PID" -d 3 --stack $mode -o "$O/cpu-$m/p"
    kill "$SVC_PID"
    [ "$m" = 3.12 ] || continue
    # trace mode traps on every allocation: a target that mostly sleeps
    SVC_PY=$exe start_service "leaker-$m" --idle --leak
    run_case "leak-$m" scripts/leak-watch.sh -p "$SVC_PID" -d 5 --group-by line -o "$O/leak-$m/p"
    kill "$SVC_PID"
done

if [ -n "${STRIPPED313:-}" ]; then
    SVC_PY="env LD_LIBRARY_PATH=$STRIPPED313/lib $STRIPPED313/bin/python3.13" start_service svc-3.13
    run_case cpu-3.13 scripts/cpu-sample.sh -p "$SVC_PID" -d 3 --stack=python -o "$O/cpu-3.13/p"
    kill "$SVC_PID"
fi
