/* procmem.c - an ELF file's data in a live process.
 *
 * The loader maps each PT_LOAD segment from the page-aligned file offset
 * of its contents, so a line of /proc/PID/maps for the file, "START-END
 * PERMS OFFSET DEV INODE PATH", shows file offset OFFSET at address
 * START.  vaddr's file offset (from its segment's p_offset and p_vaddr)
 * inside such a line's range gives its address.  A segment may show as
 * several lines (RELRO makes part of the data segment read-only), and a
 * process may map the file again for reading; so the line must also be
 * writable exactly when the segment is (PF_W). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "procmem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

typedef struct {
    unsigned long long start, end, offset, inode;
    unsigned int dev_major, dev_minor;
    char perms[5];
    const char *path;           /* "" for an anonymous mapping */
} MapsLine;

/* Which lines of the maps file are the file's. */
typedef struct {
    bool by_inode;              /* else by path */
    unsigned int dev_major, dev_minor;
    unsigned long long inode;
    const char *path;           /* realpath of the file */
} MapsMatch;

static bool
parse_maps_line(char *line, MapsLine *m)
{
    int used = 0;
    size_t len;

    if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu %n", &m->start, &m->end,
               m->perms, &m->offset, &m->dev_major, &m->dev_minor,
               &m->inode, &used) < 7 || used <= 0 || m->end < m->start) {
        return false;
    }
    m->path = line + used;
    len = strlen(m->path);
    if (len > 0 && m->path[len - 1] == '\n') {
        line[(size_t)used + len - 1] = '\0';
    }
    return true;
}

static bool
line_matches(const MapsLine *m, const MapsMatch *match)
{
    if (match->by_inode) {
        return m->inode == match->inode && m->dev_major == match->dev_major
               && m->dev_minor == match->dev_minor;
    }
    return match->path != NULL && strcmp(m->path, match->path) == 0;
}

/* The segment whose file contents hold vaddr: *file_offset and whether it
   is writable. */
static bool
segment_of(const ElfInfo *binary, GElf_Addr vaddr, GElf_Off *file_offset,
           bool *writable)
{
    size_t phnum;

    if (elf_getphdrnum(binary->elf, &phnum) != 0) {
        return false;
    }
    for (size_t i = 0; i < phnum; i++) {
        GElf_Phdr phdr;

        if (gelf_getphdr(binary->elf, (int)i, &phdr) == NULL
            || phdr.p_type != PT_LOAD || vaddr < phdr.p_vaddr
            || vaddr - phdr.p_vaddr >= phdr.p_filesz) {
            continue;
        }
        *file_offset = phdr.p_offset + (vaddr - phdr.p_vaddr);
        *writable = (phdr.p_flags & PF_W) != 0;
        return true;
    }
    return false;
}

/* Scan maps for a line of the file holding file_offset.  Returns 1 and
   *address if found, 0 if the file has lines but none holds it, -1 if the
   file has no lines. */
static int
scan_maps(FILE *maps, const MapsMatch *match, GElf_Off file_offset,
          bool writable, unsigned long long *address)
{
    char *line = NULL;
    size_t capacity = 0;
    int found = -1;

    rewind(maps);
    while (getline(&line, &capacity, maps) > 0) {
        MapsLine m;

        if (!parse_maps_line(line, &m) || !line_matches(&m, match)) {
            continue;
        }
        found = 0;
        if (file_offset >= m.offset && file_offset - m.offset < m.end - m.start
            && (m.perms[1] == 'w') == writable) {
            *address = m.start + (file_offset - m.offset);
            found = 1;
            break;
        }
    }
    free(line);
    return found;
}

bool
procmem_find_address(const ElfInfo *binary, pid_t pid, GElf_Addr vaddr,
                     unsigned long long *address,
                     unsigned long long *load_base,
                     char *error, size_t error_size)
{
    char maps_path[64];
    struct stat st;
    GElf_Off file_offset;
    bool writable;
    MapsMatch match;
    FILE *maps;
    int found;

    if (!segment_of(binary, vaddr, &file_offset, &writable)) {
        snprintf(error, error_size, "0x%llx is not in the file contents of "
                 "a PT_LOAD segment of %s", (unsigned long long)vaddr,
                 binary->path);
        return false;
    }
    if (fstat(binary->fd, &st) != 0) {
        snprintf(error, error_size, "%s: %s", binary->path, strerror(errno));
        return false;
    }
    snprintf(maps_path, sizeof(maps_path), "/proc/%ld/maps", (long)pid);
    maps = fopen(maps_path, "r");
    if (maps == NULL) {
        if (errno == ENOENT || errno == ESRCH) {
            snprintf(error, error_size, "no process %ld", (long)pid);
        }
        else {
            snprintf(error, error_size, "%s: %s", maps_path,
                     strerror(errno));
        }
        return false;
    }

    memset(&match, 0, sizeof(match));
    match.by_inode = true;
    match.dev_major = major(st.st_dev);
    match.dev_minor = minor(st.st_dev);
    match.inode = st.st_ino;
    found = scan_maps(maps, &match, file_offset, writable, address);
    if (found < 0) {
        /* Some file systems (overlayfs) show another device or inode in
           maps than stat() gives: try the path. */
        char *real = realpath(binary->path, NULL);

        match.by_inode = false;
        match.path = real;
        found = scan_maps(maps, &match, file_offset, writable, address);
        free(real);
    }
    fclose(maps);

    if (found < 0) {
        snprintf(error, error_size, "%s is not mapped in process %ld",
                 binary->path, (long)pid);
        return false;
    }
    if (found == 0) {
        snprintf(error, error_size, "%s is mapped in process %ld, but not "
                 "its %s data at file offset 0x%llx", binary->path,
                 (long)pid, writable ? "writable" : "read-only",
                 (unsigned long long)file_offset);
        return false;
    }
    *load_base = *address - vaddr;
    return true;
}

bool
procmem_read(pid_t pid, unsigned long long address, void *buf, size_t size,
             char *error, size_t error_size)
{
    struct iovec local = {buf, size};
    struct iovec remote = {(void *)(uintptr_t)address, size};
    char mem_path[64];
    ssize_t got;
    int vm_errno, fd;

    if (address > (unsigned long long)UINTPTR_MAX
        || address > (unsigned long long)INT64_MAX - size) {
        snprintf(error, error_size, "address 0x%llx is out of range",
                 address);
        return false;
    }
    got = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (got >= 0 && (size_t)got == size) {
        return true;
    }
    vm_errno = got < 0 ? errno : EIO;

    snprintf(mem_path, sizeof(mem_path), "/proc/%ld/mem", (long)pid);
    fd = open(mem_path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        got = pread(fd, buf, size, (off_t)address);
        if (got < 0) {
            got = -errno;
        }
        close(fd);
        if (got >= 0 && (size_t)got == size) {
            return true;
        }
    }
    else {
        got = -errno;
    }
    snprintf(error, error_size, "cannot read %zu bytes at 0x%llx in process "
             "%ld: %s (process_vm_readv: %s)", size, address, (long)pid,
             got < 0 ? strerror((int)-got) : "short read",
             strerror(vm_errno));
    return false;
}
