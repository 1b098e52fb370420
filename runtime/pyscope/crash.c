/*
 * crash.c - the fatal-signal report (see crash.h).
 *
 * The handler runs after a crash, possibly with the heap or the GIL in any
 * state, so it only reads memory and calls write(2), sigaction(2),
 * gettid(2) and raise(3): no malloc, no stdio, no Python API beyond
 * PyGILState_GetThisThreadState() (a thread-specific-storage read, which
 * faulthandler's handler relies on too).  It finds the labels the way an
 * outside reader does: it walks this thread's running frames and looks
 * each frame object up in the table.
 */
#include <Python.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "crash.h"
#include "frames.h"
#include "table.h"
#include "text.h"

static const int fatal_signals[] = {SIGSEGV, SIGABRT, SIGFPE, SIGBUS};
#define N_FATAL_SIGNALS ((int)(sizeof fatal_signals / sizeof fatal_signals[0]))

static struct sigaction previous[N_FATAL_SIGNALS];
static int installed;

/* Our alternate stack, if the thread had none: a stack overflow cannot run
   a handler on the overflowed stack. */
static void *alt_stack;
#define ALT_STACK_SIZE (64 * 1024)

/* How far the report looks, and how many labels it prints at most. */
#define MAX_DEPTH 10000
#define MAX_LABELS 64

static void
put(const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return;
        }
        s += w;
        n -= (size_t)w;
    }
}

static void
put_str(const char *s)
{
    put(s, strlen(s));
}

static void
put_int(long v)
{
    char buf[24];
    char *p = buf + sizeof buf;
    unsigned long u = v < 0 ? -(unsigned long)v : (unsigned long)v;

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0) {
        *--p = '-';
    }
    put(p, (size_t)(buf + sizeof buf - p));
}

/* Text from the table, with control characters as \xNN: a label must not
   be able to forge lines of the report or drive the terminal. */
static void
put_escaped(const char *s)
{
    static const char hex[] = "0123456789abcdef";
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f) {
            char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
            put(esc, sizeof esc);
        }
        else {
            put(s, 1);
        }
    }
}

/* One report line for slot idx, read under its seqlock (another thread
   may be writing it if this one crashed without the GIL). */
static void
put_slot(int idx, const void *frame_obj)
{
    const struct pyscope_slot *s = &pyscope_labels.slots[idx];
    char text[PYSCOPE_TEXT_SIZE];
    char where[PYSCOPE_WHERE_SIZE];
    uint64_t seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);

    if ((seq & 1) == 0) {
        pyscope_utf8_copy(text, sizeof text, s->text,
                          strnlen(s->text, sizeof s->text - 1));
        pyscope_utf8_copy(where, sizeof where, s->where,
                          strnlen(s->where, sizeof s->where - 1));
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) == seq
            && s->frame_obj == (uint64_t)(uintptr_t)frame_obj)
        {
            put_str("  ");
            put_escaped(text);
            put_str("  in ");
            put_escaped(where);
            put_str("\n");
            return;
        }
    }
    put_str("  (a label being rewritten)\n");
}

struct found {
    int slots[MAX_LABELS];
    const void *frames[MAX_LABELS];
    int n;          /* kept, innermost first */
    int missed;     /* painted frames further out, not kept */
};

static int
collect(const PyFrameObject *f, void *arg)
{
    struct found *found = arg;
    int idx = pyscope_table_find(f);

    if (idx >= 0) {
        if (found->n < MAX_LABELS) {
            found->slots[found->n] = idx;
            found->frames[found->n] = f;
            found->n++;
        }
        else {
            found->missed++;
        }
    }
    return 0;
}

/* Without a thread state (a thread Python does not know), there is no
   frame chain: list the live paints this thread made, in table order. */
static void
report_by_tid(void)
{
    uint64_t tid = (uint64_t)syscall(SYS_gettid);
    int any = 0;

    put_str("  (no Python thread state; in table order)\n");
    for (int idx = 0; idx < PYSCOPE_SLOTS; idx++) {
        const struct pyscope_slot *s = &pyscope_labels.slots[idx];
        const PyFrameObject *f =
            (const PyFrameObject *)(uintptr_t)s->frame_obj;
        if (f != NULL && s->tid == tid && pyscope_frame_is_live(f)) {
            put_slot(idx, f);
            any = 1;
        }
    }
    if (!any) {
        put_str("  (none)\n");
    }
}

static void
report(int signum)
{
    put_str("pyscope: fatal signal ");
    put_int(signum);
    put_str("; labels on this thread (outermost first):\n");

    /* What faulthandler uses too: the thread-specific state of the thread
       that faulted, whether or not it holds the GIL. */
    PyThreadState *tstate = PyGILState_GetThisThreadState();
    if (tstate == NULL) {
        report_by_tid();
        return;
    }
    struct found found;
    found.n = 0;
    found.missed = 0;
    pyscope_walk_frames(tstate, MAX_DEPTH, collect, &found);
    if (found.missed > 0) {
        put_str("  (");
        put_int(found.missed);
        put_str(" outer labels not shown)\n");
    }
    for (int i = found.n - 1; i >= 0; i--) {
        put_slot(found.slots[i], found.frames[i]);
    }
    if (found.n == 0) {
        put_str("  (none)\n");
    }
}

static int
signal_index(int signum)
{
    for (int i = 0; i < N_FATAL_SIGNALS; i++) {
        if (fatal_signals[i] == signum) {
            return i;
        }
    }
    return -1;
}

/* Put back the handler ours replaced (faulthandler's, which prints the
   Python stack). */
static void
restore_previous(int signum)
{
    int i = signal_index(signum);

    if (i < 0) {
        signal(signum, SIG_DFL);
        return;
    }
    struct sigaction prev = previous[i];
    /* An ignored fatal signal would fault again for ever: default it. */
    if (!(prev.sa_flags & SA_SIGINFO) && prev.sa_handler == SIG_IGN) {
        prev.sa_handler = SIG_DFL;
    }
    sigaction(signum, &prev, NULL);
}

static void
crash_handler(int signum, siginfo_t *info, void *context)
{
    int saved_errno = errno;

    (void)info;
    (void)context;
    /* First hand over: if reading the frames faults (memory the crash
       damaged), that fault reaches the previous handler (we run with
       SA_NODEFER) instead of killing the process unreported. */
    restore_previous(signum);
    report(signum);
    /* Chain: the previous handler gets the signal now; a hardware fault
       would come back anyway when we return. */
    raise(signum);
    errno = saved_errno;
}

static int
ensure_alt_stack(void)
{
    stack_t current;

    if (sigaltstack(NULL, &current) < 0) {
        return -1;
    }
    if (!(current.ss_flags & SS_DISABLE)) {
        return 0;   /* the thread has one (faulthandler's, say) */
    }
    stack_t ours;
    ours.ss_size = ALT_STACK_SIZE + SIGSTKSZ;
    ours.ss_sp = malloc(ours.ss_size);
    ours.ss_flags = 0;
    if (ours.ss_sp == NULL) {
        errno = ENOMEM;
        return -1;
    }
    if (sigaltstack(&ours, NULL) < 0) {
        free(ours.ss_sp);
        return -1;
    }
    alt_stack = ours.ss_sp;
    return 0;
}

static void
drop_alt_stack(void)
{
    stack_t current;

    if (alt_stack == NULL || sigaltstack(NULL, &current) < 0) {
        return;
    }
    /* Only if it is still ours (and we are not running on it); if another
       thread installed us, ours stays with that thread: keep it. */
    if (current.ss_sp == alt_stack && !(current.ss_flags & SS_ONSTACK)) {
        stack_t off;
        memset(&off, 0, sizeof off);
        off.ss_flags = SS_DISABLE;
        if (sigaltstack(&off, NULL) == 0) {
            free(alt_stack);
            alt_stack = NULL;
        }
    }
}

int
pyscope_crash_install(void)
{
    struct sigaction action;

    if (installed) {
        return 0;
    }
    if (ensure_alt_stack() < 0) {
        return -1;
    }
    memset(&action, 0, sizeof action);
    action.sa_sigaction = crash_handler;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    for (int i = 0; i < N_FATAL_SIGNALS; i++) {
        if (sigaction(fatal_signals[i], &action, &previous[i]) < 0) {
            int saved_errno = errno;
            while (--i >= 0) {
                sigaction(fatal_signals[i], &previous[i], NULL);
            }
            errno = saved_errno;
            return -1;
        }
    }
    installed = 1;
    return 0;
}

int
pyscope_crash_uninstall(void)
{
    if (!installed) {
        return 0;
    }
    for (int i = 0; i < N_FATAL_SIGNALS; i++) {
        struct sigaction current;
        if (sigaction(fatal_signals[i], NULL, &current) < 0) {
            return -1;
        }
        /* Someone installed a handler over ours: it may chain to ours,
           so leave both in place. */
        if ((current.sa_flags & SA_SIGINFO)
            && current.sa_sigaction == crash_handler)
        {
            if (sigaction(fatal_signals[i], &previous[i], NULL) < 0) {
                return -1;
            }
        }
    }
    drop_alt_stack();
    installed = 0;
    return 0;
}
