/* offsets_oracle.c: the reference pyscope offsets table of one CPython
 * build, from that build's own headers.
 *
 * Compiled once per CPython version, against its include/python3.X
 * directory (with internal/ headers) and -DPy_BUILD_CORE; see
 * tests/offsets/build-oracle.sh for the flags.  Prints "key<TAB>decimal"
 * for every key of tools/offsets/keys.tsv that applies to the version
 * it was compiled for, using offsetof() and sizeof(), except:
 *   - the elf keys (sym.*, elf.exec: only the ELF file knows them), and
 *   - the bit positions of PyASCIIObject.state's bitfields, which C cannot
 *     take the offset of: they are found by setting the field to 1 in a
 *     zeroed struct and looking for the bit that changed, and
 *   - the const keys (values of the build, not offsets): the headers' own
 *     enum values and macros (FRAME_OWNED_BY_*, Py_TAG_BITS, PyLong_SHIFT,
 *     _PyLong_SIGN_MASK, Py_TPFLAGS_*, ...) and sizeof of their scalar
 *     types, each printed only where the header defines it (a macro is
 *     tested with #ifdef), so a header that lacks one shows as a missing
 *     key in the check at the end.
 * Which keys apply to which version comes from keys.tsv, through
 * oracle_keys.h (tools/offsets/gen-keys.sh oracle; build-oracle.sh makes
 * it): PYSCOPE_KEY_x says whether key x applies.  The values, and which
 * member a key is in each version, come from the headers alone.  At the
 * end the keys printed are checked against keys.tsv's list for the version
 * (exit 1 and one line per difference).
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
#  include <internal/pycore_frame.h>    /* _PyInterpreterFrame, owners */
#endif

#if PY_VERSION_HEX >= 0x030C0000
#  include <internal/pycore_long.h>     /* SIGN_NEGATIVE */
#endif

#if PY_VERSION_HEX >= 0x030E0000
#  include <internal/pycore_stackref.h> /* Py_TAG_BITS */
#endif

#if PY_VERSION_HEX < 0x030B0000
#  include <longintrepr.h>              /* digit, PyLong_SHIFT */
#endif

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "oracle_keys.h"

typedef struct {
    const char *key;
    int first_minor;
    int last_minor;     /* -1: every later one */
    int optional;       /* may be absent where it applies */
} SchemaKey;

static const SchemaKey schema_keys[] = {PYSCOPE_ORACLE_KEYS};

#define NSCHEMA (sizeof(schema_keys) / sizeof(schema_keys[0]))
#define MAX_PUT 128

static const char *put_keys[MAX_PUT];
static size_t nput;

static void
put(const char *key, size_t value)
{
    printf("%s\t%zu\n", key, value);
    if (nput < MAX_PUT) {
        put_keys[nput] = key;
    }
    nput++;
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

    (void)obj;
#if PYSCOPE_KEY_str_state_kind_bit
    memset(&obj, 0, sizeof(obj));
    obj.state.kind = 1;
    put("str.state.kind_bit",
        (size_t)lowest_set_bit(&obj.state, sizeof(obj.state)));
#endif

#if PYSCOPE_KEY_str_state_compact_bit
    memset(&obj, 0, sizeof(obj));
    obj.state.compact = 1;
    put("str.state.compact_bit",
        (size_t)lowest_set_bit(&obj.state, sizeof(obj.state)));
#endif

#if PYSCOPE_KEY_str_state_ascii_bit
    memset(&obj, 0, sizeof(obj));
    obj.state.ascii = 1;
    put("str.state.ascii_bit",
        (size_t)lowest_set_bit(&obj.state, sizeof(obj.state)));
#endif
}

/* The members' names below are those of the headers of each version;
   whether a key applies at all is keys.tsv's (PYSCOPE_KEY_*). */
static void
put_interpreter_keys(void)
{
#if PYSCOPE_KEY_runtime_interpreters_head
    OFFSET("runtime.interpreters_head", _PyRuntimeState, interpreters.head);
#endif
#if PYSCOPE_KEY_runtime_tstate_current
    OFFSET("runtime.tstate_current", _PyRuntimeState,
           gilstate.tstate_current);
#endif

#if PYSCOPE_KEY_interp_next
    OFFSET("interp.next", PyInterpreterState, next);
#endif
#if PYSCOPE_KEY_runtime_ceval_gil
    OFFSET("runtime.ceval_gil", _PyRuntimeState, ceval.gil);
#endif
#if PYSCOPE_KEY_interp_ceval_gil
    OFFSET("interp.ceval_gil", PyInterpreterState, ceval.gil);
#endif
#if PYSCOPE_KEY_gil_locked
    OFFSET("gil.locked", struct _gil_runtime_state, locked);
#endif
#if PYSCOPE_KEY_gil_last_holder
    OFFSET("gil.last_holder", struct _gil_runtime_state, last_holder);
#endif
#if PYSCOPE_KEY_interp_threads_head
#  if PY_VERSION_HEX < 0x030B0000
    OFFSET("interp.threads_head", PyInterpreterState, tstate_head);
#  else
    OFFSET("interp.threads_head", PyInterpreterState, threads.head);
#  endif
#endif

#if PYSCOPE_KEY_tstate_next
    OFFSET("tstate.next", PyThreadState, next);
#endif
#if PYSCOPE_KEY_tstate_interp
    OFFSET("tstate.interp", PyThreadState, interp);
#endif
#if PYSCOPE_KEY_tstate_thread_id
    OFFSET("tstate.thread_id", PyThreadState, thread_id);
#endif
#if PYSCOPE_KEY_tstate_native_thread_id
    OFFSET("tstate.native_thread_id", PyThreadState, native_thread_id);
#endif
#if PYSCOPE_KEY_tstate_frame
    OFFSET("tstate.frame", PyThreadState, frame);
#endif
#if PYSCOPE_KEY_tstate_cframe
    OFFSET("tstate.cframe", PyThreadState, cframe);
#endif
#if PYSCOPE_KEY_cframe_current_frame
    OFFSET("cframe.current_frame", _PyCFrame, current_frame);
#endif
#if PYSCOPE_KEY_tstate_current_frame
    OFFSET("tstate.current_frame", PyThreadState, current_frame);
#endif
}

static void
put_frame_keys(void)
{
#if PYSCOPE_KEY_pyframe_f_back
    OFFSET("pyframe.f_back", PyFrameObject, f_back);
#endif
#if PYSCOPE_KEY_pyframe_f_code
    OFFSET("pyframe.f_code", PyFrameObject, f_code);
#endif
#if PYSCOPE_KEY_pyframe_f_lasti
    OFFSET("pyframe.f_lasti", PyFrameObject, f_lasti);
#endif
#if PYSCOPE_KEY_pyframe_f_lineno
    OFFSET("pyframe.f_lineno", PyFrameObject, f_lineno);
#endif
#if PYSCOPE_KEY_iframe_previous
    OFFSET("iframe.previous", _PyInterpreterFrame, previous);
#endif
#if PYSCOPE_KEY_iframe_code
#  if PY_VERSION_HEX < 0x030D0000
    OFFSET("iframe.code", _PyInterpreterFrame, f_code);
#  else
    OFFSET("iframe.code", _PyInterpreterFrame, f_executable);
#  endif
#endif
#if PYSCOPE_KEY_iframe_instr
#  if PY_VERSION_HEX < 0x030D0000
    OFFSET("iframe.instr", _PyInterpreterFrame, prev_instr);
#  else
    OFFSET("iframe.instr", _PyInterpreterFrame, instr_ptr);
#  endif
#endif
#if PYSCOPE_KEY_iframe_is_entry
    OFFSET("iframe.is_entry", _PyInterpreterFrame, is_entry);
#endif
#if PYSCOPE_KEY_iframe_owner
    OFFSET("iframe.owner", _PyInterpreterFrame, owner);
#endif
#if PYSCOPE_KEY_iframe_frame_obj
    OFFSET("iframe.frame_obj", _PyInterpreterFrame, frame_obj);
#endif
}

static void
put_code_keys(void)
{
#if PYSCOPE_KEY_code_co_name
    OFFSET("code.co_name", PyCodeObject, co_name);
#endif
#if PYSCOPE_KEY_code_co_qualname
    OFFSET("code.co_qualname", PyCodeObject, co_qualname);
#endif
#if PYSCOPE_KEY_code_co_filename
    OFFSET("code.co_filename", PyCodeObject, co_filename);
#endif
#if PYSCOPE_KEY_code_co_firstlineno
    OFFSET("code.co_firstlineno", PyCodeObject, co_firstlineno);
#endif
#if PYSCOPE_KEY_code_co_lnotab
    OFFSET("code.co_lnotab", PyCodeObject, co_lnotab);
#endif
#if PYSCOPE_KEY_code_co_linetable
    OFFSET("code.co_linetable", PyCodeObject, co_linetable);
#endif
#if PYSCOPE_KEY_code_co_code
    OFFSET("code.co_code", PyCodeObject, co_code);
#endif
#if PYSCOPE_KEY_code_co_code_adaptive
    OFFSET("code.co_code_adaptive", PyCodeObject, co_code_adaptive);
#endif
#if PYSCOPE_KEY_code__co_firsttraceable
    /* Every 3.11-3.13 release has it; keys.tsv allows it to go away. */
    OFFSET("code._co_firsttraceable", PyCodeObject, _co_firsttraceable);
#endif
}

static void
put_object_keys(void)
{
#if PYSCOPE_KEY_object_ob_refcnt && !defined(Py_GIL_DISABLED)
    /* A free-threaded PyObject has ob_ref_local/ob_ref_shared instead. */
    OFFSET("object.ob_refcnt", PyObject, ob_refcnt);
#endif
#if PYSCOPE_KEY_object_ob_type
    OFFSET("object.ob_type", PyObject, ob_type);
#endif
#if PYSCOPE_KEY_varobject_ob_size
    OFFSET("varobject.ob_size", PyVarObject, ob_size);
#endif
#if PYSCOPE_KEY_type_tp_name
    OFFSET("type.tp_name", PyTypeObject, tp_name);
#endif
#if PYSCOPE_KEY_type_tp_flags
    OFFSET("type.tp_flags", PyTypeObject, tp_flags);
#endif
#if PYSCOPE_KEY_bytes_ob_sval
    OFFSET("bytes.ob_sval", PyBytesObject, ob_sval);
#endif

#if PYSCOPE_KEY_str_length
    OFFSET("str.length", PyASCIIObject, length);
#endif
#if PYSCOPE_KEY_str_state
    OFFSET("str.state", PyASCIIObject, state);
#endif
    put_unicode_state_bits();
#if PYSCOPE_KEY_str_ascii_size
    put("str.ascii_size", sizeof(PyASCIIObject));
#endif
#if PYSCOPE_KEY_str_compact_size
    put("str.compact_size", sizeof(PyCompactUnicodeObject));
#endif
#if PYSCOPE_KEY_str_utf8
    OFFSET("str.utf8", PyCompactUnicodeObject, utf8);
#endif
#if PYSCOPE_KEY_str_utf8_length
    OFFSET("str.utf8_length", PyCompactUnicodeObject, utf8_length);
#endif

#if PYSCOPE_KEY_float_ob_fval
    OFFSET("float.ob_fval", PyFloatObject, ob_fval);
#endif
#if PYSCOPE_KEY_long_ob_digit
#  if PY_VERSION_HEX < 0x030C0000
    OFFSET("long.ob_digit", PyLongObject, ob_digit);
#  else
    OFFSET("long.ob_digit", PyLongObject, long_value.ob_digit);
#  endif
#endif
#if PYSCOPE_KEY_long_lv_tag
    OFFSET("long.lv_tag", PyLongObject, long_value.lv_tag);
#endif
#if PYSCOPE_KEY_dict_ma_used
    OFFSET("dict.ma_used", PyDictObject, ma_used);
#endif
}

/* The const keys: values the build's headers define (not offsets). */
static void
put_const_keys(void)
{
#if PYSCOPE_KEY_iframe_owner_generator
    put("iframe.owner_generator", FRAME_OWNED_BY_GENERATOR);
#endif
#if PYSCOPE_KEY_iframe_owner_first_shim
    /* The rule the key stands for: the owners of Python function frames
       are below it, the others from it up. */
#  if PY_VERSION_HEX >= 0x030E0000
    _Static_assert(FRAME_OWNED_BY_THREAD < FRAME_OWNED_BY_INTERPRETER
                   && FRAME_OWNED_BY_GENERATOR < FRAME_OWNED_BY_INTERPRETER
                   && FRAME_OWNED_BY_FRAME_OBJECT < FRAME_OWNED_BY_INTERPRETER
                   && FRAME_OWNED_BY_CSTACK > FRAME_OWNED_BY_INTERPRETER,
                   "3.14: the interpreter's and the C stack's frames last");
    put("iframe.owner_first_shim", FRAME_OWNED_BY_INTERPRETER);
#  else
    _Static_assert(FRAME_OWNED_BY_THREAD < FRAME_OWNED_BY_CSTACK
                   && FRAME_OWNED_BY_GENERATOR < FRAME_OWNED_BY_CSTACK
                   && FRAME_OWNED_BY_FRAME_OBJECT < FRAME_OWNED_BY_CSTACK,
                   "the C stack's frames last");
    put("iframe.owner_first_shim", FRAME_OWNED_BY_CSTACK);
#  endif
#endif
#if PYSCOPE_KEY_stackref_tag_bits && defined(Py_TAG_BITS)
    put("stackref.tag_bits", (size_t)Py_TAG_BITS);
#endif
#if PYSCOPE_KEY_code_unit_size
    put("code.unit_size", sizeof(_Py_CODEUNIT));
#endif
#if PYSCOPE_KEY_long_digit_bits && defined(PyLong_SHIFT)
    put("long.digit_bits", PyLong_SHIFT);
#endif
#if PYSCOPE_KEY_long_digit_size
    put("long.digit_size", sizeof(digit));
#endif
#if PYSCOPE_KEY_long_lv_tag_sign_mask && defined(_PyLong_SIGN_MASK)
    put("long.lv_tag_sign_mask", _PyLong_SIGN_MASK);
#endif
#if PYSCOPE_KEY_long_lv_tag_sign_negative && defined(SIGN_NEGATIVE)
    put("long.lv_tag_sign_negative", SIGN_NEGATIVE);
#endif
#if PYSCOPE_KEY_long_lv_tag_size_shift && defined(_PyLong_NON_SIZE_BITS)
    put("long.lv_tag_size_shift", _PyLong_NON_SIZE_BITS);
#endif
#if PYSCOPE_KEY_tpflags_long_subclass && defined(Py_TPFLAGS_LONG_SUBCLASS)
    put("tpflags.long_subclass", Py_TPFLAGS_LONG_SUBCLASS);
#endif
#if PYSCOPE_KEY_tpflags_list_subclass && defined(Py_TPFLAGS_LIST_SUBCLASS)
    put("tpflags.list_subclass", Py_TPFLAGS_LIST_SUBCLASS);
#endif
#if PYSCOPE_KEY_tpflags_tuple_subclass && defined(Py_TPFLAGS_TUPLE_SUBCLASS)
    put("tpflags.tuple_subclass", Py_TPFLAGS_TUPLE_SUBCLASS);
#endif
#if PYSCOPE_KEY_tpflags_bytes_subclass && defined(Py_TPFLAGS_BYTES_SUBCLASS)
    put("tpflags.bytes_subclass", Py_TPFLAGS_BYTES_SUBCLASS);
#endif
#if PYSCOPE_KEY_tpflags_unicode_subclass && defined(Py_TPFLAGS_UNICODE_SUBCLASS)
    put("tpflags.unicode_subclass", Py_TPFLAGS_UNICODE_SUBCLASS);
#endif
#if PYSCOPE_KEY_tpflags_dict_subclass && defined(Py_TPFLAGS_DICT_SUBCLASS)
    put("tpflags.dict_subclass", Py_TPFLAGS_DICT_SUBCLASS);
#endif
}

static int
was_put(const char *key)
{
    int n = 0;

    for (size_t i = 0; i < nput && i < MAX_PUT; i++) {
        n += strcmp(put_keys[i], key) == 0;
    }
    return n;
}

static int
schema_applies(const SchemaKey *k)
{
    return PY_MINOR_VERSION >= k->first_minor
           && (k->last_minor < 0 || PY_MINOR_VERSION <= k->last_minor);
}

/* The keys printed are keys.tsv's for this version, each once (an
   optional key may be missing; so may ob_refcnt, free-threaded).
   Returns the number of differences, each reported on stderr. */
static int
check_against_schema(void)
{
    int bad = 0;

    if (nput > MAX_PUT) {
        fprintf(stderr, "offsets_oracle: more than %d keys\n", MAX_PUT);
        return 1;
    }
    for (size_t i = 0; i < NSCHEMA; i++) {
        const SchemaKey *k = &schema_keys[i];
        int n = was_put(k->key);
        int may_miss = k->optional;

#ifdef Py_GIL_DISABLED
        may_miss |= strcmp(k->key, "object.ob_refcnt") == 0;
#endif
        if (n > 1 || (n == 1 && !schema_applies(k))
            || (n == 0 && schema_applies(k) && !may_miss)) {
            char last[16] = "+";

            if (k->last_minor >= 0) {
                snprintf(last, sizeof(last), "-3.%d", k->last_minor);
            }
            fprintf(stderr, "offsets_oracle: %s printed %d times; keys.tsv"
                    " has it for 3.%d%s, this is 3.%d\n", k->key, n,
                    k->first_minor, last, PY_MINOR_VERSION);
            bad++;
        }
    }
    for (size_t i = 0; i < nput; i++) {
        size_t j;

        for (j = 0; j < NSCHEMA; j++) {
            if (strcmp(put_keys[i], schema_keys[j].key) == 0) {
                break;
            }
        }
        if (j == NSCHEMA) {
            fprintf(stderr, "offsets_oracle: %s is not in keys.tsv\n",
                    put_keys[i]);
            bad++;
        }
    }
    return bad;
}

int
main(void)
{
    printf("# offsets_oracle: CPython %s headers, offsetof/sizeof\n",
           PY_VERSION);
#if PYSCOPE_KEY_version_hex
    put("version_hex", (size_t)PY_VERSION_HEX);
#endif
#if PYSCOPE_KEY_free_threaded
#  ifdef Py_GIL_DISABLED
    put("free_threaded", 1);
#  else
    put("free_threaded", 0);
#  endif
#endif
    put_interpreter_keys();
    put_frame_keys();
    put_code_keys();
    put_object_keys();
    put_const_keys();
    return check_against_schema() == 0 ? 0 : 1;
}
