/* pywalk.h - a thread's Python frames, read from another process: the
   rules of tapsets/python_walk.stp (pyscope_read_frame, pyscope_skip_shims,
   pyscope_walk_start, pyscope_walk_next, pyscope_current_frame,
   pyscope_tstate_is) and tapsets/python_thread.stp (the walk of the
   interpreters and their thread states), ported from kernel C to user
   space: same fields, same bounds, same end rules. */
#ifndef PYSCOPE_DUMP_PYWALK_H
#define PYSCOPE_DUMP_PYWALK_H

#include <stdint.h>
#include <sys/types.h>

#include "layout.h"
#include "mem.h"

/* tapsets/pyscope.stpm's bounds */
#define PYSCOPE_MAX_INTERPRETERS 16
#define PYSCOPE_MAX_THREADS 1024
#define PYSCOPE_MAX_FRAMES 128
#define PYSCOPE_MAX_WALK 10000

/* One frame as the walk sees it (struct pyscope_frame). */
typedef struct {
    uint64_t code, prev;
    int64_t lasti;
    int complete;       /* 0: a shim, or still in its prologue */
    int entry;          /* the outermost frame of its interpreter call */
} PyFrame;

typedef enum {
    WALK_ON, WALK_DONE, WALK_TRUNCATED, WALK_UNREADABLE, WALK_CYCLE
} WalkEnd;

typedef struct {
    uint64_t next, at;
    long visited, shown, max_visit, max_shown;
    int cycle;
    WalkEnd end;
} PyWalk;

void pywalk_start(const DumpLayout *L, const Target *t, PyWalk *w,
                  uint64_t first, long max_shown, long max_visit);
/* 1 and the frame (its address w->at), or 0: the walk is over (w->end). */
int pywalk_next(const DumpLayout *L, const Target *t, PyWalk *w,
                PyFrame *fr);

/* A thread's innermost frame, 0 when none or unreadable. */
uint64_t py_current_frame(const DumpLayout *L, const Target *t, uint64_t ts);

/* The kernel tid of a thread state's thread, -1 when unreadable. */
long py_tstate_tid(const DumpLayout *L, const Target *t, uint64_t ts);

typedef struct {
    uint64_t tstate;
    uint64_t interp;
    long tid;
} PyThread;

/* The thread states of every interpreter under _PyRuntime at runtime
   (at most max): their number, or -1 when the lists cannot be read. */
long py_threads(const DumpLayout *L, const Target *t, uint64_t runtime,
                PyThread *out, long max);

/* The thread state holding the GIL: 3.8-3.11 _PyRuntime.ceval.gil,
   3.12+ interp->ceval.gil ({locked, last_holder}); 0 when nobody holds
   it, -1 when the layout or the memory does not say. */
int64_t py_gil_holder(const DumpLayout *L, const Target *t, uint64_t runtime,
                      uint64_t interp);

#endif
