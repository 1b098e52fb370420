/*
 * module.c - the `pyscope._pyscope` module: paint(), clear(), labels(),
 * frame_label(), stats(), the crash handler switch and sampler_stats()
 * (sampling.c: importing the module starts the allocation sampler).  The
 * Python-level documentation is in pyscope/__init__.py.
 */
#include <Python.h>
#include <errno.h>

#include "crash.h"
#include "frames.h"
#include "label.h"
#include "sampling.h"
#include "table.h"
#include "text.h"
#include "unwound.h"

/* Slots each paint() and labels() call checks for finished frames: the
   whole table every PYSCOPE_SLOTS / SWEEP_SLOTS calls, at a small fixed
   cost per call. */
#define SWEEP_SLOTS 8

/* Letting go of what finished: a bounded step, run by paint() (which
   leaves finished frames behind: nothing tells it when its frame ends) and
   labels().  May run arbitrary code (finished frames' locals die). */
static void
housekeeping(void)
{
    static unsigned int calls;

    pyscope_table_sweep(SWEEP_SLOTS);
    if (pyscope_unwound_pending) {
        /* Age kept tracebacks once per round of the table. */
        pyscope_unwound_release(
            ++calls % (PYSCOPE_SLOTS / SWEEP_SLOTS) == 0);
    }
}

static PyObject *
paint(PyObject *Py_UNUSED(module), PyObject *text)
{
    struct pyscope_label_data data;

    if (pyscope_text_set(&data, text) < 0) {
        return NULL;
    }
    PyFrameObject *frame = PyEval_GetFrame();
    if (frame != NULL) {
        pyscope_where_set(&data, frame);
        pyscope_table_paint(frame, &data, 1, NULL);
    }
    housekeeping();
    Py_RETURN_NONE;
}

/* _paint_frame(frame, text[, replace]): paint a frame that is not running
   (a task's coroutine before its first step) unless it is painted already
   and replace is false (the default); True when it was painted. */
static PyObject *
paint_frame(PyObject *Py_UNUSED(module), PyObject *const *args,
            Py_ssize_t nargs)
{
    struct pyscope_label_data data;

    if (nargs < 2 || nargs > 3 || !PyFrame_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError,
                        "_paint_frame(frame, text[, replace])");
        return NULL;
    }
    PyFrameObject *frame = (PyFrameObject *)args[0];
    int replace = nargs == 3 ? PyObject_IsTrue(args[2]) : 0;
    if (replace < 0) {
        return NULL;
    }
    if (!replace && pyscope_table_find(frame) >= 0) {
        Py_RETURN_FALSE;
    }
    if (pyscope_text_set(&data, args[1]) < 0) {
        return NULL;
    }
    pyscope_where_set(&data, frame);
    if (pyscope_table_paint(frame, &data, 1, NULL) < 0) {
        Py_RETURN_FALSE;
    }
    Py_RETURN_TRUE;
}

static PyObject *
set_asyncio_hook(PyObject *Py_UNUSED(module), PyObject *hook)
{
    if (!PyCallable_Check(hook)) {
        PyErr_SetString(PyExc_TypeError, "_set_asyncio_hook(callable)");
        return NULL;
    }
    pyscope_label_set_asyncio_hook(hook);
    Py_RETURN_NONE;
}

static PyObject *
clear(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    PyFrameObject *frame = PyEval_GetFrame();
    if (frame != NULL) {
        int idx = pyscope_table_find(frame);
        if (idx >= 0) {
            pyscope_table_free(idx);    /* a running frame: not freed */
        }
    }
    Py_RETURN_NONE;
}

struct collected {
    PyObject *list;     /* labels, innermost first */
    int failed;
};

static int
collect_label(const PyFrameObject *f, void *arg)
{
    struct collected *c = arg;
    int idx = pyscope_table_find(f);

    if (idx < 0) {
        return 0;
    }
    const struct pyscope_slot *s = &pyscope_labels.slots[idx];
    PyObject *text = PyUnicode_DecodeUTF8(s->text, s->len, "replace");
    if (text == NULL || PyList_Append(c->list, text) < 0) {
        Py_XDECREF(text);
        c->failed = 1;
        return 1;
    }
    Py_DECREF(text);
    return 0;
}

static PyObject *
labels(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    struct collected c = {PyList_New(0), 0};

    if (c.list == NULL) {
        return NULL;
    }
    /* The running frames of this thread, as an outside reader walks them
       (without making frame objects for frames that have none: those
       cannot be painted). */
    pyscope_walk_frames(PyThreadState_Get(), INT_MAX, collect_label, &c);
    if (c.failed || PyList_Reverse(c.list) < 0) {
        Py_DECREF(c.list);
        return NULL;
    }
    housekeeping();
    return c.list;
}

static PyObject *
frame_label(PyObject *Py_UNUSED(module), PyObject *frame)
{
    if (!PyFrame_Check(frame)) {
        PyErr_Format(PyExc_TypeError, "expected a frame, not %.100s",
                     Py_TYPE(frame)->tp_name);
        return NULL;
    }
    int idx = pyscope_table_find(frame);
    if (idx < 0) {
        Py_RETURN_NONE;
    }
    const struct pyscope_slot *s = &pyscope_labels.slots[idx];
    return PyUnicode_DecodeUTF8(s->text, s->len, "replace");
}

static PyObject *
traceback_label(PyObject *module, PyObject *tb)
{
    if (!PyTraceBack_Check(tb)) {
        PyErr_Format(PyExc_TypeError, "expected a traceback, not %.100s",
                     Py_TYPE(tb)->tp_name);
        return NULL;
    }
    PyObject *text = pyscope_unwound_find(tb);
    if (text != NULL) {
        Py_INCREF(text);
        return text;
    }
    PyFrameObject *frame = ((PyTracebackObject *)tb)->tb_frame;
    return frame_label(module, (PyObject *)frame);
}

static PyObject *
stats(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    return Py_BuildValue("{s:i,s:n,s:K,s:K}",
                         "slots", PYSCOPE_SLOTS,
                         "used", pyscope_table_used(),
                         "overflow",
                         (unsigned long long)pyscope_labels.overflow,
                         "truncated",
                         (unsigned long long)pyscope_labels.truncated);
}

static PyObject *
install_crash_handler(PyObject *Py_UNUSED(module),
                      PyObject *Py_UNUSED(ignored))
{
    if (pyscope_crash_install() < 0) {
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    Py_RETURN_NONE;
}

static PyObject *
uninstall_crash_handler(PyObject *Py_UNUSED(module),
                        PyObject *Py_UNUSED(ignored))
{
    if (pyscope_crash_uninstall() < 0) {
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    Py_RETURN_NONE;
}

static PyObject *
after_fork_in_child(PyObject *Py_UNUSED(module), PyObject *parent_tid)
{
    unsigned long long parent = PyLong_AsUnsignedLongLong(parent_tid);
    if (parent == (unsigned long long)-1 && PyErr_Occurred()) {
        return NULL;
    }
    pyscope_table_after_fork(parent, pyscope_thread_id());
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"paint", paint, METH_O,
     PyDoc_STR("paint(text)\n--\n\nPaint the caller's frame until it ends.")},
    {"clear", clear, METH_NOARGS,
     PyDoc_STR("clear()\n--\n\nRemove the paint of the caller's frame.")},
    {"labels", labels, METH_NOARGS,
     PyDoc_STR("labels()\n--\n\nThis thread's visible labels, outermost "
               "first.")},
    {"frame_label", frame_label, METH_O,
     PyDoc_STR("frame_label(frame)\n--\n\nThe label of a frame object, or "
               "None.")},
    {"traceback_label", traceback_label, METH_O,
     PyDoc_STR("traceback_label(tb)\n--\n\nThe label in force in a "
               "traceback entry's frame, or None.")},
    {"stats", stats, METH_NOARGS,
     PyDoc_STR("stats()\n--\n\nTable statistics (a dict).")},
    {"sampler_stats", pyscope_sampling_stats, METH_NOARGS,
     PyDoc_STR("sampler_stats()\n--\n\nAllocation sampler counters (a "
               "dict).")},
    {"_install_crash_handler", install_crash_handler, METH_NOARGS, NULL},
    {"_uninstall_crash_handler", uninstall_crash_handler, METH_NOARGS, NULL},
    {"_after_fork_in_child", after_fork_in_child, METH_O, NULL},
    {"_paint_frame", (PyCFunction)(void (*)(void))paint_frame, METH_FASTCALL,
     NULL},
    {"_set_asyncio_hook", set_asyncio_hook, METH_O, NULL},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "pyscope._pyscope",
    .m_doc = PyDoc_STR("C part of pyscope; see the pyscope package."),
    .m_size = -1,   /* one label table per process, hence no state here */
    .m_methods = module_methods,
};

PyMODINIT_FUNC
PyInit__pyscope(void)
{
    if (PyType_Ready(&PyscopeLabel_Type) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&module_def);
    if (m == NULL) {
        return NULL;
    }
    /* PyModule_AddObject() steals the reference only when it succeeds. */
    Py_INCREF(&PyscopeLabel_Type);
    if (PyModule_AddObject(m, "label", (PyObject *)&PyscopeLabel_Type) < 0) {
        Py_DECREF(&PyscopeLabel_Type);
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddIntConstant(m, "LABEL_MAX", PYSCOPE_LABEL_MAX) < 0
        || PyModule_AddIntConstant(m, "SLOTS", PYSCOPE_SLOTS) < 0
        || PyModule_AddIntConstant(m, "PROBES", PYSCOPE_PROBES) < 0)
    {
        Py_DECREF(m);
        return NULL;
    }
    pyscope_table_init();
    pyscope_sampling_init();
    return m;
}
