/*
 * frames.c - frame internals of CPython 3.8 to 3.13 (see frames.h).
 *
 * One #if block per frame layout, each saying what it was checked against.
 * From 3.11 on the frame a PyFrameObject stands for is a private
 * _PyInterpreterFrame, hence Py_BUILD_CORE (for internal/pycore_frame.h)
 * there, and nowhere else in the extension.
 *
 * The painting code always holds a strong reference to a painted frame
 * object, so in every version the question "has this frame finished?" is
 * asked of a frame object that is still allocated.
 */
#include <patchlevel.h>
#if PY_VERSION_HEX >= 0x030B0000
#  define Py_BUILD_CORE_MODULE 1
#endif
#include <Python.h>
#include <frameobject.h>
#include <pthread.h>
#include <stdint.h>
#if PY_VERSION_HEX >= 0x030B0000
#  include "internal/pycore_frame.h"
#endif

#include "frames.h"

#if PY_VERSION_HEX < 0x03080000 || PY_VERSION_HEX >= 0x030E0000
#  error "frames.c knows the frame layouts of CPython 3.8 to 3.13 only"
#endif
#ifdef Py_GIL_DISABLED
/* The label table has one writer because painting holds the GIL
   (pyscope_labels.h); a free-threaded build (3.13t) has no GIL. */
#  error "pyscope needs a CPython with the GIL (not a free-threaded build)"
#endif

#if PY_VERSION_HEX < 0x030A0000
/*
 * 3.8, 3.9: the PyFrameObject is the frame.  Checked against 3.8.18 and
 * 3.9.18 (frameobject.h and ceval.c, genobject.c of those tags).
 *
 * _PyEval_EvalFrameDefault() sets f_executing to 1 when it starts running
 * the frame and back to 0 when it leaves it (return, exception or yield),
 * and it sets f_stacktop to NULL on entry; only YIELD_VALUE sets it again
 * (to the value stack's top) as the frame suspends.  A generator's frame
 * points back at it through f_gen (borrowed), which gen_send_ex() and
 * gen_dealloc() set to NULL when they let the frame go: once it has
 * returned or raised (`!result || f->f_stacktop == NULL`), or with the
 * generator object.  So a frame that is not executing can still run only
 * if it is a suspended (or not yet started) generator's: f_gen set and a
 * value stack to resume (f_stacktop).  f_gen matters: a generator that
 * ignored GeneratorExit when it was closed dies with its frame suspended,
 * f_stacktop set, and that frame never runs again.  (A frame on the
 * thread's chain but not executing, as in _gen_throw() of a `yield from`
 * generator, is a suspended generator's, so live.)  Frame objects made by
 * PyFrame_New() never run: not executing, no f_gen, finished.
 */
int
pyscope_frame_is_live(const PyFrameObject *f)
{
    return f->f_executing || (f->f_gen != NULL && f->f_stacktop != NULL);
}

#elif PY_VERSION_HEX < 0x030B0000
/*
 * 3.10: the PyFrameObject is still the frame, and f_state says where it
 * is: FRAME_CREATED < FRAME_SUSPENDED < FRAME_EXECUTING (0) < FRAME_RETURNED,
 * FRAME_UNWINDING, FRAME_RAISED, FRAME_CLEARED.  Checked against 3.10.13
 * (cpython/frameobject.h, ceval.c, genobject.c).
 *
 * Executing: live.  Completed (_PyFrameHasCompleted, f_state > 0):
 * finished.  Created or suspended: live only while it belongs to a
 * generator (f_gen, borrowed; gen_send_ex2() and gen_dealloc() set it to
 * NULL as they let the frame go), as in 3.8: a generator that ignored
 * GeneratorExit dies with its frame still FRAME_SUSPENDED, and a frame
 * from PyFrame_New() stays FRAME_CREATED for ever without running.
 * (gen_close() and _gen_throw() mark a suspended generator's frame
 * FRAME_EXECUTING while they close what it delegates to: live, rightly.)
 */
int
pyscope_frame_is_live(const PyFrameObject *f)
{
    if (f->f_state == FRAME_EXECUTING) {
        return 1;
    }
    return f->f_state < FRAME_EXECUTING && f->f_gen != NULL;
}

#else
/*
 * 3.11 to 3.13: finished frames.  Checked against 3.11.2 (Debian's),
 * 3.11.7, 3.12.1 and 3.13.0 (internal/pycore_frame.h, frameobject.c,
 * frame.c).
 *
 * A frame object either points at a frame that lives elsewhere (in a
 * thread's frame stack, owner FRAME_OWNED_BY_THREAD, or inside a generator,
 * FRAME_OWNED_BY_GENERATOR), or owns a copy of it.  When a frame finishes
 * while something else still holds its frame object, _PyFrame_Clear()
 * (3.12+: _PyFrame_ClearExceptCode()) copies the frame into the frame
 * object (take_ownership()) and sets the copy's owner to
 * FRAME_OWNED_BY_FRAME_OBJECT.  The painting code always holds a
 * reference, so that copy is exactly "this frame has finished".  (Frame
 * objects made by PyFrame_New() own their frame from the start; they
 * never run, so "finished" is right for them too.)
 */
int
pyscope_frame_is_live(const PyFrameObject *f)
{
    return f->f_frame->owner != FRAME_OWNED_BY_FRAME_OBJECT;
}
#endif

#if PY_VERSION_HEX < 0x030B0000
/* 3.8 to 3.10: tstate->frame is the innermost running frame, f_back the
   next one out; every frame is an object. */
void
pyscope_walk_frames(PyThreadState *tstate, int max_depth,
                    pyscope_frame_visit visit, void *arg)
{
    if (tstate == NULL) {
        return;
    }
    const PyFrameObject *f = tstate->frame;
    for (int depth = 0; f != NULL && depth < max_depth; depth++) {
        if (visit(f, arg)) {
            return;
        }
        f = f->f_back;
    }
}

#else
/*
 * 3.11 to 3.13: the running chain.  `previous` links every running frame,
 * across nested C calls of the eval loop too; this is the chain
 * faulthandler and the tapsets walk.
 *
 * It starts at tstate->cframe->current_frame (3.11, 3.12); 3.13 dropped
 * _PyCFrame for tstate->current_frame.
 *
 * From 3.12 each entry into _PyEval_EvalFrameDefault() pushes a shim frame
 * (entry_frame, the interpreter trampoline) that lives on the C stack:
 * owner FRAME_OWNED_BY_CSTACK, and its frame_obj is never set (only
 * f_code/f_executable, the instruction pointer, stacktop, owner,
 * return_offset and previous are, outside Py_DEBUG builds), so it must not
 * even be read.  3.13's trampoline frames such as _Py_InitCleanup's are
 * thread-owned but made by _PyFrame_PushTrampolineUnchecked() with
 * frame_obj NULL, so they have no object to visit.
 */
static _PyInterpreterFrame *
innermost_frame(PyThreadState *tstate)
{
#if PY_VERSION_HEX < 0x030D0000
    return tstate->cframe == NULL ? NULL : tstate->cframe->current_frame;
#else
    return tstate->current_frame;
#endif
}

static int
is_shim_frame(const _PyInterpreterFrame *frame)
{
#if PY_VERSION_HEX >= 0x030C0000
    return frame->owner == FRAME_OWNED_BY_CSTACK;
#else
    (void)frame;
    return 0;
#endif
}

void
pyscope_walk_frames(PyThreadState *tstate, int max_depth,
                    pyscope_frame_visit visit, void *arg)
{
    if (tstate == NULL) {
        return;
    }
    _PyInterpreterFrame *frame = innermost_frame(tstate);
    for (int depth = 0; frame != NULL && depth < max_depth; depth++) {
        if (!is_shim_frame(frame) && frame->frame_obj != NULL
            && visit(frame->frame_obj, arg))
        {
            return;
        }
        frame = frame->previous;
    }
}
#endif

/*
 * Code objects.  PyFrame_GetCode() is public from 3.9 (3.8: f_code);
 * PyFrame_GetLasti() from 3.11 (before: f_lasti, a byte offset in 3.8
 * and 3.9, an instruction index in 3.10: either is unique per
 * instruction); co_qualname exists from 3.11 (before, frames and code
 * objects do not know the function's qualified name: co_name).  Checked
 * against the cpython/frameobject.h, cpython/code.h of 3.8.18 to 3.13.0.
 */
PyCodeObject *
pyscope_frame_code(PyFrameObject *f)
{
#if PY_VERSION_HEX >= 0x03090000
    return PyFrame_GetCode(f);
#else
    Py_INCREF(f->f_code);
    return f->f_code;
#endif
}

PyFrameObject *
pyscope_frame_back(PyFrameObject *f)
{
#if PY_VERSION_HEX >= 0x03090000
    return PyFrame_GetBack(f);
#else
    Py_XINCREF(f->f_back);
    return f->f_back;
#endif
}

int
pyscope_frame_lasti(PyFrameObject *f)
{
#if PY_VERSION_HEX >= 0x030B0000
    return PyFrame_GetLasti(f);
#else
    return f->f_lasti;
#endif
}

PyObject *
pyscope_code_name(PyCodeObject *code)
{
#if PY_VERSION_HEX >= 0x030B0000
    return code->co_qualname;
#else
    return code->co_name;
#endif
}

/*
 * Thread ids.  From 3.11 the thread state keeps the native id
 * (native_thread_id, set again in a fork child by PyOS_AfterFork_Child).
 * Before (checked against cpython/pystate.h of 3.8.18 to 3.10.13) it has
 * none: ask the kernel once per thread (PyThread_get_thread_native_id(),
 * gettid(2) on Linux, as threading.get_native_id()) and keep the answer
 * in thread-local storage.  A fork child's only thread, the forking one,
 * has a new id: the pthread_atfork() handler, which runs in that thread
 * as fork() returns in the child, forgets the parent's.  A new thread
 * starts with the cache empty.
 */
#if PY_VERSION_HEX >= 0x030B0000
uint64_t
pyscope_thread_id(void)
{
    return PyThreadState_Get()->native_thread_id;
}
#else
static __thread uint64_t cached_thread_id;

static void
forget_thread_id(void)
{
    cached_thread_id = 0;
}

uint64_t
pyscope_thread_id(void)
{
    static int at_fork_registered;     /* under the GIL */

    if (cached_thread_id == 0) {
        if (!at_fork_registered) {
            at_fork_registered = 1;
            pthread_atfork(NULL, NULL, forget_thread_id);
        }
        cached_thread_id = (uint64_t)PyThread_get_thread_native_id();
    }
    return cached_thread_id;
}
#endif
