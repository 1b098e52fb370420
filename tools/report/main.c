/* pyscope-report - turn the raw sample stream of pyscope's SystemTap
 * script into a folded-stacks file, an interactive SVG flame graph, a
 * top-N summary (stdout) and a one-line sample count (stderr); with
 * --labels join also a per-label CPU table (stdout) and CSV.
 *
 * Why this exists: flamegraph.pl is not packaged in Debian 12, and nothing
 * that is packaged turns a folded file into a flame graph offline.  Doing
 * it here also lets us resolve addresses and code objects late (the
 * dictionary lines can come after the samples that use them) and escape
 * hostile names properly.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "flamegraph.h"
#include "labels.h"
#include "stacks.h"
#include "strbuf.h"
#include "stream.h"
#include "summary.h"
#include "util.h"

#define PROG "pyscope-report"

struct options {
    enum mode mode;
    const char *folded_path;
    const char *svg_path;
    const char *title;
    uint64_t top;
    uint64_t min_count;
    bool threads;
    enum label_mode labels;
    const char *labels_csv_path;
    const char *input_path;    /* NULL or "-": stdin */
};

static void
usage(FILE *out)
{
    fputs(
"usage: " PROG " [options] [INPUT]\n"
"\n"
"Read the raw line stream of pyscope's SystemTap script from INPUT (default\n"
"and \"-\": stdin), print a top-N summary on stdout and the sample counts on\n"
"stderr, and optionally write folded stacks and an SVG flame graph.\n"
"\n"
"options:\n"
"  --mode MODE      merged (default: Python frames in place of the\n"
"                   interpreter loop), python, or native\n"
"  --folded FILE    write folded stacks (flamegraph.pl, speedscope, inferno)\n"
"  --svg FILE       write an interactive SVG flame graph\n"
"  --title TEXT     flame graph title (default \"pyscope CPU profile\")\n"
"  --top N          rows of the summary (default 15; 0: no summary)\n"
"  --min-count N    leave stacks with fewer than N samples out of the\n"
"                   folded file and the flame graph (default 1)\n"
"  --no-threads     no per-thread root frames\n"
"  --labels HOW     frame labels painted with pyscope's runtime: off\n"
"                   (default) ignores them; split puts a \"[label TEXT]\"\n"
"                   frame above each labelled Python frame (merged and\n"
"                   python modes); join keeps the stacks as with off and\n"
"                   prints the samples of each label (its innermost\n"
"                   labelled frame and all it called) and the number of\n"
"                   processes, after the summary.  A label without its B\n"
"                   record reads ?ID\n"
"  --labels-csv FILE  with --labels join: the same per label and pid, as\n"
"                   CSV (label,pid,samples,percent)\n"
"  -h, --help       show this help and exit\n", out);
}

static void
bad_usage(const char *message, const char *arg)
{
    fprintf(stderr, PROG ": %s '%s' (see --help)\n", message, arg);
    exit(2);
}

static uint64_t
number_arg(const char *option, const char *arg)
{
    uint64_t value;

    if (!parse_u64(arg, strlen(arg), &value)) {
        fprintf(stderr, PROG ": %s needs a non-negative integer, not '%s'\n",
                option, arg);
        exit(2);
    }
    return value;
}

enum {
    OPT_MODE = 256,
    OPT_FOLDED,
    OPT_SVG,
    OPT_TITLE,
    OPT_TOP,
    OPT_MIN_COUNT,
    OPT_NO_THREADS,
    OPT_LABELS,
    OPT_LABELS_CSV
};

static void
parse_options(int argc, char **argv, struct options *opt)
{
    static const struct option longopts[] = {
        {"mode", required_argument, NULL, OPT_MODE},
        {"folded", required_argument, NULL, OPT_FOLDED},
        {"svg", required_argument, NULL, OPT_SVG},
        {"title", required_argument, NULL, OPT_TITLE},
        {"top", required_argument, NULL, OPT_TOP},
        {"min-count", required_argument, NULL, OPT_MIN_COUNT},
        {"no-threads", no_argument, NULL, OPT_NO_THREADS},
        {"labels", required_argument, NULL, OPT_LABELS},
        {"labels-csv", required_argument, NULL, OPT_LABELS_CSV},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}
    };
    int c;

    memset(opt, 0, sizeof(*opt));
    opt->mode = MODE_MERGED;
    opt->title = "pyscope CPU profile";
    opt->top = 15;
    opt->min_count = 1;
    opt->threads = true;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_MODE:
            if (!mode_parse(optarg, &opt->mode)) {
                bad_usage("unknown mode", optarg);
            }
            break;
        case OPT_FOLDED:
            opt->folded_path = optarg;
            break;
        case OPT_SVG:
            opt->svg_path = optarg;
            break;
        case OPT_TITLE:
            opt->title = optarg;
            break;
        case OPT_TOP:
            opt->top = number_arg("--top", optarg);
            break;
        case OPT_MIN_COUNT:
            opt->min_count = number_arg("--min-count", optarg);
            break;
        case OPT_NO_THREADS:
            opt->threads = false;
            break;
        case OPT_LABELS:
            if (!label_mode_parse(optarg, &opt->labels)) {
                bad_usage("--labels must be off, split or join, not",
                          optarg);
            }
            break;
        case OPT_LABELS_CSV:
            opt->labels_csv_path = optarg;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        case ':':
            bad_usage("missing argument for", argv[optind - 1]);
            break;
        default:
            bad_usage("unknown option", argv[optind - 1]);
            break;
        }
    }
    if (optind < argc) {
        opt->input_path = argv[optind];
    }
    if (optind + 1 < argc) {
        bad_usage("too many arguments, starting at", argv[optind + 1]);
    }
    if (opt->labels_csv_path != NULL && opt->labels != LABELS_JOIN) {
        bad_usage("--labels join is needed for --labels-csv",
                  opt->labels_csv_path);
    }
}

static void
read_input(const struct options *opt, struct stream *st)
{
    const char *path = opt->input_path;
    bool use_stdin = path == NULL || strcmp(path, "-") == 0;
    FILE *f = use_stdin ? stdin : fopen(path, "r");

    if (f == NULL) {
        fprintf(stderr, PROG ": cannot open '%s': %s\n", path,
                strerror(errno));
        exit(1);
    }
    if (stream_read(st, f) < 0) {
        fprintf(stderr, PROG ": cannot read '%s': %s\n",
                use_stdin ? "<stdin>" : path, strerror(errno));
        exit(1);
    }
    if (!stream_version_known(st)) {
        fprintf(stderr, PROG ": '%s' is a record stream of another format "
                "(its V record says version %" PRId64 "; this reader knows "
                "version %d)\n", use_stdin ? "<stdin>" : path, st->version,
                STREAM_RECORDS_VERSION);
        exit(2);
    }
    if (!use_stdin) {
        fclose(f);
    }
}

static FILE *
open_output(const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, PROG ": cannot write '%s': %s\n", path,
                strerror(errno));
        exit(1);
    }
    return f;
}

static void
close_output(FILE *f, const char *path, int write_status)
{
    if (fclose(f) != 0 || write_status != 0) {
        fprintf(stderr, PROG ": error writing '%s'\n", path);
        exit(1);
    }
}

static int
compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* How the run ended (cpu-sample.stp's X end_reason record). */
static const char *
end_reason_text(int64_t reason)
{
    switch (reason) {
    case 1:
        return "the duration (-d) was reached";
    case 2:
        return "the target process exited";
    case 3:
        return "interrupted";
    default:
        return "for an unknown reason";
    }
}

static int
is_listed_counter(const char *key)
{
    return strcmp(key, "lost") == 0 || strcmp(key, "truncated") == 0
           || strcmp(key, "skipped_probes") == 0
           || strcmp(key, "transport_failures") == 0
           || strcmp(key, "end_reason") == 0 || strcmp(key, "run_ms") == 0
           || strcmp(key, "attach_ms") == 0 || strcmp(key, "unlocated") == 0
           || strcmp(key, "first_sample_ms") == 0;
}

/* Samples lost on the way: probes SystemTap skipped and messages its
   transport could not take (the stream's own counters; "lost", their sum,
   in streams of cpu-sample.sh before the V record). */
static int64_t
stream_lost(const struct stream *st)
{
    return stream_counter(st, "lost") + stream_counter(st, "skipped_probes")
           + stream_counter(st, "transport_failures");
}

static void
print_counts(const struct stream *st)
{
    fprintf(stderr,
            "pyscope: %" PRIu64 " samples (ok %" PRIu64
            ", no python state %" PRIu64 ", read faults %" PRIu64 "), %"
            PRId64 " lost, %" PRId64 " truncated\n",
            st->total_samples, st->status_counts[STATUS_OK],
            st->status_counts[STATUS_NOPY], st->status_counts[STATUS_FAULT],
            stream_lost(st), stream_counter(st, "truncated"));
    /* py_sample_print_counters() (the end probe) always prints it */
    if (st->total_samples > 0 && !stream_has_counter(st, "truncated")) {
        fprintf(stderr, "pyscope: WARNING: the sampler's closing counters "
                "never arrived (its output was cut short): the last "
                "samples may be missing\n");
    }

    if (stream_counter(st, "unlocated") > 0) {
        fprintf(stderr, "pyscope: %" PRId64 " samples more were taken before "
                "the interpreter's mapping was known (just after attaching); "
                "not shown\n", stream_counter(st, "unlocated"));
    }
    if (stream_has_counter(st, "end_reason")) {
        int64_t ms = stream_counter(st, "run_ms");
        fprintf(stderr, "pyscope: the run ended after %" PRId64 ".%01" PRId64
                " s: %s\n", ms / 1000, (ms % 1000) / 100,
                end_reason_text(stream_counter(st, "end_reason")));
    }

    size_t n = st->counters.count;
    const char **keys = xcalloc(n, sizeof(char *));
    size_t nkeys = 0;
    for (size_t i = 0; i < n; i++) {
        const char *key = intern_key(&st->counters, (uint32_t)i, NULL);
        if (!is_listed_counter(key)) {
            keys[nkeys++] = key;
        }
    }
    if (nkeys > 0) {
        qsort(keys, nkeys, sizeof(char *), compare_strings);
        struct strbuf line = STRBUF_INIT;
        sb_append_str(&line, "pyscope: counters:");
        for (size_t i = 0; i < nkeys; i++) {
            sb_append_char(&line, ' ');
            sb_append_terminal(&line, keys[i], strlen(keys[i]));
            sb_printf(&line, "=%" PRId64, stream_counter(st, keys[i]));
        }
        fprintf(stderr, "%s\n", sb_str(&line));
        sb_free(&line);
    }
    free(keys);
}

int
main(int argc, char **argv)
{
    struct options opt;
    struct stream st;
    struct stacks sk;

    parse_options(argc, argv, &opt);
    stream_init(&st);
    read_input(&opt, &st);

    stacks_init(&sk, opt.mode, opt.threads);
    stacks_set_labels(&sk, opt.labels);
    stacks_build(&sk, &st);

    if (opt.folded_path) {
        FILE *f = open_output(opt.folded_path);
        int status = stacks_write_folded(&sk, opt.min_count, f);
        close_output(f, opt.folded_path, status);
    }
    if (opt.svg_path) {
        struct flame_options fo = {opt.title, mode_name(opt.mode),
                                   opt.min_count};
        FILE *f = open_output(opt.svg_path);
        int status = flamegraph_write(&sk, &fo, f);
        close_output(f, opt.svg_path, status);
    }
    if (opt.top > 0) {
        struct summary sum;
        summary_compute(&sk, &sum);
        summary_print(&sum, &sk, (size_t)opt.top, stdout);
        summary_free(&sum);
    }
    if (opt.labels == LABELS_JOIN) {
        struct label_report rep;
        label_report_compute(&st, &rep);
        if (opt.labels_csv_path) {
            FILE *f = open_output(opt.labels_csv_path);
            int status = label_report_write_csv(&rep, f);
            close_output(f, opt.labels_csv_path, status);
        }
        if (opt.top > 0) {
            putchar('\n');
        }
        label_report_print(&rep, stdout);
        label_report_free(&rep);
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, PROG ": error writing the summary\n");
        return 1;
    }
    print_counts(&st);

    stacks_free(&sk);
    stream_free(&st);
    return 0;
}
