/* RFC 3986 percent-encoding, as V4 signing, the service's URL parser and request URLs expect it. */
#include "uri_encode.h"

/* 1 for the bytes RFC 3986 leaves as they are: letters, digits and -._~ (a table: one load instead of eight
 * comparisons per byte). */
static const unsigned char unreserved[256] = {
    ['-'] = 1, ['.'] = 1, ['_'] = 1, ['~'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1,
    ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1,
    ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1,
    ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1,
    ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

/* RFC 3986 percent-encoding with upper-case hex, as both V4 and the service's URL parser expect. */
void oss_uri_encode(oss_buffer *buffer, const char *text, size_t length, int keep_slash)
{
    static const char digits[] = "0123456789ABCDEF";
    if (length > ((size_t)-1) / 3) {
        buffer->failed = 1;
        return;
    }
    if (!oss_buffer_reserve(buffer, length * 3))
        return;
    char *out = buffer->data + buffer->length;
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)text[i];
        if (unreserved[c] || (c == '/' && keep_slash)) {
            *out++ = (char)c;
        } else {
            *out++ = '%';
            *out++ = digits[c >> 4];
            *out++ = digits[c & 15];
        }
    }
    buffer->length = (size_t)(out - buffer->data);
}

