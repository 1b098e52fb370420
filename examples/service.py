"""service.py: a long-running stand-in for a service, to attach pyscope to.

It handles "requests" in a loop until killed (or for --seconds), and once
a second prints a self-check line

    ok ROUND CHECK

where CHECK is a computation with a known answer, checked in the process
itself ("FAIL ROUND ..." when it is wrong): a tool that harms the process
shows up as a FAIL, a stall or a missing line.  It prints "ready PID"
once everything below is set up.

usage: python3 examples/service.py [--seconds S] [--busy-threads N]
           [--idle-threads N] [--idle] [--labels] [--leak] [--refbug]

  --busy-threads N  N more threads, each spinning in spin_worker()
  --idle-threads N  N more threads, each blocked on an event (idle)
  --idle            the main thread does no work either: it wakes 20
                    times a second for the self-check (and --leak), and
                    sleeps (a process that is almost idle)
  --labels          import pyscope and paint each request's frame with
                    its label ("req-0" .. "req-2"; req-2 does three times
                    the work)
  --leak            every request (with --idle: every wake-up) keeps
                    10000 bytes in a list that is never trimmed (the line
                    marked "LEAK")
  --refbug          print "refbug 0xADDR" (id() of a tuple) and pass that
                    tuple to refbug.checksum() once a second: its bug
                    leaks one reference to it per call
"""
import os
import sys
import threading
import time

_kept = []


def work(units):
    total = 0
    for i in range(units * 1000):
        total += i * i % 7
    return total


def handle(n):
    if _labels is not None:
        with _labels.label("req-%d" % (n % 3)):
            return work(30 if n % 3 == 2 else 10)
    return work(10)


def remember():
    _kept.append(bytes(10000))                   # LEAK


def spin_worker():
    while True:
        work(10)


def self_check(rnd):
    # sum of i*i for i < n is (n-1)n(2n-1)/6
    n = 1000 + rnd % 100
    got = sum(i * i for i in range(n))
    want = (n - 1) * n * (2 * n - 1) // 6
    if got == want:
        print("ok %d %d" % (rnd, got), flush=True)
    else:
        print("FAIL %d %d != %d" % (rnd, got, want), flush=True)


def main(argv):
    global _labels
    opts = {"--seconds": 0, "--busy-threads": 0, "--idle-threads": 0}
    flags = set()
    args = list(argv)
    while args:
        a = args.pop(0)
        if a in opts:
            opts[a] = int(args.pop(0))
        elif a in ("--idle", "--labels", "--leak", "--refbug"):
            flags.add(a)
        else:
            sys.exit("service.py: unknown argument %r (see the docstring)" % a)

    _labels = None
    if "--labels" in flags:
        import pyscope
        _labels = pyscope
    target = None
    checksum = None
    if "--refbug" in flags:
        import refbug
        checksum = refbug.checksum
        target = tuple([1, 2, 3, 4])             # an even sum: leaks a ref
        print("refbug 0x%x" % id(target), flush=True)

    stop = threading.Event()
    for _ in range(opts["--busy-threads"]):
        threading.Thread(target=spin_worker, daemon=True).start()
    for _ in range(opts["--idle-threads"]):
        threading.Thread(target=stop.wait, daemon=True).start()

    print("ready %d" % os.getpid(), flush=True)
    start = time.monotonic()
    next_check = start
    rnd = n = 0
    while opts["--seconds"] == 0 or time.monotonic() - start < opts["--seconds"]:
        now = time.monotonic()
        if now >= next_check:
            self_check(rnd)
            if checksum is not None:
                checksum(target)
            rnd += 1
            next_check += 1.0
        if "--idle" in flags:
            time.sleep(max(0.0, min(0.05, next_check - time.monotonic())))
            if "--leak" in flags:
                remember()
            continue
        handle(n)
        if "--leak" in flags:
            remember()
        n += 1


_labels = None

if __name__ == "__main__":
    main(sys.argv[1:])
