/* pyscope-leak - turn leak-watch.stp's stream into a leak report: top
 * groups of surviving allocations by growth and by bytes (with their
 * merged stacks), a CSV time series, plot data for gnuplot, a folded
 * file weighted by surviving bytes and a pprof profile of the surviving
 * blocks and bytes (docs/formats.md).  With --follow it reads the stream
 * while it is being written and prints progress after every snapshot.
 *
 * Why this exists: nothing packaged groups SystemTap output into
 * tracemalloc-style snapshots; the dictionary records must be resolved
 * late, and hostile names escaped for each output.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "leak.h"
#include "pprof.h"
#include "stream.h"
#include "util.h"

#define PROG "pyscope-leak"
#define MAX_GLOBS 64

static void
usage(FILE *out)
{
    fputs(
"usage: " PROG " [options] INPUT\n"
"\n"
"Read the stream of scripts/leak-watch.stp from INPUT (\"-\": stdin) and\n"
"print a report of surviving allocations on stdout.\n"
"\n"
"options:\n"
"  --group-by KEY   stack (default), line, file or label\n"
"  --include GLOB   keep only stacks with a frame (function, or a Python\n"
"                   frame's file) matching GLOB (repeatable)\n"
"  --exclude GLOB   drop stacks with a frame matching GLOB (repeatable)\n"
"  --top N          groups shown, and series written (default 10)\n"
"  --csv FILE       CSV time series of the top groups\n"
"  --plot-data FILE columns for gnuplot (header: quoted titles)\n"
"  --folded FILE    folded stacks weighted by surviving bytes\n"
"  --pprof FILE     the last snapshot as a gzipped profile.proto for go\n"
"                   tool pprof: sample types inuse_objects/count and\n"
"                   inuse_space/bytes (the default; the stream has no\n"
"                   allocation totals, so no alloc_* types), one sample\n"
"                   per stack with surviving bytes; not written when the\n"
"                   stream has no snapshot\n"
"  --follow FILE    INPUT is still being written: read as it grows, print\n"
"                   progress to stderr after each snapshot, and stop at\n"
"                   its end once FILE exists\n"
"  --skipped N      probe hits SystemTap skipped (warned in the report)\n"
"  -h, --help       this help\n", out);
}

static int
write_file(const char *path, int (*fn)(const struct leak *, size_t, FILE *),
           const struct leak *lk, size_t top)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, PROG ": cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = fn(lk, top, f);
    if (fclose(f) != 0 || rc != 0) {
        fprintf(stderr, PROG ": error writing %s\n", path);
        return -1;
    }
    return 0;
}

static int
write_folded(const struct leak *lk, size_t top, FILE *f)
{
    (void)top;
    return leak_write_folded(lk, f);
}

static int
write_pprof(const struct leak *lk, size_t top, FILE *f)
{
    (void)top;
    return pprof_write_leak(lk, f);
}

static void
nap(void)
{
    struct timespec ts = {0, 200 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

/* Read every line; when following, wait for more until stop_path exists
   (then read what is left and finish). */
static int
read_stream(struct leak *lk, FILE *in, const char *stop_path)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int stopping = 0;

    for (;;) {
        while ((n = getline(&line, &cap, in)) >= 0) {
            /* a partial last line: wait for the rest */
            if (stop_path != NULL && (n == 0 || line[n - 1] != '\n')) {
                if (fseek(in, -(long)n, SEEK_CUR) != 0) {
                    break;
                }
                nap();
                continue;
            }
            size_t len = (size_t)n;
            while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
                len--;
            }
            if (leak_parse_line(lk, line, len) && stop_path != NULL) {
                leak_write_progress(lk, stderr);
            }
            if (!stream_version_known(&lk->st)) {
                free(line);
                return -2;
            }
        }
        if (ferror(in)) {
            free(line);
            return -1;
        }
        if (stop_path == NULL || stopping) {
            break;
        }
        clearerr(in);
        if (access(stop_path, F_OK) == 0) {
            stopping = 1;       /* one more pass for what is left */
            continue;
        }
        nap();
    }
    free(line);
    return 0;
}

int
main(int argc, char **argv)
{
    enum { OPT_GROUP = 256, OPT_INCLUDE, OPT_EXCLUDE, OPT_TOP, OPT_CSV,
           OPT_PLOT, OPT_FOLDED, OPT_FOLLOW, OPT_SKIPPED, OPT_PPROF };
    static const struct option longopts[] = {
        {"group-by", required_argument, NULL, OPT_GROUP},
        {"include", required_argument, NULL, OPT_INCLUDE},
        {"exclude", required_argument, NULL, OPT_EXCLUDE},
        {"top", required_argument, NULL, OPT_TOP},
        {"csv", required_argument, NULL, OPT_CSV},
        {"plot-data", required_argument, NULL, OPT_PLOT},
        {"folded", required_argument, NULL, OPT_FOLDED},
        {"pprof", required_argument, NULL, OPT_PPROF},
        {"follow", required_argument, NULL, OPT_FOLLOW},
        {"skipped", required_argument, NULL, OPT_SKIPPED},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}
    };
    enum group_by by = GROUP_STACK;
    const char *includes[MAX_GLOBS], *excludes[MAX_GLOBS];
    size_t nincludes = 0, nexcludes = 0;
    uint64_t top = 10, skipped = 0;
    const char *csv = NULL, *plot = NULL, *folded = NULL, *follow = NULL;
    const char *pprof = NULL;
    int c;

    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_GROUP:
            if (!group_by_parse(optarg, &by)) {
                fprintf(stderr, PROG ": --group-by takes stack, line, file "
                        "or label, not '%s'\n", optarg);
                return 2;
            }
            break;
        case OPT_INCLUDE:
        case OPT_EXCLUDE:
            if ((c == OPT_INCLUDE ? nincludes : nexcludes) >= MAX_GLOBS) {
                fprintf(stderr, PROG ": at most %d globs each\n", MAX_GLOBS);
                return 2;
            }
            if (c == OPT_INCLUDE) {
                includes[nincludes++] = optarg;
            }
            else {
                excludes[nexcludes++] = optarg;
            }
            break;
        case OPT_TOP:
            if (!parse_u64(optarg, strlen(optarg), &top) || top == 0
                || top > 1000) {
                fprintf(stderr, PROG ": --top takes 1 to 1000\n");
                return 2;
            }
            break;
        case OPT_CSV:
            csv = optarg;
            break;
        case OPT_PLOT:
            plot = optarg;
            break;
        case OPT_FOLDED:
            folded = optarg;
            break;
        case OPT_PPROF:
            pprof = optarg;
            break;
        case OPT_FOLLOW:
            follow = optarg;
            break;
        case OPT_SKIPPED:
            if (!parse_u64(optarg, strlen(optarg), &skipped)) {
                fprintf(stderr, PROG ": --skipped takes a count\n");
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    const char *input = argv[optind];
    FILE *in = strcmp(input, "-") == 0 ? stdin : fopen(input, "r");
    if (in == NULL) {
        fprintf(stderr, PROG ": cannot read %s: %s\n", input, strerror(errno));
        return 1;
    }
    /* Following a run: Ctrl-C is for the tracer, which then ends the
       stream; this reader must live to write the report. */
    if (follow != NULL) {
        signal(SIGINT, SIG_IGN);
    }

    struct leak lk;
    leak_init(&lk, by);
    lk.includes = includes;
    lk.nincludes = nincludes;
    lk.excludes = excludes;
    lk.nexcludes = nexcludes;
    int read_rc = read_stream(&lk, in, follow);
    if (read_rc == -2) {
        fprintf(stderr, PROG ": %s is a record stream of another format "
                "(its V record says version %" PRId64 "; this reader knows "
                "version %d)\n", input, lk.st.version, STREAM_RECORDS_VERSION);
        return 2;
    }
    if (read_rc != 0) {
        fprintf(stderr, PROG ": error reading %s\n", input);
        return 1;
    }
    if (in != stdin) {
        fclose(in);
    }
    /* (a stream of its own counter needs none from here) */
    if (skipped > 0 && !stream_has_counter(&lk.st, "skipped_probes")) {
        char line[64];
        int len = snprintf(line, sizeof(line), "X\tskipped_probes\t%llu",
                           (unsigned long long)skipped);
        leak_parse_line(&lk, line, (size_t)len);
    }

    int rc = 0;
    if (lk.nsnap == 0) {
        fprintf(stderr, PROG ": no snapshot in %s (the tracer did not run, "
                "or ended before its first snapshot)\n", input);
        rc = 1;
    }
    if (leak_write_report(&lk, top, stdout) != 0 || fflush(stdout) != 0) {
        rc = 1;
    }
    if (csv != NULL && write_file(csv, leak_write_csv, &lk, top) != 0) {
        rc = 1;
    }
    if (plot != NULL && write_file(plot, leak_write_plot_data, &lk, top) != 0) {
        rc = 1;
    }
    if (folded != NULL && write_file(folded, write_folded, &lk, top) != 0) {
        rc = 1;
    }
    if (pprof != NULL && lk.nsnap > 0
        && write_file(pprof, write_pprof, &lk, top) != 0) {
        rc = 1;
    }
    leak_free(&lk);
    return rc;
}
