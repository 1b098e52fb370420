/* speedscope.h - profiles in speedscope's JSON file format. */
#ifndef PYSCOPE_SPEEDSCOPE_H
#define PYSCOPE_SPEEDSCOPE_H

#include <stdio.h>

#include "profile.h"

/* Write the profile, one sampled profile per thread, named title when
   there is no thread.  Returns 0, or -1 on a write error. */
int speedscope_write(const struct profile *p, const char *title, FILE *out);

#endif
