/* RFC 3986 percent-encoding, as V4 signing, the service's URL parser and request URLs expect it. */
#include "uri_encode.h"

static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.' || c == '~';
}

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
        if (is_unreserved(c) || (c == '/' && keep_slash)) {
            *out++ = (char)c;
        } else {
            *out++ = '%';
            *out++ = digits[c >> 4];
            *out++ = digits[c & 15];
        }
    }
    buffer->length = (size_t)(out - buffer->data);
}

