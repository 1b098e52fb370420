/* func_view.c - the function-level view of the stacks (--no-lines). */
#include "func_view.h"

#include <stdlib.h>

#include "strbuf.h"
#include "util.h"

/* The frame of out that frame f of in becomes. */
static uint32_t
function_frame(const struct stacks *in, uint32_t f, struct stacks *out)
{
    size_t len, base_len, file_len;
    const char *name = stacks_frame_name(in, f, &len);
    const char *file = stacks_frame_file(in, f, &file_len);
    enum frame_kind kind = stacks_frame_kind(in, f);

    stacks_frame_base(in, f, &base_len);
    if (kind != FRAME_PYTHON || file == NULL) {
        return stacks_named_frame(out, kind, name, len, len, 0, 0, -1);
    }
    struct strbuf func = STRBUF_INIT;
    sb_append(&func, name, base_len);
    sb_append_str(&func, " (");
    sb_append(&func, file, file_len);
    sb_append_char(&func, ')');
    uint32_t id = stacks_named_frame(out, kind, func.data, func.len,
                                     base_len, base_len + 2, file_len, -1);
    sb_free(&func);
    return id;
}

void
stacks_function_view(const struct stacks *in, struct stacks *out)
{
    size_t nframes = in->names.count;
    size_t nstacks = stacks_count(in);
    uint32_t *frame_map = xcalloc(nframes + 1, sizeof(uint32_t));
    uint32_t *ids = NULL;
    size_t cap = 0;

    stacks_init(out, in->mode, in->threads);
    stacks_set_labels(out, in->labels);
    out->usec = in->usec;
    for (size_t f = 0; f < nframes; f++) {
        frame_map[f] = function_frame(in, (uint32_t)f, out);
    }
    for (size_t s = 0; s < nstacks; s++) {
        size_t depth;
        const uint32_t *frames = stacks_frames(in, s, &depth);
        ids = xgrow(ids, &cap, depth, sizeof(uint32_t));
        for (size_t d = 0; d < depth; d++) {
            ids[d] = frame_map[frames[d]];
        }
        stacks_add(out, ids, depth, in->counts[s]);
    }
    free(ids);
    free(frame_map);
}
