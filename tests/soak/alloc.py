"""alloc.py: allocation as fast as Python goes, with a steady leak
(tests/soak.sh).

churn() makes a tuple, a str, a list and a dict a step and frees them at
once (most of them small objects, which a PGO+LTO build allocates inline
where uprobes cannot see them); leak() keeps RATE strings of 600 bytes a
second (malloc's, seen by every mode) in a list that only grows, paced
by the clock, so that a slowed process leaks as much.  Every 5 s it
prints "rate R kept K" (objects made a second over those 5 s, strings
kept so far) and at SIGTERM or SIGINT "total N objects, kept K" and
exits 0.

usage: alloc.py [RATE]   (default 2000)
"""
import signal
import sys
import time

ROUND = 1000
kept = []


def churn(i):
    t = (i, i + 1)
    s = str(i)
    lst = [t, s]
    d = {"k": lst}
    return len(d)


def leak(i):
    kept.append("x" * 600 + str(i))


def main(rate):
    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.append(1))
    print("ready", flush=True)
    made = 0
    t0 = last = time.monotonic()
    last_made = 0
    i = 0
    while not stop:
        for _ in range(ROUND):
            churn(i)
            i += 1
        made += 4 * ROUND
        now = time.monotonic()
        due = int((now - t0) * rate)
        while len(kept) < due:
            leak(i)
        if now - last >= 5:
            print("rate %d kept %d" % ((made - last_made) / (now - last),
                                       len(kept)), flush=True)
            last, last_made = now, made
    print("total %d objects, kept %d" % (made, len(kept)), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
