"""labels_async.py: asyncio requests labelled through a wrapper, whose work
runs in tasks they create.

Each request enters its label through a @contextmanager wrapper
(request_scope) and fans its work out with asyncio.gather(): the work runs
in tasks of its own, which inherit the request's label.  Requests
req-0..req-N run light_work(); req-heavy runs heavy_work(), ten times as
much, so a profile by label charges heavy_work() to req-heavy.

usage: labels_async.py SECONDS
"""
import asyncio
import contextlib
import sys
import time

import pyscope


@contextlib.contextmanager
def request_scope(name):
    with pyscope.label(name):
        yield


def burn(units):
    total = 0
    for i in range(units * 1000):
        total += i * i % 13
    return total


async def light_work(units):
    for _ in range(units):
        burn(1)
        await asyncio.sleep(0)


async def heavy_work(units):
    for _ in range(units * 10):
        burn(1)
        await asyncio.sleep(0)


async def handle(name, work, units):
    with request_scope(name):
        await asyncio.gather(work(units), work(units))


async def main(seconds):
    deadline = time.monotonic() + seconds
    rounds = 0
    while time.monotonic() < deadline:
        await asyncio.gather(handle("req-heavy", heavy_work, 2),
                             *(handle("req-%d" % i, light_work, 2)
                               for i in range(4)))
        rounds += 1
    print("rounds %d" % rounds, flush=True)


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1]) if len(sys.argv) > 1 else 5))
