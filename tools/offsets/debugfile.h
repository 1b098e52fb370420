/* debugfile.h - where the DWARF of a binary is: in the binary itself, in a
   file named on the command line, or in the separate debug file of a
   stripped binary, found by build-id or .gnu_debuglink under
   /usr/lib/debug (where -dbg and -dbgsym packages install them). */
#ifndef PYSCOPE_DEBUGFILE_H
#define PYSCOPE_DEBUGFILE_H

#include "elfinfo.h"

#define DEBUGFILE_ROOT "/usr/lib/debug"

typedef enum {
    DEBUGFILE_NOT_FOUND,
    DEBUGFILE_ERROR,        /* the file given is unusable; see *error */
    DEBUGFILE_IN_BINARY,
    DEBUGFILE_GIVEN,
    DEBUGFILE_BY_BUILD_ID,
    DEBUGFILE_BY_DEBUGLINK
} DebugFileSource;

/* Open the file holding binary's DWARF as *debug.  given is the
   --debug-file argument or NULL.  On DEBUGFILE_ERROR, *error is a
   message (static, or in errbuf) naming the file. */
DebugFileSource debugfile_find(const ElfInfo *binary, const char *given,
                               ElfInfo *debug, char *errbuf,
                               size_t errbuf_size, const char **error);

/* "binary itself", "--debug-file", "build-id", ".gnu_debuglink". */
const char *debugfile_source_name(DebugFileSource source);

#endif
