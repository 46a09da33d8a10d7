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

/* Why a callback stopped the transfer, when it did: libcurl then reports only CURLE_WRITE_ERROR. */
typedef enum {
    OSS_HTTP_NOT_REFUSED,
    OSS_HTTP_BODY_TOO_LARGE,
    OSS_HTTP_HEADERS_TOO_LARGE,
    OSS_HTTP_OUT_OF_MEMORY
} oss_http_refusal;

typedef struct {
    CURL *curl;
    int holds_global_init;
    /* The request's header list, "Name: value\0" lines in one buffer and their list nodes in one array: owned
     * here rather than by the request so that a raise while it is being built cannot leak it, and kept between
     * requests so that building it allocates nothing once it has grown. */
    oss_buffer header_lines;
    struct curl_slist *header_nodes;
    size_t header_capacity;
    size_t header_count;
    oss_buffer response_headers;
    oss_buffer body;
    char error[CURL_ERROR_SIZE];
    /* The transfer in flight, as the callbacks see it: they only touch C memory, never Lua. */
    oss_xml_reader *sink;
    oss_body_destination destination;
    size_t max_body;
    size_t body_received;
    int head_complete; /* the blank line ending the last header block has arrived */
    oss_http_refusal refusal;
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

/* Links the lines appended so far into the list handed to libcurl; 0 when out of memory. */
int oss_http_finish_headers(oss_http *http);

/* Resets the handle, sets every option of the transfer from the request and runs it. Calls no Lua function. */
CURLcode oss_http_perform(oss_http *http, const oss_http_request *request);

/* Forgets the sink and the request's memory, whatever the outcome. */
void oss_http_end(oss_http *http);

/* Frees everything the handle holds but the libcurl handle itself. */
void oss_http_free(oss_http *http);

#endif
