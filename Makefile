# pyscope: build the C runtime, run the tests, run the demo.
# `make` builds; `make check` runs every test (in the QEMU guest where
# needed); `make demo` profiles examples/demo.py.  tests/run.sh and
# scripts/demo.sh do the same after installing what they need.

CC ?= gcc
CFLAGS ?= -O2 -g -Wall -Wextra -Werror -std=c11 -D_GNU_SOURCE
BUILD ?= build

REPORT_SRC := $(wildcard runtime/report/*.c)
REPORT_HDR := $(wildcard runtime/report/*.h)
REPORT_LIB_SRC := $(filter-out runtime/report/main.c,$(REPORT_SRC))

.PHONY: all check test-c demo deps clean

all: $(BUILD)/pyscope-report

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

clean:
	rm -rf $(BUILD)
