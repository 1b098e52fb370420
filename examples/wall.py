"""wall.py - four threads whose wall-clock time is known, for --wall.

From a common start, for SECONDS (default 2):
  compute  computes (a Python loop) the whole time
  sleeper  sleeps in time.sleep()
  reader   blocks in a socket recv() until the main thread sends a byte
           at the end
  rival    computes alongside compute, so that each of the two waits for
           the GIL about half the time (more with one CPU)
and the main thread sleeps, sends, and joins them.  Each thread prints
"thread NAME TID SECONDS" (its native id and its wall time from the
start) when it ends; lines marked "# WALL:" are where each spends it.
"""
import socket
import sys
import threading
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
start = threading.Barrier(5)
t0 = 0.0
lines = []


def report(name):
    lines.append("thread %s %d %.3f" % (name, threading.get_native_id(),
                                        time.monotonic() - t0))


def spin(name):
    start.wait()
    n = 0
    while time.monotonic() - t0 < SECONDS:
        n += sum(i * i for i in range(200))        # WALL: spin
    report(name)


def sleeper():
    start.wait()
    time.sleep(SECONDS)                             # WALL: sleep
    report("sleeper")


def reader(sock):
    start.wait()
    sock.recv(1)                                    # WALL: recv
    report("reader")


def main():
    global t0
    a, b = socket.socketpair()
    threads = [threading.Thread(target=spin, args=("compute",)),
               threading.Thread(target=sleeper),
               threading.Thread(target=reader, args=(b,)),
               threading.Thread(target=spin, args=("rival",))]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    start.wait()
    t0 = time.monotonic()
    time.sleep(SECONDS)
    a.send(b"x")
    for t in threads:
        t.join()
    for line in lines:
        print(line, flush=True)


if __name__ == "__main__":
    main()
