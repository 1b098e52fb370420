/* pyscope-top - a live view of the CPU sampler's record stream: while
 * cpu-sample.stp writes it (scripts/py-top.sh runs both), a table of the
 * functions by self and total share of the samples so far, with each
 * one's hottest Python line, redrawn every interval; with --labels also
 * the samples of each frame label.  Like `py-spy top`.
 *
 * The terminal: on a terminal the table is drawn on the alternate screen
 * with the cursor hidden, and keys are read from /dev/tty without echo;
 * q (or Q, or Ctrl-C) ends the view.  Every way out (q, a signal, the end
 * of the stream) restores the terminal's modes and screen, then prints the
 * last table on the normal screen, so what was seen stays.  With --stop
 * PID, q also sends SIGINT to PID (py-top.sh: it ends the run as Ctrl-C
 * would).  Not on a terminal (a pipe, a test), each table is printed in
 * turn, after a line "--- refresh N".
 *
 * The stream is read as it grows (the last partial line waits for its
 * end) until the --follow FILE exists, then to its end.  Names are
 * resolved at each refresh from the dictionary records read so far
 * (stacks_build), so memory and work grow with distinct stacks, and a
 * refresh re-counts the samples so far.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "escape.h"
#include "labels.h"
#include "stacks.h"
#include "strbuf.h"
#include "stream.h"
#include "summary.h"
#include "util.h"

#define PROG "pyscope-top"

struct options {
    enum mode mode;
    uint64_t interval_ms;
    uint64_t top;
    bool labels;
    const char *follow;      /* the file whose existence ends the stream */
    pid_t stop_pid;          /* SIGINT on q, or 0 */
    const char *title;
    const char *input;
};

static volatile sig_atomic_t got_signal;

static void
on_signal(int sig)
{
    got_signal = sig;
}

/* The terminal, as found, and whether it was changed. */
static struct {
    int fd;                  /* /dev/tty, or -1 */
    bool screen;             /* alternate screen on */
    bool modes;              /* termios changed */
    struct termios saved;
} term = {-1, false, false, {0}};

static void
term_restore(void)
{
    if (term.screen) {
        fputs("\033[?25h\033[?1049l", stdout);
        fflush(stdout);
        term.screen = false;
    }
    if (term.modes) {
        tcsetattr(term.fd, TCSANOW, &term.saved);
        term.modes = false;
    }
}

static void
term_setup(void)
{
    struct termios raw;

    if (!isatty(STDOUT_FILENO)) {
        return;
    }
    term.fd = open("/dev/tty", O_RDONLY | O_NOCTTY | O_CLOEXEC);
    if (term.fd >= 0 && tcgetattr(term.fd, &term.saved) == 0) {
        raw = term.saved;
        raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        raw.c_cc[VMIN] = 0;
        raw.c_cc[VTIME] = 0;
        if (tcsetattr(term.fd, TCSANOW, &raw) == 0) {
            term.modes = true;
        }
    }
    fputs("\033[?1049h\033[?25l", stdout);
    term.screen = true;
    atexit(term_restore);
}

/* A key pressed since the last look: 'q' ends the view. */
static bool
quit_pressed(void)
{
    char buf[16];
    ssize_t n;

    if (!term.modes) {
        return false;
    }
    while ((n = read(term.fd, buf, sizeof(buf))) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == 'q' || buf[i] == 'Q') {
                return true;
            }
        }
    }
    return false;
}

static uint64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Every complete line of in that is there now, into st; false on a read
   error. */
static bool
read_more(FILE *in, struct stream *st, char **line, size_t *cap)
{
    ssize_t n;

    clearerr(in);
    while ((n = getline(line, cap, in)) >= 0) {
        if (n == 0 || (*line)[n - 1] != '\n') {
            /* a partial last line: read it again once it is whole */
            if (fseek(in, -(long)n, SEEK_CUR) != 0) {
                return false;
            }
            break;
        }
        size_t len = (size_t)n - 1;
        if (len > 0 && (*line)[len - 1] == '\r') {
            len--;
        }
        stream_parse_line(st, *line, len);
    }
    return !ferror(in);
}

static uint64_t
count_samples(const struct stream *st)
{
    return st->total_samples;
}

/* One table: the header, the functions, the labels. */
static void
draw(const struct options *opt, const struct stream *st, FILE *out,
     uint64_t refresh, uint64_t elapsed_ms, uint64_t recent)
{
    struct stacks sk;
    struct summary sum;
    struct strbuf title = STRBUF_INIT;

    stacks_init(&sk, opt->mode, false);
    stacks_build(&sk, st);
    summary_compute(&sk, &sum);
    /* the title holds the command line (py-top.sh): no raw control
       characters to the terminal */
    sb_append_terminal(&title, opt->title, strlen(opt->title));
    fprintf(out, "%s - %" PRIu64 " samples in %" PRIu64 ".%" PRIu64
            " s (%" PRIu64 " in the last refresh), refresh %" PRIu64 "%s\n\n",
            sb_str(&title), sum.samples, elapsed_ms / 1000,
            elapsed_ms % 1000 / 100, recent, refresh,
            term.modes ? "; q quits" : "");
    summary_print(&sum, &sk, (size_t)opt->top, out);
    if (opt->labels) {
        struct label_report rep;
        label_report_compute(st, &rep);
        fputc('\n', out);
        label_report_print(&rep, out);
        label_report_free(&rep);
    }
    summary_free(&sum);
    stacks_free(&sk);
    sb_free(&title);
}

static void
usage(FILE *out)
{
    fputs(
"usage: " PROG " [options] INPUT\n"
"\n"
"Follow the record stream of scripts/cpu-sample.stp in INPUT while it is\n"
"written and show the functions by self and total share of the samples so\n"
"far, redrawn every interval (scripts/py-top.sh runs it).  On a terminal:\n"
"the alternate screen, q quits, and the last table stays on exit.\n"
"\n"
"options:\n"
"  --follow FILE    the stream is complete once FILE exists\n"
"  --interval MS    refresh period (default 1000)\n"
"  --top N          rows (default 20)\n"
"  --mode MODE      merged (default), python or native frames\n"
"  --labels         also the samples of each frame label\n"
"  --stop PID       on q, send SIGINT to PID (the run to end)\n"
"  --title TEXT     the header's first words (default \"pyscope top\")\n"
"  -h, --help       this help\n", out);
}

static void
bad_usage(const char *message, const char *arg)
{
    fprintf(stderr, PROG ": %s '%s' (see --help)\n", message, arg);
    exit(2);
}

static uint64_t
number_arg(const char *option, const char *arg, uint64_t lo, uint64_t hi)
{
    uint64_t v;

    if (!parse_u64(arg, strlen(arg), &v) || v < lo || v > hi) {
        fprintf(stderr, PROG ": %s needs an integer from %" PRIu64 " to %"
                PRIu64 ", not '%s'\n", option, lo, hi, arg);
        exit(2);
    }
    return v;
}

static void
parse_options(int argc, char **argv, struct options *opt)
{
    enum { O_FOLLOW = 256, O_INTERVAL, O_TOP, O_MODE, O_LABELS, O_STOP,
           O_TITLE };
    static const struct option longopts[] = {
        {"follow", required_argument, NULL, O_FOLLOW},
        {"interval", required_argument, NULL, O_INTERVAL},
        {"top", required_argument, NULL, O_TOP},
        {"mode", required_argument, NULL, O_MODE},
        {"labels", no_argument, NULL, O_LABELS},
        {"stop", required_argument, NULL, O_STOP},
        {"title", required_argument, NULL, O_TITLE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}
    };
    int c;

    memset(opt, 0, sizeof(*opt));
    opt->mode = MODE_MERGED;
    opt->interval_ms = 1000;
    opt->top = 20;
    opt->title = "pyscope top";
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case O_FOLLOW:
            opt->follow = optarg;
            break;
        case O_INTERVAL:
            opt->interval_ms = number_arg("--interval", optarg, 100, 60000);
            break;
        case O_TOP:
            opt->top = number_arg("--top", optarg, 1, 1000);
            break;
        case O_MODE:
            if (!mode_parse(optarg, &opt->mode)) {
                bad_usage("unknown mode", optarg);
            }
            break;
        case O_LABELS:
            opt->labels = true;
            break;
        case O_STOP:
            opt->stop_pid = (pid_t)number_arg("--stop", optarg, 1, 4194304);
            break;
        case O_TITLE:
            opt->title = optarg;
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
    if (optind + 1 != argc) {
        bad_usage("needs one INPUT, got", optind < argc ? argv[optind + 1] : "none");
    }
    opt->input = argv[optind];
}

int
main(int argc, char **argv)
{
    struct options opt;
    struct stream st;
    FILE *in;
    char *line = NULL;
    size_t cap = 0;
    uint64_t start, next, refresh = 0, shown = 0;
    bool ending = false, quit = false;

    parse_options(argc, argv, &opt);
    in = fopen(opt.input, "r");
    if (in == NULL) {
        fprintf(stderr, PROG ": cannot open '%s': %s\n", opt.input,
                strerror(errno));
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    stream_init(&st);
    term_setup();
    start = now_ms();
    next = start + opt.interval_ms;
    for (;;) {
        if (!read_more(in, &st, &line, &cap)) {
            term_restore();
            fprintf(stderr, PROG ": cannot read '%s'\n", opt.input);
            return 1;
        }
        if (!stream_version_known(&st)) {
            term_restore();
            fprintf(stderr, PROG ": '%s' is a record stream of another "
                    "version\n", opt.input);
            return 2;
        }
        if (ending) {
            break;
        }
        if (got_signal || quit_pressed()) {
            quit = true;
            break;
        }
        /* (checked before the last read: what is written before FILE
           appears is read once more, then the view ends) */
        if (opt.follow == NULL || access(opt.follow, F_OK) == 0) {
            ending = true;
            continue;
        }
        if (now_ms() >= next) {
            uint64_t n = count_samples(&st);
            refresh++;
            if (term.screen) {
                fputs("\033[H\033[2J", stdout);
            }
            else {
                printf("--- refresh %" PRIu64 "\n", refresh);
            }
            draw(&opt, &st, stdout, refresh, now_ms() - start, n - shown);
            fflush(stdout);
            shown = n;
            next += opt.interval_ms;
            if (next < now_ms()) {
                next = now_ms() + opt.interval_ms;
            }
        }
        poll(NULL, 0, 50);
    }
    term_restore();
    if (quit && opt.stop_pid > 0) {
        kill(opt.stop_pid, SIGINT);
    }
    /* the last table, on the normal screen */
    printf("--- %s\n", quit ? "stopped" : "the run ended");
    draw(&opt, &st, stdout, refresh + 1, now_ms() - start,
         count_samples(&st) - shown);
    free(line);
    stream_free(&st);
    fclose(in);
    return 0;
}
