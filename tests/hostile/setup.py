"""Build tests/hostile/hostile.c (CPython 3.11 only: it crafts 3.11's
interpreter frames):

    python3.11 setup.py build_ext --build-lib DIR --build-temp TMP
"""
import os

from setuptools import Extension, setup

SRC = os.path.relpath(os.path.dirname(os.path.abspath(__file__)))

setup(
    name="pyscope-hostile",
    version="1.0",
    ext_modules=[
        Extension("hostile", sources=[os.path.join(SRC, "hostile.c")],
                  extra_compile_args=["-O1", "-g", "-Wall", "-Werror"]),
    ],
)
