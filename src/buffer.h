/* A growable byte buffer owned by whoever embeds it; the C core's only way of building output. */
#ifndef OSS_BUFFER_H
#define OSS_BUFFER_H

#include <stddef.h>
#include <string.h>

typedef struct {
    char *data;
    size_t length;
    size_t capacity;
    int failed; /* set once an allocation fails; later appends are ignored */
} oss_buffer;

void oss_buffer_init(oss_buffer *buffer);
void oss_buffer_free(oss_buffer *buffer);
void oss_buffer_reset(oss_buffer *buffer);
int oss_buffer_reserve(oss_buffer *buffer, size_t extra);
void oss_buffer_append_string(oss_buffer *buffer, const char *text);

/* The appends every writer calls per byte or per token: inline, so the common case (room left) is a copy. */
static inline void oss_buffer_append(oss_buffer *buffer, const void *bytes, size_t length)
{
    if (length == 0 || (length > buffer->capacity - buffer->length && !oss_buffer_reserve(buffer, length)) ||
        buffer->failed)
        return;
    memcpy(buffer->data + buffer->length, bytes, length);
    buffer->length += length;
}

static inline void oss_buffer_append_char(oss_buffer *buffer, char c)
{
    if ((buffer->length == buffer->capacity && !oss_buffer_reserve(buffer, 1)) || buffer->failed)
        return;
    buffer->data[buffer->length++] = c;
}
void oss_buffer_append_hex(oss_buffer *buffer, const unsigned char *bytes, size_t length);

#endif
