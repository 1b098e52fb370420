/*
 * frames.h - the few facts about CPython's frames, code objects and thread
 * states that the public C API does not give, or gives only in some
 * versions.  Everything that differs between the CPython versions the
 * extension supports (3.8 to 3.13) is behind these functions: only
 * frames.c looks at PY_VERSION_HEX or includes CPython's internal headers.
 */
#ifndef PYSCOPE_FRAMES_H
#define PYSCOPE_FRAMES_H

#include <Python.h>
/* PyFrameObject itself: Python.h declares it only from 3.9 on (and
   PyFrame_Check only from 3.11 on); frameobject.h has both everywhere. */
#include <frameobject.h>
#include <stdint.h>

/* 1 while the frame of frame object f can still run (on a thread's stack,
   or in a generator that has not finished), 0 once it has finished.
   Reads memory only. */
int pyscope_frame_is_live(const PyFrameObject *f);

/* Called for each frame object of a thread's running frames, innermost
   first; return nonzero to stop the walk. */
typedef int (*pyscope_frame_visit)(const PyFrameObject *f, void *arg);

/* Walk tstate's running frames (at most max_depth of them), calling visit
   for each one that has a frame object (only those can be painted).  Reads
   memory only, so the crash handler may call it. */
void pyscope_walk_frames(PyThreadState *tstate, int max_depth,
                         pyscope_frame_visit visit, void *arg);

/* The code object frame f runs (a new reference). */
PyCodeObject *pyscope_frame_code(PyFrameObject *f);

/* The frame that called f (a new reference), or NULL (no error set) when
   f is the outermost.  From 3.11 on this may create its frame object. */
PyFrameObject *pyscope_frame_back(PyFrameObject *f);

/* Where f is in its code, as a number that differs between the
   instructions of one code object (a cache key, not an offset to use). */
int pyscope_frame_lasti(PyFrameObject *f);

/* The name a report shows for code: its qualified name where code objects
   have one (3.11+), else its plain name.  Borrowed. */
PyObject *pyscope_code_name(PyCodeObject *code);

/* The calling thread's native thread id (gettid(2), as
   threading.get_native_id()).  Call it with the GIL held. */
uint64_t pyscope_thread_id(void);

#endif /* PYSCOPE_FRAMES_H */
