/* mem.h - reading another process's memory from user space, without
   stopping it: /proc/PID/mem (pread), as root.  A hung service's threads
   are all blocked in the kernel, where no SystemTap probe fires in their
   context, and a probe reads only the current process's memory: so the
   dump reads the process from here. */
#ifndef PYSCOPE_DUMP_MEM_H
#define PYSCOPE_DUMP_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct {
    pid_t pid;
    int fd;             /* /proc/PID/mem */
} Target;

/* Open pid's memory.  False, with a message in error, when it cannot. */
bool mem_open(Target *t, pid_t pid, char *error, size_t error_size);
void mem_close(Target *t);

/* All size bytes at addr into buf, or false (nothing is ever faulted in
   the target: a page it has not got reads as an error). */
bool mem_read(const Target *t, uint64_t addr, void *buf, size_t size);

/* The size-byte (1, 2, 4 or 8) little-endian unsigned field at addr into
   *v (0 when it cannot be read): python_walk.stp's pyscope_uget. */
bool mem_get(const Target *t, uint64_t addr, uint64_t *v, int size);

#endif
