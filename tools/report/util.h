/* util.h - allocation helpers that never return NULL. */
#ifndef PYSCOPE_UTIL_H
#define PYSCOPE_UTIL_H

#include <stddef.h>

/* Print "pyscope-report: out of memory" and exit(1) on failure. */
void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);

/* Copy n bytes and add a terminating NUL. */
char *xmemdup(const char *src, size_t n);

/* Make sure the array at ptr (elements of elem_size bytes, *cap of them
   allocated) can hold at least need elements; returns the new pointer. */
void *xgrow(void *ptr, size_t *cap, size_t need, size_t elem_size);

#endif
