"""leak_demo.py: a service loop with two leaks, for leak-watch.sh.

Each round handles one "request":
  * leaky.frame(record) (examples/ext/leaky.c) leaks a bytes object of
    leaky.LEAK_PER_CALL bytes (4033) every call;
  * remember() keeps a 1000-byte buffer per request in a cache that is
    never trimmed: the line marked "LEAK: cache" leaks
    sys.getsizeof(bytes(1000)) bytes (1033) per request, plus the cache
    list's own growth;
  * everything else it allocates is freed before the next round.

usage: PYTHONPATH=build/ext python3.11 examples/leak_demo.py [ROUNDS] [PAUSE] [HOLD]
(defaults: 400 rounds, 0.005 s pause after each, then HOLD seconds (0)
idle with everything still alive: at exit the interpreter frees the cache,
so a watch meant to see it ends during the hold.  HOLD "exit" leaves at
once through os._exit(), freeing nothing: a watch that runs until the
process ends then sees both leaks, however slowly the process ran)
"""
import os
import sys
import time

import leaky

_cache = []


def remember(request_id):
    _cache.append(bytes(1000))                    # LEAK: cache


def handle(request_id):
    record = b"request %d " % request_id * 8      # freed each round
    words = record.split()                        # freed each round
    checksum = leaky.frame(record)                # LEAK: C extension
    remember(request_id)
    return checksum + len(words)


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    pause = float(sys.argv[2]) if len(sys.argv) > 2 else 0.005
    total = 0
    for i in range(rounds):
        total += handle(i)
        time.sleep(pause)
    print("rounds: %d leak_per_call: %d cache_entry: %d"
          % (rounds, leaky.LEAK_PER_CALL, sys.getsizeof(bytes(1000))),
          flush=True)
    hold = sys.argv[3] if len(sys.argv) > 3 else "0"
    if hold == "exit":
        os._exit(0)
    time.sleep(float(hold))


if __name__ == "__main__":
    main()
