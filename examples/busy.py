"""busy.py: one hot function, for profiler tests and the demo.

hot_loop() carries almost all of the CPU; its inner loop is line 12.
"""
import sys
import time


def hot_loop(deadline):
    n = 0
    while time.monotonic() < deadline:
        n += sum(i * i for i in range(2000))
    return n


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    hot_loop(time.monotonic() + seconds)


if __name__ == "__main__":
    main()
