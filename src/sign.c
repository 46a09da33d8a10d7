/* OSS request signing (V4 OSS4-HMAC-SHA256 and V1 HMAC-SHA1): the oss.signer type and what each version signs. */
#include "sign.h"

#include <string.h>

#include <lauxlib.h>

#include "buffer.h"
#include "compat.h"
#include "crypto.h"
#include "date.h"
#include "sign_canonical.h"
#include "sign_crypto.h"
#include "uri_encode.h"

#define OSS_SIGNER_TYPE "oss.signer"
#define V4_ALGORITHM "OSS4-HMAC-SHA256"
#define UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

/* The renderings of a request time a signer keeps: x-oss-date's ISO 8601 basic and Date's HTTP date. */
enum { DATE_ISO8601, DATE_HTTP, DATE_KINDS };

typedef struct {
    oss_canonical canonical; /* the current call's query and headers */
    oss_buffer out;          /* canonical request, string to sign and Authorization, back to back */
    oss_sign_crypto crypto;  /* contexts and the cached V4 key, set up on first use */
    /* The request time last signed and its renderings as Lua strings (registry references, LUA_NOREF until made):
     * requests within one second reuse them instead of formatting and hashing the same text again. */
    long long dates_seconds;
    int date_refs[DATE_KINDS];
    int closed;
    /* Set for the whole of a signing call. Reading the request runs Lua (metamethods, and finalizers whenever Lua
     * allocates), which could sign or close with this signer while its scratch holds the outer call's pointers. */
    int busy;
} oss_signer;

/* ---- the signer's scratch ---- */

static int scratch_failed(const oss_signer *signer)
{
    return oss_canonical_failed(&signer->canonical) || signer->out.failed;
}

static void reset_scratch(oss_signer *signer)
{
    oss_canonical_reset(&signer->canonical);
    oss_buffer_reset(&signer->out);
}

/* Replaces the message on top of the stack with nil, message. */
static int fail_with_message(lua_State *L)
{
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}

static int fail(lua_State *L, const char *message)
{
    lua_pushnil(L);
    lua_pushstring(L, message);
    return 2;
}

/* ---- request fields ---- */

/* The request's fields, left on the Lua stack so every pointer here stays valid for the call. */
typedef struct {
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

/* sign_v4 and sign_v1 carry the signer's metatable, the field names they read, the known headers' spellings and
 * the unsigned payload marker as upvalues, made once: reading a field or adding a header then needs no string built
 * (and hashed) from C text, and checking the signer no registry lookup. */
enum {
    UPVALUE_METATABLE = 1,
    FIELD_METHOD,
    FIELD_BUCKET,
    FIELD_KEY,
    FIELD_REGION,
    FIELD_TIME,
    FIELD_QUERY,
    FIELD_HEADERS,
    FIELD_ADDITIONAL_HEADERS,
    FIELD_BODY,
    FIELD_ADD_DATE,
    FIELD_BRIEF,
    FIELD_ACCESS_KEY_ID,
    FIELD_ACCESS_KEY_SECRET,
    FIELD_SECURITY_TOKEN,
    UPVALUE_SPELLINGS, /* OSS_KNOWN_COUNT of them, in the order of the known headers */
    UPVALUE_UNSIGNED_PAYLOAD = UPVALUE_SPELLINGS + OSS_KNOWN_COUNT,
    UPVALUE_COUNT = UPVALUE_UNSIGNED_PAYLOAD
};

/* The upvalue holding the spelling the signer gives a known header it adds. */
#define SPELLING(which) lua_upvalueindex(UPVALUE_SPELLINGS + (which))

static const char *const field_names[FIELD_SECURITY_TOKEN + 1] = {
    [FIELD_METHOD] = "method",
    [FIELD_BUCKET] = "bucket",
    [FIELD_KEY] = "key",
    [FIELD_REGION] = "region",
    [FIELD_TIME] = "time",
    [FIELD_QUERY] = "query",
    [FIELD_HEADERS] = "headers",
    [FIELD_ADDITIONAL_HEADERS] = "additional_headers",
    [FIELD_BODY] = "body",
    [FIELD_ADD_DATE] = "add_date",
    [FIELD_BRIEF] = "brief",
    [FIELD_ACCESS_KEY_ID] = "access_key_id",
    [FIELD_ACCESS_KEY_SECRET] = "access_key_secret",
    [FIELD_SECURITY_TOKEN] = "security_token",
};

/* Pushes table[name of `field`], honouring metamethods as lua_getfield does. */
static void get_field(lua_State *L, int table, int field)
{
    lua_pushvalue(L, lua_upvalueindex(field));
    lua_gettable(L, table);
}

/* Checks the value at `index` as the string field `where`.`field`: nil is NULL unless required. */
static const char *check_string(lua_State *L, int index, const char *where, const char *field, int required,
                                size_t *length)
{
    *length = 0;
    if (!required && lua_isnil(L, index))
        return NULL;
    if (lua_type(L, index) != LUA_TSTRING)
        luaL_error(L, "%s.%s: expected a string, got %s", where, field, luaL_typename(L, index));
    const char *value = lua_tolstring(L, index, length);
    if (required && *length == 0)
        luaL_error(L, "%s.%s: must not be empty", where, field);
    return value;
}

static const char *field_string(lua_State *L, int table, const char *where, int field_id, int required,
                                size_t *length)
{
    get_field(L, table, field_id);
    return check_string(L, -1, where, field_names[field_id], required, length);
}

/* Checks the value at `index` as the table field request.`field`. */
static void check_table(lua_State *L, int index, const char *field, int required)
{
    int type = lua_type(L, index);
    if (type != LUA_TTABLE && (required || type != LUA_TNIL))
        luaL_error(L, "request.%s: expected a table, got %s", field, lua_typename(L, type));
}

static int field_table(lua_State *L, int table, int field_id, int required)
{
    get_field(L, table, field_id);
    check_table(L, -1, field_names[field_id], required);
    return lua_gettop(L);
}

/* The request's fields after the method and bucket, which both forms read alike. */
static void check_bucket_and_key(lua_State *L, const signing_input *in)
{
    if (in->bucket != NULL && in->bucket_length == 0)
        luaL_error(L, "request.bucket: must not be empty");
    if (in->key != NULL && in->bucket == NULL)
        luaL_error(L, "request.key: needs a bucket");
}

/* Reads the credentials table at `credentials`, then checks what is sent as-is: misuse raises; a control character
 * pushes a message and returns 0. */
static int read_credentials(lua_State *L, signing_input *in, int credentials)
{
    in->access_key_id =
        field_string(L, credentials, "credentials", FIELD_ACCESS_KEY_ID, 1, &in->access_key_id_length);
    in->secret = field_string(L, credentials, "credentials", FIELD_ACCESS_KEY_SECRET, 1, &in->secret_length);
    in->token = field_string(L, credentials, "credentials", FIELD_SECURITY_TOKEN, 0, &in->token_length);
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
        if (sent[i].text != NULL && oss_has_control_character(sent[i].text, sent[i].length)) {
            lua_pushfstring(L, "%s: contains a control character", sent[i].where);
            return 0;
        }
    }
    return 1;
}

/* Reads request (index 2) and credentials (index 3), the documented form. Returns as read_credentials does. */
static int read_fields(lua_State *L, signing_input *in, int v4)
{
    luaL_checktype(L, 2, LUA_TTABLE);
    luaL_checktype(L, 3, LUA_TTABLE);
    luaL_checkstack(L, 28, "signing a request");
    in->method = field_string(L, 2, "request", FIELD_METHOD, 1, &in->method_length);
    in->bucket = field_string(L, 2, "request", FIELD_BUCKET, 0, &in->bucket_length);
    in->key = field_string(L, 2, "request", FIELD_KEY, 0, &in->key_length);
    check_bucket_and_key(L, in);
    in->region = v4 ? field_string(L, 2, "request", FIELD_REGION, 1, &in->region_length) : NULL;
    if (!v4)
        in->region_length = 0;
    get_field(L, 2, FIELD_TIME);
    in->seconds = oss_check_seconds(L, -1, "request.time");
    in->query = field_table(L, 2, FIELD_QUERY, 0);
    in->headers = field_table(L, 2, FIELD_HEADERS, 1);
    in->additional = v4 ? field_table(L, 2, FIELD_ADDITIONAL_HEADERS, 0) : 0;
    in->body = field_string(L, 2, "request", FIELD_BODY, 0, &in->body_length);
    get_field(L, 2, FIELD_ADD_DATE);
    in->add_date = lua_toboolean(L, -1);
    get_field(L, 2, FIELD_BRIEF);
    in->brief = lua_toboolean(L, -1);
    return read_credentials(L, in, 3);
}

/* The positional form's arguments after the signer: a client's own requests, which have no key, no additional
 * headers, a Date header and the brief results, pass their fields directly instead of through a table. */
enum { ARG_METHOD = 2, ARG_BUCKET, ARG_REGION, ARG_TIME, ARG_QUERY, ARG_HEADERS, ARG_BODY, ARG_CREDENTIALS };

/* Reads the positional form's arguments (V1 ignores the region) and the credentials table; checks and results
 * are the table form's, under the same field names. */
static int read_arguments(lua_State *L, signing_input *in, int v4)
{
    luaL_checktype(L, ARG_CREDENTIALS, LUA_TTABLE);
    luaL_checkstack(L, 24, "signing a request");
    in->method = check_string(L, ARG_METHOD, "request", "method", 1, &in->method_length);
    in->bucket = check_string(L, ARG_BUCKET, "request", "bucket", 0, &in->bucket_length);
    in->key = NULL;
    in->key_length = 0;
    check_bucket_and_key(L, in);
    in->region = v4 ? check_string(L, ARG_REGION, "request", "region", 1, &in->region_length) : NULL;
    if (!v4)
        in->region_length = 0;
    in->seconds = oss_check_seconds(L, ARG_TIME, "request.time");
    check_table(L, ARG_QUERY, "query", 0);
    in->query = ARG_QUERY;
    check_table(L, ARG_HEADERS, "headers", 1);
    in->headers = ARG_HEADERS;
    in->additional = 0;
    in->body = check_string(L, ARG_BODY, "request", "body", 0, &in->body_length);
    in->add_date = 1;
    in->brief = 1;
    return read_credentials(L, in, ARG_CREDENTIALS);
}

/* The signer at index 1: its metatable compared with the upvalue first, luaL_checkudata (and its error) else. */
static oss_signer *check_signer(lua_State *L)
{
    oss_signer *signer = NULL;
    if (lua_type(L, 1) == LUA_TUSERDATA && lua_getmetatable(L, 1)) {
        if (lua_rawequal(L, -1, lua_upvalueindex(UPVALUE_METATABLE)))
            signer = lua_touserdata(L, 1);
        lua_pop(L, 1);
    }
    if (signer == NULL)
        signer = luaL_checkudata(L, 1, OSS_SIGNER_TYPE);
    if (signer->closed)
        luaL_error(L, "%s: used after close", OSS_SIGNER_TYPE);
    if (!signer->busy)
        luaL_error(L, "%s: signing entered without its guard", OSS_SIGNER_TYPE); /* see guarded_sign */
    if (!oss_sign_crypto_acquire(&signer->crypto))
        luaL_error(L, "%s: OpenSSL could not set up SHA-256 and HMAC", OSS_SIGNER_TYPE);
    return signer;
}

static void forget_dates(lua_State *L, oss_signer *signer)
{
    for (int i = 0; i < DATE_KINDS; i++) {
        luaL_unref(L, LUA_REGISTRYINDEX, signer->date_refs[i]);
        signer->date_refs[i] = LUA_NOREF;
    }
}

/* Pushes the request time as ISO 8601 basic (16 bytes) or an HTTP date (29 bytes), made once per second; returns
 * its text, which the string on the stack keeps alive. */
static const char *push_date(lua_State *L, oss_signer *signer, const signing_input *in, int which)
{
    if (signer->dates_seconds != in->seconds) {
        forget_dates(L, signer);
        signer->dates_seconds = in->seconds;
    }
    int *ref = &signer->date_refs[which];
    if (*ref != LUA_NOREF) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, *ref);
        return lua_tostring(L, -1);
    }
    oss_civil_time time;
    char text[29];
    oss_civil_from_seconds(in->seconds, &time);
    if (which == DATE_ISO8601)
        oss_format_iso8601(&time, text);
    else
        oss_format_http_date(&time, text);
    lua_pushlstring(L, text, which == DATE_ISO8601 ? 16 : 29);
    lua_pushvalue(L, -1);
    *ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return lua_tostring(L, -1);
}

/* Reads and checks everything before the map is touched: on 0 the message is on top of the stack and the request
 * is as it was. Misuse raises. Then adds what both versions may be asked for and neither signs differently when the
 * caller sets it: Content-MD5 of request.body and Date (always for V1, with request.add_date for V4), each only
 * when the map lacks it. */
static int prepare(lua_State *L, oss_signer *signer, signing_input *in, int v4, int positional)
{
    reset_scratch(signer);
    if (!(positional ? read_arguments(L, in, v4) : read_fields(L, in, v4)) ||
        !oss_canonical_collect_query(L, &signer->canonical, in->query,
                                     v4 ? OSS_QUERY_ENCODED : OSS_QUERY_SUB_RESOURCES, 1) ||
        !oss_canonical_collect_headers(L, &signer->canonical, in->headers, &in->known, v4))
        return 0;
    if (scratch_failed(signer)) {
        lua_pushstring(L, v4 ? "sign_v4: out of memory" : "sign_v1: out of memory");
        return 0;
    }
    if (in->body != NULL && in->known.at[OSS_KNOWN_CONTENT_MD5] < 0) {
        unsigned char digest[OSS_MD5_SIZE];
        char encoded[OSS_BASE64_SIZE(OSS_MD5_SIZE)];
        if (!oss_sign_crypto_md5(&signer->crypto, in->body, in->body_length, digest)) {
            lua_pushstring(L, v4 ? "sign_v4: OpenSSL failed" : "sign_v1: OpenSSL failed");
            return 0;
        }
        size_t length = oss_base64_encode(digest, sizeof digest, encoded);
        oss_canonical_set_header(L, &signer->canonical, in->headers, &in->known, OSS_KNOWN_CONTENT_MD5,
                                 SPELLING(OSS_KNOWN_CONTENT_MD5), encoded, length, v4);
    }
    if ((!v4 || in->add_date) && in->known.at[OSS_KNOWN_DATE] < 0) {
        push_date(L, signer, in, DATE_HTTP);
        oss_canonical_set_header_at(L, &signer->canonical, in->headers, &in->known, OSS_KNOWN_DATE,
                                    SPELLING(OSS_KNOWN_DATE), lua_gettop(L), v4);
    }
    return 1;
}

/* /bucket/key, /bucket/ or /: percent-encoded for V4, as-is for V1. */
static void append_resource_path(oss_buffer *out, const signing_input *in, int encode)
{
    oss_buffer_append_char(out, '/');
    if (in->bucket == NULL)
        return;
    if (encode)
        oss_uri_encode(out, in->bucket, in->bucket_length, 1);
    else
        oss_buffer_append(out, in->bucket, in->bucket_length);
    oss_buffer_append_char(out, '/');
    if (in->key != NULL && encode)
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
    append_resource_path(out, in, 1);
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

/* signer:sign_v4(request, credentials) -> authorization, canonical_request, string_to_sign, canonical_query
 * (request.brief: authorization, canonical_query) | nil, message; positional: see signer_sign_v4_request. */
static int sign_v4(lua_State *L, int positional)
{
    oss_signer *signer = check_signer(L);
    signing_input in;
    if (!prepare(L, signer, &in, 1, positional))
        return fail_with_message(L);
    oss_canonical *canonical = &signer->canonical;
    size_t additional_count = oss_canonical_mark_additional(L, canonical, in.additional);

    const char *datetime = push_date(L, signer, &in, DATE_ISO8601); /* 16 bytes, no terminator counted */
    oss_canonical_set_header_at(L, canonical, in.headers, &in.known, OSS_KNOWN_OSS_DATE, SPELLING(OSS_KNOWN_OSS_DATE),
                                lua_gettop(L), 1);
    if (in.known.at[OSS_KNOWN_CONTENT_SHA256] < 0)
        oss_canonical_set_header_at(L, canonical, in.headers, &in.known, OSS_KNOWN_CONTENT_SHA256,
                                    SPELLING(OSS_KNOWN_CONTENT_SHA256), lua_upvalueindex(UPVALUE_UNSIGNED_PAYLOAD), 1);
    if (in.token != NULL)
        oss_canonical_set_header_at(L, canonical, in.headers, &in.known, OSS_KNOWN_SECURITY_TOKEN,
                                    SPELLING(OSS_KNOWN_SECURITY_TOKEN), in.token_index, 1);
    const oss_header_entry *payload =
        oss_canonical_header_at(canonical, (size_t)in.known.at[OSS_KNOWN_CONTENT_SHA256]);
    const char *payload_value = payload->value; /* copied out: the entry moves when the headers are sorted */
    size_t payload_length = payload->value_length;
    oss_canonical_push_authorization_name(L, canonical, &in.known, SPELLING(OSS_KNOWN_AUTHORIZATION));
    int authorization = lua_gettop(L);
    oss_canonical_resort_headers(canonical);

    oss_buffer *out = &signer->out;
    size_t query_start, query_length;
    append_v4_canonical_request(signer, &in, payload_value, payload_length, &query_start, &query_length);
    size_t canonical_length = out->length;
    unsigned char digest[OSS_SHA256_SIZE];
    if (out->failed || !oss_sign_crypto_sha256(&signer->crypto, out->data, canonical_length, digest))
        return fail(L, out->failed ? "sign_v4: out of memory" : "sign_v4: OpenSSL failed");
    oss_buffer_append_string(out, V4_ALGORITHM "\n");
    oss_buffer_append(out, datetime, 16);
    oss_buffer_append_char(out, '\n');
    append_scope(out, datetime, &in);
    oss_buffer_append_char(out, '\n');
    oss_buffer_append_hex(out, digest, sizeof digest);
    size_t string_to_sign_length = out->length - canonical_length;
    if (out->failed)
        return fail(L, "sign_v4: out of memory");
    unsigned char signature[OSS_SHA256_SIZE];
    oss_sign_status status =
        oss_sign_crypto_v4_mac(&signer->crypto, in.secret, in.secret_length, in.region, in.region_length, datetime,
                               out->data + canonical_length, string_to_sign_length, signature);
    if (status != OSS_SIGN_OK)
        return fail(L, status == OSS_SIGN_OUT_OF_MEMORY ? "sign_v4: out of memory" : "sign_v4: OpenSSL failed");

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
        return fail(L, "sign_v4: out of memory");

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

/* signer:sign_v1(request, credentials) -> authorization, string_to_sign (request.brief: authorization)
 * | nil, message; positional: see signer_sign_v1_request. */
static int sign_v1(lua_State *L, int positional)
{
    oss_signer *signer = check_signer(L);
    signing_input in;
    if (!prepare(L, signer, &in, 0, positional))
        return fail_with_message(L);
    oss_canonical *canonical = &signer->canonical;

    if (in.token != NULL)
        oss_canonical_set_header_at(L, canonical, in.headers, &in.known, OSS_KNOWN_SECURITY_TOKEN,
                                    SPELLING(OSS_KNOWN_SECURITY_TOKEN), in.token_index, 0);

    oss_buffer *out = &signer->out;
    oss_buffer_append(out, in.method, in.method_length);
    oss_buffer_append_char(out, '\n');
    append_known_value(out, signer, &in.known, OSS_KNOWN_CONTENT_MD5);
    append_known_value(out, signer, &in.known, OSS_KNOWN_CONTENT_TYPE);
    append_known_value(out, signer, &in.known, OSS_KNOWN_DATE);
    oss_canonical_push_authorization_name(L, canonical, &in.known, SPELLING(OSS_KNOWN_AUTHORIZATION));
    int authorization = lua_gettop(L);
    oss_canonical_resort_headers(canonical);
    oss_canonical_append_signed_headers(canonical, out);
    append_resource_path(out, &in, 0);
    if (oss_canonical_query_count(canonical) > 0) {
        oss_buffer_append_char(out, '?');
        oss_canonical_append_query(canonical, out);
    }
    size_t string_to_sign_length = out->length;
    unsigned char signature[OSS_SHA1_SIZE];
    if (out->failed)
        return fail(L, "sign_v1: out of memory");
    if (oss_sign_crypto_v1_mac(&signer->crypto, in.secret, in.secret_length, out->data, string_to_sign_length,
                               signature) != OSS_SIGN_OK)
        return fail(L, "sign_v1: OpenSSL failed");
    char encoded[OSS_BASE64_SIZE(OSS_SHA1_SIZE)];
    size_t encoded_length = oss_base64_encode(signature, sizeof signature, encoded);

    oss_buffer_append_string(out, "OSS ");
    oss_buffer_append(out, in.access_key_id, in.access_key_id_length);
    oss_buffer_append_char(out, ':');
    oss_buffer_append(out, encoded, encoded_length);
    if (out->failed)
        return fail(L, "sign_v1: out of memory");

    push_authorization(L, &in, authorization, out->data + string_to_sign_length, out->length - string_to_sign_length);
    if (in.brief)
        return 1;
    lua_pushlstring(L, out->data, string_to_sign_length);
    return 2;
}

/* ---- the two forms of each version ---- */

static int signer_sign_v4(lua_State *L)
{
    return sign_v4(L, 0);
}

/* signer:sign_v4_request(method, bucket, region, time, query, headers, body, credentials)
 * -> authorization, canonical_query | nil, message: sign_v4 of { method, bucket, region, time, query, headers,
 * body, add_date = true, brief = true }, without the table and its lookups. */
static int signer_sign_v4_request(lua_State *L)
{
    return sign_v4(L, 1);
}

static int signer_sign_v1(lua_State *L)
{
    return sign_v1(L, 0);
}

/* signer:sign_v1_request(method, bucket, region, time, query, headers, body, credentials) -> authorization
 * | nil, message: sign_v1 of { method, bucket, time, query, headers, body, brief = true }; region is ignored. */
static int signer_sign_v1_request(lua_State *L)
{
    return sign_v1(L, 1);
}

/* What every signing method runs as: upvalue 1 is the signing closure itself, upvalue 2 whether it is a positional
 * form. It marks the signer busy, runs the closure under lua_pcall, and clears the mark before returning or
 * re-raising, so an error (a bad field, a raising metamethod, out of memory) never leaves the signer locked, and a
 * call made from inside the signing one (a metamethod, a finalizer) is refused instead of reusing its scratch. */
static int guarded_sign(lua_State *L)
{
    oss_signer *signer = luaL_checkudata(L, 1, OSS_SIGNER_TYPE);
    if (signer->closed)
        return luaL_error(L, "%s: used after close", OSS_SIGNER_TYPE);
    if (signer->busy)
        return luaL_error(L, "%s: called again while signing", OSS_SIGNER_TYPE);
    /* Argument errors are raised here, outside the pcall, so they still name the method. */
    if (lua_toboolean(L, lua_upvalueindex(2))) {
        luaL_checktype(L, ARG_CREDENTIALS, LUA_TTABLE);
        lua_settop(L, ARG_CREDENTIALS);
    } else {
        luaL_checktype(L, 2, LUA_TTABLE);
        luaL_checktype(L, 3, LUA_TTABLE);
        lua_settop(L, 3);
    }
    int arguments = lua_gettop(L);
    luaL_checkstack(L, arguments + 1, "signing a request");
    lua_pushvalue(L, lua_upvalueindex(1));
    for (int i = 1; i <= arguments; i++)
        lua_pushvalue(L, i); /* the originals stay below: index 1 keeps the signer alive after the call */
    signer->busy = 1;
    int status = lua_pcall(L, arguments, LUA_MULTRET, 0);
    signer->busy = 0;
    if (status != 0)
        return lua_error(L);
    return lua_gettop(L) - arguments;
}

/* ---- the oss.signer type ---- */

/* close, __close and __gc: idempotent; the cached key is wiped before the memory goes back. */
static int signer_close(lua_State *L)
{
    oss_signer *signer = luaL_checkudata(L, 1, OSS_SIGNER_TYPE);
    /* Closing frees the scratch the running call points into. (__gc cannot see a busy signer: a signing call's
     * stack still references it.) */
    if (signer->busy)
        return luaL_error(L, "%s: cannot close while signing", OSS_SIGNER_TYPE);
    oss_sign_crypto_release(&signer->crypto);
    forget_dates(L, signer);
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
    signer->dates_seconds = -1;
    signer->date_refs[DATE_ISO8601] = signer->date_refs[DATE_HTTP] = LUA_NOREF;
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
        {"close", signer_close},
        {NULL, NULL},
    };
    static const struct {
        const char *name;
        lua_CFunction function;
        int positional;
    } signing_methods[] = {
        {"sign_v4", signer_sign_v4, 0},
        {"sign_v1", signer_sign_v1, 0},
        {"sign_v4_request", signer_sign_v4_request, 1},
        {"sign_v1_request", signer_sign_v1_request, 1},
    };
    oss_define_type(L, OSS_SIGNER_TYPE, metamethods, methods);
    luaL_checkstack(L, UPVALUE_COUNT + 3, "registering the signer");
    luaL_getmetatable(L, OSS_SIGNER_TYPE);
    lua_getfield(L, -1, "__index");
    for (size_t i = 0; i < sizeof signing_methods / sizeof signing_methods[0]; i++) {
        lua_pushvalue(L, -2);
        for (int field = FIELD_METHOD; field <= FIELD_SECURITY_TOKEN; field++)
            lua_pushstring(L, field_names[field]);
        for (int which = 0; which < OSS_KNOWN_COUNT; which++)
            lua_pushstring(L, oss_canonical_known_spelling(which));
        lua_pushliteral(L, UNSIGNED_PAYLOAD);
        lua_pushcclosure(L, signing_methods[i].function, UPVALUE_COUNT);
        lua_pushboolean(L, signing_methods[i].positional);
        lua_pushcclosure(L, guarded_sign, 2);
        lua_setfield(L, -2, signing_methods[i].name);
    }
    lua_pop(L, 2);
    lua_pushcfunction(L, signer_new);
    lua_setfield(L, -2, "signer");
    push_signer(L);
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, lua_uri_encode, 1);
    lua_setfield(L, -3, "uri_encode");
    lua_pushcclosure(L, lua_canonical_query, 1);
    lua_setfield(L, -2, "canonical_query");
}
