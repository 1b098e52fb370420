# offsets.mk: build $(BUILD)/pyscope-offsets, which prints a CPython
# build's offsets table (tools/offsets/keys.tsv) from its DWARF, or
# without DWARF (--elf-only, --debug-offsets) from its ELF symbols and
# CPython 3.13+'s _Py_DebugOffsets.
# Included by the main Makefile (include tools/offsets/offsets.mk);
# also works alone: make -f tools/offsets/offsets.mk
# Needs libdw-dev and libelf-dev.

BUILD ?= build
CC ?= gcc
CFLAGS ?= -O2 -g -Wall -Wextra -std=c11

OFFSETS_KEYS := tools/offsets/keys.tsv
OFFSETS_GEN := tools/offsets/gen-keys.sh
# The key table, generated from keys.tsv (the one schema of the keys).
OFFSETS_KEYTABLE := $(BUILD)/offsets/keytable.c
OFFSETS_SRC := $(wildcard tools/offsets/*.c) $(OFFSETS_KEYTABLE)
OFFSETS_HDR := $(wildcard tools/offsets/*.h)
OFFSETS_TOOL := $(BUILD)/pyscope-offsets

# Whether this file is included before or after the main Makefile's first
# rule, the default goal stays (or, alone, becomes) "all".
offsets_saved_goal := $(.DEFAULT_GOAL)

.PHONY: offsets-tables

all: $(OFFSETS_TOOL)

$(OFFSETS_KEYTABLE): $(OFFSETS_KEYS) $(OFFSETS_GEN)
	@mkdir -p $(@D)
	$(OFFSETS_GEN) keytable $(OFFSETS_KEYS) > $@.tmp && mv $@.tmp $@

$(OFFSETS_TOOL): $(OFFSETS_SRC) $(OFFSETS_HDR)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) -Itools/offsets -o $@ $(OFFSETS_SRC) -ldw -lelf

# Rewrite tools/offsets/tables/3.X.tsv from the installed CPythons'
# headers (tests/offsets/make-tables.sh; see its header).
offsets-tables:
	tests/offsets/make-tables.sh

.DEFAULT_GOAL := $(or $(offsets_saved_goal),all)
