# pyscope: build the C runtime, run the tests, run the demo.
# `make` builds; `make check` runs every test (in the QEMU guest where
# needed); `make demo` profiles examples/demo.py.  tests/run.sh and
# scripts/demo.sh do the same after installing what they need.

CC ?= gcc
CFLAGS ?= -O2 -g -Wall -Wextra -Werror -std=c11 -D_GNU_SOURCE
BUILD ?= build

PYTHON ?= /usr/bin/python3.11
PYEXT_DIR := $(BUILD)/py
PYEXT := $(PYEXT_DIR)/pyscope/_pyscope$(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))' 2>/dev/null)
PYEXT_SRC := $(wildcard runtime/pyscope/*.c runtime/pyscope/*.h) \
	runtime/pyscope/setup.py runtime/pyscope/pyscope/__init__.py

REPORT_SRC := $(wildcard runtime/report/*.c)
REPORT_HDR := $(wildcard runtime/report/*.h)
REPORT_LIB_SRC := $(filter-out runtime/report/main.c,$(REPORT_SRC))

.PHONY: all check test-c demo deps bench clean

EXAMPLE_EXT_DIR := $(BUILD)/ext
EXAMPLE_EXT_SRC := $(wildcard examples/ext/*.c) examples/ext/setup.py
EXAMPLE_EXT_STAMP := $(EXAMPLE_EXT_DIR)/.built

all: $(BUILD)/pyscope-report $(PYEXT) tapsets/pyscope_runtime.stpm $(EXAMPLE_EXT_STAMP)

# The scope-painting extension, with its DWARF (the tapsets read its label
# table through it).  PYTHONPATH=build/py makes `import pyscope` find it.
$(PYEXT): $(PYEXT_SRC)
	@mkdir -p $(PYEXT_DIR)
	cd runtime/pyscope && $(PYTHON) setup.py -q build_ext \
		--build-lib $(abspath $(PYEXT_DIR)) --build-temp $(abspath $(BUILD))/pyext-tmp
	cp runtime/pyscope/pyscope/__init__.py $(PYEXT_DIR)/pyscope/__init__.py
	@touch $@

# The example extensions (leaks and refcount bugs to hunt), -O0 -g.
# PYTHONPATH=build/ext makes `import refbug` find them.
$(EXAMPLE_EXT_STAMP): $(EXAMPLE_EXT_SRC)
	@mkdir -p $(EXAMPLE_EXT_DIR)
	cd examples/ext && $(PYTHON) setup.py -q build_ext \
		--build-lib $(abspath $(EXAMPLE_EXT_DIR)) --build-temp $(abspath $(BUILD))/ext-tmp
	@touch $@

# Which shared object holds the label table, for tapsets/labels.stp.
tapsets/pyscope_runtime.stpm: $(PYEXT) Makefile
	scripts/lib/runtime-stpm.sh $(abspath $(PYEXT)) > $@.tmp && mv $@.tmp $@

$(BUILD)/pyscope-report: $(REPORT_SRC) $(REPORT_HDR)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) -o $@ $(REPORT_SRC)

$(BUILD)/test-report: tests/c/test_report.c $(REPORT_LIB_SRC) $(REPORT_HDR)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) -Iruntime/report -o $@ tests/c/test_report.c $(REPORT_LIB_SRC)

test-c: $(BUILD)/test-report
	$(BUILD)/test-report

check: all
	tests/run.sh

demo: all
	scripts/demo.sh

deps:
	scripts/install-deps.sh

# Ratios against baselines measured in the same run (never a timed test).
bench: all
	PYTHONPATH=$(PYEXT_DIR) $(PYTHON) runtime/pyscope/bench.py

clean:
	rm -rf $(BUILD) tapsets/pyscope_runtime.stpm
