/* pywalk.c - a thread's Python frames, python_walk.stp's rules. */
#include "pywalk.h"

/* Reads frame f: 0, or -1 when it cannot be read (its code or the link
   to its caller; another field that cannot be read is 0). */
static int
read_frame(const DumpLayout *L, const Target *t, uint64_t f, PyFrame *fr)
{
    uint64_t code, prev, v;

    if (!mem_get(t, f + L->off_code, &code, 8)
        || !mem_get(t, f + L->off_prev, &prev, 8)) {
        return -1;
    }
    fr->code = code & ~(uint64_t)L->tag_mask;
    fr->prev = prev;
    fr->complete = 1;
    fr->entry = 1;
    if (L->model == 1) {
        int32_t li;

        (void)mem_get(t, f + L->off_lasti, &v, 4);
        li = (int32_t)v;
        if (L->lasti_model == 1 && li >= 0) {
            li /= L->code_unit;         /* 3.8-3.9 count bytes */
        }
        fr->lasti = li;
        return 0;
    }

    uint64_t instr, owner;

    (void)mem_get(t, f + L->off_instr, &instr, 8);
    (void)mem_get(t, f + L->off_owner, &owner, 1);
    fr->lasti = (int64_t)(instr - (fr->code + L->off_adaptive)) / L->code_unit;
    if (L->entry_rule == 3 && owner >= (uint64_t)L->owner_first_shim) {
        fr->complete = 0;               /* a shim */
    }
    else if (owner != (uint64_t)L->owner_generator && L->off_first >= 0) {
        uint64_t first;

        if (!mem_get(t, fr->code + L->off_first, &first, 4)) {
            return -1;
        }
        fr->complete = fr->lasti >= (int32_t)first;
    }
    if (L->entry_rule == 2) {
        v = 0;
        if (L->off_entry >= 0) {
            (void)mem_get(t, f + L->off_entry, &v, 1);
        }
        fr->entry = v != 0;
    }
    else if (L->entry_rule == 3) {
        uint64_t powner = (uint64_t)L->owner_first_shim;

        if (fr->prev != 0
            && !mem_get(t, fr->prev + L->off_owner, &powner, 1)) {
            powner = (uint64_t)L->owner_first_shim;
        }
        fr->entry = fr->prev == 0 || powner >= (uint64_t)L->owner_first_shim;
    }
    return 0;
}

/* The first frame at or after f that is not a shim (3.12+); 0 when the
   chain ends or cannot be read. */
static uint64_t
skip_shims(const DumpLayout *L, const Target *t, uint64_t f)
{
    uint64_t v;

    for (int n = 0; f != 0 && L->entry_rule == 3 && n < 16; n++) {
        if (!mem_get(t, f + L->off_owner, &v, 1)) {
            return 0;
        }
        if (v < (uint64_t)L->owner_first_shim) {
            break;
        }
        if (!mem_get(t, f + L->off_prev, &v, 8)) {
            return 0;
        }
        f = v;
    }
    return f;
}

void
pywalk_start(const DumpLayout *L, const Target *t, PyWalk *w, uint64_t first,
             long max_shown, long max_visit)
{
    w->next = skip_shims(L, t, first);
    w->at = 0;
    w->visited = w->shown = 0;
    w->max_visit = max_visit;
    w->max_shown = max_shown;
    w->cycle = 0;
    w->end = WALK_ON;
}

int
pywalk_next(const DumpLayout *L, const Target *t, PyWalk *w, PyFrame *fr)
{
    uint64_t f = w->next;

    if (w->end != WALK_ON) {
        return 0;
    }
    if (f == 0) {
        w->end = w->cycle ? WALK_CYCLE : WALK_DONE;
        return 0;
    }
    if (w->visited >= w->max_visit) {
        w->end = WALK_TRUNCATED;
        return 0;
    }
    if (read_frame(L, t, f, fr) != 0) {
        w->end = WALK_UNREADABLE;
        return 0;
    }
    if (fr->complete && w->shown >= w->max_shown) {
        w->end = WALK_TRUNCATED;
        return 0;
    }
    w->visited++;
    w->shown += fr->complete;
    w->at = f;
    w->cycle = fr->prev == f;
    w->next = w->cycle ? 0 : fr->prev;
    if (fr->entry) {
        w->next = skip_shims(L, t, w->next);
    }
    return 1;
}

uint64_t
py_current_frame(const DumpLayout *L, const Target *t, uint64_t ts)
{
    uint64_t f, cf;

    if (ts == 0) {
        return 0;
    }
    if (L->cur_frame_path == 1) {
        return mem_get(t, ts + L->off_tstate_frame, &f, 8) ? f : 0;
    }
    if (L->cur_frame_path == 3) {
        return mem_get(t, ts + L->off_tstate_current_frame, &f, 8) ? f : 0;
    }
    if (!mem_get(t, ts + L->off_tstate_cframe, &cf, 8) || cf == 0) {
        return 0;
    }
    return mem_get(t, cf + L->off_cframe_current_frame, &f, 8) ? f : 0;
}

long
py_tstate_tid(const DumpLayout *L, const Target *t, uint64_t ts)
{
    uint64_t id, pt, tid;

    if (L->thread_match == 1) {
        return mem_get(t, ts + L->off_native_id, &id, 8) ? (long)id : -1;
    }
    /* 3.8-3.10: pthread_self() in thread_id, the tid in glibc's struct
       pthread (tools/offsets/glibc.tsv) */
    if (!mem_get(t, ts + L->off_thread_id, &pt, 8) || pt == 0
        || !mem_get(t, pt + L->pthread_tid_off, &tid, 4)) {
        return -1;
    }
    return (long)(int32_t)tid;
}

long
py_threads(const DumpLayout *L, const Target *t, uint64_t runtime,
           PyThread *out, long max)
{
    uint64_t interp, ts;
    long n = 0;

    if (!mem_get(t, runtime + L->off_interpreters_head, &interp, 8)) {
        return -1;
    }
    for (int i = 0; interp != 0 && i < PYSCOPE_MAX_INTERPRETERS; i++) {
        if (!mem_get(t, interp + L->off_threads_head, &ts, 8)) {
            return -1;
        }
        for (int j = 0; ts != 0 && j < PYSCOPE_MAX_THREADS && n < max; j++) {
            out[n].tstate = ts;
            out[n].interp = interp;
            out[n].tid = py_tstate_tid(L, t, ts);
            n++;
            if (!mem_get(t, ts + L->off_tstate_next, &ts, 8)) {
                return -1;
            }
        }
        if (!mem_get(t, interp + L->off_interp_next, &interp, 8)) {
            return -1;
        }
    }
    return n;
}

int64_t
py_gil_holder(const DumpLayout *L, const Target *t, uint64_t runtime,
              uint64_t interp)
{
    uint64_t gil, locked, holder;

    if (L->off_gil_locked < 0 || L->off_gil_holder < 0) {
        return -1;
    }
    if (L->off_runtime_gil >= 0) {
        gil = runtime + L->off_runtime_gil;             /* 3.8-3.11 */
    }
    else if (L->off_interp_gil >= 0 && interp != 0) {
        if (!mem_get(t, interp + L->off_interp_gil, &gil, 8) || gil == 0) {
            return -1;                                  /* 3.12+ */
        }
    }
    else {
        return -1;
    }
    if (!mem_get(t, gil + L->off_gil_locked, &locked, 4)
        || !mem_get(t, gil + L->off_gil_holder, &holder, 8)) {
        return -1;
    }
    return locked ? (int64_t)holder : 0;
}
