"""labels_server.py: a threaded server whose handlers paint their request id.

Each request "ID UNITS" is handled under ``with pyscope.label(f"req-{ID}")``
and burns UNITS of CPU in compute().  Request 7 is the heavy one: it also
runs build_report(), fifty times the work of any other request, so a
profile split by labels shows where it went and a joined one charges it to
req-7.

usage: labels_server.py --selftest SECONDS   server + 3 client threads
       labels_server.py --serve PORT         serve until killed (0: any port)
"""
import socket
import socketserver
import sys
import threading
import time

import pyscope


def compute(units):
    total = 0
    for i in range(units * 1000):
        total += i * i % 13
    return total


def build_report(units):
    return sum(compute(1) for _ in range(units))


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            req_id, units = line.split()
            with pyscope.label(f"req-{req_id.decode()}"):
                result = compute(int(units))
                if req_id == b"7":
                    result += build_report(50 * int(units))
            self.wfile.write(b"%d\n" % result)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def client(port, ids):
    with socket.create_connection(("127.0.0.1", port)) as s, s.makefile("rwb") as f:
        for i in ids:
            f.write(b"%d 5\n" % i)
            f.flush()
            f.readline()


def selftest(seconds):
    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    deadline = time.monotonic() + seconds
    batch = 0
    while time.monotonic() < deadline or batch == 0:
        ids = range(batch * 20 + 1, batch * 20 + 21)
        clients = [threading.Thread(target=client, args=(port, ids[k::3]))
                   for k in range(3)]
        for c in clients:
            c.start()
        for c in clients:
            c.join()
        batch += 1
    server.shutdown()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--selftest":
        selftest(float(sys.argv[2]))
    elif len(sys.argv) == 3 and sys.argv[1] == "--serve":
        srv = Server(("127.0.0.1", int(sys.argv[2])), Handler)
        print(srv.server_address[1], flush=True)
        srv.serve_forever()
    else:
        sys.exit(__doc__)
