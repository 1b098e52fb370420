"""pyscope: scope painting - string labels attached to interpreter frames -
and the allocation sampler of leak-watch's sampled mode.

A server paints its request handler's frame with the request id; a CPU
profile or a stack read from outside the process (pyscope's SystemTap
tapsets), a traceback or a crash report can then tell which request a stack
belonged to::

    import pyscope

    def handle(request):
        with pyscope.label(f"req-{request.id}"):
            ...                     # everything called from here is "req-42"

API
---
``with label(text):``
    Paints the frame running the ``with`` statement for the duration of the
    block; on exit that frame's previous label (a nested ``with`` in the same
    function, or a paint()) comes back, or the paint is removed.  Exact
    however the block exits.  Entered through a wrapper (a
    ``@contextmanager`` or ``@asynccontextmanager`` generator that enters
    it, ``contextlib.ExitStack.enter_context``) it paints the frame of the
    ``with`` statement that uses the wrapper.  ``__enter__`` returns None;
    a label object can be reused, but not entered again before it is
    left.

``paint(text)``
    Paints the caller's frame until that frame returns or raises (or until
    ``clear()``).  Painting a painted frame replaces its label.

``clear()``
    Removes the caller's frame's paint.

``labels()``
    The labels of this thread's running frames, outermost first.  Inner
    paints stack on outer ones; the innermost label is the one that applies
    to the code running now (a profiler credits a sample to it).

``frame_label(frame)``
    The label of a frame object, or None.  Also answers for a frame that
    has finished (say, one in a traceback) while its slot is kept.

``traceback_label(tb)``
    The label that was in force in a traceback entry's frame, or None.
    Unlike frame_label(tb.tb_frame) it knows the labels of ``with label()``
    blocks the exception left (which are unpainted as it leaves them).

``format_exception(exc_type, exc, tb)``
    traceback.format_exception()'s text as one str, with the labels.

``stats()``
    ``{"slots": SLOTS, "used": ..., "overflow": ..., "truncated": ...}``:
    slots in use (finished frames not yet swept included), paints dropped
    because the table was full, paints whose text was cut.

``sampler_stats()``
    The allocation sampler's counters (see "Allocation sampling" below), a
    dict: ``enabled`` (bool), ``mean`` (bytes, 0 when off), ``source``
    (``"extension"``, or ``"preload"`` when libpyscope-alloc.so is
    preloaded and its sampler is the one in use), ``sampled`` (sampled
    allocations), ``freed`` (frees of sampled blocks), ``dropped``
    (samples lost because the live set was full), ``replaced`` (sampled
    blocks whose free no wrapper saw), ``live_samples``,
    ``live_estimate_bytes`` (the estimate of live heap bytes: the sum of
    the live samples' weights), ``rehooked`` (Python domains the preload
    had to hook again at import, see below) and ``sampled_by_domain``
    (``{"raw": n, "mem": n, "obj": n, "libc": n}``).

``asyncio_labels(*, idle=None, task_names=None)``
    Sets the asyncio options given (see "Semantics") and returns them
    all, ``{"idle": True, "task_names": False}`` by default.

``install()`` / ``uninstall()``
    Opt-in reporting.  install() sets ``sys.excepthook`` to one that prints
    the usual traceback with ``  [label: TEXT]`` after the ``File ...``
    line of each painted frame, enables faulthandler, and installs a
    handler for SIGSEGV, SIGABRT, SIGFPE and SIGBUS that first writes::

        pyscope: fatal signal 11; labels on this thread (outermost first):
          req-42  in handle (server.py:12)

    then hands the signal on to the previous handler (faulthandler's, which
    prints the Python stack).  uninstall() undoes all three.  The report
    walks the crashing thread's running frames; control characters in
    labels are shown as ``\\xNN`` there and in tracebacks.  An alternate
    signal stack (for stack overflows) exists only on the thread that
    called install(), as with faulthandler.  The function is named by its
    qualified name (``Handler.handle``); on CPython 3.8 to 3.10, whose code
    objects do not know it, by its plain name (``handle``).

Semantics
---------
A label belongs to one frame, not to a thread or a task.  So:

* threads never see each other's labels;
* asyncio: a label painted inside a coroutine belongs to that coroutine's
  frame, which is on the thread's running chain only while the task runs,
  so interleaved tasks never see each other's labels;
* asyncio tasks inherit, as a context variable is copied: a task created
  while a label applies (``asyncio.create_task``, ``gather``,
  ``ensure_future``, ``TaskGroup.create_task``, ``asyncio.run``: anything
  that goes through an event loop's ``create_task``) has its coroutine's
  frame painted with the innermost label of its creator, so the task runs
  under it; the task's own labels apply inside it as anywhere else (a
  ``with label()`` in the coroutine itself replaces the inherited one for
  the block, in the functions it calls nests inside it).  This hooks
  ``asyncio.BaseEventLoop.create_task`` (the stdlib's loops) once asyncio
  is imported and a label is entered; loops that do not derive from it
  (uvloop) do not inherit;
* a waiting asyncio loop waits under its tasks' labels: when a selector
  event loop is about to block waiting for I/O (its select() with a
  timeout that is not 0: every task is waiting), the frame of that wait
  is painted with the labels of the waiting tasks (each task's innermost
  label along the chain of coroutines it awaits), sorted and joined by
  " + " (at most IDLE_LABELS_MAX (8), and the first IDLE_TASKS_MAX (256)
  tasks looked at; "..." says there were more); no label when no
  waiting task has one.  So a wall-clock profile charges the loop's
  epoll_wait to the requests it waits for.  It costs a look at every
  task each time the loop is about to block (the loop's select() is
  wrapped by the first create_task after the hook);
  ``asyncio_labels(idle=False)`` or PYSCOPE_IDLE_LABELS=0 turns it off;
* optional, off by default: ``asyncio_labels(task_names=True)`` or
  PYSCOPE_TASK_NAMES=1 paints each task created from then on with its
  name (``Task-12``, or the name= it was given), after the label it
  inherits (``req-7/Task-12``; a creating task's own name is not
  inherited), so a profile splits by task.  PYSCOPE_TASK_NAMES=1 imports
  asyncio when pyscope is imported;
* a suspended generator (or coroutine) keeps its label: it is visible
  again whenever, and only while, the generator runs.

paint() cannot be told when its frame ends; it keeps a reference to the
frame object, and finished frames are found and released lazily: each
paint() and labels() call checks a few slots (the whole table every 128
calls), and a slot that is needed is taken over at once.  Until then the
finished frame's local variables stay alive too.  A finished frame that
something else still holds (a traceback) keeps its label for up to 8 such
rounds, for frame_label().  ``with label()`` has no such delay.

An exception leaving a ``with label()`` block unpaints the frame (which may
catch it and go on), but files the label under the frame's traceback entry
for traceback_label() and the excepthook; that entry is let go as soon as
nothing else holds the traceback.

After os.fork(), the child keeps the forking thread's labels only.

Limits
------
LABEL_MAX (120) bytes of UTF-8: longer labels are cut at a character
boundary (and counted in stats()["truncated"]); the text is kept as cut,
without a marker.  Labels must be str; lone surrogates are stored
backslash-escaped (``\\udc80``), NUL characters as the two characters
``\\0``.  SLOTS (1024) painted frames at once, at most PROBES (8) per
neighbourhood of the hash table: when there is no room a paint is dropped
without error (the program behaves as it would without pyscope) and
counted in stats()["overflow"].

Allocation sampling
-------------------
Importing pyscope starts a sampler of allocations for SystemTap's
leak-watch (its cheap mode): the three Python allocator domains (raw, mem,
obj) are hooked with PyMem_SetAllocator(), on top of the allocators they
had (blocks allocated before are freed by those).  Allocations are sampled
by bytes, as in tcmalloc: about one sample per ``mean`` bytes allocated
(an allocation of s bytes with probability 1 - exp(-s/mean)), each
standing for weight_bytes = s / (1 - exp(-s/mean)) bytes.  For each sampled
allocation, and each free of a sampled block, a USDT probe fires (provider
``pyscope``: ``alloc(ptr, size, weight_bytes, domain, mean_bytes)``,
``free(ptr, size, weight_bytes, domain)``, ``sample_dropped(...)``; domain
0 raw, 1 mem, 2 obj, 3 libc; see runtime/sampler/sampler.h).  Other
allocations cost a few instructions.

``PYSCOPE_ALLOC_SAMPLE=BYTES`` in the environment sets the mean (default
524288); ``PYSCOPE_ALLOC_SAMPLE=0`` turns sampling off (nothing is
hooked).  It is read once, at import.

``LD_PRELOAD=build/libpyscope-alloc.so`` samples the C library's malloc
family too (domain 3), from before main(), and hooks the Python domains of
a Python interpreter in its constructor.  Importing pyscope in such a
process uses the preload's sampler (``source == "preload"``): one sampler,
nothing counted twice.  PYTHONMALLOC and ``-X dev`` replace the hooked
allocators during start-up; import then hooks them again (``rehooked``).

An allocator calling another inside itself (PyObject_Malloc of a large
block goes to PyMem_RawMalloc, then malloc) is counted once, at the
outermost call.  At most 49152 sampled blocks are live at once; more are
dropped (counted), never an error.  After os.fork() the child goes on
sampling, with counters and live samples inherited.

Where the labels live
---------------------
In the C global ``pyscope_labels`` of pyscope._pyscope (layout and reading
protocol: runtime/pyscope/pyscope_labels.h), keyed by frame object address,
read under a per-slot seqlock by out-of-process readers.
"""
import faulthandler
import os
import sys
import traceback
import weakref

import _thread

from pyscope._pyscope import (
    LABEL_MAX,
    PROBES,
    SLOTS,
    clear,
    frame_label,
    label,
    labels,
    paint,
    sampler_stats,
    stats,
    traceback_label,
)
from pyscope import _pyscope

__all__ = [
    "LABEL_MAX", "PROBES", "SLOTS", "asyncio_labels", "clear",
    "format_exception",
    "frame_label", "install", "label", "labels", "paint", "sampler_stats",
    "stats", "traceback_label", "uninstall",
]

# What install() changed, for uninstall(): (previous excepthook, our hook,
# whether faulthandler was enabled before), or None.
_installed = None

# Control characters in labels are shown as \xNN: a label must not be able
# to forge lines of a report.
_CONTROL_ESCAPES = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7f]}


def _printable(text):
    return text.translate(_CONTROL_ESCAPES)


# What differs between the traceback modules of CPython 3.8 to 3.13: from
# 3.11 on, StackSummary formats each frame through format_frame_summary(),
# and entries carry column positions (the private walker and constructor
# used below); TracebackException takes compact= from 3.10 on.
_FRAME_HOOK = sys.version_info >= (3, 11)
_COMPACT = {"compact": True} if sys.version_info >= (3, 10) else {}


class _LabelledStack(traceback.StackSummary):
    """A StackSummary that prints each painted frame's label."""

    def _with_label(self, frame_summary, text):
        """text, the formatted frame_summary, with its label after its
        first line (File "...", line N, in NAME)."""
        label_text = self._labels.get(id(frame_summary))
        if label_text is None:
            return text
        first, newline, rest = text.partition("\n")
        return f"{first}  [label: {_printable(label_text)}]{newline}{rest}"

    if _FRAME_HOOK:
        def format_frame_summary(self, frame_summary, **kwargs):
            # kwargs: colorize= from 3.13 on
            return self._with_label(
                frame_summary,
                super().format_frame_summary(frame_summary, **kwargs))
    else:
        def format(self):
            # 3.8 to 3.10: format() formats the frames itself, one string
            # per frame shown (starting '  File "'), showing the first
            # _RECURSIVE_CUTOFF frames of each run of equal (file, line,
            # name) and then one "[Previous line repeated N more times]"
            # string.  So: which frames it shows, in order, to pair them
            # with its frame strings.
            shown = []
            last = None
            count = 0
            for frame_summary in self:
                key = (frame_summary.filename, frame_summary.lineno,
                       frame_summary.name)
                count = count + 1 if key == last else 1
                last = key
                if count <= traceback._RECURSIVE_CUTOFF:
                    shown.append(frame_summary)
            shown = iter(shown)
            result = []
            for text in super().format():
                if text.startswith('  File "'):
                    text = self._with_label(next(shown), text)
                result.append(text)
            return result


def _labelled_stack(tb):
    """The StackSummary traceback.TracebackException would build for tb
    (same limit, same column positions), knowing each entry's label."""
    seen = []

    def frames(walk):
        entry = tb
        # walk follows tb_next from tb, as `entry` does.
        for frame, position in walk(tb):
            seen.append(traceback_label(entry))
            entry = entry.tb_next
            yield frame, position

    if _FRAME_HOOK:
        # 3.11's own walker (for the ^^^^ position markers)
        stack = _LabelledStack._extract_from_extended_frame_gen(
            frames(traceback._walk_tb_with_full_positions))
    else:
        stack = _LabelledStack.extract(frames(traceback.walk_tb))
    # With a traceback limit the summary keeps the first N entries walked
    # (islice) or the last N (a deque): either way the last len(stack)
    # walked, since an islice stops walking at its limit.
    kept = seen[len(seen) - len(stack):]
    stack._labels = {id(summary): text
                     for summary, text in zip(stack, kept) if text is not None}
    return stack


def format_exception(exc_type, exc, tb):
    """Like "".join(traceback.format_exception(exc_type, exc, tb)), with
    "  [label: TEXT]" after the File line of each labelled entry."""
    top = traceback.TracebackException(exc_type, exc, tb, **_COMPACT)
    # Walk the chain (causes, contexts, exception groups) alongside the
    # exceptions it was built from, and give each part its labelled stack.
    todo = [(top, exc, tb)]
    done = set()
    while todo:
        te, value, value_tb = todo.pop()
        if te is None or id(te) in done:
            continue
        done.add(id(te))
        te.stack = _labelled_stack(value_tb)
        if not isinstance(value, BaseException):
            continue
        for part, chained in ((te.__cause__, value.__cause__),
                              (te.__context__, value.__context__)):
            if part is not None and chained is not None:
                todo.append((part, chained, chained.__traceback__))
        # exception groups: 3.11+ (no te.exceptions before)
        if (getattr(te, "exceptions", None)
                and isinstance(value, BaseExceptionGroup)):
            for part, member in zip(te.exceptions, value.exceptions):
                todo.append((part, member, member.__traceback__))
    return "".join(top.format())


def _make_excepthook(previous):
    def excepthook(exc_type, exc, tb):
        try:
            text = format_exception(exc_type, exc, tb)
            if sys.stderr is not None:
                sys.stderr.write(text)
                sys.stderr.flush()
        except BaseException:
            # Whatever went wrong, the traceback itself must not be lost.
            previous(exc_type, exc, tb)
    return excepthook


def _enable_faulthandler():
    try:
        faulthandler.enable(all_threads=False)
    except (AttributeError, ValueError, OSError, RuntimeError):
        # sys.stderr is not a real file (None, or captured): fd 2 then.
        faulthandler.enable(file=2, all_threads=False)


def install():
    """Report labels in uncaught-exception tracebacks and fatal-signal
    crashes (see the module documentation).  Installing twice is harmless."""
    global _installed
    if _installed is not None:
        return
    faulthandler_was_enabled = faulthandler.is_enabled()
    # faulthandler first: our handler replaces its one and chains to it.
    if not faulthandler_was_enabled:
        _enable_faulthandler()
    try:
        _pyscope._install_crash_handler()
    except BaseException:
        if not faulthandler_was_enabled:
            faulthandler.disable()
        raise
    previous = sys.excepthook
    hook = _make_excepthook(previous)
    sys.excepthook = hook
    _installed = (previous, hook, faulthandler_was_enabled)


def uninstall():
    """Undo install(): the previous excepthook (unless someone replaced
    ours meanwhile), faulthandler as it was, the previous signal
    handlers."""
    global _installed
    if _installed is None:
        return
    previous, hook, faulthandler_was_enabled = _installed
    # Ours before faulthandler's: disabling faulthandler resets the signal
    # handlers to what it found, which must not be ours.
    _pyscope._uninstall_crash_handler()
    if not faulthandler_was_enabled:
        faulthandler.disable()
    if sys.excepthook is hook:
        sys.excepthook = previous
    _installed = None


# asyncio (see "Semantics"): tasks inherit the label they are created
# under, a loop waiting for I/O waits under the labels of the tasks it
# waits for, and, when asked, each task runs under its name.  The C side
# calls _hook_asyncio once, the first time a label is entered while
# asyncio.base_events is imported (or now, if it is, or when
# asyncio_labels(task_names=True) asks).
_asyncio_options = {
    "idle": os.environ.get("PYSCOPE_IDLE_LABELS", "1") != "0",
    "task_names": os.environ.get("PYSCOPE_TASK_NAMES", "0") not in ("", "0"),
}

# A waiting loop looks at no more tasks than this (and at no more awaits
# deep in each), and names at most IDLE_LABELS_MAX labels.
IDLE_TASKS_MAX = 256
IDLE_AWAITS_MAX = 64
IDLE_LABELS_MAX = 8


def asyncio_labels(*, idle=None, task_names=None):
    """Set (when given) and return the asyncio label options, a dict:
    ``idle`` (default on: a loop waiting for I/O waits under the labels
    of its waiting tasks) and ``task_names`` (default off: each task
    created from now on runs under its name, after the label it
    inherits).  The environment's PYSCOPE_IDLE_LABELS=0 and
    PYSCOPE_TASK_NAMES=1 set them at import."""
    if idle is not None:
        _asyncio_options["idle"] = bool(idle)
    if task_names is not None:
        _asyncio_options["task_names"] = bool(task_names)
        if task_names:
            import asyncio.base_events
            _hook_asyncio(asyncio.base_events)
    return dict(_asyncio_options)


def _task_label(task):
    """The label a suspended task waits under: the innermost label on its
    chain of awaited coroutines (or generators), or None."""
    found = None
    awaited = task.get_coro()
    for _ in range(IDLE_AWAITS_MAX):
        frame = getattr(awaited, "cr_frame", None)
        if frame is None:
            frame = getattr(awaited, "gi_frame", None)
        if frame is None:
            break
        text = frame_label(frame)
        if text is not None:
            found = text
        inner = getattr(awaited, "cr_await", None)
        if inner is None:
            inner = getattr(awaited, "gi_yieldfrom", None)
        awaited = inner
    return found


def _waiting_label(tasks_module, loop):
    """The label a loop about to wait for I/O waits under: the labels of
    its tasks (all waiting, or it would not wait), sorted, joined by
    " + ", or None when none is labelled."""
    texts = set()
    for count, task in enumerate(tasks_module.all_tasks(loop)):
        if count == IDLE_TASKS_MAX:
            texts.add("...")
            break
        text = _task_label(task)
        if text is not None:
            texts.add(text)
    if not texts:
        return None
    shown = sorted(texts)
    if len(shown) > IDLE_LABELS_MAX:
        shown = shown[:IDLE_LABELS_MAX] + ["..."]
    return " + ".join(shown)


def _wrap_selector(loop):
    """Make a selector event loop's waits for I/O (select() with a timeout
    that is not 0) run under its waiting tasks' labels."""
    selector = getattr(loop, "_selector", None)
    if selector is None or getattr(selector, "_pyscope_idle", False):
        return
    import asyncio.tasks
    select = selector.select
    loop_ref = weakref.ref(loop)

    def idle_select(timeout=None):
        if not _asyncio_options["idle"] or (timeout is not None
                                             and timeout <= 0):
            return select(timeout)
        owner = loop_ref()
        text = None if owner is None else _waiting_label(asyncio.tasks,
                                                          owner)
        if text is None:
            return select(timeout)
        with label(text):
            return select(timeout)

    try:
        selector.select = idle_select
        selector._pyscope_idle = True
    except AttributeError:
        pass        # a selector with __slots__: its waits stay unlabelled


def _hook_asyncio(base_events):
    loop_class = base_events.BaseEventLoop
    original = loop_class.create_task
    if getattr(original, "_pyscope_inherits", False):
        return

    def create_task(self, coro, *args, **kwargs):
        _wrap_selector(self)
        # painted before the task exists: an eager task (3.12's
        # eager_task_factory) runs its first step inside create_task
        frame = getattr(coro, "cr_frame", None)
        inherited = None
        if frame is not None:
            current = _pyscope.labels()
            if current:
                inherited = current[-1]
                _pyscope._paint_frame(frame, inherited)
        task = original(self, coro, *args, **kwargs)
        if _asyncio_options["task_names"]:
            _paint_task_name(task, inherited)
        return task

    create_task.__name__ = original.__name__
    create_task.__qualname__ = original.__qualname__
    create_task.__doc__ = original.__doc__
    create_task.__wrapped__ = original
    create_task._pyscope_inherits = True
    loop_class.create_task = create_task

    # asyncio.create_task(coro, name=...) names the task after the loop's
    # create_task returns (3.8 to 3.12): paint it again then
    tasks_module = sys.modules.get("asyncio.tasks")
    set_task_name = getattr(tasks_module, "_set_task_name", None)
    if set_task_name is not None:
        def _set_task_name(task, name):
            set_task_name(task, name)
            if _asyncio_options["task_names"] and name is not None:
                current = _pyscope.labels()
                _paint_task_name(task, current[-1] if current else None)

        tasks_module._set_task_name = _set_task_name


# the texts painted by _paint_task_name -> the inherited label in them
# (None: none), so a task's name is not inherited by the tasks it creates
_task_name_texts = {}


def _paint_task_name(task, inherited):
    """Paint a task's coroutine frame (not running: the task is new, or
    an eager one suspended; a finished one has none) with its name, after
    the label it inherited, less its creator's own name."""
    frame = getattr(task.get_coro(), "cr_frame", None)
    if frame is None:
        return
    inherited = _task_name_texts.get(inherited, inherited)
    name = task.get_name()
    text = name if inherited is None else f"{inherited}/{name}"
    if len(_task_name_texts) >= 4096:
        _task_name_texts.clear()
    _task_name_texts[text] = inherited
    _pyscope._paint_frame(frame, text, True)


if "asyncio.base_events" in sys.modules or _asyncio_options["task_names"]:
    import asyncio.base_events
    _hook_asyncio(sys.modules["asyncio.base_events"])
else:
    _pyscope._set_asyncio_hook(_hook_asyncio)


# After fork() only the forking thread exists: the other threads' paints
# are dropped, and the forking thread's get its new thread id.
_fork_parent_tid = None


def _before_fork():
    global _fork_parent_tid
    _fork_parent_tid = _thread.get_native_id()


def _after_fork_in_child():
    if _fork_parent_tid is not None:
        _pyscope._after_fork_in_child(_fork_parent_tid)


os.register_at_fork(before=_before_fork,
                    after_in_child=_after_fork_in_child)
