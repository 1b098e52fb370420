/*
 * unwound.h - the labels of `with pyscope.label()` blocks that an exception
 * left, kept for tracebacks.
 *
 * When an exception leaves a `with label()` block, __exit__ must unpaint
 * the frame (the frame may catch the exception and go on), yet a traceback
 * printed later should still say which label was in force.  So __exit__
 * files the label under the frame's traceback entry (the exception's
 * traceback at that moment starts with it), and traceback_label() finds it
 * there.  An entry holds its traceback object until nothing else does.
 */
#ifndef PYSCOPE_UNWOUND_H
#define PYSCOPE_UNWOUND_H

#include <Python.h>

/* Entries in use; 0 lets hot paths skip pyscope_unwound_release(). */
extern int pyscope_unwound_pending;

/* File `text` (len bytes of UTF-8) under traceback entry tb, unless tb has
   a label already (an inner block's, which was in force first).  Returns 0,
   or -1 with an exception set. */
int pyscope_unwound_add(PyObject *tb, const char *text, size_t len);

/* The label filed under traceback entry tb (borrowed), or NULL. */
PyObject *pyscope_unwound_find(PyObject *tb);

/* Drop entries whose traceback only we still hold; with `aging`, also
   those that survived many calls with aging (their tracebacks may be kept
   alive by a garbage cycle that our reference would otherwise pin).  May
   run arbitrary code (what the tracebacks held dies). */
void pyscope_unwound_release(int aging);

#endif /* PYSCOPE_UNWOUND_H */
