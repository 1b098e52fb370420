/* speedscope.c - profiles in speedscope's JSON file format.
 *
 * The format contract (https://www.speedscope.app/file-format-schema.json,
 * the file speedscope's importer reads), as written here:
 *
 *   {"$schema": "https://www.speedscope.app/file-format-schema.json",
 *    "shared": {"frames": [{"name": N, "file": F, "line": L}, ...]},
 *    "profiles": [{"type": "sampled", "name": THREAD, "unit": U,
 *                  "startValue": 0, "endValue": TOTAL,
 *                  "samples": [[frame index, ...], ...],
 *                  "weights": [W, ...]}, ...],
 *    "name": TITLE, "activeProfileIndex": 0, "exporter": "pyscope"}
 *
 * - One frame per distinct frame of the stacks but the thread roots: a
 *   Python frame's name is its qualname, with "file" and, when known,
 *   "line"; any other frame (native symbol, marker, "[label TEXT]" of
 *   --labels split) is its name alone.
 * - One sampled profile per thread (its name "COMM (tid N)", or "COMM"
 *   when the tid is unknown), in the order threads were first met; the
 *   samples of no thread (folded input without thread roots) form one
 *   profile named after the title.  Each distinct stack of the thread is
 *   one sample, root first; the samples of a profile are not in time
 *   order (the stream does not keep it).
 * - Weights: the sample counts, unit "none"; when the sampling period is
 *   known (the stream's X period_ns), count times the period, unit
 *   "nanoseconds"; in a wall stream (wall.h) the samples' weights as they
 *   are, on-CPU and off-CPU time alike, unit "microseconds".
 * - Every string goes through sb_append_json: names and labels are
 *   hostile data (a <script>, a quote or a control character stays that
 *   text), invalid UTF-8 becomes U+FFFD.  Names keep the producer's
 *   escapes (a TAB is the two characters \t), as in every other output.
 */
#include "speedscope.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "strbuf.h"
#include "util.h"

static void
json_string(struct strbuf *sb, const char *s, size_t n)
{
    sb_append_char(sb, '"');
    sb_append_json(sb, s, n);
    sb_append_char(sb, '"');
}

/* Write and empty sb once it is big (the file can be large). */
static int
flush(struct strbuf *sb, FILE *out, bool force)
{
    if (sb->len >= 65536 || (force && sb->len > 0)) {
        size_t w = fwrite(sb_str(sb), 1, sb->len, out);
        bool ok = w == sb->len;
        sb_clear(sb);
        return ok ? 0 : -1;
    }
    return 0;
}

/* shared.frames; *index gets each frame id's index (UINT32_MAX: not
   written) */
static int
write_frames(const struct profile *p, struct strbuf *sb, uint32_t *index,
             FILE *out)
{
    const struct stacks *sk = p->sk;
    uint32_t next = 0;
    int rc = 0;

    sb_append_str(sb, "\"shared\":{\"frames\":[");
    for (size_t i = 0; i < sk->names.count; i++) {
        index[i] = UINT32_MAX;
    }
    for (size_t i = 0; i < p->keys.count; i++) {
        size_t depth;
        const uint32_t *ids = profile_frames(p, &p->samples[i], &depth);
        for (size_t j = 0; j < depth; j++) {
            uint32_t f = ids[j];
            if (index[f] != UINT32_MAX) {
                continue;
            }
            size_t len, file_len;
            const char *name = stacks_frame_base(sk, f, &len);
            const char *file = stacks_frame_file(sk, f, &file_len);
            int64_t line = stacks_frame_line(sk, f);

            if (next > 0) {
                sb_append_char(sb, ',');
            }
            index[f] = next++;
            sb_append_str(sb, "{\"name\":");
            json_string(sb, name, len);
            if (file != NULL) {
                sb_append_str(sb, ",\"file\":");
                json_string(sb, file, file_len);
                if (line >= 0) {
                    sb_printf(sb, ",\"line\":%" PRId64, line);
                }
            }
            sb_append_char(sb, '}');
            rc |= flush(sb, out, false);
        }
    }
    sb_append_str(sb, "]},");
    return rc;
}

/* One profile: the samples of thread (PROFILE_NONE: of no thread). */
static int
write_profile(const struct profile *p, uint32_t thread, const char *title,
              const uint32_t *index, struct strbuf *sb, FILE *out)
{
    uint64_t scale = p->period_ns > 0 && !p->wall ? p->period_ns : 1;
    const char *unit = p->wall ? "microseconds"
                       : p->period_ns > 0 ? "nanoseconds" : "none";
    uint64_t total = 0;
    bool first = true;
    int rc = 0;

    sb_append_str(sb, "{\"type\":\"sampled\",\"name\":");
    if (thread == PROFILE_NONE) {
        json_string(sb, title, strlen(title));
    }
    else {
        const struct profile_thread *t = &p->thread_info[thread];
        struct strbuf name = STRBUF_INIT;
        sb_append_str(&name, t->name);
        if (t->has_tid) {
            sb_printf(&name, " (tid %" PRIu64 ")", t->tid);
        }
        json_string(sb, sb_str(&name), name.len);
        sb_free(&name);
    }
    sb_printf(sb, ",\"unit\":\"%s\",\"startValue\":0,\"samples\":[",
              unit);
    for (size_t i = 0; i < p->keys.count; i++) {
        const struct profile_sample *s = &p->samples[i];
        if (s->thread != thread) {
            continue;
        }
        size_t depth;
        const uint32_t *ids = profile_frames(p, s, &depth);
        sb_append_str(sb, first ? "[" : ",[");
        first = false;
        for (size_t j = 0; j < depth; j++) {
            sb_printf(sb, j > 0 ? ",%" PRIu32 : "%" PRIu32, index[ids[j]]);
        }
        sb_append_char(sb, ']');
        total += s->count * scale;
        rc |= flush(sb, out, false);
    }
    sb_append_str(sb, "],\"weights\":[");
    first = true;
    for (size_t i = 0; i < p->keys.count; i++) {
        const struct profile_sample *s = &p->samples[i];
        if (s->thread == thread) {
            sb_printf(sb, first ? "%" PRIu64 : ",%" PRIu64, s->count * scale);
            first = false;
            rc |= flush(sb, out, false);
        }
    }
    sb_printf(sb, "],\"endValue\":%" PRIu64 "}", total);
    return rc;
}

int
speedscope_write(const struct profile *p, const char *title, FILE *out)
{
    struct strbuf sb = STRBUF_INIT;
    uint32_t *index = xcalloc(p->sk->names.count, sizeof(uint32_t));
    bool unthreaded = false;
    int rc = 0;

    for (size_t i = 0; i < p->keys.count; i++) {
        unthreaded |= p->samples[i].thread == PROFILE_NONE;
    }
    sb_append_str(&sb, "{\"$schema\":"
                  "\"https://www.speedscope.app/file-format-schema.json\",");
    rc |= write_frames(p, &sb, index, out);
    sb_append_str(&sb, "\"profiles\":[");
    for (size_t t = 0; t < p->threads.count; t++) {
        if (t > 0) {
            sb_append_char(&sb, ',');
        }
        rc |= write_profile(p, (uint32_t)t, title, index, &sb, out);
    }
    if (unthreaded) {
        if (p->threads.count > 0) {
            sb_append_char(&sb, ',');
        }
        rc |= write_profile(p, PROFILE_NONE, title, index, &sb, out);
    }
    sb_append_str(&sb, "],\"name\":");
    json_string(&sb, title, strlen(title));
    sb_append_str(&sb, ",\"activeProfileIndex\":0,"
                  "\"exporter\":\"pyscope\"}\n");
    rc |= flush(&sb, out, true);
    sb_free(&sb);
    free(index);
    return rc != 0 || ferror(out) ? -1 : 0;
}
