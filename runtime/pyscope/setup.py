"""Build pyscope's runtime: the package `pyscope` and its C module.

    python3.11 setup.py build_ext --build-lib DIR [--build-temp TMP]

puts a ready-to-import package in DIR (DIR/pyscope/__init__.py and the C
module), which is what `make` does into build/py.  pip works too
(`python3.11 -m pip install --no-build-isolation --no-deps .`).  Offline:
setuptools only.  Any CPython 3.8 to 3.13 builds it the same way
(frames.c has what differs); `make pyext-versions` (versions.mk) does so
for each one pyenv has, into build/py-3.X.

The allocation sampler it shares with the LD_PRELOAD library is compiled
from ../sampler, and the constants shared with the tapsets come from
../include: pip needs the whole runtime/ directory (a checkout), not this
one alone.

The shared object must keep its DWARF: out-of-process readers (SystemTap)
find the label table through it.  Hence -g, and no stripping anywhere.
"""
import os
import platform
import shutil

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# The sampler's thread-local state is read on every allocation (sampler.h):
# TLS descriptors make that a %fs offset once glibc has placed it, instead
# of a __tls_get_addr() call each time.
TLS_DIALECT = (["-mtls-dialect=gnu2"] if platform.machine() == "x86_64"
               else [])

HERE = os.path.dirname(os.path.abspath(__file__))
# setuptools wants paths relative to the working directory.
SRC = os.path.relpath(HERE)
# The sampler (runtime/sampler) and the shared constants (runtime/include),
# beside this directory.  Their sources are given absolute: setuptools puts
# an object at BUILD_TEMP/SOURCE, and a "../" there would leave the
# build-temp (and make every build-temp share one object).
SAMPLER = os.path.normpath(os.path.join(HERE, os.pardir, "sampler"))
INCLUDE = os.path.normpath(os.path.join(HERE, os.pardir, "include"))

SOURCES = ["module.c", "label.c", "table.c", "text.c", "frames.c", "crash.c",
           "unwound.c", "sampling.c"]
SAMPLER_SOURCES = ["sampler.c", "liveset.c", "pymem_hooks.c"]


class BuildExtWithPackage(build_ext):
    """build_ext that also copies the pure-Python part next to the module,
    so --build-lib DIR alone gives an importable package."""

    def run(self):
        super().run()
        if not self.inplace:
            target = os.path.join(self.build_lib, "pyscope")
            os.makedirs(target, exist_ok=True)
            shutil.copyfile(os.path.join(HERE, "pyscope", "__init__.py"),
                            os.path.join(target, "__init__.py"))


setup(
    name="pyscope",
    version="1.0",
    description="Scope painting: labels on CPython frames, readable from "
                "outside the process",
    packages=["pyscope"],
    package_dir={"pyscope": os.path.join(SRC, "pyscope")},
    ext_modules=[
        Extension(
            "pyscope._pyscope",
            sources=([os.path.join(SRC, s) for s in SOURCES] +
                     [os.path.join(SAMPLER, s) for s in SAMPLER_SOURCES]),
            include_dirs=[SAMPLER, INCLUDE],
            depends=([os.path.join(SRC, h) for h in
                      ("pyscope_labels.h", "table.h", "text.h", "frames.h",
                       "crash.h", "label.h", "unwound.h", "sampling.h")] +
                     [os.path.join(SAMPLER, h) for h in
                      ("sampler.h", "liveset.h", "pymem_hooks.h")] +
                     [os.path.join(INCLUDE, "pyscope_shared.h")]),
            extra_compile_args=["-g", "-O2", "-Wall", "-Wextra",
                                "-fno-strict-aliasing"] + TLS_DIALECT,
            # log() and expm1() for the sampler (sampler.c).
            libraries=["m"],
        ),
    ],
    cmdclass={"build_ext": BuildExtWithPackage},
    python_requires=">=3.8, <3.14",
)
