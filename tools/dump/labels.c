/* labels.c - frame labels, from outside the process. */
#include "labels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elfinfo.h"
#include "loadbase.h"
#include "pyscope_labels.h"

uint64_t
labels_table(const Target *t)
{
    char maps_path[64], *line = NULL, path[4200];
    size_t capacity = 0;
    FILE *maps;
    uint64_t table = 0;

    snprintf(maps_path, sizeof(maps_path), "/proc/%ld/maps", (long)t->pid);
    maps = fopen(maps_path, "r");
    if (maps == NULL) {
        return 0;
    }
    path[0] = '\0';
    /* the extension: .../pyscope/_pyscope.cpython-*.so (target.sh's rule) */
    while (getline(&line, &capacity, maps) > 0) {
        char *p = strchr(line, '/');
        char *base;

        if (p == NULL) {
            continue;
        }
        p[strcspn(p, "\n")] = '\0';
        base = strrchr(p, '/');
        if (strncmp(base, "/_pyscope.cpython-", 18) == 0
            && strcmp(base + strlen(base) - 3, ".so") == 0
            && base - p >= 8 && strncmp(base - 8, "/pyscope", 8) == 0) {
            /* (through the process's root: a container's files) */
            snprintf(path, sizeof(path), "/proc/%ld/root%s", (long)t->pid, p);
            break;
        }
    }
    free(line);
    fclose(maps);
    if (path[0] != '\0') {
        ElfInfo ei;
        const char *why;
        GElf_Sym sym;
        unsigned long long base;
        struct pyscope_table head;

        if (elfinfo_open(&ei, path, &why) != 0) {
            return 0;
        }
        if (elfinfo_lookup_symbol(&ei, NULL, "pyscope_labels", &sym)
            && load_base(&ei, t->pid, &base, NULL, 0)) {
            table = base + sym.st_value;
        }
        elfinfo_close(&ei);
        /* the magic is written last at import: no magic, no table yet */
        if (table != 0
            && (!mem_read(t, table, &head, offsetof(struct pyscope_table,
                                                    slots))
                || memcmp(head.magic, PYSCOPE_TABLE_MAGIC, 8) != 0
                || head.version != PYSCOPE_TABLE_VERSION
                || head.nslots != PYSCOPE_SLOTS)) {
            table = 0;
        }
    }
    return table;
}

size_t
labels_of_frame(const DumpLayout *L, const Target *t, uint64_t table,
                uint64_t frame, char *out, size_t out_size)
{
    uint64_t fo, h, slots, key;

    out[0] = '\0';
    if (table == 0 || out_size < PYSCOPE_TEXT_SIZE) {
        return 0;
    }
    /* the frame's PyFrameObject (before 3.11: the frame itself) */
    if (L->model == 1) {
        fo = frame;
    }
    else if (L->off_frame_obj < 0
             || !mem_get(t, frame + L->off_frame_obj, &fo, 8) || fo == 0) {
        return 0;
    }
    h = ((fo >> 4) * PYSCOPE_HASH_MULT) >> (64 - PYSCOPE_SLOTS_LOG2);
    slots = table + offsetof(struct pyscope_table, slots);
    for (unsigned i = 0; i < PYSCOPE_PROBES; i++) {
        uint64_t s = slots + ((h + i) & (PYSCOPE_SLOTS - 1))
                                 * sizeof(struct pyscope_slot);

        if (!mem_get(t, s + offsetof(struct pyscope_slot, frame_obj), &key, 8)
            || key != fo) {
            continue;
        }
        /* under the seqlock: an even sequence number, unchanged across
           the copy, and still this frame's; a torn slot is read again
           (three times, as labels.stp does) */
        for (int tries = 0; tries < 3; tries++) {
            uint64_t q1, q2;
            char text[PYSCOPE_TEXT_SIZE];

            if (!mem_get(t, s + offsetof(struct pyscope_slot, seq), &q1, 8)
                || (q1 & 1)) {
                continue;
            }
            if (!mem_read(t, s + offsetof(struct pyscope_slot, text), text,
                          sizeof(text))
                || !mem_get(t, s + offsetof(struct pyscope_slot, frame_obj),
                            &key, 8)
                || !mem_get(t, s + offsetof(struct pyscope_slot, seq), &q2,
                            8)) {
                return 0;
            }
            if (q2 != q1) {
                continue;
            }
            if (key != fo) {
                return 0;
            }
            text[sizeof(text) - 1] = '\0';
            memcpy(out, text, strlen(text) + 1);
            return strlen(out);
        }
        return 0;
    }
    return 0;
}
