/* hostile: a test-only extension (CPython 3.11) that points the calling
 * thread's current frame at a chain it crafted, for a while, so that
 * pyscope's probes walk memory that lies to them (tests/hostile.bats).
 *
 *     hostile.run(kind, code, ms)
 *
 * Puts the chain named kind in place of the thread's frames, spins for ms
 * milliseconds (allocating and freeing, so that allocation probes fire
 * with the chain in place; "chain in place" is written to stdout once it
 * is), puts the real frames back and returns the number of spins.  One
 * block of KEPT_SIZE bytes a call, allocated with the chain in place, is
 * kept for the life of the process, so that a leak watch always has
 * survivors whose stacks were read from the chains (a watch that ended
 * between a malloc and its free had none).  The chains, each ending in
 * the thread's real frames unless it cannot:
 *   cycle       two frames of code naming each other as caller
 *   unmapped    a frame whose caller is an address just unmapped
 *   garbage     a frame whose code object is a page of 0x41 bytes
 *   wild-string a copy of code whose qualname and name are str objects
 *               claiming 2**40 characters
 *   lying-lines a copy of code whose line table is a bytes object
 *               claiming 2**40 bytes of 0xff
 *   long        100,000 frames of code
 * Nothing else runs Python meanwhile (the GIL is held), so nothing but
 * an outside reader sees the chain.
 */
#define PY_SSIZE_T_CLEAN
#define Py_BUILD_CORE_MODULE 1
#include <Python.h>
#include "internal/pycore_frame.h"
#include "internal/pycore_code.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define LONG_CHAIN 100000

/* The crafted memory of one run, freed after it. */
struct chain {
    void *blocks[8];
    int nblocks;
    _PyInterpreterFrame *frames;    /* the long chain's */
};

static void *
keep(struct chain *c, size_t size, int fill)
{
    void *p = malloc(size);
    if (p == NULL || c->nblocks == 8) {
        free(p);
        return NULL;
    }
    memset(p, fill, size);
    c->blocks[c->nblocks++] = p;
    return p;
}

static _PyInterpreterFrame *
new_frame(struct chain *c, PyCodeObject *code, _PyInterpreterFrame *prev)
{
    _PyInterpreterFrame *f = keep(c, sizeof(*f) + 16 * sizeof(PyObject *),
                                  0);
    if (f == NULL) {
        return NULL;
    }
    f->f_code = code;
    f->previous = prev;
    f->prev_instr = _PyCode_CODE(code) + 1;
    f->owner = FRAME_OWNED_BY_THREAD;
    return f;
}

/* A copy of code (its header and instructions), in crafted memory. */
static PyCodeObject *
copy_code(struct chain *c, PyCodeObject *code)
{
    size_t size = _PyObject_VAR_SIZE(Py_TYPE(code), Py_SIZE(code));
    PyCodeObject *copy = keep(c, size, 0);
    if (copy != NULL) {
        memcpy(copy, code, size);
    }
    return copy;
}

/* A str that claims 2**40 ASCII characters, 64 of them there. */
static PyObject *
wild_string(struct chain *c)
{
    PyASCIIObject *s = keep(c, sizeof(PyASCIIObject) + 64, 'A');
    if (s == NULL) {
        return NULL;
    }
    memcpy(s, Py_None, sizeof(PyObject));     /* a refcount, a type */
    Py_SET_TYPE(s, &PyUnicode_Type);
    s->length = (Py_ssize_t)1 << 40;
    s->hash = -1;
    memset(&s->state, 0, sizeof(s->state));
    s->state.kind = PyUnicode_1BYTE_KIND;
    s->state.compact = 1;
    s->state.ascii = 1;
    s->state.ready = 1;
    s->wstr = NULL;
    return (PyObject *)s;
}

/* A bytes object that claims 2**40 bytes, 4096 of 0xff there. */
static PyObject *
lying_bytes(struct chain *c)
{
    PyBytesObject *b = keep(c, sizeof(PyBytesObject) + 4096, 0xff);
    if (b == NULL) {
        return NULL;
    }
    memcpy(b, Py_None, sizeof(PyObject));
    Py_SET_TYPE(b, &PyBytes_Type);
    Py_SET_SIZE(b, (Py_ssize_t)1 << 40);
    return (PyObject *)b;
}

/* The head of the chain named kind, above real (the thread's frames). */
static _PyInterpreterFrame *
craft(struct chain *c, const char *kind, PyCodeObject *code,
      _PyInterpreterFrame *real)
{
    if (strcmp(kind, "cycle") == 0) {
        _PyInterpreterFrame *a = new_frame(c, code, NULL);
        _PyInterpreterFrame *b = new_frame(c, code, a);
        if (a == NULL || b == NULL) {
            return NULL;
        }
        a->previous = b;
        return a;
    }
    if (strcmp(kind, "unmapped") == 0) {
        long page = sysconf(_SC_PAGESIZE);
        void *gone = mmap(NULL, page, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (gone == MAP_FAILED) {
            return NULL;
        }
        munmap(gone, page);
        return new_frame(c, code, (_PyInterpreterFrame *)gone);
    }
    if (strcmp(kind, "garbage") == 0) {
        PyCodeObject *junk = keep(c, 4096, 0x41);
        _PyInterpreterFrame *f = new_frame(c, code, real);
        if (junk == NULL || f == NULL) {
            return NULL;
        }
        f->f_code = junk;
        f->prev_instr = (_Py_CODEUNIT *)((char *)junk + 2048);
        return f;
    }
    if (strcmp(kind, "wild-string") == 0) {
        PyCodeObject *fake = copy_code(c, code);
        PyObject *s = wild_string(c);
        if (fake == NULL || s == NULL) {
            return NULL;
        }
        fake->co_qualname = s;
        fake->co_name = s;
        fake->co_filename = s;
        return new_frame(c, fake, real);
    }
    if (strcmp(kind, "lying-lines") == 0) {
        PyCodeObject *fake = copy_code(c, code);
        PyObject *b = lying_bytes(c);
        if (fake == NULL || b == NULL) {
            return NULL;
        }
        fake->co_linetable = b;
        return new_frame(c, fake, real);
    }
    if (strcmp(kind, "long") == 0) {
        c->frames = calloc(LONG_CHAIN, sizeof(_PyInterpreterFrame)
                                       + 16 * sizeof(PyObject *));
        if (c->frames == NULL) {
            return NULL;
        }
        size_t step = sizeof(_PyInterpreterFrame) + 16 * sizeof(PyObject *);
        _PyInterpreterFrame *prev = real;
        for (long i = LONG_CHAIN - 1; i >= 0; i--) {
            _PyInterpreterFrame *f =
                (_PyInterpreterFrame *)((char *)c->frames + i * step);
            f->f_code = code;
            f->previous = prev;
            f->prev_instr = _PyCode_CODE(code) + 1;
            f->owner = FRAME_OWNED_BY_THREAD;
            prev = f;
        }
        return prev;
    }
    return NULL;
}

/* the blocks run() keeps, each pointing at the one kept before it */
#define KEPT_SIZE 4096
static void *kept;

static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static PyObject *
run(PyObject *Py_UNUSED(module), PyObject *args)
{
    const char *kind;
    PyObject *code;
    double ms;

    if (!PyArg_ParseTuple(args, "sO!d", &kind, &PyCode_Type, &code, &ms)) {
        return NULL;
    }
    PyThreadState *ts = PyThreadState_Get();
    struct chain c;
    memset(&c, 0, sizeof(c));
    _PyInterpreterFrame *real = ts->cframe->current_frame;
    _PyInterpreterFrame *head = craft(&c, kind, (PyCodeObject *)code, real);
    if (head == NULL) {
        for (int i = 0; i < c.nblocks; i++) {
            free(c.blocks[i]);
        }
        free(c.frames);
        PyErr_Format(PyExc_ValueError, "unknown or uncraftable kind %s",
                     kind);
        return NULL;
    }
    long spins = 0;
    double end = now() + ms / 1000;
    ts->cframe->current_frame = head;
    /* for a reader that must not look before: one line, once in place */
    if (write(STDOUT_FILENO, "chain in place\n", 15) != 15) {
        spins = -1;
    }
    void *k = PyMem_RawMalloc(KEPT_SIZE);
    if (k != NULL) {
        *(void **)k = kept;
        kept = k;
    }
    while (now() < end) {
        void *p = PyMem_RawMalloc(64 + spins % 512);
        void *q = malloc(128);
        PyMem_RawFree(p);
        free(q);
        spins++;
    }
    ts->cframe->current_frame = real;
    for (int i = 0; i < c.nblocks; i++) {
        free(c.blocks[i]);
    }
    free(c.frames);
    return PyLong_FromLong(spins);
}

static PyMethodDef methods[] = {
    {"run", run, METH_VARARGS,
     "run(kind, code, ms): spin for ms with the crafted chain kind in "
     "place of this thread's frames"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "hostile", NULL, -1, methods,
};

PyMODINIT_FUNC
PyInit_hostile(void)
{
    return PyModule_Create(&module);
}
