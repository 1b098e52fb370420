/* mem.c - another process's memory through /proc/PID/mem. */
#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

bool
mem_open(Target *t, pid_t pid, char *error, size_t error_size)
{
    char path[64];

    snprintf(path, sizeof(path), "/proc/%ld/mem", (long)pid);
    t->pid = pid;
    t->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (t->fd < 0) {
        if (errno == ENOENT) {
            snprintf(error, error_size, "no process with PID %ld", (long)pid);
        }
        else {
            snprintf(error, error_size, "cannot read %s: %s%s", path,
                     strerror(errno), errno == EACCES || errno == EPERM
                     ? " (not root?)" : "");
        }
        return false;
    }
    return true;
}

void
mem_close(Target *t)
{
    if (t->fd >= 0) {
        close(t->fd);
    }
    t->fd = -1;
}

bool
mem_read(const Target *t, uint64_t addr, void *buf, size_t size)
{
    size_t done = 0;

    /* (user addresses only: the walk never reads past TASK_SIZE) */
    if (addr == 0 || addr > INT64_MAX - size) {
        return false;
    }
    while (done < size) {
        ssize_t got = pread(t->fd, (char *)buf + done, size - done,
                            (off_t)(addr + done));
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            return false;
        }
        done += (size_t)got;
    }
    return true;
}

bool
mem_get(const Target *t, uint64_t addr, uint64_t *v, int size)
{
    unsigned char b[8] = {0};

    *v = 0;
    if (size < 1 || size > 8 || !mem_read(t, addr, b, (size_t)size)) {
        return false;
    }
    for (int i = size - 1; i >= 0; i--) {
        *v = (*v << 8) | b[i];
    }
    return true;
}
