/* What XML 1.0 text can carry, and how our writer escapes it. */
#ifndef OSS_XML_TEXT_H
#define OSS_XML_TEXT_H

#include <stddef.h>

#include "buffer.h"

/* Appends `text` as XML character data, with &, <, > and CR escaped (CR as a reference, so a reader's newline
 * normalisation keeps it), checking in the same pass that it is well-formed UTF-8 made of XML 1.0 Chars.
 * Returns NULL, or what is wrong with the offending byte's offset in *at (the output is then incomplete). */
const char *oss_xml_text_append(oss_buffer *out, const char *text, size_t length, size_t *at);

/* How many leading bytes of `text` are printable ASCII other than & < >: when that is all of it, the text is
 * valid XML character data exactly as it is, and a writer can copy it without calling oss_xml_text_append. */
size_t oss_xml_text_plain_prefix(const char *text, size_t length);

#endif
