"""cpu_churn.py: CPU-bound workloads for bench/cpu-bench.sh.

Each runs a fixed amount of work and prints "elapsed: S s", the time of
its work loop alone (start-up and teardown are not counted), so that a
profiler's cost is the difference between two runs.

usage: python3 examples/cpu_churn.py [--workload NAME] [--iterations N]
                                     [--threads T]

  python    (default) pure Python: recursion, sorted() with a Python key,
            dict and str building
  callback  C calling back into Python: sorted(key=...) and map() over a
            Python function, most of the time under a C frame
  threads   the python workload split over --threads threads (default 8
            for this workload): the GIL passes between them
  deep      the python workload run 1000 Python frames deep
  pingpong  two threads hand a token back and forth through two
            queue.Queue, --iterations times 4 round trips: every
            hand-over blocks one thread and wakes the other (a
            switch-heavy workload, for --wall's cost)
"""
import queue
import sys
import threading
import time


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def build(i):
    d = {}
    for k in range(20):
        d["k%d" % k] = str(i * k)
    return "".join(d.values())


def python_step(i):
    total = fib(12)
    data = sorted(range(40), key=lambda x: (x * 7919 + i) % 101)
    total += data[0] + len(build(i))
    return total


def key(x):
    return (x * 31 + 7) % 97


def callback_step(i):
    total = sum(map(key, range(60)))
    return total + sorted(range(60), key=key)[0]


def deep(n, i):
    if n == 0:
        return python_step(i)
    return deep(n - 1, i)


def pingpong(rounds):
    there, back = queue.Queue(), queue.Queue()

    def partner():
        for _ in range(rounds):
            back.put(there.get() + 1)

    t = threading.Thread(target=partner)
    t.start()
    token = 0
    for _ in range(rounds):
        there.put(token)
        token = back.get()
    t.join()
    return token


def run(step, iterations):
    for i in range(iterations):
        step(i)


def main(argv):
    workload, iterations, threads = "python", 0, 0
    args = list(argv)
    while args:
        a = args.pop(0)
        if a == "--workload":
            workload = args.pop(0)
        elif a == "--iterations":
            iterations = int(args.pop(0))
        elif a == "--threads":
            threads = int(args.pop(0))
        else:
            sys.exit("cpu_churn.py: unknown argument %r (see the docstring)" % a)
    if workload not in ("python", "callback", "threads", "deep", "pingpong"):
        sys.exit("cpu_churn.py: no workload %r" % workload)
    iterations = iterations or 2000
    sys.setrecursionlimit(5000)

    start = time.perf_counter()
    if workload == "python":
        run(python_step, iterations)
    elif workload == "callback":
        run(callback_step, iterations * 4)
    elif workload == "deep":
        run(lambda i: deep(1000, i), iterations)
    elif workload == "pingpong":
        pingpong(iterations * 4)
    else:
        n = threads or 8
        workers = [threading.Thread(target=run, args=(python_step, iterations // n))
                   for _ in range(n)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    print("elapsed: %.4f s" % (time.perf_counter() - start), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
