/* refbug: a C extension with a reference-count bug, for refcount-watch.sh.
 *
 * checksum(seq) copies seq into a tuple, takes a second reference to it
 * ("view") and sums its items.  When the sum is even it returns early and
 * forgets to drop the second reference: the tuple is never freed.
 * checksum_fixed(seq) is the same function with that Py_DECREF restored.
 *
 * Built with -O0 -g (setup.py) so every source line has its own statement
 * address.  tests/refcount_watch.bats finds the lines it expects by their
 * text (the comments "second reference", "drops one" and so on).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static long
sum_items(PyObject *tuple)
{
    long sum = 0;
    Py_ssize_t i;

    for (i = 0; i < PyTuple_GET_SIZE(tuple); i++) {
        long v = PyLong_AsLong(PyTuple_GET_ITEM(tuple, i));
        if (v == -1 && PyErr_Occurred()) {
            return -1;
        }
        sum += v;
    }
    return sum;
}

static PyObject *
checksum(PyObject *self, PyObject *seq)
{
    PyObject *tuple = PySequence_Tuple(seq);            /* new reference */
    if (tuple == NULL) {
        return NULL;
    }
    PyObject *view = tuple;
    Py_INCREF(view);                                    /* second reference */
    long sum = sum_items(view);
    if (sum == -1 && PyErr_Occurred()) {
        Py_DECREF(view);
        Py_DECREF(tuple);
        return NULL;
    }
    if (sum % 2 == 0) {
        Py_DECREF(tuple);                               /* drops one */
        return PyLong_FromLong(sum);    /* BUG: view is never released */
    }
    Py_DECREF(view);
    Py_DECREF(tuple);
    return PyLong_FromLong(sum);
}

static PyObject *
checksum_fixed(PyObject *self, PyObject *seq)
{
    PyObject *tuple = PySequence_Tuple(seq);            /* new reference */
    if (tuple == NULL) {
        return NULL;
    }
    PyObject *view = tuple;
    Py_INCREF(view);                                    /* second reference */
    long sum = sum_items(view);
    if (sum == -1 && PyErr_Occurred()) {
        Py_DECREF(view);
        Py_DECREF(tuple);
        return NULL;
    }
    if (sum % 2 == 0) {
        Py_DECREF(view);                                /* drops one */
        Py_DECREF(tuple);                               /* drops the last */
        return PyLong_FromLong(sum);
    }
    Py_DECREF(view);
    Py_DECREF(tuple);
    return PyLong_FromLong(sum);
}

static PyMethodDef refbug_methods[] = {
    {"checksum", checksum, METH_O,
     "checksum(seq) -> sum of the items; leaks a reference when it is even."},
    {"checksum_fixed", checksum_fixed, METH_O,
     "checksum_fixed(seq) -> sum of the items, without the leak."},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef refbug_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "refbug",
    .m_doc = "An extension with one missing Py_DECREF (for refcount-watch).",
    .m_size = -1,
    .m_methods = refbug_methods,
};

PyMODINIT_FUNC
PyInit_refbug(void)
{
    return PyModule_Create(&refbug_module);
}
