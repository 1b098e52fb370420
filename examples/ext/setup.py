"""Build the example C extensions used by the leak and refcount examples.

    python3.11 setup.py build_ext --build-lib DIR [--build-temp TMP]

`make` does this into build/ext.  They are built with -O0 -g on purpose:
refcount-watch.sh puts a statement probe on every source line of a
function, which needs one address per line and variables that live in
memory, i.e. code the way it was written.
"""
import os

from setuptools import Extension, setup

SRC = os.path.relpath(os.path.dirname(os.path.abspath(__file__)))
FLAGS = ["-O0", "-g", "-Wall", "-Wextra", "-Wno-unused-parameter"]

setup(
    name="pyscope-examples",
    version="1.0",
    ext_modules=[
        Extension("refbug", sources=[os.path.join(SRC, "refbug.c")],
                  extra_compile_args=FLAGS),
        Extension("leaky", sources=[os.path.join(SRC, "leaky.c")],
                  extra_compile_args=FLAGS),
    ],
)
