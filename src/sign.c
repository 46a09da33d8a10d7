/* OSS request signing (V4 OSS4-HMAC-SHA256 and V1 HMAC-SHA1): the oss.signer type and its canonicalisation. */
#include "sign.h"

#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "buffer.h"
#include "compat.h"
#include "crypto.h"

#define OSS_SIGNER_TYPE "oss.signer"
#define V4_ALGORITHM "OSS4-HMAC-SHA256"
#define V4_KEY_PREFIX "aliyun_v4"
#define V4_TERMINATOR "aliyun_v4_request"
#define V4_PRODUCT "oss"
#define UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define OSS_HEADER_PREFIX "x-oss-"

/* 9999-12-31T23:59:59Z: past it the four-digit year of both date formats overflows. */
#define LATEST_TIME 253402300799LL

/* One header of the request's map. The map keeps both strings alive for the whole call. */
typedef struct {
    const char *name; /* spelt as in the map */
    size_t name_length;
    const char *value; /* trimmed */
    size_t value_length;
    int empty; /* the untrimmed value is "": never an additional header */
    int role;  /* V4: whether and why it goes into the canonical headers */
} header_entry;

enum { UNSIGNED_HEADER, SIGNED_BY_DEFAULT, SIGNED_AS_ADDITIONAL };

/* One query parameter, its key and value copied into the signer's text buffer (offsets survive a realloc). */
typedef struct {
    size_t key, key_length;
    size_t value, value_length;
} query_entry;

/* Headers the signer reads or writes itself, by lower-cased name. */
enum {
    KNOWN_AUTHORIZATION,
    KNOWN_CONTENT_MD5,
    KNOWN_CONTENT_TYPE,
    KNOWN_DATE,
    KNOWN_CONTENT_SHA256,
    KNOWN_OSS_DATE,
    KNOWN_SECURITY_TOKEN,
    KNOWN_COUNT
};

#define LITERAL(text) text, sizeof text - 1

/* Lower-cased name, its length, and the spelling the header gets when the signer adds it. */
static const struct {
    const char *lower;
    size_t length;
    const char *spelling;
} known_names[KNOWN_COUNT] = {
    {LITERAL("authorization"), "Authorization"},
    {LITERAL("content-md5"), "Content-MD5"},
    {LITERAL("content-type"), "Content-Type"},
    {LITERAL("date"), "Date"},
    {LITERAL("x-oss-content-sha256"), "x-oss-content-sha256"},
    {LITERAL("x-oss-date"), "x-oss-date"},
    {LITERAL("x-oss-security-token"), "x-oss-security-token"},
};

/* Query parameters V1 signs as sub-resources: the union of the official SDKs' lists (Go v1 and v2, Python oss2
 * and v2, Java, Node), sorted by strcmp for bsearch. Parameters starting with "x-oss-" are signed by rule. */
static const char *const v1_sub_resources[] = {
    "acl", "append", "asyncFetch", "bucketInfo", "callback", "callback-var", "cloudboxes", "cname", "comp",
    "continuation-token", "cors", "delete", "encryption", "endTime", "group", "img", "inventory", "inventoryId",
    "lifecycle", "link", "live", "location", "logging", "metaQuery", "objectInfo", "objectMeta", "partNumber",
    "policy", "position", "qos", "qosInfo", "referer", "regionList", "replication", "replicationLocation",
    "replicationProgress", "requestPayment", "resourceGroup", "response-cache-control",
    "response-content-disposition", "response-content-encoding", "response-content-language",
    "response-content-type", "response-expires", "responseHeader", "restore", "rtc", "security-token", "sequential",
    "startTime", "stat", "status", "style", "styleName", "symlink", "tagging", "transferAcceleration", "udf",
    "udfApplication", "udfApplicationLog", "udfId", "udfImage", "udfImageDesc", "udfName", "uploadId", "uploads",
    "versionId", "versioning", "versions", "vod", "website", "withHashContext", "worm", "wormExtend", "wormId",
};

typedef struct {
    oss_buffer headers; /* header_entry[] of the current call */
    oss_buffer params;  /* query_entry[] of the current call */
    oss_buffer text;    /* the query's keys and values: encoded for V4, raw for V1 */
    oss_buffer out;     /* canonical request, string to sign and Authorization, back to back */
    /* V4 signing key cache: the key depends only on the secret, the day and the region. The secret itself is not
     * kept: its SHA-256 is enough to notice a change. */
    unsigned char key[OSS_SHA256_SIZE];
    unsigned char secret_digest[OSS_SHA256_SIZE];
    char key_date[8];
    oss_buffer key_region;
    int key_valid; /* key, secret_digest, key_date and key_region agree, and v4_mac is keyed with key */
    /* One-shot EVP_Digest and HMAC look their algorithm up by name and build a context on every call; a signer
     * fetches once, on first use, and reuses its contexts. */
    EVP_MD *sha256;
    EVP_MD_CTX *digest;
    EVP_MAC *hmac;
    EVP_MAC_CTX *v4_mac;
    EVP_MAC_CTX *v1_mac;
    int closed;
} oss_signer;

typedef struct {
    int year, month, day, hour, minute, second, weekday; /* weekday 0 = Sunday */
} civil_time;

/* ---- small text helpers ---- */

static unsigned char ascii_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

static int compare_ignoring_case(const char *a, size_t a_length, const char *b, size_t b_length)
{
    size_t shorter = a_length < b_length ? a_length : b_length;
    for (size_t i = 0; i < shorter; i++) {
        unsigned char x = ascii_lower((unsigned char)a[i]), y = ascii_lower((unsigned char)b[i]);
        if (x != y)
            return x < y ? -1 : 1;
    }
    return a_length < b_length ? -1 : a_length > b_length;
}

static int equals_ignoring_case(const char *a, size_t a_length, const char *lower, size_t length)
{
    return a_length == length && compare_ignoring_case(a, a_length, lower, length) == 0;
}

static int starts_with_ignoring_case(const char *a, size_t a_length, const char *lower, size_t length)
{
    return a_length >= length && compare_ignoring_case(a, length, lower, length) == 0;
}

static int compare_bytes(const char *a, size_t a_length, const char *b, size_t b_length)
{
    int order = memcmp(a, b, a_length < b_length ? a_length : b_length);
    if (order != 0)
        return order;
    return a_length < b_length ? -1 : a_length > b_length;
}

/* CR, LF and NUL would end a header line early or cut a C string: such text is never signed or sent. */
static int has_control_character(const char *text, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        if (text[i] == '\r' || text[i] == '\n' || text[i] == '\0')
            return 1;
    }
    return 0;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\v' || c == '\f';
}

static const char *trim(const char *text, size_t *length)
{
    size_t end = *length, start = 0;
    while (start < end && is_blank(text[start]))
        start++;
    while (end > start && is_blank(text[end - 1]))
        end--;
    *length = end - start;
    return text + start;
}

static void append_lower(oss_buffer *buffer, const char *text, size_t length)
{
    if (!oss_buffer_reserve(buffer, length))
        return;
    char *out = buffer->data + buffer->length;
    for (size_t i = 0; i < length; i++)
        out[i] = (char)ascii_lower((unsigned char)text[i]);
    buffer->length += length;
}

static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.' || c == '~';
}

/* RFC 3986 percent-encoding with upper-case hex, as both V4 and the service's URL parser expect. */
static void append_uri_encoded(oss_buffer *buffer, const char *text, size_t length, int keep_slash)
{
    static const char digits[] = "0123456789ABCDEF";
    if (length > ((size_t)-1) / 3) {
        buffer->failed = 1;
        return;
    }
    if (!oss_buffer_reserve(buffer, length * 3))
        return;
    char *out = buffer->data + buffer->length;
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)text[i];
        if (is_unreserved(c) || (c == '/' && keep_slash)) {
            *out++ = (char)c;
        } else {
            *out++ = '%';
            *out++ = digits[c >> 4];
            *out++ = digits[c & 15];
        }
    }
    buffer->length = (size_t)(out - buffer->data);
}

/* ---- time ---- */

/* Days since 1970-01-01 to a proleptic Gregorian date, counting in 400-year eras that start on 1 March so the
 * leap day falls at the end of each year. */
static void civil_from_unix(long long seconds, civil_time *out)
{
    long long days = seconds / 86400, rest = seconds % 86400;
    long long shifted = days + 719468; /* days from 0000-03-01 to 1970-01-01 */
    long long era = shifted / 146097;
    long long day_of_era = shifted - era * 146097;
    long long year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    long long day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    long long month_index = (5 * day_of_year + 2) / 153; /* 0 = March */
    out->day = (int)(day_of_year - (153 * month_index + 2) / 5 + 1);
    out->month = (int)(month_index < 10 ? month_index + 3 : month_index - 9);
    out->year = (int)(year_of_era + era * 400 + (out->month <= 2));
    out->hour = (int)(rest / 3600);
    out->minute = (int)(rest / 60 % 60);
    out->second = (int)(rest % 60);
    out->weekday = (int)((days + 4) % 7); /* 1970-01-01 was a Thursday */
}

static char *put_digits(char *out, int value, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        out[i] = (char)('0' + value % 10);
        value /= 10;
    }
    return out + width;
}

/* yyyymmddTHHMMSSZ into out[16]. */
static void format_iso8601(const civil_time *t, char out[16])
{
    char *p = put_digits(out, t->year, 4);
    p = put_digits(p, t->month, 2);
    p = put_digits(p, t->day, 2);
    *p++ = 'T';
    p = put_digits(p, t->hour, 2);
    p = put_digits(p, t->minute, 2);
    p = put_digits(p, t->second, 2);
    *p = 'Z';
}

/* RFC 7231 IMF-fixdate, "Sat, 16 Dec 2023 16:20:57 GMT", into out[29]. */
static void format_http_date(const civil_time *t, char out[29])
{
    static const char days[] = "SunMonTueWedThuFriSat";
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    memcpy(out, days + 3 * t->weekday, 3);
    memcpy(out + 3, ", ", 2);
    char *p = put_digits(out + 5, t->day, 2);
    *p++ = ' ';
    memcpy(p, months + 3 * (t->month - 1), 3);
    p += 3;
    *p++ = ' ';
    p = put_digits(p, t->year, 4);
    *p++ = ' ';
    p = put_digits(p, t->hour, 2);
    *p++ = ':';
    p = put_digits(p, t->minute, 2);
    *p++ = ':';
    p = put_digits(p, t->second, 2);
    memcpy(p, " GMT", 4);
}

/* Reads unix seconds at `index` (misuse raises). */
static void check_time(lua_State *L, int index, const char *where, civil_time *out)
{
    lua_Integer seconds;
    if (!oss_tointeger(L, index, &seconds))
        luaL_error(L, "%s: expected integer unix seconds, got %s", where, luaL_typename(L, index));
    if (seconds < 0 || (long long)seconds > LATEST_TIME)
        luaL_error(L, "%s: out of range (0 to %d-12-31)", where, 9999);
    civil_from_unix((long long)seconds, out);
}

/* ---- sorting ---- */

typedef int (*entry_order)(const void *a, const void *b, const oss_signer *signer);

#define LARGEST_ENTRY (sizeof(header_entry) > sizeof(query_entry) ? sizeof(header_entry) : sizeof(query_entry))

/* A request carries a handful of headers and parameters: insertion sort beats qsort there, needs no
 * allocation, and is linear on the nearly sorted arrays left after the signer adds its own headers. */
static void sort_entries(void *base, size_t count, size_t size, entry_order order, const oss_signer *signer)
{
    unsigned char held[LARGEST_ENTRY];
    unsigned char *bytes = base;
    for (size_t i = 1; i < count; i++) {
        if (order(bytes + (i - 1) * size, bytes + i * size, signer) <= 0)
            continue;
        memcpy(held, bytes + i * size, size);
        size_t j = i;
        while (j > 0 && order(bytes + (j - 1) * size, held, signer) > 0) {
            memcpy(bytes + j * size, bytes + (j - 1) * size, size);
            j--;
        }
        memcpy(bytes + j * size, held, size);
    }
}

static int header_order(const void *a, const void *b, const oss_signer *signer)
{
    const header_entry *x = a, *y = b;
    (void)signer;
    return compare_ignoring_case(x->name, x->name_length, y->name, y->name_length);
}

static int query_order(const void *a, const void *b, const oss_signer *signer)
{
    const query_entry *x = a, *y = b;
    const char *text = signer->text.data;
    return compare_bytes(text + x->key, x->key_length, text + y->key, y->key_length);
}

/* ---- the signer's scratch ---- */

static header_entry *header_at(oss_signer *signer, size_t index)
{
    return (header_entry *)(void *)signer->headers.data + index;
}

static size_t header_count(const oss_signer *signer)
{
    return signer->headers.length / sizeof(header_entry);
}

static query_entry *query_at(oss_signer *signer, size_t index)
{
    return (query_entry *)(void *)signer->params.data + index;
}

static size_t query_count(const oss_signer *signer)
{
    return signer->params.length / sizeof(query_entry);
}

static int scratch_failed(const oss_signer *signer)
{
    return signer->headers.failed || signer->params.failed || signer->text.failed || signer->out.failed;
}

static void reset_scratch(oss_signer *signer)
{
    oss_buffer_reset(&signer->headers);
    oss_buffer_reset(&signer->params);
    oss_buffer_reset(&signer->text);
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

/* ---- query ---- */

typedef enum { QUERY_ENCODED, QUERY_SUB_RESOURCES } query_form;

static int compare_c_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int is_v1_sub_resource(const char *key, size_t length)
{
    if (strlen(key) != length) /* an embedded NUL: not a name on the list */
        return 0;
    if (length >= sizeof OSS_HEADER_PREFIX - 1 && memcmp(key, LITERAL(OSS_HEADER_PREFIX)) == 0)
        return 1;
    return bsearch(&key, v1_sub_resources, sizeof v1_sub_resources / sizeof v1_sub_resources[0],
                   sizeof v1_sub_resources[0], compare_c_strings) != NULL;
}

/* Appends a key or value to signer->text as the form wants it; returns its offset and sets its length. */
static size_t append_query_text(oss_signer *signer, query_form form, const char *text, size_t length,
                                size_t *out_length)
{
    size_t start = signer->text.length;
    if (form == QUERY_ENCODED)
        append_uri_encoded(&signer->text, text, length, 0);
    else
        oss_buffer_append(&signer->text, text, length);
    *out_length = signer->text.length - start;
    return start;
}

/* Copies the query map at `index` into signer->params and signer->text, sorted by (encoded) key. Misuse raises;
 * with `refuse_controls`, a CR, LF or NUL pushes a message and returns 0. */
static int collect_query(lua_State *L, oss_signer *signer, int index, query_form form, int refuse_controls)
{
    if (lua_isnil(L, index))
        return 1;
    lua_pushnil(L);
    while (lua_next(L, index)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L, "query: parameter names must be strings, got %s", luaL_typename(L, -2));
        size_t key_length, value_length;
        const char *key = lua_tolstring(L, -2, &key_length);
        if (refuse_controls && has_control_character(key, key_length)) {
            lua_pushliteral(L, "query: a parameter name contains a control character");
            return 0;
        }
        int value_type = lua_type(L, -1);
        if (value_type != LUA_TSTRING && value_type != LUA_TNUMBER)
            luaL_error(L, "query.%s: expected a string, got %s", key, lua_typename(L, value_type));
        const char *value = lua_tolstring(L, -1, &value_length); /* converts a number in its stack slot only */
        if (refuse_controls && has_control_character(value, value_length)) {
            lua_pushfstring(L, "query.%s: contains a control character", key);
            return 0;
        }
        if (form == QUERY_ENCODED || is_v1_sub_resource(key, key_length)) {
            query_entry entry;
            entry.key = append_query_text(signer, form, key, key_length, &entry.key_length);
            entry.value = append_query_text(signer, form, value, value_length, &entry.value_length);
            oss_buffer_append(&signer->params, &entry, sizeof entry);
        }
        lua_pop(L, 1); /* only now: a number's string lives in this stack slot */
    }
    if (!signer->params.failed)
        sort_entries(signer->params.data, query_count(signer), sizeof(query_entry), query_order, signer);
    return 1;
}

/* k=v&k&...: a parameter with an empty value has no "=". */
static void append_query(oss_signer *signer, oss_buffer *out)
{
    size_t count = query_count(signer);
    for (size_t i = 0; i < count; i++) {
        const query_entry *entry = query_at(signer, i);
        if (i > 0)
            oss_buffer_append_char(out, '&');
        oss_buffer_append(out, signer->text.data + entry->key, entry->key_length);
        if (entry->value_length > 0) {
            oss_buffer_append_char(out, '=');
            oss_buffer_append(out, signer->text.data + entry->value, entry->value_length);
        }
    }
}

/* ---- OpenSSL contexts ---- */

static void release_crypto(oss_signer *signer)
{
    EVP_MAC_CTX_free(signer->v4_mac);
    EVP_MAC_CTX_free(signer->v1_mac);
    EVP_MAC_free(signer->hmac);
    EVP_MD_CTX_free(signer->digest);
    EVP_MD_free(signer->sha256);
    signer->v4_mac = signer->v1_mac = NULL;
    signer->hmac = NULL;
    signer->digest = NULL;
    signer->sha256 = NULL;
}

static EVP_MAC_CTX *new_hmac_context(EVP_MAC *hmac, const char *digest_name)
{
    EVP_MAC_CTX *context = EVP_MAC_CTX_new(hmac);
    OSSL_PARAM params[2];
    /* OSSL_PARAM only reads the name; its field is not const-qualified. */
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest_name, 0);
    params[1] = OSSL_PARAM_construct_end();
    if (context != NULL && !EVP_MAC_CTX_set_params(context, params)) {
        EVP_MAC_CTX_free(context);
        return NULL;
    }
    return context;
}

static int acquire_crypto(oss_signer *signer)
{
    if (signer->v1_mac != NULL)
        return 1;
    signer->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    signer->digest = EVP_MD_CTX_new();
    signer->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (signer->sha256 != NULL && signer->digest != NULL && signer->hmac != NULL) {
        signer->v4_mac = new_hmac_context(signer->hmac, "SHA256");
        signer->v1_mac = new_hmac_context(signer->hmac, "SHA1");
    }
    if (signer->v4_mac == NULL || signer->v1_mac == NULL) {
        release_crypto(signer);
        return 0;
    }
    return 1;
}

static int sha256_with(oss_signer *signer, const void *data, size_t length, unsigned char out[OSS_SHA256_SIZE])
{
    unsigned int out_length = 0;
    return EVP_DigestInit_ex2(signer->digest, signer->sha256, NULL) &&
           EVP_DigestUpdate(signer->digest, data, length) &&
           EVP_DigestFinal_ex(signer->digest, out, &out_length);
}

/* A NULL key reuses the context's previous key, which skips rebuilding the HMAC pads. */
static int hmac_with(EVP_MAC_CTX *context, const void *key, size_t key_length, const void *data, size_t length,
                     unsigned char *out, size_t out_size)
{
    size_t out_length = 0;
    return EVP_MAC_init(context, key, key_length, NULL) && EVP_MAC_update(context, data, length) &&
           EVP_MAC_final(context, out, &out_length, out_size);
}

/* ---- headers ---- */

/* Index of each known header in signer->headers, or -1. */
typedef struct {
    long at[KNOWN_COUNT];
} known_headers;

/* V1 signs the x-oss-* headers; V4 also content-type and content-md5, plus the additional ones it is asked to. */
static int default_role(const char *name, size_t length, int v4)
{
    int by_default = starts_with_ignoring_case(name, length, LITERAL(OSS_HEADER_PREFIX)) ||
                     (v4 && (equals_ignoring_case(name, length, LITERAL("content-type")) ||
                             equals_ignoring_case(name, length, LITERAL("content-md5"))));
    return by_default ? SIGNED_BY_DEFAULT : UNSIGNED_HEADER;
}

/* Collects the header map at `index`, sorted by lower-cased name, and finds the known ones. Misuse (a non-string
 * name or value, two spellings of one name) raises; a CR, LF or NUL pushes a message and returns 0. */
static int collect_headers(lua_State *L, oss_signer *signer, int index, known_headers *known, int v4)
{
    lua_pushnil(L);
    while (lua_next(L, index)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L, "headers: names must be strings, got %s", luaL_typename(L, -2));
        header_entry entry;
        entry.name = lua_tolstring(L, -2, &entry.name_length);
        if (has_control_character(entry.name, entry.name_length)) {
            lua_pushliteral(L, "headers: a name contains a control character");
            return 0;
        }
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "headers.%s: expected a string, got %s", entry.name, luaL_typename(L, -1));
        size_t raw_length;
        const char *raw = lua_tolstring(L, -1, &raw_length);
        if (has_control_character(raw, raw_length)) {
            lua_pushfstring(L, "headers.%s: contains a control character", entry.name);
            return 0;
        }
        entry.empty = raw_length == 0;
        entry.value_length = raw_length;
        entry.value = trim(raw, &entry.value_length);
        entry.role = default_role(entry.name, entry.name_length, v4);
        oss_buffer_append(&signer->headers, &entry, sizeof entry);
        lua_pop(L, 1);
    }
    if (signer->headers.failed)
        return 1; /* the caller reports the allocation failure */
    size_t count = header_count(signer);
    sort_entries(signer->headers.data, count, sizeof(header_entry), header_order, signer);
    for (int k = 0; k < KNOWN_COUNT; k++)
        known->at[k] = -1;
    for (size_t i = 0; i < count; i++) {
        const header_entry *entry = header_at(signer, i);
        if (i > 0) {
            const header_entry *previous = header_at(signer, i - 1);
            if (header_order(previous, entry, signer) == 0)
                luaL_error(L, "headers: \"%s\" and \"%s\" name the same header", previous->name, entry->name);
        }
        for (int k = 0; k < KNOWN_COUNT; k++) {
            if (equals_ignoring_case(entry->name, entry->name_length, known_names[k].lower, known_names[k].length))
                known->at[k] = (long)i;
        }
    }
    return 1;
}

/* Marks the additional headers (V4) that are present with a value and not signed anyway. Returns their count. */
static size_t mark_additional(lua_State *L, oss_signer *signer, int additional)
{
    size_t count = header_count(signer), found = 0;
    if (additional == 0 || lua_isnil(L, additional))
        return 0;
    size_t listed = oss_rawlen(L, additional);
    for (size_t n = 1; n <= listed; n++) {
        lua_rawgeti(L, additional, (int)n);
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "request.additional_headers[%d]: expected a string, got %s", (int)n,
                       luaL_typename(L, -1));
        size_t length;
        const char *name = lua_tolstring(L, -1, &length);
        for (size_t i = 0; i < count; i++) {
            header_entry *entry = header_at(signer, i);
            if (entry->role == UNSIGNED_HEADER && !entry->empty &&
                compare_ignoring_case(entry->name, entry->name_length, name, length) == 0) {
                entry->role = SIGNED_AS_ADDITIONAL;
                found++;
            }
        }
        lua_pop(L, 1);
    }
    return found;
}

/* Sets a known header in the map (under the spelling already there, if any) and in signer->headers, leaving the
 * entries unsorted when one is added. Returns the value as the map now holds it. */
static const char *set_header(lua_State *L, oss_signer *signer, int headers_index, known_headers *known, int which,
                              const char *value, size_t length)
{
    long at = known->at[which];
    if (at >= 0)
        lua_pushlstring(L, header_at(signer, (size_t)at)->name, header_at(signer, (size_t)at)->name_length);
    else
        lua_pushstring(L, known_names[which].spelling);
    lua_pushlstring(L, value, length);
    const char *held = lua_tostring(L, -1);
    lua_rawset(L, headers_index); /* the map keeps `held` alive */
    header_entry added;
    header_entry *entry = at >= 0 ? header_at(signer, (size_t)at) : &added;
    entry->value = held;
    entry->value_length = length;
    entry->empty = length == 0;
    if (at < 0) {
        added.name = known_names[which].spelling;
        added.name_length = known_names[which].length;
        /* The signer only adds x-oss-* headers, signed by both versions, and Date, signed by neither. */
        added.role = default_role(added.name, added.name_length, 0);
        oss_buffer_append(&signer->headers, &added, sizeof added);
        known->at[which] = (long)header_count(signer) - 1;
    }
    return held;
}

/* The map's own spelling of Authorization, if it has one. Read before the entries are sorted again. */
static const char *authorization_name(oss_signer *signer, const known_headers *known)
{
    long at = known->at[KNOWN_AUTHORIZATION];
    return at >= 0 ? header_at(signer, (size_t)at)->name : known_names[KNOWN_AUTHORIZATION].spelling;
}

static void resort_headers(oss_signer *signer)
{
    if (!signer->headers.failed)
        sort_entries(signer->headers.data, header_count(signer), sizeof(header_entry), header_order, signer);
}

/* name:value\n for each signed header, in sorted order. */
static void append_signed_headers(oss_signer *signer, oss_buffer *out)
{
    size_t count = header_count(signer);
    for (size_t i = 0; i < count; i++) {
        const header_entry *entry = header_at(signer, i);
        if (entry->role == UNSIGNED_HEADER)
            continue;
        append_lower(out, entry->name, entry->name_length);
        oss_buffer_append_char(out, ':');
        oss_buffer_append(out, entry->value, entry->value_length);
        oss_buffer_append_char(out, '\n');
    }
}

/* a;b: the additional headers, lower-cased, sorted and unique because the entries are. */
static void append_additional_list(oss_signer *signer, oss_buffer *out)
{
    size_t count = header_count(signer);
    int first = 1;
    for (size_t i = 0; i < count; i++) {
        const header_entry *entry = header_at(signer, i);
        if (entry->role != SIGNED_AS_ADDITIONAL)
            continue;
        if (!first)
            oss_buffer_append_char(out, ';');
        append_lower(out, entry->name, entry->name_length);
        first = 0;
    }
}

/* ---- request fields ---- */

/* The request's fields, left on the Lua stack so every pointer here stays valid for the call. */
typedef struct {
    const char *method, *bucket, *key, *region, *access_key_id, *secret, *token;
    size_t method_length, bucket_length, key_length, region_length, access_key_id_length, secret_length,
        token_length;
    int query, headers, additional; /* stack indices; additional is 0 for V1 */
    civil_time time;
    known_headers known;
} signing_input;

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

static int field_table(lua_State *L, int table, const char *field, int required)
{
    lua_getfield(L, table, field);
    int type = lua_type(L, -1);
    if (type != LUA_TTABLE && (required || type != LUA_TNIL))
        luaL_error(L, "request.%s: expected a table, got %s", field, lua_typename(L, type));
    return lua_gettop(L);
}

/* Reads request (index 2) and credentials (index 3). Misuse raises; a control character in anything that is sent
 * as-is pushes a message and returns 0. */
static int read_fields(lua_State *L, signing_input *in, int v4)
{
    luaL_checktype(L, 2, LUA_TTABLE);
    luaL_checktype(L, 3, LUA_TTABLE);
    in->method = field_string(L, 2, "request", "method", 1, &in->method_length);
    in->bucket = field_string(L, 2, "request", "bucket", 0, &in->bucket_length);
    in->key = field_string(L, 2, "request", "key", 0, &in->key_length);
    if (in->bucket != NULL && in->bucket_length == 0)
        luaL_error(L, "request.bucket: must not be empty");
    if (in->key != NULL && in->bucket == NULL)
        luaL_error(L, "request.key: needs a bucket");
    in->region = v4 ? field_string(L, 2, "request", "region", 1, &in->region_length) : NULL;
    if (!v4)
        in->region_length = 0;
    lua_getfield(L, 2, "time");
    check_time(L, -1, "request.time", &in->time);
    in->query = field_table(L, 2, "query", 0);
    in->headers = field_table(L, 2, "headers", 1);
    in->additional = v4 ? field_table(L, 2, "additional_headers", 0) : 0;
    in->access_key_id = field_string(L, 3, "credentials", "access_key_id", 1, &in->access_key_id_length);
    in->secret = field_string(L, 3, "credentials", "access_key_secret", 1, &in->secret_length);
    in->token = field_string(L, 3, "credentials", "security_token", 0, &in->token_length);
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
        if (sent[i].text != NULL && has_control_character(sent[i].text, sent[i].length)) {
            lua_pushfstring(L, "%s: contains a control character", sent[i].where);
            return 0;
        }
    }
    return 1;
}

static oss_signer *check_signer(lua_State *L)
{
    oss_signer *signer = luaL_checkudata(L, 1, OSS_SIGNER_TYPE);
    if (signer->closed)
        luaL_error(L, "%s: used after close", OSS_SIGNER_TYPE);
    if (!acquire_crypto(signer))
        luaL_error(L, "%s: OpenSSL could not set up SHA-256 and HMAC", OSS_SIGNER_TYPE);
    return signer;
}

/* Reads and checks everything before the map is touched: on 0 the message is on top of the stack and the request
 * is as it was. Misuse raises. */
static int prepare(lua_State *L, oss_signer *signer, signing_input *in, int v4)
{
    reset_scratch(signer);
    if (!read_fields(L, in, v4) ||
        !collect_query(L, signer, in->query, v4 ? QUERY_ENCODED : QUERY_SUB_RESOURCES, 1) ||
        !collect_headers(L, signer, in->headers, &in->known, v4))
        return 0;
    if (scratch_failed(signer)) {
        lua_pushstring(L, v4 ? "sign_v4: out of memory" : "sign_v1: out of memory");
        return 0;
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
        append_uri_encoded(out, in->bucket, in->bucket_length, 1);
    else
        oss_buffer_append(out, in->bucket, in->bucket_length);
    oss_buffer_append_char(out, '/');
    if (in->key != NULL && encode)
        append_uri_encoded(out, in->key, in->key_length, 1);
    else if (in->key != NULL)
        oss_buffer_append(out, in->key, in->key_length);
}

/* Pushes the Authorization value and stores it in the map under `name`; the value stays on the stack. */
static void push_authorization(lua_State *L, const signing_input *in, const char *name, const char *value,
                               size_t length)
{
    lua_pushlstring(L, value, length);
    lua_pushstring(L, name);
    lua_pushvalue(L, -2);
    lua_rawset(L, in->headers);
}

/* ---- V4 ---- */

static void cleanse_key(oss_signer *signer)
{
    OPENSSL_cleanse(signer->key, sizeof signer->key);
    OPENSSL_cleanse(signer->secret_digest, sizeof signer->secret_digest);
    signer->key_valid = 0;
}

/* HMAC-SHA256 chain from "aliyun_v4" .. secret over date, region, "oss", "aliyun_v4_request". */
static int derive_signing_key(const signing_input *in, const char *date, unsigned char out[OSS_SHA256_SIZE])
{
    unsigned char on_stack[256];
    size_t prefix = sizeof V4_KEY_PREFIX - 1, total = prefix + in->secret_length;
    unsigned char *material = total <= sizeof on_stack ? on_stack : malloc(total);
    if (material == NULL)
        return 0;
    memcpy(material, V4_KEY_PREFIX, prefix);
    memcpy(material + prefix, in->secret, in->secret_length);
    unsigned char date_key[OSS_SHA256_SIZE], region_key[OSS_SHA256_SIZE], product_key[OSS_SHA256_SIZE];
    int ok = oss_hmac_sha256(material, total, date, 8, date_key) &&
             oss_hmac_sha256(date_key, sizeof date_key, in->region, in->region_length, region_key) &&
             oss_hmac_sha256(region_key, sizeof region_key, V4_PRODUCT, sizeof V4_PRODUCT - 1, product_key) &&
             oss_hmac_sha256(product_key, sizeof product_key, V4_TERMINATOR, sizeof V4_TERMINATOR - 1, out);
    OPENSSL_cleanse(material, total);
    OPENSSL_cleanse(date_key, sizeof date_key);
    OPENSSL_cleanse(region_key, sizeof region_key);
    OPENSSL_cleanse(product_key, sizeof product_key);
    if (material != on_stack)
        free(material);
    return ok;
}

/* Leaves v4_mac keyed for (secret, date, region), deriving the key only when one of them changed. */
static int ensure_signing_key(oss_signer *signer, const signing_input *in, const char *date)
{
    unsigned char digest[OSS_SHA256_SIZE];
    if (!sha256_with(signer, in->secret, in->secret_length, digest))
        return 0;
    int same = signer->key_valid && CRYPTO_memcmp(digest, signer->secret_digest, sizeof digest) == 0 &&
               memcmp(date, signer->key_date, sizeof signer->key_date) == 0 &&
               signer->key_region.length == in->region_length &&
               memcmp(signer->key_region.data, in->region, in->region_length) == 0;
    int ok = same;
    if (!same) {
        cleanse_key(signer);
        oss_buffer_reset(&signer->key_region);
        oss_buffer_append(&signer->key_region, in->region, in->region_length);
        ok = !signer->key_region.failed && derive_signing_key(in, date, signer->key) &&
             EVP_MAC_init(signer->v4_mac, signer->key, sizeof signer->key, NULL);
        if (ok) {
            memcpy(signer->secret_digest, digest, sizeof digest);
            memcpy(signer->key_date, date, sizeof signer->key_date);
            signer->key_valid = 1;
        } else {
            cleanse_key(signer);
        }
    }
    OPENSSL_cleanse(digest, sizeof digest);
    return ok;
}

static void append_scope(oss_buffer *out, const char *date, const signing_input *in)
{
    oss_buffer_append(out, date, 8);
    oss_buffer_append_char(out, '/');
    oss_buffer_append(out, in->region, in->region_length);
    oss_buffer_append_string(out, "/" V4_PRODUCT "/" V4_TERMINATOR);
}

static void append_v4_canonical_request(oss_signer *signer, const signing_input *in, const char *payload,
                                        size_t payload_length)
{
    oss_buffer *out = &signer->out;
    oss_buffer_append(out, in->method, in->method_length);
    oss_buffer_append_char(out, '\n');
    append_resource_path(out, in, 1);
    oss_buffer_append_char(out, '\n');
    append_query(signer, out);
    oss_buffer_append_char(out, '\n');
    append_signed_headers(signer, out);
    oss_buffer_append_char(out, '\n');
    append_additional_list(signer, out);
    oss_buffer_append_char(out, '\n');
    oss_buffer_append(out, payload, payload_length);
}

/* signer:sign_v4(request, credentials) -> authorization, canonical_request, string_to_sign | nil, message */
static int signer_sign_v4(lua_State *L)
{
    oss_signer *signer = check_signer(L);
    signing_input in;
    if (!prepare(L, signer, &in, 1))
        return fail_with_message(L);
    size_t additional_count = mark_additional(L, signer, in.additional);

    char datetime[16];
    format_iso8601(&in.time, datetime);
    set_header(L, signer, in.headers, &in.known, KNOWN_OSS_DATE, datetime, sizeof datetime);
    if (in.known.at[KNOWN_CONTENT_SHA256] < 0)
        set_header(L, signer, in.headers, &in.known, KNOWN_CONTENT_SHA256, UNSIGNED_PAYLOAD,
                   sizeof UNSIGNED_PAYLOAD - 1);
    if (in.token != NULL)
        set_header(L, signer, in.headers, &in.known, KNOWN_SECURITY_TOKEN, in.token, in.token_length);
    const header_entry *payload = header_at(signer, (size_t)in.known.at[KNOWN_CONTENT_SHA256]);
    const char *payload_value = payload->value; /* copied out: the entry moves when the headers are sorted */
    size_t payload_length = payload->value_length;
    const char *authorization = authorization_name(signer, &in.known);
    resort_headers(signer);

    oss_buffer *out = &signer->out;
    append_v4_canonical_request(signer, &in, payload_value, payload_length);
    size_t canonical_length = out->length;
    unsigned char digest[OSS_SHA256_SIZE];
    if (out->failed || !sha256_with(signer, out->data, canonical_length, digest))
        return fail(L, out->failed ? "sign_v4: out of memory" : "sign_v4: OpenSSL failed");
    oss_buffer_append_string(out, V4_ALGORITHM "\n");
    oss_buffer_append(out, datetime, sizeof datetime);
    oss_buffer_append_char(out, '\n');
    append_scope(out, datetime, &in);
    oss_buffer_append_char(out, '\n');
    oss_buffer_append_hex(out, digest, sizeof digest);
    size_t string_to_sign_length = out->length - canonical_length;
    if (out->failed)
        return fail(L, "sign_v4: out of memory");
    unsigned char signature[OSS_SHA256_SIZE];
    if (!ensure_signing_key(signer, &in, datetime) ||
        !hmac_with(signer->v4_mac, NULL, 0, out->data + canonical_length, string_to_sign_length, signature,
                   sizeof signature))
        return fail(L, signer->key_region.failed ? "sign_v4: out of memory" : "sign_v4: OpenSSL failed");

    size_t authorization_start = out->length;
    oss_buffer_append_string(out, V4_ALGORITHM " Credential=");
    oss_buffer_append(out, in.access_key_id, in.access_key_id_length);
    oss_buffer_append_char(out, '/');
    append_scope(out, datetime, &in);
    if (additional_count > 0) {
        oss_buffer_append_string(out, ",AdditionalHeaders=");
        append_additional_list(signer, out);
    }
    oss_buffer_append_string(out, ",Signature=");
    oss_buffer_append_hex(out, signature, sizeof signature);
    if (out->failed)
        return fail(L, "sign_v4: out of memory");

    push_authorization(L, &in, authorization, out->data + authorization_start, out->length - authorization_start);
    lua_pushlstring(L, out->data, canonical_length);
    lua_pushlstring(L, out->data + canonical_length, string_to_sign_length);
    return 3;
}

/* ---- V1 ---- */

static void append_known_value(oss_buffer *out, oss_signer *signer, const known_headers *known, int which)
{
    if (known->at[which] >= 0) {
        const header_entry *entry = header_at(signer, (size_t)known->at[which]);
        oss_buffer_append(out, entry->value, entry->value_length);
    }
    oss_buffer_append_char(out, '\n');
}

/* signer:sign_v1(request, credentials) -> authorization, string_to_sign | nil, message */
static int signer_sign_v1(lua_State *L)
{
    oss_signer *signer = check_signer(L);
    signing_input in;
    if (!prepare(L, signer, &in, 0))
        return fail_with_message(L);

    if (in.known.at[KNOWN_DATE] < 0) {
        char date[29];
        format_http_date(&in.time, date);
        set_header(L, signer, in.headers, &in.known, KNOWN_DATE, date, sizeof date);
    }
    if (in.token != NULL)
        set_header(L, signer, in.headers, &in.known, KNOWN_SECURITY_TOKEN, in.token, in.token_length);

    oss_buffer *out = &signer->out;
    oss_buffer_append(out, in.method, in.method_length);
    oss_buffer_append_char(out, '\n');
    append_known_value(out, signer, &in.known, KNOWN_CONTENT_MD5);
    append_known_value(out, signer, &in.known, KNOWN_CONTENT_TYPE);
    append_known_value(out, signer, &in.known, KNOWN_DATE);
    const char *authorization = authorization_name(signer, &in.known);
    resort_headers(signer);
    append_signed_headers(signer, out);
    append_resource_path(out, &in, 0);
    if (query_count(signer) > 0) {
        oss_buffer_append_char(out, '?');
        append_query(signer, out);
    }
    size_t string_to_sign_length = out->length;
    unsigned char signature[OSS_SHA1_SIZE];
    if (out->failed)
        return fail(L, "sign_v1: out of memory");
    if (!hmac_with(signer->v1_mac, in.secret, in.secret_length, out->data, string_to_sign_length, signature,
                   sizeof signature))
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
    lua_pushlstring(L, out->data, string_to_sign_length);
    return 2;
}

/* ---- the oss.signer type ---- */

/* close, __close and __gc: idempotent; the cached key is wiped before the memory goes back. */
static int signer_close(lua_State *L)
{
    oss_signer *signer = luaL_checkudata(L, 1, OSS_SIGNER_TYPE);
    cleanse_key(signer);
    OPENSSL_cleanse(signer->key_date, sizeof signer->key_date);
    oss_buffer_free(&signer->headers);
    oss_buffer_free(&signer->params);
    oss_buffer_free(&signer->text);
    oss_buffer_free(&signer->out);
    oss_buffer_free(&signer->key_region);
    release_crypto(signer);
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
    oss_buffer_init(&signer->headers);
    oss_buffer_init(&signer->params);
    oss_buffer_init(&signer->text);
    oss_buffer_init(&signer->out);
    oss_buffer_init(&signer->key_region);
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

static oss_signer *scratch_signer(lua_State *L)
{
    oss_signer *signer = lua_touserdata(L, lua_upvalueindex(1));
    reset_scratch(signer);
    return signer;
}

/* uri_encode(s [, keep_slash]) -> RFC 3986 percent-encoded s */
static int lua_uri_encode(lua_State *L)
{
    size_t length;
    const char *text = luaL_checklstring(L, 1, &length);
    oss_signer *signer = scratch_signer(L);
    append_uri_encoded(&signer->out, text, length, lua_toboolean(L, 2));
    if (signer->out.failed)
        return luaL_error(L, "uri_encode: out of memory");
    lua_pushlstring(L, signer->out.data, signer->out.length);
    return 1;
}

/* canonical_query(map) -> "a=1&b&c%2F=x": encoded, sorted by encoded key */
static int lua_canonical_query(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    oss_signer *signer = scratch_signer(L);
    collect_query(L, signer, 1, QUERY_ENCODED, 0);
    append_query(signer, &signer->out);
    if (scratch_failed(signer))
        return luaL_error(L, "canonical_query: out of memory");
    lua_pushlstring(L, signer->out.data, signer->out.length);
    return 1;
}

/* iso8601_time(t) -> "20231216T162057Z" */
static int lua_iso8601_time(lua_State *L)
{
    civil_time time;
    char text[16];
    check_time(L, 1, "iso8601_time", &time);
    format_iso8601(&time, text);
    lua_pushlstring(L, text, sizeof text);
    return 1;
}

/* http_date(t) -> "Sat, 16 Dec 2023 16:20:57 GMT" */
static int lua_http_date(lua_State *L)
{
    civil_time time;
    char text[29];
    check_time(L, 1, "http_date", &time);
    format_http_date(&time, text);
    lua_pushlstring(L, text, sizeof text);
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
        {"close", signer_close},
        {NULL, NULL},
    };
    if (luaL_newmetatable(L, OSS_SIGNER_TYPE)) {
        oss_setfuncs(L, metamethods);
        lua_newtable(L);
        oss_setfuncs(L, methods);
        lua_setfield(L, -2, "__index");
        lua_pushliteral(L, "locked");
        lua_setfield(L, -2, "__metatable");
    }
    lua_pop(L, 1);
    lua_pushcfunction(L, signer_new);
    lua_setfield(L, -2, "signer");
    push_signer(L);
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, lua_uri_encode, 1);
    lua_setfield(L, -3, "uri_encode");
    lua_pushcclosure(L, lua_canonical_query, 1);
    lua_setfield(L, -2, "canonical_query");
    lua_pushcfunction(L, lua_iso8601_time);
    lua_setfield(L, -2, "iso8601_time");
    lua_pushcfunction(L, lua_http_date);
    lua_setfield(L, -2, "http_date");
}
