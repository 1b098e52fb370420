# pyscope: build the C runtime, run the tests, run the demo.
# `make` builds; `make check` runs every test (in the QEMU guest where
# needed); `make demo` profiles examples/demo.py.  tests/run.sh and
# scripts/demo.sh do the same after installing what they need.

CC ?= gcc
CFLAGS ?= -O2 -g -Wall -Wextra -Werror -std=c11 -D_GNU_SOURCE
BUILD ?= build

PYTHON ?= /usr/bin/python3.11
.DEFAULT_GOAL := all

# What the build needs to know of $(PYTHON) (its extension suffix and
# include directory), asked once and kept: starting the interpreter twice
# on every `make` costs seconds under emulation, where the tools run make.
PYCONFIG := $(BUILD)/python-config.mk
-include $(PYCONFIG)
$(PYCONFIG): $(PYTHON)
	@mkdir -p $(BUILD)
	$(PYTHON) -c 'import sysconfig as s; print("PY_EXT_SUFFIX := " + s.get_config_var("EXT_SUFFIX")); print("PY_INCLUDE := " + s.get_paths()["include"])' > $@.tmp && mv $@.tmp $@

PYEXT_DIR := $(BUILD)/py
PYEXT := $(PYEXT_DIR)/pyscope/_pyscope$(PY_EXT_SUFFIX)
PYEXT_SRC := $(wildcard runtime/pyscope/*.c runtime/pyscope/*.h \
	runtime/sampler/*.c runtime/sampler/*.h runtime/include/*.h) \
	runtime/pyscope/setup.py runtime/pyscope/pyscope/__init__.py

# The allocation sampler (runtime/sampler), which the extension
# (runtime/pyscope/setup.py) and the LD_PRELOAD library both compile; the
# constants shared with the tapsets (runtime/include).
SAMPLER_DIR := runtime/sampler
SAMPLER_SRC := $(wildcard $(SAMPLER_DIR)/*.c)
SAMPLER_HDR := $(wildcard $(SAMPLER_DIR)/*.h) runtime/include/pyscope_shared.h

# The allocation sampler as an LD_PRELOAD library: its own wrappers plus
# the sampler.
PRELOAD := $(BUILD)/libpyscope-alloc.so
PRELOAD_SRC := runtime/preload/preload.c $(SAMPLER_SRC)
PRELOAD_HDR := $(SAMPLER_HDR)

# Host tools: the report readers (tools/report); pyscope-offsets is
# tools/offsets/offsets.mk's.
REPORT_DIR := tools/report
REPORT_SRC := $(wildcard $(REPORT_DIR)/*.c)
REPORT_HDR := $(wildcard $(REPORT_DIR)/*.h)
REPORT_LIB_SRC := $(filter-out $(REPORT_DIR)/main.c $(REPORT_DIR)/leak_main.c $(REPORT_DIR)/top_main.c,$(REPORT_SRC))
# zlib (Debian's zlib1g-dev) gzips the pprof output (pprof.c).
REPORT_LIBS := -lz

.PHONY: all check test-c demo deps bench bench-leak bench-cpu bench-wall regrtest soak clean install uninstall

EXAMPLE_EXT_DIR := $(BUILD)/ext
EXAMPLE_EXT_SRC := $(wildcard examples/ext/*.c) examples/ext/setup.py
EXAMPLE_EXT_STAMP := $(EXAMPLE_EXT_DIR)/.built

all: $(BUILD)/pyscope-report $(BUILD)/pyscope-leak $(BUILD)/pyscope-top $(PYEXT) $(PRELOAD) tapsets/pyscope_runtime.stpm \
	tapsets/pyscope_layout.stpm tapsets/pyscope_shared.stpm tapsets/python_keys.stp \
	$(EXAMPLE_EXT_STAMP)

# The scope-painting extension, with its DWARF (the tapsets read its label
# table through it).  PYTHONPATH=build/py makes `import pyscope` find it.
$(PYEXT): $(PYEXT_SRC)
	@mkdir -p $(PYEXT_DIR)
	cd runtime/pyscope && $(PYTHON) setup.py -q build_ext \
		--build-lib $(abspath $(PYEXT_DIR)) --build-temp $(abspath $(BUILD))/pyext-tmp
	cp runtime/pyscope/pyscope/__init__.py $(PYEXT_DIR)/pyscope/__init__.py
	@touch $@

# LD_PRELOAD=build/libpyscope-alloc.so: initial-exec TLS (a preloaded
# library gets static TLS; no allocation on a thread's first access, which
# happens inside malloc); everything hidden but the malloc family and
# pyscope_alloc_preload_api.  Python.h for the allocator types only: it
# does not link against libpython.
$(PRELOAD): $(PRELOAD_SRC) $(PRELOAD_HDR)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) -fPIC -shared -fvisibility=hidden \
		-ftls-model=initial-exec -I$(SAMPLER_DIR) -Iruntime/include -I$(PY_INCLUDE) \
		-o $@ $(PRELOAD_SRC) -lm -ldl

# The example extensions (leaks and refcount bugs to hunt), -O0 -g.
# PYTHONPATH=build/ext makes `import refbug` find them.
$(EXAMPLE_EXT_STAMP): $(EXAMPLE_EXT_SRC)
	@mkdir -p $(EXAMPLE_EXT_DIR)
	cd examples/ext && $(PYTHON) setup.py -q build_ext \
		--build-lib $(abspath $(EXAMPLE_EXT_DIR)) --build-temp $(abspath $(BUILD))/ext-tmp
	@touch $@

# Which shared object holds the label table, for tapsets/labels.stp.
tapsets/pyscope_runtime.stpm: $(PYEXT) $(PRELOAD) Makefile
	scripts/lib/runtime-stpm.sh $(abspath $(PYEXT)) $(abspath $(PRELOAD)) > $@.tmp && mv $@.tmp $@

# The tapsets' accessors of the offsets tables' keys.
tapsets/python_keys.stp: tools/offsets/keys.tsv tools/offsets/gen-keys.sh
	sh tools/offsets/gen-keys.sh tapset tools/offsets/keys.tsv > $@.tmp && mv $@.tmp $@

# The constants the C runtime and the tapsets share, as tapset macros.
tapsets/pyscope_shared.stpm: runtime/include/pyscope_shared.h scripts/lib/shared-stpm.sh
	scripts/lib/shared-stpm.sh runtime/include/pyscope_shared.h > $@.tmp && mv $@.tmp $@

# The CPython layout the tapsets read by default: Debian's python3.11
# (tools targeting another interpreter write a private one).
tapsets/pyscope_layout.stpm: $(BUILD)/pyscope-offsets scripts/lib/layout-stpm.sh \
		tools/offsets/keys.tsv tools/offsets/glibc.tsv \
		$(wildcard tools/offsets/tables/*.tsv)
	PYSCOPE_QUIET=1 scripts/lib/layout-stpm.sh $(PYTHON) > $@.tmp && mv $@.tmp $@

$(BUILD)/pyscope-report: $(REPORT_DIR)/main.c $(REPORT_LIB_SRC) $(REPORT_HDR)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) -o $@ $(REPORT_DIR)/main.c $(REPORT_LIB_SRC) $(REPORT_LIBS)

# The leak report (scripts/leak-watch.sh), from the same library.
$(BUILD)/pyscope-leak: $(REPORT_DIR)/leak_main.c $(REPORT_LIB_SRC) $(REPORT_HDR)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) -o $@ $(REPORT_DIR)/leak_main.c $(REPORT_LIB_SRC) $(REPORT_LIBS)

# The live view (scripts/py-top.sh), from the same library.
$(BUILD)/pyscope-top: $(REPORT_DIR)/top_main.c $(REPORT_LIB_SRC) $(REPORT_HDR)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) -o $@ $(REPORT_DIR)/top_main.c $(REPORT_LIB_SRC) $(REPORT_LIBS)

$(BUILD)/test-report: tests/c/test_report.c $(REPORT_LIB_SRC) $(REPORT_HDR)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) -I$(REPORT_DIR) -o $@ tests/c/test_report.c $(REPORT_LIB_SRC) $(REPORT_LIBS)

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
	PYTHONPATH=$(PYEXT_DIR) PYSCOPE_PRELOAD=$(abspath $(PRELOAD)) \
		$(PYTHON) runtime/pyscope/bench.py

# What allocation tracing costs: examples/alloc_churn.py untraced and under
# tracemalloc, bcc's memleak and pyscope's leak-watch modes, all in the QEMU
# guest (its clock counting instructions), as ratios to the untraced run of
# the same bench run.  Installs bpfcc-tools (scripts/install-deps.sh
# --bench).  BENCH_LEAK_ARGS, e.g. "-r 5 -n 200000" or
# "-w examples/service_churn.py", go to bench/leak-bench.sh (-h lists them).
bench-leak: all
	bench/leak-bench.sh $(BENCH_LEAK_ARGS)

# What CPU sampling costs: examples/cpu_churn.py's workloads untraced and
# under perf, bpftrace, an empty SystemTap probe and cpu-sample, all in the
# QEMU guest with the icount clock; ratios and instructions per sample,
# with the machine and the date, in bench/results/cpu.md (the README
# links it; logs in build/bench-cpu).
# BENCH_CPU_ARGS, e.g. "-r 5 -w python", go to bench/cpu-bench.sh.
bench-cpu: all
	bench/cpu-bench.sh $(BENCH_CPU_ARGS)

# What --wall costs on a switch-heavy workload (two threads handing a token
# through queues, examples/cpu_churn.py --workload pingpong) and on the
# threads workload: cpu-sample with and without --wall, and --wall's two
# probes with handlers that only count (stap-switch: the floor of its cost), against
# the untraced run, same guest, icount clock; bench/results/wall.md.
# BENCH_WALL_ARGS, e.g. "-r 5 -n 2000", go to bench/cpu-bench.sh.
bench-wall: all
	bench/cpu-bench.sh -w pingpong,threads -n 3000 \
		--only stap-switch,cs-merged-99,cs-wall-99 -o $(BUILD)/bench-wall \
		--results bench/results/wall.md $(BENCH_WALL_ARGS)

# A traced program behaves as if pyscope were not there: a subset of
# CPython's own tests untraced, under cpu-sample -F 999, under leak-watch
# and with pyscope's runtime installed, in one guest boot; every test's
# result the same four times (tests/regrtest.sh; the default 22 modules
# take some 50 minutes, so not in the suite); bench/results/regrtest.md.  REGRTEST_ARGS, e.g. the
# modules, go to tests/regrtest.sh.
regrtest: all
	tests/regrtest.sh $(REGRTEST_ARGS)

# Heavy load for minutes: leak-watch (trace, then sampled) on millions of
# allocations a second, cpu-sample -F 999 on 16 busy threads, in one
# guest boot; tables bounded, losses counted and reported, kernel memory
# flat (tests/soak.sh; some 22 minutes); bench/results/soak.md.
# SOAK_ARGS (e.g. --leak-seconds 60 --cpu-seconds 60) go to tests/soak.sh.
soak: all
	tests/soak.sh $(SOAK_ARGS)

clean:
	rm -rf $(BUILD) tapsets/pyscope_runtime.stpm tapsets/pyscope_layout.stpm \
		tapsets/pyscope_shared.stpm tapsets/python_keys.stp

# make install [PREFIX=/usr/local] [DESTDIR=]: the tools, ready to run and
# never building, in $(PREFIX)/lib/pyscope (a tree laid out like the
# checkout: scripts/, tapsets/, the build products in build/, the offset
# tables in tools/offsets; its INSTALLED file marks it), and on PATH through links:
# pyscope (the front command), pyscope-cpu-sample, pyscope-leak-watch,
# pyscope-refcount-watch, pyscope-py-stack, pyscope-py-top and pyscope-run.  Nothing installed names the checkout: the tapsets' runtime
# macros name the installed runtime.  Own scripts use the tapsets with
# `stap -I $(PREFIX)/lib/pyscope/tapsets`.  What the tools keep between
# runs goes to ~/.cache/pyscope (PYSCOPE_CACHE), never into the tree.
# `import pyscope` (frame labels): pip install runtime/pyscope.
PREFIX ?= /usr/local
PYSCOPE_LIB := $(PREFIX)/lib/pyscope
INSTALL_LIB := $(DESTDIR)$(PYSCOPE_LIB)
INSTALL_BIN := $(DESTDIR)$(PREFIX)/bin
INSTALL_TOOLS := cpu-sample leak-watch refcount-watch
INSTALL_SCRIPTS := $(foreach t,$(INSTALL_TOOLS),scripts/$(t).sh scripts/$(t).stp \
	scripts/$(t)_example.txt) scripts/py-stack.sh scripts/py-stack_example.txt \
	scripts/py-top.sh scripts/py-top_example.txt \
	scripts/pyscope-run scripts/pyscope
INSTALL_EXECUTABLES := $(filter %.sh scripts/pyscope-run scripts/pyscope,$(INSTALL_SCRIPTS))
INSTALL_SCRIPT_LIB := $(filter-out %/stap-4.8-fixes,$(wildcard scripts/lib/*))

install: all
	@case "$(PREFIX)" in *[!A-Za-z0-9/._+-]*|[!/]*) echo "make install: PREFIX must be an absolute path of letters, digits and /._+-, got '$(PREFIX)'" >&2; exit 1 ;; esac
	rm -rf $(INSTALL_LIB)
	install -d $(INSTALL_LIB)/scripts/lib/stap-4.8-fixes $(INSTALL_LIB)/tapsets \
		$(INSTALL_LIB)/build/py/pyscope $(INSTALL_LIB)/tools/offsets/tables $(INSTALL_BIN)
	install -m 755 $(INSTALL_EXECUTABLES) $(INSTALL_LIB)/scripts/
	install -m 644 $(filter-out $(INSTALL_EXECUTABLES),$(INSTALL_SCRIPTS)) $(INSTALL_LIB)/scripts/
	install -m 755 $(INSTALL_SCRIPT_LIB) $(INSTALL_LIB)/scripts/lib/
	install -m 644 scripts/lib/stap-4.8-fixes/*.patch $(INSTALL_LIB)/scripts/lib/stap-4.8-fixes/
	install -m 644 tapsets/*.stp tapsets/pyscope.stpm tapsets/pyscope_layout.stpm \
		tapsets/pyscope_shared.stpm $(INSTALL_LIB)/tapsets/
	scripts/lib/runtime-stpm.sh $(PYSCOPE_LIB)/build/py/pyscope/$(notdir $(PYEXT)) \
		$(PYSCOPE_LIB)/build/$(notdir $(PRELOAD)) > $(INSTALL_LIB)/tapsets/pyscope_runtime.stpm
	install -m 755 $(BUILD)/pyscope-report $(BUILD)/pyscope-leak $(BUILD)/pyscope-offsets \
		$(BUILD)/pyscope-dump $(BUILD)/pyscope-top $(INSTALL_LIB)/build/
	install -m 644 $(PRELOAD) $(INSTALL_LIB)/build/
	install -m 644 $(PYEXT) $(PYEXT_DIR)/pyscope/__init__.py $(INSTALL_LIB)/build/py/pyscope/
	install -m 644 tools/offsets/keys.tsv tools/offsets/glibc.tsv \
		$(INSTALL_LIB)/tools/offsets/
	install -m 644 tools/offsets/tables/*.tsv $(INSTALL_LIB)/tools/offsets/tables/
	for t in $(INSTALL_TOOLS); do \
		ln -sfn ../lib/pyscope/scripts/$$t.sh $(INSTALL_BIN)/pyscope-$$t || exit 1; \
	done
	ln -sfn ../lib/pyscope/scripts/pyscope-run $(INSTALL_BIN)/pyscope-run
	ln -sfn ../lib/pyscope/scripts/py-stack.sh $(INSTALL_BIN)/pyscope-py-stack
	ln -sfn ../lib/pyscope/scripts/py-top.sh $(INSTALL_BIN)/pyscope-py-top
	ln -sfn ../lib/pyscope/scripts/pyscope $(INSTALL_BIN)/pyscope
	printf '%s\n' "pyscope, installed by make install (PREFIX=$(PREFIX)); make uninstall removes it" \
		> $(INSTALL_LIB)/INSTALLED

# Removes what make install put there (the tree only if it is one).
uninstall:
	for t in $(addprefix pyscope-,$(INSTALL_TOOLS)) pyscope-py-stack pyscope-py-top pyscope-run pyscope; do \
		case "$$(readlink $(INSTALL_BIN)/$$t)" in ../lib/pyscope/scripts/*) rm -f $(INSTALL_BIN)/$$t ;; esac; \
	done
	if [ -f $(INSTALL_LIB)/INSTALLED ]; then rm -rf $(INSTALL_LIB); fi

# pyscope-offsets: a CPython build's offsets table from its DWARF
# (tools/offsets), for interpreters whose DWARF the run itself lacks.
include tools/offsets/offsets.mk
# pyscope-dump: every thread's stack, once, read from user space
# (tools/dump; scripts/py-stack.sh).
include tools/dump/dump.mk
include runtime/pyscope/versions.mk
