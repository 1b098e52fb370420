/* pyversion.c - which CPython version a binary is. */
#include "pyversion.h"

#include <stdio.h>
#include <string.h>

#define PY_RELEASE_LEVEL_ALPHA 0xA
#define PY_RELEASE_LEVEL_BETA 0xB
#define PY_RELEASE_LEVEL_GAMMA 0xC
#define PY_RELEASE_LEVEL_FINAL 0xF

#define MAX_CANDIDATES 16
#define MAX_VERSION_STRING 16

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Parse 1 or 2 decimal digits at s[*at]; advance *at. */
static bool
parse_small_number(const char *s, size_t n, size_t *at, unsigned long *value)
{
    size_t start = *at;

    *value = 0;
    while (*at < n && is_digit(s[*at]) && *at - start < 2) {
        *value = *value * 10 + (unsigned long)(s[*at] - '0');
        (*at)++;
    }
    return *at > start && !(*at < n && is_digit(s[*at]));
}

bool
pyversion_parse(const char *s, size_t n, unsigned long *hex)
{
    size_t at = 0;
    unsigned long major, minor, micro, serial = 0;
    unsigned long level = PY_RELEASE_LEVEL_FINAL;

    if (!parse_small_number(s, n, &at, &major) || major != 3
        || at >= n || s[at++] != '.'
        || !parse_small_number(s, n, &at, &minor)
        || at >= n || s[at++] != '.'
        || !parse_small_number(s, n, &at, &micro)) {
        return false;
    }
    if (at < n && s[at] != '+') {
        if (s[at] == 'a') {
            level = PY_RELEASE_LEVEL_ALPHA;
            at++;
        }
        else if (s[at] == 'b') {
            level = PY_RELEASE_LEVEL_BETA;
            at++;
        }
        else if (at + 1 < n && s[at] == 'r' && s[at + 1] == 'c') {
            level = PY_RELEASE_LEVEL_GAMMA;
            at += 2;
        }
        else {
            return false;
        }
        if (!parse_small_number(s, n, &at, &serial) || serial > 15) {
            return false;
        }
    }
    if (at < n && s[at] == '+') {
        at++;
    }
    if (at != n) {
        return false;
    }
    *hex = (major << 24) | (minor << 16) | (micro << 8) | (level << 4)
           | serial;
    return true;
}

int
pyversion_minor_from_name(const char *name)
{
    const char *p = name == NULL ? NULL : strstr(name, "python3.");
    int minor = 0, digits = 0;

    if (p == NULL) {
        return -1;
    }
    for (p += strlen("python3."); is_digit(*p) && digits < 3; p++) {
        minor = minor * 10 + (*p - '0');
        digits++;
    }
    return digits == 0 || digits == 3 ? -1 : minor;
}

static bool
from_py_version_symbol(const ElfInfo *binary, const ElfInfo *debug,
                       PyVersion *version)
{
    GElf_Sym sym;
    unsigned char bytes[8];
    unsigned long long value;

    if (!elfinfo_lookup_symbol(binary, debug, "Py_Version", &sym)
        || sym.st_size == 0 || sym.st_size > sizeof(bytes)
        || !elfinfo_read_at(binary, sym.st_value, bytes, sym.st_size)
        || !elfinfo_decode_uint(binary, bytes, sym.st_size, &value)
        || (value >> 24) != 3 || value > 0xFFFFFFFFu) {
        return false;
    }
    version->hex = (unsigned long)value;
    snprintf(version->source, sizeof(version->source),
             "Py_Version symbol (%zu bytes at 0x%llx)",
             (size_t)sym.st_size, (unsigned long long)sym.st_value);
    return true;
}

typedef struct {
    char text[MAX_VERSION_STRING + 1];
    unsigned long hex;
    int count;
} Candidate;

static void
add_candidate(Candidate *candidates, int *ncandidates, const char *s,
              size_t n, unsigned long hex)
{
    for (int i = 0; i < *ncandidates; i++) {
        if (candidates[i].hex == hex) {
            candidates[i].count++;
            return;
        }
    }
    if (*ncandidates < MAX_CANDIDATES) {
        Candidate *c = &candidates[(*ncandidates)++];

        memcpy(c->text, s, n);
        c->text[n] = '\0';
        c->hex = hex;
        c->count = 1;
    }
}

/* Every NUL-terminated "3.X.Y..." in .rodata that does not continue a
   number (so "13.1.0" is not "3.1.0"); the most frequent one whose X is
   minor_hint (any X >= 6 without a hint) wins. */
static bool
from_rodata(const ElfInfo *binary, int minor_hint, PyVersion *version)
{
    size_t size;
    const char *data = (const char *)elfinfo_section_data(binary, ".rodata",
                                                          &size);
    Candidate candidates[MAX_CANDIDATES];
    int ncandidates = 0, best = -1, total = 0;

    if (data == NULL) {
        return false;
    }
    for (size_t i = 0; i + 1 < size; i++) {
        size_t end;
        unsigned long hex;
        int minor;

        if (data[i] != '3' || data[i + 1] != '.'
            || (i > 0 && (is_digit(data[i - 1]) || data[i - 1] == '.'))) {
            continue;
        }
        for (end = i; end < size && end - i <= MAX_VERSION_STRING; end++) {
            if (data[end] == '\0') {
                break;
            }
        }
        if (end >= size || data[end] != '\0'
            || !pyversion_parse(data + i, end - i, &hex)) {
            continue;
        }
        minor = (int)((hex >> 16) & 0xFF);
        if (minor < 6 || (minor_hint >= 0 && minor != minor_hint)) {
            continue;
        }
        add_candidate(candidates, &ncandidates, data + i, end - i, hex);
    }
    for (int i = 0; i < ncandidates; i++) {
        total += candidates[i].count;
        if (best < 0 || candidates[i].count > candidates[best].count) {
            best = i;
        }
    }
    if (best < 0) {
        return false;
    }
    version->hex = candidates[best].hex;
    snprintf(version->source, sizeof(version->source),
             ".rodata string \"%s\" (%d of %d version strings)",
             candidates[best].text, candidates[best].count, total);
    return true;
}

void
pyversion_find(const ElfInfo *binary, const ElfInfo *debug,
               PyVersion *version)
{
    const char *soname = elfinfo_soname(binary);
    const char *base = strrchr(binary->path, '/');
    int minor_hint = pyversion_minor_from_name(soname);
    const char *hint_from = soname;

    base = base == NULL ? binary->path : base + 1;
    if (minor_hint < 0) {
        minor_hint = pyversion_minor_from_name(base);
        hint_from = base;
    }

    memset(version, 0, sizeof(*version));
    version->minor = -1;
    if (from_py_version_symbol(binary, debug, version)
        || from_rodata(binary, minor_hint, version)) {
        version->minor = (int)((version->hex >> 16) & 0xFF);
        return;
    }
    if (minor_hint >= 0) {
        version->hex = (3ul << 24) | ((unsigned long)minor_hint << 16);
        version->minor = minor_hint;
        snprintf(version->source, sizeof(version->source),
                 "file name %s (3.%d; micro version and release level "
                 "unknown)", hint_from, minor_hint);
        return;
    }
    snprintf(version->source, sizeof(version->source), "none");
}
