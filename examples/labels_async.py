"""labels_async.py: asyncio requests labelled through a wrapper, whose work
runs in tasks they create; then a server whose slow request waits on a
slow backend while fast ones come and go.

Part 1, for SECONDS: each request enters its label through a
@contextmanager wrapper (request_scope) and fans its work out with
asyncio.gather(): the work runs in tasks of its own, which inherit the
request's label.  Requests req-0..req-3 run light_work(); req-heavy runs
heavy_work(), ten times as much, so a profile by label charges
heavy_work() to req-heavy.

Part 2: a line-protocol server on 127.0.0.1 labels each request it serves
(req-NAME) and awaits a fake backend (asyncio.sleep) for the delay the
request asks.  A client (coroutines on the same loop) sends req-slow
(backend SLOW seconds) and, while it waits, up to FAST requests one
after another (backend 1 ms each).  The loop spends the time waiting for I/O
(epoll_wait); pyscope charges those waits to the labels of the tasks
waiting, so in a wall-clock profile req-slow carries nearly all of it.  Prints
"slow request N.NNN s, FAST fast requests" when done.

usage: labels_async.py [SECONDS [SLOW [FAST]]]   (defaults 5, 1.5, 20)
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


async def fan_out(seconds):
    deadline = time.monotonic() + seconds
    rounds = 0
    while time.monotonic() < deadline:
        await asyncio.gather(handle("req-heavy", heavy_work, 2),
                             *(handle("req-%d" % i, light_work, 2)
                               for i in range(4)))
        rounds += 1
    print("rounds %d" % rounds, flush=True)


async def backend(delay):
    await asyncio.sleep(delay)          # the slow (or fast) backend


async def serve(reader, writer):
    name, delay = (await reader.readline()).decode().split()
    with request_scope("req-" + name):
        await backend(float(delay))
        writer.write(b"done\n")
        await writer.drain()
    writer.close()


async def request(port, name, delay):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(("%s %s\n" % (name, delay)).encode())
    await writer.drain()
    reply = await reader.readline()
    writer.close()
    await writer.wait_closed()
    return reply


async def serve_slow_and_fast(slow, fast):
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    started = loop.time()
    slow_request = asyncio.ensure_future(request(port, "slow", slow))
    slow_request.add_done_callback(
        lambda _: times.append(loop.time() - started))
    times = []
    done = 0
    # fast requests while the slow one waits (no more once it is done: a
    # slow machine might otherwise go on after it)
    while done < fast and not slow_request.done():
        await asyncio.sleep(slow / (2 * fast))
        await request(port, "fast-%d" % done, 0.001)
        done += 1
    await slow_request
    server.close()
    await server.wait_closed()
    print("slow request %.3f s, %d fast requests" % (times[0], done),
          flush=True)


async def main(seconds, slow, fast):
    await fan_out(seconds)
    await serve_slow_and_fast(slow, fast)


if __name__ == "__main__":
    args = [float(a) for a in sys.argv[1:4]]
    seconds, slow, fast = args + [5, 1.5, 20][len(args):]
    asyncio.run(main(seconds, slow, int(fast)))
