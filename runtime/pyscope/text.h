/*
 * text.h - turning a label and a frame into the bytes a slot stores.
 */
#ifndef PYSCOPE_TEXT_H
#define PYSCOPE_TEXT_H

#include <Python.h>

#include "table.h"

/* Set d->text, d->len and d->flags from the str `label`: UTF-8 (lone
   surrogates written as \udcxx), each NUL as the two characters \0, cut at
   a character boundary to PYSCOPE_LABEL_MAX bytes (flagged truncated).
   Returns 0, or -1 with TypeError if `label` is not a str (or MemoryError). */
int pyscope_text_set(struct pyscope_label_data *d, PyObject *label);

/* Set d->where to "qualname (file:line)" for frame f, file being the base
   name of the code's file, cut to fit (before CPython 3.11, whose code
   objects have no qualified name, the plain name: pyscope_code_name()).
   Never fails. */
void pyscope_where_set(struct pyscope_label_data *d, PyFrameObject *f);

/* Copy n bytes of UTF-8 text into buf (size bytes, at least 1), cutting it
   at a character boundary if it does not fit, and NUL-terminate it.
   Returns the number of bytes copied; safe in a signal handler. */
size_t pyscope_utf8_copy(char *buf, size_t size, const char *s, size_t n);

#endif /* PYSCOPE_TEXT_H */
