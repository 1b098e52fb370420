/* layout.h - the layout of one CPython build, as the tapsets get it: the
   macro file scripts/lib/layout-stpm.sh writes (pyscope_layout.stpm: one
   "@define py_KEY %( VALUE %)" a key of tools/offsets/keys.tsv, -1 where
   a key does not apply, and the facts of tapsets/python_offsets.stp).
   Reading that file, and not the tables, keeps one chain of sources
   (live _Py_DebugOffsets, DWARF, extracted table, compiled-in table) for
   every tool. */
#ifndef PYSCOPE_DUMP_LAYOUT_H
#define PYSCOPE_DUMP_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>

/* The facts and offsets a dump needs (-1: not in this version).  The
   names are the tapsets' (python_walk.stp's struct pyscope_layout). */
typedef struct {
    char title[512];    /* "CPython 3.X.Y (FILE)", from its header */
    long minor;
    /* facts (python_offsets.stp) */
    long model, cur_frame_path, entry_rule, lasti_model, linetable_format;
    long thread_match, tag_mask;
    long str_kind_bit, str_compact_bit, str_ascii_bit;
    /* const keys */
    long code_unit, owner_generator, owner_first_shim;
    /* _PyRuntime and the lists of interpreters and thread states */
    long sym_runtime, elf_exec, off_interpreters_head, off_interp_next;
    long off_threads_head, off_tstate_next, off_tstate_current;
    long off_native_id, off_thread_id, pthread_tid_off;
    long off_tstate_frame, off_tstate_current_frame, off_tstate_cframe;
    long off_cframe_current_frame;
    /* frames */
    long off_code, off_prev, off_lasti, off_instr, off_owner, off_entry;
    long off_frame_obj;
    /* code objects */
    long off_adaptive, off_first, off_qualname, off_linetable;
    long off_filename, off_firstlineno;
    /* objects */
    long off_ob_size, off_bytes_sval, off_str_length, off_str_state;
    long str_ascii_size, str_compact_size, off_str_utf8;
    long off_str_utf8_length;
    /* the GIL (-1 where the layout lacks them: no GIL holder shown) */
    long off_runtime_gil, off_interp_gil, off_gil_locked, off_gil_holder;
} DumpLayout;

/* Read path (a pyscope_layout.stpm).  False, with a message in error,
   when it cannot be read or lacks a key the walk needs. */
bool layout_read(const char *path, DumpLayout *layout, char *error,
                 size_t error_size);

#endif
