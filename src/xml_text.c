/* What XML 1.0 text can carry, and how our writer escapes it. */
#include "xml_text.h"

/* Decodes one UTF-8 sequence; returns its length, or 0 when it is malformed, overlong or a surrogate. */
static size_t decode_utf8(const unsigned char *s, size_t length, unsigned long *code_point)
{
    unsigned char lead = s[0];
    size_t size;
    unsigned long value, minimum;
    if (lead < 0x80) {
        *code_point = lead;
        return 1;
    } else if ((lead & 0xE0) == 0xC0) {
        size = 2, value = lead & 0x1F, minimum = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
        size = 3, value = lead & 0x0F, minimum = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
        size = 4, value = lead & 0x07, minimum = 0x10000;
    } else {
        return 0;
    }
    if (size > length)
        return 0;
    for (size_t i = 1; i < size; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        value = (value << 6) | (s[i] & 0x3F);
    }
    if (value < minimum || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF))
        return 0;
    *code_point = value;
    return size;
}

static const char *escape_of(unsigned char c)
{
    switch (c) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '\r':
        return "&#13;";
    default:
        return NULL;
    }
}

#define PLAIN_ROW_16 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
#define OTHER_ROW_16 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
const unsigned char oss_xml_plain_byte[256] = {
    OTHER_ROW_16, OTHER_ROW_16,                                   /* 0x00-0x1F: controls */
    1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1,               /* 0x20-0x2F: & */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1,               /* 0x30-0x3F: < > */
    PLAIN_ROW_16, PLAIN_ROW_16, PLAIN_ROW_16, PLAIN_ROW_16,       /* 0x40-0x7F */
    OTHER_ROW_16, OTHER_ROW_16, OTHER_ROW_16, OTHER_ROW_16,       /* 0x80-0xFF: UTF-8 */
    OTHER_ROW_16, OTHER_ROW_16, OTHER_ROW_16, OTHER_ROW_16,
};

const char *oss_xml_text_append(oss_buffer *out, const char *text, size_t length, size_t *at)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t run = 0, i = 0;
    while ((i = oss_xml_skip_plain(s, i, length)) < length) {
        const char *replacement = escape_of(s[i]);
        if (replacement != NULL) {
            oss_buffer_append(out, text + run, i - run);
            oss_buffer_append_string(out, replacement);
            run = ++i;
            continue;
        }
        unsigned long code_point;
        size_t size = decode_utf8(s + i, length - i, &code_point);
        *at = i;
        if (size == 0)
            return "invalid UTF-8";
        if (code_point < 0x20 && code_point != '\t' && code_point != '\n')
            return "a control character";
        if (code_point == 0xFFFE || code_point == 0xFFFF)
            return "a non-character (U+FFFE or U+FFFF)";
        i += size;
    }
    oss_buffer_append(out, text + run, length - run);
    return NULL;
}
