/* RFC 3986 percent-encoding, as V4 signing, the service's URL parser and request URLs expect it. */
#ifndef OSS_URI_ENCODE_H
#define OSS_URI_ENCODE_H

#include <stddef.h>

#include "buffer.h"

/* Appends `text` with every byte but the unreserved ones (and '/' when `keep_slash`) as %XX, upper-case hex. */
void oss_uri_encode(oss_buffer *buffer, const char *text, size_t length, int keep_slash);

#endif
