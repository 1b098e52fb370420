/* dwarftypes.c - struct layouts from DWARF (libdw). */
#include "dwarftypes.h"

#include <stdio.h>
#include <string.h>

#include <dwarf.h>

/* Bounds against malformed DWARF that loops. */
#define MAX_TYPE_CHAIN 32
#define MAX_ANONYMOUS_DEPTH 8
#define MAX_PATH_PARTS 8
#define MAX_NAME 128

/* Follow DW_AT_type from die into *result. */
static bool
type_of(Dwarf_Die *die, Dwarf_Die *result)
{
    Dwarf_Attribute attr;

    if (dwarf_attr_integrate(die, DW_AT_type, &attr) == NULL) {
        return false;
    }
    return dwarf_formref_die(&attr, result) != NULL;
}

/* Skip typedefs and qualifiers: *die becomes the type they stand for. */
static bool
peel(Dwarf_Die *die)
{
    for (int i = 0; i < MAX_TYPE_CHAIN; i++) {
        Dwarf_Die next;

        switch (dwarf_tag(die)) {
        case DW_TAG_typedef:
        case DW_TAG_const_type:
        case DW_TAG_volatile_type:
        case DW_TAG_restrict_type:
        case DW_TAG_atomic_type:
            if (!type_of(die, &next)) {
                return false;
            }
            *die = next;
            break;
        default:
            return true;
        }
    }
    return false;
}

static bool
is_struct_or_union(Dwarf_Die *die)
{
    int tag = dwarf_tag(die);

    return tag == DW_TAG_structure_type || tag == DW_TAG_union_type;
}

static bool
is_complete(Dwarf_Die *die)
{
    return is_struct_or_union(die) && !dwarf_hasattr(die, DW_AT_declaration)
           && dwarf_hasattr(die, DW_AT_byte_size);
}

/* A typedef or struct at the top of a unit: is it one we look for? */
static void
consider(Dwarf_Die *die, DwarfType *types, size_t ntypes)
{
    int tag = dwarf_tag(die);
    const char *name = dwarf_diename(die);

    if (name == NULL) {
        return;
    }
    if (tag == DW_TAG_typedef) {
        for (size_t i = 0; i < ntypes; i++) {
            Dwarf_Die target = *die;
            const char *target_name;

            if (types[i].found || strcmp(types[i].name, name) != 0
                || !peel(&target)) {
                continue;
            }
            if (is_complete(&target)) {
                types[i].die = target;
                types[i].found = true;
                continue;
            }
            target_name = dwarf_diename(&target);
            if (is_struct_or_union(&target) && target_name != NULL
                && strlen(target_name) < DWARFTYPES_TAG_MAX) {
                strcpy(types[i].tag, target_name);
            }
        }
    }
    else if (is_struct_or_union(die) && is_complete(die)) {
        for (size_t i = 0; i < ntypes; i++) {
            if (!types[i].found && types[i].tag[0] != '\0'
                && strcmp(types[i].tag, name) == 0) {
                types[i].die = *die;
                types[i].found = true;
            }
        }
    }
}

static size_t
count_found(const DwarfType *types, size_t ntypes)
{
    size_t n = 0;

    for (size_t i = 0; i < ntypes; i++) {
        n += types[i].found;
    }
    return n;
}

/* One pass over the top-level DIEs of every unit. */
static void
walk_units(Dwarf *dwarf, DwarfType *types, size_t ntypes)
{
    Dwarf_CU *cu = NULL;
    Dwarf_Half version;
    uint8_t unit_type;
    Dwarf_Die unit_die, sub_die;

    while (count_found(types, ntypes) < ntypes
           && dwarf_get_units(dwarf, cu, &cu, &version, &unit_type,
                              &unit_die, &sub_die) == 0) {
        Dwarf_Die child;

        if (dwarf_child(&unit_die, &child) != 0) {
            continue;
        }
        do {
            consider(&child, types, ntypes);
        } while (dwarf_siblingof(&child, &child) == 0);
    }
}

size_t
dwarftypes_find(Dwarf *dwarf, DwarfType *types, size_t ntypes)
{
    Dwarf *alt = dwarf_getalt(dwarf);

    for (size_t i = 0; i < ntypes; i++) {
        types[i].found = false;
        types[i].tag[0] = '\0';
        /* "struct TAG": a struct no typedef names (_gil_runtime_state),
           looked for under its tag */
        if (strncmp(types[i].name, "struct ", 7) == 0
            && strlen(types[i].name + 7) < DWARFTYPES_TAG_MAX) {
            strcpy(types[i].tag, types[i].name + 7);
        }
    }
    /* The second pass finds definitions that came before the typedef
       that told us their tag. */
    for (int pass = 0; pass < 2; pass++) {
        walk_units(dwarf, types, ntypes);
        if (alt != NULL) {
            walk_units(alt, types, ntypes);
        }
    }
    return count_found(types, ntypes);
}

/* DW_AT_data_member_location: a constant, or (DWARF 2) an expression
   DW_OP_plus_uconst N.  Absent means 0 (union members, and bitfields that
   only have DW_AT_data_bit_offset). */
static bool
member_location(Dwarf_Die *member, Dwarf_Word *offset)
{
    Dwarf_Attribute attr;
    unsigned int form;

    *offset = 0;
    if (dwarf_attr_integrate(member, DW_AT_data_member_location, &attr)
        == NULL) {
        return true;
    }
    form = dwarf_whatform(&attr);
    if (form == DW_FORM_block1 || form == DW_FORM_block2
        || form == DW_FORM_block4 || form == DW_FORM_block
        || form == DW_FORM_exprloc) {
        Dwarf_Op *ops;
        size_t nops;

        if (dwarf_getlocation(&attr, &ops, &nops) != 0 || nops != 1
            || (ops[0].atom != DW_OP_plus_uconst
                && ops[0].atom != DW_OP_constu)) {
            return false;
        }
        *offset = ops[0].number;
        return true;
    }
    return dwarf_formudata(&attr, offset) == 0;
}

static bool
unsigned_attr(Dwarf_Die *die, unsigned int name, Dwarf_Word *value)
{
    Dwarf_Attribute attr;

    return dwarf_attr_integrate(die, name, &attr) != NULL
           && dwarf_formudata(&attr, value) == 0;
}

/* Where member lies in the struct that has it as a child: bytes, and
   bits in DW_AT_data_bit_offset numbering. */
static bool
member_place(Dwarf_Die *member, bool big_endian, Dwarf_Word *offset,
             Dwarf_Word *bit_offset, bool *is_bitfield)
{
    Dwarf_Word location, data_bit_offset, old_bit_offset, bit_size;
    Dwarf_Word storage;

    if (!member_location(member, &location)) {
        return false;
    }
    *is_bitfield = dwarf_hasattr(member, DW_AT_bit_size);
    if (unsigned_attr(member, DW_AT_data_bit_offset, &data_bit_offset)) {
        /* DWARF 4+: bits from the start of the containing struct. */
        *bit_offset = location * 8 + data_bit_offset;
    }
    else if (unsigned_attr(member, DW_AT_bit_offset, &old_bit_offset)) {
        /* DWARF 2-3 (and GCC's DWARF 4): bits from the most significant
           bit of a storage unit of DW_AT_byte_size (or the type's size)
           at DW_AT_data_member_location. */
        Dwarf_Die type;

        if (!unsigned_attr(member, DW_AT_bit_size, &bit_size)) {
            return false;
        }
        if (!unsigned_attr(member, DW_AT_byte_size, &storage)) {
            if (!type_of(member, &type)
                || dwarf_aggregate_size(&type, &storage) != 0) {
                return false;
            }
        }
        if (old_bit_offset + bit_size > storage * 8) {
            return false;
        }
        if (big_endian) {
            *bit_offset = location * 8 + old_bit_offset;
        }
        else {
            *bit_offset = location * 8 + storage * 8 - old_bit_offset
                          - bit_size;
        }
    }
    else {
        *bit_offset = location * 8;
    }
    *offset = *bit_offset / 8;
    return true;
}

/* Find the member called name among the children of type (a struct or
   union), looking into anonymous struct/union members too.  *member gets
   its DIE and *place_bits its bit offset from the start of type. */
static bool
find_member(Dwarf_Die *type, const char *name, bool big_endian, int depth,
            Dwarf_Die *member, Dwarf_Word *place_bits, bool *is_bitfield)
{
    Dwarf_Die child;

    if (depth > MAX_ANONYMOUS_DEPTH || dwarf_child(type, &child) != 0) {
        return false;
    }
    do {
        const char *child_name;
        Dwarf_Die inner;
        Dwarf_Word offset, bits;
        bool bitfield;

        if (dwarf_tag(&child) != DW_TAG_member) {
            continue;
        }
        child_name = dwarf_diename(&child);
        if (child_name != NULL) {
            if (strcmp(child_name, name) == 0) {
                *member = child;
                return member_place(&child, big_endian, &offset,
                                    place_bits, is_bitfield);
            }
            continue;
        }
        /* An anonymous member: look inside if it is a struct or union. */
        if (!type_of(&child, &inner) || !peel(&inner)
            || !is_struct_or_union(&inner)
            || !member_place(&child, big_endian, &offset, &bits,
                             &bitfield)) {
            continue;
        }
        if (find_member(&inner, name, big_endian, depth + 1, member,
                        place_bits, is_bitfield)) {
            *place_bits += bits;
            return true;
        }
    } while (dwarf_siblingof(&child, &child) == 0);
    return false;
}

bool
dwarftypes_member(Dwarf_Die *type, const char *path, bool big_endian,
                  MemberPlace *place)
{
    char name[MAX_NAME];
    const char *part = path;
    Dwarf_Die current = *type;
    Dwarf_Word bits = 0, parent_bits = 0;
    bool is_bitfield = false;

    for (int depth = 0; depth < MAX_PATH_PARTS; depth++) {
        const char *dot = strchr(part, '.');
        size_t len = dot != NULL ? (size_t)(dot - part) : strlen(part);
        Dwarf_Die member;
        Dwarf_Word member_bits;

        if (len == 0 || len >= sizeof(name)) {
            return false;
        }
        memcpy(name, part, len);
        name[len] = '\0';
        if (!peel(&current) || !is_struct_or_union(&current)
            || !find_member(&current, name, big_endian, 0, &member,
                            &member_bits, &is_bitfield)) {
            return false;
        }
        parent_bits = bits;
        bits += member_bits;
        if (dot == NULL) {
            place->bit_offset = bits;
            place->offset = bits / 8;
            place->parent_offset = parent_bits / 8;
            place->is_bitfield = is_bitfield;
            return true;
        }
        if (is_bitfield || !type_of(&member, &current)) {
            return false;
        }
        part = dot + 1;
    }
    return false;
}

bool
dwarftypes_has_member(Dwarf_Die *type, const char *path)
{
    MemberPlace place;

    return dwarftypes_member(type, path, false, &place);
}

bool
dwarftypes_size(Dwarf_Die *type, Dwarf_Word *size)
{
    Dwarf_Die die = *type;

    return peel(&die) && dwarf_aggregate_size(&die, size) == 0;
}
