"""run.py: each of hostile's chains in turn (or only KIND), for MS
milliseconds each (a profiler samples them), ROUNDS times over (0: until
SIGUSR1, which ends the run after the chain in place), then one line
"survived N" (N chains run); tests/attach/debian.sh and tests/attach.bats.
When pyscope's runtime can be imported, each chain runs under a frame
label ("hostile-KIND"), so that a profile's label walks meet the chains.

usage: run.py [--rounds ROUNDS] [MS [KIND]]   (default 1, 500, every kind)
"""
import itertools
import signal
import sys

import hostile

try:
    import pyscope
except ImportError:
    pyscope = None

KINDS = ["cycle", "unmapped", "garbage", "wild-string", "lying-lines",
         "long"]


def victim():
    return sum(range(10))


def main(rounds, ms, kinds):
    stop = []
    signal.signal(signal.SIGUSR1, lambda *_: stop.append(1))
    done = 0
    for _ in range(rounds) if rounds else itertools.count():
        if stop:
            break
        for kind in kinds:
            if stop:
                break
            if pyscope is None:
                n = hostile.run(kind, victim.__code__, ms)
            else:
                with pyscope.label("hostile-" + kind):
                    n = hostile.run(kind, victim.__code__, ms)
            print("hostile %s: %d spins" % (kind, n), flush=True)
            done += n > 0
    assert victim() == 45
    print("survived %d" % done, flush=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    rounds = 1
    if args[:1] == ["--rounds"]:
        rounds, args = int(args[1]), args[2:]
    main(rounds, float(args[0]) if args else 500, args[1:2] or KINDS)
