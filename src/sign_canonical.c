/* A request's query and headers in the canonical forms V4 and V1 sign: which count, their spelling and order. */
#include "sign_canonical.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "compat.h"
#include "uri_encode.h"

#define OSS_HEADER_PREFIX "x-oss-"

/* Whether and why a header goes into the V4 canonical headers. */
enum { UNSIGNED_HEADER, SIGNED_BY_DEFAULT, SIGNED_AS_ADDITIONAL };

/* One query parameter, its key and value copied into the text buffer (offsets survive a realloc). */
typedef struct {
    size_t key, key_length;
    size_t value, value_length;
} query_entry;

#define LITERAL(text) text, sizeof text - 1

/* Lower-cased name, its length, and the spelling the header gets when the signer adds it. */
static const struct {
    const char *lower;
    size_t length;
    const char *spelling;
} known_names[OSS_KNOWN_COUNT] = {
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

/* ---- small text helpers ---- */

static unsigned char ascii_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

static inline int compare_ignoring_case(const char *a, size_t a_length, const char *b, size_t b_length)
{
    size_t shorter = a_length < b_length ? a_length : b_length;
    for (size_t i = 0; i < shorter; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x == y) /* the usual case: names share prefixes such as x-oss- and content- */
            continue;
        x = ascii_lower(x);
        y = ascii_lower(y);
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
int oss_has_control_character(const char *text, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        if (text[i] == '\r' || text[i] == '\n' || text[i] == '\0')
            return 1;
    }
    return 0;
}

int oss_sign_refuse(lua_State *L, const char *reason, const char *path_format, ...)
{
    va_list arguments;
    lua_pushnil(L);
    lua_pushstring(L, reason);
    va_start(arguments, path_format);
    lua_pushvfstring(L, path_format, arguments);
    va_end(arguments);
    return 3;
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

/* ---- sorting ---- */

typedef int (*entry_order)(const void *a, const void *b, const oss_canonical *canonical);

#define LARGEST_ENTRY                                                                                              \
    (sizeof(oss_header_entry) > sizeof(query_entry) ? sizeof(oss_header_entry) : sizeof(query_entry))

/* A request carries a handful of headers and parameters: insertion sort beats qsort there, needs no
 * allocation, and is linear on the nearly sorted arrays left after the signer adds its own headers. */
static inline void sort_entries(void *base, size_t count, size_t size, entry_order order,
                                const oss_canonical *canonical)
{
    unsigned char held[LARGEST_ENTRY];
    unsigned char *bytes = base;
    for (size_t i = 1; i < count; i++) {
        if (order(bytes + (i - 1) * size, bytes + i * size, canonical) <= 0)
            continue;
        memcpy(held, bytes + i * size, size);
        size_t j = i;
        while (j > 0 && order(bytes + (j - 1) * size, held, canonical) > 0) {
            memcpy(bytes + j * size, bytes + (j - 1) * size, size);
            j--;
        }
        memcpy(bytes + j * size, held, size);
    }
}

static int header_order(const void *a, const void *b, const oss_canonical *canonical)
{
    const oss_header_entry *x = a, *y = b;
    (void)canonical;
    return compare_ignoring_case(x->name, x->name_length, y->name, y->name_length);
}

static int query_order(const void *a, const void *b, const oss_canonical *canonical)
{
    const query_entry *x = a, *y = b;
    const char *text = canonical->text.data;
    return compare_bytes(text + x->key, x->key_length, text + y->key, y->key_length);
}

/* ---- the entries ---- */

oss_header_entry *oss_canonical_header_at(oss_canonical *canonical, size_t index)
{
    return (oss_header_entry *)(void *)canonical->headers.data + index;
}

static size_t header_count(const oss_canonical *canonical)
{
    return canonical->headers.length / sizeof(oss_header_entry);
}

static query_entry *query_at(oss_canonical *canonical, size_t index)
{
    return (query_entry *)(void *)canonical->params.data + index;
}

size_t oss_canonical_query_count(const oss_canonical *canonical)
{
    return canonical->params.length / sizeof(query_entry);
}

/* ---- query ---- */

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

/* Appends a key or value to canonical->text as the form wants it; returns its offset and sets its length. */
static size_t append_query_text(oss_canonical *canonical, oss_query_form form, const char *text, size_t length,
                                size_t *out_length)
{
    size_t start = canonical->text.length;
    if (form == OSS_QUERY_ENCODED)
        oss_uri_encode(&canonical->text, text, length, 0);
    else
        oss_buffer_append(&canonical->text, text, length);
    *out_length = canonical->text.length - start;
    return start;
}

/* Copies the query map at `index` into canonical->params and canonical->text, sorted by (encoded) key. */
int oss_canonical_collect_query(lua_State *L, oss_canonical *canonical, int index, oss_query_form form,
                                int refuse_controls)
{
    if (lua_isnil(L, index))
        return 0;
    lua_pushnil(L);
    while (lua_next(L, index)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L, "query: parameter names must be strings, got %s", luaL_typename(L, -2));
        size_t key_length, value_length;
        const char *key = lua_tolstring(L, -2, &key_length);
        if (refuse_controls && oss_has_control_character(key, key_length))
            return oss_sign_refuse(L, "a parameter name contains a control character", "query");
        int value_type = lua_type(L, -1);
        if (value_type != LUA_TSTRING && value_type != LUA_TNUMBER)
            luaL_error(L, "query.%s: expected a string, got %s", key, lua_typename(L, value_type));
        /* A number is converted on the stack, not in the caller's table, and `value` points into that string. */
        const char *value = lua_tolstring(L, -1, &value_length);
        if (refuse_controls && oss_has_control_character(value, value_length))
            return oss_sign_refuse(L, "contains a control character", "query.%s", key);
        if (form == OSS_QUERY_ENCODED || is_v1_sub_resource(key, key_length)) {
            query_entry entry;
            entry.key = append_query_text(canonical, form, key, key_length, &entry.key_length);
            entry.value = append_query_text(canonical, form, value, value_length, &entry.value_length);
            oss_buffer_append(&canonical->params, &entry, sizeof entry);
        }
        lua_pop(L, 1); /* only once `value` is copied into the canonical query */
    }
    if (!canonical->params.failed)
        sort_entries(canonical->params.data, oss_canonical_query_count(canonical), sizeof(query_entry), query_order,
                     canonical);
    return 0;
}

/* k=v&k&...: a parameter with an empty value has no "=". */
void oss_canonical_append_query(oss_canonical *canonical, oss_buffer *out)
{
    size_t count = oss_canonical_query_count(canonical);
    for (size_t i = 0; i < count; i++) {
        const query_entry *entry = query_at(canonical, i);
        if (i > 0)
            oss_buffer_append_char(out, '&');
        oss_buffer_append(out, canonical->text.data + entry->key, entry->key_length);
        if (entry->value_length > 0) {
            oss_buffer_append_char(out, '=');
            oss_buffer_append(out, canonical->text.data + entry->value, entry->value_length);
        }
    }
}

/* ---- headers ---- */

/* V1 signs the x-oss-* headers; V4 also content-type and content-md5, plus the additional ones it is asked to. */
static int default_role(const char *name, size_t length, int v4)
{
    int by_default = starts_with_ignoring_case(name, length, LITERAL(OSS_HEADER_PREFIX)) ||
                     (v4 && (equals_ignoring_case(name, length, LITERAL("content-type")) ||
                             equals_ignoring_case(name, length, LITERAL("content-md5"))));
    return by_default ? SIGNED_BY_DEFAULT : UNSIGNED_HEADER;
}

int oss_canonical_collect_headers(lua_State *L, oss_canonical *canonical, int index, oss_known_headers *known,
                                  int v4)
{
    lua_pushnil(L);
    while (lua_next(L, index)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L, "headers: names must be strings, got %s", luaL_typename(L, -2));
        oss_header_entry entry;
        entry.name = lua_tolstring(L, -2, &entry.name_length);
        if (oss_has_control_character(entry.name, entry.name_length))
            return oss_sign_refuse(L, "a name contains a control character", "headers");
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "headers.%s: expected a string, got %s", entry.name, luaL_typename(L, -1));
        size_t raw_length;
        const char *raw = lua_tolstring(L, -1, &raw_length);
        if (oss_has_control_character(raw, raw_length))
            return oss_sign_refuse(L, "contains a control character", "headers.%s", entry.name);
        entry.empty = raw_length == 0;
        entry.value_length = raw_length;
        entry.value = trim(raw, &entry.value_length);
        entry.role = default_role(entry.name, entry.name_length, v4);
        oss_buffer_append(&canonical->headers, &entry, sizeof entry);
        lua_pop(L, 1);
    }
    if (canonical->headers.failed)
        return 0; /* the caller reports the allocation failure */
    size_t count = header_count(canonical);
    sort_entries(canonical->headers.data, count, sizeof(oss_header_entry), header_order, canonical);
    for (int k = 0; k < OSS_KNOWN_COUNT; k++)
        known->at[k] = -1;
    for (size_t i = 0; i < count; i++) {
        const oss_header_entry *entry = oss_canonical_header_at(canonical, i);
        if (i > 0) {
            const oss_header_entry *previous = oss_canonical_header_at(canonical, i - 1);
            if (header_order(previous, entry, canonical) == 0)
                luaL_error(L, "headers: \"%s\" and \"%s\" name the same header", previous->name, entry->name);
        }
        for (int k = 0; k < OSS_KNOWN_COUNT; k++) {
            if (equals_ignoring_case(entry->name, entry->name_length, known_names[k].lower, known_names[k].length))
                known->at[k] = (long)i;
        }
    }
    return 0;
}

/* Marks the additional headers (V4) that are present with a value and not signed anyway. Returns their count. */
size_t oss_canonical_mark_additional(lua_State *L, oss_canonical *canonical, int additional)
{
    size_t count = header_count(canonical), found = 0;
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
            oss_header_entry *entry = oss_canonical_header_at(canonical, i);
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

/* Pushes the name a known header is stored under: the map's own spelling, else the one the signer gives it. */
static void push_known_name(lua_State *L, oss_canonical *canonical, const oss_known_headers *known, int which)
{
    long at = known->at[which];
    if (at >= 0) {
        const oss_header_entry *entry = oss_canonical_header_at(canonical, (size_t)at);
        lua_pushlstring(L, entry->name, entry->name_length);
    } else {
        lua_pushstring(L, known_names[which].spelling);
    }
}

const char *oss_canonical_set_header_at(lua_State *L, oss_canonical *canonical, int headers_index,
                                        oss_known_headers *known, int which, int value_index, int v4)
{
    long at = known->at[which];
    size_t length;
    push_known_name(L, canonical, known, which);
    const char *held = lua_tolstring(L, value_index, &length);
    lua_pushvalue(L, value_index);
    lua_rawset(L, headers_index); /* the map keeps `held` alive */
    oss_header_entry added;
    oss_header_entry *entry = at >= 0 ? oss_canonical_header_at(canonical, (size_t)at) : &added;
    entry->value = held;
    entry->value_length = length;
    entry->empty = length == 0;
    if (at < 0) {
        added.name = known_names[which].spelling;
        added.name_length = known_names[which].length;
        added.role = default_role(added.name, added.name_length, v4);
        oss_buffer_append(&canonical->headers, &added, sizeof added);
        known->at[which] = (long)header_count(canonical) - 1;
    }
    return held;
}

const char *oss_canonical_set_header(lua_State *L, oss_canonical *canonical, int headers_index,
                                     oss_known_headers *known, int which, const char *value, size_t length, int v4)
{
    lua_pushlstring(L, value, length);
    const char *held = oss_canonical_set_header_at(L, canonical, headers_index, known, which, lua_gettop(L), v4);
    lua_pop(L, 1); /* the map holds the value now */
    return held;
}

void oss_canonical_push_authorization_name(lua_State *L, oss_canonical *canonical, const oss_known_headers *known)
{
    push_known_name(L, canonical, known, OSS_KNOWN_AUTHORIZATION);
}

void oss_canonical_resort_headers(oss_canonical *canonical)
{
    if (!canonical->headers.failed)
        sort_entries(canonical->headers.data, header_count(canonical), sizeof(oss_header_entry), header_order,
                     canonical);
}

/* name:value\n for each signed header, in sorted order: each line claimed at once and written in place. */
void oss_canonical_append_signed_headers(oss_canonical *canonical, oss_buffer *out)
{
    size_t count = header_count(canonical);
    for (size_t i = 0; i < count; i++) {
        const oss_header_entry *entry = oss_canonical_header_at(canonical, i);
        if (entry->role == UNSIGNED_HEADER)
            continue;
        /* Both lengths are those of strings in memory, so their sum plus two cannot wrap. */
        if (!oss_buffer_reserve(out, entry->name_length + entry->value_length + 2))
            return;
        char *line = out->data + out->length;
        for (size_t k = 0; k < entry->name_length; k++)
            line[k] = (char)ascii_lower((unsigned char)entry->name[k]);
        line += entry->name_length;
        *line++ = ':';
        if (entry->value_length > 0)
            memcpy(line, entry->value, entry->value_length);
        line[entry->value_length] = '\n';
        out->length += entry->name_length + entry->value_length + 2;
    }
}

/* a;b: the additional headers, lower-cased, sorted and unique because the entries are. */
void oss_canonical_append_additional_list(oss_canonical *canonical, oss_buffer *out)
{
    size_t count = header_count(canonical);
    int first = 1;
    for (size_t i = 0; i < count; i++) {
        const oss_header_entry *entry = oss_canonical_header_at(canonical, i);
        if (entry->role != SIGNED_AS_ADDITIONAL)
            continue;
        if (!first)
            oss_buffer_append_char(out, ';');
        append_lower(out, entry->name, entry->name_length);
        first = 0;
    }
}

/* ---- the buffers ---- */

void oss_canonical_init(oss_canonical *canonical)
{
    oss_buffer_init(&canonical->headers);
    oss_buffer_init(&canonical->params);
    oss_buffer_init(&canonical->text);
}

void oss_canonical_free(oss_canonical *canonical)
{
    oss_buffer_free(&canonical->headers);
    oss_buffer_free(&canonical->params);
    oss_buffer_free(&canonical->text);
}

void oss_canonical_reset(oss_canonical *canonical)
{
    oss_buffer_reset(&canonical->headers);
    oss_buffer_reset(&canonical->params);
    oss_buffer_reset(&canonical->text);
}

int oss_canonical_failed(const oss_canonical *canonical)
{
    return canonical->headers.failed || canonical->params.failed || canonical->text.failed;
}
