/* A growable byte buffer owned by whoever embeds it; the C core's only way of building output. */
#include "buffer.h"

#include <stdlib.h>
#include <string.h>

void oss_buffer_init(oss_buffer *buffer)
{
    buffer->data = NULL;
    buffer->length = 0;
    buffer->capacity = 0;
    buffer->failed = 0;
}

void oss_buffer_free(oss_buffer *buffer)
{
    free(buffer->data);
    oss_buffer_init(buffer);
}

void oss_buffer_reset(oss_buffer *buffer)
{
    buffer->length = 0;
    buffer->failed = 0;
}

int oss_buffer_reserve(oss_buffer *buffer, size_t extra)
{
    if (buffer->failed)
        return 0;
    /* An empty buffer still gets memory, so `data + length` is never arithmetic on a null pointer. */
    if (buffer->data != NULL && extra <= buffer->capacity - buffer->length)
        return 1;
    size_t needed = buffer->length + extra;
    if (needed < buffer->length) {
        buffer->failed = 1;
        return 0;
    }
    size_t capacity = buffer->capacity ? buffer->capacity : 256;
    while (capacity < needed)
        capacity = capacity > ((size_t)-1) / 2 ? needed : capacity * 2;
    char *data = realloc(buffer->data, capacity);
    if (data == NULL) {
        buffer->failed = 1;
        return 0;
    }
    buffer->data = data;
    buffer->capacity = capacity;
    return 1;
}

void oss_buffer_append_string(oss_buffer *buffer, const char *text)
{
    oss_buffer_append(buffer, text, strlen(text));
}

/* Each byte's two lower-case hex digits, so a byte costs one two-byte copy instead of two lookups and shifts. */
static const char hex_pairs[256][2] = {
#define HEX_ROW(high)                                                                                              \
    {high, '0'}, {high, '1'}, {high, '2'}, {high, '3'}, {high, '4'}, {high, '5'}, {high, '6'}, {high, '7'},        \
        {high, '8'}, {high, '9'}, {high, 'a'}, {high, 'b'}, {high, 'c'}, {high, 'd'}, {high, 'e'}, {high, 'f'}
    HEX_ROW('0'), HEX_ROW('1'), HEX_ROW('2'), HEX_ROW('3'), HEX_ROW('4'), HEX_ROW('5'), HEX_ROW('6'), HEX_ROW('7'),
    HEX_ROW('8'), HEX_ROW('9'), HEX_ROW('a'), HEX_ROW('b'), HEX_ROW('c'), HEX_ROW('d'), HEX_ROW('e'), HEX_ROW('f'),
#undef HEX_ROW
};

void oss_buffer_append_hex(oss_buffer *buffer, const unsigned char *bytes, size_t length)
{
    if (length > ((size_t)-1) / 2) {
        buffer->failed = 1;
        return;
    }
    if (!oss_buffer_reserve(buffer, length * 2))
        return;
    char *out = buffer->data + buffer->length;
    for (size_t i = 0; i < length; i++)
        memcpy(out + 2 * i, hex_pairs[bytes[i]], 2);
    buffer->length += length * 2;
}
