/*
 * table.c - the writer side of the label table (see table.h and the
 * protocol in pyscope_labels.h).
 */
#include <Python.h>
#include <string.h>

#include "frames.h"
#include "table.h"

struct pyscope_table pyscope_labels;

#define SLOT_MASK (PYSCOPE_SLOTS - 1)

/* A dead slot whose frame object someone else still holds (typically a
   traceback: frame_label() should still answer for it) survives this many
   sweeps before it is freed anyway. */
#define DEAD_SWEEPS_KEPT 8

static Py_ssize_t slots_used;
static unsigned int sweep_cursor;
static unsigned char dead_sweeps[PYSCOPE_SLOTS];

#if PYSCOPE_SLOTS != (1 << PYSCOPE_SLOTS_LOG2)
#  error "PYSCOPE_SLOTS must be 2 ** PYSCOPE_SLOTS_LOG2"
#endif

/* Called once, with the table's address, when the table is ready.  An
   out-of-process reader puts a probe here to learn where the table is in a
   process it did not attach to itself (SystemTap cannot always relocate
   the symbol in a child of its target); see tapsets/labels.stp.  noinline
   and the empty asm keep the call and its argument in the binary. */
__attribute__((noinline)) void
pyscope_table_published(struct pyscope_table *table)
{
    __asm__ volatile("" : : "r"(table) : "memory");
}

void
pyscope_table_init(void)
{
    struct pyscope_table *t = &pyscope_labels;

    t->version = PYSCOPE_TABLE_VERSION;
    t->nslots = PYSCOPE_SLOTS;
    /* The magic last: a reader that sees it sees a table ready to read. */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    memcpy(t->magic, PYSCOPE_TABLE_MAGIC, sizeof t->magic);
    pyscope_table_published(t);
}

static unsigned int
home_slot(const void *frame_obj)
{
    uint64_t a = (uint64_t)(uintptr_t)frame_obj;
    return (unsigned int)(((a >> 4) * PYSCOPE_HASH_MULT)
                          >> (64 - PYSCOPE_SLOTS_LOG2));
}

/* The two halves of a seqlock write; between them the slot's seq is odd
   and readers discard what they read. */
static uint64_t
write_begin(struct pyscope_slot *s)
{
    uint64_t seq = s->seq;
    __atomic_store_n(&s->seq, seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    return seq + 1;
}

static void
write_end(struct pyscope_slot *s, uint64_t odd_seq)
{
    __atomic_store_n(&s->seq, odd_seq + 1, __ATOMIC_RELEASE);
}

static void
slot_store(int idx, const void *frame_obj, const struct pyscope_label_data *d)
{
    struct pyscope_slot *s = &pyscope_labels.slots[idx];
    size_t where_len = strnlen(d->where, sizeof s->where - 1);
    uint64_t seq = write_begin(s);

    s->frame_obj = (uint64_t)(uintptr_t)frame_obj;
    s->tid = pyscope_thread_id();
    s->len = d->len;
    s->flags = d->flags;
    memcpy(s->where, d->where, where_len);
    s->where[where_len] = '\0';
    memcpy(s->text, d->text, d->len);
    s->text[d->len] = '\0';
    write_end(s, seq);
    dead_sweeps[idx] = 0;
}

int
pyscope_table_find(const void *frame_obj)
{
    uint64_t key = (uint64_t)(uintptr_t)frame_obj;
    unsigned int home = home_slot(frame_obj);

    for (unsigned int i = 0; i < PYSCOPE_PROBES; i++) {
        int idx = (int)((home + i) & SLOT_MASK);
        if (pyscope_labels.slots[idx].frame_obj == key) {
            return idx;
        }
    }
    return -1;
}

static PyFrameObject *
slot_frame(int idx)
{
    return (PyFrameObject *)(uintptr_t)pyscope_labels.slots[idx].frame_obj;
}

int
pyscope_table_paint(PyFrameObject *f, const struct pyscope_label_data *d,
                    int count_paint, struct pyscope_label_data *previous)
{
    uint64_t key = (uint64_t)(uintptr_t)f;
    unsigned int home = home_slot(f);
    int free_idx = -1;
    int replaced = 0;
    PyFrameObject *reclaimed = NULL;

    /* The whole probe window, even past a free slot: freeing leaves holes,
       so f may sit further on. */
    for (unsigned int i = 0; i < PYSCOPE_PROBES; i++) {
        int idx = (int)((home + i) & SLOT_MASK);
        uint64_t owner = pyscope_labels.slots[idx].frame_obj;
        if (owner == key) {
            if (previous != NULL) {
                pyscope_table_read(idx, previous);
            }
            slot_store(idx, f, d);
            replaced = 1;
            goto painted;
        }
        if (owner == 0 && free_idx < 0) {
            free_idx = idx;
        }
    }
    if (free_idx < 0) {
        /* No free slot: take one whose frame has finished. */
        for (unsigned int i = 0; i < PYSCOPE_PROBES; i++) {
            int idx = (int)((home + i) & SLOT_MASK);
            if (!pyscope_frame_is_live(slot_frame(idx))) {
                free_idx = idx;
                reclaimed = slot_frame(idx);
                slots_used--;
                break;
            }
        }
    }
    if (free_idx < 0) {
        pyscope_labels.overflow++;
        return -1;
    }
    /* One store replaces a reclaimed slot's frame: a reader sees the old
       paint or the new one, never a mix. */
    Py_INCREF(f);
    slot_store(free_idx, f, d);
    slots_used++;
painted:
    if (count_paint) {
        pyscope_labels.paints++;
        if (d->flags & PYSCOPE_FLAG_TRUNCATED) {
            pyscope_labels.truncated++;
        }
    }
    /* Last: the finished frame's locals may run code as they die. */
    Py_XDECREF(reclaimed);
    return replaced;
}

void
pyscope_table_read(int idx, struct pyscope_label_data *d)
{
    const struct pyscope_slot *s = &pyscope_labels.slots[idx];

    d->len = s->len;
    d->flags = s->flags;
    memcpy(d->where, s->where, sizeof d->where);
    memcpy(d->text, s->text, s->len + 1);
}

void
pyscope_table_free(int idx)
{
    struct pyscope_slot *s = &pyscope_labels.slots[idx];
    PyFrameObject *f = slot_frame(idx);

    if (f == NULL) {
        return;
    }
    uint64_t seq = write_begin(s);
    s->frame_obj = 0;
    s->text[0] = '\0';
    s->len = 0;
    s->where[0] = '\0';
    write_end(s, seq);
    slots_used--;
    Py_DECREF(f);
}

void
pyscope_table_sweep(unsigned int n)
{
    for (unsigned int k = 0; k < n; k++) {
        int idx = (int)(sweep_cursor++ & SLOT_MASK);
        PyFrameObject *f = slot_frame(idx);
        if (f == NULL || pyscope_frame_is_live(f)) {
            continue;
        }
        if (Py_REFCNT(f) > 1 && ++dead_sweeps[idx] < DEAD_SWEEPS_KEPT) {
            continue;
        }
        /* May run code that paints or sweeps: the loop re-reads the table
           each time round, so that is harmless. */
        pyscope_table_free(idx);
    }
}

void
pyscope_table_after_fork(uint64_t parent_tid, uint64_t child_tid)
{
    for (int idx = 0; idx < PYSCOPE_SLOTS; idx++) {
        struct pyscope_slot *s = &pyscope_labels.slots[idx];
        if (s->frame_obj == 0) {
            continue;
        }
        if (s->tid == parent_tid) {
            uint64_t seq = write_begin(s);
            s->tid = child_tid;
            write_end(s, seq);
        }
        else {
            /* Painted by a thread that does not exist here.  Its frames
               never run again, and their memory may be gone with its
               stack: do not even look at them, just let go (the dead
               frame still holds its own reference, so this frees nothing
               it points to).  A generator it painted loses its label. */
            pyscope_table_free(idx);
        }
    }
}

Py_ssize_t
pyscope_table_used(void)
{
    return slots_used;
}
