"""shapes.py: real Python code in the shapes that stress a walker, all at
once, until SIGUSR1 (tests/attach/debian.sh, tests/attach.bats):

  deep      a recursion 10,000 frames deep, spinning at its bottom
  threads   200 more threads, waiting on an Event
  función_λ a function with a non-ASCII name, in a file named módulo_ñ.py
            (written to DIR)
  q*10000   a function whose name (and qualified name) is 10,000 characters
  churn     generators created, started and torn down in a tight loop
            (their frames die while a profiler samples them)

It prints "ready" once every thread runs, then, at SIGUSR1, joins them,
checks what each computed and prints one line "survived N" (N threads
checked), or "FAILED ..." and exits 1.

usage: shapes.py DIR
"""
import os
import signal
import sys
import threading

DEPTH = 10000
IDLE = 200
LONG = "q" * 10000

stop = threading.Event()
results = {}


def spin():
    n = 0
    while not stop.is_set():
        n += sum(range(100))
    return n


def deep(n):
    if n == 0:
        spin()
        return 0
    return deep(n - 1) + 1


def gen(i):
    yield i
    yield i + 1


def churn():
    n = 0
    while not stop.is_set():
        for i in range(100):
            g = gen(i)
            n += next(g)
            del g
    return n


def run(name, fn, *args):
    results[name] = fn(*args)


def main(out):
    sys.setrecursionlimit(DEPTH + 1000)
    threading.stack_size(256 << 20)  # 3.8-3.10: a C frame per Python call
    path = os.path.join(out, "m\u00f3dulo_\u00f1.py")
    with open(path, "w", encoding="utf-8") as f:
        f.write("def funci\u00f3n_\u03bb(spin):\n    return spin() + 1\n")
    sys.path.insert(0, out)
    mod = __import__("m\u00f3dulo_\u00f1")
    ns = {"spin": spin}
    exec("def %s():\n    return spin() + 2\n" % LONG, ns)

    busy = [
        ("deep", deep, DEPTH),
        ("unicode", getattr(mod, "funci\u00f3n_\u03bb"), spin),
        ("long", ns[LONG]),
        ("churn", churn),
    ]
    # the idle ones first: a thread starts slowly once others spin
    threads = [threading.Thread(target=stop.wait, name="idle-%d" % i)
               for i in range(IDLE)]
    threads += [threading.Thread(target=run, args=b, name=b[0]) for b in busy]
    signal.signal(signal.SIGUSR1, lambda *_: stop.set())
    for t in threads:
        t.start()
    print("ready %d threads" % threading.active_count(), flush=True)
    while not stop.wait(0.1):
        pass
    for t in threads:
        t.join()
    bad = [name for name, *_ in busy if name not in results]
    if results.get("deep") != DEPTH:
        bad.append("deep=%r" % results.get("deep"))
    if bad:
        print("FAILED " + " ".join(bad), flush=True)
        sys.exit(1)
    print("survived %d" % len(threads), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
