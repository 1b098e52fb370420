/* debugoffsets.c - the _Py_DebugOffsets layouts of 3.13 and 3.14 (the
   members that are keys.tsv keys) and how the struct is checked and read.
 *
 * Not every key is in the struct: iframe.frame_obj,
 * code._co_firsttraceable, object.ob_refcnt, the str.state bit positions,
 * str.compact_size, str.utf8, str.utf8_length and dict.ma_used are not.
 * varobject.ob_size is read from bytes_object.ob_size (a PyBytesObject
 * starts with its PyVarObject, so the two offsets are the same). */
#include "debugoffsets.h"

#include <stdio.h>
#include <string.h>

#define PY_RELEASE_LEVEL_GAMMA 0xC

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* 3.13: Include/internal/pycore_runtime.h; sizeof 584. */
static const DebugOffsetsField fields_3_13[] = {
    {"free_threaded", 16, "free_threaded"},
    {"runtime_state.interpreters_head", 40, "runtime.interpreters_head"},
    {"interpreter_state.next", 64, "interp.next"},
    {"interpreter_state.threads_head", 72, "interp.threads_head"},
    {"thread_state.next", 168, "tstate.next"},
    {"thread_state.interp", 176, "tstate.interp"},
    {"thread_state.current_frame", 184, "tstate.current_frame"},
    {"thread_state.thread_id", 192, "tstate.thread_id"},
    {"thread_state.native_thread_id", 200, "tstate.native_thread_id"},
    {"interpreter_frame.previous", 232, "iframe.previous"},
    {"interpreter_frame.executable", 240, "iframe.code"},
    {"interpreter_frame.instr_ptr", 248, "iframe.instr"},
    {"interpreter_frame.owner", 264, "iframe.owner"},
    {"code_object.filename", 280, "code.co_filename"},
    {"code_object.name", 288, "code.co_name"},
    {"code_object.qualname", 296, "code.co_qualname"},
    {"code_object.linetable", 304, "code.co_linetable"},
    {"code_object.firstlineno", 312, "code.co_firstlineno"},
    {"code_object.co_code_adaptive", 344, "code.co_code_adaptive"},
    {"pyobject.ob_type", 360, "object.ob_type"},
    {"type_object.tp_name", 376, "type.tp_name"},
    {"type_object.tp_flags", 392, "type.tp_flags"},
    {"float_object.ob_fval", 480, "float.ob_fval"},
    {"long_object.lv_tag", 496, "long.lv_tag"},
    {"long_object.ob_digit", 504, "long.ob_digit"},
    {"bytes_object.ob_size", 520, "varobject.ob_size"},
    {"bytes_object.ob_sval", 528, "bytes.ob_sval"},
    {"unicode_object.state", 544, "str.state"},
    {"unicode_object.length", 552, "str.length"},
    {"unicode_object.asciiobject_size", 560, "str.ascii_size"},
};

/* 3.14: Include/internal/pycore_debug_offsets.h; sizeof 760. */
static const DebugOffsetsField fields_3_14[] = {
    {"free_threaded", 16, "free_threaded"},
    {"runtime_state.interpreters_head", 40, "runtime.interpreters_head"},
    {"interpreter_state.next", 64, "interp.next"},
    {"interpreter_state.threads_head", 72, "interp.threads_head"},
    {"thread_state.next", 192, "tstate.next"},
    {"thread_state.interp", 200, "tstate.interp"},
    {"thread_state.current_frame", 208, "tstate.current_frame"},
    {"thread_state.thread_id", 216, "tstate.thread_id"},
    {"thread_state.native_thread_id", 224, "tstate.native_thread_id"},
    {"interpreter_frame.previous", 256, "iframe.previous"},
    {"interpreter_frame.executable", 264, "iframe.code"},
    {"interpreter_frame.instr_ptr", 272, "iframe.instr"},
    {"interpreter_frame.owner", 288, "iframe.owner"},
    {"code_object.filename", 320, "code.co_filename"},
    {"code_object.name", 328, "code.co_name"},
    {"code_object.qualname", 336, "code.co_qualname"},
    {"code_object.linetable", 344, "code.co_linetable"},
    {"code_object.firstlineno", 352, "code.co_firstlineno"},
    {"code_object.co_code_adaptive", 384, "code.co_code_adaptive"},
    {"pyobject.ob_type", 408, "object.ob_type"},
    {"type_object.tp_name", 424, "type.tp_name"},
    {"type_object.tp_flags", 440, "type.tp_flags"},
    {"float_object.ob_fval", 560, "float.ob_fval"},
    {"long_object.lv_tag", 576, "long.lv_tag"},
    {"long_object.ob_digit", 584, "long.ob_digit"},
    {"bytes_object.ob_size", 600, "varobject.ob_size"},
    {"bytes_object.ob_sval", 608, "bytes.ob_sval"},
    {"unicode_object.state", 624, "str.state"},
    {"unicode_object.length", 632, "str.length"},
    {"unicode_object.asciiobject_size", 640, "str.ascii_size"},
};

static const DebugOffsetsLayout layouts[] = {
    {13, 584, fields_3_13, COUNT(fields_3_13)},
    {14, 760, fields_3_14, COUNT(fields_3_14)},
};

const DebugOffsetsLayout *
debugoffsets_layout(int minor)
{
    for (size_t i = 0; i < COUNT(layouts); i++) {
        if (layouts[i].minor == minor) {
            return &layouts[i];
        }
    }
    return NULL;
}

static unsigned long long
read_u64(const ElfInfo *byte_order, const unsigned char *bytes,
         size_t offset)
{
    unsigned long long value = 0;

    elfinfo_decode_uint(byte_order, bytes + offset, 8, &value);
    return value;
}

/* The cookie as printable text ("\xNN" for other bytes). */
static void
describe_cookie(const unsigned char *cookie, char *buf, size_t size)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < DEBUGOFFSETS_COOKIE_SIZE && used < size; i++) {
        int n;

        if (cookie[i] >= 0x20 && cookie[i] < 0x7f && cookie[i] != '"'
            && cookie[i] != '\\') {
            n = snprintf(buf + used, size - used, "%c", cookie[i]);
        }
        else {
            n = snprintf(buf + used, size - used, "\\x%02x", cookie[i]);
        }
        if (n < 0) {
            break;
        }
        used += (size_t)n;
    }
}

bool
debugoffsets_check(const ElfInfo *byte_order,
                   const DebugOffsetsLayout *layout,
                   const unsigned char *bytes, size_t size,
                   char *error, size_t error_size)
{
    char cookie[4 * DEBUGOFFSETS_COOKIE_SIZE + 1];
    unsigned long long version, minor, level;

    if (layout->size > DEBUGOFFSETS_MAX_SIZE || layout->size < 24) {
        snprintf(error, error_size, "internal error: bad size of 3.%d's "
                 "layout", layout->minor);
        return false;
    }
    if (size < layout->size) {
        snprintf(error, error_size, "only %zu bytes, not the %zu of 3.%d's "
                 "_Py_DebugOffsets", size, layout->size, layout->minor);
        return false;
    }
    if (memcmp(bytes, DEBUGOFFSETS_COOKIE, DEBUGOFFSETS_COOKIE_SIZE) != 0) {
        describe_cookie(bytes, cookie, sizeof(cookie));
        snprintf(error, error_size, "no _Py_DebugOffsets: the cookie is "
                 "\"%s\", not \"" DEBUGOFFSETS_COOKIE "\"", cookie);
        return false;
    }
    for (size_t i = 0; i < layout->nfields; i++) {
        if (layout->fields[i].offset > layout->size - 8) {
            snprintf(error, error_size, "internal error: %s is outside "
                     "3.%d's layout", layout->fields[i].field,
                     layout->minor);
            return false;
        }
    }
    version = read_u64(byte_order, bytes, DEBUGOFFSETS_VERSION_OFFSET);
    minor = (version >> 16) & 0xFF;
    if ((version >> 24) != 3 || minor != (unsigned long long)layout->minor) {
        snprintf(error, error_size, "_Py_DebugOffsets says version 0x%llx, "
                 "not CPython 3.%d as the ELF file says", version,
                 layout->minor);
        return false;
    }
    level = (version >> 4) & 0xF;
    if (level < PY_RELEASE_LEVEL_GAMMA) {
        snprintf(error, error_size, "_Py_DebugOffsets version 0x%llx is an "
                 "alpha or beta, whose layout may differ from the 3.%d "
                 "release's", version, layout->minor);
        return false;
    }
    return true;
}

void
debugoffsets_add_keys(const ElfInfo *byte_order,
                      const DebugOffsetsLayout *layout,
                      const unsigned char *bytes, Table *table)
{
    for (size_t i = 0; i < layout->nfields; i++) {
        const DebugOffsetsField *f = &layout->fields[i];

        table_set(table, f->key, read_u64(byte_order, bytes, f->offset));
    }
}
