"""leak_exit.py: a program that leaks into a module-level list, then exits.

Every 10 ms it appends a 1000-byte bytes object to a list it never
trims, for SECONDS seconds (default 15), then returns normally: the
interpreter's teardown then frees the list, so a leak report must show
the program's state before that teardown.

usage: python3 examples/leak_exit.py [SECONDS]
"""
import sys
import time

kept = []


def leaker(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        kept.append(bytes(1000))                  # LEAK
        time.sleep(0.01)


if __name__ == "__main__":
    leaker(float(sys.argv[1]) if len(sys.argv) > 1 else 15)
    print("appended", len(kept))
