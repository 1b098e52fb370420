/* dump.c - every thread's stack, once, read from user space.
 *
 * Why not SystemTap: in a hung service every thread is blocked in the
 * kernel, so no probe ever fires in its context, and a probe cannot read
 * another process's memory (only current->mm, without sleeping).  So this
 * reads the process from here, as root, without stopping it:
 * /proc/PID/mem for the interpreter's structures (the walk of
 * tapsets/python_walk.stp, ported: pywalk.c, pycode.c),
 * /proc/PID/task/TID/comm for thread names, and /proc/PID/task/TID/syscall
 * for a blocked thread's stack pointer and pc (native.c unwinds from
 * them).  A thread on a CPU ("running") gets its Python frames and a
 * marker: its native stack changes under the reader. */
#include "dump.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elfinfo.h"
#include "labels.h"
#include "loadbase.h"
#include "native.h"
#include "pycode.h"
#include "pywalk.h"

#define MAX_PY_THREADS 4096
#define NAME_SIZE (4 * PYSCOPE_MAX_NAME + 3)

/* the process's label table (labels.h), 0: none; set once a dump */
static uint64_t label_table;

static bool
add_frame(DumpThread *th, FrameKind kind, const char *name, const char *file,
          long line, uint64_t pc, const char *label)
{
    DumpFrame *f;

    if (th->count == th->cap) {
        size_t cap = th->cap ? 2 * th->cap : 32;
        DumpFrame *n = realloc(th->frames, cap * sizeof(*n));

        if (n == NULL) {
            return false;
        }
        th->frames = n;
        th->cap = cap;
    }
    f = &th->frames[th->count];
    f->kind = kind;
    f->name = strdup(name);
    f->file = strdup(file != NULL ? file : "");
    f->line = line;
    f->pc = pc;
    f->label = label != NULL && label[0] != '\0' ? strdup(label) : NULL;
    if (f->name == NULL || f->file == NULL) {
        free(f->name);
        free(f->file);
        free(f->label);
        return false;
    }
    th->count++;
    return true;
}

static void
add_marker(DumpThread *th, const char *what)
{
    (void)add_frame(th, FRAME_MARKER, what, NULL, -1, 0, NULL);
}

/* One Python frame (at address at): python_frame.stp's py_frame_name (a
   frame whose names or line table cannot be read is "[unreadable
   frame]"), and its label. */
static void
add_python(const DumpLayout *L, const Target *t, DumpThread *th,
           const PyFrame *fr, uint64_t at)
{
    char qualname[NAME_SIZE], filename[NAME_SIZE], label[PYSCOPE_TEXT_SIZE];
    long line;

    if (!py_code_qualname(L, t, fr->code, qualname, sizeof(qualname))
        || !py_code_filename(L, t, fr->code, filename, sizeof(filename))
        || (line = py_code_line(L, t, fr->code, fr->lasti)) == -2) {
        add_marker(th, "[unreadable frame]");
        return;
    }
    (void)labels_of_frame(L, t, label_table, at, label, sizeof(label));
    (void)add_frame(th, FRAME_PYTHON, qualname, filename, line, 0, label);
}

/* The walk's end as a marker (python_walk.stp's: truncated, unreadable). */
static void
add_walk_end(DumpThread *th, const PyWalk *w)
{
    if (w->end == WALK_TRUNCATED) {
        add_marker(th, "[truncated]");
    }
    else if (w->end == WALK_UNREADABLE) {
        add_marker(th, "[unreadable frame]");
    }
}

/* Python frames only, innermost first. */
static void
python_only(const DumpLayout *L, const Target *t, DumpThread *th, uint64_t ts)
{
    PyWalk w;
    PyFrame fr;

    pywalk_start(L, t, &w, py_current_frame(L, t, ts), PYSCOPE_MAX_FRAMES,
                 PYSCOPE_MAX_WALK);
    while (pywalk_next(L, t, &w, &fr)) {
        if (fr.complete) {
            add_python(L, t, th, &fr, w.at);
        }
    }
    add_walk_end(th, &w);
}

static void
add_native(DumpThread *th, const NativeFrame *nf)
{
    char name[300];

    if (nf->symbol[0] != '\0') {
        snprintf(name, sizeof(name), "%s", nf->symbol);
    }
    else {
        snprintf(name, sizeof(name), "0x%llx", (unsigned long long)nf->pc);
    }
    (void)add_frame(th, FRAME_NATIVE, name, nf->module, -1, nf->pc, NULL);
}

/* Native and Python frames as one stack, tapsets/merged_stack.stp's way:
   each native frame of _PyEval_EvalFrameDefault is replaced by the Python
   frames that interpreter call runs, from the current one outwards up to
   and including its entry frame; Python frames left when the native
   frames end follow a "[python-unmatched]" marker. */
static void
merged(const DumpLayout *L, const Target *t, DumpThread *th, uint64_t ts,
       const NativeFrame *nf, int nn)
{
    PyWalk w;
    PyFrame fr;
    bool stop = false;

    pywalk_start(L, t, &w, ts ? py_current_frame(L, t, ts) : 0,
                 PYSCOPE_MAX_FRAMES, PYSCOPE_MAX_WALK);
    for (int i = 0; i < nn && !stop; i++) {
        if (!nf[i].eval || w.end != WALK_ON || w.next == 0) {
            add_native(th, &nf[i]);
            continue;
        }
        while (pywalk_next(L, t, &w, &fr)) {
            if (fr.complete) {
                add_python(L, t, th, &fr, w.at);
            }
            if (fr.entry) {
                break;
            }
        }
        if (w.end == WALK_TRUNCATED || w.end == WALK_UNREADABLE) {
            add_walk_end(th, &w);
            stop = w.end == WALK_TRUNCATED;
            w.end = WALK_DONE;          /* no Python frames left */
        }
    }
    if (!stop && w.end == WALK_ON && w.next != 0) {
        add_marker(th, "[python-unmatched]");
        while (pywalk_next(L, t, &w, &fr)) {
            if (fr.complete) {
                add_python(L, t, th, &fr, w.at);
            }
        }
        add_walk_end(th, &w);
    }
}

static void
read_line_file(const char *path, char *out, size_t size)
{
    FILE *f = fopen(path, "r");

    out[0] = '\0';
    if (f == NULL) {
        return;
    }
    if (fgets(out, (int)size, f) == NULL) {
        out[0] = '\0';
    }
    out[strcspn(out, "\n")] = '\0';
    fclose(f);
}

static int
cmp_tid(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;

    return (x > y) - (x < y);
}

/* The process's threads, sorted: their number, or -1. */
static long
list_tasks(pid_t pid, long **out)
{
    char path[64];
    DIR *dir;
    struct dirent *e;
    long *tids = NULL, n = 0, cap = 0;

    snprintf(path, sizeof(path), "/proc/%ld/task", (long)pid);
    dir = opendir(path);
    if (dir == NULL) {
        return -1;
    }
    while ((e = readdir(dir)) != NULL) {
        char *end;
        long tid = strtol(e->d_name, &end, 10);

        if (*end != '\0' || tid <= 0) {
            continue;
        }
        if (n == cap) {
            long *nt;

            cap = cap ? 2 * cap : 64;
            nt = realloc(tids, (size_t)cap * sizeof(*nt));
            if (nt == NULL) {
                break;
            }
            tids = nt;
        }
        tids[n++] = tid;
    }
    closedir(dir);
    qsort(tids, (size_t)n, sizeof(*tids), cmp_tid);
    *out = tids;
    return n;
}

/* Where _PyRuntime is in the process: its ELF address plus the load
   base of the file (3.8-3.9 keep it in .bss: loadbase.h). */
static bool
runtime_address(const DumpOptions *o, const DumpLayout *L, uint64_t *addr,
                char *error, size_t error_size)
{
    ElfInfo ei;
    const char *why = NULL;
    unsigned long long base = 0;
    char msg[512];

    if (elfinfo_open(&ei, o->elf_path, &why) != 0) {
        snprintf(error, error_size, "%s: %s", o->elf_path, why);
        return false;
    }
    if (!load_base(&ei, o->pid, &base, msg, sizeof(msg))) {
        snprintf(error, error_size, "cannot find _PyRuntime: %s", msg);
        elfinfo_close(&ei);
        return false;
    }
    elfinfo_close(&ei);
    *addr = (L->elf_exec == 1 ? 0 : base) + (uint64_t)L->sym_runtime;
    return true;
}

/* "NR ARGS... SP PC" of a blocked thread: 1 and sp, pc; 0 running;
   -1 unreadable. */
static int
thread_regs(pid_t pid, long tid, uint64_t *sp, uint64_t *pc)
{
    char path[96], line[512], *tok, *save = NULL, *words[16];
    int n = 0;

    snprintf(path, sizeof(path), "/proc/%ld/task/%ld/syscall", (long)pid, tid);
    read_line_file(path, line, sizeof(line));
    if (strncmp(line, "running", 7) == 0) {
        return 0;
    }
    for (tok = strtok_r(line, " ", &save); tok != NULL && n < 16;
         tok = strtok_r(NULL, " ", &save)) {
        words[n++] = tok;
    }
    /* "NR A1..A6 SP PC" in a system call, "-1 SP PC" blocked outside one */
    if (n != 9 && n != 3) {
        return -1;
    }
    *sp = strtoull(words[n - 2], NULL, 0);
    *pc = strtoull(words[n - 1], NULL, 0);
    return *sp != 0 && *pc != 0 ? 1 : -1;
}

bool
dump_collect(const DumpOptions *o, Dump *d, char *error, size_t error_size)
{
    DumpLayout L;
    Target t;
    uint64_t runtime;
    PyThread *py = NULL;
    long npy, ntasks, *tids = NULL;
    int64_t holder = -1;
    NativeProc *np = NULL;
    NativeFrame *nf = NULL;
    char path[96], nerr[256];
    bool ok = false;

    memset(d, 0, sizeof(*d));
    d->pid = o->pid;
    if (!layout_read(o->layout_path, &L, error, error_size)) {
        return false;
    }
    snprintf(d->python, sizeof(d->python), "%s", L.title);
    snprintf(path, sizeof(path), "/proc/%ld/comm", (long)o->pid);
    read_line_file(path, d->comm, sizeof(d->comm));
    if (!mem_open(&t, o->pid, error, error_size)) {
        return false;
    }
    if (!runtime_address(o, &L, &runtime, error, error_size)) {
        goto out;
    }
    py = calloc(MAX_PY_THREADS, sizeof(*py));
    if (py == NULL) {
        snprintf(error, error_size, "out of memory");
        goto out;
    }
    npy = py_threads(&L, &t, runtime, py, MAX_PY_THREADS);
    if (npy < 0) {
        snprintf(error, error_size, "cannot read the interpreter's thread "
                 "states at _PyRuntime 0x%llx of process %ld",
                 (unsigned long long)runtime, (long)o->pid);
        goto out;
    }
    if (npy > 0) {
        holder = py_gil_holder(&L, &t, runtime, py[0].interp);
    }
    d->gil_known = holder >= 0;
    label_table = labels_table(&t);
    ntasks = list_tasks(o->pid, &tids);
    if (ntasks < 0) {
        snprintf(error, error_size, "no process with PID %ld", (long)o->pid);
        goto out;
    }
    if (o->native) {
        np = native_open(o->pid, nerr, sizeof(nerr));
        nf = calloc(PYSCOPE_MAX_NATIVE, sizeof(*nf));
    }
    d->threads = calloc((size_t)ntasks + 1, sizeof(*d->threads));
    if (d->threads == NULL) {
        snprintf(error, error_size, "out of memory");
        goto out;
    }
    for (long i = 0; i < ntasks; i++) {
        DumpThread *th = &d->threads[d->count++];
        uint64_t ts = 0, sp = 0, pc = 0;
        int regs = -1, nn = -1;

        th->tid = tids[i];
        snprintf(path, sizeof(path), "/proc/%ld/task/%ld/comm", (long)o->pid,
                 tids[i]);
        read_line_file(path, th->name, sizeof(th->name));
        for (long j = 0; j < npy; j++) {
            if (py[j].tid == tids[i]) {
                ts = py[j].tstate;
                break;
            }
        }
        th->python = ts != 0;
        th->gil = holder < 0 ? -1 : (ts != 0 && (uint64_t)holder == ts);
        if (o->native || ts != 0) {
            regs = thread_regs(o->pid, tids[i], &sp, &pc);
        }
        th->running = regs == 0;
        if (o->native && regs == 1 && np != NULL && nf != NULL) {
            nn = native_unwind(np, (pid_t)tids[i], sp, pc, nf,
                               PYSCOPE_MAX_NATIVE, nerr, sizeof(nerr));
        }
        if (nn > 0) {
            merged(&L, &t, th, ts, nf, nn);
            continue;
        }
        if (o->native) {
            snprintf(th->note, sizeof(th->note), "%s",
                     regs == 0 ? "[running: native frames need the thread "
                                 "stopped]"
                     : regs < 0 ? "[no native frames: the thread's registers "
                                  "cannot be read]"
                     : np == NULL ? "[no native frames: the modules cannot "
                                    "be read]"
                                  : "[no native frames: the unwind found "
                                    "none]");
        }
        /* (the native part would be innermost: the note goes first) */
        if (th->note[0] != '\0') {
            add_marker(th, th->note);
        }
        if (ts != 0) {
            python_only(&L, &t, th, ts);
        }
    }
    ok = true;
out:
    free(nf);
    native_close(np);
    free(tids);
    free(py);
    mem_close(&t);
    return ok;
}

void
dump_free(Dump *d)
{
    for (size_t i = 0; i < d->count; i++) {
        for (size_t j = 0; j < d->threads[i].count; j++) {
            free(d->threads[i].frames[j].name);
            free(d->threads[i].frames[j].file);
            free(d->threads[i].frames[j].label);
        }
        free(d->threads[i].frames);
    }
    free(d->threads);
    memset(d, 0, sizeof(*d));
}

void
dump_frame_text(const DumpFrame *f, char *out, size_t out_size)
{
    if (f->kind == FRAME_PYTHON && f->line >= 0) {
        snprintf(out, out_size, "%s (%s:%ld)%s%s%s", f->name, f->file,
                 f->line, f->label ? " [label: " : "",
                 f->label ? f->label : "", f->label ? "]" : "");
    }
    else if (f->kind == FRAME_PYTHON) {
        snprintf(out, out_size, "%s (%s)%s%s%s", f->name, f->file,
                 f->label ? " [label: " : "", f->label ? f->label : "",
                 f->label ? "]" : "");
    }
    else if (f->kind == FRAME_NATIVE) {
        snprintf(out, out_size, "%s (native%s%s)", f->name,
                 f->file[0] ? ", " : "", f->file);
    }
    else {
        snprintf(out, out_size, "%s", f->name);
    }
}
