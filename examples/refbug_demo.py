"""Call refbug's checksum, which leaks a reference on even sums.

    PYTHONPATH=build/ext python3.11 examples/refbug_demo.py [buggy|fixed] [N]

Each call copies its list into a new tuple inside the C function (the
object refcount-watch.sh catches with --type tuple --alloc-in checksum).
With "buggy" every call's sum is even, so every tuple leaks; with "fixed"
the same calls go to checksum_fixed and every tuple is freed before the
call returns.
"""
import sys

import refbug


def main():
    which = sys.argv[1] if len(sys.argv) > 1 else "buggy"
    calls = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    check = refbug.checksum if which == "buggy" else refbug.checksum_fixed
    for i in range(calls):
        items = [1, 2, 3, 2 * i]        # 6 + 2i: always even
        print(which, check(items))


if __name__ == "__main__":
    main()
