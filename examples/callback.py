"""callback.py: Python called back from C (sorted(key=...)), for merged stacks.

caller() calls the builtin sorted(), which calls slow_key() for every item:
a merged stack reads caller -> sorted's C frames -> slow_key.
"""
import sys
import time


def slow_key(x):
    total = 0
    for i in range(300):
        total += (x * i) % 7
    return total


def caller(deadline):
    data = list(range(200))
    while time.monotonic() < deadline:
        sorted(data, key=slow_key)


if __name__ == "__main__":
    caller(time.monotonic() + (float(sys.argv[1]) if len(sys.argv) > 1 else 3.0))
