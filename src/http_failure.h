/* Why a libcurl transfer failed, as a message naming the server and a short code the Lua side maps to errors. */
#ifndef OSS_HTTP_FAILURE_H
#define OSS_HTTP_FAILURE_H

#include <stddef.h>

#include <curl/curl.h>

#include "http_transfer.h"

/* Room for any message oss_http_failure writes. */
#define OSS_HTTP_FAILURE_SIZE (CURL_ERROR_SIZE + 512)

/* Writes the message for a transfer that ended with `result` into message[size] and returns its code: connect,
 * timeout, resolve, proxy, tls, send, receive, protocol, invalid, too_large or other. */
const char *oss_http_failure(oss_http *http, const oss_http_request *request, CURLcode result, char *message,
                             size_t size);

#endif
