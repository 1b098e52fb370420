"""A service that looks hung, for py-stack.sh (tests/py_stack.bats).

Three named threads besides the main one: "sleeper" sleeps in a C call
(time.sleep), "waiter" waits on an Event nobody sets, "spinner" holds the
GIL in a Python loop.  Every line the tests name is marked; keep them
where they are.  Prints "ready" once every thread is where it stays, and
"tick N" every TICK seconds (argument 1, default 0.2) while it runs, then
"done" after SECONDS (argument 2, default 60).
"""
import ctypes
import sys
import threading
import time

libc = ctypes.CDLL(None)
PR_SET_NAME = 15
spinning = threading.Event()


def name_me(name):
    # the kernel's name of this thread (/proc/PID/task/TID/comm): Python
    # before 3.14 does not set it
    libc.prctl(PR_SET_NAME, name.encode(), 0, 0, 0)


def sleeper():
    name_me("sleeper")
    while True:
        time.sleep(1000)  # LINE sleeper


def waiter():
    name_me("waiter")
    threading.Event().wait()  # LINE waiter


def spin(n):
    x = 0
    while True:
        x = (x + n) % 1000003  # LINE spin


def spinner():
    name_me("spinner")
    spinning.set()
    spin(7)  # LINE spinner


def main():
    tick = float(sys.argv[1]) if len(sys.argv) > 1 else 0.2
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 60
    for f in (sleeper, waiter, spinner):
        threading.Thread(target=f, name=f.__name__, daemon=True).start()
    spinning.wait()
    time.sleep(0.2)
    print("ready", flush=True)
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        time.sleep(tick)  # LINE main
        n += 1
        print("tick", n, flush=True)
    print("done", flush=True)


if __name__ == "__main__":
    main()
