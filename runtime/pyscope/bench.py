"""bench.py: what scope painting costs.

Prints, from one run (timeit, best of 5):
  * `with pyscope.label("x"): pass` against `with contextlib.nullcontext():
    pass` - the ratio must stay at or below 1.0;
  * a call of a function that does pyscope.paint("x") and returns, against
    the same function without the paint.

usage: PYTHONPATH=build/py /usr/bin/python3.11 runtime/pyscope/bench.py [N]
"""
import os
import sys
import timeit

# Run as a script, this file's directory comes first on sys.path, and its
# pyscope/ (the sources, without the built C module) would hide the one on
# PYTHONPATH.
if os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]

import pyscope  # noqa: E402

SETUP = """
import contextlib
import pyscope

def painted():
    pyscope.paint("x")

def plain():
    pass
"""


def best_ns(stmts, number):
    """Best of 5 per statement, in ns, the statements' runs interleaved so
    that a noisy moment hits all of them alike."""
    timers = [timeit.Timer(stmt, SETUP) for stmt in stmts]
    best = [float("inf")] * len(stmts)
    for _ in range(5):
        for i, timer in enumerate(timers):
            best[i] = min(best[i], timer.timeit(number))
    return [t / number * 1e9 for t in best]


def main():
    number = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    label_ns, null_ns, paint_ns, plain_ns = best_ns(
        ['with pyscope.label("x"): pass',
         "with contextlib.nullcontext(): pass",
         "painted()",
         "plain()"], number)
    print(f"with pyscope.label():        {label_ns:7.1f} ns")
    print(f"with contextlib.nullcontext: {null_ns:7.1f} ns")
    print(f"ratio label/nullcontext:     {label_ns / null_ns:7.2f}")
    print(f"call with paint()+return:    {paint_ns:7.1f} ns")
    print(f"call without paint:          {plain_ns:7.1f} ns")
    print(f"paint()+return costs:        {paint_ns - plain_ns:7.1f} ns")
    stats = pyscope.stats()
    if stats["overflow"]:
        print(f"(overflow: {stats['overflow']})")


if __name__ == "__main__":
    main()
