/*
 * frames.h - the few facts about CPython 3.11 frames that the public C API
 * does not give.  Only frames.c includes CPython's internal headers.
 */
#ifndef PYSCOPE_FRAMES_H
#define PYSCOPE_FRAMES_H

#include <Python.h>

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

#endif /* PYSCOPE_FRAMES_H */
