"""forkexec.py: a target that forks and execs while a tool watches it
(tests/attach/debian.sh, tests/attach.bats).

Prints "ready", spins in before_fork() until SIGUSR1 (a tool has
attached), then forks: the child spins in in_child() for a second and
exits; the parent spins in after_fork() for a second, keeping its last
1,000 strings of 1 KB (malloc's, so that every mode sees them), waits
for the child, prints "child N" (its exit status) and execs
/bin/sleep SECONDS: the process goes on, but as a program that is not
Python.

usage: forkexec.py SECONDS
"""
import os
import signal
import sys
import time

go = []
held = []   # what after_fork() keeps, alive until the exec


def spin(seconds, keep=None):
    """until SIGUSR1 (seconds None) or for seconds"""
    end = time.monotonic() + (seconds or 0)
    n = 0
    while not go if seconds is None else time.monotonic() < end:
        n += sum(range(100))
        if keep is not None:
            keep.append("x" * 1000 + str(n))   # malloc's: seen by trace mode
            del keep[:-1000]
    return n


def before_fork():
    return spin(None)


def in_child():
    return spin(1.0)


def after_fork():
    return spin(1.0, keep=held)


def main(seconds):
    signal.signal(signal.SIGUSR1, lambda *_: go.append(1))
    print("ready", flush=True)
    before_fork()
    pid = os.fork()
    if pid == 0:
        in_child()
        os._exit(7)
    after_fork()
    _, status = os.waitpid(pid, 0)
    print("child %d" % os.waitstatus_to_exitcode(status), flush=True)
    os.execv("/bin/sleep", ["sleep", seconds])


if __name__ == "__main__":
    main(sys.argv[1])
