# dump.mk: build $(BUILD)/pyscope-dump (tools/dump), the one-shot stack
# dump of every thread of a running CPython process, read from user space
# (scripts/py-stack.sh is its front).  It reuses tools/offsets' ELF and
# process-memory readers, and the label table's layout from the runtime's
# own header (runtime/pyscope/pyscope_labels.h, the readers' contract).  Included by the main Makefile; needs libdw-dev
# and libelf-dev.

DUMP_SRC := $(wildcard tools/dump/*.c) tools/offsets/elfinfo.c tools/offsets/procmem.c
DUMP_HDR := $(wildcard tools/dump/*.h) tools/offsets/elfinfo.h tools/offsets/procmem.h \
	runtime/pyscope/pyscope_labels.h runtime/include/pyscope_shared.h
DUMP_TOOL := $(BUILD)/pyscope-dump

dump_saved_goal := $(.DEFAULT_GOAL)

all: $(DUMP_TOOL)

$(DUMP_TOOL): $(DUMP_SRC) $(DUMP_HDR)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) -Itools/dump -Itools/offsets -Iruntime/pyscope -Iruntime/include -o $@ $(DUMP_SRC) -ldw -lelf

.DEFAULT_GOAL := $(or $(dump_saved_goal),all)
