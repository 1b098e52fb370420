/* flame_paths.h - shorter file paths for the text drawn in flame frames.
 *
 * A Python frame is "qualname (FILE:LINE)" or "qualname (FILE)"; only
 * FILE changes, and only in the drawn text (the tooltip keeps the whole
 * name):
 *   .../site-packages/P or .../dist-packages/P   ->  <site>/P
 *   .../lib/pythonX.Y/P (the standard library)  ->  <stdlib>/P
 *   DIR/P, DIR the working directory given      ->  ./P
 */
#ifndef PYSCOPE_FLAME_PATHS_H
#define PYSCOPE_FLAME_PATHS_H

#include <stdbool.h>
#include <stddef.h>

#include "strbuf.h"

/* Append name to out with its file path shortened; cwd may be NULL.
   Returns whether anything was shortened. */
bool flame_short_name(const char *name, size_t len, const char *cwd,
                      struct strbuf *out);

#endif
