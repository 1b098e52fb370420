#!/bin/sh
# gen-keys.sh: C from tools/offsets/keys.tsv, the one schema of the
# offsets table keys (its header says what each column means).
#
#   gen-keys.sh keytable KEYS.TSV   the C key table of pyscope-offsets
#                                   (keytable.h's offset_keys[]): every
#                                   offset, bit and size key, in file order
#                                   (not the build, elf and const keys:
#                                   DWARF has no struct member for them)
#   gen-keys.sh tapset KEYS.TSV     tapsets/python_keys.stp: one accessor
#                                   a key, __py_key_<key>() returning the
#                                   @py_<key> macro of pyscope_layout.stpm
#                                   (-1 where the key does not apply)
#   gen-keys.sh oracle KEYS.TSV     a header for tests/c/offsets_oracle.c:
#                                   for every key but the elf ones (the
#                                   const ones too: the oracle computes
#                                   them from the headers),
#                                   PYSCOPE_KEY_<key> (1 if it applies to the
#                                   PY_MINOR_VERSION compiled for, else 0),
#                                   and the list of keys with their ranges
#
# Writes to stdout; a malformed line is one message on stderr and exit 1.
set -eu

if [ $# -ne 2 ] || { [ "$1" != keytable ] && [ "$1" != oracle ] &&
                     [ "$1" != tapset ]; }; then
    echo "usage: $0 keytable|oracle|tapset KEYS.TSV" >&2
    exit 2
fi
mode=$1
keys=$2
[ -r "$keys" ] || { echo "gen-keys.sh: cannot read $keys" >&2; exit 1; }

awk -F '\t' -v mode="$mode" -v src="$keys" '
function fail(msg) {
    printf "gen-keys.sh: %s:%d: %s\n", src, FNR, msg > "/dev/stderr"
    failed = 1
    exit 1
}
# The key as a C identifier: dots become underscores.
function ident(k,    s) {
    s = k
    gsub(/\./, "_", s)
    return s
}
/^#/ || /^[ \t]*$/ { next }
{
    if (NF != 8) fail("expected 8 TAB-separated columns, got " NF)
    if ($1 !~ /^[A-Za-z_][A-Za-z0-9_.]*$/) fail("bad key \"" $1 "\"")
    if ($1 in seen) fail("duplicate key " $1)
    seen[$1] = 1
    if ($2 !~ /^(offset|bit|size|build|elf|const)$/) fail("bad kind \"" $2 "\"")
    if ($3 !~ /^[0-9]+$/) fail("bad first minor \"" $3 "\"")
    if ($4 !~ /^([0-9]+|-)$/) fail("bad last minor \"" $4 "\"")
    if ($4 != "-" && $4 + 0 < $3 + 0) fail("last minor before first")
    if ($5 !~ /^(yes|no)$/) fail("optional is not yes or no")
    np = ($7 == "-") ? 0 : split($7, p, ",")
    if (np > 3) fail("more than 3 member paths")
    if (($2 == "build" || $2 == "elf" || $2 == "const") && ($6 != "-" || np))
        fail("a build, elf or const key has no struct or path")
    if ($2 == "size" && ($6 == "-" || np)) fail("a size key has a struct, no path")
    if (($2 == "offset" || $2 == "bit") && ($6 == "-" || !np))
        fail("an offset or bit key needs a struct and a path")
    for (i = 1; i <= np; i++)
        if (p[i] !~ /^[A-Za-z_][A-Za-z0-9_.]*$/) fail("bad path \"" p[i] "\"")
    n++
    key[n] = $1; kind[n] = $2; first[n] = $3; last[n] = $4
    opt[n] = $5; type[n] = $6; paths[n] = (np ? $7 : ""); meaning[n] = $8
}
END {
    if (failed) exit 1
    if (n == 0) { printf "gen-keys.sh: %s: no keys\n", src > "/dev/stderr"; exit 1 }
    if (mode == "keytable") keytable()
    else if (mode == "tapset") tapset()
    else oracle()
}
function tapset(    i, where) {
    printf "// python_keys.stp - generated from tools/offsets/keys.tsv by\n"
    printf "// tools/offsets/gen-keys.sh tapset; do not edit.\n//\n"
    printf "// The keys of the offsets tables, one accessor each: the value of the\n"
    printf "// interpreter a run targets (pyscope_layout.stpm), -1 where the key\n"
    printf "// does not apply.  python_offsets.stp builds the layout rules on them.\n"
    for (i = 1; i <= n; i++) {
        where = kind[i]
        if (type[i] != "-") where = where " of " type[i]
        if (paths[i] != "") where = where ": " paths[i]
        printf "\n/* %s (%s; 3.%d%s) */\n", meaning[i], where, first[i],
               last[i] == "-" ? "+" : "-3." last[i]
        printf "function __py_key_%s:long () { return @py_%s }\n",
               ident(key[i]), ident(key[i])
    }
}
function keytable(    i, np, j, s) {
    printf "/* keytable.c - generated from tools/offsets/keys.tsv by\n"
    printf "   tools/offsets/gen-keys.sh keytable; do not edit. */\n"
    printf "#include \"keytable.h\"\n\n"
    printf "const OffsetKey offset_keys[] = {\n"
    for (i = 1; i <= n; i++) {
        if (kind[i] == "build" || kind[i] == "elf" || kind[i] == "const") continue
        s = ""
        np = (paths[i] == "") ? 0 : split(paths[i], p, ",")
        for (j = 1; j <= np; j++) s = s (j > 1 ? ", " : "") "\"" p[j] "\""
        if (np == 0) s = "NULL"
        printf "    {\"%s\", KEY_%s, %d, %s,\n", key[i], toupper(kind[i]),
               first[i], last[i] == "-" ? "KEY_NO_LAST_MINOR" : last[i]
        printf "     \"%s\", {%s}, %s},\n", type[i], s,
               opt[i] == "yes" ? "true" : "false"
    }
    printf "};\n\n"
    printf "const size_t offset_keys_count = "
    printf "sizeof(offset_keys) / sizeof(offset_keys[0]);\n"
}
function oracle(    i, cond) {
    printf "/* oracle_keys.h - generated from tools/offsets/keys.tsv by\n"
    printf "   tools/offsets/gen-keys.sh oracle; do not edit.  Include\n"
    printf "   after Python.h (PY_MINOR_VERSION). */\n"
    printf "#ifndef PYSCOPE_ORACLE_KEYS_H\n#define PYSCOPE_ORACLE_KEYS_H\n\n"
    printf "/* PYSCOPE_KEY_x: key x (dots as underscores) applies to this"
    printf " version. */\n"
    for (i = 1; i <= n; i++) {
        if (kind[i] == "elf") continue
        cond = "PY_MINOR_VERSION >= " first[i]
        if (last[i] != "-") cond = cond " && PY_MINOR_VERSION <= " last[i]
        printf "#define PYSCOPE_KEY_%s (%s)\n", ident(key[i]), cond
    }
    printf "\n/* Every key the oracle prints: name, first and last minor (-1:"
    printf " no last),\n   optional (may be absent where it applies). */\n"
    printf "#define PYSCOPE_ORACLE_KEYS \\\n"
    for (i = 1; i <= n; i++) {
        if (kind[i] == "elf") continue
        printf "    {\"%s\", %d, %d, %d}, \\\n", key[i], first[i],
               last[i] == "-" ? -1 : last[i], opt[i] == "yes"
    }
    printf "\n#endif\n"
}' "$keys"
