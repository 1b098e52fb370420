# versions.mk: the scope-painting extension (runtime/pyscope) for every
# CPython it supports (3.8 to 3.13, see frames.c) that pyenv has here.
#
#   make pyext-versions
#
# builds, for each 3.X, the package into $(BUILD)/py-3.X/pyscope/ (the C
# module with its DWARF, and __init__.py) exactly as the main Makefile
# builds $(PYEXT) for python3.11: setup.py build_ext, -g, nothing stripped;
# each version has its own build-temp.  PYTHONPATH=build/py-3.X makes that
# interpreter's `import pyscope` find it; tests/py/run-versions.sh runs the
# unit tests that way.  The interpreter used for 3.X is the newest
# $(PYENV_VERSIONS)/3.X.Y/bin/python3.X; a 3.X with none is skipped with a
# message.  An interpreter without setuptools (pyenv's 3.12 and 3.13 have
# only pip) gets the setuptools wheel its own test suite ships
# (lib/python3.X/test/[wheeldata/]setuptools-*.whl), unpacked once into
# $(BUILD)/setuptools-3.X and put on PYTHONPATH for the build: offline, and
# nothing is installed into the interpreter.
#
# Included by the main Makefile (include runtime/pyscope/versions.mk);
# also works alone: make -f runtime/pyscope/versions.mk

BUILD ?= build
PYENV_VERSIONS ?= $(or $(PYENV_ROOT),/root/.pyenv)/versions
PYEXT_MINORS ?= 3.8 3.9 3.10 3.11 3.12 3.13

# Whether this file is included before or after the main Makefile's first
# rule, the default goal stays (or, alone, becomes pyext-versions).
pyext_versions_saved_goal := $(.DEFAULT_GOAL)

PYEXT_VERSIONS_SRC := $(wildcard runtime/pyscope/*.c runtime/pyscope/*.h \
	runtime/sampler/*.c runtime/sampler/*.h runtime/include/*.h) \
	runtime/pyscope/setup.py runtime/pyscope/pyscope/__init__.py

# "3.X=DIR" for each supported 3.X, DIR the newest pyenv 3.X.Y with a
# python3.X (3.X.Y exactly: no 3.13.0t, no 3.12-dev).  Looked for only
# when a goal of this file is asked for (it starts some twenty processes,
# which every `make` of the tools would pay for).
ifneq ($(filter pyext-version%,$(MAKECMDGOALS))$(filter %versions.mk,$(firstword $(MAKEFILE_LIST))),)
PYEXT_FOUND := $(shell for m in $(PYEXT_MINORS); do \
	for d in $(PYENV_VERSIONS)/$$m.*; do \
	    case $$d in (*/$$m.*[!0-9]*) continue ;; esac; \
	    [ -x "$$d/bin/python$$m" ] && echo "$$d"; \
	done | sort -V | tail -n 1 | sed "s|^|$$m=|"; done)
PYEXT_PRESENT := $(foreach f,$(PYEXT_FOUND),$(firstword $(subst =, ,$(f))))
PYEXT_ABSENT := $(filter-out $(PYEXT_PRESENT),$(PYEXT_MINORS))
endif
# pyext_prefix(3.X): that pyenv version's directory.
pyext_prefix = $(patsubst $(1)=%,%,$(filter $(1)=%,$(PYEXT_FOUND)))

.PHONY: pyext-versions pyext-versions-found \
	$(addprefix pyext-version-,$(PYEXT_MINORS))

pyext-versions: $(addprefix pyext-version-,$(PYEXT_MINORS))

# "3.X PYTHON" per line for each 3.X found, "3.X -" for each one not
# (tests/py/run-versions.sh asks this).
pyext-versions-found:
	@$(foreach m,$(PYEXT_MINORS),echo "$(m) $(if $(call \
		pyext_prefix,$(m)),$(call pyext_prefix,$(m))/bin/python$(m),-)";)

ifneq ($(PYEXT_ABSENT),)
$(addprefix pyext-version-,$(PYEXT_ABSENT)): pyext-version-%:
	@echo "pyext-versions: skipping $*: no $(PYENV_VERSIONS)/$*.N/bin/python$*"
endif

ifneq ($(PYEXT_PRESENT),)
$(addprefix pyext-version-,$(PYEXT_PRESENT)): pyext-version-%: \
		$(BUILD)/py-%/.built

$(patsubst %,$(BUILD)/py-%/.built,$(PYEXT_PRESENT)): $(BUILD)/py-%/.built: \
		$(PYEXT_VERSIONS_SRC) runtime/pyscope/versions.mk
	@echo "pyext-versions: $* with $(call pyext_prefix,$*)/bin/python$*"
	@mkdir -p $(BUILD)/py-$*/pyscope
	@py=$(call pyext_prefix,$*)/bin/python$*; st=; \
	if ! "$$py" -c 'import setuptools' 2>/dev/null; then \
	    whl=$$(ls $(call pyext_prefix,$*)/lib/python$*/test/setuptools-*.whl \
	           $(call pyext_prefix,$*)/lib/python$*/test/wheeldata/setuptools-*.whl \
	           2>/dev/null | sort -V | tail -n 1); \
	    if [ -z "$$whl" ]; then \
	        echo "pyext-versions: $*: no setuptools, and no wheel of it in its test suite" >&2; \
	        exit 1; \
	    fi; \
	    st=$(abspath $(BUILD))/setuptools-$*; \
	    if [ ! -f "$$st/.from" ] || [ "$$(cat "$$st/.from")" != "$$whl" ]; then \
	        rm -rf "$$st" && "$$py" -m zipfile -e "$$whl" "$$st" \
	            && echo "$$whl" > "$$st/.from" || exit 1; \
	    fi; \
	    echo "pyext-versions: $*: setuptools from $$whl"; \
	fi; \
	cd runtime/pyscope && env $${st:+PYTHONPATH="$$st"} "$$py" setup.py -q build_ext \
		--build-lib $(abspath $(BUILD))/py-$* \
		--build-temp $(abspath $(BUILD))/pyext-tmp-$*
	cp runtime/pyscope/pyscope/__init__.py $(BUILD)/py-$*/pyscope/__init__.py
	@touch $@
endif

.DEFAULT_GOAL := $(or $(pyext_versions_saved_goal),$(if $(filter \
	%versions.mk,$(firstword $(MAKEFILE_LIST))),pyext-versions,all))
