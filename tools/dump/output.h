/* output.h - a dump as text (one block a thread, innermost frame first)
   or as one JSON document. */
#ifndef PYSCOPE_DUMP_OUTPUT_H
#define PYSCOPE_DUMP_OUTPUT_H

#include <stdio.h>

#include "dump.h"

void output_text(const Dump *d, FILE *out);
void output_json(const Dump *d, FILE *out);

/* s as a JSON string, quotes included: control characters escaped,
   bytes that are no UTF-8 as U+FFFD. */
void output_json_string(const char *s, FILE *out);

#endif
