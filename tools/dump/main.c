/* pyscope-dump - every thread's stack of a running CPython process, once.
 *
 *   pyscope-dump --pid PID --layout LAYOUT --elf ELF [--json] [--no-native]
 *
 * LAYOUT is the interpreter's layout as scripts/lib/layout-stpm.sh writes
 * it (scripts/py-stack.sh makes it with the same checks as every tool),
 * ELF the file holding the interpreter (the executable or its libpython),
 * as readable here.  Read-only, bounded, and the target is never stopped:
 * see dump.c for why this reads /proc and not through SystemTap.
 * Exit status: 0 done, 1 the process cannot be read, 2 bad arguments.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump.h"
#include "output.h"

#define PROGRAM "pyscope-dump"

static const char usage_line[] =
    "usage: " PROGRAM " --pid PID --layout LAYOUT --elf ELF [--json]"
    " [--native | --no-native]\n";

int
main(int argc, char **argv)
{
    static const struct option options[] = {
        {"pid", required_argument, NULL, 'p'},
        {"layout", required_argument, NULL, 'l'},
        {"elf", required_argument, NULL, 'e'},
        {"json", no_argument, NULL, 'j'},
        {"native", no_argument, NULL, 'n'},
        {"no-native", no_argument, NULL, 'N'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    DumpOptions o = {0, NULL, NULL, true};
    bool json = false;
    char error[1024], *end;
    Dump d;
    long pid;
    int c;

    while ((c = getopt_long(argc, argv, "p:h", options, NULL)) != -1) {
        switch (c) {
        case 'p':
            pid = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || pid <= 0 || pid > 1 << 22) {
                fprintf(stderr, PROGRAM ": not a PID: '%s'\n", optarg);
                return 2;
            }
            o.pid = (pid_t)pid;
            break;
        case 'l':
            o.layout_path = optarg;
            break;
        case 'e':
            o.elf_path = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'n':
            o.native = true;
            break;
        case 'N':
            o.native = false;
            break;
        case 'h':
            fputs(usage_line, stdout);
            return 0;
        default:
            fputs(usage_line, stderr);
            return 2;
        }
    }
    if (optind != argc || o.pid == 0 || o.layout_path == NULL
        || o.elf_path == NULL) {
        fputs(usage_line, stderr);
        return 2;
    }
    if (!dump_collect(&o, &d, error, sizeof(error))) {
        fprintf(stderr, PROGRAM ": %s\n", error);
        return 1;
    }
    if (json) {
        output_json(&d, stdout);
    }
    else {
        output_text(&d, stdout);
    }
    dump_free(&d);
    return fflush(stdout) == 0 ? 0 : 1;
}
