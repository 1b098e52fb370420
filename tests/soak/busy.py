"""busy.py: N busy threads for a long profile (tests/soak.sh): half spin
in Python (py_work), half hash in C with the GIL released (c_work), each
thread in a function of its own index (busy_0 .. busy_N-1 call one of the
two), until SIGTERM or SIGINT; prints "ready N" and at the end
"done N" (N threads joined).

usage: busy.py [N]   (default 16)
"""
import hashlib
import signal
import sys
import threading

stop = threading.Event()


def py_work():
    n = 0
    while not stop.is_set():
        n += sum(i * i for i in range(200))
    return n


def c_work():
    data = b"x" * (1 << 20)
    n = 0
    while not stop.is_set():
        n += hashlib.sha256(data).digest()[0]
    return n


def main(n):
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    threads = []
    for i in range(n):
        work = py_work if i % 2 == 0 else c_work
        ns = {"work": work}
        exec("def busy_%d():\n    return work()\n" % i, ns)
        threads.append(threading.Thread(target=ns["busy_%d" % i],
                                        name="busy-%d" % i))
    for t in threads:
        t.start()
    print("ready %d" % n, flush=True)
    while not stop.wait(0.5):
        pass
    for t in threads:
        t.join()
    print("done %d" % n, flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 16)
