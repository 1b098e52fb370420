/* dwarf_fixture.c: a stand-in for libpython with nothing but DWARF for
 * the structs of the offsets table, built by tests/offsets.bats with
 * -gdwarf-2, -gdwarf-4 and -gdwarf-5 against CPython 3.11+ headers, so
 * that pyscope-offsets meets the older DWARF encodings (DW_AT_bit_offset
 * bitfields, member locations as DW_OP_plus_uconst blocks) that GCC no
 * longer uses for the libpythons installed here.
 *
 * -DFIXTURE_NO_PY_VERSION leaves out the Py_Version symbol, to test the
 * other ways to the version: -DFIXTURE_VERSION_STRING puts PY_VERSION in
 * .rodata at the tail of a longer string (as the linker does to the real
 * one), and without it only the file name is left.
 */
#include <Python.h>

#if PY_VERSION_HEX < 0x030B0000
#  error "dwarf_fixture.c: needs CPython 3.11 or newer headers"
#endif

#include <internal/pycore_frame.h>
#include <internal/pycore_interp.h>
#include <internal/pycore_runtime.h>

/* One object of each type puts the type's definition in the DWARF. */
_PyRuntimeState _PyRuntime;
PyInterpreterState fixture_interp;
PyThreadState fixture_tstate;
#if PY_VERSION_HEX < 0x030D0000
_PyCFrame fixture_cframe;
#endif
_PyInterpreterFrame fixture_iframe;
PyCodeObject fixture_code;
PyObject fixture_object;
PyVarObject fixture_varobject;
PyTypeObject fixture_type;
PyBytesObject fixture_bytes;
PyASCIIObject fixture_ascii;
PyCompactUnicodeObject fixture_compact;
PyFloatObject fixture_float;
PyLongObject fixture_long;
PyDictObject fixture_dict;

#ifndef FIXTURE_NO_PY_VERSION
const unsigned long Py_Version = PY_VERSION_HEX;
#endif

#ifdef FIXTURE_VERSION_STRING
const char fixture_prefix[] = "/opt/python-" PY_VERSION;
#endif
