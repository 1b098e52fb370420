/* test_report.c - unit tests for tools/report (pyscope-report).
 *
 * Build from the repository root, with every tools/report source file
 * except main.c:
 *   gcc -O2 -g -Wall -Wextra -Werror -std=c11 -D_GNU_SOURCE \
 *       -Itools/report tests/c/test_report.c <those files> \
 *       -o build/test-report
 * Prints one line per failed check and "N passed, M failed" (tests, not
 * checks) at the end; exits 1 if anything failed.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "escape.h"
#include "flame_paths.h"
#include "flame_tree.h"
#include "flamegraph.h"
#include "folded_input.h"
#include "func_view.h"
#include "labels.h"
#include "leak.h"
#include "pprof.h"
#include "profile.h"
#include "speedscope.h"
#include "stacks.h"
#include "strbuf.h"
#include "stream.h"
#include "summary.h"
#include "wall.h"
#include "wall_report.h"

static int checks_failed;

#define CHECK(cond) check((cond), #cond, __FILE__, __LINE__)
#define CHECK_STR(got, want) check_str((got), (want), __FILE__, __LINE__)

static void
check(bool ok, const char *what, const char *file, int line)
{
    if (!ok) {
        checks_failed++;
        fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
    }
}

static void
check_str(const char *got, const char *want, const char *file, int line)
{
    if (strcmp(got, want) != 0) {
        checks_failed++;
        fprintf(stderr, "%s:%d: got:\n%s\n--- wanted:\n%s\n---\n",
                file, line, got, want);
    }
}

/* ---- helpers ---- */

/* Feed text (lines separated by '\n') to a fresh stream. */
static void
load(struct stream *st, const char *text)
{
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    stream_init(st);
    stream_read(st, f);
    fclose(f);
}

/* The folded output of text with --labels labels, as one string (caller
   frees). */
static char *
folded_labels(const char *text, enum mode mode, bool threads,
              uint64_t min_count, enum label_mode labels)
{
    struct stream st;
    struct stacks sk;
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    load(&st, text);
    stacks_init(&sk, mode, threads);
    stacks_set_labels(&sk, labels);
    stacks_build(&sk, &st);
    stacks_write_folded(&sk, min_count, f);
    fclose(f);
    stacks_free(&sk);
    stream_free(&st);
    return out;
}

static char *
folded(const char *text, enum mode mode, bool threads, uint64_t min_count)
{
    return folded_labels(text, mode, threads, min_count, LABELS_OFF);
}

static char *
xml(const char *s, size_t n)
{
    struct strbuf sb = STRBUF_INIT;
    sb_append_xml(&sb, s, n);
    char *copy = strdup(sb_str(&sb));
    sb_free(&sb);
    return copy;
}

/* ---- escaping ---- */

static void
test_xml_escape(void)
{
    const char *hostile = "<script>alert(\"x\" & 'y')</script>";
    char *s = xml(hostile, strlen(hostile));
    CHECK_STR(s, "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)"
                 "&lt;/script&gt;");
    free(s);

    s = xml("plain text; ok", 14);
    CHECK_STR(s, "plain text; ok");
    free(s);

    s = xml("", 0);
    CHECK_STR(s, "");
    free(s);
}

static void
test_invalid_utf8(void)
{
    /* Valid multi-byte characters stay. */
    char *s = xml("caf\xc3\xa9 \xf0\x9f\x98\x80", 10);
    CHECK_STR(s, "caf\xc3\xa9 \xf0\x9f\x98\x80");
    free(s);

    /* Lone byte, overlong NUL, surrogate, beyond U+10FFFF, truncated
       sequence at the end: each bad byte becomes U+FFFD. */
    s = xml("a\xff" "b", 3);
    CHECK_STR(s, "a\xef\xbf\xbd" "b");
    free(s);
    s = xml("\xc0\x80", 2);
    CHECK_STR(s, "\xef\xbf\xbd\xef\xbf\xbd");
    free(s);
    s = xml("\xed\xa0\x80", 3);
    CHECK_STR(s, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    free(s);
    s = xml("\xf4\x90\x80\x80", 4);
    CHECK(strcmp(s, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd")
          == 0);
    free(s);
    s = xml("x\xe2\x82", 3);
    CHECK_STR(s, "x\xef\xbf\xbd\xef\xbf\xbd");
    free(s);

    /* Characters XML 1.0 forbids even when well-formed UTF-8. */
    s = xml("a\x01" "b\x1f" "c\tok", 8);
    CHECK_STR(s, "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\tok");
    free(s);
    s = xml("\xef\xbf\xbe", 3);
    CHECK_STR(s, "\xef\xbf\xbd");
    free(s);
    /* An embedded NUL too. */
    s = xml("a\0b", 3);
    CHECK_STR(s, "a\xef\xbf\xbd" "b");
    free(s);

    struct strbuf sb = STRBUF_INIT;
    sb_append_utf8(&sb, "<\xff>", 3);
    CHECK_STR(sb_str(&sb), "<\xef\xbf\xbd>");
    sb_free(&sb);
}

static void
test_terminal_escape(void)
{
    struct strbuf sb = STRBUF_INIT;
    /* ESC, CSI (U+009B), DEL, TAB and an invalid byte are all replaced;
       printable UTF-8 and XML specials stay as they are. */
    const char *hostile = "a\x1b[31mb\xc2\x9b\x7f\t\xff<\xc3\xa9>";
    sb_append_terminal(&sb, hostile, strlen(hostile));
    CHECK_STR(sb_str(&sb), "a\xef\xbf\xbd[31mb\xef\xbf\xbd\xef\xbf\xbd"
                           "\xef\xbf\xbd\xef\xbf\xbd<\xc3\xa9>");
    sb_free(&sb);
}

static void
test_pprof_escape(void)
{
    struct strbuf sb = STRBUF_INIT;
    /* C0 but TAB/LF/CR, DEL, C1 (CSI) and invalid bytes become U+FFFD;
       markup, quotes and printable UTF-8 stay (a protobuf string is not
       markup). */
    const char *hostile = "q\"&<x>\x01\x1b[2J\x7f\xc2\x9b\t\xff\xc3\xa9";
    sb_append_pprof(&sb, hostile, strlen(hostile));
    CHECK_STR(sb_str(&sb), "q\"&<x>\xef\xbf\xbd\xef\xbf\xbd[2J"
                           "\xef\xbf\xbd\xef\xbf\xbd\t\xef\xbf\xbd\xc3\xa9");
    sb_free(&sb);
}

static void
test_folded_escape(void)
{
    struct strbuf sb = STRBUF_INIT;
    sb_append_folded(&sb, "a;b;;c", 6);
    CHECK_STR(sb_str(&sb), "a\\x3bb\\x3b\\x3bc");
    sb_clear(&sb);
    sb_append_folded(&sb, "no semicolon <&>", 16);
    CHECK_STR(sb_str(&sb), "no semicolon <&>");
    sb_free(&sb);
}

static void
test_utf8_counting(void)
{
    const char *s = "a\xc3\xa9\xf0\x9f\x98\x80z";   /* a é 😀 z */
    size_t n = strlen(s);
    CHECK(utf8_length(s, n) == 4);
    CHECK(utf8_offset(s, n, 0) == 0);
    CHECK(utf8_offset(s, n, 2) == 3);
    CHECK(utf8_offset(s, n, 3) == 7);
    CHECK(utf8_offset(s, n, 9) == n);
}

/* ---- parsing ---- */

static void
test_numbers(void)
{
    uint64_t u;
    int64_t i;

    CHECK(parse_hex("4a3f10", 6, &u) && u == 0x4a3f10);
    CHECK(parse_hex("0x7F12ab", 8, &u) && u == 0x7f12ab);
    CHECK(parse_hex("ffffffffffffffff", 16, &u) && u == UINT64_MAX);
    CHECK(!parse_hex("1ffffffffffffffff", 17, &u));
    CHECK(!parse_hex("", 0, &u));
    CHECK(!parse_hex("0x", 2, &u));
    CHECK(!parse_hex("12g", 3, &u));
    CHECK(parse_u64("18446744073709551615", 20, &u) && u == UINT64_MAX);
    CHECK(!parse_u64("18446744073709551616", 20, &u));
    CHECK(!parse_u64("-1", 2, &u));
    CHECK(!parse_u64("1 ", 2, &u));
    CHECK(parse_i64("-1", 2, &i) && i == -1);
    CHECK(parse_i64("-9223372036854775808", 20, &i) && i == INT64_MIN);
    CHECK(!parse_i64("9223372036854775808", 19, &i));
    CHECK(!parse_i64("-", 1, &i));
}

static void
test_tokens(void)
{
    struct token t;

    CHECK(token_parse("n4a3f10", 7, &t) && t.kind == TOKEN_NATIVE
          && t.addr == 0x4a3f10);
    CHECK(token_parse("e55aa", 5, &t) && t.kind == TOKEN_EVAL
          && t.addr == 0x55aa);
    CHECK(token_parse("p7f0012/3:46", 12, &t) && t.kind == TOKEN_PYTHON
          && t.addr == 0x7f0012 && t.generation == 3 && t.lasti == 46);
    CHECK(!token_parse("p7f0012/:46", 11, &t));
    CHECK(!token_parse("p7f0012/x:46", 12, &t));
    CHECK(token_parse("p7f0012:46", 10, &t) && t.kind == TOKEN_PYTHON
          && t.addr == 0x7f0012 && t.lasti == 46);
    CHECK(token_parse("m[truncated]", 12, &t) && t.kind == TOKEN_MARKER
          && t.text_len == 11 && memcmp(t.text, "[truncated]", 11) == 0);

    CHECK(!token_parse("n", 1, &t));
    CHECK(!token_parse("m", 1, &t));
    CHECK(!token_parse("nxyz", 4, &t));
    CHECK(!token_parse("p12", 3, &t));
    CHECK(!token_parse("p12:", 4, &t));
    CHECK(!token_parse("p:5", 3, &t));
    CHECK(!token_parse("p12:x", 5, &t));
    CHECK(!token_parse("q12", 3, &t));
    CHECK(!token_parse("n12345678901234567", 18, &t));

    const char *line = "  n1   p2:3 m[x] ";
    const char *pos = line;
    const char *end = line + strlen(line);
    size_t len;
    const char *tok = token_next(&pos, end, &len);
    CHECK(tok != NULL && len == 2 && memcmp(tok, "n1", 2) == 0);
    tok = token_next(&pos, end, &len);
    CHECK(tok != NULL && len == 4 && memcmp(tok, "p2:3", 4) == 0);
    tok = token_next(&pos, end, &len);
    CHECK(tok != NULL && len == 4 && memcmp(tok, "m[x]", 4) == 0);
    CHECK(token_next(&pos, end, &len) == NULL);
}

static void
test_stream_lines(void)
{
    struct stream st;

    load(&st,
         "S\t1\tok\tn10 n20\n"
         "S\t1\tok\tn10 n20\n"
         "S\t2\tnopy\t\n"
         "S\t3\tfault\n"               /* tokens field missing: empty */
         "S\t4\tweird\tn10\n"          /* bad status: ignored */
         "S\tx\tok\tn10\n"             /* bad tid: ignored */
         "S 5 ok n10\n"                /* not TAB-separated: ignored */
         "WARNING: something from stap\n"
         "\n"
         "N\t10\tfoo\t/lib/x.so\n"
         "N\t10\tbar\t/lib/x.so\n"     /* last one wins */
         "C\tabc\tf\tfile.py\t3\n"
         "L\tabc\t6\t-1\n"
         "L\tabc\t8\t12\n"
         "T\t1\tpython3\n"
         "X\tlost\t3\n"
         "X\tlost\t4\n"
         "X\tdropped\t-2\n"
         "X\tbad\tx1\n"
         "Z\tunknown\n");
    CHECK(st.total_samples == 4);
    CHECK(st.status_counts[STATUS_OK] == 2);
    CHECK(st.status_counts[STATUS_NOPY] == 1);
    CHECK(st.status_counts[STATUS_FAULT] == 1);
    CHECK(st.samples.count == 3);
    CHECK(strcmp(stream_native_symbol(&st, 0x10), "bar") == 0);
    CHECK(stream_native_symbol(&st, 0x20) == NULL);
    CHECK(strcmp(stream_code(&st, 0xabc, 0)->qualname, "f") == 0);
    CHECK(strcmp(stream_code(&st, 0xabc, 0)->filename, "file.py") == 0);
    CHECK(stream_code(&st, 0xabc, 0)->firstlineno == 3);
    CHECK(stream_code(&st, 0xabc, 1) == NULL);
    int64_t line = 0;
    CHECK(stream_line(&st, 0xabc, 0, 8, &line) && line == 12);
    CHECK(stream_line(&st, 0xabc, 0, 6, &line) && line == -1);
    CHECK(!stream_line(&st, 0xabc, 0, 10, &line));
    CHECK(strcmp(stream_thread_comm(&st, 1), "python3") == 0);
    CHECK(stream_counter(&st, "lost") == 7);
    CHECK(stream_counter(&st, "dropped") == -2);
    CHECK(stream_counter(&st, "bad") == 0);
    CHECK(stream_counter(&st, "truncated") == 0);
    stream_free(&st);
}

static void
test_long_line(void)
{
    /* 200,000 tokens on one line, plus a line with no newline at EOF. */
    struct strbuf in = STRBUF_INIT;
    sb_append_str(&in, "S\t7\tok\t");
    for (int i = 0; i < 200000; i++) {
        sb_append_str(&in, i ? " n1" : "n1");
    }
    sb_append_str(&in, "\nN\t1\tdeep\t");
    char *out = folded(sb_str(&in), MODE_MERGED, false, 1);
    CHECK(strlen(out) == 200000 * 5 - 1 + 3);
    CHECK(strncmp(out, "deep;deep;", 10) == 0);
    CHECK(strcmp(out + strlen(out) - 7, "deep 1\n") == 0);
    free(out);
    sb_free(&in);
}

/* ---- modes, dictionaries, markers ---- */

/* Leaf first: n10 (leaf), two Python frames run by the eval frame e20,
   then the native caller n30 (root side). */
static const char MIXED[] =
    "S\t100\tok\tn10 p1000:4 p2000:8 e20 n30\n"
    "N\t10\tPyNumber_Add\t/usr/bin/python3\n"
    "N\t20\t_PyEval_EvalFrameDefault\t/usr/bin/python3\n"
    "N\t30\tmain\t/usr/bin/python3\n"
    "C\t1000\tinner\t/app/a.py\t3\n"
    "C\t2000\touter\t/app/a.py\t1\n"
    "L\t1000\t4\t5\n"
    "L\t2000\t8\t2\n"
    "T\t100\tpython3\n";

static void
test_modes(void)
{
    char *out = folded(MIXED, MODE_MERGED, true, 1);
    CHECK_STR(out, "python3 (tid 100);main;outer (/app/a.py:2);"
                   "inner (/app/a.py:5);PyNumber_Add 1\n");
    free(out);

    out = folded(MIXED, MODE_PYTHON, true, 1);
    CHECK_STR(out, "python3 (tid 100);outer (/app/a.py:2);"
                   "inner (/app/a.py:5) 1\n");
    free(out);

    out = folded(MIXED, MODE_NATIVE, true, 1);
    CHECK_STR(out, "python3 (tid 100);main;_PyEval_EvalFrameDefault;"
                   "PyNumber_Add 1\n");
    free(out);

    out = folded(MIXED, MODE_MERGED, false, 1);
    CHECK_STR(out, "main;outer (/app/a.py:2);inner (/app/a.py:5);"
                   "PyNumber_Add 1\n");
    free(out);

    /* Markers: kept in merged and python mode, dropped in native. */
    const char *marked = "S\t1\tok\tm[python-unmatched] n1 m[truncated]\n";
    out = folded(marked, MODE_MERGED, false, 1);
    CHECK_STR(out, "[truncated];0x1;[python-unmatched] 1\n");
    free(out);
    out = folded(marked, MODE_PYTHON, false, 1);
    CHECK_STR(out, "[truncated];[python-unmatched] 1\n");
    free(out);
    out = folded(marked, MODE_NATIVE, false, 1);
    CHECK_STR(out, "0x1 1\n");
    free(out);
}

static void
test_late_dictionaries(void)
{
    /* All names arrive after the samples; unknown ones fall back. */
    const char *text =
        "S\t5\tok\tp1:0 p2:2 e9 n3\n"
        "S\t6\tok\tp7:0 e9 na\n"
        "C\t1\tleaf\tm.py\t1\n"
        "C\t2\troot;fn\tm.py\t1\n"
        "L\t1\t0\t-1\n"
        "L\t2\t2\t40\n"
        "N\t3\t0x3\t\n"
        "T\t5\tworker\n"
        "T\t5\tworker-1\n";
    char *out = folded(text, MODE_MERGED, true, 1);
    CHECK_STR(out,
              "? (tid 6);0xa;[unknown code 0x7] 1\n"
              "worker-1 (tid 5);0x3;root\\x3bfn (m.py:40);leaf (m.py) 1\n");
    free(out);
}

/* A code object's address reused by a later one (a module's code freed
   after its import, an exec()'d string): each sample keeps the name and
   lines of the object that was there when it was taken. */
static void
test_reused_code_address(void)
{
    const char *text =
        "C\t1\t<module>\t<string>\t1\n"
        "L\t1\t10\t1\n"
        "S\t5\tok\tp1:10 p2:4\n"
        "C\t2\tmain\tm.py\t1\n"
        "L\t2\t4\t3\n"
        "C\t1\t<module>\t<string>\t1\n"   /* printed again: the same */
        "S\t5\tok\tp1:10 p2:4\n"
        "C\t1\t<genexpr>\tm.py\t9\n"      /* a new object at 1 */
        "L\t1\t10\t9\n"
        "S\t5\tok\tp1:10 p2:4\n"
        "S\t5\tok\tp1:12 p2:4\n"           /* its line comes later */
        "L\t1\t12\t10\n"
        "C\t1\t<lambda>\tm.py\t9\n"       /* and another */
        "S\t5\tok\tp1:10 p2:4\n"
        "C\t1\t<genexpr>\tm.py\t9\n"      /* the second one again */
        "S\t5\tok\tp1:12 p2:4\n"
        "C\t1\t<lambda>\tm.py\t9\n";
    char *out = folded(text, MODE_PYTHON, false, 1);
    CHECK_STR(out,
              "main (m.py:3);<genexpr> (m.py:10) 2\n"
              "main (m.py:3);<module> (<string>:1) 2\n"
              "main (m.py:3);<genexpr> (m.py:9) 1\n"
              "main (m.py:3);<lambda> (m.py) 1\n");
    free(out);

    /* leak-watch's K stacks are read the same way */
    struct stream st;
    load(&st, text);
    size_t len;
    const char *q = stream_qualify(&st, "n5 p1:10 p2:4", 13, &len);
    CHECK(len == 15 && memcmp(q, "n5 p1/2:10 p2:4", 15) == 0);
    CHECK(strcmp(stream_code(&st, 1, 1)->qualname, "<genexpr>") == 0);
    q = stream_qualify(&st, "n5 p2:4", 7, &len);
    CHECK(len == 7 && memcmp(q, "n5 p2:4", 7) == 0);
    stream_free(&st);
}

static void
test_status_markers(void)
{
    const char *text =
        "S\t1\tnopy\tn10 n20\n"
        "S\t1\tfault\tn10 e20\n"
        "S\t2\tok\t\n"
        "N\t10\tleaf\t\n"
        "N\t20\tstart\t\n"
        "T\t1\tt1\n"
        "T\t2\tt2\n";
    char *out = folded(text, MODE_MERGED, true, 1);
    CHECK_STR(out,
              "t1 (tid 1);leaf;[python read fault] 1\n"
              "t1 (tid 1);start;leaf;[no python state] 1\n"
              "t2 (tid 2) 1\n");
    free(out);

    out = folded(text, MODE_PYTHON, true, 1);
    CHECK_STR(out,
              "t1 (tid 1);[no python state] 1\n"
              "t1 (tid 1);[python read fault] 1\n"
              "t2 (tid 2) 1\n");
    free(out);

    /* Native mode: no markers; the e frame counts as a native frame. */
    out = folded(text, MODE_NATIVE, true, 1);
    CHECK_STR(out,
              "t1 (tid 1);start;leaf 2\n"
              "t2 (tid 2) 1\n");
    free(out);

    /* Without thread roots, a sample with no frames left still shows. */
    out = folded(text, MODE_PYTHON, false, 1);
    CHECK_STR(out,
              "[no frames] 1\n"
              "[no python state] 1\n"
              "[python read fault] 1\n");
    free(out);
}

/* ---- folded output ---- */

static void
test_folded_sorting(void)
{
    const char *text =
        "S\t1\tok\tn2 n1\n"
        "S\t1\tok\tn3 n1\n"
        "S\t1\tok\tn3 n1\n"
        "S\t1\tok\tn4 n1\n"
        "S\t1\tok\tn4 n1\n"
        "S\t1\tok\tn5\n"
        "S\t1\tok\tn5\n"
        "S\t1\tok\tn5\n"
        "N\t1\tmain\t\n"
        "N\t2\tzeta\t\n"
        "N\t3\tbeta\t\n"
        "N\t4\talpha\t\n"
        "N\t5\tother\t\n";
    char *out = folded(text, MODE_MERGED, false, 1);
    CHECK_STR(out,
              "other 3\n"
              "main;alpha 2\n"
              "main;beta 2\n"
              "main;zeta 1\n");
    free(out);

    out = folded(text, MODE_MERGED, false, 2);
    CHECK_STR(out, "other 3\nmain;alpha 2\nmain;beta 2\n");
    free(out);

    /* Stacks that only print the same once ';' is escaped are merged. */
    const char *clash =
        "S\t1\tok\tn1\nS\t1\tok\tn2\n"
        "N\t1\ta;b\t\nN\t2\ta\\x3bb\t\n";
    out = folded(clash, MODE_MERGED, false, 1);
    CHECK_STR(out, "a\\x3bb 2\n");
    free(out);
}

/* ---- summary ---- */

static void
test_summary_recursion(void)
{
    /* f recurses: f -> g -> f -> h (h is the leaf).  f's lines differ. */
    const char *text =
        "S\t1\tok\tp3:0 p1:2 p2:0 p1:0 e9 n8\n"
        "S\t1\tok\tp3:0 p1:2 p2:0 p1:0 e9 n8\n"
        "S\t1\tok\tp1:2 p2:0 p1:0 e9 n8\n"
        "S\t1\tok\tp1:4 e9 n8\n"
        "S\t1\tnopy\tn8\n"
        "C\t1\tf\ta.py\t1\n"
        "C\t2\tg\ta.py\t10\n"
        "C\t3\th\tb.py\t1\n"
        "L\t1\t0\t2\n"
        "L\t1\t2\t3\n"
        "L\t1\t4\t4\n"
        "N\t8\tmain\t\n";
    struct stream st;
    struct stacks sk;
    struct summary sum;

    load(&st, text);
    stacks_init(&sk, MODE_MERGED, true);
    stacks_build(&sk, &st);
    summary_compute(&sk, &sum);

    CHECK(sum.samples == 5);
    CHECK(sum.nrows == 4);
    /* h: self 2, f: self 2 (one at line 3, one at line 4), main: self 1
       (the nopy sample: the marker is not a function), g: self 0. */
    const char *want[] = {"f (a.py)", "h (b.py)", "main", "g (a.py)"};
    uint64_t want_self[] = {2, 2, 1, 0};
    uint64_t want_total[] = {4, 2, 5, 3};
    int64_t want_line[] = {3, -1, -1, -1};
    for (size_t i = 0; i < 4 && i < sum.nrows; i++) {
        const struct func_stat *row = &sum.rows[i];
        CHECK_STR(stacks_func_name(&sk, row->func, NULL), want[i]);
        CHECK(row->self == want_self[i]);
        CHECK(row->total == want_total[i]);
        CHECK(row->hot_line == want_line[i]);
    }

    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    summary_print(&sum, &sk, 2, f);
    fclose(f);
    CHECK_STR(out,
              "  SELF%  TOTAL%  SAMPLES  HOT LINE  FUNCTION\n"
              "   40.0    80.0        2         3  f (a.py)\n"
              "   40.0    40.0        2         -  h (b.py)\n");
    free(out);

    summary_free(&sum);
    stacks_free(&sk);
    stream_free(&st);
}

static void
test_summary_python_mode(void)
{
    struct stream st;
    struct stacks sk;
    struct summary sum;

    load(&st, MIXED);
    stacks_init(&sk, MODE_PYTHON, true);
    stacks_build(&sk, &st);
    summary_compute(&sk, &sum);
    CHECK(sum.nrows == 2);
    if (sum.nrows == 2) {
        CHECK_STR(stacks_func_name(&sk, sum.rows[0].func, NULL),
                  "inner (/app/a.py)");
        CHECK(sum.rows[0].self == 1 && sum.rows[0].hot_line == 5);
        CHECK(sum.rows[1].self == 0 && sum.rows[1].total == 1);
        /* no self sample: the line it called from */
        CHECK(sum.rows[1].hot_line == 2);
    }
    summary_free(&sum);
    stacks_free(&sk);
    stream_free(&st);
}

/* ---- flame graph ---- */

static char *
svg_of(const char *text, const char *title)
{
    struct stream st;
    struct stacks sk;
    struct flame_options fo;
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    flame_options_init(&fo);
    fo.title = title;
    load(&st, text);
    stacks_init(&sk, MODE_MERGED, true);
    stacks_build(&sk, &st);
    flamegraph_write(&sk, &fo, f);
    fclose(f);
    stacks_free(&sk);
    stream_free(&st);
    return out;
}

static void
test_svg_escaping(void)
{
    const char *text =
        "S\t1\tok\tn1\n"
        "N\t1\t<script>alert('x')</script>&\xff\t\n"
        "T\t1\t\"q\"\n";
    char *out = svg_of(text, "<b>title</b>");
    CHECK(strstr(out, "<script>") == NULL);
    CHECK(strstr(out, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
                      "&amp;\xef\xbf\xbd (1 samples, 100.00%)</title>")
          != NULL);
    CHECK(strstr(out, "&quot;q&quot; (tid 1)") != NULL);
    CHECK(strstr(out, "&lt;b&gt;title&lt;/b&gt;") != NULL);
    CHECK(strstr(out, "\xff") == NULL);
    CHECK(strstr(out, "1 samples, mode merged") != NULL);
    CHECK(strstr(out, "</svg>\n") != NULL);
    free(out);

    out = svg_of("", "empty");
    CHECK(strstr(out, "no samples") != NULL);
    CHECK(strstr(out, "</svg>\n") != NULL);
    free(out);
}

static void
test_svg_layout(void)
{
    /* Of 2000 samples: "tiny" has 2 (1.18 px of the 1180: drawn),
       "speck" 1 (0.59 px: merged into a "..." with its 1 sample; too
       narrow even with main zoomed, so not in the SVG at all). */
    struct strbuf in = STRBUF_INIT;
    for (int i = 0; i < 1997; i++) {
        sb_append_str(&in, "S\t1\tok\tn1\n");
    }
    sb_append_str(&in, "S\t1\tok\tn2\nS\t1\tok\tn3\nS\t1\tok\tn3\n"
                       "N\t1\tbig\t\nN\t2\tspeck\t\nN\t3\ttiny\t\n"
                       "T\t1\tmain\n");
    char *out = svg_of(sb_str(&in), "t");
    CHECK(strstr(out, "<title>big (1997 samples, 99.85%)") != NULL);
    CHECK(strstr(out, "<title>tiny (2 samples, 0.10%)") != NULL);
    CHECK(strstr(out, "speck") == NULL);
    CHECK(strstr(out, "<g class=\"f m\" data-p=\"1\" data-d=\"2\" "
                      "data-w=\"1\" data-n=\"1\" data-t=\"1\">\n<title>"
                      "\xe2\x80\xa6 1 frame merged (1 samples, 0.05%)")
          != NULL);
    CHECK(strstr(out, "; 1 frame narrower than 1 px merged into 1 ")
          != NULL);
    CHECK(strstr(out, "<title>main (tid 1) (2000 samples, 100.00%)")
          != NULL);
    CHECK(strstr(out, "<title>all (2000 samples, 100.00%)") != NULL);
    CHECK(strstr(out, "id=\"root\" data-x=\"0\" data-w=\"2000\"") != NULL);
    free(out);
    sb_free(&in);
}

/* "root" calls "big" (big samples) and "mid", which calls n frames of
   1 sample, each calling one frame. */
static void
wide_tree(struct stacks *sk, int n, int big)
{
    struct stream st;
    struct strbuf in = STRBUF_INIT;

    for (int i = 0; i < n; i++) {
        sb_printf(&in, "S\t1\tok\tn%x n%x n3 n1\nN\t%x\tc%d\t\n",
                  0x10000 + i, 0x100 + i, 0x100 + i, i);
        sb_printf(&in, "N\t%x\tcallee\t\n", 0x10000 + i);
    }
    for (int i = 0; i < big; i++) {
        sb_append_str(&in, "S\t1\tok\tn2 n1\n");
    }
    sb_append_str(&in, "N\t1\troot\t\nN\t2\tbig\t\nN\t3\tmid\t\n");
    load(&st, sb_str(&in));
    stacks_init(sk, MODE_NATIVE, false);
    stacks_build(sk, &st);
    stream_free(&st);
    sb_free(&in);
}

static void
test_flame_tree_merge(void)
{
    struct stacks sk;
    struct flame_tree t;

    /* Nodes: all, root (1100), big (1000), mid (100), then c0, its
       callee, c1, ... (1 each). */
    wide_tree(&sk, 100, 1000);
    flame_tree_build(&t, &sk, 1);
    CHECK(t.nnodes == 4 + 200);
    CHECK(t.nodes[3].count == 100 && t.nodes[3].end == 204);

    /* At 2% of the width: each c is 1% of mid, narrow even with mid
       zoomed, so not kept; merged under mid, after nothing drawn. */
    flame_tree_select(&t, 0.02, FLAME_MAX_FRAMES);
    CHECK(t.nkept == 4 && t.nshown == 4 && t.ndots == 1);
    CHECK(t.nodes[3].rest.frames == 100 && t.nodes[3].rest.subtree == 200);
    CHECK(t.nodes[3].narrow.frames == 100);
    CHECK(t.nodes[3].narrow.subtree == 200);
    CHECK(t.nodes[3].narrow.samples == 100);
    /* big drawn first, mid after it, its "..." where mid starts */
    CHECK(t.nodes[2].view_x == 0 && t.nodes[3].view_x == 1000);
    CHECK(t.nodes[3].dot_x == 1000 && t.nodes[1].narrow.frames == 0);

    /* At 0.5%: kept (zooming into mid draws them), still merged in the
       full view (1 of 1100 samples). */
    flame_tree_select(&t, 0.005, FLAME_MAX_FRAMES);
    CHECK(t.nkept == 204 && t.nodes[3].rest.frames == 0);
    CHECK(t.nodes[3].narrow.frames == 100 && t.ndots == 1);
    CHECK(t.nodes[3].narrow.subtree == 200);

    /* A budget of 53 frames: the widest 52 below the top are root, big,
       mid and 49 of the 200 frames of 1 sample; ties at the cut go. */
    flame_tree_select(&t, 0.0, 53);
    CHECK(t.nkept == 4);
    CHECK(t.nodes[3].rest.frames == 100 && t.nodes[3].rest.subtree == 200);
    flame_tree_select(&t, 0.0, 1000);
    CHECK(t.nkept == 204 && t.ndots == 0 && t.nshown == 204);
    flame_tree_free(&t);
    stacks_free(&sk);
}

static void
test_flame_paths(void)
{
    static const struct {
        const char *name, *cwd, *want;
    } cases[] = {
        {"f (/usr/lib/python3.11/json/decoder.py:3)", NULL,
         "f (<stdlib>/json/decoder.py:3)"},
        {"f (/opt/v/lib/python3.13t/site-packages/np/a.py)", NULL,
         "f (<site>/np/a.py)"},
        {"f (/usr/lib/python3/dist-packages/apt/x.py:9)", NULL,
         "f (<site>/apt/x.py:9)"},
        {"f (/usr/lib/python3.11/site-packages/a.py:1)", NULL,
         "f (<site>/a.py:1)"},
        {"f (/srv/app/views.py:10)", "/srv/app", "f (./views.py:10)"},
        {"f (/srv/app/views.py:10)", "/srv/app/", "f (./views.py:10)"},
        {"f (/srv/application.py:10)", "/srv/app", NULL},
        {"f (/srv/app/views.py:10)", "/", NULL},
        {"f (<frozen importlib._bootstrap>:1)", NULL, NULL},
        {"g (x) (/usr/lib/python3.11/os.py)", NULL, "g (x) (<stdlib>/os.py)"},
        {"no parenthesis", NULL, NULL},
        {"f (/usr/lib/python3.11/)", NULL, NULL},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct strbuf out = STRBUF_INIT;
        const char *name = cases[i].name;
        bool changed = flame_short_name(name, strlen(name), cases[i].cwd,
                                        &out);
        CHECK(changed == (cases[i].want != NULL));
        CHECK_STR(sb_str(&out), cases[i].want ? cases[i].want : name);
        sb_free(&out);
    }
}

static void
test_flame_min_width(void)
{
    double f = -1;

    CHECK(flame_parse_min_width("1", &f) && f == 1.0 / 1180);
    CHECK(flame_parse_min_width("0.1", &f) && f == 0.1 / 1180);
    CHECK(flame_parse_min_width(".5%", &f) && f == 0.005);
    CHECK(flame_parse_min_width("0", &f) && f == 0.0);
    CHECK(flame_parse_min_width("100%", &f) && f == 1.0);
    CHECK(!flame_parse_min_width("101%", &f));
    CHECK(!flame_parse_min_width("1181", &f));
    CHECK(!flame_parse_min_width("-1", &f));
    CHECK(!flame_parse_min_width(" 1", &f));
    CHECK(!flame_parse_min_width("1px", &f));
    CHECK(!flame_parse_min_width("nan", &f));
    CHECK(!flame_parse_min_width("", &f));
    CHECK(!flame_parse_min_width("%", &f));
}

static void
test_function_view(void)
{
    /* inner at lines 5 and 6 (one function), an unknown code object */
    const char *text =
        "S\t1\tok\tp1:0 p2:0\nS\t1\tok\tp1:2 p2:0\nS\t1\tok\tp3:0\n"
        "C\t1\tinner\t/a.py\t1\nC\t2\touter\t/a.py\t1\n"
        "L\t1\t0\t5\nL\t1\t2\t6\nL\t2\t0\t9\nT\t1\tt\n";
    struct stream st;
    struct stacks sk, fv;
    struct folded_line *lines;

    load(&st, text);
    stacks_init(&sk, MODE_MERGED, true);
    stacks_build(&sk, &st);
    stacks_function_view(&sk, &fv);
    size_t n = stacks_folded(&fv, 1, &lines);
    CHECK(n == 2 && fv.total == 3);
    if (n == 2) {
        CHECK_STR(lines[0].text, "t (tid 1);outer (/a.py);inner (/a.py)");
        CHECK(lines[0].count == 2);
        CHECK_STR(lines[1].text, "t (tid 1);[unknown code 0x3]");
    }
    folded_lines_free(lines, n);
    /* A Python frame is its function now, without a line. */
    for (size_t i = 0; i < fv.names.count; i++) {
        if (stacks_frame_kind(&fv, (uint32_t)i) == FRAME_PYTHON) {
            uint32_t func = stacks_frame_func(&fv, (uint32_t)i);
            CHECK_STR(stacks_frame_name(&fv, (uint32_t)i, NULL),
                      stacks_func_name(&fv, func, NULL));
            CHECK(stacks_frame_line(&fv, (uint32_t)i) == -1);
        }
    }
    stacks_free(&fv);
    stacks_free(&sk);
    stream_free(&st);
}

/* ---- frame labels ---- */

static char *
csv(const char *s, size_t n)
{
    struct strbuf sb = STRBUF_INIT;
    sb_append_csv(&sb, s, n);
    char *copy = strdup(sb_str(&sb));
    sb_free(&sb);
    return copy;
}

static void
test_csv_escape(void)
{
    char *s = csv("req-42", 6);
    CHECK_STR(s, "req-42");
    free(s);
    s = csv("", 0);
    CHECK_STR(s, "");
    free(s);
    /* Quotes, commas, CR and LF make a quoted field, quotes doubled. */
    s = csv("a,b", 3);
    CHECK_STR(s, "\"a,b\"");
    free(s);
    s = csv("say \"hi\"", 8);
    CHECK_STR(s, "\"say \"\"hi\"\"\"");
    free(s);
    s = csv("a\nb\rc", 5);
    CHECK_STR(s, "\"a\nb\rc\"");
    free(s);
    /* Formulas are defused with a leading quote, inside a quoted field
       (OWASP). */
    s = csv("=cmd|' /C calc'!A0", 18);
    CHECK_STR(s, "\"'=cmd|' /C calc'!A0\"");
    free(s);
    s = csv("+1", 2);
    CHECK_STR(s, "\"'+1\"");
    free(s);
    s = csv("-1", 2);
    CHECK_STR(s, "\"'-1\"");
    free(s);
    s = csv("@SUM(A1)", 8);
    CHECK_STR(s, "\"'@SUM(A1)\"");
    free(s);
    s = csv("\tx", 2);
    CHECK_STR(s, "\"'\tx\"");
    free(s);
    s = csv("\rx", 2);
    CHECK_STR(s, "\"'\rx\"");
    free(s);
    s = csv("=a,\"b\"", 6);
    CHECK_STR(s, "\"'=a,\"\"b\"\"\"");
    free(s);
    /* Only at the start; escaped text from the producer stays as-is. */
    s = csv("a=b-c", 5);
    CHECK_STR(s, "a=b-c");
    free(s);
    s = csv("a\\tb", 4);
    CHECK_STR(s, "a\\tb");
    free(s);
    /* Invalid UTF-8 and NUL become \xNN; valid UTF-8 stays. */
    s = csv("caf\xc3\xa9\xff\xc3", 7);
    CHECK_STR(s, "caf\xc3\xa9\\xff\\xc3");
    free(s);
    s = csv("a\0b", 3);
    CHECK_STR(s, "a\\x00b");
    free(s);
}

static void
test_label_records(void)
{
    struct token t;
    uint64_t pid = 0;

    CHECK(token_parse("l42", 3, &t) && t.kind == TOKEN_LABEL
          && t.addr == 42);
    CHECK(token_parse("l0", 2, &t) && t.kind == TOKEN_LABEL && t.addr == 0);
    CHECK(!token_parse("l", 1, &t));
    CHECK(!token_parse("lx", 2, &t));
    CHECK(!token_parse("l0x1", 4, &t));
    CHECK(!token_parse("l-1", 3, &t));

    struct stream st;
    load(&st,
         "S\t1\tok\tp1:0 l3\n"
         "B\t3\tfirst\n"
         "B\t3\treq-42 \\t<&>;,\n"      /* last one wins */
         "B\t4\t\n"
         "B\tx\tbad id\n"
         "B\t5\ttoo\tmany\n"
         "T\t1\tpython3\t77\n"
         "T\t2\tworker\n"
         "T\t3\tt3\t30\n"
         "T\t3\tt3-renamed\n"           /* keeps pid 30 */
         "T\t4\tbad\tpid\n"            /* ignored */
         "T\t5\ttoo\t1\tmany\n");      /* ignored */
    CHECK_STR(stream_label_text(&st, 3), "req-42 \\t<&>;,");
    CHECK_STR(stream_label_text(&st, 4), "");
    CHECK(stream_label_text(&st, 5) == NULL);
    CHECK(stream_label_text(&st, 6) == NULL);
    CHECK(stream_thread_pid(&st, 1, &pid) && pid == 77);
    CHECK_STR(stream_thread_comm(&st, 1), "python3");
    CHECK(!stream_thread_pid(&st, 2, &pid));
    CHECK_STR(stream_thread_comm(&st, 2), "worker");
    CHECK(stream_thread_pid(&st, 3, &pid) && pid == 30);
    CHECK_STR(stream_thread_comm(&st, 3), "t3-renamed");
    CHECK(stream_thread_comm(&st, 4) == NULL);
    CHECK(stream_thread_comm(&st, 5) == NULL);

    struct strbuf sb = STRBUF_INIT;
    label_text(&st, 3, &sb);
    label_text(&st, 9, &sb);
    CHECK_STR(sb_str(&sb), "req-42 \\t<&>;,?9");
    sb_free(&sb);
    stream_free(&st);

    enum label_mode m = LABELS_OFF;
    CHECK(label_mode_parse("split", &m) && m == LABELS_SPLIT);
    CHECK(label_mode_parse("join", &m) && m == LABELS_JOIN);
    CHECK(label_mode_parse("off", &m) && m == LABELS_OFF);
    CHECK(!label_mode_parse("on", &m) && m == LABELS_OFF);
    CHECK(!label_mode_parse("", &m));
}

static void
test_innermost_label(void)
{
    struct {
        const char *tokens;
        bool found;
        uint64_t id;
    } cases[] = {
        {"p1:0 l5", true, 5},
        {"n1 p1:0 l5 p2:0 l6 e9 n3", true, 5},   /* innermost wins */
        {"n1 p1:0 p2:0 l6 e9", true, 6},
        {"n1 l5 p2:0", false, 0},                 /* after a native */
        {"l5 p2:0", false, 0},                    /* after nothing */
        {"p1:0 m[x] l5", false, 0},               /* after a marker */
        {"p1 l5", false, 0},                      /* after a bad p */
        {"p1:0 lx p2:0 l6", true, 6},             /* bad l: skipped */
        {"p1:0 l5 l6", true, 5},
        {"p1:0 n2 l5 p3:0 l6", true, 6},
        {"", false, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *t = cases[i].tokens;
        uint64_t id = 0;
        bool found = innermost_label(t, t + strlen(t), &id);
        CHECK(found == cases[i].found);
        if (found != cases[i].found || (found && id != cases[i].id)) {
            fprintf(stderr, "  innermost_label(\"%s\")\n", t);
            CHECK(false);
        }
    }
}

/* Leaf first: compute (p3) under handle (p1, labelled 7) under serve
   (p2) run by the eval frame e20 under main; the label record and the
   others come after the samples. */
static const char LABELLED[] =
    "S\t100\tok\tn10 p3:0 p1:4 l7 p2:8 e20 n30\n"
    "S\t100\tok\tn10 p3:0 p1:4 l7 p2:8 e20 n30\n"
    "S\t100\tok\tn10 p3:0 p1:4 l8 p2:8 e20 n30\n"
    "S\t100\tok\tn10 p3:0 p1:4 p2:8 e20 n30\n"
    "N\t10\tPyNumber_Add\t\n"
    "N\t20\t_PyEval_EvalFrameDefault\t\n"
    "N\t30\tmain\t\n"
    "C\t1\thandle\ts.py\t10\n"
    "C\t2\tserve\ts.py\t30\n"
    "C\t3\tcompute\ts.py\t1\n"
    "L\t1\t4\t12\n"
    "L\t2\t8\t40\n"
    "L\t3\t0\t5\n"
    "B\t7\treq-42\n"
    "B\t8\ta;b\n"
    "T\t100\tpython3\n";

static void
test_labels_split(void)
{
    char *out = folded_labels(LABELLED, MODE_MERGED, true, 1, LABELS_SPLIT);
    CHECK_STR(out,
              "python3 (tid 100);main;serve (s.py:40);[label req-42];"
              "handle (s.py:12);compute (s.py:5);PyNumber_Add 2\n"
              "python3 (tid 100);main;serve (s.py:40);[label a\\x3bb];"
              "handle (s.py:12);compute (s.py:5);PyNumber_Add 1\n"
              "python3 (tid 100);main;serve (s.py:40);"
              "handle (s.py:12);compute (s.py:5);PyNumber_Add 1\n");
    free(out);

    out = folded_labels(LABELLED, MODE_PYTHON, false, 1, LABELS_SPLIT);
    CHECK_STR(out,
              "serve (s.py:40);[label req-42];handle (s.py:12);"
              "compute (s.py:5) 2\n"
              "serve (s.py:40);[label a\\x3bb];handle (s.py:12);"
              "compute (s.py:5) 1\n"
              "serve (s.py:40);handle (s.py:12);compute (s.py:5) 1\n");
    free(out);

    /* Native mode: no labels. */
    out = folded_labels(LABELLED, MODE_NATIVE, false, 1, LABELS_SPLIT);
    CHECK_STR(out, "main;_PyEval_EvalFrameDefault;PyNumber_Add 4\n");
    free(out);

    /* Off and join: as if there were no l tokens at all. */
    out = folded_labels(LABELLED, MODE_MERGED, false, 1, LABELS_OFF);
    CHECK_STR(out, "main;serve (s.py:40);handle (s.py:12);"
                   "compute (s.py:5);PyNumber_Add 4\n");
    free(out);
    out = folded_labels(LABELLED, MODE_MERGED, false, 1, LABELS_JOIN);
    CHECK_STR(out, "main;serve (s.py:40);handle (s.py:12);"
                   "compute (s.py:5);PyNumber_Add 4\n");
    free(out);

    /* Nested labels; an unknown id; l tokens after anything but a p
       token are ignored. */
    const char *nested =
        "S\t1\tok\tp3:0 l9 p1:0 l7 p2:0\n"
        "S\t1\tok\tn1 l7 p2:0\n"
        "S\t1\tok\tl7 p2:0 l8 l7\n"
        "S\t1\tok\tm[x] l7 p2:0\n"
        "C\t1\th\ts.py\t1\nC\t2\ts\ts.py\t1\nC\t3\tc\ts.py\t1\n"
        "N\t1\tleaf\t\n"
        "B\t7\tA\nB\t8\tB\n";
    out = folded_labels(nested, MODE_MERGED, false, 1, LABELS_SPLIT);
    CHECK_STR(out,
              "[label B];s (s.py) 1\n"
              "s (s.py);[label A];h (s.py);[label ?9];c (s.py) 1\n"
              "s (s.py);[x] 1\n"
              "s (s.py);leaf 1\n");
    free(out);
}

static void
test_labels_summary_svg(void)
{
    struct stream st;
    struct stacks sk;
    struct summary sum;

    load(&st, LABELLED);
    stacks_init(&sk, MODE_PYTHON, true);
    stacks_set_labels(&sk, LABELS_SPLIT);
    stacks_build(&sk, &st);
    summary_compute(&sk, &sum);
    CHECK(sum.nrows == 3);
    for (size_t i = 0; i < sum.nrows; i++) {
        CHECK(strstr(stacks_func_name(&sk, sum.rows[i].func, NULL),
                     "label") == NULL);
    }
    summary_free(&sum);
    stacks_free(&sk);
    stream_free(&st);

    const char *hostile =
        "S\t1\tok\tp1:0 l1 e9\n"
        "C\t1\tf\ta.py\t1\n"
        "B\t1\t<script>alert(\"x\")</script>;,=cmd\xff\n";
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    struct flame_options fo;
    flame_options_init(&fo);
    fo.title = "t";
    load(&st, hostile);
    stacks_init(&sk, MODE_MERGED, true);
    stacks_set_labels(&sk, LABELS_SPLIT);
    stacks_build(&sk, &st);
    flamegraph_write(&sk, &fo, f);
    fclose(f);
    CHECK(strstr(out, "<script>") == NULL);
    CHECK(strstr(out, "\xff") == NULL);
    const char *title = "<title>[label &lt;script&gt;alert(&quot;x&quot;)"
                        "&lt;/script&gt;;,=cmd\xef\xbf\xbd] (1 samples";
    const char *at = strstr(out, title);
    CHECK(at != NULL);
    /* Its own colour family: blue-violet, unlike any other kind. */
    if (at != NULL) {
        int r = 0, g = 0, b = 0;
        const char *fill = strstr(at, "fill=\"rgb(");
        CHECK(fill != NULL
              && sscanf(fill, "fill=\"rgb(%d,%d,%d)", &r, &g, &b) == 3);
        CHECK(b >= 215 && r >= 160 && r < 215 && g < 165);
    }
    free(out);
    stacks_free(&sk);
    stream_free(&st);
}

static char *
label_report_text(const char *text, bool as_csv)
{
    struct stream st;
    struct label_report rep;
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    load(&st, text);
    label_report_compute(&st, &rep);
    if (as_csv) {
        label_report_write_csv(&rep, f);
    }
    else {
        label_report_print(&rep, f);
    }
    fclose(f);
    label_report_free(&rep);
    stream_free(&st);
    return out;
}

static void
test_labels_join(void)
{
    /* Innermost label wins; pids from T records (the tid itself without
       one); B records after the samples; an unknown id reads ?id. */
    const char *text =
        "S\t10\tok\tp3:0 l2 p1:0 l1 p2:0\n"
        "S\t10\tok\tp3:0 l2 p1:0 l1 p2:0\n"
        "S\t11\tok\tp3:0 p1:0 l1 p2:0\n"
        "S\t20\tok\tp3:0 p1:0 l1 p2:0\n"
        "S\t20\tok\tp3:0 p1:0 l1 p2:0\n"
        "S\t30\tok\tn1 l1 p2:0\n"
        "S\t30\tnopy\tn1\n"
        "S\t10\tok\tp3:0 l4 p2:0\n"
        "S\t10\tok\tp3:0 l5 p2:0\n"
        "B\t1\treq-1\n"
        "B\t2\tinner\n"
        "B\t5\t=HYPERLINK(\"http://x\",\"y\")\xff\x1b[2J\n"
        "T\t10\tmain\t10\n"
        "T\t11\tworker\t10\n"
        "T\t20\tother\t20\n";
    char *out = label_report_text(text, false);
    CHECK_STR(out,
              "  SAMPLES      %  PROCS  LABEL\n"
              "        3   33.3      2  req-1\n"
              "        2   22.2      1  (no label)\n"
              "        2   22.2      1  inner\n"
              "        1   11.1      1  =HYPERLINK(\"http://x\",\"y\")"
              "\xef\xbf\xbd\xef\xbf\xbd[2J\n"
              "        1   11.1      1  ?4\n");
    free(out);

    out = label_report_text(text, true);
    CHECK_STR(out,
              "label,pid,samples,percent\n"
              "req-1,10,1,11.1\n"
              "req-1,20,2,22.2\n"
              "(no label),30,2,22.2\n"
              "inner,10,2,22.2\n"
              "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\\xff\x1b[2J\",10,1,11.1\n"
              "?4,10,1,11.1\n");
    free(out);

    /* No samples: the header alone. */
    out = label_report_text("", false);
    CHECK_STR(out, "  SAMPLES      %  PROCS  LABEL\n");
    free(out);
    out = label_report_text("B\t1\tx\n", true);
    CHECK_STR(out, "label,pid,samples,percent\n");
    free(out);
}

/* ---- leak.c ---- */

static void
feed_leak(struct leak *lk, const char *text)
{
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        leak_parse_line(lk, p, len);
        p += len + (nl ? 1 : 0);
    }
}

/* Two stacks at the same Python line (different native callers), one at
   another line, one labelled; three snapshots. */
static const char LEAK_STREAM[] =
    "I\tmode\ttrace\nI\tinterval_ms\t1000\nI\tdomains\tpy raw libc\n"
    "N\t10\tPyBytes_FromStringAndSize\t/usr/bin/python3.11\n"
    "N\t20\tleak_one\t/x/leaky.so\n"
    "N\t30\tPyList_Append\t/usr/bin/python3.11\n"
    "C\taa\thandle\t/app/a.py\t10\n"
    "L\taa\t4\t12\nL\taa\t8\t13\n"
    "C\tbb\tmain\t/app/b,\"x\".py\t1\nL\tbb\t2\t3\n"
    "B\t1\ttenant-<a>\n"
    "K\t1\tn10 n20 paa:4 pbb:2 \n"
    "K\t2\tn10 paa:4 pbb:2 \n"
    "K\t3\tn30 paa:8 l1 pbb:2 \n"
    "A\t1000\t1\t100\t1\nA\t1000\t3\t50\t1\n"
    "E\t1000\t2\t0\t0\t0\n"
    "A\t2000\t1\t300\t3\nA\t2000\t2\t40\t1\n"
    "E\t2000\t5\t0\t0\t0\n"
    "A\t3000\t1\t500\t5\nA\t3000\t3\t0\t0\n"
    "E\t3000\t6\t0\t0\t0\n";

static uint32_t
group_titled(const struct leak *lk, const char *title)
{
    for (uint32_t g = 0; g < lk->group_keys.count; g++) {
        if (strcmp(lk->groups[g].title, title) == 0) {
            return g;
        }
    }
    return UINT32_MAX;
}

static void
test_leak_group_line(void)
{
    struct leak lk;
    leak_init(&lk, GROUP_LINE);
    feed_leak(&lk, LEAK_STREAM);
    CHECK(lk.nsnap == 3);
    uint32_t l12 = group_titled(&lk, "/app/a.py:12");
    uint32_t l13 = group_titled(&lk, "/app/a.py:13");
    CHECK(l12 != UINT32_MAX && l13 != UINT32_MAX);
    if (l12 != UINT32_MAX && l13 != UINT32_MAX) {
        /* stacks 1 and 2 share line 12: 500 + 40 now, 100 at the first */
        CHECK(lk.groups[l12].bytes == 540);
        CHECK(lk.groups[l12].blocks == 6);
        CHECK(leak_growth(&lk, l12) == 440);
        CHECK(lk.groups[l13].bytes == 0);
        CHECK(leak_growth(&lk, l13) == -50);
        size_t n;
        uint32_t *order = leak_ranked(&lk, true, &n);
        CHECK(n == 2 && order[0] == l12);
        free(order);
    }
    CHECK(lk.snap_total[0] == 150 && lk.snap_total[2] == 540);
    leak_free(&lk);
}

static void
test_leak_group_stack_label(void)
{
    struct leak lk;
    leak_init(&lk, GROUP_STACK);
    feed_leak(&lk, LEAK_STREAM);
    CHECK(lk.group_keys.count == 3);
    CHECK(group_titled(&lk, "PyBytes_FromStringAndSize < leak_one < "
                       "handle (/app/a.py:12)") != UINT32_MAX);
    leak_free(&lk);

    leak_init(&lk, GROUP_LABEL);
    feed_leak(&lk, LEAK_STREAM);
    uint32_t a = group_titled(&lk, "tenant-<a>");
    uint32_t none = group_titled(&lk, NO_LABEL);
    CHECK(a != UINT32_MAX && none != UINT32_MAX);
    if (a != UINT32_MAX && none != UINT32_MAX) {
        CHECK(lk.groups[a].bytes == 0 && leak_growth(&lk, a) == -50);
        CHECK(lk.groups[none].bytes == 540);
    }
    leak_free(&lk);
}

static void
test_leak_filters(void)
{
    struct leak lk;
    const char *inc[] = {"leak_one"};
    const char *exc[] = {"*b,*"};

    leak_init(&lk, GROUP_STACK);
    lk.includes = inc;
    lk.nincludes = 1;
    feed_leak(&lk, LEAK_STREAM);
    CHECK(lk.group_keys.count == 1);
    CHECK(lk.snap_total[2] == 500);
    leak_free(&lk);

    /* a Python frame's file matches too: every stack has b,"x".py */
    leak_init(&lk, GROUP_STACK);
    lk.excludes = exc;
    lk.nexcludes = 1;
    feed_leak(&lk, LEAK_STREAM);
    CHECK(lk.group_keys.count == 0);
    CHECK(lk.snap_total[2] == 0);
    leak_free(&lk);
}

/* leak_write_report's text (free it) */
static char *
leak_report_text(const struct leak *lk)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(leak_write_report(lk, 10, f) == 0);
    fclose(f);
    return buf;
}

/* The report names the tables' sizes and how full they got (the peak of
   the E records' live blocks, not the last), and says its totals are
   lower bounds once an allocation was dropped. */
static void
test_leak_report_tables(void)
{
    struct leak lk;

    leak_init(&lk, GROUP_LINE);
    feed_leak(&lk, LEAK_STREAM);
    feed_leak(&lk, "A\t4000\t1\t500\t5\nE\t4000\t4\t7\t700\t0\n"
              "X\tevents\t99\nX\tstacks\t3\nX\tmax_live\t262144\n"
              "X\tmax_stacks\t16384\n");
    char *text = leak_report_text(&lk);
    CHECK(strstr(text, "tables: 6 of 262144 live blocks at the fullest "
                 "snapshot, 3 of 16384 stacks") != NULL);
    CHECK(strstr(text, "7 allocations (700 bytes) were not tracked") != NULL);
    CHECK(strstr(text, "every total is a lower bound") != NULL);
    free(text);
    leak_free(&lk);

    /* a stream without the sizes (an older leak-watch): no such line */
    leak_init(&lk, GROUP_LINE);
    feed_leak(&lk, LEAK_STREAM);
    text = leak_report_text(&lk);
    CHECK(strstr(text, "tables:") == NULL);
    CHECK(strstr(text, "lower bound") == NULL);
    free(text);
    leak_free(&lk);
}

static void
test_leak_outputs_escape(void)
{
    struct leak lk;
    char *buf = NULL;
    size_t len = 0;

    leak_init(&lk, GROUP_LABEL);
    feed_leak(&lk, "C\tbb\tmain\t/b.py\t1\nL\tbb\t2\t3\n"
              "B\t2\t=cmd \"q\" \\ <x>\nK\t2\tpbb:2 l2 \n"
              "A\t1\t2\t10\t1\nE\t1\t1\t0\t0\t0\n");
    FILE *f = open_memstream(&buf, &len);
    CHECK(leak_write_csv(&lk, 10, f) == 0);
    fclose(f);
    CHECK(strstr(buf, "0.001,1,\"'=cmd \"\"q\"\" \\ <x>\",10,1\n") != NULL);
    free(buf);
    buf = NULL;
    f = open_memstream(&buf, &len);
    CHECK(leak_write_plot_data(&lk, 10, f) == 0);
    fclose(f);
    CHECK(strstr(buf, "\"=cmd 'q' ' <x>\"") != NULL);
    free(buf);
    leak_free(&lk);
}

/* ---- runner ---- */

/* ---- output formats (pprof, speedscope) and folded input ---- */

static void
test_json_escape(void)
{
    struct strbuf sb = STRBUF_INIT;

    sb_append_json(&sb, "a\"b\\c</script>&'\x01\x1f\x7f\t", 20);
    CHECK_STR(sb_str(&sb), "a\\\"b\\\\c\\u003c/script\\u003e\\u0026"
              "\\u0027\\u0001\\u001f\\u007f\\u0009");
    sb_clear(&sb);
    /* invalid UTF-8 and a lone continuation byte; valid é, U+2028 */
    sb_append_json(&sb, "\xff\x80\xc3\xa9\xe2\x80\xa8", 7);
    CHECK_STR(sb_str(&sb), "\xef\xbf\xbd\xef\xbf\xbd\xc3\xa9\\u2028");
    sb_free(&sb);
}

/* Read folded text into fresh stacks; returns the first bad line or 0. */
static uint64_t
read_folded_text(struct stacks *sk, bool threads, const char *text)
{
    struct folded_reader r;
    const char *p = text;

    stacks_init(sk, MODE_MERGED, threads);
    folded_reader_init(&r, sk);
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        folded_parse_line(&r, p, len);
        p += len + (nl ? 1 : 0);
    }
    uint64_t bad = r.bad_lineno;
    folded_reader_free(&r);
    return bad;
}

static uint32_t
frame_named(const struct stacks *sk, const char *name)
{
    for (uint32_t i = 0; i < sk->names.count; i++) {
        if (strcmp(stacks_frame_name(sk, i, NULL), name) == 0) {
            return i;
        }
    }
    return UINT32_MAX;
}

static void
test_folded_input(void)
{
    struct stacks sk;
    size_t len;

    CHECK(read_folded_text(&sk, true,
        "py (tid 7);main;run (a b/c.py:12);[label x\\x3by];f (d.py);"
        "C++::g() (x);[no frames] 3\r\n"
        "\n"
        "py (tid 7);main 2\n"
        "(tid 8);main 1\n") == 0);
    CHECK(sk.total == 6 && stacks_count(&sk) == 3);
    uint32_t t = frame_named(&sk, "py (tid 7)");
    uint32_t run = frame_named(&sk, "run (a b/c.py:12)");
    uint32_t label = frame_named(&sk, "[label x;y]");
    uint32_t f = frame_named(&sk, "f (d.py)");
    uint32_t cpp = frame_named(&sk, "C++::g() (x)");
    uint32_t bare = frame_named(&sk, "(tid 8)");
    CHECK(t != UINT32_MAX && stacks_frame_kind(&sk, t) == FRAME_THREAD);
    CHECK(run != UINT32_MAX && stacks_frame_kind(&sk, run) == FRAME_PYTHON);
    if (run != UINT32_MAX) {
        const char *base = stacks_frame_base(&sk, run, &len);
        CHECK(len == 3 && memcmp(base, "run", 3) == 0);
        const char *file = stacks_frame_file(&sk, run, &len);
        CHECK(file != NULL && len == 8 && memcmp(file, "a b/c.py", 8) == 0);
        CHECK(stacks_frame_line(&sk, run) == 12);
        CHECK_STR(stacks_func_name(&sk, stacks_frame_func(&sk, run), NULL),
                  "run (a b/c.py)");
    }
    CHECK(label != UINT32_MAX && stacks_frame_kind(&sk, label) == FRAME_LABEL);
    CHECK(f != UINT32_MAX && stacks_frame_kind(&sk, f) == FRAME_PYTHON
          && stacks_frame_line(&sk, f) == -1);
    /* "(x)" is a file to the reader: a C++ name in that shape reads as a
       Python frame "C++::g()" of file x */
    CHECK(cpp != UINT32_MAX && stacks_frame_kind(&sk, cpp) == FRAME_PYTHON);
    /* no comm: not a thread */
    CHECK(bare != UINT32_MAX && stacks_frame_kind(&sk, bare) == FRAME_NATIVE);
    stacks_free(&sk);

    /* --no-threads drops the thread root */
    CHECK(read_folded_text(&sk, false, "py (tid 7);main 2\nmain 1\n") == 0);
    CHECK(stacks_count(&sk) == 1 && sk.total == 3);
    stacks_free(&sk);

    CHECK(read_folded_text(&sk, true, "a;b 1\na;b\n") == 2);
    stacks_free(&sk);
    CHECK(read_folded_text(&sk, true, "a;b 1x\n") == 1);
    stacks_free(&sk);
    CHECK(read_folded_text(&sk, true, " 5\n") == 1);
    stacks_free(&sk);
    CHECK(read_folded_text(&sk, true, "a\tb 5\n") == 1);
    stacks_free(&sk);
    CHECK(read_folded_text(&sk, true, "a 99999999999999999999\n") == 1);
    stacks_free(&sk);

    CHECK(folded_line_looks_folded("a;b 3", 5));
    CHECK(folded_line_looks_folded("a;b 3\r", 6));
    CHECK(!folded_line_looks_folded("S\t1\tok\tn1 3", 12));
    CHECK(!folded_line_looks_folded("WARNING: x", 10));
}

static const char LABEL_STREAM[] =
    "T\t1\tpy\t1\nT\t2\twork\n"
    "C\t1\tf\tf.py\t1\nC\t2\tg\tg.py\t1\nL\t1\t0\t3\nL\t2\t0\t9\n"
    "B\t1\touter\nB\t2\tin<n>er\n"
    "S\t1\tok\tp1:0 l2 p2:0 l1 \nS\t1\tok\tp1:0 l2 p2:0 l1 \n"
    "S\t2\tok\tp1:0 p2:0 l1 \nS\t2\tok\tp1:0 p2:0 \n"
    "X\tperiod_ns\t1000\n";

static void
test_profile_labels_threads(void)
{
    struct stream st;
    struct stacks sk;
    struct profile p;

    load(&st, LABEL_STREAM);
    stacks_init(&sk, MODE_MERGED, true);
    stacks_build(&sk, &st);
    profile_from_stream(&p, &sk, &st);
    CHECK(p.total == 4 && p.keys.count == 3 && p.period_ns == 1000);
    CHECK(p.threads.count == 2);
    for (size_t i = 0; i < p.keys.count; i++) {
        const struct profile_sample *s = &p.samples[i];
        const struct profile_thread *t = &p.thread_info[s->thread];
        size_t len;
        size_t depth;
        const uint32_t *ids = profile_frames(&p, s, &depth);
        /* the thread root is not a frame of the profile */
        CHECK(depth == 2 && stacks_frame_kind(&sk, ids[0]) == FRAME_PYTHON);
        if (t->tid == 1) {
            CHECK(s->count == 2 && t->has_pid && t->pid == 1);
            CHECK_STR(t->name, "py");
            /* the innermost label */
            CHECK_STR(profile_label(&p, s->label, &len), "in<n>er");
        }
        else if (s->label != PROFILE_NONE) {
            CHECK(t->tid == 2 && !t->has_pid && s->count == 1);
            CHECK_STR(profile_label(&p, s->label, &len), "outer");
        }
        else {
            CHECK(t->tid == 2 && s->count == 1);
        }
    }

    /* the speedscope file: one profile per thread, weights in ns */
    char *out = NULL;
    size_t out_len = 0;
    FILE *f = open_memstream(&out, &out_len);
    CHECK(speedscope_write(&p, "t<1>", f) == 0);
    fclose(f);
    CHECK(strstr(out, "\"name\":\"py (tid 1)\",\"unit\":\"nanoseconds\","
                      "\"startValue\":0,\"samples\":[[0,1]],"
                      "\"weights\":[2000],\"endValue\":2000}") != NULL);
    CHECK(strstr(out, "{\"name\":\"g\",\"file\":\"g.py\",\"line\":9}")
          != NULL);
    CHECK(strstr(out, "\"name\":\"t\\u003c1\\u003e\"") != NULL);
    free(out);

    /* the pprof file: gzip around a Profile whose first field is a
       sample_type (field 1, length-delimited: 0x0a) */
    out = NULL;
    f = open_memstream(&out, &out_len);
    CHECK(pprof_write_cpu(&p, f) == 0);
    fclose(f);
    CHECK(out_len > 18 && (unsigned char)out[0] == 0x1f
          && (unsigned char)out[1] == 0x8b);
    unsigned char plain[4096];
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    CHECK(inflateInit2(&zs, 15 + 16) == Z_OK);
    zs.next_in = (unsigned char *)out;
    zs.avail_in = (uInt)out_len;
    zs.next_out = plain;
    zs.avail_out = sizeof(plain);
    CHECK(inflate(&zs, Z_FINISH) == Z_STREAM_END);
    size_t plain_len = sizeof(plain) - zs.avail_out;
    inflateEnd(&zs);
    CHECK(plain_len > 2 && plain[0] == 0x0a);
    CHECK(memmem(plain, plain_len, "in<n>er", 7) != NULL);
    CHECK(memmem(plain, plain_len, "cpu", 3) != NULL);
    free(out);

    profile_free(&p);
    stacks_free(&sk);
    stream_free(&st);
}

/* ---- wall-clock streams (wall.h, wall_report.h) ---- */

/* Two threads of pid 4242, on-CPU samples every 10 ms (10000 us); off
   the CPU: a futex wait in take_gil.lto_priv.0 (the GIL), preempted
   (runnable), a futex elsewhere, read() with a sid that has no K, and
   clock_nanosleep in two W records of one key.  The K records come
   before the C, L and N records of their frames. */
static const char WALL_STREAM[] =
    "V\t1\tcpu-sample\n"
    "T\t4242\tpython3.11\t4242\n"
    "T\t4250\tworker\t4242\n"
    "S\t4242\tok\tn10 pa1:4 l1 pa2:8 e20 n30 \n"
    "S\t4242\tok\tn10 pa1:4 l1 pa2:8 e20 n30 \n"
    "S\t4242\tok\tn10 pa1:4 l1 pa2:8 e20 n30 \n"
    "S\t4242\tok\tpa2:8 e20 n30 \n"
    "S\t4250\tok\tpa3:2 e20 n30 \n"
    "K\t1\tn50 n40 pa1:4 l1 pa2:8 e20 n30 \n"
    "K\t2\tpa1:4 l1 pa2:8 e20 n30 \n"
    "K\t3\tn60 pa3:2 e20 n30 \n"
    "K\t4\tn50 pa2:8 e20 n30 \n"
    "N\t10\tPyNumber_Add\t/usr/bin/python3.11\n"
    "N\t20\t_PyEval_EvalFrameDefault\t/usr/bin/python3.11\n"
    "N\t30\tmain\t/usr/bin/python3.11\n"
    "N\t40\ttake_gil.lto_priv.0\t/usr/bin/python3.11\n"
    "N\t50\t__futex_abstimed_wait_common\tlibc.so.6\n"
    "N\t60\tclock_nanosleep\tlibc.so.6\n"
    "C\ta1\thandle\t/srv/app.py\t10\n"
    "C\ta2\tserve\t/srv/app.py\t30\n"
    "C\ta3\tsleeper\t/srv/app.py\t50\n"
    "L\ta1\t4\t12\nL\ta2\t8\t40\nL\ta3\t2\t52\n"
    "B\t1\treq-42\n"
    "W\t4242\t1\tok\tfutex\t3100\n"
    "W\t4242\t2\tok\trunnable\t5200\n"
    "W\t4242\t4\tok\tfutex\t2000\n"
    "W\t4242\t9\tok\tread\t700\n"
    "W\t4250\t3\tok\tclock_nanosleep\t2000900\n"
    "W\t4250\t3\tok\tclock_nanosleep\t100\n"
    "X\tperiod_ns\t10000000\n"
    "X\twall\t1\n";

static void
test_wall_folded(void)
{
    struct stream st;

    load(&st, WALL_STREAM);
    CHECK(wall_stream(&st) && wall_period_usec(&st) == 10000);
    /* S records are the samples; the two clock_nanosleep W are one */
    CHECK(st.total_samples == 5 && st.off_cpu_records == 6);
    CHECK(st.samples.count == 3 + 5);
    stream_free(&st);

    char *out = folded(WALL_STREAM, MODE_MERGED, true, 1);
    CHECK_STR(out,
        "worker (tid 4250);main;sleeper (/srv/app.py:52);clock_nanosleep;"
        "[off-cpu: clock_nanosleep] 2001000\n"
        "python3.11 (tid 4242);main;serve (/srv/app.py:40);"
        "handle (/srv/app.py:12);PyNumber_Add 30000\n"
        "python3.11 (tid 4242);main;serve (/srv/app.py:40) 10000\n"
        "worker (tid 4250);main;sleeper (/srv/app.py:52) 10000\n"
        "python3.11 (tid 4242);main;serve (/srv/app.py:40);"
        "handle (/srv/app.py:12);[runnable] 5200\n"
        "python3.11 (tid 4242);main;serve (/srv/app.py:40);"
        "handle (/srv/app.py:12);take_gil.lto_priv.0;"
        "__futex_abstimed_wait_common;[off-cpu: gil] 3100\n"
        "python3.11 (tid 4242);main;serve (/srv/app.py:40);"
        "__futex_abstimed_wait_common;[off-cpu: futex] 2000\n"
        "python3.11 (tid 4242);[stack-unknown];[off-cpu: read] 700\n");
    free(out);

    /* python mode: the GIL is still found (its n tokens are not shown);
       the leaf comes after a status marker */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fputs(WALL_STREAM, f);
    fputs("K\t7\tn40 \nW\t4250\t7\tnopy\tfutex\t40\n", f);
    fclose(f);
    out = folded(text, MODE_PYTHON, false, 1);
    CHECK_STR(out,
        "sleeper (/srv/app.py:52);[off-cpu: clock_nanosleep] 2001000\n"
        "serve (/srv/app.py:40);handle (/srv/app.py:12) 30000\n"
        "serve (/srv/app.py:40) 10000\n"
        "sleeper (/srv/app.py:52) 10000\n"
        "serve (/srv/app.py:40);handle (/srv/app.py:12);[runnable] 5200\n"
        "serve (/srv/app.py:40);handle (/srv/app.py:12);"
        "[off-cpu: gil] 3100\n"
        "serve (/srv/app.py:40);[off-cpu: futex] 2000\n"
        "[stack-unknown];[off-cpu: read] 700\n"
        "[no python state];[off-cpu: gil] 40\n");
    free(out);
    free(text);

    /* the summary: milliseconds of the weights */
    struct stacks sk;
    struct summary sum;
    load(&st, WALL_STREAM);
    stacks_init(&sk, MODE_MERGED, true);
    stacks_build(&sk, &st);
    CHECK(sk.usec && sk.total == 2062000);
    summary_compute(&sk, &sum);
    text = NULL;
    f = open_memstream(&text, &len);
    summary_print(&sum, &sk, 3, f);
    fclose(f);
    CHECK_STR(text,
        "  SELF%  TOTAL%       MS  HOT LINE  FUNCTION\n"
        "   97.0    97.0   2001.0         -  clock_nanosleep\n"
        "    1.5     1.5     30.0         -  PyNumber_Add\n"
        "    0.5    97.5     10.0        52  sleeper (/srv/app.py)\n");
    free(text);

    /* the counts line */
    text = NULL;
    f = open_memstream(&text, &len);
    wall_print_counts(&st, &sk, f);
    fclose(f);
    CHECK_STR(text, "pyscope: wall-clock: 5 on-CPU samples (50.0 ms), "
                    "off-CPU 2012.0 ms in 5 stacks\n");
    free(text);
    summary_free(&sum);
    stacks_free(&sk);
    stream_free(&st);
}

static char *
wall_report_text(const char *stream_text)
{
    struct stream st;
    struct wall_report rep;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    load(&st, stream_text);
    wall_report_compute(&st, &rep);
    wall_report_print(&rep, f);
    fclose(f);
    wall_report_free(&rep);
    stream_free(&st);
    return text;
}

static void
test_wall_report(void)
{
    char *out = wall_report_text(WALL_STREAM);
    CHECK_STR(out,
        "Wall-clock time by thread (ms):\n"
        "  THREAD                     WALL     ON-CPU   RUNNABLE  OFF-CPU\n"
        "  worker (tid 4250)        2011.0       10.0        0.0  "
        "clock_nanosleep 2001.0\n"
        "  python3.11 (tid 4242)      51.0       40.0        5.2  "
        "gil 3.1, futex 2.0, read 0.7\n"
        "\n"
        "Wall-clock time by label (ms):\n"
        "  LABEL           WALL     ON-CPU   RUNNABLE  OFF-CPU\n"
        "  (no label)    2023.7       20.0        0.0  "
        "clock_nanosleep 2001.0, futex 2.0, read 0.7\n"
        "  req-42          38.3       30.0        5.2  gil 3.1\n");
    free(out);

    /* no labels: no label table; a thread without T, with no off-CPU
       time; hostile names and reasons terminal-safe; ties by tid */
    out = wall_report_text(
        "S\t7\tok\tn1 \nS\t3\tok\tn1 \n"
        "K\t1\tn1 \nW\t3\t1\tok\tx\x1b[2J\t1000\n"
        "T\t3\tsh\xff\t3\n"
        "X\tperiod_ns\t1000000\nX\twall\t1\n");
    CHECK_STR(out,
        "Wall-clock time by thread (ms):\n"
        "  THREAD           WALL     ON-CPU   RUNNABLE  OFF-CPU\n"
        "  sh\xef\xbf\xbd (tid 3)       2.0        1.0        0.0  "
        "x\xef\xbf\xbd[2J 1.0\n"
        "  ? (tid 7)         1.0        1.0        0.0  -\n");
    free(out);
}

static void
test_wall_records(void)
{
    struct stream st;
    size_t len;

    /* the GIL: take_gil or take_gil.*, in an n or e token, futex only */
    const char *gil =
        "N\t1\ttake_gil\t\nN\t2\ttake_gil.lto_priv.0\t\n"
        "N\t3\ttake_gilx\t\nN\t4\t_take_gil\t\n"
        "K\t1\tn1 \nK\t2\te2 \nK\t3\tn3 n4 \nK\t4\tn1 \n"
        "W\t1\t1\tok\tfutex\t1\nW\t1\t2\tok\tfutex\t1\n"
        "W\t1\t3\tok\tfutex\t1\nW\t1\t4\tok\tread\t1\n"
        "W\t1\t4\tok\tfutexx\t1\n";
    load(&st, gil);
    const char *want[] = {"gil", "gil", "futex", "read", "futexx"};
    CHECK(st.samples.count == 5);
    for (size_t i = 0; i < st.samples.count && i < 5; i++) {
        const char *r = wall_reason(&st, &st.sample_info[i], &len);
        CHECK(len == strlen(want[i]) && memcmp(r, want[i], len) == 0);
    }
    stream_free(&st);

    /* malformed W and K records are ignored; the first K of a sid wins;
       a W before its K gets the stack-unknown marker */
    load(&st,
         "W\t1\t5\tok\tfutex\t10\n"
         "K\t5\tn1 \nK\t5\tn2 \n"
         "W\t1\t5\tok\tfutex\t20\n"
         "W\t1\t5\tok\tfutex\t0\n"          /* no time */
         "W\t1\t5\tok\t\t20\n"              /* no reason */
         "W\t1\t5\tbad\tfutex\t20\n"
         "W\tx\t5\tok\tfutex\t20\n"
         "W\t1\t5\tok\tfutex\t20\textra\n"
         "W\t1\t5\tok\tfutex\n"
         "K\tx\tn3 \nK\t6\tn3 \textra\n"
         "X\tperiod_ns\t1499\n");
    CHECK(st.off_cpu_records == 2 && st.samples.count == 2);
    CHECK(st.stacks.count == 1);
    CHECK_STR(stream_stack_tokens(&st, 5), "n1 ");
    CHECK(stream_stack_tokens(&st, 6) == NULL);
    const char *key = intern_key(&st.samples, 0, &len);
    CHECK(len == strlen("1\tok\tfutex\tm[stack-unknown] ")
          && memcmp(key, "1\tok\tfutex\tm[stack-unknown] ", len) == 0);
    CHECK(st.sample_info[0].count == 10 && st.sample_info[1].count == 20);
    CHECK(strcmp(key + st.sample_info[0].tokens_off, STACK_UNKNOWN_TOKENS)
          == 0);
    /* any W makes a wall stream; the period rounds to the nearest us */
    CHECK(wall_stream(&st) && wall_period_usec(&st) == 1);
    stream_free(&st);

    /* a K's p tokens are of the code objects defined when it is read */
    load(&st,
         "C\t1\thandle\ta.py\t1\n"
         "K\t1\tp1:0 \n"
         "C\t1\tother\tb.py\t1\n"
         "S\t5\tok\tp1:0 \n"
         "W\t5\t1\tok\tread\t3000\n"
         "X\tperiod_ns\t1000000\n");
    CHECK_STR(stream_stack_tokens(&st, 1), "p1:0 ");
    stream_free(&st);
    char *out = folded("C\t1\thandle\ta.py\t1\n"
                       "K\t1\tp1:0 \n"
                       "C\t1\tother\tb.py\t1\n"
                       "S\t5\tok\tp1:0 \n"
                       "W\t5\t1\tok\tread\t3000\n"
                       "X\tperiod_ns\t1000000\n", MODE_MERGED, false, 1);
    CHECK_STR(out, "handle (a.py);[off-cpu: read] 3000\n"
                   "other (b.py) 1000\n");
    free(out);

    /* the reason is a name like any other: escaped by every output */
    out = folded("K\t1\tn1 \nW\t1\t1\tok\ta;b\t5\nX\tperiod_ns\t1000\n",
                 MODE_MERGED, false, 1);
    CHECK_STR(out, "0x1;[off-cpu: a\\x3bb] 5\n");
    free(out);

    /* an X wall counter alone makes a wall stream; without a period it
       cannot be weighed */
    load(&st, "S\t1\tok\tn1 \nX\twall\t1\n");
    CHECK(wall_stream(&st) && wall_period_usec(&st) == 0);
    stream_free(&st);
    load(&st, "S\t1\tok\tn1 \nX\twall\t0\nX\tperiod_ns\t1000\n");
    CHECK(!wall_stream(&st));
    stream_free(&st);

    char ms[WALL_MS_SIZE];
    CHECK_STR(wall_format_ms(0, ms), "0.0");
    CHECK_STR(wall_format_ms(49, ms), "0.0");
    CHECK_STR(wall_format_ms(50, ms), "0.1");
    CHECK_STR(wall_format_ms(2000950, ms), "2001.0");
    CHECK_STR(wall_format_ms(1234549, ms), "1234.5");
}

/* A stream with a period but no X wall and no W: counts, not
   microseconds, as before. */
static void
test_wall_not_wall(void)
{
    const char *text =
        "S\t1\tok\tn1 \nS\t1\tok\tn1 \nS\t1\tok\tn2 \n"
        "N\t1\tf\t\nN\t2\tg\t\n"
        "K\t1\tn1 \n"
        "X\tperiod_ns\t10000000\n";
    struct stream st;
    struct stacks sk;
    struct summary sum;

    char *out = folded(text, MODE_MERGED, false, 1);
    CHECK_STR(out, "f 2\ng 1\n");
    free(out);

    load(&st, text);
    CHECK(!wall_stream(&st));
    stacks_init(&sk, MODE_MERGED, false);
    stacks_build(&sk, &st);
    CHECK(!sk.usec && sk.total == 3);
    summary_compute(&sk, &sum);
    char *s = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&s, &len);
    summary_print(&sum, &sk, 1, f);
    fclose(f);
    CHECK_STR(s, "  SELF%  TOTAL%  SAMPLES  HOT LINE  FUNCTION\n"
                 "   66.7    66.7        2         -  f\n");
    free(s);

    struct profile p;
    profile_from_stream(&p, &sk, &st);
    CHECK(!p.wall && p.total == 3 && p.period_ns == 10000000);
    profile_free(&p);
    summary_free(&sum);
    stacks_free(&sk);
    stream_free(&st);
}

/* The weights reach pprof, speedscope and --labels join. */
static void
test_wall_profiles(void)
{
    struct stream st;
    struct stacks sk;
    struct profile p;

    load(&st, WALL_STREAM);
    stacks_init(&sk, MODE_MERGED, true);
    stacks_build(&sk, &st);
    profile_from_stream(&p, &sk, &st);
    CHECK(p.wall && p.period_usec == 10000 && p.total == 2062000);

    char *out = NULL;
    size_t out_len = 0;
    FILE *f = open_memstream(&out, &out_len);
    CHECK(speedscope_write(&p, "w", f) == 0);
    fclose(f);
    CHECK(strstr(out, "\"name\":\"worker (tid 4250)\","
                      "\"unit\":\"microseconds\"") != NULL);
    CHECK(strstr(out, "\"endValue\":2011000}") != NULL);
    CHECK(strstr(out, "\"endValue\":51000}") != NULL);
    CHECK(strstr(out, "nanoseconds") == NULL);
    free(out);

    out = NULL;
    f = open_memstream(&out, &out_len);
    CHECK(pprof_write_cpu(&p, f) == 0);
    fclose(f);
    unsigned char plain[8192];
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    CHECK(inflateInit2(&zs, 15 + 16) == Z_OK);
    zs.next_in = (unsigned char *)out;
    zs.avail_in = (uInt)out_len;
    zs.next_out = plain;
    zs.avail_out = sizeof(plain);
    CHECK(inflate(&zs, Z_FINISH) == Z_STREAM_END);
    size_t plain_len = sizeof(plain) - zs.avail_out;
    inflateEnd(&zs);
    CHECK(memmem(plain, plain_len, "microseconds", 12) != NULL);
    CHECK(memmem(plain, plain_len, "[off-cpu: gil]", 14) != NULL);
    CHECK(memmem(plain, plain_len, "nanoseconds", 11) == NULL);
    CHECK(memmem(plain, plain_len, "count", 5) == NULL);
    free(out);
    profile_free(&p);
    stacks_free(&sk);
    stream_free(&st);

    out = label_report_text(WALL_STREAM, false);
    CHECK_STR(out,
              "       MS      %  PROCS  LABEL\n"
              "   2023.7   98.1      1  (no label)\n"
              "     38.3    1.9      1  req-42\n");
    free(out);
    out = label_report_text(WALL_STREAM, true);
    CHECK_STR(out,
              "label,pid,usec,percent\n"
              "(no label),4242,2023700,98.1\n"
              "req-42,4242,38300,1.9\n");
    free(out);
}

struct test {
    const char *name;
    void (*fn)(void);
};

static const struct test TESTS[] = {
    {"xml_escape", test_xml_escape},
    {"invalid_utf8", test_invalid_utf8},
    {"terminal_escape", test_terminal_escape},
    {"pprof_escape", test_pprof_escape},
    {"folded_escape", test_folded_escape},
    {"utf8_counting", test_utf8_counting},
    {"numbers", test_numbers},
    {"tokens", test_tokens},
    {"stream_lines", test_stream_lines},
    {"long_line", test_long_line},
    {"modes", test_modes},
    {"late_dictionaries", test_late_dictionaries},
    {"reused_code_address", test_reused_code_address},
    {"status_markers", test_status_markers},
    {"folded_sorting", test_folded_sorting},
    {"summary_recursion", test_summary_recursion},
    {"summary_python_mode", test_summary_python_mode},
    {"svg_escaping", test_svg_escaping},
    {"svg_layout", test_svg_layout},
    {"flame_tree_merge", test_flame_tree_merge},
    {"flame_paths", test_flame_paths},
    {"flame_min_width", test_flame_min_width},
    {"function_view", test_function_view},
    {"csv_escape", test_csv_escape},
    {"label_records", test_label_records},
    {"innermost_label", test_innermost_label},
    {"labels_split", test_labels_split},
    {"labels_summary_svg", test_labels_summary_svg},
    {"labels_join", test_labels_join},
    {"leak_group_line", test_leak_group_line},
    {"leak_group_stack_label", test_leak_group_stack_label},
    {"leak_filters", test_leak_filters},
    {"leak_report_tables", test_leak_report_tables},
    {"leak_outputs_escape", test_leak_outputs_escape},
    {"json_escape", test_json_escape},
    {"folded_input", test_folded_input},
    {"profile_labels_threads", test_profile_labels_threads},
    {"wall_folded", test_wall_folded},
    {"wall_report", test_wall_report},
    {"wall_records", test_wall_records},
    {"wall_not_wall", test_wall_not_wall},
    {"wall_profiles", test_wall_profiles},
};

int
main(void)
{
    int passed = 0;
    int failed = 0;

    for (size_t i = 0; i < sizeof(TESTS) / sizeof(TESTS[0]); i++) {
        int before = checks_failed;
        TESTS[i].fn();
        if (checks_failed == before) {
            passed++;
        }
        else {
            failed++;
            fprintf(stderr, "FAILED: %s\n", TESTS[i].name);
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
