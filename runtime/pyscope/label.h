/*
 * label.h - `pyscope.label`, the context manager that paints the frame
 * running the `with` statement.
 */
#ifndef PYSCOPE_LABEL_H
#define PYSCOPE_LABEL_H

#include <Python.h>

extern PyTypeObject PyscopeLabel_Type;

/* hook(base_events), called once (a new reference kept), the first time a
   label is entered while asyncio.base_events is imported: the package's
   _hook_asyncio, which makes tasks inherit the label they are created
   under (pyscope/__init__.py). */
void pyscope_label_set_asyncio_hook(PyObject *hook);

#endif /* PYSCOPE_LABEL_H */
