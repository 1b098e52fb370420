"""labels_stress.py: threads painting and clearing labels in a tight loop.

Every label is self-describing, "s<n>:" followed by "<n>," repeated
(n % 7) + 1 times, so a reader that ever saw a torn label (half of one
write, half of another) would show a string that fails this check.
"""
import sys
import threading
import time

import pyscope


def label_for(n):
    return f"s{n}:" + f"{n}," * (n % 7 + 1)


def painter(k, deadline):
    n = k
    while time.monotonic() < deadline:
        with pyscope.label(label_for(n)):
            n += 7
            pyscope.paint(label_for(n))   # repaint the same frame
            n += 7
        n += 7


if __name__ == "__main__":
    end = time.monotonic() + (float(sys.argv[1]) if len(sys.argv) > 1 else 5.0)
    threads = [threading.Thread(target=painter, args=(k, end)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
