/* layout.c - read the layout macro file of scripts/lib/layout-stpm.sh. */
#include "layout.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MACROS 256
#define MAX_NAME 64

typedef struct {
    char name[MAX_NAME];
    long value;
} Macro;

typedef struct {
    Macro macros[MAX_MACROS];
    size_t count;
} MacroSet;

/* "@define NAME %( VALUE %)" with a decimal VALUE: into set. */
static void
parse_line(const char *line, MacroSet *set)
{
    char name[MAX_NAME];
    char *end;
    const char *p;
    long value;
    int used = 0;

    if (set->count >= MAX_MACROS
        || sscanf(line, "@define %63s %%( %n", name, &used) != 1
        || used == 0) {
        return;
    }
    p = line + used;
    errno = 0;
    value = strtol(p, &end, 10);
    if (end == p || errno != 0 || strncmp(end, " %)", 3) != 0) {
        return;                 /* a string (pyscope_python), not a number */
    }
    strcpy(set->macros[set->count].name, name);
    set->macros[set->count].value = value;
    set->count++;
}

/* The value of macro name, or fallback when the file has none. */
static long
get(const MacroSet *set, const char *name, long fallback)
{
    for (size_t i = 0; i < set->count; i++) {
        if (strcmp(set->macros[i].name, name) == 0) {
            return set->macros[i].value;
        }
    }
    return fallback;
}

bool
layout_read(const char *path, DumpLayout *L, char *error, size_t error_size)
{
    static const char *const needed[] = {
        "py_version_minor", "py_frame_model", "py_cur_frame_path",
        "py_entry_rule", "py_lasti_model", "py_linetable_format",
        "py_thread_match", "py_off_code_name", "py_sym__PyRuntime",
        "py_elf_exec", "py_code_unit_size", "py_glibc_pthread_tid",
    };
    MacroSet *set;
    char *line = NULL;
    size_t capacity = 0;
    FILE *f = fopen(path, "r");

    if (f == NULL) {
        snprintf(error, error_size, "%s: %s", path, strerror(errno));
        return false;
    }
    set = calloc(1, sizeof(*set));
    if (set == NULL) {
        fclose(f);
        snprintf(error, error_size, "out of memory");
        return false;
    }
    L->title[0] = '\0';
    while (getline(&line, &capacity, f) > 0) {
        if (L->title[0] == '\0' && strncmp(line, "   CPython ", 11) == 0) {
            snprintf(L->title, sizeof(L->title), "%s", line + 3);
            L->title[strcspn(L->title, "\n")] = '\0';
        }
        parse_line(line, set);
    }
    free(line);
    fclose(f);
    for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
        if (get(set, needed[i], -1) == -1 && strcmp(needed[i], "py_elf_exec")) {
            snprintf(error, error_size, "%s: no %s (not a layout file of "
                     "scripts/lib/layout-stpm.sh?)", path, needed[i]);
            free(set);
            return false;
        }
    }

    L->minor = get(set, "py_version_minor", -1);
    L->model = get(set, "py_frame_model", -1);
    L->cur_frame_path = get(set, "py_cur_frame_path", -1);
    L->entry_rule = get(set, "py_entry_rule", -1);
    L->lasti_model = get(set, "py_lasti_model", -1);
    L->linetable_format = get(set, "py_linetable_format", -1);
    L->thread_match = get(set, "py_thread_match", -1);
    L->tag_mask = get(set, "py_code_tag_mask", 0);
    L->str_kind_bit = get(set, "py_str_kind_bit", 2);
    L->str_compact_bit = get(set, "py_str_compact_bit", 5);
    L->str_ascii_bit = get(set, "py_str_ascii_bit", 6);
    L->code_unit = get(set, "py_code_unit_size", 2);
    if (L->code_unit <= 0) {
        L->code_unit = 1;
    }
    L->owner_generator = get(set, "py_iframe_owner_generator", -1);
    L->owner_first_shim = get(set, "py_iframe_owner_first_shim", -1);

    L->sym_runtime = get(set, "py_sym__PyRuntime", -1);
    L->elf_exec = get(set, "py_elf_exec", 0);
    L->off_interpreters_head = get(set, "py_runtime_interpreters_head", -1);
    L->off_interp_next = get(set, "py_interp_next", -1);
    L->off_threads_head = get(set, "py_interp_threads_head", -1);
    L->off_tstate_next = get(set, "py_tstate_next", -1);
    L->off_tstate_current = get(set, "py_runtime_tstate_current", -1);
    L->off_native_id = get(set, "py_tstate_native_thread_id", -1);
    L->off_thread_id = get(set, "py_tstate_thread_id", -1);
    L->pthread_tid_off = get(set, "py_glibc_pthread_tid", -1);
    L->off_tstate_frame = get(set, "py_tstate_frame", -1);
    L->off_tstate_current_frame = get(set, "py_tstate_current_frame", -1);
    L->off_tstate_cframe = get(set, "py_tstate_cframe", -1);
    L->off_cframe_current_frame = get(set, "py_cframe_current_frame", -1);

    /* python_offsets.stp's __py_off_frame_code/previous and
       python_walk.stp's __py_layout_load */
    L->off_code = L->model == 1 ? get(set, "py_pyframe_f_code", -1)
                                : get(set, "py_iframe_code", -1);
    L->off_prev = L->model == 1 ? get(set, "py_pyframe_f_back", -1)
                                : get(set, "py_iframe_previous", -1);
    L->off_lasti = get(set, "py_pyframe_f_lasti", -1);
    L->off_instr = get(set, "py_iframe_instr", -1);
    L->off_owner = get(set, "py_iframe_owner", -1);
    L->off_entry = get(set, "py_iframe_is_entry", -1);
    L->off_frame_obj = get(set, "py_iframe_frame_obj", -1);

    L->off_adaptive = get(set, "py_code_co_code_adaptive", -1);
    L->off_first = get(set, "py_code__co_firsttraceable", -1);
    L->off_qualname = get(set, "py_off_code_name", -1);
    L->off_linetable = L->linetable_format == 38
                           ? get(set, "py_code_co_lnotab", -1)
                           : get(set, "py_code_co_linetable", -1);
    L->off_filename = get(set, "py_code_co_filename", -1);
    L->off_firstlineno = get(set, "py_code_co_firstlineno", -1);

    L->off_ob_size = get(set, "py_varobject_ob_size", -1);
    L->off_bytes_sval = get(set, "py_bytes_ob_sval", -1);
    L->off_str_length = get(set, "py_str_length", -1);
    L->off_str_state = get(set, "py_str_state", -1);
    L->str_ascii_size = get(set, "py_str_ascii_size", -1);
    L->str_compact_size = get(set, "py_str_compact_size", -1);
    L->off_str_utf8 = get(set, "py_str_utf8", -1);
    L->off_str_utf8_length = get(set, "py_str_utf8_length", -1);

    L->off_runtime_gil = get(set, "py_runtime_ceval_gil", -1);
    L->off_interp_gil = get(set, "py_interp_ceval_gil", -1);
    L->off_gil_locked = get(set, "py_gil_locked", -1);
    L->off_gil_holder = get(set, "py_gil_last_holder", -1);
    free(set);

    if (L->off_code < 0 || L->off_prev < 0 || L->off_filename < 0
        || L->off_qualname < 0 || L->off_linetable < 0
        || L->off_interpreters_head < 0 || L->off_threads_head < 0
        || L->off_tstate_next < 0 || L->off_interp_next < 0) {
        snprintf(error, error_size, "%s: the layout lacks an offset the walk "
                 "needs", path);
        return false;
    }
    return true;
}
