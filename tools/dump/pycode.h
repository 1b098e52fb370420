/* pycode.h - a code object's names and lines, read from another process:
   the rules of tapsets/python_frame.stp (py_unicode_string, py_code_line,
   __py_addr2line and the three decoders of __py_addr2line_c), ported to
   user space. */
#ifndef PYSCOPE_DUMP_PYCODE_H
#define PYSCOPE_DUMP_PYCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layout.h"
#include "mem.h"

#define PYSCOPE_MAX_NAME 200            /* characters of a name */
#define PYSCOPE_MAX_LINETABLE 65536     /* bytes of a line table */

/* The text of the str object at obj as UTF-8 into out (at most
   PYSCOPE_MAX_NAME characters, ".." after a longer one).  False when it
   cannot be read. */
bool py_unicode_string(const DumpLayout *L, const Target *t, uint64_t obj,
                       char *out, size_t out_size);

/* co_qualname (co_name before 3.11) and co_filename of a code object. */
bool py_code_qualname(const DumpLayout *L, const Target *t, uint64_t code,
                      char *out, size_t out_size);
bool py_code_filename(const DumpLayout *L, const Target *t, uint64_t code,
                      char *out, size_t out_size);

/* The line of instruction lasti (code units) as CPython reports it
   (PyCode_Addr2Line): -1 when it has none, -2 when the table cannot be
   read. */
long py_code_line(const DumpLayout *L, const Target *t, uint64_t code,
                  int64_t lasti);

/* The decoders, on a table already in memory (tests/c can drive them):
   format 38 co_lnotab, 310 the 3.10 co_linetable, 311 PEP 657. */
long py_addr2line(long format, long first_line, const unsigned char *table,
                  long size, long addrq, long unit);

#endif
