/* keytable.c - the struct keys of runtime/offsets/keys.tsv.  Keep this in
   step with keys.tsv (tests/offsets.bats checks that every key there is
   produced for some installed version). */
#include "keytable.h"

#define LAST KEY_NO_LAST_MINOR

const OffsetKey offset_keys[] = {
    {"runtime.interpreters_head", KEY_OFFSET, 8, LAST,
     "_PyRuntimeState", {"interpreters.head"}, false},
    {"runtime.tstate_current", KEY_OFFSET, 8, 11,
     "_PyRuntimeState", {"gilstate.tstate_current"}, false},

    {"interp.next", KEY_OFFSET, 8, LAST,
     "PyInterpreterState", {"next"}, false},
    {"interp.threads_head", KEY_OFFSET, 8, LAST,
     "PyInterpreterState", {"threads.head", "tstate_head"}, false},

    {"tstate.next", KEY_OFFSET, 8, LAST, "PyThreadState", {"next"}, false},
    {"tstate.interp", KEY_OFFSET, 8, LAST,
     "PyThreadState", {"interp"}, false},
    {"tstate.thread_id", KEY_OFFSET, 8, LAST,
     "PyThreadState", {"thread_id"}, false},
    {"tstate.native_thread_id", KEY_OFFSET, 11, LAST,
     "PyThreadState", {"native_thread_id"}, false},
    {"tstate.frame", KEY_OFFSET, 8, 10, "PyThreadState", {"frame"}, false},
    {"tstate.cframe", KEY_OFFSET, 10, 12,
     "PyThreadState", {"cframe"}, false},
    {"cframe.current_frame", KEY_OFFSET, 11, 12,
     "_PyCFrame", {"current_frame"}, false},
    {"tstate.current_frame", KEY_OFFSET, 13, LAST,
     "PyThreadState", {"current_frame"}, false},

    {"pyframe.f_back", KEY_OFFSET, 8, 10,
     "PyFrameObject", {"f_back"}, false},
    {"pyframe.f_code", KEY_OFFSET, 8, 10,
     "PyFrameObject", {"f_code"}, false},
    {"pyframe.f_lasti", KEY_OFFSET, 8, 10,
     "PyFrameObject", {"f_lasti"}, false},
    {"pyframe.f_lineno", KEY_OFFSET, 8, 10,
     "PyFrameObject", {"f_lineno"}, false},

    {"iframe.previous", KEY_OFFSET, 11, LAST,
     "_PyInterpreterFrame", {"previous"}, false},
    {"iframe.code", KEY_OFFSET, 11, LAST,
     "_PyInterpreterFrame", {"f_executable", "f_code"}, false},
    {"iframe.instr", KEY_OFFSET, 11, LAST,
     "_PyInterpreterFrame", {"instr_ptr", "prev_instr"}, false},
    {"iframe.is_entry", KEY_OFFSET, 11, 11,
     "_PyInterpreterFrame", {"is_entry"}, false},
    {"iframe.owner", KEY_OFFSET, 11, LAST,
     "_PyInterpreterFrame", {"owner"}, false},
    {"iframe.frame_obj", KEY_OFFSET, 11, LAST,
     "_PyInterpreterFrame", {"frame_obj"}, false},

    {"code.co_name", KEY_OFFSET, 8, LAST, "PyCodeObject", {"co_name"}, false},
    {"code.co_qualname", KEY_OFFSET, 11, LAST,
     "PyCodeObject", {"co_qualname"}, false},
    {"code.co_filename", KEY_OFFSET, 8, LAST,
     "PyCodeObject", {"co_filename"}, false},
    {"code.co_firstlineno", KEY_OFFSET, 8, LAST,
     "PyCodeObject", {"co_firstlineno"}, false},
    {"code.co_lnotab", KEY_OFFSET, 8, 9,
     "PyCodeObject", {"co_lnotab"}, false},
    {"code.co_linetable", KEY_OFFSET, 10, LAST,
     "PyCodeObject", {"co_linetable"}, false},
    {"code.co_code", KEY_OFFSET, 8, 10, "PyCodeObject", {"co_code"}, false},
    {"code.co_code_adaptive", KEY_OFFSET, 11, LAST,
     "PyCodeObject", {"co_code_adaptive"}, false},
    {"code._co_firsttraceable", KEY_OFFSET, 11, LAST,
     "PyCodeObject", {"_co_firsttraceable"}, true},

    {"object.ob_refcnt", KEY_OFFSET, 8, LAST,
     "PyObject", {"ob_refcnt"}, false},
    {"object.ob_type", KEY_OFFSET, 8, LAST, "PyObject", {"ob_type"}, false},
    {"varobject.ob_size", KEY_OFFSET, 8, LAST,
     "PyVarObject", {"ob_size"}, false},
    {"type.tp_name", KEY_OFFSET, 8, LAST,
     "PyTypeObject", {"tp_name"}, false},
    {"type.tp_flags", KEY_OFFSET, 8, LAST,
     "PyTypeObject", {"tp_flags"}, false},
    {"bytes.ob_sval", KEY_OFFSET, 8, LAST,
     "PyBytesObject", {"ob_sval"}, false},

    {"str.length", KEY_OFFSET, 8, LAST, "PyASCIIObject", {"length"}, false},
    {"str.state", KEY_OFFSET, 8, LAST, "PyASCIIObject", {"state"}, false},
    {"str.state.kind_bit", KEY_BIT, 8, LAST,
     "PyASCIIObject", {"state.kind"}, false},
    {"str.state.compact_bit", KEY_BIT, 8, LAST,
     "PyASCIIObject", {"state.compact"}, false},
    {"str.state.ascii_bit", KEY_BIT, 8, LAST,
     "PyASCIIObject", {"state.ascii"}, false},
    {"str.ascii_size", KEY_SIZE, 8, LAST, "PyASCIIObject", {NULL}, false},
    {"str.compact_size", KEY_SIZE, 8, LAST,
     "PyCompactUnicodeObject", {NULL}, false},
    {"str.utf8", KEY_OFFSET, 8, LAST,
     "PyCompactUnicodeObject", {"utf8"}, false},
    {"str.utf8_length", KEY_OFFSET, 8, LAST,
     "PyCompactUnicodeObject", {"utf8_length"}, false},

    {"float.ob_fval", KEY_OFFSET, 8, LAST,
     "PyFloatObject", {"ob_fval"}, false},
    {"long.ob_digit", KEY_OFFSET, 8, LAST,
     "PyLongObject", {"long_value.ob_digit", "ob_digit"}, false},
    {"long.lv_tag", KEY_OFFSET, 12, LAST,
     "PyLongObject", {"long_value.lv_tag"}, false},
    {"dict.ma_used", KEY_OFFSET, 8, LAST,
     "PyDictObject", {"ma_used"}, false},
};

const size_t offset_keys_count = sizeof(offset_keys) / sizeof(offset_keys[0]);

bool
key_applies(const OffsetKey *key, int minor)
{
    return minor < 0 || (minor >= key->first_minor
                         && minor <= key->last_minor);
}
