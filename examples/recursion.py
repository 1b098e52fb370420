"""recursion.py: a Python stack 1000 frames deep, busy at the bottom."""
import sys
import time


def dive(depth, deadline):
    if depth > 0:
        return dive(depth - 1, deadline)
    n = 0
    while time.monotonic() < deadline:
        n += 1
    return n


if __name__ == "__main__":
    sys.setrecursionlimit(5000)
    dive(1000, time.monotonic() + (float(sys.argv[1]) if len(sys.argv) > 1 else 3.0))
