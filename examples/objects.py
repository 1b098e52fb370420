"""Pass a few kinds of objects to id(), for the object helpers' example.

    python3.11 examples/objects.py

The README's ad-hoc example puts a probe on CPython's builtin_id() and
shows each argument with py_type_name(), py_refcount() and py_repr().
"""
import time


class Thing:
    pass


def main():
    time.sleep(0.5)
    samples = [
        12345, -7, 2 ** 59 + 1, 10 ** 30, 2.5, True, None,
        "hello", 'quote " and \n newline', b"\x00bytes", (1, 2, 3),
        [1, 2], {"a": 1, "b": 2, "c": 3}, Thing(),
    ]
    for obj in samples:
        id(obj)


if __name__ == "__main__":
    main()
