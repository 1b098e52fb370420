/*
 * frames.c - frame internals of CPython 3.11 (see frames.h).
 *
 * The layout of _PyInterpreterFrame is private to CPython, hence
 * Py_BUILD_CORE here and nowhere else.  Checked against 3.11.2.
 */
#define Py_BUILD_CORE_MODULE 1
#include <Python.h>
#include "internal/pycore_frame.h"

#include "frames.h"

#if PY_VERSION_HEX < 0x030B0000 || PY_VERSION_HEX >= 0x030C0000
#  error "frames.c knows the frame layout of CPython 3.11 only"
#endif

/*
 * A frame object either points at a frame that lives elsewhere (in a
 * thread's frame stack, owner FRAME_OWNED_BY_THREAD, or inside a generator,
 * FRAME_OWNED_BY_GENERATOR), or owns a copy of it.  When a frame finishes
 * while something else still holds its frame object, _PyFrame_Clear()
 * copies the frame into the frame object (take_ownership()) and sets the
 * copy's owner to FRAME_OWNED_BY_FRAME_OBJECT.  The painting code always
 * holds a reference, so that copy is exactly "this frame has finished".
 * (Frame objects made by PyFrame_New() own their frame from the start;
 * they never run, so "finished" is right for them too.)
 */
int
pyscope_frame_is_live(const PyFrameObject *f)
{
    return f->f_frame->owner != FRAME_OWNED_BY_FRAME_OBJECT;
}

void
pyscope_walk_frames(PyThreadState *tstate, int max_depth,
                    pyscope_frame_visit visit, void *arg)
{
    if (tstate == NULL || tstate->cframe == NULL) {
        return;
    }
    /* `previous` links every running frame, across nested C calls of the
       eval loop too; this is the chain faulthandler and the tapsets walk. */
    _PyInterpreterFrame *frame = tstate->cframe->current_frame;
    for (int depth = 0; frame != NULL && depth < max_depth; depth++) {
        if (frame->frame_obj != NULL && visit(frame->frame_obj, arg)) {
            return;
        }
        frame = frame->previous;
    }
}
