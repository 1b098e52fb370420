/* offsets_oracle.c: the reference pyscope offsets table of one CPython
 * build, from that build's own headers.
 *
 * Compiled once per CPython version, against its include/python3.X
 * directory (with internal/ headers) and -DPy_BUILD_CORE; see
 * tests/offsets/make-tables.sh for the flags.  Prints "key<TAB>decimal"
 * for every key of runtime/offsets/keys.tsv that applies to the version
 * it was compiled for, using offsetof() and sizeof(), except:
 *   - the sym.* keys (only the ELF file knows them), and
 *   - the bit positions of PyASCIIObject.state's bitfields, which C cannot
 *     take the offset of: they are found by setting the field to 1 in a
 *     zeroed struct and looking for the bit that changed.
 * The keys come out in source order; the caller sorts them.
 */

#include <Python.h>

#if PY_VERSION_HEX < 0x03080000
#  error "offsets_oracle.c: CPython 3.8 or newer is needed"
#endif

#if PY_VERSION_HEX < 0x030B0000
#  include <frameobject.h>          /* PyFrameObject (a public struct) */
#endif

#if PY_VERSION_HEX < 0x03090000
#  include <internal/pycore_pystate.h>  /* _PyRuntimeState, struct _is */
#else
#  include <internal/pycore_runtime.h>  /* _PyRuntimeState */
#  include <internal/pycore_interp.h>   /* struct _is */
#endif

#if PY_VERSION_HEX >= 0x030B0000
#  include <internal/pycore_frame.h>    /* _PyInterpreterFrame */
#endif

#include <stddef.h>
#include <stdio.h>
#include <string.h>

static void
put(const char *key, size_t value)
{
    printf("%s\t%zu\n", key, value);
}

#define OFFSET(key, type, member) put((key), offsetof(type, member))

/* Position of the lowest set bit in n bytes at p, counting from bit 0 of
   the first byte (the numbering DWARF uses on a little-endian machine),
   or -1 if every bit is clear. */
static int
lowest_set_bit(const void *p, size_t n)
{
    const unsigned char *bytes = p;

    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit++) {
            if ((bytes[i] >> bit) & 1) {
                return (int)(i * 8) + bit;
            }
        }
    }
    return -1;
}

/* The three state bits the tapsets read: set each field to 1 in a zeroed
   object, then find that bit in the state word. */
static void
put_unicode_state_bits(void)
{
    PyASCIIObject obj;

    memset(&obj, 0, sizeof(obj));
    obj.state.kind = 1;
    put("str.state.kind_bit",
        (size_t)lowest_set_bit(&obj.state, sizeof(obj.state)));

    memset(&obj, 0, sizeof(obj));
    obj.state.compact = 1;
    put("str.state.compact_bit",
        (size_t)lowest_set_bit(&obj.state, sizeof(obj.state)));

    memset(&obj, 0, sizeof(obj));
    obj.state.ascii = 1;
    put("str.state.ascii_bit",
        (size_t)lowest_set_bit(&obj.state, sizeof(obj.state)));
}

static void
put_interpreter_keys(void)
{
    OFFSET("runtime.interpreters_head", _PyRuntimeState, interpreters.head);
#if PY_VERSION_HEX < 0x030C0000
    OFFSET("runtime.tstate_current", _PyRuntimeState,
           gilstate.tstate_current);
#endif

    OFFSET("interp.next", PyInterpreterState, next);
#if PY_VERSION_HEX < 0x030B0000
    OFFSET("interp.threads_head", PyInterpreterState, tstate_head);
#else
    OFFSET("interp.threads_head", PyInterpreterState, threads.head);
#endif

    OFFSET("tstate.next", PyThreadState, next);
    OFFSET("tstate.interp", PyThreadState, interp);
    OFFSET("tstate.thread_id", PyThreadState, thread_id);
#if PY_VERSION_HEX >= 0x030B0000
    OFFSET("tstate.native_thread_id", PyThreadState, native_thread_id);
#endif
#if PY_VERSION_HEX < 0x030B0000
    OFFSET("tstate.frame", PyThreadState, frame);
#endif
#if PY_VERSION_HEX >= 0x030A0000 && PY_VERSION_HEX < 0x030D0000
    OFFSET("tstate.cframe", PyThreadState, cframe);
#endif
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030D0000
    OFFSET("cframe.current_frame", _PyCFrame, current_frame);
#endif
#if PY_VERSION_HEX >= 0x030D0000
    OFFSET("tstate.current_frame", PyThreadState, current_frame);
#endif
}

static void
put_frame_keys(void)
{
#if PY_VERSION_HEX < 0x030B0000
    OFFSET("pyframe.f_back", PyFrameObject, f_back);
    OFFSET("pyframe.f_code", PyFrameObject, f_code);
    OFFSET("pyframe.f_lasti", PyFrameObject, f_lasti);
    OFFSET("pyframe.f_lineno", PyFrameObject, f_lineno);
#else
    OFFSET("iframe.previous", _PyInterpreterFrame, previous);
#  if PY_VERSION_HEX < 0x030D0000
    OFFSET("iframe.code", _PyInterpreterFrame, f_code);
    OFFSET("iframe.instr", _PyInterpreterFrame, prev_instr);
#  else
    OFFSET("iframe.code", _PyInterpreterFrame, f_executable);
    OFFSET("iframe.instr", _PyInterpreterFrame, instr_ptr);
#  endif
#  if PY_VERSION_HEX < 0x030C0000
    OFFSET("iframe.is_entry", _PyInterpreterFrame, is_entry);
#  endif
    OFFSET("iframe.owner", _PyInterpreterFrame, owner);
    OFFSET("iframe.frame_obj", _PyInterpreterFrame, frame_obj);
#endif
}

static void
put_code_keys(void)
{
    OFFSET("code.co_name", PyCodeObject, co_name);
#if PY_VERSION_HEX >= 0x030B0000
    OFFSET("code.co_qualname", PyCodeObject, co_qualname);
#endif
    OFFSET("code.co_filename", PyCodeObject, co_filename);
    OFFSET("code.co_firstlineno", PyCodeObject, co_firstlineno);
#if PY_VERSION_HEX < 0x030A0000
    OFFSET("code.co_lnotab", PyCodeObject, co_lnotab);
#else
    OFFSET("code.co_linetable", PyCodeObject, co_linetable);
#endif
#if PY_VERSION_HEX < 0x030B0000
    OFFSET("code.co_code", PyCodeObject, co_code);
#else
    OFFSET("code.co_code_adaptive", PyCodeObject, co_code_adaptive);
    /* Every 3.11-3.13 release has it; keys.tsv allows it to go away. */
    OFFSET("code._co_firsttraceable", PyCodeObject, _co_firsttraceable);
#endif
}

static void
put_object_keys(void)
{
#ifndef Py_GIL_DISABLED
    /* A free-threaded PyObject has ob_ref_local/ob_ref_shared instead. */
    OFFSET("object.ob_refcnt", PyObject, ob_refcnt);
#endif
    OFFSET("object.ob_type", PyObject, ob_type);
    OFFSET("varobject.ob_size", PyVarObject, ob_size);
    OFFSET("type.tp_name", PyTypeObject, tp_name);
    OFFSET("type.tp_flags", PyTypeObject, tp_flags);
    OFFSET("bytes.ob_sval", PyBytesObject, ob_sval);

    OFFSET("str.length", PyASCIIObject, length);
    OFFSET("str.state", PyASCIIObject, state);
    put_unicode_state_bits();
    put("str.ascii_size", sizeof(PyASCIIObject));
    put("str.compact_size", sizeof(PyCompactUnicodeObject));
    OFFSET("str.utf8", PyCompactUnicodeObject, utf8);
    OFFSET("str.utf8_length", PyCompactUnicodeObject, utf8_length);

    OFFSET("float.ob_fval", PyFloatObject, ob_fval);
#if PY_VERSION_HEX < 0x030C0000
    OFFSET("long.ob_digit", PyLongObject, ob_digit);
#else
    OFFSET("long.ob_digit", PyLongObject, long_value.ob_digit);
    OFFSET("long.lv_tag", PyLongObject, long_value.lv_tag);
#endif
    OFFSET("dict.ma_used", PyDictObject, ma_used);
}

int
main(void)
{
    printf("# offsets_oracle: CPython %s headers, offsetof/sizeof\n",
           PY_VERSION);
    put("version_hex", (size_t)PY_VERSION_HEX);
#ifdef Py_GIL_DISABLED
    put("free_threaded", 1);
#else
    put("free_threaded", 0);
#endif
    put_interpreter_keys();
    put_frame_keys();
    put_code_keys();
    put_object_keys();
    return 0;
}
