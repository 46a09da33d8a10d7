/* What XML 1.0 text can carry, and how our writer escapes it. */
#ifndef OSS_XML_TEXT_H
#define OSS_XML_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buffer.h"

/* Appends `text` as XML character data, with &, <, > and CR escaped (CR as a reference, so a reader's newline
 * normalisation keeps it), checking in the same pass that it is well-formed UTF-8 made of XML 1.0 Chars.
 * Returns NULL, or what is wrong with the offending byte's offset in *at (the output is then incomplete). */
const char *oss_xml_text_append(oss_buffer *out, const char *text, size_t length, size_t *at);

/* 1 for printable ASCII other than & < >: the bytes a text copies as they are. */
extern const unsigned char oss_xml_plain_byte[256];

#define OSS_EVERY_BYTE(b) ((uint64_t)0x0101010101010101u * (b))

/* Whether any of 8 bytes is zero: exact, with no false positives. */
static inline uint64_t oss_has_zero_byte(uint64_t word)
{
    return (word - OSS_EVERY_BYTE(1)) & ~word & OSS_EVERY_BYTE(0x80);
}

/* Whether any of 8 bytes is not plain: 0x80 and up, below 0x20, &, < or > ('<' | 2 and '>' | 2 are both '>'). */
static inline uint64_t oss_has_special_byte(uint64_t word)
{
    uint64_t high = word & OSS_EVERY_BYTE(0x80);
    uint64_t control = (word - OSS_EVERY_BYTE(0x20)) & ~word & OSS_EVERY_BYTE(0x80);
    uint64_t ampersand = oss_has_zero_byte(word ^ OSS_EVERY_BYTE('&'));
    uint64_t angle = oss_has_zero_byte((word | OSS_EVERY_BYTE(2)) ^ OSS_EVERY_BYTE('>'));
    return high | control | ampersand | angle;
}

/* The offset of the first byte from `i` that is not plain, or `length`; eight bytes a step while they are, the
 * last eight (overlapping what was checked) standing in for a shorter tail. Inline: the writer calls it on every
 * value, most of them a few bytes long. */
static inline size_t oss_xml_skip_plain(const unsigned char *s, size_t i, size_t length)
{
    uint64_t word;
    if (length - i >= 8) {
        do {
            memcpy(&word, s + i, sizeof word);
            if (oss_has_special_byte(word))
                goto bytewise;
            i += 8;
        } while (length - i >= 8);
        if (i == length)
            return i;
        memcpy(&word, s + length - 8, sizeof word);
        if (!oss_has_special_byte(word))
            return length;
    }
bytewise:
    while (i < length && oss_xml_plain_byte[s[i]])
        i++;
    return i;
}

/* How many leading bytes of `text` are plain: when that is all of it, the text is valid XML character data
 * exactly as it is, and a writer can copy it without calling oss_xml_text_append. */
static inline size_t oss_xml_text_plain_prefix(const char *text, size_t length)
{
    return oss_xml_skip_plain((const unsigned char *)text, 0, length);
}

#endif
