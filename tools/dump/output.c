/* output.c - a dump as text or JSON. */
#include "output.h"

#include <stdint.h>
#include <string.h>

void
output_text(const Dump *d, FILE *out)
{
    char line[2048];

    fprintf(out, "Process %ld (%s): %s\n", (long)d->pid, d->comm, d->python);
    for (size_t i = 0; i < d->count; i++) {
        const DumpThread *th = &d->threads[i];

        fprintf(out, "\nThread %ld (%s)%s%s\n", th->tid, th->name,
                th->gil == 1 ? " [holds the GIL]" : "",
                th->python ? "" : " [no Python thread state]");
        for (size_t j = 0; j < th->count; j++) {
            dump_frame_text(&th->frames[j], line, sizeof(line));
            fprintf(out, "  %s\n", line);
        }
    }
}

/* The length of the valid UTF-8 sequence at s (1-4), 0 if none. */
static size_t
utf8_len(const unsigned char *s)
{
    size_t n;
    uint32_t c;

    if (s[0] < 0x80) {
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2;
        c = s[0] & 0x1f;
    }
    else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;
        c = s[0] & 0x0f;
    }
    else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;
        c = s[0] & 0x07;
    }
    else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        c = (c << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && (c < 0x800 || (c >= 0xd800 && c < 0xe000)))
        || (n == 4 && (c < 0x10000 || c > 0x10ffff))) {
        return 0;
    }
    return n;
}

void
output_json_string(const char *s, FILE *out)
{
    const unsigned char *p = (const unsigned char *)s;

    fputc('"', out);
    while (*p != '\0') {
        size_t n;

        if (*p == '"' || *p == '\\') {
            fputc('\\', out);
            fputc(*p++, out);
        }
        else if (*p == '\n') {
            fputs("\\n", out);
            p++;
        }
        else if (*p == '\t') {
            fputs("\\t", out);
            p++;
        }
        else if (*p < 0x20 || *p == 0x7f) {
            fprintf(out, "\\u%04x", *p++);
        }
        else if ((n = utf8_len(p)) == 0) {
            fputs("\\ufffd", out);
            p++;
        }
        else {
            fwrite(p, 1, n, out);
            p += n;
        }
    }
    fputc('"', out);
}

static const char *const kind_name[] = {
    [FRAME_PYTHON] = "python", [FRAME_NATIVE] = "native",
    [FRAME_MARKER] = "marker",
};

void
output_json(const Dump *d, FILE *out)
{
    fprintf(out, "{\"pid\": %ld, \"process\": ", (long)d->pid);
    output_json_string(d->comm, out);
    fputs(", \"python\": ", out);
    output_json_string(d->python, out);
    fprintf(out, ", \"gil_known\": %s, \"threads\": [",
            d->gil_known ? "true" : "false");
    for (size_t i = 0; i < d->count; i++) {
        const DumpThread *th = &d->threads[i];

        fprintf(out, "%s\n  {\"tid\": %ld, \"name\": ", i ? "," : "", th->tid);
        output_json_string(th->name, out);
        fprintf(out, ", \"python\": %s, \"gil\": %s, \"running\": %s, "
                "\"frames\": [", th->python ? "true" : "false",
                th->gil < 0 ? "null" : th->gil ? "true" : "false",
                th->running ? "true" : "false");
        for (size_t j = 0; j < th->count; j++) {
            const DumpFrame *f = &th->frames[j];

            fprintf(out, "%s\n    {\"kind\": \"%s\", \"name\": ",
                    j ? "," : "", kind_name[f->kind]);
            output_json_string(f->name, out);
            fputs(", \"file\": ", out);
            if (f->kind == FRAME_MARKER) {
                fputs("null", out);
            }
            else {
                output_json_string(f->file, out);
            }
            if (f->kind == FRAME_PYTHON && f->line >= 0) {
                fprintf(out, ", \"line\": %ld", f->line);
            }
            else {
                fputs(", \"line\": null", out);
            }
            if (f->kind == FRAME_NATIVE) {
                fprintf(out, ", \"pc\": \"0x%llx\"", (unsigned long long)f->pc);
            }
            fputs(", \"label\": ", out);
            if (f->label != NULL) {
                output_json_string(f->label, out);
            }
            else {
                fputs("null", out);
            }
            fputc('}', out);
        }
        fprintf(out, "%s]}", th->count ? "\n  " : "");
    }
    fputs("\n]}\n", out);
}
