/* pprof.c - profiles in pprof's format.
 *
 * The format contract (github.com/google/pprof/proto/profile.proto, the
 * file `go tool pprof` reads), as written here:
 *
 * - The file is one gzip member holding one Profile message.
 * - string_table[0] is "".  Every string is valid UTF-8: bytes that are
 *   not, and control characters (C0 other than TAB, LF, CR; DEL; C1),
 *   become U+FFFD (sb_append_pprof).
 *   Names and labels keep the producer's escapes (a TAB in a label is the
 *   two characters \t), as in every other output of these tools.
 * - sample_type: samples/count, then cpu/nanoseconds when the period is
 *   known (the stream's X period_ns; each sample's value is count times
 *   the period); a wall stream (wall.h): wall/microseconds alone, each
 *   sample's value its weight (on-CPU and off-CPU time alike);
 *   pyscope-leak: inuse_objects/count, inuse_space/bytes (the surviving
 *   blocks and bytes of the last snapshot; the stream knows no
 *   allocation totals, so there are no alloc_* types).
 *   default_sample_type is the last one; period_type and period say the
 *   sampling period when known (wall: wall/microseconds, the period in
 *   microseconds).
 * - One Function per distinct (name, file): a Python frame's qualname
 *   and file name; a native frame's symbol (no file; also its
 *   system_name, so pprof demangles it); a marker or "[label TEXT]"
 *   frame's text.  Only native symbols get a system_name: pprof would
 *   "demangle" any other name equal to it, cutting "<...>" and "(...)"
 *   out of "<lambda>" or a label's text.
 * - One Location per distinct frame (a Python frame is one line of a
 *   function): id, no mapping, no address, one Line {function, line}
 *   (line 0 when unknown).
 * - One Sample per distinct stack and labels: location_id leaf first
 *   (the thread root frame of the folded output is not a location but
 *   labels), value the counts above, labels: "label" (str: the innermost
 *   frame label's text, the one --labels join charges), "thread" (str:
 *   the thread's comm, or "?"), "tid" and "pid" (num, when known).
 *
 * Why by hand: the encoding needs varints, length-delimited fields and
 * packed repeated fields, about 150 lines here.  protobuf-c would need a
 * .pb-c.c generated from profile.proto (protoc-c at build time, or a
 * generated file checked in) plus libprotobuf-c at run time, for these
 * few messages; zlib (-lz) is the only library this adds.
 */
#include "pprof.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "escape.h"
#include "intern.h"
#include "strbuf.h"
#include "util.h"

/* ---- protobuf wire format ---- */

enum wire_type {
    WIRE_VARINT = 0,
    WIRE_LEN = 2
};

static void
put_varint(struct strbuf *sb, uint64_t v)
{
    char buf[10];
    size_t n = 0;

    do {
        buf[n++] = (char)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
        v >>= 7;
    } while (v != 0);
    sb_append(sb, buf, n);
}

static void
put_tag(struct strbuf *sb, unsigned field, enum wire_type type)
{
    put_varint(sb, ((uint64_t)field << 3) | type);
}

/* An int64/uint64 field; zero is the default and is left out. */
static void
put_uint(struct strbuf *sb, unsigned field, uint64_t v)
{
    if (v != 0) {
        put_tag(sb, field, WIRE_VARINT);
        put_varint(sb, v);
    }
}

static void
put_bytes(struct strbuf *sb, unsigned field, const char *s, size_t n)
{
    put_tag(sb, field, WIRE_LEN);
    put_varint(sb, n);
    sb_append(sb, s, n);
}

/* A nested message (or packed field) already encoded in msg. */
static void
put_message(struct strbuf *sb, unsigned field, const struct strbuf *msg)
{
    put_bytes(sb, field, sb_str(msg), msg->len);
}

/* ---- the profile being built ---- */

/* Field numbers of profile.proto. */
enum {
    PROFILE_SAMPLE_TYPE = 1,
    PROFILE_SAMPLE = 2,
    PROFILE_LOCATION = 4,
    PROFILE_FUNCTION = 5,
    PROFILE_STRING_TABLE = 6,
    PROFILE_PERIOD_TYPE = 11,
    PROFILE_PERIOD = 12,
    PROFILE_DEFAULT_SAMPLE_TYPE = 14,
    VALUE_TYPE_TYPE = 1,
    VALUE_TYPE_UNIT = 2,
    SAMPLE_LOCATION_ID = 1,
    SAMPLE_VALUE = 2,
    SAMPLE_LABEL = 3,
    LABEL_KEY = 1,
    LABEL_STR = 2,
    LABEL_NUM = 3,
    LOCATION_ID = 1,
    LOCATION_LINE = 4,
    LINE_FUNCTION_ID = 1,
    LINE_LINE = 2,
    FUNCTION_ID = 1,
    FUNCTION_NAME = 2,
    FUNCTION_SYSTEM_NAME = 3,
    FUNCTION_FILENAME = 4
};

struct builder {
    const struct stacks *sk;
    struct strbuf out;          /* the Profile message */
    struct intern strings;      /* string table: key: the UTF-8 text */
    struct intern functions;    /* key: uint64_t name, file string ids */
    uint64_t *locations;        /* by frame id: location id, 0: none */
    struct strbuf tmp;          /* scratch for strings */
    struct strbuf msg;          /* a Sample being encoded */
    struct strbuf packed;
    struct strbuf sub;
};

static uint64_t
string_id(struct builder *b, const char *s, size_t n)
{
    sb_clear(&b->tmp);
    sb_append_pprof(&b->tmp, s, n);
    return intern_add(&b->strings, sb_str(&b->tmp), b->tmp.len, NULL);
}

static void
builder_init(struct builder *b, const struct stacks *sk)
{
    memset(b, 0, sizeof(*b));
    b->sk = sk;
    b->locations = xcalloc(sk->names.count, sizeof(uint64_t));
    string_id(b, "", 0);
}

static void
builder_free(struct builder *b)
{
    sb_free(&b->out);
    sb_free(&b->tmp);
    sb_free(&b->msg);
    sb_free(&b->packed);
    sb_free(&b->sub);
    intern_free(&b->strings);
    intern_free(&b->functions);
    free(b->locations);
}

static void
put_value_type(struct builder *b, unsigned field, const char *type,
               const char *unit)
{
    sb_clear(&b->sub);
    put_uint(&b->sub, VALUE_TYPE_TYPE, string_id(b, type, strlen(type)));
    put_uint(&b->sub, VALUE_TYPE_UNIT, string_id(b, unit, strlen(unit)));
    put_message(&b->out, field, &b->sub);
}

/* The function of a frame: its id (from 1), adding its message. */
static uint64_t
function_id(struct builder *b, uint32_t frame)
{
    size_t name_len, file_len;
    const char *name = stacks_frame_base(b->sk, frame, &name_len);
    const char *file = stacks_frame_file(b->sk, frame, &file_len);
    uint64_t key[2];

    key[0] = string_id(b, name, name_len);
    key[1] = file ? string_id(b, file, file_len) : 0;
    bool added;
    uint64_t id = (uint64_t)intern_add(&b->functions, key, sizeof(key),
                                       &added) + 1;
    if (added) {
        sb_clear(&b->sub);
        put_uint(&b->sub, FUNCTION_ID, id);
        put_uint(&b->sub, FUNCTION_NAME, key[0]);
        /* pprof demangles (and shortens: "<...>" and "(...)" go) the
           system name of a function whose name equals it; only native
           symbols are names a linker made */
        if (stacks_frame_kind(b->sk, frame) == FRAME_NATIVE) {
            put_uint(&b->sub, FUNCTION_SYSTEM_NAME, key[0]);
        }
        put_uint(&b->sub, FUNCTION_FILENAME, key[1]);
        put_message(&b->out, PROFILE_FUNCTION, &b->sub);
    }
    return id;
}

/* The location of a frame: its id (from 1), adding its message. */
static uint64_t
location_id(struct builder *b, uint32_t frame)
{
    if (b->locations[frame] != 0) {
        return b->locations[frame];
    }
    uint64_t func = function_id(b, frame);
    int64_t line = stacks_frame_line(b->sk, frame);
    struct strbuf line_msg = STRBUF_INIT;

    b->locations[frame] = (uint64_t)frame + 1;
    put_uint(&line_msg, LINE_FUNCTION_ID, func);
    put_uint(&line_msg, LINE_LINE, line > 0 ? (uint64_t)line : 0);
    sb_clear(&b->sub);
    put_uint(&b->sub, LOCATION_ID, b->locations[frame]);
    put_message(&b->sub, LOCATION_LINE, &line_msg);
    put_message(&b->out, PROFILE_LOCATION, &b->sub);
    sb_free(&line_msg);
    return b->locations[frame];
}

/* Start a Sample: its locations, leaf first, and its values. */
static void
sample_begin(struct builder *b, const uint32_t *ids, size_t depth,
             const uint64_t *values, size_t nvalues)
{
    sb_clear(&b->msg);
    sb_clear(&b->packed);
    for (size_t j = depth; j > 0; j--) {
        put_varint(&b->packed, location_id(b, ids[j - 1]));
    }
    if (depth > 0) {
        put_message(&b->msg, SAMPLE_LOCATION_ID, &b->packed);
    }
    sb_clear(&b->packed);
    for (size_t i = 0; i < nvalues; i++) {
        put_varint(&b->packed, values[i]);
    }
    put_message(&b->msg, SAMPLE_VALUE, &b->packed);
}

static void
sample_label_str(struct builder *b, const char *key, const char *s, size_t n)
{
    uint64_t value = string_id(b, s, n);

    sb_clear(&b->sub);
    put_uint(&b->sub, LABEL_KEY, string_id(b, key, strlen(key)));
    put_uint(&b->sub, LABEL_STR, value);
    put_message(&b->msg, SAMPLE_LABEL, &b->sub);
}

static void
sample_label_num(struct builder *b, const char *key, uint64_t num)
{
    sb_clear(&b->sub);
    put_uint(&b->sub, LABEL_KEY, string_id(b, key, strlen(key)));
    /* a num of 0 must still be there: the field is what makes it a
       numeric label */
    put_tag(&b->sub, LABEL_NUM, WIRE_VARINT);
    put_varint(&b->sub, num);
    put_message(&b->msg, SAMPLE_LABEL, &b->sub);
}

static void
sample_end(struct builder *b)
{
    put_message(&b->out, PROFILE_SAMPLE, &b->msg);
}

/* The string table, the closing fields, gzip, out. */
static int
builder_write(struct builder *b, uint64_t default_type, FILE *out)
{
    for (size_t i = 0; i < b->strings.count; i++) {
        size_t len;
        const char *s = intern_key(&b->strings, (uint32_t)i, &len);
        put_bytes(&b->out, PROFILE_STRING_TABLE, s, len);
    }
    put_uint(&b->out, PROFILE_DEFAULT_SAMPLE_TYPE, default_type);

    z_stream zs;
    unsigned char buf[16384];
    int rc = 0;

    memset(&zs, 0, sizeof(zs));
    /* 15 + 16: a gzip header and trailer around the deflate stream */
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        return -1;
    }
    zs.next_in = (unsigned char *)(uintptr_t)sb_str(&b->out);
    zs.avail_in = (uInt)b->out.len;
    if ((size_t)zs.avail_in != b->out.len) {
        deflateEnd(&zs);
        return -1;     /* over 4 GiB of profile: not supported */
    }
    int z;
    do {
        zs.next_out = buf;
        zs.avail_out = sizeof(buf);
        z = deflate(&zs, Z_FINISH);
        if (z == Z_STREAM_ERROR) {
            rc = -1;
            break;
        }
        size_t have = sizeof(buf) - zs.avail_out;
        if (fwrite(buf, 1, have, out) != have) {
            rc = -1;
            break;
        }
    } while (z != Z_STREAM_END);
    deflateEnd(&zs);
    return rc != 0 || ferror(out) ? -1 : 0;
}

/* ---- CPU profiles ---- */

/* The sample and period types of a CPU profile (see the head); returns
   how many values a sample has. */
static size_t
put_cpu_types(struct builder *b, const struct profile *p)
{
    if (p->wall) {
        put_value_type(b, PROFILE_SAMPLE_TYPE, "wall", "microseconds");
        put_value_type(b, PROFILE_PERIOD_TYPE, "wall", "microseconds");
        put_uint(&b->out, PROFILE_PERIOD, p->period_usec);
        return 1;
    }
    put_value_type(b, PROFILE_SAMPLE_TYPE, "samples", "count");
    if (p->period_ns > 0) {
        put_value_type(b, PROFILE_SAMPLE_TYPE, "cpu", "nanoseconds");
        put_value_type(b, PROFILE_PERIOD_TYPE, "cpu", "nanoseconds");
        put_uint(&b->out, PROFILE_PERIOD, p->period_ns);
        return 2;
    }
    put_value_type(b, PROFILE_PERIOD_TYPE, "samples", "count");
    put_uint(&b->out, PROFILE_PERIOD, 1);
    return 1;
}

int
pprof_write_cpu(const struct profile *p, FILE *out)
{
    struct builder b;
    uint64_t values[2];

    builder_init(&b, p->sk);
    size_t nvalues = put_cpu_types(&b, p);

    for (size_t i = 0; i < p->keys.count; i++) {
        const struct profile_sample *s = &p->samples[i];
        size_t depth;
        const uint32_t *ids = profile_frames(p, s, &depth);

        values[0] = s->count;
        values[1] = s->count * p->period_ns;
        sample_begin(&b, ids, depth, values, nvalues);
        if (s->label != PROFILE_NONE) {
            size_t len;
            const char *text = profile_label(p, s->label, &len);
            sample_label_str(&b, "label", text, len);
        }
        if (s->thread != PROFILE_NONE) {
            const struct profile_thread *t = &p->thread_info[s->thread];
            sample_label_str(&b, "thread", t->name, strlen(t->name));
            if (t->has_tid) {
                sample_label_num(&b, "tid", t->tid);
            }
            if (t->has_pid) {
                sample_label_num(&b, "pid", t->pid);
            }
        }
        sample_end(&b);
    }
    /* the default: the last type */
    const char *type = p->wall ? "wall"
                       : p->period_ns > 0 ? "cpu" : "samples";
    int rc = builder_write(&b, string_id(&b, type, strlen(type)), out);
    builder_free(&b);
    return rc;
}

/* ---- leak profiles ---- */

int
pprof_write_leak(const struct leak *lk, FILE *out)
{
    struct builder b;
    size_t nstacks = stacks_count(&lk->sk);
    uint64_t *bytes = xcalloc(nstacks, sizeof(uint64_t));
    uint64_t *blocks = xcalloc(nstacks, sizeof(uint64_t));

    /* sids that resolved to the same stack are one sample */
    for (size_t sid = 0; sid < lk->stacks_cap; sid++) {
        const struct leak_stack *ls = &lk->stacks[sid];
        if (!ls->known || ls->group == INTERN_NONE || ls->bytes <= 0) {
            continue;
        }
        bytes[ls->stack] += (uint64_t)ls->bytes;
        blocks[ls->stack] += ls->blocks > 0 ? (uint64_t)ls->blocks : 0;
    }

    builder_init(&b, &lk->sk);
    put_value_type(&b, PROFILE_SAMPLE_TYPE, "inuse_objects", "count");
    put_value_type(&b, PROFILE_SAMPLE_TYPE, "inuse_space", "bytes");
    put_value_type(&b, PROFILE_PERIOD_TYPE, "space", "bytes");
    for (size_t s = 0; s < nstacks; s++) {
        if (bytes[s] == 0) {
            continue;
        }
        uint64_t values[2] = {blocks[s], bytes[s]};
        size_t depth;
        const uint32_t *ids = stacks_frames(&lk->sk, s, &depth);
        sample_begin(&b, ids, depth, values, 2);
        sample_end(&b);
    }
    int rc = builder_write(&b, string_id(&b, "inuse_space", 11), out);
    builder_free(&b);
    free(bytes);
    free(blocks);
    return rc;
}
