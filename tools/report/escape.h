/* escape.h - making arbitrary bytes safe for XML, terminals, folded
   stacks, CSV, JSON and pprof's strings: one function per format. */
#ifndef PYSCOPE_ESCAPE_H
#define PYSCOPE_ESCAPE_H

#include <stddef.h>

#include "strbuf.h"

/* Append s as valid UTF-8 that XML 1.0 accepts: every byte that does not
   start a well-formed UTF-8 sequence, and every character XML forbids
   (control characters other than TAB, LF, CR; U+FFFE; U+FFFF), becomes
   U+FFFD. */
void sb_append_utf8(struct strbuf *sb, const char *s, size_t n);

/* Like sb_append_utf8, and also escape & < > " ' as XML entities, so the
   result is safe both as element text and inside a quoted attribute. */
void sb_append_xml(struct strbuf *sb, const char *s, size_t n);

/* Append s for a terminal: invalid UTF-8 and every control character
   (C0 including TAB and newlines, DEL, C1) become U+FFFD, so hostile
   names cannot send escape sequences. */
void sb_append_terminal(struct strbuf *sb, const char *s, size_t n);

/* Append s for a string of a pprof profile (protobuf wants valid UTF-8,
   and go tool pprof prints names on a terminal): invalid UTF-8 and
   control characters (C0 other than TAB, LF and CR; DEL; C1) become
   U+FFFD. */
void sb_append_pprof(struct strbuf *sb, const char *s, size_t n);

/* Append a frame name for a folded-stacks line: ';' becomes the four
   characters \x3b, everything else is copied as-is. */
void sb_append_folded(struct strbuf *sb, const char *s, size_t n);

/* Append s as one CSV field (RFC 4180): every byte that does not start a
   well-formed UTF-8 sequence, and NUL, becomes the four characters \xNN;
   a field that would start with = + - @ TAB or CR (a spreadsheet formula)
   gets a ' in front and is quoted (OWASP's CSV injection defence); a field
   containing " , CR or LF is quoted too; a quoted field has its quotes
   doubled. */
void sb_append_csv(struct strbuf *sb, const char *s, size_t n);

/* Append s as the inside of a JSON string (RFC 8259): every byte that
   does not start a well-formed UTF-8 sequence becomes U+FFFD; " and \
   are backslash-escaped; control characters (C0, DEL), < > & ' and
   U+2028/U+2029 become \uXXXX, so the text is also safe inside HTML
   and JavaScript source. */
void sb_append_json(struct strbuf *sb, const char *s, size_t n);

/* Number of characters in valid UTF-8 text. */
size_t utf8_length(const char *s, size_t n);

/* Byte offset just past the first `chars` characters of valid UTF-8 text
   (n if it has fewer). */
size_t utf8_offset(const char *s, size_t n, size_t chars);

#endif
