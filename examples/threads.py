"""threads.py: two threads, each with its own hot function."""
import sys
import threading
import time


def spin_alpha(deadline):
    n = 0
    while time.monotonic() < deadline:
        n += sum(range(100))
    return n


def spin_beta(deadline):
    s = ""
    while time.monotonic() < deadline:
        s = "-".join(str(i) for i in range(50))
    return s


if __name__ == "__main__":
    end = time.monotonic() + (float(sys.argv[1]) if len(sys.argv) > 1 else 3.0)
    a = threading.Thread(target=spin_alpha, args=(end,), name="alpha")
    b = threading.Thread(target=spin_beta, args=(end,), name="beta")
    a.start()
    b.start()
    a.join()
    b.join()
