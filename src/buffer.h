/* A growable byte buffer owned by whoever embeds it; the C core's only way of building output. */
#ifndef OSS_BUFFER_H
#define OSS_BUFFER_H

#include <stddef.h>

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
void oss_buffer_append(oss_buffer *buffer, const void *bytes, size_t length);
void oss_buffer_append_string(oss_buffer *buffer, const char *text);
void oss_buffer_append_char(oss_buffer *buffer, char c);
void oss_buffer_append_hex(oss_buffer *buffer, const unsigned char *bytes, size_t length);

#endif
