/* leaky: a C extension with a memory leak, for leak-watch.sh.
 *
 * frame(record) wraps a record in a length-prefixed frame: it makes a
 * scratch bytes object of SCRATCH_SIZE bytes, copies the record into it
 * and returns a checksum of the frame.  It never drops its reference to
 * the scratch object, so every call leaks one bytes object of
 * SCRATCH_SIZE bytes: PyBytes_FromStringAndSize asks PyObject_Malloc for
 * offsetof(PyBytesObject, ob_sval) + SCRATCH_SIZE + 1 bytes, i.e.
 * LEAK_PER_CALL (exported to Python so tests know it).
 * frame_fixed(record) is the same function with the Py_DECREF.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <string.h>

#define SCRATCH_SIZE 4000
#define LEAK_PER_CALL (offsetof(PyBytesObject, ob_sval) + SCRATCH_SIZE + 1)

static long
frame_checksum(PyObject *scratch, PyObject *record)
{
    char *buf = PyBytes_AS_STRING(scratch);
    Py_ssize_t n = PyBytes_GET_SIZE(record);
    long sum = 0;
    Py_ssize_t i;

    if (n > SCRATCH_SIZE - 4) {
        n = SCRATCH_SIZE - 4;
    }
    memset(buf, 0, SCRATCH_SIZE);
    buf[0] = (char)(n >> 24);
    buf[1] = (char)(n >> 16);
    buf[2] = (char)(n >> 8);
    buf[3] = (char)n;
    memcpy(buf + 4, PyBytes_AS_STRING(record), (size_t)n);
    for (i = 0; i < n + 4; i++) {
        sum = sum * 31 + (unsigned char)buf[i];
        sum &= 0xffffffffL;
    }
    return sum;
}

/* The leak: scratch is never released. */
static PyObject *
frame(PyObject *module, PyObject *record)
{
    if (!PyBytes_Check(record)) {
        PyErr_SetString(PyExc_TypeError, "frame() needs bytes");
        return NULL;
    }
    PyObject *scratch = PyBytes_FromStringAndSize(NULL, SCRATCH_SIZE);
    if (scratch == NULL) {
        return NULL;
    }
    long sum = frame_checksum(scratch, record);
    return PyLong_FromLong(sum);
}

static PyObject *
frame_fixed(PyObject *module, PyObject *record)
{
    if (!PyBytes_Check(record)) {
        PyErr_SetString(PyExc_TypeError, "frame_fixed() needs bytes");
        return NULL;
    }
    PyObject *scratch = PyBytes_FromStringAndSize(NULL, SCRATCH_SIZE);
    if (scratch == NULL) {
        return NULL;
    }
    long sum = frame_checksum(scratch, record);
    Py_DECREF(scratch);
    return PyLong_FromLong(sum);
}

static PyMethodDef leaky_methods[] = {
    {"frame", frame, METH_O,
     "frame(record: bytes) -> int: checksum of the framed record (leaks)"},
    {"frame_fixed", frame_fixed, METH_O,
     "frame_fixed(record: bytes) -> int: the same, without the leak"},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef leaky_module = {
    PyModuleDef_HEAD_INIT, "leaky",
    "A C extension that leaks one bytes object per frame() call.",
    -1, leaky_methods, NULL, NULL, NULL, NULL
};

PyMODINIT_FUNC
PyInit_leaky(void)
{
    PyObject *m = PyModule_Create(&leaky_module);
    if (m == NULL) {
        return NULL;
    }
    if (PyModule_AddIntConstant(m, "LEAK_PER_CALL", (long)LEAK_PER_CALL) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
