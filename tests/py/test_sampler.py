"""Unit tests of the allocation sampler (runtime/sampler/sampler.h): the
extension's, and the preload library's (build/libpyscope-alloc.so).

    PYTHONPATH=build/py /usr/bin/python3.11 -m unittest discover -s tests/py -v

The sampler is set up once per process, from PYSCOPE_ALLOC_SAMPLE, when
pyscope is imported (or when the preload's constructor runs), so every test
runs a fresh interpreter with its own environment and reads back what it
printed (one JSON value).  No SystemTap: the probes are checked in the
ELF notes only.

The sampler's draws are random; every child gets one seed
(PYSCOPE_ALLOC_SEED), printed at the start, so that a statistical failure
can be run again as it was: PYSCOPE_TEST_SEED=N reruns with seed N.
"""
import json
import os
import random
import re
import shutil
import subprocess
import sys
import textwrap
import unittest

import pyscope
from pyscope import _pyscope

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PYPATH = os.path.dirname(os.path.dirname(os.path.abspath(pyscope.__file__)))
PRELOAD = os.path.join(ROOT, "build", "libpyscope-alloc.so")
MEAN = 4096
SEED = os.environ.get("PYSCOPE_TEST_SEED") or str(random.randrange(1, 1 << 32))
print(f"test_sampler: sampler seed {SEED} (PYSCOPE_TEST_SEED={SEED} repeats "
      "these draws)", file=sys.stderr)

# Every child starts with this.  stats() is sampler_stats(); delta(a, b)
# subtracts two of them (sampled_by_domain too).
PRELUDE = """
import ctypes, gc, json, os, sys, threading
if os.environ.get("IMPORT_PYSCOPE", "1") == "1":
    import pyscope
    stats = pyscope.sampler_stats

def delta(a, b):
    d = {k: b[k] - a[k] for k in a if isinstance(a[k], int)
         and not isinstance(a[k], bool)}
    d["by"] = {k: b["sampled_by_domain"][k] - a["sampled_by_domain"][k]
               for k in a["sampled_by_domain"]}
    return d

def out(value):
    print(json.dumps(value))

def exit_code(status):
    if hasattr(os, "waitstatus_to_exitcode"):   # 3.9+
        return os.waitstatus_to_exitcode(status)
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return os.WEXITSTATUS(status)
"""


def run(code, mean=MEAN, preload=False, env=None, args=(), timeout=120):
    """Run PRELUDE + code in a fresh interpreter (this one's executable);
    its last stdout line, parsed as JSON."""
    environ = dict(os.environ)
    environ.pop("LD_PRELOAD", None)
    environ.pop("PYTHONMALLOC", None)
    environ.pop("PYTHONDEVMODE", None)
    environ["PYTHONPATH"] = PYPATH
    environ["PYSCOPE_ALLOC_SEED"] = SEED
    if mean is None:
        environ.pop("PYSCOPE_ALLOC_SAMPLE", None)
    else:
        environ["PYSCOPE_ALLOC_SAMPLE"] = str(mean)
    if preload:
        environ["LD_PRELOAD"] = PRELOAD
    environ.update(env or {})
    proc = subprocess.run(
        [sys.executable, *args, "-c", PRELUDE + textwrap.dedent(code)],
        env=environ, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"child failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# Keeps 2000 bytes objects of 10000 bytes alive (20 MB), then frees them;
# prints the live estimate's change at both points.
KEEP_AND_FREE = """
gc.collect()
s0 = stats()
keep = [bytes(10000) for _ in range(2000)]
s1 = stats()
del keep
gc.collect()
s2 = stats()
out({"kept": s1["live_estimate_bytes"] - s0["live_estimate_bytes"],
     "after": s2["live_estimate_bytes"] - s0["live_estimate_bytes"],
     "s1": s1})
"""
TRUTH = 2000 * 10000

# 500 large objects: PyObject_Malloc -> PyMem_RawMalloc (-> malloc), each
# sampled for sure at mean 4096.
LARGE = """
gc.collect()
s0 = stats()
keep = [bytes(100000) for _ in range(500)]
s1 = stats()
out(delta(s0, s1))
"""

# 2 x 200000 small objects kept alive, each one PyObject_Calloc or
# PyObject_Malloc of 133 bytes (a bytes object of 100: 33 + 100): the
# sampler's fast path (pymem_hooks.c) with pymalloc behind it, or its slow
# path when small requests go on to malloc (PYTHONMALLOC=malloc), where
# counting in both the obj hook and the libc wrapper would double the
# estimate.  The lists are made beforehand, so the objects are all that
# grows.
SMALL = """
n = 200000
k = 100
a = [None] * n
b = [None] * n
gc.collect()
s0 = stats()
for i in range(n):
    a[i] = bytes(k)
    b[i] = b"x" * k
s1 = stats()
out({"kept": s1["live_estimate_bytes"] - s0["live_estimate_bytes"],
     "d": delta(s0, s1)})
"""
SMALL_TRUTH = 2 * 200000 * 133


class ExtensionSampler(unittest.TestCase):

    def test_default_is_on(self):
        s = run("out(stats())", mean=None)
        self.assertTrue(s["enabled"])
        self.assertEqual(s["mean"], 524288)
        self.assertEqual(s["source"], "extension")
        self.assertEqual(s["dropped"], 0)
        self.assertEqual(set(s["sampled_by_domain"]),
                         {"raw", "mem", "obj", "libc"})

    def test_this_process(self):
        # The test runner imported pyscope too: the same dict, in-process.
        s = pyscope.sampler_stats()
        self.assertIs(pyscope.sampler_stats, _pyscope.sampler_stats)
        self.assertIn(s["source"], ("extension", "preload"))
        self.assertGreaterEqual(s["sampled"], s["freed"])

    def test_live_estimate(self):
        r = run(KEEP_AND_FREE)
        self.assertLess(abs(r["kept"] - TRUTH), 0.15 * TRUTH, r)
        self.assertLess(abs(r["after"]), 0.03 * TRUTH, r)
        self.assertEqual(r["s1"]["mean"], MEAN)

    def test_small_objects_counted_once(self):
        for allocator in ("", "malloc", "debug"):
            r = run(SMALL, env={"PYTHONMALLOC": allocator} if allocator else {})
            self.assertLess(abs(r["kept"] - SMALL_TRUTH), 0.1 * SMALL_TRUTH,
                            (allocator, r))
            self.assertLess(r["d"]["by"]["raw"], 5, (allocator, r))

    def test_large_objects_counted_once(self):
        # Counted by the obj hook; the raw hook inside it counts nothing.
        d = run(LARGE)
        self.assertGreaterEqual(d["by"]["obj"], 500, d)
        self.assertLess(d["sampled"], 500 + 25, d)
        self.assertLess(d["by"]["raw"], 5, d)
        self.assertEqual(d["by"]["libc"], 0, d)

    def test_off(self):
        s = run("keep = [bytes(10000) for _ in range(2000)]\nout(stats())",
                mean=0)
        self.assertFalse(s["enabled"])
        self.assertEqual(s["mean"], 0)
        self.assertEqual(s["sampled"], 0)
        self.assertEqual(s["live_estimate_bytes"], 0)

    def test_bad_value_means_default(self):
        for value in ("abc", "-5", "1e6", " 42"):
            s = run("out(stats())", mean=value)
            self.assertEqual(s["mean"], 524288, value)

    def test_seed_repeats_the_draws(self):
        # the same seed and the same work: the same allocations sampled;
        # another seed, others (the estimate of 2000 objects differs)
        env = {"PYTHONHASHSEED": "0"}
        a = run(KEEP_AND_FREE, env={**env, "PYSCOPE_ALLOC_SEED": "12345"})
        b = run(KEEP_AND_FREE, env={**env, "PYSCOPE_ALLOC_SEED": "12345"})
        c = run(KEEP_AND_FREE, env={**env, "PYSCOPE_ALLOC_SEED": "54321"})
        self.assertEqual(a["s1"]["sampled"], b["s1"]["sampled"], (a, b))
        self.assertEqual(a["kept"], b["kept"], (a, b))
        self.assertNotEqual(a["kept"], c["kept"], (a, c))

    def test_huge_value_is_capped(self):
        s = run("out(stats())", mean=10 ** 30)
        self.assertEqual(s["mean"], 1 << 40)

    def test_threads(self):
        r = run("""
            gc.collect()
            s0 = stats()
            kept = [[] for _ in range(4)]
            def work(mine):
                for _ in range(500):
                    mine.append(bytes(10000))
            threads = [threading.Thread(target=work, args=(k,)) for k in kept]
            for t in threads: t.start()
            for t in threads: t.join()
            s1 = stats()
            del kept, threads
            gc.collect()
            s2 = stats()
            out([s1["live_estimate_bytes"] - s0["live_estimate_bytes"],
                 s2["live_estimate_bytes"] - s0["live_estimate_bytes"]])
        """)
        self.assertLess(abs(r[0] - TRUTH), 0.15 * TRUTH, r)
        self.assertLess(abs(r[1]), 0.03 * TRUTH, r)

    def test_fork(self):
        # Children forked while other threads allocate (the live set's lock
        # may be held at that moment) work, sample and free normally.
        r = run("""
            stop = False
            def churn():
                while not stop:
                    x = [bytes(5000) for _ in range(50)]
            threads = [threading.Thread(target=churn) for _ in range(2)]
            for t in threads: t.start()
            results = []
            for _ in range(20):
                rfd, wfd = os.pipe()
                pid = os.fork()
                if pid == 0:
                    os.close(rfd)
                    s0 = stats()
                    keep = [bytes(10000) for _ in range(1000)]
                    s1 = stats()
                    del keep
                    s2 = stats()
                    os.write(wfd, json.dumps([
                        s1["live_estimate_bytes"] - s0["live_estimate_bytes"],
                        s2["live_estimate_bytes"] - s0["live_estimate_bytes"],
                    ]).encode())
                    os._exit(0)
                os.close(wfd)
                with os.fdopen(rfd) as f:
                    data = f.read()
                _, status = os.waitpid(pid, 0)
                results.append([exit_code(status), json.loads(data)])
            stop = True
            for t in threads: t.join()
            out(results)
        """, timeout=300)
        self.assertEqual(len(r), 20)
        for code, (kept, after) in r:
            self.assertEqual(code, 0)
            self.assertLess(abs(kept - 10_000_000), 0.25 * 10_000_000, r)
            self.assertLess(abs(after), 0.05 * 10_000_000, r)

    def test_raw_realloc_calloc_and_errno(self):
        # The raw domain through ctypes: realloc frees the old sample and
        # samples the new block, a failed realloc keeps the old one, calloc
        # counts nelem * elsize, and errno survives the slow paths.
        r = run("""
            api = ctypes.PyDLL(None, use_errno=True)
            for name in ("PyMem_RawMalloc", "PyMem_RawCalloc",
                         "PyMem_RawRealloc"):
                getattr(api, name).restype = ctypes.c_void_p
            api.PyMem_RawMalloc.argtypes = [ctypes.c_size_t]
            api.PyMem_RawCalloc.argtypes = [ctypes.c_size_t] * 2
            api.PyMem_RawRealloc.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
            api.PyMem_RawFree.argtypes = [ctypes.c_void_p]
            live = lambda: stats()["live_estimate_bytes"]
            base = live()
            res = {}
            ctypes.set_errno(1234)
            p = api.PyMem_RawMalloc(1 << 20)
            res["errno_malloc"] = ctypes.get_errno()
            res["after_malloc"] = live() - base
            p = api.PyMem_RawRealloc(p, 2 << 20)
            res["after_realloc"] = live() - base
            failed = api.PyMem_RawRealloc(p, 1 << 62)
            res["failed_is_null"] = failed is None
            res["after_failed"] = live() - base
            ctypes.set_errno(4321)
            api.PyMem_RawFree(p)
            res["errno_free"] = ctypes.get_errno()
            res["after_free"] = live() - base
            q = api.PyMem_RawCalloc(1000, 1000)
            res["after_calloc"] = live() - base
            api.PyMem_RawFree(q)
            res["end"] = live() - base
            out(res)
        """)
        self.assertEqual(r["errno_malloc"], 1234)
        self.assertEqual(r["errno_free"], 4321)
        tolerance = 64 * 1024
        self.assertLess(abs(r["after_malloc"] - (1 << 20)), tolerance, r)
        self.assertLess(abs(r["after_realloc"] - (2 << 20)), tolerance, r)
        self.assertTrue(r["failed_is_null"])
        self.assertLess(abs(r["after_failed"] - (2 << 20)), tolerance, r)
        self.assertLess(abs(r["after_free"]), tolerance, r)
        self.assertLess(abs(r["after_calloc"] - 1000 * 1000), tolerance, r)
        self.assertLess(abs(r["end"]), tolerance, r)

    def test_full_set_drops_without_error(self):
        # Mean 1 byte: every allocation is sampled, so 60000 live objects
        # overflow the 49152 live samples.
        r = run("""
            keep = [object() for _ in range(60000)]
            full = stats()
            del keep
            gc.collect()
            emptied = stats()
            more = [bytes(100) for _ in range(1000)]
            again = stats()
            out([full, emptied, again])
        """, mean=1)
        full, emptied, again = r
        self.assertGreater(full["dropped"], 0)
        self.assertLessEqual(full["live_samples"], 49152)
        self.assertLess(emptied["live_samples"], 1000)
        self.assertGreaterEqual(again["sampled"] - emptied["sampled"], 1000)
        self.assertEqual(again["dropped"], emptied["dropped"])


@unittest.skipUnless(os.path.exists(PRELOAD), "build/libpyscope-alloc.so "
                     "not built (make)")
class PreloadSampler(unittest.TestCase):

    def test_plain_python_works(self):
        out = subprocess.run(
            [sys.executable, "-c", "print(sum(len(str(i)) for i in "
             "range(100000)))"],
            env={**os.environ, "LD_PRELOAD": PRELOAD,
                 "PYSCOPE_ALLOC_SAMPLE": "1024"},
            capture_output=True, text=True, check=True, timeout=60)
        self.assertEqual(out.stdout.strip(), "488890")
        self.assertEqual(out.stderr, "")

    def test_other_programs_work(self):
        out = subprocess.run(
            ["sh", "-c", "printf 'b\\na\\n' | sort | tr a-z A-Z"],
            env={**os.environ, "LD_PRELOAD": PRELOAD,
                 "PYSCOPE_ALLOC_SAMPLE": "64"},
            capture_output=True, text=True, check=True, timeout=60)
        self.assertEqual(out.stdout, "A\nB\n")

    def test_extension_uses_preload(self):
        s = run("out(stats())", preload=True)
        self.assertEqual(s["source"], "preload")
        self.assertTrue(s["enabled"])
        self.assertEqual(s["mean"], MEAN)
        # The constructor's hooks survived the interpreter's start-up: Python
        # domains were sampled before the import, nothing needed hooking
        # again.
        self.assertEqual(s["rehooked"], 0)
        self.assertGreater(s["sampled_by_domain"]["obj"], 0)

    def test_no_double_counting(self):
        r = run(KEEP_AND_FREE, preload=True)
        self.assertEqual(r["s1"]["source"], "preload")
        self.assertLess(abs(r["kept"] - TRUTH), 0.15 * TRUTH, r)
        self.assertLess(abs(r["after"]), 0.03 * TRUTH, r)

    def test_small_objects_counted_once(self):
        # With pymalloc, through the fast path; with PYTHONMALLOC=malloc
        # (the hooks put back at import), obj -> malloc: one count.
        for allocator in ("", "malloc", "debug"):
            r = run(SMALL, preload=True,
                    env={"PYTHONMALLOC": allocator} if allocator else {})
            self.assertLess(abs(r["kept"] - SMALL_TRUTH), 0.1 * SMALL_TRUTH,
                            (allocator, r))
            self.assertLess(r["d"]["by"]["libc"], 5, (allocator, r))
            self.assertGreater(r["d"]["by"]["obj"], 1000, (allocator, r))

    def test_free_null_is_not_a_sampled_free(self):
        # 0 marks an empty slot of the live set: free(NULL) once "found"
        # one whenever a live sample hashed near slot 0, and each such
        # free took away a sample that was never there, until the count
        # wrapped and every later sample was dropped.  10000 live blocks
        # (mean 1: all sampled, as is every object the start-up left; their
        # addresses kept in a C array; -S: fewer start-up objects, so that
        # the set has room) caught it in about 1 run of 3.
        r = run("""
            libc = ctypes.CDLL(None)
            libc.malloc.restype = ctypes.c_void_p
            libc.free.argtypes = [ctypes.c_void_p]
            blocks = (ctypes.c_void_p * 10000)()
            s0 = stats()
            for i in range(10000):
                blocks[i] = libc.malloc(32)
            for _ in range(20000):
                libc.free(None)
            s1 = stats()
            for i in range(10000):
                libc.free(blocks[i])
            s2 = stats()
            out({"d1": delta(s0, s1), "d2": delta(s0, s2), "s2": s2})
        """, mean=1, preload=True, args=("-S",))
        d1, d2, s2 = r["d1"], r["d2"], r["s2"]
        self.assertEqual(d1["dropped"], 0, r)
        self.assertGreaterEqual(d1["by"]["libc"], 10000, r)
        self.assertGreaterEqual(d1["live_samples"], 9900, r)
        self.assertLessEqual(s2["freed"], s2["sampled"], r)
        self.assertLess(abs(d2["live_samples"]), 100, r)

    def test_large_objects_counted_once(self):
        # obj -> raw -> malloc: three wrappers, one count.
        d = run(LARGE, preload=True)
        self.assertGreaterEqual(d["by"]["obj"], 500, d)
        self.assertLess(d["sampled"], 500 + 25, d)
        self.assertLess(d["by"]["raw"], 5, d)
        self.assertLess(d["by"]["libc"], 5, d)

    def test_pythonmalloc_rehooked_at_import(self):
        for allocator in ("malloc", "pymalloc", "debug"):
            r = run(KEEP_AND_FREE, preload=True,
                    env={"PYTHONMALLOC": allocator})
            self.assertEqual(r["s1"]["rehooked"], 3, allocator)
            self.assertLess(abs(r["kept"] - TRUTH), 0.15 * TRUTH,
                            (allocator, r))

    def test_libc_domain(self):
        # malloc through ctypes: sampled by the preload as domain 3, errno
        # kept on success and ENOMEM on failure.
        r = run("""
            libc = ctypes.CDLL(None, use_errno=True)
            libc.malloc.restype = ctypes.c_void_p
            libc.malloc.argtypes = [ctypes.c_size_t]
            libc.free.argtypes = [ctypes.c_void_p]
            s0 = stats()
            ctypes.set_errno(77)
            blocks = [libc.malloc(1 << 20) for _ in range(20)]
            errno_ok = ctypes.get_errno()
            s1 = stats()
            ctypes.set_errno(0)
            huge = libc.malloc(1 << 62)
            errno_fail = ctypes.get_errno()
            for b in blocks:
                libc.free(b)
            s2 = stats()
            out({"errno_ok": errno_ok, "errno_fail": errno_fail,
                 "huge": huge, "d1": delta(s0, s1), "d2": delta(s0, s2)})
        """, preload=True)
        self.assertEqual(r["errno_ok"], 77)
        self.assertEqual(r["errno_fail"], 12)     # ENOMEM
        self.assertIsNone(r["huge"])
        self.assertGreaterEqual(r["d1"]["by"]["libc"], 20)
        self.assertLess(abs(r["d1"]["live_estimate_bytes"] - (20 << 20)),
                        1 << 20, r)
        self.assertLess(abs(r["d2"]["live_estimate_bytes"]), 1 << 20, r)

    def test_off(self):
        s = run("keep = [bytes(10000) for _ in range(2000)]\nout(stats())",
                mean=0, preload=True)
        self.assertEqual(s["source"], "preload")
        self.assertFalse(s["enabled"])
        self.assertEqual(s["sampled"], 0)

    def test_fork_and_threads(self):
        r = run("""
            kept = [[] for _ in range(4)]
            def work(mine):
                for _ in range(500):
                    mine.append(bytes(10000))
            s0 = stats()
            threads = [threading.Thread(target=work, args=(k,)) for k in kept]
            for t in threads: t.start()
            pid = os.fork()
            if pid == 0:
                keep = [bytes(10000) for _ in range(1000)]
                os._exit(0 if stats()["sampled"] > 0 else 3)
            for t in threads: t.join()
            _, status = os.waitpid(pid, 0)
            s1 = stats()
            out([exit_code(status),
                 s1["live_estimate_bytes"] - s0["live_estimate_bytes"]])
        """, preload=True)
        self.assertEqual(r[0], 0)
        self.assertLess(abs(r[1] - TRUTH), 0.15 * TRUTH, r)

    def test_not_preloaded_is_passive(self):
        # Loaded with dlopen its malloc is not the process's: it stays out,
        # and the extension samples on its own.
        s = run(f"""
            ctypes.CDLL({PRELOAD!r})
            import pyscope
            out(pyscope.sampler_stats())
        """, env={"IMPORT_PYSCOPE": "0"})
        self.assertEqual(s["source"], "extension")
        self.assertTrue(s["enabled"])


@unittest.skipUnless(shutil.which("readelf"), "no readelf")
class ProbeNotes(unittest.TestCase):

    def probes(self, path):
        out = subprocess.run(["readelf", "-n", path], capture_output=True,
                             text=True, check=True).stdout
        found = {}
        for m in re.finditer(r"Provider: (\S+)\s+Name: (\S+)\s+Location:.*\n"
                             r"\s+Arguments: ([^\n]*)", out):
            found.setdefault((m[1], m[2]), set()).add(len(m[3].split()))
        return found

    def check(self, path):
        found = self.probes(path)
        self.assertEqual(found.get(("pyscope", "alloc")), {5}, found)
        self.assertEqual(found.get(("pyscope", "free")), {4}, found)
        self.assertEqual(found.get(("pyscope", "sample_dropped")), {4}, found)

    def test_extension(self):
        self.check(_pyscope.__file__)

    @unittest.skipUnless(os.path.exists(PRELOAD), "preload not built")
    def test_preload(self):
        self.check(PRELOAD)


if __name__ == "__main__":
    unittest.main()
