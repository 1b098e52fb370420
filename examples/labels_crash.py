"""labels_crash.py: a "query of death" - a C-level crash in a painted frame.

With pyscope.install(), the crash report starts with the labels of the
crashing thread, then faulthandler prints the Python stack:

    pyscope: fatal signal 11; labels on this thread (outermost first):
      query-of-death-17  in run_query (labels_crash.py:NN)
    Fatal Python error: Segmentation fault
    ...

usage: labels_crash.py [segv|abort]     (default segv: reads address 0)
"""
import ctypes
import os
import sys

import pyscope


def crash(how):
    if how == "abort":
        os.abort()                  # SIGABRT, from C
    ctypes.string_at(0)             # SIGSEGV: strlen(NULL) in C


def run_query(query_id, how):
    with pyscope.label(f"query-of-death-{query_id}"):
        crash(how)


def main():
    how = sys.argv[1] if len(sys.argv) > 1 else "segv"
    if how not in ("segv", "abort"):
        sys.exit(__doc__)
    pyscope.install()               # once, at start-up
    run_query(17, how)


if __name__ == "__main__":
    main()
