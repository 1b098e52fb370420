/* dump.h - one look at every thread of a process: what each runs now. */
#ifndef PYSCOPE_DUMP_DUMP_H
#define PYSCOPE_DUMP_DUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "layout.h"
#include "mem.h"

typedef enum {
    FRAME_PYTHON, FRAME_NATIVE, FRAME_MARKER
} FrameKind;

typedef struct {
    FrameKind kind;
    char *name;         /* qualname, symbol ("" unknown), or the marker */
    char *file;         /* Python: co_filename; native: the module */
    long line;          /* Python: -1 none; native: unused */
    uint64_t pc;        /* native */
    char *label;        /* Python: its pyscope label, NULL none */
} DumpFrame;

typedef struct {
    long tid;
    char name[64];      /* /proc/PID/task/TID/comm */
    int python;         /* 1: has a Python thread state */
    int gil;            /* 1 holds the GIL, 0 not, -1 unknown */
    int running;        /* 1: on a CPU, no native frames */
    char note[256];     /* why no native frames, "" */
    DumpFrame *frames;
    size_t count, cap;
} DumpThread;

typedef struct {
    pid_t pid;
    char comm[64];
    char python[512];   /* "CPython 3.X.Y (FILE)" */
    DumpThread *threads;
    size_t count;
    int gil_known;      /* 0: the layout says nothing of the GIL */
} Dump;

typedef struct {
    pid_t pid;
    const char *layout_path;
    const char *elf_path;       /* the interpreter's ELF file, as read here */
    bool native;
} DumpOptions;

/* Look at the process.  False, with a message in error (one line). */
bool dump_collect(const DumpOptions *o, Dump *d, char *error,
                  size_t error_size);
void dump_free(Dump *d);

/* The frame as a line of text ("qualname (file:line)", ...). */
void dump_frame_text(const DumpFrame *f, char *out, size_t out_size);

#endif
