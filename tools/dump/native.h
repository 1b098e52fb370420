/* native.h - a blocked thread's native (C) frames, unwound from user
   space with elfutils' libdw without stopping the thread: its stack
   pointer and pc come from /proc/PID/task/TID/syscall (a thread blocked
   in a system call stays where it is while its stack is read), the
   stack from /proc/PID/mem, the modules from /proc/PID/maps
   (dwfl_linux_proc_report) and their debuginfo from the build-id under
   /usr/lib/debug, as Debian installs it. */
#ifndef PYSCOPE_DUMP_NATIVE_H
#define PYSCOPE_DUMP_NATIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PYSCOPE_MAX_NATIVE 256

typedef struct {
    uint64_t pc;
    char symbol[256];   /* "" when unknown */
    char module[256];   /* the module's file name, "" when unknown */
    bool eval;          /* in _PyEval_EvalFrameDefault */
} NativeFrame;

typedef struct NativeProc NativeProc;

/* The modules of process pid, once for all its threads; NULL with a
   message in error. */
NativeProc *native_open(pid_t pid, char *error, size_t error_size);
void native_close(NativeProc *np);

/* The frames of thread tid, innermost first, from its sp and pc: their
   number (at most max), or -1 with a message in error. */
int native_unwind(NativeProc *np, pid_t tid, uint64_t sp, uint64_t pc,
                  NativeFrame *out, int max, char *error, size_t error_size);

#endif
