/* util.c - allocation helpers that never return NULL. */
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
out_of_memory(void)
{
    fputs("pyscope-report: out of memory\n", stderr);
    exit(1);
}

void *
xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (p == NULL) {
        out_of_memory();
    }
    return p;
}

void *
xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (p == NULL) {
        out_of_memory();
    }
    return p;
}

void *
xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (p == NULL) {
        out_of_memory();
    }
    return p;
}

char *
xmemdup(const char *src, size_t n)
{
    if (n == SIZE_MAX) {
        out_of_memory();
    }
    char *p = xmalloc(n + 1);
    if (n > 0) {
        memcpy(p, src, n);
    }
    p[n] = '\0';
    return p;
}

void *
xgrow(void *ptr, size_t *cap, size_t need, size_t elem_size)
{
    if (need <= *cap) {
        return ptr;
    }
    size_t new_cap = *cap ? *cap : 16;
    while (new_cap < need) {
        if (new_cap > SIZE_MAX / 2) {
            out_of_memory();
        }
        new_cap *= 2;
    }
    if (new_cap > SIZE_MAX / elem_size) {
        out_of_memory();
    }
    ptr = xrealloc(ptr, new_cap * elem_size);
    *cap = new_cap;
    return ptr;
}
