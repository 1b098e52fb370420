"""labels_trace.py: one request traced across two Python processes.

The frontend (this process) starts a backend process, then serves requests,
each painted with its trace id (``with pyscope.label(trace_id)``); for every
request it does some work itself and asks the backend, over a local socket,
to do the rest.  The trace id travels in the request line, and the backend
paints its handler with the same id.  One trace, "trace-heavy", costs ten
times as much as the others on both sides, so
``cpu-sample.sh --children --labels join`` shows its CPU summed over both
processes.

usage: labels_trace.py [SECONDS]          (frontend; starts the backend)
       labels_trace.py --backend PORTFILE (the backend, started by the frontend)
"""
import os
import socket
import subprocess
import sys
import time

import pyscope


def burn(units):
    """CPU-bound pure-Python work."""
    total = 0
    for i in range(units * 2000):
        total += i * i % 7
    return total


def back_work(units):
    return burn(units)


def backend_handle(conn):
    with conn, conn.makefile("rw") as f:
        for line in f:
            trace_id, units = line.split()
            with pyscope.label(trace_id):
                back_work(int(units))
            f.write("done\n")
            f.flush()


def backend(portfile):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.getsockname()[1]))
    os.rename(tmp, portfile)
    conn, _ = srv.accept()
    backend_handle(conn)


def front_work(units):
    return burn(units)


def handle_request(f, trace_id, units):
    with pyscope.label(trace_id):
        front_work(units)
        f.write(f"{trace_id} {units}\n")
        f.flush()
        f.readline()


def frontend(seconds):
    portfile = f"/tmp/labels_trace.{os.getpid()}.port"
    child = subprocess.Popen([sys.executable, __file__, "--backend", portfile])
    while not os.path.exists(portfile):
        time.sleep(0.01)
    with open(portfile) as f:
        port = int(f.read())
    os.unlink(portfile)
    sock = socket.create_connection(("127.0.0.1", port))
    deadline = time.monotonic() + seconds
    n = 0
    with sock, sock.makefile("rw") as f:
        while time.monotonic() < deadline:
            n += 1
            if n % 10 == 5:
                handle_request(f, "trace-heavy", 100)
            else:
                handle_request(f, f"trace-{n}", 10)
    child.wait()


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--backend":
        backend(sys.argv[2])
    else:
        frontend(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0)
