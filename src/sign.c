/* OSS request signing (V4 OSS4-HMAC-SHA256 and V1 HMAC-SHA1): the oss.signer type and what each version signs. */
#include "sign.h"

#include <string.h>

#include <lauxlib.h>

#include "buffer.h"
#include "compat.h"
#include "crypto.h"
#include "date.h"
#include "reentry.h"
#include "sign_canonical.h"
#include "sign_crypto.h"
#include "uri_encode.h"

#define OSS_SIGNER_TYPE "oss.signer"
#define V4_ALGORITHM "OSS4-HMAC-SHA256"
#define UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define ISO8601_LENGTH 16
#define HTTP_DATE_LENGTH 29

typedef struct {
    oss_canonical canonical; /* the current call's query and headers */
    oss_buffer out;          /* canonical request, string to sign and Authorization, back to back */
    oss_sign_crypto crypto;  /* contexts and the cached V4 key, set up on first use */
    /* Set by simulate_failure: every signing call then fails as if this had happened, so that what a caller does
     * with an internal failure can be tested. */
    oss_sign_status simulated_failure;
    int closed;
    /* Set for the whole of a signing call. Reading the request runs Lua (metamethods, and finalizers whenever Lua
     * allocates), which could sign or close with this signer while its scratch holds the outer call's pointers. */
    int busy;
} oss_signer;

static int scratch_failed(const oss_signer *signer)
{
    return oss_canonical_failed(&signer->canonical) || signer->out.failed;
}

static void reset_scratch(oss_signer *signer)
{
    oss_canonical_reset(&signer->canonical);
    oss_buffer_reset(&signer->out);
}

/* A failure that is no fault of the request: nil and a message, with no path (a refusal always has one). */
static int internal_failure(lua_State *L, const char *version, oss_sign_status status)
{
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", version, status == OSS_SIGN_OUT_OF_MEMORY ? "out of memory" : "OpenSSL failed");
    return 2;
}

/* ---- request fields ---- */

/* The request's fields, left on the Lua stack so every pointer here stays valid for the call. */
typedef struct {
    const char *version; /* "sign_v4" or "sign_v1", for messages */
    int v4;
    const char *method, *bucket, *key, *region, *access_key_id, *secret, *token, *body;
    size_t method_length, bucket_length, key_length, region_length, access_key_id_length, secret_length,
        token_length, body_length;
    int query, headers, additional; /* stack indices; additional is 0 for V1 */
    int token_index;                /* stack index of the security token, when there is one */
    int add_date;                   /* V4: add a Date header as V1 does */
    int brief;                      /* return the Authorization (and V4's query) only */
    long long seconds;
    oss_known_headers known;
} signing_input;

/* Pushes table.field and checks it as a string: nil is NULL unless required. */
static const char *field_string(lua_State *L, int table, const char *where, const char *field, int required,
                                size_t *length)
{
    lua_getfield(L, table, field);
    *length = 0;
    if (!required && lua_isnil(L, -1))
        return NULL;
    if (lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "%s.%s: expected a string, got %s", where, field, luaL_typename(L, -1));
    const char *value = lua_tolstring(L, -1, length);
    if (required && *length == 0)
        luaL_error(L, "%s.%s: must not be empty", where, field);
    return value;
}

/* Pushes request.field and checks it as a table; returns its stack index. */
static int field_table(lua_State *L, int request, const char *field, int required)
{
    lua_getfield(L, request, field);
    int type = lua_type(L, -1);
    if (type != LUA_TTABLE && (required || type != LUA_TNIL))
        luaL_error(L, "request.%s: expected a table, got %s", field, lua_typename(L, type));
    return lua_gettop(L);
}

/* Reads the credentials, then refuses control characters in what is sent as it is. */
static int read_credentials(lua_State *L, signing_input *in, int credentials)
{
    in->access_key_id = field_string(L, credentials, "credentials", "access_key_id", 1, &in->access_key_id_length);
    in->secret = field_string(L, credentials, "credentials", "access_key_secret", 1, &in->secret_length);
    in->token = field_string(L, credentials, "credentials", "security_token", 0, &in->token_length);
    in->token_index = lua_gettop(L);
    if (in->token_length == 0)
        in->token = NULL;

    const struct {
        const char *text;
        size_t length;
        const char *where;
    } sent[] = {
        {in->method, in->method_length, "request.method"},
        {in->bucket, in->bucket_length, "request.bucket"},
        {in->key, in->key_length, "request.key"},
        {in->region, in->region_length, "request.region"},
        {in->access_key_id, in->access_key_id_length, "credentials.access_key_id"},
        {in->token, in->token_length, "credentials.security_token"},
    };
    for (size_t i = 0; i < sizeof sent / sizeof sent[0]; i++) {
        if (sent[i].text != NULL && oss_has_control_character(sent[i].text, sent[i].length))
            return oss_sign_refuse(L, "contains a control character", sent[i].where);
    }
    return 0;
}

/* Reads request (index 2) and credentials (index 3). Returns 0, or a refusal's result count. */
static int read_fields(lua_State *L, signing_input *in)
{
    luaL_checkstack(L, 24, "signing a request");
    in->method = field_string(L, 2, "request", "method", 1, &in->method_length);
    in->bucket = field_string(L, 2, "request", "bucket", 0, &in->bucket_length);
    in->key = field_string(L, 2, "request", "key", 0, &in->key_length);
    if (in->bucket != NULL && in->bucket_length == 0)
        luaL_error(L, "request.bucket: must not be empty");
    if (in->key != NULL && in->bucket == NULL)
        luaL_error(L, "request.key: needs a bucket");
    in->region = in->v4 ? field_string(L, 2, "request", "region", 1, &in->region_length) : NULL;
    if (!in->v4)
        in->region_length = 0;
    lua_getfield(L, 2, "time");
    in->seconds = oss_check_seconds(L, -1, "request.time");
    in->query = field_table(L, 2, "query", 0);
    in->headers = field_table(L, 2, "headers", 1);
    in->additional = in->v4 ? field_table(L, 2, "additional_headers", 0) : 0;
    in->body = field_string(L, 2, "request", "body", 0, &in->body_length);
    lua_getfield(L, 2, "add_date");
    in->add_date = lua_toboolean(L, -1);
    lua_getfield(L, 2, "brief");
    in->brief = lua_toboolean(L, -1);
    return read_credentials(L, in, 3);
}

/* Sets a known header to `length` bytes of text, under the map's spelling if it has one. */
static void set_header(lua_State *L, oss_signer *signer, signing_input *in, int which, const char *value,
                       size_t length)
{
    oss_canonical_set_header(L, &signer->canonical, in->headers, &in->known, which, value, length, in->v4);
}

/* Reads and checks everything before the map is touched, then adds what both versions may be asked for and
 * neither signs differently when the caller sets it: Content-MD5 of request.body and Date (always for V1, with
 * request.add_date for V4), each only when the map lacks it. Returns 0, or the count of the failure's results it
 * pushed; the map is unchanged then. Misuse raises. */
static int prepare(lua_State *L, oss_signer *signer, signing_input *in)
{
    reset_scratch(signer);
    int refused = read_fields(L, in);
    if (!refused)
        refused = oss_canonical_collect_query(L, &signer->canonical, in->query,
                                              in->v4 ? OSS_QUERY_ENCODED : OSS_QUERY_SUB_RESOURCES, 1);
    if (!refused)
        refused = oss_canonical_collect_headers(L, &signer->canonical, in->headers, &in->known, in->v4);
    if (refused)
        return refused;
    if (signer->simulated_failure != OSS_SIGN_OK)
        return internal_failure(L, in->version, signer->simulated_failure);
    if (scratch_failed(signer))
        return internal_failure(L, in->version, OSS_SIGN_OUT_OF_MEMORY);
    if (!oss_sign_crypto_acquire(&signer->crypto))
        return internal_failure(L, in->version, OSS_SIGN_OPENSSL_FAILED);
    if (in->body != NULL && in->known.at[OSS_KNOWN_CONTENT_MD5] < 0) {
        unsigned char digest[OSS_MD5_SIZE];
        char encoded[OSS_BASE64_SIZE(OSS_MD5_SIZE)];
        if (!oss_sign_crypto_md5(&signer->crypto, in->body, in->body_length, digest))
            return internal_failure(L, in->version, OSS_SIGN_OPENSSL_FAILED);
        set_header(L, signer, in, OSS_KNOWN_CONTENT_MD5, encoded, oss_base64_encode(digest, sizeof digest, encoded));
    }
    if ((!in->v4 || in->add_date) && in->known.at[OSS_KNOWN_DATE] < 0) {
        oss_civil_time time;
        char date[HTTP_DATE_LENGTH];
        oss_civil_from_seconds(in->seconds, &time);
        oss_format_http_date(&time, date);
        set_header(L, signer, in, OSS_KNOWN_DATE, date, sizeof date);
    }
    return 0;
}

/* /bucket/key, /bucket/ or /: percent-encoded for V4, as-is for V1. */
static void append_resource_path(oss_buffer *out, const signing_input *in)
{
    oss_buffer_append_char(out, '/');
    if (in->bucket == NULL)
        return;
    if (in->v4)
        oss_uri_encode(out, in->bucket, in->bucket_length, 1);
    else
        oss_buffer_append(out, in->bucket, in->bucket_length);
    oss_buffer_append_char(out, '/');
    if (in->key != NULL && in->v4)
        oss_uri_encode(out, in->key, in->key_length, 1);
    else if (in->key != NULL)
        oss_buffer_append(out, in->key, in->key_length);
}

/* Pushes the Authorization value and stores it in the map under the name at `name_index`; the value stays on the
 * stack. */
static void push_authorization(lua_State *L, const signing_input *in, int name_index, const char *value,
                               size_t length)
{
    lua_pushlstring(L, value, length);
    lua_pushvalue(L, name_index);
    lua_pushvalue(L, -2);
    lua_rawset(L, in->headers);
}

/* ---- V4 ---- */

static void append_scope(oss_buffer *out, const char *date, const signing_input *in)
{
    oss_buffer_append(out, date, 8);
    oss_buffer_append_char(out, '/');
    oss_buffer_append(out, in->region, in->region_length);
    oss_buffer_append_string(out, "/" OSS_V4_PRODUCT "/" OSS_V4_TERMINATOR);
}

/* Sets *query_start and *query_length to where the canonical query lies in the output. */
static void append_v4_canonical_request(oss_signer *signer, const signing_input *in, const char *payload,
                                        size_t payload_length, size_t *query_start, size_t *query_length)
{
    oss_buffer *out = &signer->out;
    oss_buffer_append(out, in->method, in->method_length);
    oss_buffer_append_char(out, '\n');
    append_resource_path(out, in);
    oss_buffer_append_char(out, '\n');
    *query_start = out->length;
    oss_canonical_append_query(&signer->canonical, out);
    *query_length = out->length - *query_start;
    oss_buffer_append_char(out, '\n');
    oss_canonical_append_signed_headers(&signer->canonical, out);
    oss_buffer_append_char(out, '\n');
    oss_canonical_append_additional_list(&signer->canonical, out);
    oss_buffer_append_char(out, '\n');
    oss_buffer_append(out, payload, payload_length);
}

/* signer:sign_v4(request, credentials), under guarded_sign -> authorization, canonical_request, string_to_sign,
 * canonical_query (request.brief: authorization, canonical_query) | nil, reason, path | nil, message */
static int sign_v4(lua_State *L)
{
    oss_signer *signer = lua_touserdata(L, 1);
    signing_input in = {.version = "sign_v4", .v4 = 1};
    int failed = prepare(L, signer, &in);
    if (failed)
        return failed;
    oss_canonical *canonical = &signer->canonical;
    size_t additional_count = oss_canonical_mark_additional(L, canonical, in.additional);

    oss_civil_time time;
    char datetime[ISO8601_LENGTH];
    oss_civil_from_seconds(in.seconds, &time);
    oss_format_iso8601(&time, datetime);
    set_header(L, signer, &in, OSS_KNOWN_OSS_DATE, datetime, sizeof datetime);
    if (in.known.at[OSS_KNOWN_CONTENT_SHA256] < 0)
        set_header(L, signer, &in, OSS_KNOWN_CONTENT_SHA256, UNSIGNED_PAYLOAD, sizeof UNSIGNED_PAYLOAD - 1);
    if (in.token != NULL)
        oss_canonical_set_header_at(L, canonical, in.headers, &in.known, OSS_KNOWN_SECURITY_TOKEN, in.token_index, 1);
    const oss_header_entry *payload =
        oss_canonical_header_at(canonical, (size_t)in.known.at[OSS_KNOWN_CONTENT_SHA256]);
    const char *payload_value = payload->value; /* copied out: the entry moves when the headers are sorted */
    size_t payload_length = payload->value_length;
    oss_canonical_push_authorization_name(L, canonical, &in.known);
    int authorization = lua_gettop(L);
    oss_canonical_resort_headers(canonical);

    oss_buffer *out = &signer->out;
    size_t query_start, query_length;
    append_v4_canonical_request(signer, &in, payload_value, payload_length, &query_start, &query_length);
    size_t canonical_length = out->length;
    unsigned char digest[OSS_SHA256_SIZE];
    if (out->failed)
        return internal_failure(L, in.version, OSS_SIGN_OUT_OF_MEMORY);
    if (!oss_sign_crypto_sha256(&signer->crypto, out->data, canonical_length, digest))
        return internal_failure(L, in.version, OSS_SIGN_OPENSSL_FAILED);
    oss_buffer_append_string(out, V4_ALGORITHM "\n");
    oss_buffer_append(out, datetime, sizeof datetime);
    oss_buffer_append_char(out, '\n');
    append_scope(out, datetime, &in);
    oss_buffer_append_char(out, '\n');
    oss_buffer_append_hex(out, digest, sizeof digest);
    size_t string_to_sign_length = out->length - canonical_length;
    if (out->failed)
        return internal_failure(L, in.version, OSS_SIGN_OUT_OF_MEMORY);
    unsigned char signature[OSS_SHA256_SIZE];
    oss_sign_status status =
        oss_sign_crypto_v4_mac(&signer->crypto, in.secret, in.secret_length, in.region, in.region_length, datetime,
                               out->data + canonical_length, string_to_sign_length, signature);
    if (status != OSS_SIGN_OK)
        return internal_failure(L, in.version, status);

    size_t authorization_start = out->length;
    oss_buffer_append_string(out, V4_ALGORITHM " Credential=");
    oss_buffer_append(out, in.access_key_id, in.access_key_id_length);
    oss_buffer_append_char(out, '/');
    append_scope(out, datetime, &in);
    if (additional_count > 0) {
        oss_buffer_append_string(out, ",AdditionalHeaders=");
        oss_canonical_append_additional_list(canonical, out);
    }
    oss_buffer_append_string(out, ",Signature=");
    oss_buffer_append_hex(out, signature, sizeof signature);
    if (out->failed)
        return internal_failure(L, in.version, OSS_SIGN_OUT_OF_MEMORY);

    push_authorization(L, &in, authorization, out->data + authorization_start, out->length - authorization_start);
    if (in.brief) {
        lua_pushlstring(L, out->data + query_start, query_length);
        return 2;
    }
    lua_pushlstring(L, out->data, canonical_length);
    lua_pushlstring(L, out->data + canonical_length, string_to_sign_length);
    lua_pushlstring(L, out->data + query_start, query_length);
    return 4;
}

/* ---- V1 ---- */

static void append_known_value(oss_buffer *out, oss_signer *signer, const oss_known_headers *known, int which)
{
    if (known->at[which] >= 0) {
        const oss_header_entry *entry = oss_canonical_header_at(&signer->canonical, (size_t)known->at[which]);
        oss_buffer_append(out, entry->value, entry->value_length);
    }
    oss_buffer_append_char(out, '\n');
}

/* signer:sign_v1(request, credentials), under guarded_sign -> authorization, string_to_sign (request.brief:
 * authorization) | nil, reason, path | nil, message */
static int sign_v1(lua_State *L)
{
    oss_signer *signer = lua_touserdata(L, 1);
    signing_input in = {.version = "sign_v1", .v4 = 0};
    int failed = prepare(L, signer, &in);
    if (failed)
        return failed;
    oss_canonical *canonical = &signer->canonical;

    if (in.token != NULL)
        oss_canonical_set_header_at(L, canonical, in.headers, &in.known, OSS_KNOWN_SECURITY_TOKEN, in.token_index, 0);

    oss_buffer *out = &signer->out;
    oss_buffer_append(out, in.method, in.method_length);
    oss_buffer_append_char(out, '\n');
    append_known_value(out, signer, &in.known, OSS_KNOWN_CONTENT_MD5);
    append_known_value(out, signer, &in.known, OSS_KNOWN_CONTENT_TYPE);
    append_known_value(out, signer, &in.known, OSS_KNOWN_DATE);
    oss_canonical_push_authorization_name(L, canonical, &in.known);
    int authorization = lua_gettop(L);
    oss_canonical_resort_headers(canonical);
    oss_canonical_append_signed_headers(canonical, out);
    append_resource_path(out, &in);
    if (oss_canonical_query_count(canonical) > 0) {
        oss_buffer_append_char(out, '?');
        oss_canonical_append_query(canonical, out);
    }
    size_t string_to_sign_length = out->length;
    unsigned char signature[OSS_SHA1_SIZE];
    if (out->failed)
        return internal_failure(L, in.version, OSS_SIGN_OUT_OF_MEMORY);
    oss_sign_status status =
        oss_sign_crypto_v1_mac(&signer->crypto, in.secret, in.secret_length, out->data, string_to_sign_length,
                               signature);
    if (status != OSS_SIGN_OK)
        return internal_failure(L, in.version, status);
    char encoded[OSS_BASE64_SIZE(OSS_SHA1_SIZE)];
    size_t encoded_length = oss_base64_encode(signature, sizeof signature, encoded);

    oss_buffer_append_string(out, "OSS ");
    oss_buffer_append(out, in.access_key_id, in.access_key_id_length);
    oss_buffer_append_char(out, ':');
    oss_buffer_append(out, encoded, encoded_length);
    if (out->failed)
        return internal_failure(L, in.version, OSS_SIGN_OUT_OF_MEMORY);

    push_authorization(L, &in, authorization, out->data + string_to_sign_length, out->length - string_to_sign_length);
    if (in.brief)
        return 1;
    lua_pushlstring(L, out->data, string_to_sign_length);
    return 2;
}

/* ---- the oss.signer type ---- */

static oss_signer *check_open_signer(lua_State *L)
{
    oss_signer *signer = luaL_checkudata(L, 1, OSS_SIGNER_TYPE);
    if (signer->closed)
        luaL_error(L, "%s: used after close", OSS_SIGNER_TYPE);
    return signer;
}

/* What both signing methods run as. It marks the signer busy, runs `sign` under lua_pcall, and clears the mark
 * before returning or re-raising, so an error (a bad field, a raising metamethod, out of memory) never leaves the
 * signer locked, and a call made from inside the signing one (a metamethod, a finalizer) is refused instead of
 * reusing its scratch. */
static int guarded_sign(lua_State *L, lua_CFunction sign)
{
    oss_signer *signer = check_open_signer(L);
    if (signer->busy)
        return luaL_error(L, "%s: called again while signing", OSS_SIGNER_TYPE);
    /* Argument errors are raised here, outside the pcall, so they still name the method. */
    luaL_checktype(L, 2, LUA_TTABLE);
    luaL_checktype(L, 3, LUA_TTABLE);
    lua_settop(L, 3);
    return oss_call_refusing_reentry(L, sign, 3, &signer->busy);
}

static int signer_sign_v4(lua_State *L)
{
    return guarded_sign(L, sign_v4);
}

static int signer_sign_v1(lua_State *L)
{
    return guarded_sign(L, sign_v1);
}

/* signer:simulate_failure("out of memory" | "OpenSSL failed" | nil): internal, for specs. From now on every
 * signing call that gets past the refusals fails as if that had happened; nil ends it. */
static int signer_simulate_failure(lua_State *L)
{
    static const char *const failures[] = {"none", "out of memory", "OpenSSL failed", NULL};
    static const oss_sign_status statuses[] = {OSS_SIGN_OK, OSS_SIGN_OUT_OF_MEMORY, OSS_SIGN_OPENSSL_FAILED};
    oss_signer *signer = check_open_signer(L);
    signer->simulated_failure = statuses[luaL_checkoption(L, 2, "none", failures)];
    return 0;
}

/* close, __close and __gc: idempotent; the cached key is wiped before the memory goes back. */
static int signer_close(lua_State *L)
{
    oss_signer *signer = luaL_checkudata(L, 1, OSS_SIGNER_TYPE);
    /* Closing frees the scratch the running call points into. (__gc cannot see a busy signer: a signing call's
     * stack still references it.) */
    if (signer->busy)
        return luaL_error(L, "%s: cannot close while signing", OSS_SIGNER_TYPE);
    oss_sign_crypto_release(&signer->crypto);
    oss_canonical_free(&signer->canonical);
    oss_buffer_free(&signer->out);
    signer->closed = 1;
    return 0;
}

static int signer_tostring(lua_State *L)
{
    oss_signer *signer = luaL_checkudata(L, 1, OSS_SIGNER_TYPE);
    lua_pushfstring(L, "%s: %p", OSS_SIGNER_TYPE, (void *)signer);
    return 1;
}

/* Its buffers are malloc'd lazily on first use, so the userdata is complete (and collectable) at once. */
static oss_signer *push_signer(lua_State *L)
{
    oss_signer *signer = oss_newuserdata(L, sizeof *signer);
    memset(signer, 0, sizeof *signer);
    oss_canonical_init(&signer->canonical);
    oss_buffer_init(&signer->out);
    oss_setmetatable(L, OSS_SIGNER_TYPE);
    return signer;
}

/* signer() -> oss.signer */
static int signer_new(lua_State *L)
{
    push_signer(L);
    return 1;
}

/* ---- module functions; upvalue 1 is a private signer lending its scratch buffers ---- */

/* The scratch signer's busy mark is set while canonical_query collects its map: Lua may run a finalizer then (on
 * any allocation), and one that called uri_encode or canonical_query would reset the scratch under it. */
static oss_signer *scratch_signer(lua_State *L, const char *function)
{
    oss_signer *signer = lua_touserdata(L, lua_upvalueindex(1));
    if (signer->busy)
        luaL_error(L, "%s: called again while canonical_query runs", function);
    reset_scratch(signer);
    return signer;
}

/* uri_encode(s [, keep_slash]) -> RFC 3986 percent-encoded s */
static int lua_uri_encode(lua_State *L)
{
    size_t length;
    const char *text = luaL_checklstring(L, 1, &length);
    oss_signer *signer = scratch_signer(L, "uri_encode");
    oss_uri_encode(&signer->out, text, length, lua_toboolean(L, 2));
    if (signer->out.failed)
        return luaL_error(L, "uri_encode: out of memory");
    lua_pushlstring(L, signer->out.data, signer->out.length);
    return 1;
}

/* canonical_query's work, under lua_pcall: (map, scratch signer) -> the query. */
static int canonical_query_step(lua_State *L)
{
    oss_signer *signer = lua_touserdata(L, 2);
    oss_canonical_collect_query(L, &signer->canonical, 1, OSS_QUERY_ENCODED, 0);
    oss_canonical_append_query(&signer->canonical, &signer->out);
    if (scratch_failed(signer))
        return luaL_error(L, "canonical_query: out of memory");
    lua_pushlstring(L, signer->out.data, signer->out.length);
    return 1;
}

/* canonical_query(map) -> "a=1&b&c%2F=x": encoded, sorted by encoded key. The mark is cleared before any error is
 * re-raised, so a failed call never locks the scratch. */
static int lua_canonical_query(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    oss_signer *signer = scratch_signer(L, "canonical_query");
    lua_pushcfunction(L, canonical_query_step);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, lua_upvalueindex(1));
    signer->busy = 1;
    int status = lua_pcall(L, 2, 1, 0);
    signer->busy = 0;
    if (status != 0)
        return lua_error(L);
    return 1;
}

void oss_open_sign(lua_State *L)
{
    static const luaL_Reg metamethods[] = {
        {"__gc", signer_close},
        {"__close", signer_close},
        {"__tostring", signer_tostring},
        {NULL, NULL},
    };
    static const luaL_Reg methods[] = {
        {"sign_v4", signer_sign_v4},
        {"sign_v1", signer_sign_v1},
        {"simulate_failure", signer_simulate_failure},
        {"close", signer_close},
        {NULL, NULL},
    };
    oss_define_type(L, OSS_SIGNER_TYPE, metamethods, methods);
    lua_pushcfunction(L, signer_new);
    lua_setfield(L, -2, "signer");
    push_signer(L);
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, lua_uri_encode, 1);
    lua_setfield(L, -3, "uri_encode");
    lua_pushcclosure(L, lua_canonical_query, 1);
    lua_setfield(L, -2, "canonical_query");
}
