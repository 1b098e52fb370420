"""live_check.py: check a pyscope offsets table against the interpreter
running this script, by reading the interpreter's own memory with ctypes
at the table's offsets (what the tapsets do from outside).

usage: python3.X tests/offsets/live_check.py TABLE

Run it with the very build the table describes.  Prints "ok CHECK" or
"FAIL CHECK: detail" per check and exits 1 if any failed, 2 if a key the
checks need is missing from the table.  Written for Python 3.8 and newer.
"""

import ctypes
import dis
import sys
import sysconfig
import threading

failures = []


def load_table(path):
    table = {}
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            key, value = line.rstrip("\n").split("\t")
            table[key] = int(value)
    return table


TABLE = load_table(sys.argv[1])
MINOR = sys.version_info[1]


def key(name):
    if name not in TABLE:
        print(f"FAIL table: no key {name}")
        sys.exit(2)
    return TABLE[name]


def check(name, got, want):
    if got == want:
        print(f"ok {name}")
    else:
        print(f"FAIL {name}: got {got!r}, want {want!r}")
        failures.append(name)


def ptr(addr):
    return ctypes.c_void_p.from_address(addr).value or 0


def ssize(addr):
    return ctypes.c_ssize_t.from_address(addr).value


def c_int(addr):
    return ctypes.c_int.from_address(addr).value


def c_ulong(addr):
    return ctypes.c_ulong.from_address(addr).value


def c_uint(addr):
    return ctypes.c_uint.from_address(addr).value


def c_byte(addr):
    return ctypes.c_ubyte.from_address(addr).value


def api(name, restype=ctypes.c_void_p, argtypes=()):
    func = getattr(ctypes.pythonapi, name)
    func.restype = restype
    func.argtypes = list(argtypes)
    return func


def symbol_address(name):
    return ctypes.addressof(ctypes.c_char.in_dll(ctypes.pythonapi, name))


class DlInfo(ctypes.Structure):
    _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]


def load_bias(address):
    """What to subtract from an address in the ELF file that holds it to
    get its st_value: the load address of a shared object or PIE, 0 for a
    fixed-address executable (ET_EXEC)."""
    dladdr = ctypes.CDLL(None).dladdr
    dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(DlInfo)]
    info = DlInfo()
    if not dladdr(address, ctypes.byref(info)):
        return None
    with open(info.dli_fname, "rb") as elf:
        e_type = int.from_bytes(elf.read(18)[16:18], sys.byteorder)
    return 0 if e_type == 2 else info.dli_fbase


def check_version_and_symbols():
    check("version_hex", key("version_hex"), sys.hexversion)
    gil_disabled = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    check("free_threaded", key("free_threaded"), int(gil_disabled))
    for name in ("_PyRuntime", "Py_Version"):
        if "sym." + name in TABLE:
            address = symbol_address(name)
            bias = load_bias(address)
            check("sym." + name, TABLE["sym." + name],
                  None if bias is None else address - bias)


def check_runtime():
    runtime = symbol_address("_PyRuntime")
    interp = api("PyInterpreterState_Main")()
    tstate = api("PyThreadState_Get")()
    # One interpreter with one thread (this script starts none).
    check("runtime.interpreters_head",
          ptr(runtime + key("runtime.interpreters_head")), interp)
    if MINOR <= 11:
        check("runtime.tstate_current",
              ptr(runtime + key("runtime.tstate_current")), tstate)
    check("interp.next", ptr(interp + key("interp.next")), 0)
    check("interp.threads_head",
          ptr(interp + key("interp.threads_head")), tstate)
    check("tstate.next", ptr(tstate + key("tstate.next")), 0)
    check("tstate.interp", ptr(tstate + key("tstate.interp")), interp)
    check("tstate.thread_id", c_ulong(tstate + key("tstate.thread_id")),
          threading.get_ident())
    if MINOR >= 11:
        check("tstate.native_thread_id",
              c_ulong(tstate + key("tstate.native_thread_id")),
              threading.get_native_id())
    return tstate


# The frame checks read memory with from_address() inline: calling a
# helper written in Python would make the helper the current frame.
VOIDP = ctypes.c_void_p
BYTE = ctypes.c_ubyte


def current_iframe_key():
    """(tstate key, cframe key or None) leading to the current frame."""
    if MINOR >= 13:
        return key("tstate.current_frame"), None
    return key("tstate.cframe"), key("cframe.current_frame")


def check_code_object(code):
    addr = id(code)
    check("code.co_name", ptr(addr + key("code.co_name")), id(code.co_name))
    check("code.co_filename", ptr(addr + key("code.co_filename")),
          id(code.co_filename))
    check("code.co_firstlineno", c_int(addr + key("code.co_firstlineno")),
          code.co_firstlineno)
    if MINOR <= 9:
        check("code.co_lnotab", ptr(addr + key("code.co_lnotab")),
              id(code.co_lnotab))
    else:
        check("code.co_linetable", ptr(addr + key("code.co_linetable")),
              id(code.co_linetable))
    if MINOR <= 10:
        check("code.co_code", ptr(addr + key("code.co_code")),
              id(code.co_code))
        return
    check("code.co_qualname", ptr(addr + key("code.co_qualname")),
          id(code.co_qualname))
    # The adaptive copy has co_code's opargs; its LOAD_CONST opcodes stay
    # (3.12 may fold one into a LOAD_CONST__LOAD_FAST superinstruction).
    adaptive = addr + key("code.co_code_adaptive")
    raw = code.co_code
    load_const = dis.opmap["LOAD_CONST"]
    units = [i for i in range(0, len(raw), 2) if raw[i] == load_const]
    check("code.co_code_adaptive (opargs)",
          [c_byte(adaptive + i + 1) for i in units],
          [raw[i + 1] for i in units])
    check("code.co_code_adaptive (LOAD_CONST opcodes)",
          sum(c_byte(adaptive + i) == load_const for i in units) > 0, True)
    if "code._co_firsttraceable" in TABLE:
        resume = dis.opmap["RESUME"]
        first = next(i // 2 for i in range(0, len(raw), 2)
                     if raw[i] == resume)
        check("code._co_firsttraceable",
              c_int(addr + TABLE["code._co_firsttraceable"]), first)


def check_frames_310(tstate, caller):
    frame = sys._getframe()
    current = VOIDP.from_address(tstate + key("tstate.frame")).value
    check("tstate.frame", current, id(frame))
    check("pyframe.f_code", ptr(current + key("pyframe.f_code")),
          id(frame.f_code))
    check("pyframe.f_back", ptr(current + key("pyframe.f_back")), id(caller))
    lasti = c_int(current + key("pyframe.f_lasti"))
    unit = 2 if MINOR == 10 else 1     # 3.10 counts code units
    check("pyframe.f_lasti (inside co_code)",
          0 <= lasti * unit < len(frame.f_code.co_code), True)
    # f_lineno is only kept up to date while tracing: its place is checked
    # against the headers only.
    check("pyframe.f_lineno (after f_lasti)",
          key("pyframe.f_lineno") > key("pyframe.f_lasti"), True)
    check_code_object(frame.f_code)


def check_frames_311(tstate, caller):
    frame = sys._getframe()     # makes the frame object
    first, second = current_iframe_key()
    iframe = VOIDP.from_address(tstate + first).value
    if second is not None:
        iframe = VOIDP.from_address(iframe + second).value
    instr = VOIDP.from_address(iframe + key("iframe.instr")).value
    code = frame.f_code
    check("iframe.code", ptr(iframe + key("iframe.code")), id(code))
    check("iframe.frame_obj", ptr(iframe + key("iframe.frame_obj")),
          id(frame))
    previous = ptr(iframe + key("iframe.previous"))
    check("iframe.previous", ptr(previous + key("iframe.code")),
          id(caller.f_code))
    check("iframe.owner (owned by the thread)",
          c_byte(iframe + key("iframe.owner")), 0)
    start = id(code) + key("code.co_code_adaptive")
    # 3.11-3.12 prev_instr may sit one unit before the first.
    check("iframe.instr (inside co_code_adaptive)",
          start - 2 <= instr < start + len(code.co_code), True)
    if MINOR == 11:
        check("iframe.is_entry (called from Python)",
              c_byte(iframe + key("iframe.is_entry")), 0)
    check_code_object(code)


def entry_frame_flag(tstate):
    first, second = current_iframe_key()
    iframe = VOIDP.from_address(tstate + first).value
    if second is not None:
        iframe = VOIDP.from_address(iframe + second).value
    return BYTE.from_address(iframe + key("iframe.is_entry")).value


def generator_frame_owner(tstate):
    first, second = current_iframe_key()
    iframe = VOIDP.from_address(tstate + first).value
    if second is not None:
        iframe = VOIDP.from_address(iframe + second).value
    yield BYTE.from_address(iframe + key("iframe.owner")).value


def check_frames(tstate):
    caller = sys._getframe()
    if MINOR <= 10:
        check_frames_310(tstate, caller)
        return
    check_frames_311(tstate, caller)
    check("iframe.owner (generator)",
          next(generator_frame_owner(tstate)), 1)
    if MINOR == 11:
        # Called from C (map), the frame is the entry of its C stack frame.
        check("iframe.is_entry (called from C)",
              list(map(entry_frame_flag, [tstate])), [1])


def check_objects():
    thing = object()
    check("object.ob_refcnt",
          ssize(id(thing) + key("object.ob_refcnt")),
          sys.getrefcount(thing) - 1)
    check("object.ob_type", ptr(id(thing) + key("object.ob_type")),
          id(object))
    items = [1, 2, 3]
    check("varobject.ob_size", ssize(id(items) + key("varobject.ob_size")),
          3)
    check("type.tp_name",
          ctypes.string_at(ptr(id(int) + key("type.tp_name"))), b"int")
    check("type.tp_flags", c_ulong(id(int) + key("type.tp_flags")),
          int.__flags__)
    data = bytes(range(65, 70))
    check("bytes.ob_sval",
          ctypes.string_at(id(data) + key("bytes.ob_sval"), 5), data)
    check("float.ob_fval",
          ctypes.c_double.from_address(id(2.5) + key("float.ob_fval")).value,
          2.5)
    number = (5 << 30) | 7          # two 30-bit digits: 7, 5
    digits = id(number) + key("long.ob_digit")
    check("long.ob_digit",
          [ctypes.c_uint32.from_address(digits + 4 * i).value
           for i in range(2)], [7, 5])
    if MINOR >= 12:
        check("long.lv_tag (2 digits, positive)",
              c_ulong(id(number) + key("long.lv_tag")), 2 << 3)
    table = {1: 2, 3: 4}
    check("dict.ma_used", ssize(id(table) + key("dict.ma_used")), 2)


def str_state(text):
    word = c_uint(id(text) + key("str.state"))
    return ((word >> key("str.state.kind_bit")) & 7,
            (word >> key("str.state.compact_bit")) & 1,
            (word >> key("str.state.ascii_bit")) & 1)


def check_strings():
    suffix = str(len(sys.argv))         # built at run time, not interned
    ascii_text = "pyscope-" + suffix
    check("str.length", ssize(id(ascii_text) + key("str.length")),
          len(ascii_text))
    check("str.state bits (ascii)", str_state(ascii_text), (1, 1, 1))
    check("str.ascii_size (data)",
          ctypes.string_at(id(ascii_text) + key("str.ascii_size"),
                           len(ascii_text)), ascii_text.encode())
    latin1 = "caf\u00e9-" + suffix
    check("str.state bits (latin-1)", str_state(latin1), (1, 1, 0))
    check("str.compact_size (latin-1 data)",
          ctypes.string_at(id(latin1) + key("str.compact_size"),
                           len(latin1)), latin1.encode("latin-1"))
    ucs2 = "\u0101-" + suffix
    check("str.state bits (ucs2)", str_state(ucs2), (2, 1, 0))
    check("str.compact_size (ucs2 data)",
          ctypes.string_at(id(ucs2) + key("str.compact_size"),
                           2 * len(ucs2)), ucs2.encode("utf-16-le"))
    as_utf8 = api("PyUnicode_AsUTF8", ctypes.c_void_p, [ctypes.py_object])
    utf8 = as_utf8(latin1)              # fills in the cached UTF-8 copy
    check("str.utf8", ptr(id(latin1) + key("str.utf8")), utf8)
    check("str.utf8_length", ssize(id(latin1) + key("str.utf8_length")),
          len(latin1.encode()))


def check_constants(tstate):
    """The const keys (values of the headers), where the table has them
    (the compiled-in tables; pyscope-offsets prints none): what the
    interpreter itself says or does."""
    has = TABLE.__contains__
    if has("long.digit_bits"):
        check("long.digit_bits", key("long.digit_bits"),
              sys.int_info.bits_per_digit)
    if has("long.digit_size"):
        check("long.digit_size", key("long.digit_size"),
              sys.int_info.sizeof_digit)
    if has("long.lv_tag_size_shift"):
        for number, digits, sign in ((-(5 << 30 | 7), 2, "negative"),
                                     ((5 << 30) | 7, 2, "positive")):
            tag = c_ulong(id(number) + key("long.lv_tag"))
            check(f"long.lv_tag_size_shift ({sign})",
                  tag >> key("long.lv_tag_size_shift"), digits)
            check(f"long.lv_tag_sign_mask/negative ({sign})",
                  (tag & key("long.lv_tag_sign_mask"))
                  == key("long.lv_tag_sign_negative"), sign == "negative")
    for name, tp, other in (("long", bool, float), ("list", list, tuple),
                            ("tuple", tuple, list), ("bytes", bytes, str),
                            ("unicode", str, bytes), ("dict", dict, list)):
        if has(f"tpflags.{name}_subclass"):
            bit = key(f"tpflags.{name}_subclass")
            check(f"tpflags.{name}_subclass",
                  (bool(tp.__flags__ & bit), bool(other.__flags__ & bit)),
                  (True, False))
    if has("iframe.owner_generator"):
        check("iframe.owner_generator", key("iframe.owner_generator"),
              next(generator_frame_owner(tstate)))
    if has("code.unit_size") and MINOR <= 10:
        # (3.11+ interleave inline caches that dis does not count)
        code = check_constants.__code__
        check("code.unit_size", key("code.unit_size"),
              len(code.co_code) // len(list(dis.get_instructions(code))))


def main():
    check_version_and_symbols()
    tstate = check_runtime()
    check_frames(tstate)
    check_objects()
    check_strings()
    check_constants(tstate)
    print(f"{len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
