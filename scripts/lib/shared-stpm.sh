#!/bin/sh
# shared-stpm.sh HEADER: print the tapset macro file of the constants the
# C runtime and the tapsets share (`make` writes tapsets/pyscope_shared.stpm
# from runtime/include/pyscope_shared.h).  Every "#define PYSCOPE_X VALUE"
# becomes "@define PYSCOPE_X %( VALUE %)": UINT64_C(n) and a u suffix
# dropped, PYSCOPE_Y in an expression read as @PYSCOPE_Y; a string of 8
# bytes also gives PYSCOPE_X_U64, its bytes as a little-endian word.  A
# value of another form is an error (exit 1, one line on stderr): the
# header's comment says what it may hold.
set -eu
if [ $# -ne 1 ] || [ ! -r "$1" ]; then
    echo "usage: $0 HEADER" >&2
    exit 2
fi
awk -v src="$1" '
function fail(msg) {
    printf "shared-stpm.sh: %s:%d: %s\n", src, FNR, msg > "/dev/stderr"
    failed = 1
    exit 1
}
# An integer literal as stap writes it (no suffix, no UINT64_C).
function number(t) {
    if (t ~ /^UINT64_C\(.*\)$/) t = substr(t, 10, length(t) - 10)
    sub(/[uU]$/, "", t)
    if (t !~ /^(0[xX][0-9A-Fa-f]+|[0-9]+)$/) fail("not an integer: " t)
    return t
}
BEGIN {
    for (i = 32; i < 127; i++) ord[sprintf("%c", i)] = i
    print "/* pyscope_shared.stpm - generated from runtime/include/pyscope_shared.h"
    print "   by scripts/lib/shared-stpm.sh (make); do not edit.  The constants"
    print "   the C runtime and the tapsets share. */"
}
$1 != "#define" { next }
{
    name = $2
    if (name !~ /^PYSCOPE_[A-Z0-9_]+$/) fail("not a PYSCOPE_ name: " name)
    value = $0
    sub(/^[ \t]*#define[ \t]+[A-Z0-9_]+[ \t]*/, "", value)
    sub(/[ \t]*\/\*.*$/, "", value)
    sub(/[ \t]+$/, "", value)
    if (name == "PYSCOPE_SHARED_H" && value == "") next
    if (value ~ /^"[^"\\]*"$/) {
        printf "@define %s %%( %s %%)\n", name, value
        s = substr(value, 2, length(value) - 2)
        if (length(s) == 8) {
            hex = ""
            for (i = 8; i >= 1; i--) hex = hex sprintf("%02x", ord[substr(s, i, 1)])
            printf "@define %s_U64 %%( 0x%s %%)\n", name, hex
        }
    } else if (value ~ /^\(.*\)$/) {
        out = ""
        rest = substr(value, 2, length(value) - 2)
        n = split(rest, tok, /[ \t]+/)
        for (i = 1; i <= n; i++) {
            t = tok[i]
            if (t ~ /^PYSCOPE_[A-Z0-9_]+$/) {
                if (!(t in defined)) fail(t " is not defined before " name)
                t = "@" t
            } else if (t !~ /^[-+]$/) {
                t = number(t)
            }
            out = out (i > 1 ? " " : "") t
        }
        printf "@define %s %%( (%s) %%)\n", name, out
    } else {
        printf "@define %s %%( %s %%)\n", name, number(value)
    }
    defined[name] = 1
}
END { if (failed) exit 1 }' "$1"
