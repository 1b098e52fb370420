/*
 * label.h - `pyscope.label`, the context manager that paints the frame
 * running the `with` statement.
 */
#ifndef PYSCOPE_LABEL_H
#define PYSCOPE_LABEL_H

#include <Python.h>

extern PyTypeObject PyscopeLabel_Type;

#endif /* PYSCOPE_LABEL_H */
