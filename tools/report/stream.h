/* stream.h - reading the raw line stream of the SystemTap script.
 *
 * Samples are counted per distinct (tid, status, tokens) text; the
 * dictionaries (N, C, L, T, B) and counters (X) are kept in hash tables.
 * Names are not resolved here, because dictionary lines may come after
 * the samples that use them.
 *
 * Off-CPU time (a wall stream, wall.h) is kept the same way: a K record
 * (K sid tokens) names a stack once, its tokens qualified (below) when the
 * K is read; the first K of a sid wins.  A W record (W tid sid status
 * reason usec) is a raw sample of its own, keyed "tid\tstatus\treason\t
 * tokens" (three TABs: never the key of an S sample, which has at most
 * two), with the tokens its sid's K gave, or the one marker token
 * "m[stack-unknown] " when no K of that sid was read yet; its count is
 * the sum of the microseconds of the W records with that key.
 *
 * Code objects are the exception to "the last record wins": a code
 * object's address is reused once it is freed (a module's top-level code
 * after the import, an exec()'d string; compile() in a loop alternates
 * two objects at one address), and the probes print a C record whenever
 * the object at an address is not the one they last named there.  Each
 * distinct (qualname, filename, firstlineno) met at an address is one
 * generation of it, numbered in the order first met, and a C record makes
 * its generation the address's current one.  L records belong to the
 * address's current generation, and every p token of a later sample (or
 * K stack) is read as that generation's: the reader rewrites it as
 * p<code hex>/<generation>:<lasti> (generation 0, the address's first
 * object, keeps the probe's p<hex>:<lasti>).  A sample printed before its
 * address's first C record gets generation 0.
 */
#ifndef PYSCOPE_STREAM_H
#define PYSCOPE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "intern.h"

enum sample_status {
    STATUS_OK,
    STATUS_NOPY,
    STATUS_FAULT,
    STATUS_COUNT
};

/* One distinct sample line; its index is its index in stream.samples. */
struct raw_sample {
    uint64_t tid;
    uint64_t count;      /* S: samples; W: microseconds off the CPU */
    enum sample_status status;
    size_t tokens_off;   /* where the tokens start in the interned key */
    bool off_cpu;        /* a W record's */
    size_t reason_off;   /* W: where its reason is in the key */
    size_t reason_len;
};

/* The tokens of a W record whose sid had no K record yet. */
#define STACK_UNKNOWN_TOKENS "m[stack-unknown] "

#define THREAD_NO_PID UINT64_MAX

struct code_info {
    char *qualname;
    char *filename;
    int64_t firstlineno;   /* -1 when the record has none */
};

struct stream {
    struct intern samples;         /* key: "tid\tstatus\ttokens" */
    struct raw_sample *sample_info;
    size_t sample_cap;

    struct intern natives;         /* key: uint64_t address */
    char **native_symbols;
    size_t native_cap;

    struct intern codes;           /* key: uint64_t code, generation */
    struct code_info *code_infos;
    size_t code_cap;

    struct intern code_now;        /* key: uint64_t code address */
    uint64_t *code_generation;     /* its current generation */
    size_t code_now_cap;
    uint64_t *code_generations;    /* how many it has had */
    size_t code_gens_cap;
    struct intern code_ids;        /* key: address, firstlineno, names */
    uint64_t *code_id_generation;  /* that object's generation */
    size_t code_ids_cap;
    bool code_reused;              /* some address has generation > 0 */
    char *qualified;               /* stream_qualify's buffer */
    size_t qualified_cap;

    struct intern lines;           /* key: code, generation, lasti */
    int64_t *line_numbers;
    size_t line_cap;

    struct intern threads;         /* key: uint64_t tid */
    char **thread_comms;
    uint64_t *thread_pids;         /* THREAD_NO_PID when not given */
    size_t thread_cap;
    size_t thread_pid_cap;

    struct intern labels;          /* key: uint64_t label id */
    char **label_texts;
    size_t label_cap;

    struct intern counters;        /* key: counter name */
    int64_t *counter_values;
    size_t counter_cap;

    struct intern stacks;          /* key: uint64_t sid (K records) */
    char **stack_tokens;           /* its tokens, qualified */
    size_t stack_cap;

    uint64_t status_counts[STATUS_COUNT];   /* S records */
    uint64_t total_samples;                 /* S records */
    uint64_t off_cpu_records;               /* W records */

    /* The V record (docs/records.md): the record format's version, 0
       until one is read (a stream without V is read as version 1). */
    int64_t version;
};

/* The record format these readers know (tapsets/pyscope_records.stp's
   @PYSCOPE_RECORDS_VERSION). */
#define STREAM_RECORDS_VERSION 1

enum token_kind {
    TOKEN_NATIVE,   /* n<hex> */
    TOKEN_EVAL,     /* e<hex> */
    TOKEN_PYTHON,   /* p<hexcode>[/<generation>]:<lasti> */
    TOKEN_MARKER,   /* m<text> */
    TOKEN_LABEL     /* l<decimal id>: label of the p token before it */
};

struct token {
    enum token_kind kind;
    uint64_t addr;      /* native address, code object address, or
                           TOKEN_LABEL: the label id */
    int64_t lasti;      /* TOKEN_PYTHON only */
    uint64_t generation;   /* TOKEN_PYTHON only: of the code address */
    const char *text;   /* TOKEN_MARKER only: the text after 'm' */
    size_t text_len;
};

void stream_init(struct stream *st);
void stream_free(struct stream *st);

/* Feed one line (without its newline).  Lines that are not well formed
   are ignored. */
void stream_parse_line(struct stream *st, const char *line, size_t len);

/* Read every line of f.  Returns 0, or -1 on a read error (errno set). */
int stream_read(struct stream *st, FILE *f);

/* Whether the stream is of a record format these readers know: it has no
   V record yet, or its V names STREAM_RECORDS_VERSION. */
bool stream_version_known(const struct stream *st);

/* Dictionary lookups; NULL / false when the key is unknown. */
const char *stream_native_symbol(const struct stream *st, uint64_t addr);
const struct code_info *stream_code(const struct stream *st, uint64_t code,
                                    uint64_t generation);
bool stream_line(const struct stream *st, uint64_t code, uint64_t generation,
                 int64_t lasti, int64_t *line);
const char *stream_thread_comm(const struct stream *st, uint64_t tid);
/* The pid of a T record's optional 4th field; false when not given. */
bool stream_thread_pid(const struct stream *st, uint64_t tid,
                       uint64_t *pid);
/* The text of a B record (still escaped as the producer wrote it). */
const char *stream_label_text(const struct stream *st, uint64_t id);
/* The tokens of a K record (qualified when it was read). */
const char *stream_stack_tokens(const struct stream *st, uint64_t sid);
int64_t stream_counter(const struct stream *st, const char *key);
/* Whether an X record named KEY was read.  The tools' end probes print
   their counters last, so a missing one means the output was cut short. */
bool stream_has_counter(const struct stream *st, const char *key);

/* Find the next space-separated token in [*pos, end).  Returns its start
   and sets *len, or returns NULL when there is none left. */
const char *token_next(const char **pos, const char *end, size_t *len);

/* The tokens [s, s+len) with every p token of a reused code address
   rewritten to its current generation (see above).  Returns s itself
   when nothing needs it, else a buffer of the stream's that the next
   call reuses; *out_len gets the length. */
const char *stream_qualify(struct stream *st, const char *s, size_t len,
                           size_t *out_len);

/* Parse one token; false if it is malformed. */
bool token_parse(const char *s, size_t len, struct token *tok);

/* Parse helpers shared with the tests: the whole of [s, s+len) must be
   the number.  Hex accepts an optional 0x prefix. */
bool parse_hex(const char *s, size_t len, uint64_t *out);
bool parse_u64(const char *s, size_t len, uint64_t *out);
bool parse_i64(const char *s, size_t len, int64_t *out);

#endif
