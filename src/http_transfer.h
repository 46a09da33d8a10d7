/* One libcurl transfer: the handle's state, the request as read from Lua, and the callbacks that fill the state. */
#ifndef OSS_HTTP_TRANSFER_H
#define OSS_HTTP_TRANSFER_H

#include <stddef.h>

#include <curl/curl.h>

#include "buffer.h"
#include "xml_read.h"

/* libcurl bounds each header line but not their sum; this bounds what one response can make us hold. */
#define OSS_HTTP_MAX_HEADER_BYTES ((size_t)256 * 1024)

typedef enum { OSS_BODY_UNDECIDED, OSS_BODY_BUFFERED, OSS_BODY_TO_SINK } oss_body_destination;

typedef struct {
    CURL *curl;
    int holds_global_init;
    /* Owned here rather than by the request so that a raise while it is being built cannot leak it. */
    struct curl_slist *request_headers;
    oss_buffer header_line;
    oss_buffer response_headers;
    oss_buffer body;
    char error[CURL_ERROR_SIZE];
    /* The transfer in flight, as the callbacks see it: they only touch C memory, never Lua. */
    oss_xml_reader *sink;
    oss_body_destination destination;
    size_t max_body;
    size_t body_received;
    int body_too_large;
    int headers_too_large;
    int sink_refused;
} oss_http;

typedef struct {
    const char *method;
    const char *url;
    const char *body; /* anchored on the Lua stack until the transfer is over */
    size_t body_length;
    int headers; /* stack index of the headers table, 0 when there is none */
    double connect_timeout;
    double timeout;
    int ssl_verify;
    const char *ca_file;
    const char *proxy;
    const char *no_proxy;
    size_t max_response_size;
    oss_xml_reader *sink;
} oss_http_request;

/* Whether the request's method is `name`. */
int oss_http_method_is(const oss_http_request *request, const char *name);

/* Clears what the previous transfer left and takes the request's sink and response limit. */
void oss_http_begin(oss_http *http, const oss_http_request *request);

/* Adds "name: value" to the transfer's header list; `value` NULL removes a header libcurl would add. Returns 0
 * when out of memory. */
int oss_http_append_header(oss_http *http, const char *name, size_t name_length, const char *value,
                           size_t value_length);

/* Configures the handle for the request and runs the transfer. Calls no Lua function. */
CURLcode oss_http_perform(oss_http *http, const oss_http_request *request);

/* Frees the header list and forgets the sink, whatever the outcome. */
void oss_http_end(oss_http *http);

#endif
