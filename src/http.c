/* libcurl transport: `core.http()` sends requests exactly as given, reusing one easy handle and its connections. */
#include "http.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <lauxlib.h>

#include "buffer.h"
#include "compat.h"
#include "xml_read.h"

#define DEFAULT_CONNECT_TIMEOUT 10.0
#define DEFAULT_TIMEOUT 60.0
#define DEFAULT_MAX_RESPONSE_SIZE ((lua_Integer)16 * 1024 * 1024)
/* libcurl takes timeouts as milliseconds in a long, which may be 32 bits wide. */
#define MAX_TIMEOUT_SECONDS 2000000.0
/* libcurl bounds each header line but not their sum; this bounds what one response can make us hold. */
#define MAX_RESPONSE_HEADER_BYTES ((size_t)256 * 1024)

typedef enum { BODY_UNDECIDED, BODY_BUFFERED, BODY_TO_SINK } body_destination;

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
    body_destination destination;
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
} http_request;

/* ---- reading the request table (misuse raises here, before anything is allocated) ---- */

static int field_error(lua_State *L, const char *field, const char *expected)
{
    return luaL_error(L, "request.%s: expected %s, got %s", field, expected, luaL_typename(L, -1));
}

/* The value is left on the stack so that the string stays alive for the whole transfer. */
static const char *string_field(lua_State *L, const char *field, int required, size_t *length)
{
    lua_getfield(L, 2, field);
    if (length != NULL)
        *length = 0;
    if (lua_isnil(L, -1) && !required)
        return NULL;
    if (lua_type(L, -1) != LUA_TSTRING)
        field_error(L, field, "a string");
    return lua_tolstring(L, -1, length);
}

static double seconds_field(lua_State *L, const char *field, double fallback)
{
    double seconds = fallback;
    lua_getfield(L, 2, field);
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TNUMBER)
            field_error(L, field, "a number of seconds");
        seconds = (double)lua_tonumber(L, -1);
        /* libcurl reads 0 as "no limit", which is never what a caller giving a number means. */
        if (!(seconds > 0 && seconds <= MAX_TIMEOUT_SECONDS))
            luaL_error(L, "request.%s: expected seconds in (0, %f], got %f", field, (lua_Number)MAX_TIMEOUT_SECONDS,
                       (lua_Number)seconds);
    }
    lua_pop(L, 1);
    return seconds;
}

static int boolean_field(lua_State *L, const char *field, int fallback)
{
    int value = fallback;
    lua_getfield(L, 2, field);
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TBOOLEAN)
            field_error(L, field, "a boolean");
        value = lua_toboolean(L, -1);
    }
    lua_pop(L, 1);
    return value;
}

static size_t size_field(lua_State *L, const char *field, lua_Integer fallback)
{
    lua_Integer value = fallback;
    lua_getfield(L, 2, field);
    if (!lua_isnil(L, -1) && (!oss_tointeger(L, -1, &value) || value < 0))
        field_error(L, field, "a non-negative integer");
    lua_pop(L, 1);
    return (size_t)value;
}

static int is_method(const char *method, const char *name)
{
    return strcmp(method, name) == 0;
}

static void read_request(lua_State *L, http_request *request)
{
    request->method = string_field(L, "method", 1, NULL);
    if (!is_method(request->method, "GET") && !is_method(request->method, "PUT") &&
        !is_method(request->method, "POST") && !is_method(request->method, "DELETE") &&
        !is_method(request->method, "HEAD"))
        luaL_error(L, "request.method: expected GET, PUT, POST, DELETE or HEAD, got %s", request->method);
    request->url = string_field(L, "url", 1, NULL);
    request->body = string_field(L, "body", 0, &request->body_length);
    if (request->body != NULL && is_method(request->method, "HEAD"))
        luaL_error(L, "request.body: a HEAD request cannot carry a body");

    lua_getfield(L, 2, "headers");
    if (!lua_isnil(L, -1) && !lua_istable(L, -1))
        field_error(L, "headers", "a table");
    request->headers = lua_istable(L, -1) ? lua_gettop(L) : 0;

    request->connect_timeout = seconds_field(L, "connect_timeout", DEFAULT_CONNECT_TIMEOUT);
    request->timeout = seconds_field(L, "timeout", DEFAULT_TIMEOUT);
    request->ssl_verify = boolean_field(L, "ssl_verify", 1);
    request->ca_file = string_field(L, "ca_file", 0, NULL);
    request->proxy = string_field(L, "proxy", 0, NULL);
    request->no_proxy = string_field(L, "no_proxy", 0, NULL);
    request->max_response_size = size_field(L, "max_response_size", DEFAULT_MAX_RESPONSE_SIZE);

    lua_getfield(L, 2, "sink");
    request->sink = NULL;
    if (!lua_isnil(L, -1) && (request->sink = oss_test_xml_reader(L, -1)) == NULL)
        field_error(L, "sink", "an " OSS_XML_READER_TYPE);
}

/* ---- refusing what would let a caller's data rewrite the request on the wire ---- */

static int is_token_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int is_control_char(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

static int check_url(const char *url, char *message, size_t size)
{
    for (const unsigned char *c = (const unsigned char *)url; *c; c++) {
        if (is_control_char(*c) || *c == ' ') {
            snprintf(message, size, "the URL contains a space or a control character");
            return 0;
        }
    }
    return 1;
}

static int check_header(const char *name, size_t name_length, const char *value, size_t value_length, char *message,
                        size_t size)
{
    if (name_length == 0) {
        snprintf(message, size, "a header has an empty name");
        return 0;
    }
    for (size_t i = 0; i < name_length; i++) {
        if (!is_token_char((unsigned char)name[i])) {
            /* The name itself is not echoed: it may hold the very bytes being refused. */
            snprintf(message, size, "a header name contains a character not allowed in HTTP header names");
            return 0;
        }
    }
    for (size_t i = 0; i < value_length; i++) {
        unsigned char c = (unsigned char)value[i];
        if (is_control_char(c) && c != '\t') {
            snprintf(message, size, "header %.*s: the value contains CR, LF, NUL or another control character",
                     (int)(name_length > 64 ? 64 : name_length), name);
            return 0;
        }
    }
    return 1;
}

/* Keys and values must be strings: converting a number key in place would break lua_next. */
static int check_headers(lua_State *L, int headers, char *message, size_t size)
{
    if (headers == 0)
        return 1;
    lua_pushnil(L);
    while (lua_next(L, headers)) {
        if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "request.headers: expected string names and string values, got a %s = %s",
                       luaL_typename(L, -2), luaL_typename(L, -1));
        size_t name_length, value_length;
        const char *name = lua_tolstring(L, -2, &name_length);
        const char *value = lua_tolstring(L, -1, &value_length);
        if (!check_header(name, name_length, value, value_length, message, size)) {
            lua_pop(L, 2);
            return 0;
        }
        lua_pop(L, 1);
    }
    return 1;
}

/* ---- the header list handed to libcurl ---- */

static int same_name(const char *name, size_t length, const char *expected)
{
    if (strlen(expected) != length)
        return 0;
    for (size_t i = 0; i < length; i++) {
        char c = name[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != expected[i])
            return 0;
    }
    return 1;
}

/* `value` NULL removes a header libcurl would add; "Name;" is libcurl's spelling of an empty value. */
static int append_header(oss_http *http, const char *name, size_t name_length, const char *value, size_t value_length)
{
    oss_buffer *line = &http->header_line;
    oss_buffer_reset(line);
    oss_buffer_append(line, name, name_length);
    if (value == NULL) {
        oss_buffer_append_char(line, ':');
    } else if (value_length == 0) {
        oss_buffer_append_char(line, ';');
    } else {
        oss_buffer_append(line, ": ", 2);
        oss_buffer_append(line, value, value_length);
    }
    oss_buffer_append_char(line, '\0');
    if (line->failed)
        return 0;
    struct curl_slist *list = curl_slist_append(http->request_headers, line->data);
    if (list == NULL)
        return 0;
    http->request_headers = list;
    return 1;
}

static int build_header_list(lua_State *L, oss_http *http, int headers)
{
    /* Headers libcurl adds on its own unless told otherwise; lower-case, as same_name compares. */
    static const char *const suppressed[] = {"accept", "expect", "content-type"};
    int given[sizeof suppressed / sizeof suppressed[0]] = {0};
    if (headers != 0) {
        lua_pushnil(L);
        while (lua_next(L, headers)) {
            size_t name_length, value_length;
            const char *name = lua_tolstring(L, -2, &name_length);
            const char *value = lua_tolstring(L, -1, &value_length);
            for (size_t i = 0; i < sizeof suppressed / sizeof suppressed[0]; i++)
                given[i] |= same_name(name, name_length, suppressed[i]);
            lua_pop(L, 1);
            if (!append_header(http, name, name_length, value, value_length)) {
                lua_pop(L, 1);
                return 0;
            }
        }
    }
    static const char *const spelled[] = {"Accept", "Expect", "Content-Type"};
    for (size_t i = 0; i < sizeof suppressed / sizeof suppressed[0]; i++) {
        if (!given[i] && !append_header(http, spelled[i], strlen(spelled[i]), NULL, 0))
            return 0;
    }
    return 1;
}

/* ---- libcurl callbacks: append to C buffers or feed the sink; no Lua here ---- */

static size_t on_header(char *data, size_t size, size_t count, void *userdata)
{
    oss_http *http = userdata;
    size_t length = size * count;
    /* A new status line starts a new header block (after a 1xx or a proxy's CONNECT answer): keep the last. */
    if (length >= 5 && memcmp(data, "HTTP/", 5) == 0)
        oss_buffer_reset(&http->response_headers);
    if (length > MAX_RESPONSE_HEADER_BYTES - http->response_headers.length) {
        http->headers_too_large = 1;
        return 0;
    }
    oss_buffer_append(&http->response_headers, data, length);
    return http->response_headers.failed ? 0 : length;
}

static size_t on_body(char *data, size_t size, size_t count, void *userdata)
{
    oss_http *http = userdata;
    size_t length = size * count;
    if (http->destination == BODY_UNDECIDED) {
        long status = 0;
        curl_easy_getinfo(http->curl, CURLINFO_RESPONSE_CODE, &status);
        /* Only a success is the document the sink expects; an error body is read by the caller. */
        http->destination = http->sink != NULL && status >= 200 && status <= 299 ? BODY_TO_SINK : BODY_BUFFERED;
    }
    if (length > http->max_body - http->body_received) {
        http->body_too_large = 1;
        return 0;
    }
    http->body_received += length;
    if (http->destination == BODY_TO_SINK) {
        /* The reader keeps its own error for finish(); once it has refused, the rest is only drained. */
        if (!http->sink_refused && !oss_xml_reader_feed(http->sink, data, length))
            http->sink_refused = 1;
        return length;
    }
    oss_buffer_append(&http->body, data, length);
    return http->body.failed ? 0 : length;
}

/* ---- one transfer ---- */

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

static CURLcode configure_method(CURL *curl, const http_request *request)
{
    if (is_method(request->method, "HEAD")) {
        SET_OPTION(CURLOPT_NOBODY, 1L);
    } else if (request->body != NULL || is_method(request->method, "PUT") || is_method(request->method, "POST")) {
        /* PUT and POST always carry a body, so an absent one is sent as Content-Length: 0. */
        SET_OPTION(CURLOPT_CUSTOMREQUEST, request->method);
        SET_OPTION(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)request->body_length);
        SET_OPTION(CURLOPT_POSTFIELDS, request->body != NULL ? request->body : "");
    } else if (is_method(request->method, "DELETE")) {
        SET_OPTION(CURLOPT_CUSTOMREQUEST, "DELETE");
    } else {
        SET_OPTION(CURLOPT_HTTPGET, 1L);
    }
    return CURLE_OK;
}

/* Every option is set again for each request: curl_easy_reset cleared them but kept the connection cache. */
static CURLcode configure(oss_http *http, const http_request *request)
{
    CURL *curl = http->curl;
    SET_OPTION(CURLOPT_URL, request->url);
#if LIBCURL_VERSION_NUM >= 0x075500
    SET_OPTION(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SET_OPTION(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SET_OPTION(CURLOPT_NOSIGNAL, 1L);
    SET_OPTION(CURLOPT_TCP_KEEPALIVE, 1L);
    SET_OPTION(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    /* The signature covers the path as given; libcurl must not squash "." and ".." segments. */
    SET_OPTION(CURLOPT_PATH_AS_IS, 1L);
    SET_OPTION(CURLOPT_CONNECTTIMEOUT_MS, milliseconds(request->connect_timeout));
    SET_OPTION(CURLOPT_TIMEOUT_MS, milliseconds(request->timeout));
    SET_OPTION(CURLOPT_SSL_VERIFYPEER, request->ssl_verify ? 1L : 0L);
    SET_OPTION(CURLOPT_SSL_VERIFYHOST, request->ssl_verify ? 2L : 0L);
    if (request->ca_file != NULL)
        SET_OPTION(CURLOPT_CAINFO, request->ca_file);
    /* Empty strings, not NULL: NULL would let libcurl consult http_proxy / no_proxy from the environment. */
    SET_OPTION(CURLOPT_PROXY, request->proxy != NULL ? request->proxy : "");
    SET_OPTION(CURLOPT_NOPROXY, request->no_proxy != NULL ? request->no_proxy : "");
    SET_OPTION(CURLOPT_HTTPHEADER, http->request_headers);
    SET_OPTION(CURLOPT_HEADERFUNCTION, on_header);
    SET_OPTION(CURLOPT_HEADERDATA, (void *)http);
    SET_OPTION(CURLOPT_WRITEFUNCTION, on_body);
    SET_OPTION(CURLOPT_WRITEDATA, (void *)http);
    SET_OPTION(CURLOPT_ERRORBUFFER, http->error);
    return configure_method(curl, request);
}

#undef SET_OPTION

static void begin_transfer(oss_http *http, const http_request *request)
{
    curl_easy_reset(http->curl);
    curl_slist_free_all(http->request_headers);
    http->request_headers = NULL;
    oss_buffer_reset(&http->response_headers);
    oss_buffer_reset(&http->body);
    http->error[0] = '\0';
    http->sink = request->sink;
    http->destination = BODY_UNDECIDED;
    http->max_body = request->max_response_size;
    http->body_received = 0;
    http->body_too_large = 0;
    http->headers_too_large = 0;
    http->sink_refused = 0;
}

static void end_transfer(oss_http *http)
{
    curl_easy_setopt(http->curl, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
    curl_slist_free_all(http->request_headers);
    http->request_headers = NULL;
    http->sink = NULL;
}

/* ---- turning the outcome into Lua values (libcurl has returned: Lua may raise again) ---- */

static void push_header(lua_State *L, const char *name, size_t name_length, const char *value, size_t value_length,
                        const char *separator)
{
    lua_pushlstring(L, name, name_length);
    lua_pushvalue(L, -1);
    lua_rawget(L, -3);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushlstring(L, value, value_length);
    } else {
        lua_pushstring(L, separator);
        lua_pushlstring(L, value, value_length);
        lua_concat(L, 3);
    }
    lua_rawset(L, -3);
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Names are lower-cased in place: the raw block is ours and rewritten by the next request. */
static void push_response_headers(lua_State *L, oss_buffer *raw)
{
    lua_newtable(L);
    char *cursor = raw->data;
    char *end = raw->data + raw->length;
    const char *name = NULL;
    size_t name_length = 0;
    while (cursor < end) {
        char *line = cursor;
        char *line_end = memchr(line, '\n', (size_t)(end - line));
        cursor = line_end != NULL ? line_end + 1 : end;
        if (line_end == NULL)
            line_end = end;
        while (line_end > line && (line_end[-1] == '\r' || is_blank(line_end[-1])))
            line_end--;
        if (line_end == line || (line_end - line >= 5 && memcmp(line, "HTTP/", 5) == 0))
            continue;
        char *value = line;
        if (is_blank(*line)) {
            /* An obsolete folded line continues the previous header's value. */
            if (name == NULL)
                continue;
            while (value < line_end && is_blank(*value))
                value++;
            push_header(L, name, name_length, value, (size_t)(line_end - value), " ");
            continue;
        }
        char *colon = memchr(line, ':', (size_t)(line_end - line));
        if (colon == NULL || colon == line)
            continue;
        for (char *c = line; c < colon; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
        name = line;
        name_length = (size_t)(colon - line);
        value = colon + 1;
        while (value < line_end && is_blank(*value))
            value++;
        push_header(L, name, name_length, value, (size_t)(line_end - value), ", ");
    }
}

static const char *version_name(long version)
{
    switch (version) {
    case CURL_HTTP_VERSION_1_0:
        return "1.0";
    case CURL_HTTP_VERSION_1_1:
        return "1.1";
    case CURL_HTTP_VERSION_2_0:
        return "2";
    case CURL_HTTP_VERSION_3:
        return "3";
    default:
        return "";
    }
}

static void push_response(lua_State *L, oss_http *http)
{
    long status = 0;
    long version = 0;
    curl_easy_getinfo(http->curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(http->curl, CURLINFO_HTTP_VERSION, &version);
    lua_createtable(L, 0, 4);
    lua_pushinteger(L, (lua_Integer)status);
    lua_setfield(L, -2, "status");
    push_response_headers(L, &http->response_headers);
    lua_setfield(L, -2, "headers");
    if (http->destination == BODY_TO_SINK || http->body.length == 0)
        lua_pushliteral(L, "");
    else
        lua_pushlstring(L, http->body.data, http->body.length);
    lua_setfield(L, -2, "body");
    lua_pushstring(L, version_name(version));
    lua_setfield(L, -2, "http_version");
}

static int push_failure(lua_State *L, const char *message, const char *code)
{
    lua_pushnil(L);
    lua_pushstring(L, message);
    lua_pushstring(L, code);
    return 3;
}

static const char *failure_code(CURLcode result)
{
    switch (result) {
    case CURLE_COULDNT_CONNECT:
        return "connect";
    case CURLE_OPERATION_TIMEDOUT:
        return "timeout";
    case CURLE_COULDNT_RESOLVE_HOST:
        return "resolve";
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_PROXY:
        return "proxy";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED:
        return "tls";
    case CURLE_SEND_ERROR:
        return "send";
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return "receive";
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
        return "protocol";
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return "invalid";
    default:
        return "other";
    }
}

/* "host:port" of the URL, for messages; the URL itself may carry a query not worth repeating. */
static void describe_server(const char *url, char *out, size_t size)
{
    CURLU *parsed = curl_url();
    char *host = NULL;
    char *port = NULL;
    if (parsed != NULL && curl_url_set(parsed, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(parsed, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(parsed, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK)
        snprintf(out, size, "%s:%s", host, port);
    else
        snprintf(out, size, "the server");
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(parsed);
}

/* libcurl's own words, or the operating system's when a socket call failed (e.g. "Connection refused"). */
static const char *failure_detail(oss_http *http, CURLcode result, char *scratch, size_t size)
{
    long os_error = 0;
    if (result == CURLE_COULDNT_CONNECT && curl_easy_getinfo(http->curl, CURLINFO_OS_ERRNO, &os_error) == CURLE_OK &&
        os_error != 0 && strerror_r((int)os_error, scratch, size) == 0)
        return scratch;
    size_t length = strlen(http->error);
    while (length > 0 && (http->error[length - 1] == ' ' || http->error[length - 1] == '\n'))
        http->error[--length] = '\0';
    return length > 0 ? http->error : curl_easy_strerror(result);
}

static int push_transfer_failure(lua_State *L, oss_http *http, const http_request *request, CURLcode result)
{
    char message[CURL_ERROR_SIZE + 512];
    char server[300];
    char scratch[128];
    const char *code = failure_code(result);
    describe_server(request->url, server, sizeof server);
    const char *detail = failure_detail(http, result, scratch, sizeof scratch);
    if ((result == CURLE_WRITE_ERROR || result == CURLE_FILESIZE_EXCEEDED) && http->body_too_large) {
        code = "too_large";
        snprintf(message, sizeof message, "response body exceeds %zu bytes", request->max_response_size);
    } else if (result == CURLE_WRITE_ERROR && http->headers_too_large) {
        code = "too_large";
        snprintf(message, sizeof message, "response headers exceed %zu bytes", MAX_RESPONSE_HEADER_BYTES);
    } else if (result == CURLE_WRITE_ERROR && (http->body.failed || http->response_headers.failed)) {
        snprintf(message, sizeof message, "out of memory while receiving the response from %s", server);
    } else if (result == CURLE_OPERATION_TIMEDOUT) {
        curl_off_t connected_after = 0;
        curl_easy_getinfo(http->curl, CURLINFO_CONNECT_TIME_T, &connected_after);
        /* While connecting, libcurl applies the smaller of the two limits. */
        if (connected_after == 0 && request->connect_timeout <= request->timeout)
            snprintf(message, sizeof message, "connect to %s timed out after %g seconds (connect_timeout)", server,
                     request->connect_timeout);
        else
            snprintf(message, sizeof message, "request to %s timed out after %g seconds (timeout)", server,
                     request->timeout);
    } else if (strcmp(code, "connect") == 0 && request->proxy != NULL && request->proxy[0] != '\0') {
        /* Without a no_proxy list every connection goes to the proxy; with one, either may have failed. */
        if (request->no_proxy == NULL || request->no_proxy[0] == '\0') {
            code = "proxy";
            snprintf(message, sizeof message, "connect to the proxy for %s failed: %s", server, detail);
        } else {
            snprintf(message, sizeof message, "connect to %s or its proxy failed: %s", server, detail);
        }
    } else if (strcmp(code, "connect") == 0) {
        snprintf(message, sizeof message, "connect to %s failed: %s", server, detail);
    } else if (strcmp(code, "resolve") == 0) {
        snprintf(message, sizeof message, "resolve %s failed: %s", server, detail);
    } else if (strcmp(code, "proxy") == 0) {
        /* The proxy URL is not repeated: it may carry a password. */
        snprintf(message, sizeof message, "proxy failed for %s: %s", server, detail);
    } else if (strcmp(code, "tls") == 0) {
        snprintf(message, sizeof message, "TLS with %s failed: %s", server, detail);
    } else if (strcmp(code, "send") == 0) {
        snprintf(message, sizeof message, "send to %s failed: %s", server, detail);
    } else if (strcmp(code, "receive") == 0) {
        snprintf(message, sizeof message, "receive from %s failed: %s", server, detail);
    } else if (strcmp(code, "invalid") == 0) {
        snprintf(message, sizeof message, "invalid URL: %s", detail);
    } else {
        snprintf(message, sizeof message, "request to %s failed: %s", server, detail);
    }
    return push_failure(L, message, code);
}

/* ---- the userdata ---- */

static oss_http *check_http(lua_State *L)
{
    return luaL_checkudata(L, 1, OSS_HTTP_TYPE);
}

static oss_http *check_open_http(lua_State *L)
{
    oss_http *http = check_http(L);
    if (http->curl == NULL)
        luaL_error(L, "attempt to use a closed " OSS_HTTP_TYPE);
    return http;
}

/* http:request(request) -> response | nil, message, code */
static int http_request_method(lua_State *L)
{
    oss_http *http = check_open_http(L);
    luaL_checktype(L, 2, LUA_TTABLE);
    luaL_checkstack(L, 24, NULL);
    http_request request;
    read_request(L, &request);
    char message[256];
    if (!check_url(request.url, message, sizeof message) || !check_headers(L, request.headers, message, sizeof message))
        return push_failure(L, message, "invalid");

    begin_transfer(http, &request);
    CURLcode result = CURLE_OUT_OF_MEMORY;
    if (build_header_list(L, http, request.headers))
        result = configure(http, &request);
    if (result == CURLE_OK)
        result = curl_easy_perform(http->curl);
    end_transfer(http);
    if (result != CURLE_OK)
        return push_transfer_failure(L, http, &request, result);
    push_response(L, http);
    return 1;
}

/* close and __gc: safe to call any number of times. */
static int http_close(lua_State *L)
{
    oss_http *http = check_http(L);
    if (http->curl != NULL) {
        curl_easy_cleanup(http->curl);
        http->curl = NULL;
    }
    curl_slist_free_all(http->request_headers);
    http->request_headers = NULL;
    oss_buffer_free(&http->header_line);
    oss_buffer_free(&http->response_headers);
    oss_buffer_free(&http->body);
    if (http->holds_global_init) {
        curl_global_cleanup();
        http->holds_global_init = 0;
    }
    return 0;
}

static int http_tostring(lua_State *L)
{
    oss_http *http = check_http(L);
    lua_pushfstring(L, OSS_HTTP_TYPE ": %p%s", (void *)http, http->curl == NULL ? " (closed)" : "");
    return 1;
}

/* http() -> handle | nil, message */
static int http_new(lua_State *L)
{
    oss_http *http = oss_newuserdata(L, sizeof *http);
    memset(http, 0, sizeof *http);
    oss_buffer_init(&http->header_line);
    oss_buffer_init(&http->response_headers);
    oss_buffer_init(&http->body);
    oss_setmetatable(L, OSS_HTTP_TYPE);
    /* Since libcurl 7.84 (Debian 12 ships 7.88) curl_global_init is thread-safe and counts its callers, so each
     * handle takes and releases its own reference and no process-wide flag of ours is needed. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        lua_pushnil(L);
        lua_pushliteral(L, "libcurl could not be initialised");
        return 2;
    }
    http->holds_global_init = 1;
    http->curl = curl_easy_init();
    if (http->curl == NULL) {
        lua_pushnil(L);
        lua_pushliteral(L, "libcurl could not create a handle");
        return 2;
    }
    return 1;
}

void oss_open_http(lua_State *L)
{
    static const luaL_Reg metamethods[] = {
        {"__gc", http_close},
        {"__close", http_close},
        {"__tostring", http_tostring},
        {NULL, NULL},
    };
    static const luaL_Reg methods[] = {
        {"request", http_request_method},
        {"close", http_close},
        {NULL, NULL},
    };
    if (luaL_newmetatable(L, OSS_HTTP_TYPE)) {
        oss_setfuncs(L, metamethods);
        lua_newtable(L);
        oss_setfuncs(L, methods);
        lua_setfield(L, -2, "__index");
        lua_pushliteral(L, "locked");
        lua_setfield(L, -2, "__metatable");
    }
    lua_pop(L, 1);
    lua_pushcfunction(L, http_new);
    lua_setfield(L, -2, "http");
}
