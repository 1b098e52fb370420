/* profile.c - samples with their label and thread (see profile.h). */
#include "profile.h"

#include <stdlib.h>
#include <string.h>

#include "labels.h"
#include "strbuf.h"
#include "util.h"
#include "wall.h"

static void
profile_init(struct profile *p, const struct stacks *sk)
{
    memset(p, 0, sizeof(*p));
    p->sk = sk;
}

static void
add_sample(struct profile *p, uint32_t stack, uint32_t label,
           uint32_t thread, uint64_t count)
{
    uint32_t key[3] = {stack, label, thread};
    bool added;
    uint32_t idx = intern_add(&p->keys, key, sizeof(key), &added);

    p->samples = xgrow(p->samples, &p->samples_cap, p->keys.count,
                       sizeof(struct profile_sample));
    if (added) {
        p->samples[idx].stack = stack;
        p->samples[idx].label = label;
        p->samples[idx].thread = thread;
        p->samples[idx].count = 0;
    }
    p->samples[idx].count += count;
    p->total += count;
}

/* The thread of a key, adding it (with name, tid, pid) if new. */
static uint32_t
add_thread(struct profile *p, const void *key, size_t key_len,
           const char *name, size_t name_len, bool has_tid, uint64_t tid,
           bool has_pid, uint64_t pid)
{
    bool added;
    uint32_t idx = intern_add(&p->threads, key, key_len, &added);

    if (added) {
        p->thread_info = xgrow(p->thread_info, &p->thread_cap,
                               p->threads.count,
                               sizeof(struct profile_thread));
        struct profile_thread *t = &p->thread_info[idx];
        if (name == NULL || name_len == 0) {
            name = "?";
            name_len = 1;
        }
        t->name = xmemdup(name, name_len);
        t->has_tid = has_tid;
        t->tid = tid;
        t->has_pid = has_pid;
        t->pid = pid;
    }
    return idx;
}

void
profile_from_stream(struct profile *p, const struct stacks *sk,
                    const struct stream *st)
{
    struct strbuf text = STRBUF_INIT;

    profile_init(p, sk);
    if (stream_counter(st, "period_ns") > 0) {
        p->period_ns = (uint64_t)stream_counter(st, "period_ns");
    }
    if (wall_stream(st)) {
        p->wall = true;
        p->period_usec = wall_period_usec(st);
    }
    for (size_t i = 0; i < st->samples.count; i++) {
        const struct raw_sample *rs = &st->sample_info[i];
        size_t key_len;
        const char *key = intern_key(&st->samples, (uint32_t)i, &key_len);
        uint32_t label = PROFILE_NONE;
        uint64_t id;

        if (innermost_label(key + rs->tokens_off, key + key_len, &id)) {
            sb_clear(&text);
            label_text(st, id, &text);
            label = intern_add(&p->labels, sb_str(&text), text.len, NULL);
        }
        char thread_key[1 + sizeof(uint64_t)];
        thread_key[0] = 't';
        memcpy(thread_key + 1, &rs->tid, sizeof(uint64_t));
        const char *comm = stream_thread_comm(st, rs->tid);
        uint64_t pid = 0;
        bool has_pid = stream_thread_pid(st, rs->tid, &pid);
        uint32_t thread = add_thread(p, thread_key, sizeof(thread_key), comm,
                                     comm ? strlen(comm) : 0, true, rs->tid,
                                     has_pid, pid);
        add_sample(p, sk->sample_stacks[i], label, thread,
                   wall_weight(st, rs));
    }
    sb_free(&text);
}

/* "COMM (tid N)": the comm's length and the tid. */
static bool
parse_thread_name(const char *name, size_t len, size_t *comm_len,
                  uint64_t *tid)
{
    static const char open[] = " (tid ";
    size_t n = sizeof(open) - 1;

    if (len < n + 2 || name[len - 1] != ')') {
        return false;
    }
    for (size_t i = len - 1; i-- > 0;) {
        if (name[i] < '0' || name[i] > '9') {
            if (i + 1 == len - 1 || i + 1 < n) {
                return false;
            }
            size_t start = i + 1 - n;
            if (memcmp(name + start, open, n) != 0) {
                return false;
            }
            *comm_len = start;
            return parse_u64(name + i + 1, len - 2 - i, tid);
        }
    }
    return false;
}

void
profile_from_stacks(struct profile *p, const struct stacks *sk)
{
    static const char prefix[] = "[label ";
    size_t plen = sizeof(prefix) - 1;

    profile_init(p, sk);
    for (size_t s = 0; s < stacks_count(sk); s++) {
        size_t depth;
        const uint32_t *ids = stacks_frames(sk, s, &depth);
        uint32_t thread = PROFILE_NONE;
        uint32_t label = PROFILE_NONE;

        if (depth > 0 && stacks_frame_kind(sk, ids[0]) == FRAME_THREAD) {
            size_t len, comm_len = 0;
            uint64_t tid = 0;
            const char *name = stacks_frame_name(sk, ids[0], &len);
            char key[1 + sizeof(uint32_t)];
            bool has_tid = parse_thread_name(name, len, &comm_len, &tid);
            key[0] = 'f';
            memcpy(key + 1, &ids[0], sizeof(uint32_t));
            thread = add_thread(p, key, sizeof(key), name,
                                has_tid ? comm_len : len, has_tid, tid,
                                false, 0);
        }
        for (size_t j = depth; j > 0; j--) {
            size_t len;
            const char *name = stacks_frame_name(sk, ids[j - 1], &len);
            if (stacks_frame_kind(sk, ids[j - 1]) == FRAME_LABEL
                && len > plen && memcmp(name, prefix, plen) == 0
                && name[len - 1] == ']') {
                label = intern_add(&p->labels, name + plen, len - plen - 1,
                                   NULL);
                break;
            }
        }
        add_sample(p, (uint32_t)s, label, thread, sk->counts[s]);
    }
}

const uint32_t *
profile_frames(const struct profile *p, const struct profile_sample *s,
               size_t *depth)
{
    const uint32_t *ids = stacks_frames(p->sk, s->stack, depth);

    if (*depth > 0 && stacks_frame_kind(p->sk, ids[0]) == FRAME_THREAD) {
        (*depth)--;
        ids++;
    }
    return ids;
}

const char *
profile_label(const struct profile *p, uint32_t label, size_t *len)
{
    return intern_key(&p->labels, label, len);
}

void
profile_free(struct profile *p)
{
    for (size_t i = 0; i < p->threads.count; i++) {
        free(p->thread_info[i].name);
    }
    free(p->thread_info);
    free(p->samples);
    intern_free(&p->keys);
    intern_free(&p->labels);
    intern_free(&p->threads);
    memset(p, 0, sizeof(*p));
}
