/* pyscope-report - turn the raw sample stream of pyscope's SystemTap
 * script into a folded-stacks file, an interactive SVG flame graph, a
 * top-N summary (stdout) and a one-line sample count (stderr); with
 * --labels join also a per-label CPU table (stdout) and CSV; with --pprof
 * and --speedscope the profile for go tool pprof and speedscope
 * (docs/formats.md).  A wall stream (cpu-sample --wall) weighs everything
 * in microseconds and adds off-CPU time (wall.h), and its summary the
 * wall-clock tables (wall_report.h).  It also reads folded stacks (its
 * own --folded, flamegraph.pl's, py-spy's) to draw or convert them.
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
#include <sys/stat.h>
#include <unistd.h>

#include "escape.h"
#include "flamegraph.h"
#include "folded_input.h"
#include "func_view.h"
#include "labels.h"
#include "pprof.h"
#include "profile.h"
#include "speedscope.h"
#include "stacks.h"
#include "strbuf.h"
#include "stream.h"
#include "summary.h"
#include "util.h"
#include "wall.h"
#include "wall_report.h"

#define PROG "pyscope-report"

enum input_format {
    INPUT_AUTO,
    INPUT_STREAM,
    INPUT_FOLDED
};

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
    const char *pprof_path;
    const char *speedscope_path;
    enum input_format input_format;
    double min_width;          /* --minwidth, a fraction of the width */
    bool no_lines;
    const char *input_path;    /* NULL or "-": stdin */
};

static void
usage(FILE *out)
{
    fputs(
"usage: " PROG " [options] [INPUT]\n"
"\n"
"Read the raw line stream of pyscope's SystemTap script, or folded stacks,\n"
"from INPUT (default and \"-\": stdin), print a top-N summary on stdout and\n"
"the sample counts on stderr, and optionally write folded stacks, an SVG\n"
"flame graph, a pprof profile and a speedscope profile.  Input without a\n"
"sample, or folded input with a line that is not a stack, is an error (one\n"
"line on stderr, exit 1) and writes no file.\n"
"\n"
"A wall stream (cpu-sample --wall: X wall, W records) weighs stacks in\n"
"microseconds: on-CPU samples by X period_ns, off-CPU time under an\n"
"[off-cpu: REASON] or [runnable] leaf; pprof's type is wall/microseconds,\n"
"and the summary adds wall-clock time by thread (and by label).\n"
"\n"
"options:\n"
"  --mode MODE      merged (default: Python frames in place of the\n"
"                   interpreter loop), python, or native\n"
"  --folded FILE    write folded stacks (flamegraph.pl, speedscope, inferno)\n"
"  --pprof FILE     write a gzipped profile.proto for go tool pprof: sample\n"
"                   types samples/count (and cpu/nanoseconds when the stream\n"
"                   has X period_ns), file:line of Python frames, sample\n"
"                   labels label (innermost frame label), thread, tid, pid\n"
"  --speedscope FILE  write speedscope's JSON format: one sampled profile\n"
"                   per thread, frames with file and line\n"
"  --input-format F auto (default), stream or folded.  auto reads folded\n"
"                   stacks when the first non-empty line is \"frame;frame\n"
"                   COUNT\" (a record's second byte is a TAB): pyscope's\n"
"                   --folded, flamegraph.pl's stackcollapse, py-spy's.\n"
"                   Folded frames \"NAME (FILE:LINE)\" are Python frames,\n"
"                   \"COMM (tid N)\" roots threads, \"[label TEXT]\" labels,\n"
"                   \\x3b a ';'.  --mode does not apply to them; --labels\n"
"                   join needs a stream\n"
"  --svg FILE       write an interactive SVG flame graph\n"
"  --title TEXT     flame graph title (default \"pyscope CPU profile\", or\n"
"                   \"pyscope wall-clock profile\" for a wall stream)\n"
"  --minwidth W     flame graph: frames narrower than W merge with their\n"
"                   narrow siblings into one \"\xe2\x80\xa6\" frame (its\n"
"                   tooltip counts them, the subtitle all merged).\n"
"                   W in pixels of the 1200-pixel image, as flamegraph.pl's\n"
"                   --minwidth (default 1; flamegraph.pl's is 0.1), or\n"
"                   \"N%\" of the width.  Zooming in redoes the merge: the\n"
"                   SVG keeps up to the 20000 widest frames for that\n"
"                   (docs/flamegraph.md)\n"
"  --no-lines       function-level folded stacks and flame graph: Python\n"
"                   frames \"NAME (FILE:LINE)\" become \"NAME (FILE)\", all\n"
"                   lines of a function one frame (the summary keeps its\n"
"                   hot lines)\n"
"  --top N          rows of the summary (default 15; 0: no summary)\n"
"  --min-count N    leave stacks with fewer than N samples out of the\n"
"                   folded file and the flame graph (default 1)\n"
"  --no-threads     no per-thread root frames (pprof's samples keep their\n"
"                   thread labels, speedscope its profile per thread)\n"
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
    OPT_LABELS_CSV,
    OPT_PPROF,
    OPT_SPEEDSCOPE,
    OPT_INPUT_FORMAT,
    OPT_MIN_WIDTH,
    OPT_NO_LINES
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
        {"pprof", required_argument, NULL, OPT_PPROF},
        {"speedscope", required_argument, NULL, OPT_SPEEDSCOPE},
        {"input-format", required_argument, NULL, OPT_INPUT_FORMAT},
        {"minwidth", required_argument, NULL, OPT_MIN_WIDTH},
        {"no-lines", no_argument, NULL, OPT_NO_LINES},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}
    };
    int c;

    memset(opt, 0, sizeof(*opt));
    opt->mode = MODE_MERGED;
    opt->title = NULL;          /* set once the input is read */
    opt->top = 15;
    opt->min_count = 1;
    opt->threads = true;
    struct flame_options flame_defaults;
    flame_options_init(&flame_defaults);
    opt->min_width = flame_defaults.min_width;

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
        case OPT_PPROF:
            opt->pprof_path = optarg;
            break;
        case OPT_SPEEDSCOPE:
            opt->speedscope_path = optarg;
            break;
        case OPT_INPUT_FORMAT:
            if (strcmp(optarg, "auto") == 0) {
                opt->input_format = INPUT_AUTO;
            }
            else if (strcmp(optarg, "stream") == 0) {
                opt->input_format = INPUT_STREAM;
            }
            else if (strcmp(optarg, "folded") == 0) {
                opt->input_format = INPUT_FOLDED;
            }
            else {
                bad_usage("--input-format must be auto, stream or folded, "
                          "not", optarg);
            }
            break;
        case OPT_MIN_WIDTH:
            if (!flame_parse_min_width(optarg, &opt->min_width)) {
                bad_usage("--minwidth needs pixels (0 to 1180) or a "
                          "percentage (0% to 100%), not", optarg);
            }
            break;
        case OPT_NO_LINES:
            opt->no_lines = true;
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

static const char *
input_name(const struct options *opt)
{
    const char *path = opt->input_path;
    return path == NULL || strcmp(path, "-") == 0 ? "<stdin>" : path;
}

/* Read the folded stacks of f (the first line already in line). */
static void
read_folded(const struct options *opt, FILE *f, char **line, size_t *cap,
            ssize_t n, struct stacks *sk)
{
    struct folded_reader r;

    folded_reader_init(&r, sk);
    for (; n >= 0; n = getline(line, cap, f)) {
        size_t len = (size_t)n;
        if (len > 0 && (*line)[len - 1] == '\n') {
            len--;
        }
        if (!folded_parse_line(&r, *line, len)) {
            fprintf(stderr, PROG ": '%s' line %" PRIu64 " is not a folded "
                    "stack (frame;frame COUNT)\n", input_name(opt),
                    r.bad_lineno);
            exit(1);
        }
    }
    folded_reader_free(&r);
}

/* Read the input: the record stream into st, or folded stacks straight
   into sk.  Returns whether it was folded. */
static bool
read_input(const struct options *opt, struct stream *st, struct stacks *sk)
{
    const char *path = opt->input_path;
    bool use_stdin = path == NULL || strcmp(path, "-") == 0;
    FILE *f = use_stdin ? stdin : fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    bool folded = opt->input_format == INPUT_FOLDED;

    if (f == NULL) {
        fprintf(stderr, PROG ": cannot open '%s': %s\n", path,
                strerror(errno));
        exit(1);
    }
    /* auto: the first non-empty line tells (a record's second byte is a
       TAB, a folded stack ends in a space and a count) */
    while ((n = getline(&line, &cap, f)) >= 0) {
        size_t len = (size_t)n;
        if (len > 0 && line[len - 1] == '\n') {
            len--;
        }
        if (len > 0 && !(len == 1 && line[0] == '\r')) {
            if (opt->input_format == INPUT_AUTO) {
                folded = folded_line_looks_folded(line, len);
            }
            break;
        }
    }
    if (folded) {
        read_folded(opt, f, &line, &cap, n, sk);
    }
    else if (n >= 0) {
        size_t len = (size_t)n;
        if (len > 0 && line[len - 1] == '\n') {
            len--;
        }
        stream_parse_line(st, line, len);
    }
    free(line);
    if (ferror(f) || (!folded && stream_read(st, f) < 0)) {
        fprintf(stderr, PROG ": cannot read '%s': %s\n", input_name(opt),
                strerror(errno));
        exit(1);
    }
    if (!folded && !stream_version_known(st)) {
        fprintf(stderr, PROG ": '%s' is a record stream of another format "
                "(its V record says version %" PRId64 "; this reader knows "
                "version %d)\n", input_name(opt), st->version,
                STREAM_RECORDS_VERSION);
        exit(2);
    }
    if (!use_stdin) {
        fclose(f);
    }
    return folded;
}

/* Outputs are written to a temporary file next to their path and renamed
   into place once complete, so that an error never leaves a partial file
   that looks like a result.  Only a path that is a regular file or does
   not exist yet: anything else (/dev/null, /dev/stdout, a FIFO, a
   symbolic link) is opened and written as it is, never replaced. */
struct pending_output {
    FILE *f;
    char *tmp;      /* NULL: written in place */
};

static struct pending_output pending[8];

/* At any exit: no temporary file is left behind. */
static void
remove_pending(void)
{
    for (size_t i = 0; i < sizeof(pending) / sizeof(*pending); i++) {
        if (pending[i].tmp != NULL) {
            unlink(pending[i].tmp);
        }
    }
}

static FILE *
open_output(const char *path)
{
    size_t len = strlen(path);
    char *tmp = xmalloc(len + sizeof(".tmp-XXXXXX"));
    int fd;
    FILE *f = NULL;
    size_t slot;

    static bool registered;
    if (!registered) {
        atexit(remove_pending);
        registered = true;
    }
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".tmp-XXXXXX", sizeof(".tmp-XXXXXX"));
    for (slot = 0; slot < sizeof(pending) / sizeof(*pending); slot++) {
        if (pending[slot].f == NULL) {
            break;
        }
    }
    if (slot == sizeof(pending) / sizeof(*pending)) {
        fprintf(stderr, PROG ": too many outputs open\n");
        exit(1);
    }
    struct stat sb;
    if (lstat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        free(tmp);
        f = fopen(path, "w");
        if (f == NULL) {
            fprintf(stderr, PROG ": cannot write '%s': %s\n", path,
                    strerror(errno));
            exit(1);
        }
        pending[slot].f = f;
        pending[slot].tmp = NULL;
        return f;
    }
    fd = mkstemp(tmp);
    if (fd >= 0) {
        /* mkstemp's 0600, as fopen would have made it: 0666 & ~umask */
        mode_t mask = umask(0);
        umask(mask);
        fchmod(fd, 0666 & ~mask);
        f = fdopen(fd, "w");
    }
    if (f == NULL) {
        fprintf(stderr, PROG ": cannot write '%s': %s\n", path,
                strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        exit(1);
    }
    pending[slot].f = f;
    pending[slot].tmp = tmp;
    return f;
}

static void
close_output(FILE *f, const char *path, int write_status)
{
    size_t slot = 0;

    while (pending[slot].f != f) {
        slot++;
    }
    char *tmp = pending[slot].tmp;
    pending[slot].f = NULL;
    pending[slot].tmp = NULL;
    if (fclose(f) != 0 || write_status != 0) {
        if (tmp != NULL) {
            unlink(tmp);
        }
        fprintf(stderr, PROG ": error writing '%s'\n", path);
        exit(1);
    }
    if (tmp == NULL) {
        return;
    }
    if (rename(tmp, path) != 0) {
        fprintf(stderr, PROG ": cannot write '%s': %s\n", path,
                strerror(errno));
        unlink(tmp);
        exit(1);
    }
    free(tmp);
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
    case 4:
        return "the target process exec'd another program";
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
           || strcmp(key, "first_sample_ms") == 0
           || strcmp(key, "period_ns") == 0 || strcmp(key, "wall") == 0;
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
print_counts(const struct stream *st, const struct stacks *sk)
{
    fprintf(stderr,
            "pyscope: %" PRIu64 " samples (ok %" PRIu64
            ", no python state %" PRIu64 ", read faults %" PRIu64 "), %"
            PRId64 " lost, %" PRId64 " truncated\n",
            st->total_samples, st->status_counts[STATUS_OK],
            st->status_counts[STATUS_NOPY], st->status_counts[STATUS_FAULT],
            stream_lost(st), stream_counter(st, "truncated"));
    if (wall_stream(st)) {
        wall_print_counts(st, sk, stderr);
    }
    /* py_sample_print_counters() (the end probe) always prints it */
    if ((st->total_samples > 0 || st->off_cpu_records > 0)
        && !stream_has_counter(st, "truncated")) {
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
    stacks_init(&sk, opt.mode, opt.threads);
    stacks_set_labels(&sk, opt.labels);
    bool folded = read_input(&opt, &st, &sk);
    const char *mode_text = folded ? "folded input" : mode_name(opt.mode);

    if (folded && opt.labels == LABELS_JOIN) {
        fprintf(stderr, PROG ": --labels join needs a record stream, and "
                "'%s' is folded stacks\n", input_name(&opt));
        return 2;
    }
    bool wall = !folded && wall_stream(&st);
    if (wall && wall_period_usec(&st) == 0) {
        fprintf(stderr, PROG ": '%s' is a wall-clock stream without its "
                "sampling period (X period_ns); nothing written\n",
                input_name(&opt));
        stacks_free(&sk);
        stream_free(&st);
        return 1;
    }
    if (opt.title == NULL) {
        opt.title = wall ? "pyscope wall-clock profile"
                         : "pyscope CPU profile";
    }
    if (!folded) {
        stacks_build(&sk, &st);
    }
    if (sk.total == 0) {
        fprintf(stderr, PROG ": no samples in '%s'%s; nothing written\n",
                input_name(&opt), folded ? "" : " (not a record stream "
                "of pyscope's, or a run that took none)");
        stacks_free(&sk);
        stream_free(&st);
        return 1;
    }

    /* --no-lines: the folded file and the flame graph by function */
    struct stacks func_sk;
    const struct stacks *drawn = &sk;
    if (opt.no_lines) {
        stacks_function_view(&sk, &func_sk);
        drawn = &func_sk;
    }
    if (opt.folded_path) {
        FILE *f = open_output(opt.folded_path);
        int status = stacks_write_folded(drawn, opt.min_count, f);
        close_output(f, opt.folded_path, status);
    }
    if (opt.svg_path) {
        struct flame_options fo;
        char *cwd = getcwd(NULL, 0);    /* paths under it drawn ./PATH */
        flame_options_init(&fo);
        fo.title = opt.title;
        fo.mode = mode_text;
        fo.min_count = opt.min_count;
        fo.min_width = opt.min_width;
        fo.cwd = cwd;
        if (wall) {
            fo.unit = "us";
        }
        FILE *f = open_output(opt.svg_path);
        int status = flamegraph_write(drawn, &fo, f);
        free(cwd);
        close_output(f, opt.svg_path, status);
    }
    if (opt.pprof_path || opt.speedscope_path) {
        struct profile prof;
        if (folded) {
            profile_from_stacks(&prof, &sk);
        }
        else {
            profile_from_stream(&prof, &sk, &st);
        }
        if (opt.pprof_path) {
            FILE *f = open_output(opt.pprof_path);
            int status = pprof_write_cpu(&prof, f);
            close_output(f, opt.pprof_path, status);
        }
        if (opt.speedscope_path) {
            FILE *f = open_output(opt.speedscope_path);
            int status = speedscope_write(&prof, opt.title, f);
            close_output(f, opt.speedscope_path, status);
        }
        profile_free(&prof);
    }
    if (opt.top > 0) {
        struct summary sum;
        summary_compute(&sk, &sum);
        summary_print(&sum, &sk, (size_t)opt.top, stdout);
        summary_free(&sum);
        if (wall) {
            struct wall_report rep;
            wall_report_compute(&st, &rep);
            putchar('\n');
            wall_report_print(&rep, stdout);
            wall_report_free(&rep);
        }
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
    if (folded) {
        fprintf(stderr, "pyscope: %" PRIu64 " samples in %zu stacks (folded "
                "input)\n", sk.total, stacks_count(&sk));
    }
    else {
        print_counts(&st, &sk);
    }

    if (opt.no_lines) {
        stacks_free(&func_sk);
    }
    stacks_free(&sk);
    stream_free(&st);
    return 0;
}
