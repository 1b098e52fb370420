/* pprof.h - profiles in pprof's format (gzipped profile.proto). */
#ifndef PYSCOPE_PPROF_H
#define PYSCOPE_PPROF_H

#include <stdio.h>

#include "leak.h"
#include "profile.h"

/* A CPU profile: sample types samples/count and, when the period is
   known, cpu/nanoseconds; of a wall stream wall/microseconds alone.
   Returns 0, or -1 on a write error. */
int pprof_write_cpu(const struct profile *p, FILE *out);

/* Leak-watch's last snapshot: sample types inuse_objects/count and
   inuse_space/bytes, one sample per stack with surviving bytes.  Returns
   0, or -1 on a write error. */
int pprof_write_leak(const struct leak *lk, FILE *out);

#endif
