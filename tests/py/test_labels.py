"""Unit tests of pyscope's runtime (scope painting).

    PYTHONPATH=build/py /usr/bin/python3.11 -m unittest discover -s tests/py -v

(tests/py/run-versions.sh runs them under every CPython 3.8 to 3.13 that
pyenv has, against build/py-3.X.)

Most tests look at labels() (the in-process view); the Reader tests read
the exported table the way an outside reader does, through ctypes and the
layout of runtime/pyscope/pyscope_labels.h.
"""
import asyncio
import contextlib
import ctypes
import gc
import io
import os
import re
import selectors
import subprocess
import sys
import threading
import time
import traceback
import unittest
import weakref

import pyscope
from pyscope import _pyscope

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "examples")


# -- the table, as pyscope_labels.h lays it out ---------------------------

class Slot(ctypes.Structure):
    _fields_ = [
        ("seq", ctypes.c_uint64),
        ("frame_obj", ctypes.c_uint64),
        ("tid", ctypes.c_uint64),
        ("len", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("where", ctypes.c_char * 48),
        ("text", ctypes.c_char * (120 + 8)),
    ]


class Table(ctypes.Structure):
    _fields_ = [
        ("magic", ctypes.c_char * 8),
        ("version", ctypes.c_uint32),
        ("nslots", ctypes.c_uint32),
        ("overflow", ctypes.c_uint64),
        ("truncated", ctypes.c_uint64),
        ("paints", ctypes.c_uint64),
        ("slots", Slot * 1024),
    ]


TABLE = Table.in_dll(ctypes.CDLL(_pyscope.__file__), "pyscope_labels")
TRUNCATED = 1
MASK64 = (1 << 64) - 1


def home_slot(frame_obj):
    return (((frame_obj >> 4) * 0x9E3779B97F4A7C15) & MASK64) >> (64 - 10)


def find_slot(frame):
    """The slot painted with `frame`, found as an outside reader finds it
    (hash, then PROBES slots), or None."""
    home = home_slot(id(frame))
    for i in range(_pyscope.PROBES):
        slot = TABLE.slots[(home + i) % TABLE.nslots]
        if slot.frame_obj == id(frame):
            return slot
    return None


def sweep():
    """Give pyscope the chance to notice finished frames (each labels()
    call checks a few slots)."""
    for _ in range(4 * _pyscope.SLOTS):
        pyscope.labels()


class LabelTests(unittest.TestCase):
    def test_with_paints_the_calling_frame_for_the_block(self):
        self.assertEqual(pyscope.labels(), [])
        with pyscope.label("req-1"):
            self.assertEqual(pyscope.labels(), ["req-1"])
            self.assertEqual(pyscope.frame_label(sys._getframe()), "req-1")
        self.assertEqual(pyscope.labels(), [])
        self.assertIsNone(pyscope.frame_label(sys._getframe()))

    def test_with_block_left_by_exception(self):
        with self.assertRaises(ZeroDivisionError):
            with pyscope.label("boom"):
                1 / 0
        self.assertEqual(pyscope.labels(), [])

    def test_label_through_contextmanager_paints_the_with_frame(self):
        @contextlib.contextmanager
        def request(name):
            with pyscope.label(name):
                yield name

        @contextlib.contextmanager
        def outer(name):
            with request(name) as got:
                yield got

        with request("wrapped") as got:
            self.assertEqual(got, "wrapped")
            self.assertEqual(pyscope.labels(), ["wrapped"])
            self.assertEqual(pyscope.frame_label(sys._getframe()), "wrapped")
        self.assertEqual(pyscope.labels(), [])
        with outer("twice"):
            self.assertEqual(pyscope.labels(), ["twice"])
        self.assertEqual(pyscope.labels(), [])
        with self.assertRaises(KeyError):
            with request("raised"):
                raise KeyError("x")
        self.assertEqual(pyscope.labels(), [])

    def test_label_through_exitstack_paints_the_with_frame(self):
        with contextlib.ExitStack() as stack:
            stack.enter_context(pyscope.label("stacked"))
            self.assertEqual(pyscope.labels(), ["stacked"])
        self.assertEqual(pyscope.labels(), [])

    def test_label_through_asynccontextmanager_paints_the_with_frame(self):
        @contextlib.asynccontextmanager
        async def request(name):
            with pyscope.label(name):
                yield

        async def handler():
            async with request("async-wrapped"):
                inside = pyscope.labels()
            return inside, pyscope.labels()

        self.assertEqual(asyncio.run(handler()), (["async-wrapped"], []))

    def test_label_in_a_plain_generator_stays_its_own(self):
        # a generator that is not a context manager keeps its label on
        # its own frame, as before
        def gen():
            with pyscope.label("gen"):
                yield pyscope.labels()

        it = gen()
        self.assertEqual(next(it), ["gen"])
        self.assertEqual(pyscope.labels(), [])
        self.assertEqual(list(it), [])

    def test_paint_vanishes_when_frame_returns(self):
        def painted():
            pyscope.paint("ret")
            return pyscope.labels()

        self.assertEqual(painted(), ["ret"])
        self.assertEqual(pyscope.labels(), [])

    def test_paint_vanishes_when_frame_raises(self):
        def raises():
            pyscope.paint("exc")
            raise ValueError

        with self.assertRaises(ValueError):
            raises()
        self.assertEqual(pyscope.labels(), [])

    def test_nested_labels_outermost_first(self):
        def inner():
            with pyscope.label("inner"):
                return pyscope.labels()

        def middle():
            return inner()      # not painted: adds nothing

        def outer():
            pyscope.paint("outer")
            return middle()

        self.assertEqual(outer(), ["outer", "inner"])

    def test_with_restores_previous_label_of_same_frame(self):
        def f():
            seen = []
            pyscope.paint("a")
            with pyscope.label("b"):
                seen.append(pyscope.labels())
                with pyscope.label("c"):
                    seen.append(pyscope.labels())
                seen.append(pyscope.labels())
            seen.append(pyscope.labels())
            return seen

        self.assertEqual(f(), [["b"], ["c"], ["b"], ["a"]])

    def test_with_restores_after_exception(self):
        def f():
            with pyscope.label("outer"):
                try:
                    with pyscope.label("inner"):
                        raise KeyError
                except KeyError:
                    pass
                return pyscope.labels()

        self.assertEqual(f(), ["outer"])

    def test_paint_replaces(self):
        def f():
            pyscope.paint("one")
            pyscope.paint("two")
            return pyscope.labels()

        self.assertEqual(f(), ["two"])

    def test_clear(self):
        def f():
            pyscope.paint("a")
            pyscope.clear()
            return pyscope.labels()

        self.assertEqual(f(), [])
        pyscope.clear()         # nothing painted: no error

    def test_label_object(self):
        lbl = pyscope.label("x")
        self.assertEqual(repr(lbl), "pyscope.label('x')")
        self.assertEqual(lbl.text, "x")
        with lbl as entered:
            self.assertIsNone(entered)
            with self.assertRaises(RuntimeError):
                with lbl:
                    pass
        with lbl:               # once left, it can be used again
            self.assertEqual(pyscope.labels(), ["x"])
        with self.assertRaises(TypeError):
            pyscope.label()
        with self.assertRaises(TypeError):
            pyscope.label("a", "b")
        with self.assertRaises(TypeError):
            pyscope.label(text="a")

    def test_labels_must_be_str(self):
        for bad in (b"bytes", None, 42):
            with self.assertRaises(TypeError):
                pyscope.paint(bad)
            with self.assertRaises(TypeError):
                pyscope.label(bad)
        with self.assertRaises(TypeError):
            pyscope.frame_label("not a frame")

    def test_stats(self):
        s = pyscope.stats()
        self.assertEqual(set(s), {"slots", "used", "overflow", "truncated"})
        self.assertEqual(s["slots"], 1024)
        self.assertEqual(pyscope.SLOTS, 1024)
        self.assertEqual(pyscope.LABEL_MAX, 120)
        self.assertEqual(pyscope.PROBES, 8)

    def test_finished_frames_are_released(self):
        """paint() keeps the finished frame (and so its locals) only until
        a sweep notices; then both go."""
        class Token:
            pass

        def painted():
            token = Token()
            pyscope.paint("short-lived")
            return weakref.ref(token)

        sweep()
        used = pyscope.stats()["used"]
        ref = painted()
        sweep()
        gc.collect()
        self.assertIsNone(ref())
        self.assertEqual(pyscope.stats()["used"], used)


class GeneratorAsyncThreadTests(unittest.TestCase):
    def test_threads_keep_their_own(self):
        seen = {}
        barrier = threading.Barrier(3)

        def worker(name):
            with pyscope.label(name):
                barrier.wait()
                seen[name] = pyscope.labels()
                barrier.wait()

        threads = [threading.Thread(target=worker, args=(n,))
                   for n in ("t1", "t2", "t3")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(seen, {"t1": ["t1"], "t2": ["t2"], "t3": ["t3"]})

    def test_asyncio_interleaved_tasks_keep_their_own(self):
        seen = []

        async def task(name):
            self_check = pyscope.labels()
            with pyscope.label(name):
                for _ in range(20):
                    seen.append((name, tuple(pyscope.labels())))
                    await asyncio.sleep(0)
            seen.append((name, tuple(pyscope.labels())))
            return self_check

        async def main():
            with pyscope.label("main"):
                return await asyncio.gather(task("A"), task("B"))

        before = asyncio.run(main())
        # gather()'s tasks inherit "main" (main's frame is not running)
        self.assertEqual(before, [["main"], ["main"]])
        names = [name for name, _ in seen]
        self.assertIn("A", names[:3])       # really interleaved
        self.assertIn("B", names[:3])
        for name, labels in seen[:-2]:
            self.assertEqual(labels, (name,))
        self.assertEqual(seen[-2:], [("A", ("main",)), ("B", ("main",))])

    def test_asyncio_tasks_inherit_the_label_they_are_created_under(self):
        async def child():
            await asyncio.sleep(0)
            return pyscope.labels()

        def inner_labels():
            with pyscope.label("inner"):
                return pyscope.labels()

        async def nesting():
            await asyncio.sleep(0)
            return inner_labels()

        async def main():
            with pyscope.label("req-7"):
                created = await asyncio.create_task(child())
                gathered = await asyncio.gather(child(), nesting())
                ensured = await asyncio.ensure_future(child())
                grouped = None
                if hasattr(asyncio, "TaskGroup"):
                    async with asyncio.TaskGroup() as group:
                        task = group.create_task(child())
                    grouped = task.result()
            outside = await asyncio.create_task(child())
            return created, gathered, ensured, grouped, outside

        created, gathered, ensured, grouped, outside = asyncio.run(main())
        self.assertEqual(created, ["req-7"])
        self.assertEqual(gathered, [["req-7"], ["req-7", "inner"]])
        self.assertEqual(ensured, ["req-7"])
        if grouped is not None:
            self.assertEqual(grouped, ["req-7"])
        self.assertEqual(outside, [])
        # asyncio.run() itself, inside a label: the main task inherits it
        # (this frame, under the running loop, shows it too)
        with pyscope.label("run"):
            self.assertEqual(asyncio.run(child()), ["run", "run"])

    def test_a_waiting_loop_waits_under_its_waiting_tasks_labels(self):
        seen = []

        class Recording(selectors.DefaultSelector):
            def select(self, timeout=None):
                if timeout is None or timeout > 0:
                    seen.append(tuple(pyscope.labels()))
                return super().select(timeout)

        async def request(name, seconds):
            with pyscope.label(name):
                await asyncio.sleep(seconds)

        async def plain():
            await asyncio.sleep(0.05)

        async def main():
            await asyncio.gather(request("req-slow", 0.3),
                                 request("req-1", 0.05),
                                 request("req-0", 0.05), plain())

        with pyscope.label("hooked"):
            pass
        loop = asyncio.SelectorEventLoop(Recording())
        try:
            loop.run_until_complete(main())
            # waits with no labelled task waiting are not labelled
            loop.run_until_complete(asyncio.sleep(0.01))
            pyscope.asyncio_labels(idle=False)
            loop.run_until_complete(request("req-off", 0.01))
        finally:
            pyscope.asyncio_labels(idle=True)
            loop.close()
        self.assertEqual(seen[0], ("req-0 + req-1 + req-slow",))
        self.assertIn(("req-slow",), seen)
        i = seen.index(("req-slow",))
        self.assertEqual(seen[i:-2], [("req-slow",)] * (len(seen) - 2 - i))
        self.assertEqual(seen[-2:], [(), ()])

    def test_task_names_label_tasks_when_asked(self):
        async def child():
            await asyncio.sleep(0)
            return pyscope.labels()

        async def main():
            named = await asyncio.create_task(child(), name="worker")
            with pyscope.label("req-1"):
                under = await asyncio.create_task(child(), name="w2")
            return named, under

        self.assertEqual(pyscope.asyncio_labels(),
                         {"idle": True, "task_names": False})
        self.assertEqual(asyncio.run(main()), ([], ["req-1"]))
        pyscope.asyncio_labels(task_names=True)
        try:
            named, under = asyncio.run(main())
        finally:
            pyscope.asyncio_labels(task_names=False)
        self.assertEqual(named, ["worker"])
        self.assertEqual(under, ["req-1/w2"])

    def test_asyncio_imported_after_pyscope_is_hooked_at_the_first_label(self):
        code = ("import pyscope, asyncio\n"
                "async def child():\n"
                "    return pyscope.labels()\n"
                "async def main():\n"
                "    with pyscope.label('late'):\n"
                "        return await asyncio.create_task(child())\n"
                "print(asyncio.run(main()))\n")
        out = subprocess.run([sys.executable, "-c", code], check=True,
                             capture_output=True, text=True,
                             env=dict(os.environ)).stdout
        self.assertEqual(out, "['late']\n")

    def test_generator_label_visible_only_while_it_runs(self):
        def gen():
            pyscope.paint("gen")
            yield pyscope.labels()
            yield pyscope.labels()

        def consumer(it):
            with pyscope.label("consumer"):
                return next(it)

        it = gen()
        self.assertEqual(next(it), ["gen"])
        self.assertEqual(pyscope.labels(), [])          # suspended
        self.assertEqual(pyscope.frame_label(it.gi_frame), "gen")
        self.assertEqual(consumer(it), ["consumer", "gen"])
        self.assertEqual(list(it), [])

    def test_finished_generators_are_released(self):
        """A painted generator's frame has finished once the generator is
        exhausted or gone, even one that ignored GeneratorExit (its frame
        stays suspended, but nothing can resume it): a sweep lets go of it
        and its locals."""
        class Token:
            pass

        def gen(refs):
            token = Token()
            refs.append(weakref.ref(token))
            pyscope.paint("gen")
            yield
            yield

        def stubborn(refs):
            token = Token()
            refs.append(weakref.ref(token))
            pyscope.paint("stubborn")
            while True:
                try:
                    yield
                except GeneratorExit:
                    pass

        sweep()
        used = pyscope.stats()["used"]
        refs = []
        exhausted = gen(refs)
        list(exhausted)
        dropped = gen(refs)
        next(dropped)
        ignores_exit = stubborn(refs)
        next(ignores_exit)
        unraisable = []
        saved_hook = sys.unraisablehook
        sys.unraisablehook = unraisable.append
        try:
            del dropped, ignores_exit
            gc.collect()
        finally:
            sys.unraisablehook = saved_hook
        self.assertEqual([type(u.exc_value) for u in unraisable],
                         [RuntimeError])    # "ignored GeneratorExit"
        del unraisable
        self.assertEqual(len(refs), 3)
        sweep()
        gc.collect()
        self.assertEqual([r() for r in refs], [None, None, None])
        self.assertEqual(pyscope.stats()["used"], used)

    def test_labels_across_calls_from_c(self):
        """Python code called from C (a sort key, __init__, a generator
        driven by list()) runs in a nested eval loop, behind a shim frame
        from 3.12 on: the outer labels are still seen."""
        class Init:
            def __init__(self):
                with pyscope.label("init"):
                    self.seen = pyscope.labels()

        def key_labels():
            with pyscope.label("key"):
                return pyscope.labels()

        def gen():
            with pyscope.label("gen"):
                yield pyscope.labels()

        def outer():
            pyscope.paint("outer")
            keyed = []
            sorted([2, 1], key=lambda x: keyed.append(key_labels()) or x)
            # repeated: specialized calls of __init__ (3.13: a trampoline
            # frame) after the first few
            inits = [Init().seen for _ in range(20)]
            return keyed, inits, list(gen())

        keyed, inits, generated = outer()
        self.assertEqual(keyed, [["outer", "key"]] * 2)
        self.assertEqual(inits, [["outer", "init"]] * 20)
        self.assertEqual(generated, [["outer", "gen"]])
        self.assertEqual(pyscope.labels(), [])

    def test_suspended_generator_keeps_its_label_across_sweeps(self):
        def gen():
            pyscope.paint("parked")
            yield
            yield pyscope.labels()

        it = gen()
        next(it)
        sweep()
        self.assertEqual(next(it), ["parked"])


class TracebackTests(unittest.TestCase):
    def boom(self):
        pyscope.paint("crashy")
        raise KeyError("boom")

    def test_frame_label_on_traceback_frame(self):
        try:
            self.boom()
        except KeyError as e:
            frame = e.__traceback__.tb_next.tb_frame
            self.assertEqual(frame.f_code.co_name, "boom")
            self.assertEqual(pyscope.frame_label(frame), "crashy")
            self.assertEqual(pyscope.labels(), [])  # finished: not visible
            for _ in range(_pyscope.SLOTS // 2):    # a traceback keeps it
                pyscope.labels()                    # a while ...
            self.assertEqual(pyscope.frame_label(frame), "crashy")
            sweep()                                 # ... not for ever
            self.assertIsNone(pyscope.frame_label(frame))

    def test_traceback_label_of_with_block_left_by_exception(self):
        def handler():
            pyscope.paint("outer")
            with pyscope.label("req-7"):
                self.boom()

        try:
            handler()
        except KeyError as e:
            tb = e.__traceback__.tb_next
            self.assertEqual(tb.tb_frame.f_code.co_name, "handler")
            # unpainted as the exception left the block ...
            self.assertEqual(pyscope.frame_label(tb.tb_frame), "outer")
            # ... but the traceback entry remembers
            self.assertEqual(pyscope.traceback_label(tb), "req-7")
            self.assertEqual(pyscope.traceback_label(tb.tb_next), "crashy")
            self.assertIsNone(pyscope.traceback_label(e.__traceback__))
        with self.assertRaises(TypeError):
            pyscope.traceback_label(None)

    def test_caught_inside_frame_is_not_labelled_afterwards(self):
        def f():
            try:
                with pyscope.label("inside"):
                    raise ValueError
            except ValueError:
                pass
            return pyscope.labels()

        self.assertEqual(f(), [])

    def hook_output(self, exc):
        out = io.StringIO()
        saved = sys.stderr
        pyscope.install()
        try:
            sys.stderr = out
            sys.excepthook(type(exc), exc, exc.__traceback__)
        finally:
            sys.stderr = saved
            pyscope.uninstall()
        return out.getvalue()

    def test_excepthook_appends_labels(self):
        def handler():
            with pyscope.label("req-42"):
                self.boom()

        try:
            handler()
        except KeyError as e:
            exc = e
        text = self.hook_output(exc)
        plain = "".join(traceback.format_exception(type(exc), exc,
                                                   exc.__traceback__))
        self.assertRegex(text, r'line \d+, in handler  \[label: req-42\]\n')
        self.assertRegex(text, r'line \d+, in boom  \[label: crashy\]\n')
        # otherwise exactly the usual traceback
        self.assertEqual(re.sub(r"  \[label: [^]]*\]", "", text), plain)

    def test_excepthook_chained_and_escaped(self):
        def first():
            pyscope.paint("first\nline")
            raise ValueError("first")

        def second():
            pyscope.paint("second")
            try:
                first()
            except ValueError as e:
                raise RuntimeError("second") from e

        try:
            second()
        except RuntimeError as e:
            exc = e
        text = self.hook_output(exc)
        self.assertIn("in first  [label: first\\x0aline]\n", text)
        self.assertIn("in second  [label: second]\n", text)
        self.assertIn("The above exception was the direct cause", text)

    def test_excepthook_recursion_elided_as_usual(self):
        """A run of identical lines is cut to its first three, as usual;
        the entries shown keep their own labels."""
        def recurse(n):
            pyscope.paint(f"depth-{n}")
            if n == 0:
                raise ValueError("bottom")
            recurse(n - 1)

        try:
            recurse(6)
        except ValueError as e:
            exc = e
        text = self.hook_output(exc)
        plain = "".join(traceback.format_exception(type(exc), exc,
                                                   exc.__traceback__))
        self.assertIn("  [Previous line repeated 3 more times]\n", plain)
        self.assertEqual(re.sub(r"  \[label: [^]]*\]", "", text), plain)
        self.assertEqual(re.findall(r"in recurse  \[label: ([^]]*)\]\n", text),
                         ["depth-6", "depth-5", "depth-4", "depth-0"])

    def test_excepthook_falls_back_to_previous_hook(self):
        calls = []
        saved_hook = sys.excepthook
        saved_format = pyscope.format_exception
        sys.excepthook = lambda *args: calls.append(args)
        try:
            pyscope.install()
            pyscope.format_exception = None         # "internal error"
            exc = ValueError("x")
            sys.excepthook(ValueError, exc, None)
        finally:
            pyscope.format_exception = saved_format
            pyscope.uninstall()
            restored = sys.excepthook
            sys.excepthook = saved_hook
        self.assertEqual(calls, [(ValueError, exc, None)])
        self.assertIsNot(restored, saved_hook)      # uninstall put back ...
        self.assertEqual(restored.__name__, "<lambda>")  # ... the lambda

    def test_uncaught_exception_in_subprocess(self):
        script = (
            "import pyscope\n"
            "pyscope.install()\n"
            "def handle():\n"
            "    with pyscope.label('req-9'):\n"
            "        raise SystemError('bad request')\n"
            "handle()\n")
        proc = run_python(["-c", script])
        self.assertEqual(proc.returncode, 1)
        self.assertRegex(proc.stderr,
                         r'File "<string>", line 5, in handle  '
                         r'\[label: req-9\]\n')
        self.assertIn("SystemError: bad request", proc.stderr)


class HostileLabelTests(unittest.TestCase):
    def stored(self, text):
        """Paint text; return (labels()[-1], the raw slot)."""
        pyscope.paint(text)
        slot = find_slot(sys._getframe())
        return pyscope.labels()[-1], bytes(slot.text), slot.len, slot.flags

    def check(self, text, expected, truncated):
        got, raw, length, flags = self.stored(text)
        self.assertEqual(got, expected)
        self.assertEqual(raw, expected.encode("utf-8"))
        self.assertEqual(length, len(raw))
        self.assertLessEqual(length, _pyscope.LABEL_MAX)
        raw.decode("utf-8")                     # valid UTF-8
        self.assertEqual(bool(flags & TRUNCATED), truncated)

    def test_markup_quotes_newlines_kept_as_is(self):
        for text in ("<script>alert(1)</script>", "'\"`$(rm -rf)`",
                     "two\nlines\r\n", "tab\there", "\x1b[31mred"):
            self.check(text, text, False)

    def test_lone_surrogates_backslash_escaped(self):
        self.check("a\ud800b\udcff", "a\\ud800b\\udcff", False)

    def test_nul_becomes_backslash_zero(self):
        self.check("nul\x00x", "nul\\0x", False)

    def test_long_labels_cut_at_character_boundary(self):
        before = pyscope.stats()["truncated"]
        self.check("x" * (1 << 20), "x" * 120, True)
        self.check("é" * 100, "é" * 60, True)             # 2 bytes each
        self.check("a" + "€" * 50, "a" + "€" * 39, True)  # 3 bytes each
        self.check("😀" * (1 << 18), "😀" * 30, True)       # 4 bytes each
        self.check("\x00" * 100, "\\0" * 60, True)
        self.check("y" * 120, "y" * 120, False)           # fits exactly
        self.assertEqual(pyscope.stats()["truncated"], before + 5)

    def test_where_is_recorded(self):
        def handle():
            pyscope.paint("w")
            return find_slot(sys._getframe())

        line = handle.__code__.co_firstlineno + 1
        if sys.version_info >= (3, 11):
            name = "HostileLabelTests.test_where_is_recorded.<locals>.handle"
        else:
            name = "handle"     # code objects have no qualname before 3.11
        self.assertEqual(handle().where.decode(),
                         f"{name} (test_labels.py:{line})"[:47])

    def test_where_of_short_names_is_whole(self):
        code = compile("import pyscope, sys\n"
                       "def f():\n"
                       "    pyscope.paint('x')\n"
                       "    return sys._getframe()\n", "/some/dir/mod.py",
                       "exec")
        namespace = {}
        exec(code, namespace)
        frame = namespace["f"]()
        self.assertEqual(find_slot(frame).where, b"f (mod.py:3)")


class OverflowTests(unittest.TestCase):
    def test_full_table_drops_paints_silently(self):
        before = pyscope.stats()["overflow"]
        depth = 2000

        def deep(k):
            pyscope.paint(f"d{k}")
            if k:
                return deep(k - 1)
            return pyscope.stats(), len(pyscope.labels())

        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(depth + 500)
        try:
            stats, visible = deep(depth)
        finally:
            sys.setrecursionlimit(limit)
        self.assertGreater(stats["overflow"], before)
        self.assertLessEqual(stats["used"], _pyscope.SLOTS)
        self.assertEqual(visible + stats["overflow"] - before, depth + 1)
        # the table recovers once those frames are gone
        sweep()
        self.assertLess(pyscope.stats()["used"], 16)
        with pyscope.label("after"):
            self.assertEqual(pyscope.labels(), ["after"])


class ReaderTests(unittest.TestCase):
    """The table as an outside reader sees it."""

    def test_layout(self):
        self.assertEqual(ctypes.sizeof(Slot), 208)
        self.assertEqual(Slot.where.offset, 32)
        self.assertEqual(Slot.text.offset, 80)
        self.assertEqual(Table.slots.offset, 40)
        self.assertEqual(ctypes.sizeof(Table), 40 + 1024 * 208)
        self.assertEqual(TABLE.magic, b"pyscope1")
        self.assertEqual(TABLE.version, 1)
        self.assertEqual(TABLE.nslots, 1024)

    def test_painted_frame_found_by_hash(self):
        frame = sys._getframe()
        paints = TABLE.paints
        with pyscope.label("from-outside"):
            slot = find_slot(frame)
            self.assertIsNotNone(slot)
            self.assertEqual(slot.seq % 2, 0)
            self.assertEqual(slot.frame_obj, id(frame))
            self.assertEqual(slot.text, b"from-outside")
            self.assertEqual(slot.len, len(b"from-outside"))
            self.assertEqual(slot.flags, 0)
            self.assertEqual(slot.tid, threading.get_native_id())
            self.assertEqual(TABLE.paints, paints + 1)
        self.assertIsNone(find_slot(frame))

    def test_counters_match_stats(self):
        s = pyscope.stats()
        self.assertEqual(TABLE.overflow, s["overflow"])
        self.assertEqual(TABLE.truncated, s["truncated"])


def stress_label(n):
    """Self-describing, at most 9 + 10 * 10 = 109 bytes (never cut)."""
    return f"L{n}-" + f"{n}" * (1 + n % 10)


def stress_painter(k, stop, frames):
    """Paint, repaint, clear this frame's label as fast as possible."""
    frames[k] = id(sys._getframe())
    n = k
    while not stop.is_set():
        for _ in range(100):
            pyscope.paint(stress_label(n))
            n += 4
            with pyscope.label(stress_label(n)):
                n += 4
                pyscope.paint(stress_label(n))
                n += 4
            pyscope.clear()


STRESS_RE = re.compile(rb"L(\d+)-(\d*)")


def stress_check(text, counts):
    """Count a label read under the seqlock: whole, or torn."""
    m = STRESS_RE.fullmatch(text)
    if m and m.group(2) == m.group(1) * (1 + int(m.group(1)) % 10):
        counts["accepted"] += 1
    else:
        counts["torn"].append(text)


def stress_long_enough(started, counts):
    """At least 2 s of stress and 2000 whole labels read; at most 15 s (a
    slow machine then still has to show 100)."""
    elapsed = time.monotonic() - started
    return elapsed >= 15 or (elapsed >= 2 and counts["accepted"] >= 2000)


SEQ_OFF = Slot.seq.offset
FRAME_OFF = Slot.frame_obj.offset
TEXT_OFF = Slot.text.offset
TEXT_SIZE = Slot.text.size


class StressTests(unittest.TestCase):
    def test_reader_thread_never_sees_torn_label(self):
        """4 threads repaint and clear; a reader thread copies their slots
        with ctypes.memmove (a foreign call: it releases the GIL, so it
        really runs while a painter writes) under the seqlock protocol."""
        stop = threading.Event()
        frames = {}
        counts = {"accepted": 0, "retried": 0, "torn": []}
        base = ctypes.addressof(TABLE.slots)
        size = ctypes.sizeof(Slot)

        def reader():
            seq1, seq2, key = (ctypes.c_uint64() for _ in range(3))
            text = ctypes.create_string_buffer(TEXT_SIZE)
            while len(frames) < 4:
                time.sleep(0.001)
            # only the painters' slots: their frames never change
            slots = sorted({base + ((home_slot(f) + i) % 1024) * size
                            for f in frames.values()
                            for i in range(_pyscope.PROBES)})
            while not stop.is_set():
                for slot in slots:
                    ctypes.memmove(ctypes.byref(seq1), slot + SEQ_OFF, 8)
                    if seq1.value & 1:
                        counts["retried"] += 1
                        continue
                    ctypes.memmove(ctypes.byref(key), slot + FRAME_OFF, 8)
                    ctypes.memmove(text, slot + TEXT_OFF, TEXT_SIZE)
                    ctypes.memmove(ctypes.byref(seq2), slot + SEQ_OFF, 8)
                    if seq2.value != seq1.value:
                        counts["retried"] += 1
                    elif key.value != 0:
                        stress_check(text.value, counts)

        saved_interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-5)     # switch often: more overlap
        threads = [threading.Thread(target=stress_painter,
                                    args=(k, stop, frames))
                   for k in range(4)]
        threads.append(threading.Thread(target=reader))
        try:
            for t in threads:
                t.start()
            started = time.monotonic()
            while not stress_long_enough(started, counts):
                time.sleep(0.05)
        finally:
            stop.set()
            for t in threads:
                t.join()
            sys.setswitchinterval(saved_interval)
        self.assertEqual(counts["torn"], [])
        self.assertGreaterEqual(counts["accepted"], 100, counts)

    def test_reader_process_never_sees_torn_label(self):
        """The same painters in a child process, read from this one through
        /proc/PID/mem: an outside reader, as the tapsets are, with no GIL
        between reader and writers."""
        child_code = (
            "import ctypes, sys, threading, time\n"
            "sys.path.insert(0, %r)\n"
            "import test_labels as t\n"
            "stop, frames = threading.Event(), {}\n"
            "threads = [threading.Thread(target=t.stress_painter,\n"
            "                            args=(k, stop, frames))\n"
            "           for k in range(4)]\n"
            "for th in threads: th.start()\n"
            "while len(frames) < 4: time.sleep(0.001)\n"
            "print(ctypes.addressof(t.TABLE.slots),\n"
            "      *frames.values(), flush=True)\n"
            "sys.stdin.read()\n"
            "stop.set()\n" % os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            p for p in [os.path.dirname(os.path.dirname(pyscope.__file__)),
                        os.environ.get("PYTHONPATH")] if p))
        counts = {"accepted": 0, "retried": 0, "torn": []}
        size = ctypes.sizeof(Slot)
        with subprocess.Popen([sys.executable, "-c", child_code],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              env=env) as child:
            base, *frames = map(int, child.stdout.readline().split())
            slots = sorted({base + ((home_slot(f) + i) % 1024) * size
                            for f in frames for i in range(_pyscope.PROBES)})
            try:
                mem = os.open(f"/proc/{child.pid}/mem", os.O_RDONLY)
            except OSError as e:
                self.skipTest(f"cannot read another process's memory: {e}")
            try:
                started = time.monotonic()
                while not stress_long_enough(started, counts):
                    for slot in slots:
                        seq1 = os.pread(mem, 8, slot + SEQ_OFF)
                        if seq1[0] & 1:
                            counts["retried"] += 1
                            continue
                        key = os.pread(mem, 8, slot + FRAME_OFF)
                        text = os.pread(mem, TEXT_SIZE, slot + TEXT_OFF)
                        if os.pread(mem, 8, slot + SEQ_OFF) != seq1:
                            counts["retried"] += 1
                        elif key != bytes(8):
                            stress_check(text.split(b"\0", 1)[0], counts)
            finally:
                os.close(mem)
                child.stdin.close()
        self.assertEqual(child.returncode, 0)
        self.assertEqual(counts["torn"], [])
        self.assertGreaterEqual(counts["accepted"], 100, counts)


def run_python(args, timeout=60):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in [os.path.dirname(os.path.dirname(pyscope.__file__)),
                    env.get("PYTHONPATH")] if p)
    env.pop("PYTHONFAULTHANDLER", None)
    return subprocess.run([sys.executable, *args], capture_output=True,
                          text=True, timeout=timeout, env=env)


class CrashTests(unittest.TestCase):
    def crash(self, how, signum):
        proc = run_python([os.path.join(EXAMPLES, "labels_crash.py"), how])
        err = proc.stderr
        self.assertEqual(proc.returncode, -signum, err)
        header = (f"pyscope: fatal signal {signum}; labels on this thread "
                  "(outermost first):\n")
        self.assertIn(header, err)
        self.assertRegex(err, r"\n  query-of-death-17  in run_query "
                              r"\(labels_crash\.py:\d+\)\n")
        # then faulthandler's report, with the Python stack
        self.assertIn("Fatal Python error: ", err)
        self.assertRegex(err, r'labels_crash\.py", line \d+ in run_query')
        self.assertLess(err.index(header), err.index("Fatal Python error"))

    def test_segfault_report(self):
        self.crash("segv", 11)

    def test_abort_report(self):
        self.crash("abort", 6)

    def test_uninstall_restores_previous_handlers(self):
        script = (
            "import ctypes, faulthandler, sys, pyscope\n"
            "hook = sys.excepthook\n"
            "pyscope.install()\n"
            "assert faulthandler.is_enabled() and sys.excepthook is not hook\n"
            "pyscope.uninstall()\n"
            "assert not faulthandler.is_enabled() and sys.excepthook is hook\n"
            "with pyscope.label('quiet'):\n"
            "    ctypes.string_at(0)\n")
        proc = run_python(["-c", script])
        self.assertEqual(proc.returncode, -11, proc.stderr)
        self.assertNotIn("pyscope:", proc.stderr)
        self.assertNotIn("Fatal Python error", proc.stderr)

    def test_other_thread_labels_not_reported(self):
        script = (
            "import ctypes, threading, pyscope\n"
            "pyscope.install()\n"
            "ready = threading.Event()\n"
            "def other():\n"
            "    with pyscope.label('other-thread'):\n"
            "        ready.set(); threading.Event().wait()\n"
            "threading.Thread(target=other, daemon=True).start()\n"
            "ready.wait()\n"
            "def outer():\n"
            "    pyscope.paint('outer')\n"
            "    inner()\n"
            "def inner():\n"
            "    with pyscope.label('inner'):\n"
            "        ctypes.string_at(0)\n"
            "outer()\n")
        proc = run_python(["-c", script])
        self.assertEqual(proc.returncode, -11, proc.stderr)
        self.assertRegex(proc.stderr,
                         r"outermost first\):\n"
                         r"  outer  in outer \(<string>:10\)\n"
                         r"  inner  in inner \(<string>:13\)\n")
        self.assertNotIn("other-thread", proc.stderr)


@unittest.skipUnless(hasattr(os, "fork"), "needs fork()")
class ForkTests(unittest.TestCase):
    def test_child_keeps_forking_threads_labels_only(self):
        ready = threading.Event()
        done = threading.Event()

        def other():
            with pyscope.label("other-thread"):
                ready.set()
                done.wait()

        t = threading.Thread(target=other)
        t.start()
        ready.wait()
        try:
            with pyscope.label("forker"):
                used = pyscope.stats()["used"]
                r, w = os.pipe()
                pid = os.fork()
                if pid == 0:
                    os.close(r)
                    slot = find_slot(sys._getframe())
                    report = (f"{pyscope.labels()}|{pyscope.stats()['used']}|"
                              f"{slot.tid == threading.get_native_id()}")
                    os.write(w, report.encode())
                    os._exit(0)
                os.close(w)
                with os.fdopen(r) as f:
                    report = f.read()
                os.waitpid(pid, 0)
        finally:
            done.set()
            t.join()
        self.assertEqual(report, f"['forker']|{used - 1}|True")


if __name__ == "__main__":
    unittest.main()
