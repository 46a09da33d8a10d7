/* What XML 1.0 text can carry, and how our writer escapes it. */
#ifndef OSS_XML_TEXT_H
#define OSS_XML_TEXT_H

#include <stddef.h>

#include "buffer.h"

/* NULL if every byte of `text` is well-formed UTF-8 and an XML 1.0 Char; otherwise what is wrong, with the
 * offending byte's offset in *at. */
const char *oss_xml_text_problem(const char *text, size_t length, size_t *at);

/* Appends `text` with &, <, > and CR escaped (CR as a reference, so a reader's newline normalisation keeps it). */
void oss_xml_text_escape(oss_buffer *out, const char *text, size_t length);

#endif
