/* debugfile.c - find the file holding a binary's DWARF. */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700       /* realpath */
#endif

#include "debugfile.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <elfutils/libdwelf.h>

/* .zdebug_info: the old GNU way of compressing it (libdw reads both). */
static bool
holds_dwarf(const ElfInfo *ei)
{
    return elfinfo_has_section_data(ei, ".debug_info")
           || elfinfo_has_section_data(ei, ".zdebug_info");
}

/* Open path as the debug file of binary if it is one: it exists, has
   DWARF, and its build-id (if both have one) is binary's. */
static bool
try_candidate(const ElfInfo *binary, const char *path, ElfInfo *debug)
{
    const char *error;

    if (elfinfo_open(debug, path, &error) != 0) {
        return false;
    }
    if (holds_dwarf(debug) && !elfinfo_build_ids_differ(binary, debug)) {
        return true;
    }
    elfinfo_close(debug);
    return false;
}

/* /usr/lib/debug/.build-id/ab/cdef....debug */
static bool
try_build_id(const ElfInfo *binary, ElfInfo *debug)
{
    char hex[2 * ELFINFO_BUILD_ID_MAX + 1];
    char path[PATH_MAX];

    if (binary->build_id_len < 2) {
        return false;
    }
    elfinfo_build_id_hex(binary, hex, sizeof(hex));
    snprintf(path, sizeof(path), "%s/.build-id/%.2s/%s.debug",
             DEBUGFILE_ROOT, hex, hex + 2);
    return try_candidate(binary, path, debug);
}

/* The .gnu_debuglink name, next to the binary, in its .debug directory,
   and under /usr/lib/debug plus the binary's directory. */
static bool
try_debuglink(const ElfInfo *binary, ElfInfo *debug)
{
    GElf_Word crc;
    const char *name = dwelf_elf_gnu_debuglink(binary->elf, &crc);
    char *real, *slash;
    char path[PATH_MAX];
    bool found = false;

    if (name == NULL || name[0] == '\0' || strchr(name, '/') != NULL) {
        return false;
    }
    real = realpath(binary->path, NULL);
    if (real == NULL) {
        return false;
    }
    slash = strrchr(real, '/');
    if (slash != NULL) {
        *slash = '\0';
        snprintf(path, sizeof(path), "%s/%s", real, name);
        found = try_candidate(binary, path, debug);
        if (!found) {
            snprintf(path, sizeof(path), "%s/.debug/%s", real, name);
            found = try_candidate(binary, path, debug);
        }
        if (!found) {
            snprintf(path, sizeof(path), "%s%s/%s", DEBUGFILE_ROOT, real,
                     name);
            found = try_candidate(binary, path, debug);
        }
    }
    free(real);
    return found;
}

DebugFileSource
debugfile_find(const ElfInfo *binary, const char *given, ElfInfo *debug,
               char *errbuf, size_t errbuf_size, const char **error)
{
    const char *open_error;

    if (given != NULL) {
        if (elfinfo_open(debug, given, &open_error) != 0) {
            snprintf(errbuf, errbuf_size, "%s: %s", given, open_error);
            *error = errbuf;
            return DEBUGFILE_ERROR;
        }
        if (!holds_dwarf(debug)) {
            snprintf(errbuf, errbuf_size, "no DWARF in %s", given);
        }
        else if (elfinfo_build_ids_differ(binary, debug)) {
            char want[2 * ELFINFO_BUILD_ID_MAX + 1];
            char have[2 * ELFINFO_BUILD_ID_MAX + 1];

            elfinfo_build_id_hex(binary, want, sizeof(want));
            elfinfo_build_id_hex(debug, have, sizeof(have));
            snprintf(errbuf, errbuf_size,
                     "%s is not the debug file of %s (build-id %s, not %s)",
                     given, binary->path, have, want);
        }
        else {
            return DEBUGFILE_GIVEN;
        }
        elfinfo_close(debug);
        *error = errbuf;
        return DEBUGFILE_ERROR;
    }

    if (holds_dwarf(binary)) {
        if (elfinfo_open(debug, binary->path, &open_error) != 0) {
            snprintf(errbuf, errbuf_size, "%s: %s", binary->path,
                     open_error);
            *error = errbuf;
            return DEBUGFILE_ERROR;
        }
        return DEBUGFILE_IN_BINARY;
    }
    if (try_build_id(binary, debug)) {
        return DEBUGFILE_BY_BUILD_ID;
    }
    if (try_debuglink(binary, debug)) {
        return DEBUGFILE_BY_DEBUGLINK;
    }
    return DEBUGFILE_NOT_FOUND;
}

const char *
debugfile_source_name(DebugFileSource source)
{
    switch (source) {
    case DEBUGFILE_IN_BINARY:
        return "binary itself";
    case DEBUGFILE_GIVEN:
        return "--debug-file";
    case DEBUGFILE_BY_BUILD_ID:
        return "build-id";
    case DEBUGFILE_BY_DEBUGLINK:
        return ".gnu_debuglink";
    default:
        return "none";
    }
}
