/* native.c - unwinding a blocked thread with libdw, from user space. */
#include "native.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <elfutils/libdwfl.h>

/* x86-64 DWARF register numbers */
#define DWARF_RSP 7

struct NativeProc {
    Dwfl *dwfl;
    pid_t pid;
    int mem_fd;
    bool attached;
    /* the thread being unwound */
    pid_t tid;
    uint64_t sp, pc;
    /* its frames */
    NativeFrame *out;
    int max, count;
};

static char *debuginfo_path = NULL;

static const Dwfl_Callbacks proc_callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .debuginfo_path = &debuginfo_path,
};

/* (dwfl_getthread_frames asks get_thread; nothing iterates) */
static pid_t
next_thread(Dwfl *dwfl, void *dwfl_arg, void **thread_argp)
{
    (void)dwfl;
    (void)dwfl_arg;
    (void)thread_argp;
    return 0;
}

static bool
get_thread(Dwfl *dwfl, pid_t tid, void *dwfl_arg, void **thread_argp)
{
    NativeProc *np = dwfl_arg;

    (void)dwfl;
    *thread_argp = np;
    return tid == np->tid;
}

static bool
memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *dwfl_arg)
{
    NativeProc *np = dwfl_arg;
    uint64_t v;

    (void)dwfl;
    if (pread(np->mem_fd, &v, sizeof(v), (off_t)addr) != (ssize_t)sizeof(v)) {
        return false;
    }
    *result = v;
    return true;
}

static bool
set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
    NativeProc *np = thread_arg;
    Dwarf_Word sp = np->sp;

    dwfl_thread_state_register_pc(thread, np->pc);
    return dwfl_thread_state_registers(thread, DWARF_RSP, 1, &sp);
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
    .next_thread = next_thread,
    .get_thread = get_thread,
    .memory_read = memory_read,
    .set_initial_registers = set_initial_registers,
};

NativeProc *
native_open(pid_t pid, char *error, size_t error_size)
{
    NativeProc *np = calloc(1, sizeof(*np));
    char path[64];

    if (np == NULL) {
        snprintf(error, error_size, "out of memory");
        return NULL;
    }
    np->pid = pid;
    snprintf(path, sizeof(path), "/proc/%ld/mem", (long)pid);
    np->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
    np->dwfl = dwfl_begin(&proc_callbacks);
    if (np->mem_fd < 0 || np->dwfl == NULL) {
        snprintf(error, error_size, "cannot read process %ld: %s", (long)pid,
                 np->mem_fd < 0 ? strerror(errno) : dwfl_errmsg(-1));
        native_close(np);
        return NULL;
    }
    if (dwfl_linux_proc_report(np->dwfl, pid) != 0
        || dwfl_report_end(np->dwfl, NULL, NULL) != 0) {
        snprintf(error, error_size, "cannot read the modules of process "
                 "%ld: %s", (long)pid, dwfl_errmsg(-1));
        native_close(np);
        return NULL;
    }
    return np;
}

void
native_close(NativeProc *np)
{
    if (np == NULL) {
        return;
    }
    if (np->dwfl != NULL) {
        dwfl_end(np->dwfl);
    }
    if (np->mem_fd >= 0) {
        close(np->mem_fd);
    }
    free(np);
}

static void
symbolize(NativeProc *np, Dwarf_Addr pc, bool activation, NativeFrame *f)
{
    /* a return address names the call's function: look up pc - 1 */
    Dwarf_Addr at = activation ? pc : pc - 1;
    Dwfl_Module *mod = dwfl_addrmodule(np->dwfl, at);
    const char *name = NULL, *file;

    f->pc = pc;
    f->symbol[0] = f->module[0] = '\0';
    f->eval = false;
    if (mod == NULL) {
        return;
    }
    name = dwfl_module_addrname(mod, at);
    if (dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &file, NULL)
        != NULL && file != NULL) {
        const char *slash = strrchr(file, '/');
        snprintf(f->module, sizeof(f->module), "%s", slash ? slash + 1 : file);
    }
    else {
        const char *m = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL,
                                         NULL, NULL);
        const char *slash = m ? strrchr(m, '/') : NULL;
        snprintf(f->module, sizeof(f->module), "%s",
                 slash ? slash + 1 : (m ? m : ""));
    }
    if (name != NULL) {
        snprintf(f->symbol, sizeof(f->symbol), "%s", name);
        /* merged_stack.stp's __pc_is_eval */
        f->eval = strcmp(name, "_PyEval_EvalFrameDefault") == 0
                  || strncmp(name, "_PyEval_EvalFrameDefault.", 25) == 0;
    }
}

static int
frame_cb(Dwfl_Frame *state, void *arg)
{
    NativeProc *np = arg;
    Dwarf_Addr pc;
    bool activation;

    if (np->count >= np->max || !dwfl_frame_pc(state, &pc, &activation)) {
        return DWARF_CB_ABORT;
    }
    if (pc == 0) {
        return DWARF_CB_ABORT;
    }
    symbolize(np, pc, activation, &np->out[np->count++]);
    return DWARF_CB_OK;
}

int
native_unwind(NativeProc *np, pid_t tid, uint64_t sp, uint64_t pc,
              NativeFrame *out, int max, char *error, size_t error_size)
{
    if (!np->attached) {
        if (!dwfl_attach_state(np->dwfl, NULL, np->pid, &thread_callbacks,
                               np)) {
            snprintf(error, error_size, "cannot unwind process %ld: %s",
                     (long)np->pid, dwfl_errmsg(-1));
            return -1;
        }
        np->attached = true;
    }
    np->tid = tid;
    np->sp = sp;
    np->pc = pc;
    np->out = out;
    np->max = max;
    np->count = 0;
    /* an unwind that stops early (no CFI, an unreadable word, the end of
       the stack) keeps the frames it found */
    (void)dwfl_getthread_frames(np->dwfl, tid, frame_cb, np);
    if (np->count == 0) {
        snprintf(error, error_size, "no frame: %s", dwfl_errmsg(-1));
        return -1;
    }
    return np->count;
}
