/*
 * label.c - `with pyscope.label(text):` (see label.h).
 *
 * __enter__ paints the calling frame and remembers what it painted over;
 * __exit__ puts that back (or frees the slot).  Exact, so no sweeping.
 * This is the hot path: no Python-level calls, no allocation beyond the
 * object itself, and the object is not tracked by the cyclic GC (it only
 * references a str and, between enter and exit, a frame).
 */
#include <Python.h>

#include <string.h>

#include "frames.h"
#include "label.h"
#include "table.h"
#include "text.h"
#include "unwound.h"

/* What __exit__ has to undo. */
enum undo {
    UNDO_NOTHING,       /* not entered, or the paint was dropped */
    UNDO_FREE,          /* the frame was not painted before */
    UNDO_RESTORE,       /* put `saved` back */
};

typedef struct {
    PyObject_HEAD
    PyObject *text;             /* the label (str) */
    /* Between __enter__ and __exit__: the painted frame (a strong
       reference, so __exit__ acts on the frame __enter__ painted, whoever
       calls it) and what to undo. */
    PyFrameObject *frame;
    enum undo undo;
    struct pyscope_label_data saved;
} LabelObject;

static PyObject *
label_create(PyTypeObject *type, PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "label must be str, not %.100s",
                     Py_TYPE(text)->tp_name);
        return NULL;
    }
    LabelObject *self = (LabelObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    Py_INCREF(text);
    self->text = text;
    self->frame = NULL;
    self->undo = UNDO_NOTHING;
    return (PyObject *)self;
}

/* label(text): called through vectorcall, no argument tuple. */
static PyObject *
label_vectorcall(PyObject *type, PyObject *const *args, size_t nargsf,
                 PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);

    if (kwnames != NULL && PyTuple_GET_SIZE(kwnames) != 0) {
        PyErr_SetString(PyExc_TypeError,
                        "label() takes no keyword arguments");
        return NULL;
    }
    if (nargs != 1) {
        PyErr_Format(PyExc_TypeError,
                     "label() takes exactly one argument (%zd given)", nargs);
        return NULL;
    }
    return label_create((PyTypeObject *)type, args[0]);
}

static PyObject *
label_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *text;

    if (kwargs != NULL && PyDict_GET_SIZE(kwargs) != 0) {
        PyErr_SetString(PyExc_TypeError,
                        "label() takes no keyword arguments");
        return NULL;
    }
    if (!PyArg_UnpackTuple(args, "label", 1, 1, &text)) {
        return NULL;
    }
    return label_create(type, text);
}

static void
label_dealloc(LabelObject *self)
{
    Py_XDECREF(self->frame);
    Py_DECREF(self->text);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
label_repr(LabelObject *self)
{
    return PyUnicode_FromFormat("pyscope.label(%R)", self->text);
}

/* Tasks inherit labels (pyscope_label_set_asyncio_hook): the hook, until
   it has been called. */
static PyObject *asyncio_hook;

void
pyscope_label_set_asyncio_hook(PyObject *hook)
{
    Py_INCREF(hook);
    Py_XSETREF(asyncio_hook, hook);
}

/* Once asyncio's event loops exist, hand them to the hook (one sys.modules
   lookup per label entered until then).  Errors are not the label's: they
   are cleared (the hook reports nothing). */
static void
hook_asyncio_once(void)
{
    static PyObject *name;

    if (name == NULL) {
        name = PyUnicode_InternFromString("asyncio.base_events");
        if (name == NULL) {
            PyErr_Clear();
            return;
        }
    }
    PyObject *base_events = PyImport_GetModule(name);
    if (base_events == NULL) {
        PyErr_Clear();
        return;
    }
    PyObject *hook = asyncio_hook;
    asyncio_hook = NULL;
    PyObject *r = PyObject_CallFunctionObjArgs(hook, base_events, NULL);
    if (r == NULL) {
        PyErr_Clear();
    }
    Py_XDECREF(r);
    Py_DECREF(hook);
    Py_DECREF(base_events);
}

/* 1 when code is contextlib's (its file ends in "/contextlib.py"). */
static int
is_contextlib(PyCodeObject *code)
{
    static const char tail[] = "/contextlib.py";
    Py_ssize_t len;
    const char *name = PyUnicode_AsUTF8AndSize(code->co_filename, &len);

    if (name == NULL) {
        PyErr_Clear();
        return 0;
    }
    return len >= (Py_ssize_t)sizeof(tail) - 1
        && memcmp(name + len - (sizeof(tail) - 1), tail, sizeof(tail) - 1) == 0;
}

/*
 * The frame a label entered from `frame` belongs to: the frame of the with
 * statement that uses it, also through a wrapper.  A label entered in a
 * @contextmanager (or @asynccontextmanager) generator, or by an ExitStack
 * (enter_context), is called from contextlib: the generator's frame
 * (driven by contextlib's __enter__) and contextlib's own frames are
 * stepped over, to the frame that runs `with wrapper():`.  Bounded (8
 * steps); returns a new reference.
 */
static PyFrameObject *
with_statement_frame(PyFrameObject *frame)
{
    Py_INCREF(frame);
    for (int step = 0; step < 8; step++) {
        PyCodeObject *code = pyscope_frame_code(frame);
        int contextlib = is_contextlib(code);
        int suspendable = (code->co_flags & (CO_GENERATOR | CO_COROUTINE
                                             | CO_ASYNC_GENERATOR)) != 0;
        Py_DECREF(code);
        if (!contextlib && !suspendable) {
            break;
        }
        PyFrameObject *back = pyscope_frame_back(frame);
        if (back == NULL) {
            PyErr_Clear();
            break;
        }
        if (!contextlib) {
            /* a generator: stepped over only when contextlib drives it */
            PyCodeObject *back_code = pyscope_frame_code(back);
            int driven = is_contextlib(back_code);
            Py_DECREF(back_code);
            if (!driven) {
                Py_DECREF(back);
                break;
            }
        }
        Py_DECREF(frame);
        frame = back;
    }
    return frame;
}

static PyObject *
label_enter(LabelObject *self, PyObject *Py_UNUSED(ignored))
{
    struct pyscope_label_data data;

    if (pyscope_unwound_pending) {
        /* Cheap, and for programs that never paint() or ask for labels()
           the only place tracebacks kept for labels are let go. */
        pyscope_unwound_release(0);
    }
    if (asyncio_hook != NULL) {
        hook_asyncio_once();
    }
    if (self->frame != NULL) {
        PyErr_SetString(PyExc_RuntimeError,
                        "this pyscope.label is already entered; use one "
                        "label object per with statement");
        return NULL;
    }
    /* Borrowed; PyEval_GetFrame() makes the caller's frame object if it
       has none yet.  No Python frame (called from C): nothing to paint. */
    PyFrameObject *called_from = PyEval_GetFrame();
    if (called_from == NULL) {
        Py_RETURN_NONE;
    }
    if (pyscope_text_set(&data, self->text) < 0) {
        return NULL;
    }
    /* (a new reference, kept until __exit__) */
    PyFrameObject *frame = with_statement_frame(called_from);
    pyscope_where_set(&data, frame);

    switch (pyscope_table_paint(frame, &data, 1, &self->saved)) {
    case 1:
        self->undo = UNDO_RESTORE;
        break;
    case 0:
        self->undo = UNDO_FREE;
        break;
    default:
        /* Table full: dropped, silently (overflow counts it). */
        self->undo = UNDO_NOTHING;
        break;
    }
    self->frame = frame;
    Py_RETURN_NONE;
}

/* An exception is leaving the block: file the label in force under the
   frame's traceback entry, for tracebacks printed later (unwound.h). */
static void
file_label_for_traceback(PyFrameObject *frame, PyObject *tb)
{
    if (tb == NULL || !PyTraceBack_Check(tb)
        || ((PyTracebackObject *)tb)->tb_frame != frame)
    {
        return;     /* not entered by a with statement of this frame */
    }
    int idx = pyscope_table_find(frame);
    if (idx < 0) {
        return;
    }
    /* The slot's text, not ours: code in the block may have repainted. */
    const struct pyscope_slot *s = &pyscope_labels.slots[idx];
    if (pyscope_unwound_add(tb, s->text, s->len) < 0) {
        PyErr_Clear();      /* only a traceback nicety is lost */
    }
}

static PyObject *
label_exit(LabelObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyFrameObject *frame = self->frame;
    int idx;

    if (frame == NULL) {
        Py_RETURN_NONE;
    }
    if (nargs >= 3 && args[0] != Py_None) {
        file_label_for_traceback(frame, args[2]);
    }
    self->frame = NULL;
    switch (self->undo) {
    case UNDO_FREE:
        /* Gone already if the code inside called pyscope.clear(). */
        idx = pyscope_table_find(frame);
        if (idx >= 0) {
            pyscope_table_free(idx);    /* we still hold `frame` */
        }
        break;
    case UNDO_RESTORE:
        /* A restore is not a new paint; if the slot went (clear()) and the
           table is now full, the outer label is dropped like any paint. */
        pyscope_table_paint(frame, &self->saved, 0, NULL);
        break;
    case UNDO_NOTHING:
        break;
    }
    self->undo = UNDO_NOTHING;
    /* Last, as this may free a frame that finished (if __exit__ came from
       elsewhere, e.g. an ExitStack). */
    Py_DECREF(frame);
    Py_RETURN_NONE;      /* never swallows the exception */
}

static PyMethodDef label_methods[] = {
    {"__enter__", (PyCFunction)label_enter, METH_NOARGS,
     PyDoc_STR("Paint the calling frame with this label.")},
    {"__exit__", (PyCFunction)(void (*)(void))label_exit, METH_FASTCALL,
     PyDoc_STR("Restore the frame's previous label, or remove the paint.")},
    {NULL, NULL, 0, NULL}
};

static PyObject *
label_get_text(LabelObject *self, void *Py_UNUSED(closure))
{
    Py_INCREF(self->text);
    return self->text;
}

static PyGetSetDef label_getset[] = {
    {"text", (getter)label_get_text, NULL, PyDoc_STR("The label (str)."),
     NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

PyDoc_STRVAR(label_doc,
"label(text)\n"
"--\n"
"\n"
"Context manager: `with label(text):` paints the frame running the with\n"
"statement with `text` for the duration of the block, then restores that\n"
"frame's previous label (or removes the paint), however the block exits.\n"
"__enter__ returns None.  Entered through a wrapper (a @contextmanager or\n"
"@asynccontextmanager generator, contextlib.ExitStack.enter_context) it\n"
"paints the frame of the with statement that uses the wrapper.  One label\n"
"object cannot be entered twice at once.");

PyTypeObject PyscopeLabel_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pyscope.label",
    .tp_basicsize = sizeof(LabelObject),
    .tp_dealloc = (destructor)label_dealloc,
    .tp_repr = (reprfunc)label_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = label_doc,
    .tp_methods = label_methods,
    .tp_getset = label_getset,
    .tp_new = label_new,
    .tp_vectorcall = label_vectorcall,
};
