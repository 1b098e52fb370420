"""alloc_churn.py: allocation-heavy work whose memory stays flat.

The workload of the leak-hunting benchmark (bench/leak-bench.sh) and of the
"no false positive on steady churn" checks: it allocates and frees all the
time, and leaks nothing.  Every object made is either dropped at once or
kept in a fixed ring of RING slots, where it replaces (frees) the one made
RING iterations before, so live memory is bounded and steady, no object
has a cycle (the garbage collector has nothing to find), and frees do not
simply mirror the allocations in LIFO order.

One iteration (i = the iteration number) makes:
  * small objects, all from pymalloc: a 3-tuple, a list of 8 ints, a dict of
    4 str keys, two short strings (an f-string and a concatenation) and a
    list comprehension over the list;
  * one medium bytes object of 2048-8191 bytes (2048 + (i * 2654435761) %
    6144: sizes spread over the range), past pymalloc's 512-byte limit, so
    one malloc and one free in libc per iteration;
  * every 64th iteration, one large bytes object of 256 KiB (past glibc's
    mmap threshold: an mmap and a munmap).
The tuple, the medium bytes and, every 4th iteration, the dict go into the
ring (RING = 64); the rest is dropped before the next iteration.

usage:
  alloc_churn.py --iterations N [--threads T]
      do N iterations (in total, split evenly over T threads) and print
      `elapsed: <seconds> s`, time.perf_counter() around the work loop only
      (interpreter start-up and anything before the loop are not counted)
  alloc_churn.py --seconds S [--threads T]
      churn for S seconds and print `iterations: N` (the total)
Without either: --seconds 10.
"""
import argparse
import sys
import threading
import time

RING = 64
MEDIUM_MIN = 2048
MEDIUM_SPAN = 6144
LARGE = 256 * 1024
LARGE_EVERY = 64

# Slices of these make new bytes objects of the wanted size (one malloc and
# a memcpy each, no Python-level loop).
MEDIUM_SRC = bytes(range(256)) * ((MEDIUM_MIN + MEDIUM_SPAN) // 256 + 1)
LARGE_SRC = b"L" * (LARGE + 1)


def churn(first, count, stop_at=None):
    """Run iterations first, first+1, ...: `count` of them, or until
    time.perf_counter() passes stop_at.  Returns how many were done."""
    ring = [None] * RING
    i = first
    end = first + count if count is not None else None
    while True:
        if end is not None:
            if i >= end:
                break
        elif (i & 63) == 0 and time.perf_counter() >= stop_at:
            break
        # small objects (pymalloc)
        t = (i, i + 1, "k")
        lst = [i, i + 1, i + 2, i + 3, i + 4, i + 5, i + 6, i + 7]
        d = {"a": i, "b": t, "c": lst, "d": None}
        s1 = f"obj-{i}"
        s2 = s1 + "-suffix"
        sq = [x * 2 for x in lst]
        # one medium bytes object (malloc/free in libc)
        size = MEDIUM_MIN + (i * 2654435761) % MEDIUM_SPAN
        med = MEDIUM_SRC[1:size + 1]
        slot = i % RING
        ring[slot] = (t, med, d if (i & 3) == 0 else s2, len(sq))
        # now and then a large one (mmap/munmap), dropped at once
        if i % LARGE_EVERY == 0:
            big = LARGE_SRC[1:]
            del big
        i += 1
    ring.clear()
    return i - first


def run(iterations, seconds, threads, work=churn):
    """Split the work over `threads` threads; return (done, elapsed).
    work(first, count, stop_at) does one thread's share (churn's contract)."""
    done = [0] * threads
    stop_at = None
    shares = None
    if iterations is not None:
        base, extra = divmod(iterations, threads)
        shares = [base + (1 if k < extra else 0) for k in range(threads)]

    def worker(k):
        first = sum(shares[:k]) if shares else k * 1_000_000_000
        done[k] = work(first, shares[k] if shares else None, stop_at)

    t0 = time.perf_counter()
    if seconds is not None:
        stop_at = t0 + seconds
    if threads == 1:
        worker(0)
    else:
        ts = [threading.Thread(target=worker, args=(k,), name=f"churn-{k}")
              for k in range(threads)]
        for th in ts:
            th.start()
        for th in ts:
            th.join()
    elapsed = time.perf_counter() - t0
    return sum(done), elapsed


def main(argv=None, work=churn,
         description="Allocation-heavy steady-state churn (memory stays flat)."):
    """The command line of alloc_churn.py, for `work` (service_churn.py
    reuses it)."""
    ap = argparse.ArgumentParser(description=description)
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--seconds", type=float, metavar="S",
                   help="churn for S seconds, print `iterations: N`")
    g.add_argument("--iterations", type=int, metavar="N",
                   help="do N iterations, print `elapsed: <seconds> s`")
    ap.add_argument("--threads", type=int, default=1, metavar="T",
                    help="threads sharing the work (default 1)")
    a = ap.parse_args(argv)
    if a.threads < 1:
        ap.error("--threads must be at least 1")
    if a.iterations is not None and a.iterations < 0:
        ap.error("--iterations must not be negative")
    if a.iterations is None and a.seconds is None:
        a.seconds = 10.0
    done, elapsed = run(a.iterations, a.seconds, a.threads, work)
    if a.iterations is not None:
        print(f"elapsed: {elapsed:.6f} s", flush=True)
    else:
        print(f"iterations: {done}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
