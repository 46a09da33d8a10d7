/* One libcurl transfer: the handle's state, the request as read from Lua, and the callbacks that fill the state. */
#include "http_transfer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int oss_http_method_is(const oss_http_request *request, const char *name)
{
    return strcmp(request->method, name) == 0;
}

/* ---- the header list handed to libcurl ---- */

/* `value` NULL removes a header libcurl would add; "Name;" is libcurl's spelling of an empty value. */
int oss_http_append_header(oss_http *http, const char *name, size_t name_length, const char *value,
                           size_t value_length)
{
    oss_buffer *lines = &http->header_lines;
    oss_buffer_append(lines, name, name_length);
    if (value == NULL) {
        oss_buffer_append_char(lines, ':');
    } else if (value_length == 0) {
        oss_buffer_append_char(lines, ';');
    } else {
        oss_buffer_append(lines, ": ", 2);
        oss_buffer_append(lines, value, value_length);
    }
    oss_buffer_append_char(lines, '\0');
    if (lines->failed)
        return 0;
    http->header_count++;
    return 1;
}

/* The nodes point into the lines buffer, which no longer moves: libcurl only reads a list it is given. */
int oss_http_finish_headers(oss_http *http)
{
    size_t count = http->header_count;
    if (count > http->header_capacity) {
        struct curl_slist *nodes = realloc(http->header_nodes, count * sizeof *nodes);
        if (nodes == NULL)
            return 0;
        http->header_nodes = nodes;
        http->header_capacity = count;
    }
    char *line = http->header_lines.data;
    const char *end = line + http->header_lines.length;
    for (size_t i = 0; i < count; i++) {
        char *terminator = memchr(line, '\0', (size_t)(end - line));
        http->header_nodes[i].data = line;
        http->header_nodes[i].next = i + 1 < count ? &http->header_nodes[i + 1] : NULL;
        line = terminator + 1;
    }
    return 1;
}

/* ---- libcurl callbacks: append to C buffers or feed the sink; no Lua here ---- */

static size_t refuse(oss_http *http, oss_http_refusal refusal)
{
    http->refusal = refusal;
    return 0;
}

static size_t on_header(char *data, size_t size, size_t count, void *userdata)
{
    oss_http *http = userdata;
    size_t length = size * count;
    /* A new status line starts a new header block (after a 1xx or a proxy's CONNECT answer): keep the last. */
    if (length >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        oss_buffer_reset(&http->response_headers);
        http->head_complete = 0;
    } else if ((length == 2 && data[0] == '\r') || (length == 1 && data[0] == '\n')) {
        http->head_complete = 1;
    }
    if (length > OSS_HTTP_MAX_HEADER_BYTES - http->response_headers.length)
        return refuse(http, OSS_HTTP_HEADERS_TOO_LARGE);
    oss_buffer_append(&http->response_headers, data, length);
    return http->response_headers.failed ? refuse(http, OSS_HTTP_OUT_OF_MEMORY) : length;
}

static size_t on_body(char *data, size_t size, size_t count, void *userdata)
{
    oss_http *http = userdata;
    size_t length = size * count;
    if (http->destination == OSS_BODY_UNDECIDED) {
        long status = 0;
        curl_easy_getinfo(http->curl, CURLINFO_RESPONSE_CODE, &status);
        /* Only a success is the document the sink expects; an error body is read by the caller. */
        http->destination = http->sink != NULL && status >= 200 && status <= 299 ? OSS_BODY_TO_SINK : OSS_BODY_BUFFERED;
    }
    /* A Content-Length past the bound was refused with the head; this bounds a chunked body, and a bound of 0. */
    if (length > http->max_body - http->body_received)
        return refuse(http, OSS_HTTP_BODY_TOO_LARGE);
    http->body_received += length;
    if (http->destination == OSS_BODY_TO_SINK) {
        /* The reader keeps its own error for finish(); once it has refused, the rest is only drained. */
        if (!http->sink_refused && !oss_xml_reader_feed(http->sink, data, length))
            http->sink_refused = 1;
        return length;
    }
    oss_buffer_append(&http->body, data, length);
    return http->body.failed ? refuse(http, OSS_HTTP_OUT_OF_MEMORY) : length;
}

/* ---- the options of a transfer ---- */

static long milliseconds(double seconds)
{
    return (long)ceil(seconds * 1000.0);
}

#define SET_OPTION(option, value)                                                                                  \
    do {                                                                                                           \
        CURLcode set_result = curl_easy_setopt(curl, option, value);                                               \
        if (set_result != CURLE_OK)                                                                                \
            return set_result;                                                                                     \
    } while (0)

/* GET needs nothing: it is what a reset handle sends. */
static CURLcode set_method(CURL *curl, const oss_http_request *request)
{
    if (oss_http_method_is(request, "HEAD")) {
        SET_OPTION(CURLOPT_NOBODY, 1L);
    } else if (request->body != NULL || oss_http_method_is(request, "PUT") || oss_http_method_is(request, "POST")) {
        /* PUT and POST always carry a body, so an absent one is sent as Content-Length: 0. */
        SET_OPTION(CURLOPT_CUSTOMREQUEST, request->method);
        SET_OPTION(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)request->body_length);
        SET_OPTION(CURLOPT_POSTFIELDS, request->body != NULL ? request->body : "");
    } else if (oss_http_method_is(request, "DELETE")) {
        SET_OPTION(CURLOPT_CUSTOMREQUEST, "DELETE");
    }
    return CURLE_OK;
}

/* Every option a transfer uses, set on a handle curl_easy_reset has just returned to libcurl's defaults: no
 * option lingers from the request before, and a new one is one line here. The reset keeps the connection cache,
 * so the connection stays alive from one request to the next. */
static CURLcode set_options(oss_http *http, const oss_http_request *request)
{
    CURL *curl = http->curl;
    curl_easy_reset(curl);
#if LIBCURL_VERSION_NUM >= 0x075500
    SET_OPTION(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SET_OPTION(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SET_OPTION(CURLOPT_URL, request->url);
    SET_OPTION(CURLOPT_NOSIGNAL, 1L);
    SET_OPTION(CURLOPT_TCP_KEEPALIVE, 1L);
    SET_OPTION(CURLOPT_CONNECTTIMEOUT_MS, milliseconds(request->connect_timeout));
    SET_OPTION(CURLOPT_TIMEOUT_MS, milliseconds(request->timeout));
    SET_OPTION(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    /* An answer without a status line is a broken server or not HTTP at all, never a real HTTP/0.9 one. */
    SET_OPTION(CURLOPT_HTTP09_ALLOWED, 0L);
    /* The signature covers the path as given; libcurl must not squash "." and ".." segments. */
    SET_OPTION(CURLOPT_PATH_AS_IS, 1L);
    SET_OPTION(CURLOPT_SSL_VERIFYPEER, request->ssl_verify ? 1L : 0L);
    SET_OPTION(CURLOPT_SSL_VERIFYHOST, request->ssl_verify ? 2L : 0L);
    if (request->ca_file != NULL)
        SET_OPTION(CURLOPT_CAINFO, request->ca_file);
    /* Empty strings, not NULL: NULL would let libcurl consult http_proxy / no_proxy from the environment. */
    SET_OPTION(CURLOPT_PROXY, request->proxy != NULL ? request->proxy : "");
    SET_OPTION(CURLOPT_NOPROXY, request->no_proxy != NULL ? request->no_proxy : "");
    SET_OPTION(CURLOPT_HTTPHEADER, http->header_count > 0 ? http->header_nodes : NULL);
    /* A Content-Length past the bound is refused as soon as it is read, not after that many bytes arrived. (0,
     * libcurl's "no limit", leaves a zero bound to on_body; a HEAD answer's length is of a body never sent.) */
    if (!oss_http_method_is(request, "HEAD"))
        SET_OPTION(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)request->max_response_size);
    SET_OPTION(CURLOPT_HEADERFUNCTION, on_header);
    SET_OPTION(CURLOPT_HEADERDATA, (void *)http);
    SET_OPTION(CURLOPT_WRITEFUNCTION, on_body);
    SET_OPTION(CURLOPT_WRITEDATA, (void *)http);
    SET_OPTION(CURLOPT_ERRORBUFFER, http->error);
    return set_method(curl, request);
}

#undef SET_OPTION

CURLcode oss_http_perform(oss_http *http, const oss_http_request *request)
{
    CURLcode result = set_options(http, request);
    return result == CURLE_OK ? curl_easy_perform(http->curl) : result;
}

void oss_http_begin(oss_http *http, const oss_http_request *request)
{
    oss_buffer_reset(&http->header_lines);
    http->header_count = 0;
    oss_buffer_reset(&http->response_headers);
    oss_buffer_reset(&http->body);
    http->error[0] = '\0';
    http->sink = request->sink;
    http->destination = OSS_BODY_UNDECIDED;
    http->max_body = request->max_response_size;
    http->body_received = 0;
    http->head_complete = 0;
    http->refusal = OSS_HTTP_NOT_REFUSED;
    http->sink_refused = 0;
}

/* The handle keeps pointers to the header list and the body until the next reset; it never reads them then. */
void oss_http_end(oss_http *http)
{
    http->header_count = 0;
    http->sink = NULL;
}

void oss_http_free(oss_http *http)
{
    oss_buffer_free(&http->header_lines);
    free(http->header_nodes);
    http->header_nodes = NULL;
    http->header_capacity = 0;
    http->header_count = 0;
    oss_buffer_free(&http->response_headers);
    oss_buffer_free(&http->body);
}
