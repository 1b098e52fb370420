/* flame_paths.c - shorter file paths for the text drawn in flame frames. */
#include "flame_paths.h"

#include <string.h>

/* Offset just past the last "/site-packages/" or "/dist-packages/" in
   path, or 0. */
static size_t
after_site_packages(const char *path, size_t len)
{
    static const char *const dirs[] = {"/site-packages/", "/dist-packages/"};
    size_t best = 0;

    for (size_t d = 0; d < 2; d++) {
        size_t dlen = strlen(dirs[d]);
        for (size_t i = 0; i + dlen <= len; i++) {
            if (memcmp(path + i, dirs[d], dlen) == 0 && i + dlen > best) {
                best = i + dlen;
            }
        }
    }
    return best;
}

static size_t
digits(const char *s, size_t len)
{
    size_t n = 0;
    while (n < len && s[n] >= '0' && s[n] <= '9') {
        n++;
    }
    return n;
}

/* Offset just past the first "/lib/pythonX.Y/" (or lib64, and an ABI
   suffix such as "3.13t"), or 0. */
static size_t
after_stdlib(const char *path, size_t len)
{
    static const char *const dirs[] = {"/lib/python", "/lib64/python"};

    for (size_t i = 0; i < len; i++) {
        for (size_t d = 0; d < 2; d++) {
            size_t dlen = strlen(dirs[d]);
            if (i + dlen > len || memcmp(path + i, dirs[d], dlen) != 0) {
                continue;
            }
            size_t j = i + dlen;
            size_t n = digits(path + j, len - j);
            if (n == 0 || j + n >= len || path[j + n] != '.') {
                continue;
            }
            j += n + 1;
            n = digits(path + j, len - j);
            if (n == 0) {
                continue;
            }
            j += n;
            while (j < len && path[j] >= 'a' && path[j] <= 'z') {
                j++;
            }
            if (j < len && path[j] == '/') {
                return j + 1;
            }
        }
    }
    return 0;
}

/* Offset just past "CWD/" at the start of path, or 0. */
static size_t
after_cwd(const char *path, size_t len, const char *cwd)
{
    size_t clen = cwd ? strlen(cwd) : 0;

    while (clen > 0 && cwd[clen - 1] == '/') {
        clen--;
    }
    if (clen == 0 || clen + 1 >= len || memcmp(path, cwd, clen) != 0
            || path[clen] != '/') {
        return 0;
    }
    return clen + 1;
}

bool
flame_short_name(const char *name, size_t len, const char *cwd,
                 struct strbuf *out)
{
    size_t open = 0;
    bool found = false;

    /* The file starts after the last " (" and ends before the final
       ")"; a name that does not parse so is left as it is. */
    for (size_t i = 0; i + 1 < len; i++) {
        if (name[i] == ' ' && name[i + 1] == '(') {
            open = i + 2;
            found = true;
        }
    }
    if (!found || len == 0 || name[len - 1] != ')') {
        sb_append(out, name, len);
        return false;
    }
    const char *path = name + open;
    size_t path_len = len - 1 - open;
    const char *prefix = "<site>/";
    size_t cut = after_site_packages(path, path_len);
    if (cut == 0) {
        prefix = "<stdlib>/";
        cut = after_stdlib(path, path_len);
    }
    if (cut == 0) {
        prefix = "./";
        cut = after_cwd(path, path_len, cwd);
    }
    if (cut == 0 || cut >= path_len) {
        sb_append(out, name, len);
        return false;
    }
    sb_append(out, name, open);
    sb_append_str(out, prefix);
    sb_append(out, path + cut, len - open - cut);
    return true;
}
