/* libcurl transport, Lua side: the `core.http()` handle reads and checks a request table and returns the response. */
#include "http.h"

#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <lauxlib.h>

#include "buffer.h"
#include "compat.h"
#include "http_failure.h"
#include "http_transfer.h"
#include "reentry.h"
#include "xml_read.h"

#define DEFAULT_CONNECT_TIMEOUT 10.0
#define DEFAULT_TIMEOUT 60.0
#define DEFAULT_MAX_RESPONSE_SIZE ((lua_Integer)16 * 1024 * 1024)
/* libcurl takes timeouts as milliseconds in a long, which may be 32 bits wide. */
#define MAX_TIMEOUT_SECONDS 2000000.0

/* ---- reading the request table (misuse raises here, before anything is allocated) ---- */

static int field_error(lua_State *L, const char *field, const char *expected)
{
    return luaL_error(L, "request.%s: expected %s, got %s", field, expected, luaL_typename(L, -1));
}

/* Fields are read from the request (stack index 2); a transport's options may come as a separate table (3),
 * so that its requests need not copy them: then the transport's fields are read from there, and a timeout from
 * the request if it gives one, else from there. */
#define REQUEST_INDEX 2

static const char *string_field(lua_State *L, int table, const char *field, int required, size_t *length)
{
    lua_getfield(L, table, field);
    if (length != NULL)
        *length = 0;
    if (lua_isnil(L, -1) && !required)
        return NULL;
    if (lua_type(L, -1) != LUA_TSTRING)
        field_error(L, field, "a string");
    return lua_tolstring(L, -1, length);
}

/* A timeout: the request's own, else the options' (when separate), else `fallback`. */
static double seconds_field(lua_State *L, int options, const char *field, double fallback)
{
    double seconds = fallback;
    lua_getfield(L, REQUEST_INDEX, field);
    if (lua_isnil(L, -1) && options != REQUEST_INDEX) {
        lua_pop(L, 1);
        lua_getfield(L, options, field);
    }
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

static int boolean_field(lua_State *L, int table, const char *field, int fallback)
{
    int value = fallback;
    lua_getfield(L, table, field);
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TBOOLEAN)
            field_error(L, field, "a boolean");
        value = lua_toboolean(L, -1);
    }
    lua_pop(L, 1);
    return value;
}

static size_t size_field(lua_State *L, int table, const char *field, lua_Integer fallback)
{
    lua_Integer value = fallback;
    lua_getfield(L, table, field);
    if (!lua_isnil(L, -1) && (!oss_tointeger(L, -1, &value) || value < 0))
        field_error(L, field, "a non-negative integer");
    lua_pop(L, 1);
    return (size_t)value;
}

static void read_request(lua_State *L, oss_http_request *request)
{
    int options = lua_type(L, 3) == LUA_TTABLE ? 3 : REQUEST_INDEX;
    request->method = string_field(L, REQUEST_INDEX, "method", 1, NULL);
    if (!oss_http_method_is(request, "GET") && !oss_http_method_is(request, "PUT") &&
        !oss_http_method_is(request, "POST") && !oss_http_method_is(request, "DELETE") &&
        !oss_http_method_is(request, "HEAD"))
        luaL_error(L, "request.method: expected GET, PUT, POST, DELETE or HEAD, got %s", request->method);
    request->url = string_field(L, REQUEST_INDEX, "url", 1, NULL);
    request->body = string_field(L, REQUEST_INDEX, "body", 0, &request->body_length);
    if (request->body != NULL && oss_http_method_is(request, "HEAD"))
        luaL_error(L, "request.body: a HEAD request cannot carry a body");

    lua_getfield(L, REQUEST_INDEX, "headers");
    if (!lua_isnil(L, -1) && !lua_istable(L, -1))
        field_error(L, "headers", "a table");
    request->headers = lua_istable(L, -1) ? lua_gettop(L) : 0;

    request->connect_timeout = seconds_field(L, options, "connect_timeout", DEFAULT_CONNECT_TIMEOUT);
    request->timeout = seconds_field(L, options, "timeout", DEFAULT_TIMEOUT);
    request->ssl_verify = boolean_field(L, options, "ssl_verify", 1);
    request->ca_file = string_field(L, options, "ca_file", 0, NULL);
    request->proxy = string_field(L, options, "proxy", 0, NULL);
    request->no_proxy = string_field(L, options, "no_proxy", 0, NULL);
    request->max_response_size = size_field(L, options, "max_response_size", DEFAULT_MAX_RESPONSE_SIZE);

    lua_getfield(L, REQUEST_INDEX, "sink");
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

/* ---- the header list handed to libcurl ---- */

/* Whether `name` is `expected` (lower-case, `expected_length` bytes) whatever the case of its letters. */
static int same_name(const char *name, size_t length, const char *expected, size_t expected_length)
{
    if (length != expected_length)
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

/* Headers libcurl adds on its own unless told otherwise: lower-case to compare, and spelled as they are sent. */
static const struct {
    const char *name;
    size_t length;
    const char *spelled;
} suppressed[] = {{"accept", 6, "Accept"}, {"expect", 6, "Expect"}, {"content-type", 12, "Content-Type"}};
#define SUPPRESSED_COUNT (sizeof suppressed / sizeof suppressed[0])

typedef enum { HEADERS_BUILT, HEADERS_REFUSED, HEADERS_OUT_OF_MEMORY } headers_outcome;

/* One pass over the request's headers: each is checked, then appended to the handle's reused list, so nothing
 * reaches libcurl unless every header passed. Keys and values must be strings: converting a number key in place
 * would break lua_next. */
static headers_outcome build_header_list(lua_State *L, oss_http *http, int headers, char *message, size_t size)
{
    int given[SUPPRESSED_COUNT] = {0};
    if (headers != 0) {
        lua_pushnil(L);
        while (lua_next(L, headers)) {
            if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING) {
                oss_http_end(http); /* the transfer never starts: let go of the sink before raising */
                luaL_error(L, "request.headers: expected string names and string values, got a %s = %s",
                           luaL_typename(L, -2), luaL_typename(L, -1));
            }
            size_t name_length, value_length;
            const char *name = lua_tolstring(L, -2, &name_length);
            const char *value = lua_tolstring(L, -1, &value_length);
            lua_pop(L, 1);
            if (!check_header(name, name_length, value, value_length, message, size)) {
                lua_pop(L, 1);
                return HEADERS_REFUSED;
            }
            for (size_t i = 0; i < SUPPRESSED_COUNT; i++)
                given[i] |= same_name(name, name_length, suppressed[i].name, suppressed[i].length);
            /* The value is off the stack but still held by the table, so its bytes stay where they are. */
            if (!oss_http_append_header(http, name, name_length, value, value_length)) {
                lua_pop(L, 1);
                return HEADERS_OUT_OF_MEMORY;
            }
        }
    }
    for (size_t i = 0; i < SUPPRESSED_COUNT; i++) {
        if (!given[i] && !oss_http_append_header(http, suppressed[i].spelled, suppressed[i].length, NULL, 0))
            return HEADERS_OUT_OF_MEMORY;
    }
    return oss_http_finish_headers(http) ? HEADERS_BUILT : HEADERS_OUT_OF_MEMORY;
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

/* The names already in the headers table, so that a name seen for the first time (nearly every one) is set
 * without first being looked up there; past SEEN_NAMES_MAX names, each is looked up as a repeat might be. */
#define SEEN_NAMES_MAX 32

typedef struct {
    const char *name[SEEN_NAMES_MAX];
    size_t length[SEEN_NAMES_MAX];
    int count;
} seen_names;

/* 1 when `name` is certainly new to the table (and is now remembered), 0 when it may already be there. */
static int is_new_name(seen_names *seen, const char *name, size_t length)
{
    if (seen->count == SEEN_NAMES_MAX)
        return 0;
    for (int i = 0; i < seen->count; i++)
        if (seen->length[i] == length && memcmp(seen->name[i], name, length) == 0)
            return 0;
    seen->name[seen->count] = name;
    seen->length[seen->count] = length;
    seen->count++;
    return 1;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Names are lower-cased in place: the raw block is ours and rewritten by the next request. */
static void push_response_headers(lua_State *L, oss_buffer *raw)
{
    char *cursor = raw->data;
    char *end = raw->data + raw->length;
    /* Sized for one field per line up front: growing the table field by field rehashes it at every doubling. */
    int lines = 0;
    for (char *newline = cursor; newline < end && (newline = memchr(newline, '\n', (size_t)(end - newline))) != NULL;
         newline++)
        lines++;
    lua_createtable(L, 0, lines);
    const char *name = NULL;
    size_t name_length = 0;
    seen_names seen;
    seen.count = 0;
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
        if (is_new_name(&seen, name, name_length)) {
            lua_pushlstring(L, name, name_length);
            lua_pushlstring(L, value, (size_t)(line_end - value));
            lua_rawset(L, -3);
        } else {
            push_header(L, name, name_length, value, (size_t)(line_end - value), ", ");
        }
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
    if (http->destination == OSS_BODY_TO_SINK || http->body.length == 0)
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


/* ---- the userdata ---- */

/* The userdata: the transfer state, and a mark set while http:request runs. Reading the request runs Lua
 * (metamethods, and finalizers whenever Lua allocates), which could close the handle or start another request on
 * it while this one holds pointers into it. */
typedef struct {
    oss_http http; /* first, so the userdata is also an oss_http */
    int busy;
} http_handle;

static http_handle *check_handle(lua_State *L)
{
    return luaL_checkudata(L, 1, OSS_HTTP_TYPE);
}

static oss_http *check_http(lua_State *L)
{
    return &check_handle(L)->http;
}

/* Runs with the handle marked busy, under lua_pcall from http_request_method. */
static int perform_request(lua_State *L)
{
    oss_http *http = check_http(L);
    luaL_checkstack(L, 24, NULL);
    oss_http_request request;
    read_request(L, &request);
    char message[256];
    if (!check_url(request.url, message, sizeof message))
        return push_failure(L, message, "invalid");

    oss_http_begin(http, &request);
    headers_outcome built = build_header_list(L, http, request.headers, message, sizeof message);
    CURLcode result = CURLE_OUT_OF_MEMORY;
    if (built == HEADERS_BUILT)
        result = oss_http_perform(http, &request);
    oss_http_end(http);
    if (built == HEADERS_REFUSED)
        return push_failure(L, message, "invalid");
    if (result != CURLE_OK) {
        char failure[OSS_HTTP_FAILURE_SIZE];
        const char *code = oss_http_failure(http, &request, result, failure, sizeof failure);
        return push_failure(L, failure, code);
    }
    push_response(L, http);
    return 1;
}

/* http:request(request [, options]) -> response | nil, message, code
 * options: the transport's own fields (timeouts, TLS, proxies, response size), read there instead of in request.
 * The work runs under lua_pcall with the handle marked busy, and the mark is cleared before returning or
 * re-raising: an error never leaves the handle locked, and a request or close from inside this one is refused. */
static int http_request_method(lua_State *L)
{
    http_handle *handle = check_handle(L);
    if (handle->http.curl == NULL)
        return luaL_error(L, "attempt to use a closed " OSS_HTTP_TYPE);
    if (handle->busy)
        return luaL_error(L, "%s: used while a request is being prepared", OSS_HTTP_TYPE);
    luaL_checktype(L, 2, LUA_TTABLE);
    if (!lua_isnoneornil(L, 3))
        luaL_checktype(L, 3, LUA_TTABLE);
    lua_settop(L, 3);
    return oss_call_refusing_reentry(L, perform_request, 3, &handle->busy);
}

/* close and __gc: safe to call any number of times. */
static int http_close(lua_State *L)
{
    http_handle *handle = check_handle(L);
    /* A request in progress points into the handle. (__gc cannot see a busy handle: the request's stack still
     * references it.) */
    if (handle->busy)
        return luaL_error(L, "%s: cannot close while a request is being prepared", OSS_HTTP_TYPE);
    oss_http *http = &handle->http;
    if (http->curl != NULL) {
        curl_easy_cleanup(http->curl);
        http->curl = NULL;
    }
    oss_http_free(http);
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
    http_handle *handle = oss_newuserdata(L, sizeof *handle);
    memset(handle, 0, sizeof *handle);
    oss_http *http = &handle->http;
    oss_buffer_init(&http->header_lines);
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
    oss_define_type(L, OSS_HTTP_TYPE, metamethods, methods);
    lua_pushcfunction(L, http_new);
    lua_setfield(L, -2, "http");
}
