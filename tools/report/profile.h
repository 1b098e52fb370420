/* profile.h - the samples of a profile with what pprof and speedscope
 * attach to them: each distinct (stack, label, thread) once, with its
 * sample count.
 *
 * The stack is a stack of struct stacks (root first); its thread root
 * frame, when it has one, is left to the thread here (profile_frames
 * skips it).  The label is the text of the innermost labelled frame, the
 * one --labels join charges the sample to (stream input: its l token;
 * folded input: its innermost "[label TEXT]" frame), or none.  The
 * thread is the sample's tid with its T record's comm and pid (stream
 * input) or the "COMM (tid N)" root frame (folded input), or none.
 * In a wall stream (wall.h) a sample's count is its weight in
 * microseconds, on-CPU and off-CPU time alike.
 *
 * Memory grows with the distinct stacks, labels and threads, never with
 * the number of samples.
 */
#ifndef PYSCOPE_PROFILE_H
#define PYSCOPE_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "intern.h"
#include "stacks.h"
#include "stream.h"

#define PROFILE_NONE INTERN_NONE

struct profile_sample {
    uint32_t stack;     /* index in the stacks */
    uint32_t label;     /* index in profile.labels, or PROFILE_NONE */
    uint32_t thread;    /* index in profile.threads, or PROFILE_NONE */
    uint64_t count;
};

struct profile_thread {
    char *name;         /* the comm ("?" when unknown) */
    bool has_tid;
    uint64_t tid;
    bool has_pid;
    uint64_t pid;
};

struct profile {
    const struct stacks *sk;
    struct intern keys;             /* key: uint32_t stack, label, thread */
    struct profile_sample *samples; /* by key index */
    size_t samples_cap;
    struct intern labels;           /* key: label text (still escaped) */
    struct intern threads;          /* key: 't' + tid, or 'f' + frame id */
    struct profile_thread *thread_info;
    size_t thread_cap;
    uint64_t total;                 /* samples (wall: microseconds) */
    uint64_t period_ns;             /* between samples; 0: unknown */
    bool wall;                      /* a wall stream: counts are us */
    uint64_t period_usec;           /* wall: an on-CPU sample's weight */
};

/* From a record stream, after stacks_build(sk, st).  The period comes
   from the stream's X period_ns counter, when it has one; wall and
   period_usec from wall.h. */
void profile_from_stream(struct profile *p, const struct stacks *sk,
                         const struct stream *st);

/* From stacks alone (folded input): threads from "COMM (tid N)" root
   frames, labels from "[label TEXT]" frames. */
void profile_from_stacks(struct profile *p, const struct stacks *sk);

/* The frames of a sample's stack, root first, without its thread root
   frame; *depth gets how many (0 is possible: a stack of only a thread). */
const uint32_t *profile_frames(const struct profile *p,
                               const struct profile_sample *s, size_t *depth);

const char *profile_label(const struct profile *p, uint32_t label,
                          size_t *len);

void profile_free(struct profile *p);

#endif
