/* elfinfo.c - the parts of an ELF file pyscope-offsets reads (libelf). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "elfinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <elfutils/libdwelf.h>

int
elfinfo_open(ElfInfo *ei, const char *path, const char **error)
{
    struct stat st;
    const void *id;
    ssize_t id_len;

    memset(ei, 0, sizeof(*ei));
    ei->fd = -1;
    elf_version(EV_CURRENT);

    ei->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (ei->fd < 0) {
        *error = strerror(errno);
        return -1;
    }
    if (fstat(ei->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        *error = "not a regular file";
        goto fail;
    }
    ei->elf = elf_begin(ei->fd, ELF_C_READ_MMAP, NULL);
    if (ei->elf == NULL || elf_kind(ei->elf) != ELF_K_ELF) {
        *error = "not an ELF file";
        goto fail;
    }
    if (gelf_getclass(ei->elf) == ELFCLASSNONE) {
        *error = "not a valid ELF file";
        goto fail;
    }
    ei->path = strdup(path);
    if (ei->path == NULL) {
        *error = "out of memory";
        goto fail;
    }
    id_len = dwelf_elf_gnu_build_id(ei->elf, &id);
    if (id_len > 0 && (size_t)id_len <= sizeof(ei->build_id)) {
        memcpy(ei->build_id, id, (size_t)id_len);
        ei->build_id_len = (size_t)id_len;
    }
    return 0;

fail:
    elfinfo_close(ei);
    return -1;
}

void
elfinfo_close(ElfInfo *ei)
{
    if (ei->elf != NULL) {
        elf_end(ei->elf);
    }
    if (ei->fd >= 0) {
        close(ei->fd);
    }
    free(ei->path);
    memset(ei, 0, sizeof(*ei));
    ei->fd = -1;
}

void
elfinfo_build_id_hex(const ElfInfo *ei, char *buf, size_t size)
{
    size_t used = 0;

    if (size == 0) {
        return;
    }
    buf[0] = '\0';
    for (size_t i = 0; i < ei->build_id_len && used + 3 <= size; i++) {
        snprintf(buf + used, size - used, "%02x", ei->build_id[i]);
        used += 2;
    }
}

bool
elfinfo_build_ids_differ(const ElfInfo *a, const ElfInfo *b)
{
    if (a->build_id_len == 0 || b->build_id_len == 0) {
        return false;
    }
    return a->build_id_len != b->build_id_len
           || memcmp(a->build_id, b->build_id, a->build_id_len) != 0;
}

/* The section called name, or NULL; *shdr gets its header. */
static Elf_Scn *
find_section(const ElfInfo *ei, const char *name, GElf_Shdr *shdr)
{
    size_t shstrndx;
    Elf_Scn *scn = NULL;

    if (elf_getshdrstrndx(ei->elf, &shstrndx) != 0) {
        return NULL;
    }
    while ((scn = elf_nextscn(ei->elf, scn)) != NULL) {
        const char *scn_name;

        if (gelf_getshdr(scn, shdr) == NULL) {
            continue;
        }
        scn_name = elf_strptr(ei->elf, shstrndx, shdr->sh_name);
        if (scn_name != NULL && strcmp(scn_name, name) == 0) {
            return scn;
        }
    }
    return NULL;
}

bool
elfinfo_has_section_data(const ElfInfo *ei, const char *name)
{
    GElf_Shdr shdr;

    if (find_section(ei, name, &shdr) == NULL) {
        return false;
    }
    return shdr.sh_type != SHT_NOBITS && shdr.sh_size > 0;
}

bool
elfinfo_find_symbol(const ElfInfo *ei, GElf_Word table_type,
                    const char *name, GElf_Sym *sym)
{
    Elf_Scn *scn = NULL;

    while ((scn = elf_nextscn(ei->elf, scn)) != NULL) {
        GElf_Shdr shdr;
        Elf_Data *data;
        size_t count;

        if (gelf_getshdr(scn, &shdr) == NULL || shdr.sh_type != table_type
            || shdr.sh_entsize == 0) {
            continue;
        }
        data = elf_getdata(scn, NULL);
        if (data == NULL) {
            continue;
        }
        count = shdr.sh_size / shdr.sh_entsize;
        for (size_t i = 1; i < count; i++) {
            const char *sym_name;

            if (gelf_getsym(data, (int)i, sym) == NULL) {
                break;
            }
            if (sym->st_shndx == SHN_UNDEF || sym->st_name == 0) {
                continue;
            }
            sym_name = elf_strptr(ei->elf, shdr.sh_link, sym->st_name);
            if (sym_name != NULL && strcmp(sym_name, name) == 0) {
                return true;
            }
        }
    }
    return false;
}

bool
elfinfo_lookup_symbol(const ElfInfo *binary, const ElfInfo *debug,
                      const char *name, GElf_Sym *sym)
{
    if (elfinfo_find_symbol(binary, SHT_SYMTAB, name, sym)) {
        return true;
    }
    if (debug != NULL && elfinfo_find_symbol(debug, SHT_SYMTAB, name, sym)) {
        return true;
    }
    return elfinfo_find_symbol(binary, SHT_DYNSYM, name, sym);
}

bool
elfinfo_read_at(const ElfInfo *ei, GElf_Addr addr, void *buf, size_t size)
{
    size_t phnum, file_size;
    const char *raw = elf_rawfile(ei->elf, &file_size);

    if (raw == NULL || elf_getphdrnum(ei->elf, &phnum) != 0) {
        return false;
    }
    for (size_t i = 0; i < phnum; i++) {
        GElf_Phdr phdr;
        GElf_Off start;

        if (gelf_getphdr(ei->elf, (int)i, &phdr) == NULL
            || phdr.p_type != PT_LOAD) {
            continue;
        }
        if (addr < phdr.p_vaddr || addr - phdr.p_vaddr > phdr.p_filesz
            || size > phdr.p_filesz - (addr - phdr.p_vaddr)) {
            continue;
        }
        start = phdr.p_offset + (addr - phdr.p_vaddr);
        if (start > file_size || size > file_size - start) {
            return false;
        }
        memcpy(buf, raw + start, size);
        return true;
    }
    return false;
}

bool
elfinfo_decode_uint(const ElfInfo *ei, const unsigned char *bytes,
                    size_t size, unsigned long long *value)
{
    const char *ident = elf_getident(ei->elf, NULL);
    bool big_endian = ident != NULL && ident[EI_DATA] == ELFDATA2MSB;

    if (size != 1 && size != 2 && size != 4 && size != 8) {
        return false;
    }
    *value = 0;
    for (size_t i = 0; i < size; i++) {
        size_t at = big_endian ? i : size - 1 - i;
        *value = (*value << 8) | bytes[at];
    }
    return true;
}

const char *
elfinfo_soname(const ElfInfo *ei)
{
    Elf_Scn *scn = NULL;

    while ((scn = elf_nextscn(ei->elf, scn)) != NULL) {
        GElf_Shdr shdr;
        Elf_Data *data;

        if (gelf_getshdr(scn, &shdr) == NULL || shdr.sh_type != SHT_DYNAMIC
            || shdr.sh_entsize == 0) {
            continue;
        }
        data = elf_getdata(scn, NULL);
        if (data == NULL) {
            continue;
        }
        for (size_t i = 0; i < shdr.sh_size / shdr.sh_entsize; i++) {
            GElf_Dyn dyn;

            if (gelf_getdyn(data, (int)i, &dyn) == NULL
                || dyn.d_tag == DT_NULL) {
                break;
            }
            if (dyn.d_tag == DT_SONAME) {
                return elf_strptr(ei->elf, shdr.sh_link, dyn.d_un.d_val);
            }
        }
    }
    return NULL;
}

const unsigned char *
elfinfo_section_data(const ElfInfo *ei, const char *name, size_t *size)
{
    GElf_Shdr shdr;
    Elf_Scn *scn = find_section(ei, name, &shdr);
    Elf_Data *data;

    if (scn == NULL || shdr.sh_type == SHT_NOBITS) {
        return NULL;
    }
    data = elf_getdata(scn, NULL);
    if (data == NULL || data->d_buf == NULL) {
        return NULL;
    }
    *size = data->d_size;
    return data->d_buf;
}
