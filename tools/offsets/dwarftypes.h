/* dwarftypes.h - struct layouts from DWARF (libdw): the complete struct a
   typedef names, and where a member path such as "interpreters.head" or
   "state.kind" lies in it.  Typedefs, const/volatile/_Atomic wrappers and
   anonymous struct/union members are seen through. */
#ifndef PYSCOPE_DWARFTYPES_H
#define PYSCOPE_DWARFTYPES_H

#include <stdbool.h>

#include <elfutils/libdw.h>

#define DWARFTYPES_TAG_MAX 64

typedef struct {
    const char *name;       /* the typedef, e.g. "PyThreadState", or
                               "struct TAG" for a struct no typedef names */
    bool found;
    Dwarf_Die die;          /* the complete struct or union, if found */
    /* The tag of the struct the typedef names, when the first typedef
       seen was of an incomplete struct ("_is" for PyInterpreterState):
       its definition is then looked for under that tag. */
    char tag[DWARFTYPES_TAG_MAX];
} DwarfType;

/* Fill in every type of types[0..ntypes) that the DWARF defines (in any
   unit, and in the dwz alternate file if there is one).  Returns how many
   were found. */
size_t dwarftypes_find(Dwarf *dwarf, DwarfType *types, size_t ntypes);

typedef struct {
    Dwarf_Word offset;          /* bytes from the start of the type */
    Dwarf_Word parent_offset;   /* the same for the path minus its last
                                   member ("state" for "state.kind") */
    /* Bits from the start of the type, numbered as DW_AT_data_bit_offset
       numbers them (on a little-endian machine: bit 0 is the least
       significant bit of the first byte); offset * 8 if not a bitfield. */
    Dwarf_Word bit_offset;
    bool is_bitfield;
} MemberPlace;

/* Where the member path lies in type (a struct or union DIE).  False if
   some member on the path does not exist or its place cannot be read.
   big_endian: how to read DW_AT_bit_offset (DWARF 2-4 bitfields). */
bool dwarftypes_member(Dwarf_Die *type, const char *path, bool big_endian,
                       MemberPlace *place);

/* The member's own DIE exists somewhere on the path (for "is PyObject
   free-threaded": does it have ob_tid). */
bool dwarftypes_has_member(Dwarf_Die *type, const char *path);

/* sizeof the type. */
bool dwarftypes_size(Dwarf_Die *type, Dwarf_Word *size);

#endif
