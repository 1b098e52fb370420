"""Pass a few kinds of objects to id(), for the object helpers' example.

    python3.11 examples/objects.py

The README's ad-hoc example puts a probe on CPython's builtin_id() and
shows each argument with py_type_name(), py_refcount() and py_repr().

Then a few forged objects, whose memory lies as a crashed or hostile
program's can: copies of real objects (ctypes buffers) with a field
changed.  A probe reads them as it reads any object and must show each
bounded or marked, never fail.  They are safe to hand to id(), which only
takes their address: their reference count is far from zero, nothing
else touches them, and the garbage collector is off meanwhile.
"""
import ctypes
import gc
import sys
import time


class Thing:
    pass


# where the fields of CPython 3.11's objects are (64-bit)
OB_REFCNT, OB_TYPE, OB_SIZE = 0, 8, 16
TP_NAME = 24
STR_LENGTH, STR_UTF8_LENGTH, STR_UTF8 = 16, 48, 56

_kept = []


def _unmapped():
    """an address nothing is mapped at (a page mapped, then unmapped)"""
    libc = ctypes.CDLL(None)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                          ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    page = libc.mmap(None, 4096, 3, 0x22, -1, 0)  # read+write, anonymous
    libc.munmap(page, 4096)
    return page


def _address(obj):
    """obj's address, without id() (the example's probe is on id())"""
    return ctypes.c_void_p.from_buffer(ctypes.py_object(obj)).value


def _forge(model, *fields):
    """A copy of MODEL's memory with FIELDS (offset, ctype, value) set,
    returned as an object; its reference count stays near 2**30."""
    size = sys.getsizeof(model)
    buf = ctypes.create_string_buffer(size + 64)
    ctypes.memmove(buf, _address(model), size)
    ctypes.c_ssize_t.from_buffer(buf, OB_REFCNT).value = 1 << 30
    for offset, ctype, value in fields:
        ctype.from_buffer(buf, offset).value = value
    _kept.append(buf)
    return ctypes.cast(ctypes.addressof(buf), ctypes.py_object).value


def forged():
    nowhere = _unmapped()
    i64 = ctypes.c_int64
    nameless = _forge(Thing, (TP_NAME, i64, nowhere))
    return [
        # a str claiming 2**40 characters
        _forge("x" * 50, (STR_LENGTH, i64, 1 << 40)),
        # a str of 4-byte characters whose UTF-8 copy is unmapped
        _forge("\U0001f40d" * 3, (STR_UTF8_LENGTH, i64, 12),
               (STR_UTF8, i64, nowhere)),
        # bytes claiming 2**40 bytes, and a negative size
        _forge(b"y" * 50, (OB_SIZE, i64, 1 << 40)),
        _forge(b"z", (OB_SIZE, i64, -5)),
        # an int claiming 2**40 digits
        _forge(10 ** 30, (OB_SIZE, i64, 1 << 40)),
        # a list claiming a negative length
        _forge([1, 2], (OB_SIZE, i64, -1)),
        # an object whose type is unmapped memory
        _forge(Thing(), (OB_TYPE, i64, nowhere)),
        # an object whose type's name is unmapped memory
        _forge(Thing(), (OB_TYPE, i64, _address(nameless))),
    ]


def main():
    time.sleep(0.5)
    samples = [
        12345, -7, 2 ** 59 + 1, 10 ** 30, 2.5, True, None,
        "hello", 'quote " and \n newline', b"\x00bytes", (1, 2, 3),
        [1, 2], {"a": 1, "b": 2, "c": 3}, Thing(),
    ]
    for obj in samples:
        id(obj)
    gc.disable()
    for obj in forged():
        id(obj)


if __name__ == "__main__":
    main()
