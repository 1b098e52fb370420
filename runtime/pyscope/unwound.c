/*
 * unwound.c - labels filed under traceback entries (see unwound.h).
 */
#include <Python.h>

#include "unwound.h"

/* A handful is plenty: entries go as soon as their exception is gone. */
#define UNWOUND_MAX 32

/* Calls of pyscope_unwound_release(1) an entry survives even if something
   else still holds its traceback. */
#define UNWOUND_AGE_MAX 8

struct unwound_entry {
    PyObject *tb;       /* strong; NULL = free */
    PyObject *text;     /* strong (str) */
    int age;
};

static struct unwound_entry entries[UNWOUND_MAX];
static unsigned int next_victim;
int pyscope_unwound_pending;

/* Empty entry i, returning what it held (to be dropped by the caller once
   the table is consistent). */
static void
take(int i, PyObject **tb, PyObject **text)
{
    *tb = entries[i].tb;
    *text = entries[i].text;
    entries[i].tb = NULL;
    entries[i].text = NULL;
    entries[i].age = 0;
    pyscope_unwound_pending--;
}

PyObject *
pyscope_unwound_find(PyObject *tb)
{
    if (pyscope_unwound_pending == 0) {
        return NULL;
    }
    for (int i = 0; i < UNWOUND_MAX; i++) {
        if (entries[i].tb == tb) {
            return entries[i].text;
        }
    }
    return NULL;
}

int
pyscope_unwound_add(PyObject *tb, const char *text, size_t len)
{
    PyObject *old_tb = NULL;
    PyObject *old_text = NULL;
    int slot = -1;

    if (pyscope_unwound_find(tb) != NULL) {
        return 0;
    }
    PyObject *label = PyUnicode_DecodeUTF8(text, (Py_ssize_t)len, "replace");
    if (label == NULL) {
        return -1;
    }
    for (int i = 0; i < UNWOUND_MAX; i++) {
        if (entries[i].tb == NULL) {
            slot = i;
            break;
        }
    }
    if (slot < 0) {
        /* Full: the oldest-ish goes (round robin). */
        slot = (int)(next_victim++ % UNWOUND_MAX);
        take(slot, &old_tb, &old_text);
    }
    Py_INCREF(tb);
    entries[slot].tb = tb;
    entries[slot].text = label;
    entries[slot].age = 0;
    pyscope_unwound_pending++;
    /* Last: dropping a traceback can run arbitrary code. */
    Py_XDECREF(old_tb);
    Py_XDECREF(old_text);
    return 0;
}

void
pyscope_unwound_release(int aging)
{
    for (int i = 0; i < UNWOUND_MAX && pyscope_unwound_pending > 0; i++) {
        PyObject *tb = entries[i].tb;
        if (tb == NULL) {
            continue;
        }
        if (Py_REFCNT(tb) > 1
            && (!aging || ++entries[i].age < UNWOUND_AGE_MAX))
        {
            continue;
        }
        PyObject *text;
        take(i, &tb, &text);
        /* Code run by these may file or drop entries: the loop reads the
           table afresh each time round. */
        Py_DECREF(tb);
        Py_DECREF(text);
    }
}
