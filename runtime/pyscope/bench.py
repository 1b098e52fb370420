"""bench.py: what scope painting and allocation sampling cost.

Prints, from one run (timeit, best of 5):
  * `with pyscope.label("x"): pass` against `with contextlib.nullcontext():
    pass` - the ratio must stay at or below 1.0;
  * a call of a function that does pyscope.paint("x") and returns, against
    the same function without the paint;
then, each in fresh interpreters of the same run (best CPU time of 7
processes x 3 runs, configurations interleaved):
  * an allocation-heavy loop (small lists, dicts, strings, tuples, ints,
    and a 200 KB bytes object every 256 iterations) with pyscope imported
    and PYSCOPE_ALLOC_SAMPLE=0 against the default mean (512 KiB), and the
    same under LD_PRELOAD=build/libpyscope-alloc.so (also against no
    pyscope at all).  Target: ratios under 1.10.

Measured (Debian 12 microVM, 2 vCPUs, python3.11 3.11.2; other jobs on
the host make single runs vary by about +-0.03):
  extension on/off  1.03 - 1.09 over 10 runs, 1.064 in the last `make bench`
  preload on/off    1.05 - 1.09 over 10 runs, 1.051 in the last one
  preload/no pyscope 1.03 - 1.09
About half of it is the hooks' existence alone (forwarding hooks that do
nothing else measured 1.04 - 1.05): the loop does little but allocate, and
each allocation costs ~1 ns more per extra indirect call.  The extension
pays slightly more than the preload for its thread-local state (a TLS
descriptor call: it is dlopen()ed, see sampler.h).

usage: PYTHONPATH=build/py [PYSCOPE_PRELOAD=SO] /usr/bin/python3.11
       runtime/pyscope/bench.py [N-LABEL [N-ALLOC]]
"""
import os
import subprocess
import sys
import timeit

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

# Run as a script, this file's directory comes first on sys.path, and its
# pyscope/ (the sources, without the built C module) would hide the one on
# PYTHONPATH.
if os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]

import pyscope  # noqa: E402

SETUP = """
import contextlib
import pyscope

def painted():
    pyscope.paint("x")

def plain():
    pass
"""


def best_ns(stmts, number):
    """Best of 5 per statement, in ns, the statements' runs interleaved so
    that a noisy moment hits all of them alike."""
    timers = [timeit.Timer(stmt, SETUP) for stmt in stmts]
    best = [float("inf")] * len(stmts)
    for _ in range(5):
        for i, timer in enumerate(timers):
            best[i] = min(best[i], timer.timeit(number))
    return [t / number * 1e9 for t in best]


# -- allocation sampling ---------------------------------------------------

# Run in a fresh interpreter per measurement (the sampler is set up when
# the process starts or pyscope is imported, so on/off needs a process
# each).  Prints the best of 3 timings of work(N), in seconds of the
# process's CPU time: on a shared machine, time spent waiting for a CPU is
# noise that wall-clock time would count.
ALLOC_WORKLOAD = r"""
import sys, time
if sys.argv[2] == "import":
    import pyscope

def work(n):
    keep = None
    for i in range(n):
        l = [i, i + 1, i + 2]               # small lists, dicts, strings:
        d = {"a": i, "b": l, "c": None}     # pymalloc (obj/mem domains)
        s = "k" * (i & 63) + str(i)
        d[s] = (l, s)
        if i % 256 == 0:
            keep = bytes(200_000)           # large: raw domain, then malloc
    return keep

n = int(sys.argv[1])
work(n // 10)
best = float("inf")
for _ in range(3):
    t0 = time.process_time()
    work(n)
    best = min(best, time.process_time() - t0)
print(best)
"""


def alloc_run(env_extra, mode, n):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.pop("PYSCOPE_ALLOC_SAMPLE", None)
    env.update(env_extra)
    out = subprocess.run([sys.executable, "-c", ALLOC_WORKLOAD, str(n), mode],
                         env=env, check=True, capture_output=True, text=True)
    return float(out.stdout.split()[-1])


def alloc_bench(n, rounds=7):
    """Best time of each configuration, the configurations' runs
    interleaved round by round."""
    preload = os.environ.get("PYSCOPE_PRELOAD") or os.path.join(
        ROOT, "build", "libpyscope-alloc.so")
    configs = {
        "plain": ({}, "none"),
        "ext_off": ({"PYSCOPE_ALLOC_SAMPLE": "0"}, "import"),
        "ext_on": ({}, "import"),
    }
    if os.path.exists(preload):
        configs["pre_off"] = ({"LD_PRELOAD": preload,
                               "PYSCOPE_ALLOC_SAMPLE": "0"}, "none")
        configs["pre_on"] = ({"LD_PRELOAD": preload}, "none")
    best = {name: float("inf") for name in configs}
    for _ in range(rounds):
        for name, (env, mode) in configs.items():
            best[name] = min(best[name], alloc_run(env, mode, n))
    return best


def alloc_main(n):
    best = alloc_bench(n)
    print(f"allocation loop, {n} iterations, CPU time, best of 7 processes"
          " x 3 runs:")
    names = {
        "plain": "no pyscope",
        "ext_off": "import pyscope, PYSCOPE_ALLOC_SAMPLE=0",
        "ext_on": "import pyscope, default 512 KiB",
        "pre_off": "LD_PRELOAD, PYSCOPE_ALLOC_SAMPLE=0",
        "pre_on": "LD_PRELOAD, default 512 KiB",
    }
    for name, t in best.items():
        print(f"  {names[name]:40s} {t * 1e3:8.1f} ms")
    print(f"ratio extension on/off:      {best['ext_on'] / best['ext_off']:7.3f}")
    if "pre_on" in best:
        print(f"ratio preload on/off:        "
              f"{best['pre_on'] / best['pre_off']:7.3f}")
        print(f"ratio preload on/no pyscope: "
              f"{best['pre_on'] / best['plain']:7.3f}")


def main():
    number = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    label_ns, null_ns, paint_ns, plain_ns = best_ns(
        ['with pyscope.label("x"): pass',
         "with contextlib.nullcontext(): pass",
         "painted()",
         "plain()"], number)
    print(f"with pyscope.label():        {label_ns:7.1f} ns")
    print(f"with contextlib.nullcontext: {null_ns:7.1f} ns")
    print(f"ratio label/nullcontext:     {label_ns / null_ns:7.2f}")
    print(f"call with paint()+return:    {paint_ns:7.1f} ns")
    print(f"call without paint:          {plain_ns:7.1f} ns")
    print(f"paint()+return costs:        {paint_ns - plain_ns:7.1f} ns")
    stats = pyscope.stats()
    if stats["overflow"]:
        print(f"(overflow: {stats['overflow']})")
    alloc_main(int(sys.argv[2]) if len(sys.argv) > 2 else 300_000)


if __name__ == "__main__":
    main()
