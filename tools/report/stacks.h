/* stacks.h - turning raw samples into named, root-first stacks.
 *
 * Every distinct frame name gets a frame id, every distinct function
 * (a Python frame name without its line number, or a native symbol) a
 * function id, and every distinct list of frame ids a stack index with a
 * sample count.  With --labels split, a labelled Python frame gets a
 * "[label TEXT]" parent frame (merged and python modes).  The stacks of
 * a wall stream count microseconds, with a leaf frame on off-CPU time
 * (wall.h).
 */
#ifndef PYSCOPE_STACKS_H
#define PYSCOPE_STACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "intern.h"
#include "labels.h"
#include "stream.h"

enum mode {
    MODE_MERGED,   /* Python frames in place of the interpreter loop */
    MODE_PYTHON,   /* Python frames and markers only */
    MODE_NATIVE    /* native frames only */
};

enum frame_kind {
    FRAME_THREAD,  /* "<comm> (tid <tid>)" root */
    FRAME_PYTHON,
    FRAME_NATIVE,
    FRAME_MARKER,
    FRAME_LABEL    /* "[label TEXT]", parent of a labelled Python frame */
};

#define MARKER_NO_PYTHON "[no python state]"
#define MARKER_READ_FAULT "[python read fault]"
#define MARKER_NO_FRAMES "[no frames]"

struct frame {
    enum frame_kind kind;
    uint32_t func;    /* function id, or INTERN_NONE (threads, markers) */
    int64_t line;     /* Python frames: line number, or -1 */
    /* Where the parts of a Python frame's name "QUALNAME (FILE:LINE)"
       are: the qualname is its first base_len bytes, the file the
       file_len bytes at file_off.  Other frames: base_len is the whole
       name, file_len 0. */
    size_t base_len;
    size_t file_off;
    size_t file_len;
};

struct stacks {
    enum mode mode;
    bool threads;
    enum label_mode labels;    /* LABELS_OFF unless stacks_set_labels */

    struct intern names;       /* key: kind byte + frame name */
    struct frame *frames;
    size_t frames_cap;

    struct intern funcs;       /* key: kind byte + function name */

    struct intern token_cache; /* key: token text; value: frame id */
    uint32_t *token_frames;
    size_t token_cap;

    struct intern thread_cache; /* key: uint64_t tid; value: frame id */
    uint32_t *thread_frames;
    size_t thread_cap;

    struct intern stacks;      /* key: uint32_t frame ids, root first */
    uint64_t *counts;
    size_t counts_cap;

    uint64_t total;            /* samples over all stacks */
    bool usec;                 /* counts are microseconds (a wall stream) */

    /* stacks_build: the stack index of each raw sample of the stream
       (by its index in stream.samples). */
    uint32_t *sample_stacks;
    size_t sample_stacks_cap;
};

struct folded_line {
    char *text;    /* frames joined by ';', without the count */
    size_t len;
    uint64_t count;
};

bool mode_parse(const char *s, enum mode *mode);
const char *mode_name(enum mode mode);

void stacks_init(struct stacks *sk, enum mode mode, bool threads);
void stacks_free(struct stacks *sk);

/* Only LABELS_SPLIT changes the stacks; call before stacks_build. */
void stacks_set_labels(struct stacks *sk, enum label_mode labels);

/* Resolve every sample of the stream (call once, after reading), each
   counted by its weight (wall_weight); an off-CPU sample gets its leaf
   frame (wall_leaf), innermost, after any status marker. */
void stacks_build(struct stacks *sk, const struct stream *st);

/* Resolve one raw token string (leaf first, as the stream writes it)
   into frame ids, root first, in *ids (grown as needed, *cap its
   capacity).  Returns how many; never 0 (an empty stack is one
   "[no frames]" marker). */
size_t stacks_resolve(struct stacks *sk, const struct stream *st,
                      const char *tokens, size_t len, uint32_t **ids,
                      size_t *cap);

/* Add count to the stack made of ids (root first); returns its index. */
uint32_t stacks_add(struct stacks *sk, const uint32_t *ids, size_t n,
                    uint64_t count);

/* A frame read from elsewhere (folded input): its kind and name, and for
   FRAME_PYTHON the parts as in struct frame (the function is the name
   without ":LINE").  Returns its frame id. */
uint32_t stacks_named_frame(struct stacks *sk, enum frame_kind kind,
                            const char *name, size_t len, size_t base_len,
                            size_t file_off, size_t file_len, int64_t line);

/* The function part of a frame's name (a Python frame's qualname, else
   the whole name) and its file (NULL, *file_len 0, when it has none). */
const char *stacks_frame_base(const struct stacks *sk, uint32_t frame,
                              size_t *len);
const char *stacks_frame_file(const struct stacks *sk, uint32_t frame,
                              size_t *len);

enum frame_kind stacks_frame_kind(const struct stacks *sk, uint32_t frame);
/* Python frames: the line number, or -1. */
int64_t stacks_frame_line(const struct stacks *sk, uint32_t frame);
/* The function id of a frame, or INTERN_NONE. */
uint32_t stacks_frame_func(const struct stacks *sk, uint32_t frame);

size_t stacks_count(const struct stacks *sk);
const uint32_t *stacks_frames(const struct stacks *sk, size_t idx,
                              size_t *depth);
const char *stacks_frame_name(const struct stacks *sk, uint32_t frame,
                              size_t *len);
const char *stacks_func_name(const struct stacks *sk, uint32_t func,
                             size_t *len);
enum frame_kind stacks_func_kind(const struct stacks *sk, uint32_t func);

/* Folded lines with count >= min_count, sorted by count (descending)
   then text.  Free with folded_lines_free. */
size_t stacks_folded(const struct stacks *sk, uint64_t min_count,
                     struct folded_line **out);
void folded_lines_free(struct folded_line *lines, size_t n);

/* Write the folded file; returns 0, or -1 on a write error. */
int stacks_write_folded(const struct stacks *sk, uint64_t min_count,
                        FILE *f);

#endif
