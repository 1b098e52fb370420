/* wall.h - wall-clock streams (cpu-sample --wall): what a sample weighs
 * and which leaf frame off-CPU time gets.
 *
 * A stream is a wall stream when it has an X wall counter above 0 or any
 * W record (docs/records.md).  In a wall stream every weight is time in
 * microseconds: an on-CPU sample (S) weighs the sampling period, X
 * period_ns / 1000 rounded to the nearest (at least 1); off-CPU time (W)
 * weighs its own microseconds.  A wall stream without a positive X
 * period_ns cannot be weighed (pyscope-report refuses it).  Any other
 * stream weighs each sample 1, as before.
 *
 * Off-CPU time gets one more leaf frame, innermost, a FRAME_MARKER:
 * "[runnable]" for the reason runnable (preempted, waiting for a CPU),
 * else "[off-cpu: REASON]", where REASON is the W record's reason as it
 * was written (still escaped; every output escapes it as any name), but
 * "gil" for futex when a native frame of the stack (an n or e token) has
 * an N symbol equal to take_gil or starting with "take_gil." (CPython's
 * GIL wait; Debian's python3.11 has take_gil.lto_priv.0).  On-CPU
 * samples get no extra frame.
 */
#ifndef PYSCOPE_WALL_H
#define PYSCOPE_WALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"
#include "stream.h"

#define WALL_REASON_RUNNABLE "runnable"
#define WALL_REASON_GIL "gil"
#define WALL_LEAF_RUNNABLE "[runnable]"

bool wall_stream(const struct stream *st);

/* The weight of one on-CPU sample of a wall stream in microseconds; 0
   when the stream has no positive X period_ns. */
uint64_t wall_period_usec(const struct stream *st);

/* What raw sample rs (one of st's) weighs, saturating: in a wall stream
   microseconds, else its count. */
uint64_t wall_weight(const struct stream *st, const struct raw_sample *rs);

/* The reason of an off-CPU raw sample (one of st's) as reported:
   WALL_REASON_GIL for a futex wait in take_gil, else the W record's
   reason.  *len gets its length; not NUL-terminated. */
const char *wall_reason(const struct stream *st, const struct raw_sample *rs,
                        size_t *len);

/* Append the leaf frame's name of an off-CPU raw sample. */
void wall_leaf(const struct stream *st, const struct raw_sample *rs,
               struct strbuf *out);

/* Microseconds as milliseconds with one decimal, rounded half up
   ("2003.1"), into buf (WALL_MS_SIZE bytes); returns buf. */
#define WALL_MS_SIZE 32
const char *wall_format_ms(uint64_t usec, char *buf);

#endif
