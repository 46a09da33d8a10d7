/* Schema-driven XML writer: validates a Lua table against the schema and serialises it in one pass. */
#include "xml_write.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "bucket_name.h"
#include "buffer.h"
#include "compat.h"
#include "schema.h"
#include "xml_text.h"

#define MAX_DEPTH 34       /* the schema compiler allows 32 levels; repeated entries add none */
#define MAX_CHILDREN 64    /* per container; the inventory schema's widest has 8 */
#define MAX_UNKNOWN_KEY 64 /* bytes of an unknown key quoted in an error */

typedef struct {
    const oss_element *element;
    lua_Integer index; /* 1-based entry of a repeated element, 0 otherwise */
} path_segment;

typedef struct {
    lua_State *L;
    oss_buffer *out;
    path_segment path[MAX_DEPTH];
    int depth;
    char unknown_key[MAX_UNKNOWN_KEY + 4]; /* a key the schema does not know, appended to the path */
    char reason[320];
    int enum_index; /* the enum member the last string written matched, or -1 */
} writer;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int fail(writer *w, const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(w->reason, sizeof w->reason, format, arguments);
    va_end(arguments);
    return 0;
}

static int fail_too_deep(writer *w)
{
    return fail(w, "nested too deeply");
}

static inline int push_path(writer *w, const oss_element *element, lua_Integer index)
{
    if (w->depth >= MAX_DEPTH)
        return fail_too_deep(w);
    w->path[w->depth].element = element;
    w->path[w->depth].index = index;
    w->depth++;
    return 1;
}

/* Copies a key for an error message, replacing what is not printable ASCII so the message stays one line. */
static void remember_unknown_key(writer *w, const char *key, size_t length)
{
    size_t kept = length < MAX_UNKNOWN_KEY ? length : MAX_UNKNOWN_KEY;
    for (size_t i = 0; i < kept; i++) {
        unsigned char c = (unsigned char)key[i];
        w->unknown_key[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    strcpy(w->unknown_key + kept, length > kept ? "..." : "");
}

/* "Destination.OSSBucketDestination.RoleArn", "OptionalFields.Field[3]": the path as a script writes it. */
static void format_path(const writer *w, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i <= w->depth && used < size; i++) {
        int written;
        if (i == w->depth)
            written = w->unknown_key[0] ? snprintf(out + used, size - used, "%s%s", i ? "." : "", w->unknown_key) : 0;
        else if (w->path[i].index > 0)
            written = snprintf(out + used, size - used, "%s%s[%lld]", i ? "." : "", w->path[i].element->name,
                               (long long)w->path[i].index);
        else
            written = snprintf(out + used, size - used, "%s%s", i ? "." : "", w->path[i].element->name);
        if (written < 0)
            break;
        used += (size_t)written;
    }
}

/* "a, b, c" of an element's enum, for messages. */
static void describe_enum(const oss_element *element, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < element->enum_count && used < size; i++) {
        int written = snprintf(out + used, size - used, "%s%s", i ? ", " : "", element->enum_values[i]);
        if (written < 0)
            break;
        used += (size_t)written;
    }
}

static inline int enum_index(const oss_element *element, const char *value, size_t length)
{
    for (size_t i = 0; i < element->enum_count; i++)
        if (element->enum_lengths[i] == length && memcmp(element->enum_values[i], value, length) == 0)
            return (int)i;
    return -1;
}

static size_t span_digits(const char *text, size_t length)
{
    size_t i = 0;
    while (i < length && text[i] >= '0' && text[i] <= '9')
        i++;
    return i;
}

static int is_role_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
           c == '_';
}

static int is_role_arn(const char *text, size_t length)
{
    static const char prefix[] = "acs:ram::", middle[] = ":role/";
    size_t at = sizeof prefix - 1;
    if (length < at || memcmp(text, prefix, at) != 0)
        return 0;
    size_t digits = span_digits(text + at, length - at);
    if (digits == 0)
        return 0;
    at += digits;
    if (length - at < sizeof middle - 1 || memcmp(text + at, middle, sizeof middle - 1) != 0)
        return 0;
    at += sizeof middle - 1;
    if (length == at || length - at > 64)
        return 0;
    for (; at < length; at++)
        if (!is_role_name_char(text[at]))
            return 0;
    return 1;
}

static int is_bucket_arn(const char *text, size_t length)
{
    static const char prefix[] = "acs:oss:::";
    size_t at = sizeof prefix - 1;
    return length > at && memcmp(text, prefix, at) == 0 && oss_is_bucket_name(text + at, length - at);
}

static int is_url_safe(const char *text, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        char c = text[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                 c == '_' || c == '.' || c == '~';
        if (!ok)
            return 0;
    }
    return 1;
}

/* A comma-separated list of the element's enum members, none repeated. */
static int check_storage_classes(writer *w, const oss_element *element, const char *text, size_t length)
{
    unsigned long long seen = 0;
    size_t start = 0;
    for (size_t i = 0; i <= length; i++) {
        if (i < length && text[i] != ',')
            continue;
        int member = enum_index(element, text + start, i - start);
        if (member < 0 || (member < 64 && (seen & (1ull << member)))) {
            char members[256];
            describe_enum(element, members, sizeof members);
            return fail(w, "expected a comma-separated list of %s, each at most once", members);
        }
        if (member < 64)
            seen |= 1ull << member;
        start = i + 1;
    }
    return 1;
}

static inline int check_format(writer *w, const oss_element *element, const char *text, size_t length)
{
    switch (element->format) {
    case OSS_FORMAT_NONE:
        return 1;
    case OSS_FORMAT_URL_SAFE:
        return is_url_safe(text, length) ||
               fail(w, "expected only letters, digits and - _ . ~ (the value goes into the URL unencoded)");
    case OSS_FORMAT_DIGITS:
        return (length > 0 && span_digits(text, length) == length) || fail(w, "expected digits only");
    case OSS_FORMAT_ROLE_ARN:
        return is_role_arn(text, length) || fail(w, "expected acs:ram::<uid>:role/<name>");
    case OSS_FORMAT_BUCKET_ARN:
        return is_bucket_arn(text, length) ||
               fail(w, "expected acs:oss:::<name>, a bucket name of 3 to 63 lowercase letters, digits and hyphens");
    case OSS_FORMAT_STORAGE_CLASSES:
        return check_storage_classes(w, element, text, length);
    }
    return 1;
}

/* Quotes a value into a message: printable ASCII kept, the rest replaced, long values cut. */
static void quote_value(const char *text, size_t length, char *out, size_t size)
{
    size_t kept = length < size - 4 ? length : size - 4;
    for (size_t i = 0; i < kept; i++) {
        unsigned char c = (unsigned char)text[i];
        out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    strcpy(out + kept, length > kept ? "..." : "");
}

/* Claims `length` bytes and makes sure a whole tag chunk more is writable, so a tag copied in whole chunks at
 * the end of the claim spills only into capacity nobody owns yet. */
static char *claim(oss_buffer *out, size_t length)
{
    size_t reserve = length + OSS_TAG_CHUNK;
    if ((reserve > out->capacity - out->length && !oss_buffer_reserve(out, reserve)) || out->failed)
        return NULL;
    char *at = out->data + out->length;
    out->length += length;
    return at;
}

/* "<Name>" or, with `closing`, "</Name>" at `at`, copied in fixed-size chunks; returns the byte after it. */
static char *put_tag(char *at, const oss_element *element, int closing)
{
    const char *tag = closing ? element->tags + element->close_tag : element->tags;
    size_t length = element->name_length + 2 + (size_t)closing;
    memcpy(at, tag, OSS_TAG_CHUNK); /* every tag has at least one chunk; most have just one */
    for (size_t done = OSS_TAG_CHUNK; done < length; done += OSS_TAG_CHUNK)
        memcpy(at + done, tag + done, OSS_TAG_CHUNK);
    return at + length;
}

/* <Name>content</Name>, `content` already XML text: one capacity check for the whole element. */
static inline void append_leaf(oss_buffer *out, const oss_element *element, const char *content, size_t length)
{
    char *at = claim(out, 2 * element->name_length + 5 + length);
    if (at == NULL)
        return;
    at = put_tag(at, element, 0);
    memcpy(at, content, length);
    put_tag(at + length, element, 1);
}

static inline void append_tag(oss_buffer *out, const oss_element *element, int closing)
{
    char *at = claim(out, element->name_length + 2 + (size_t)closing);
    if (at != NULL)
        put_tag(at, element, closing);
}

static inline int write_string(writer *w, const oss_element *element, int index)
{
    if (lua_type(w->L, index) != LUA_TSTRING)
        return fail(w, "expected a string, got %s", luaL_typename(w->L, index));
    size_t length;
    const char *text = lua_tolstring(w->L, index, &length);
    if (oss_xml_text_plain_prefix(text, length) == length) {
        append_leaf(w->out, element, text, length);
    } else {
        size_t bad_at;
        append_tag(w->out, element, 0);
        const char *problem = oss_xml_text_append(w->out, text, length, &bad_at);
        if (problem != NULL)
            return fail(w, "%s at byte %zu; XML 1.0 cannot carry it", problem, bad_at + 1);
        append_tag(w->out, element, 1);
    }
    if (length < element->min_length)
        return fail(w, element->min_length == 1 ? "must not be empty" : "expected at least %zu bytes",
                    element->min_length);
    if (element->max_length && length > element->max_length)
        return fail(w, "expected at most %zu characters, got %zu", element->max_length, length);
    w->enum_index = -1;
    if (element->enum_values != NULL && element->format != OSS_FORMAT_STORAGE_CLASSES &&
        (w->enum_index = enum_index(element, text, length)) < 0) {
        char members[256], got[48];
        describe_enum(element, members, sizeof members);
        quote_value(text, length, got, sizeof got);
        return fail(w, "expected one of %s, got \"%s\"", members, got);
    }
    return check_format(w, element, text, length);
}

static inline int write_boolean(writer *w, const oss_element *element, int index)
{
    if (lua_type(w->L, index) != LUA_TBOOLEAN)
        return fail(w, "expected a boolean, got %s", luaL_typename(w->L, index));
    if (lua_toboolean(w->L, index))
        append_leaf(w->out, element, "true", 4);
    else
        append_leaf(w->out, element, "false", 5);
    return 1;
}

static inline int write_integer(writer *w, const oss_element *element, int index)
{
    lua_Integer value;
    if (!oss_tointeger(w->L, index, &value)) {
        if (lua_type(w->L, index) == LUA_TNUMBER)
            return fail(w, "expected an integer, got %.17g", (double)lua_tonumber(w->L, index));
        return fail(w, "expected an integer, got %s", luaL_typename(w->L, index));
    }
    long long number = (long long)value;
    if ((element->has_min && number < element->min) || (element->has_max && number > element->max)) {
        if (element->has_min && element->has_max && element->min == element->max)
            return fail(w, "expected %lld, got %lld", element->min, number);
        if (element->has_min && element->has_max)
            return fail(w, "expected an integer from %lld to %lld, got %lld", element->min, element->max, number);
        if (element->has_min)
            return fail(w, "expected an integer of at least %lld, got %lld", element->min, number);
        return fail(w, "expected an integer of at most %lld, got %lld", element->max, number);
    }
    /* by hand, two digits a step: printf's machinery costs more than the rest of an element */
    static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                                "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                                "8081828384858687888990919293949596979899";
    char digits[24];
    char *end = digits + sizeof digits, *at = end;
    unsigned long long magnitude = number < 0 ? 0ull - (unsigned long long)number : (unsigned long long)number;
    while (magnitude >= 10) {
        at -= 2;
        memcpy(at, pairs + 2 * (magnitude % 100), 2);
        magnitude /= 100;
    }
    if (magnitude != 0 || at == end)
        *--at = (char)('0' + magnitude);
    if (number < 0)
        *--at = '-';
    append_leaf(w->out, element, at, (size_t)(end - at));
    return 1;
}

static int write_container(writer *w, const oss_element *element, int table);

static inline int write_value(writer *w, const oss_element *element, int index)
{
    switch (element->type) {
    case OSS_TYPE_STRING:
        return write_string(w, element, index);
    case OSS_TYPE_BOOLEAN:
        return write_boolean(w, element, index);
    case OSS_TYPE_INTEGER:
        return write_integer(w, element, index);
    case OSS_TYPE_CONTAINER:
        break;
    }
    oss_buffer *out = w->out;
    append_tag(out, element, 0);
    size_t content_start = out->length;
    if (!write_container(w, element, index))
        return 0;
    if (out->length == content_start && !out->failed) {
        out->length--; /* an empty container is written as <Name/> */
        oss_buffer_append(out, "/>", 2);
        return 1;
    }
    append_tag(out, element, 1);
    return 1;
}

/* Counts every key of the table at `table`: an array must have exactly 1..n and nothing else. */
static size_t count_keys(lua_State *L, int table)
{
    size_t count = 0;
    lua_pushnil(L);
    while (lua_next(L, table)) {
        count++;
        lua_pop(L, 1);
    }
    return count;
}

static inline int write_child(writer *w, const oss_element *child, int index)
{
    lua_State *L = w->L;
    if (!child->repeated) {
        if (!push_path(w, child, 0) || !write_value(w, child, index))
            return 0;
        w->depth--;
        return 1;
    }
    if (!push_path(w, child, 0))
        return 0;
    if (lua_type(L, index) != LUA_TTABLE)
        return fail(w, "expected an array (a table of values), got %s", luaL_typename(L, index));
    size_t count = oss_rawlen(L, index);
    if (count == 0)
        return fail(w, "expected a non-empty array");
    if (count_keys(L, index) != count)
        return fail(w, "expected an array: keys 1 to n and nothing else");
    w->depth--;
    unsigned long long listed = 0; /* enum members seen so far: the schema compiler allows at most 64 */
    int unique_members = child->enum_values != NULL && child->type == OSS_TYPE_STRING &&
                         child->format != OSS_FORMAT_STORAGE_CLASSES;
    int entry = lua_gettop(L) + 1;
    for (size_t i = 1; i <= count; i++) {
        lua_rawgeti(L, index, (int)i);
        if (!push_path(w, child, (lua_Integer)i) || !write_value(w, child, entry))
            return 0;
        if (unique_members) {
            unsigned long long member = 1ull << w->enum_index;
            if (listed & member)
                return fail(w, "\"%s\" is listed twice", lua_tostring(L, -1));
            listed |= member;
        }
        w->depth--;
        lua_pop(L, 1);
    }
    return 1;
}

#define MAX_SUGGESTED_NAME 64

static char lower_ascii(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Case-insensitive edit distance between two short names, for "did you mean" hints; long names get no hint. */
static size_t name_distance(const char *a, size_t a_length, const char *b, size_t b_length)
{
    size_t row[MAX_SUGGESTED_NAME + 1];
    if (a_length > MAX_SUGGESTED_NAME || b_length > MAX_SUGGESTED_NAME)
        return (size_t)-1;
    for (size_t j = 0; j <= b_length; j++)
        row[j] = j;
    for (size_t i = 1; i <= a_length; i++) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b_length; j++) {
            size_t above = row[j];
            size_t cost = lower_ascii(a[i - 1]) == lower_ascii(b[j - 1]) ? 0 : 1;
            size_t best = diagonal + cost;
            if (above + 1 < best)
                best = above + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diagonal = above;
        }
    }
    return row[b_length];
}

static int fail_unknown_key(writer *w, const oss_element *element, const char *key, size_t length)
{
    remember_unknown_key(w, key, length);
    if (element->child_count == 0)
        return fail(w, "unknown element (%s has no elements)", element->name);
    char names[512];
    size_t used = 0;
    const oss_element *closest = NULL;
    size_t closest_distance = 3; /* a hint only for a slip of at most two characters */
    names[0] = '\0';
    for (size_t i = 0; i < element->child_count; i++) {
        const oss_element *child = &element->children[i];
        size_t distance = name_distance(key, length, child->name, child->name_length);
        if (distance < closest_distance) {
            closest = child;
            closest_distance = distance;
        }
        if (used < sizeof names) {
            int written = snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", child->name);
            used += written > 0 ? (size_t)written : 0;
        }
    }
    if (closest != NULL)
        return fail(w, "unknown element; did you mean %s? (expected one of %s)", closest->name, names);
    return fail(w, "unknown element (expected one of %s)", names);
}

/* `slots` holds the stack index of each child's value, 0 for a child the table does not have. */
static int check_rule(writer *w, const oss_element *element, const oss_rule *rule, const int *slots)
{
    lua_State *L = w->L;
    const oss_element *first = &element->children[rule->first], *second = &element->children[rule->second];
    int first_slot = slots[rule->first], second_slot = slots[rule->second];
    switch (rule->kind) {
    case OSS_RULE_EXACTLY_ONE:
        if ((first_slot != 0) != (second_slot != 0))
            return 1;
        return fail(w, "expected exactly one of %s, %s", first->name, second->name);
    case OSS_RULE_NOT_GREATER:
        if (!first_slot || !second_slot)
            return 1;
        if (lua_tonumber(L, first_slot) <= lua_tonumber(L, second_slot))
            return 1;
        return fail(w, "%s must not be greater than %s", first->name, second->name);
    case OSS_RULE_ONLY_WITH:
        if (!first_slot)
            return 1;
        if (second_slot && lua_type(L, second_slot) == LUA_TSTRING &&
            strcmp(lua_tostring(L, second_slot), rule->value) == 0)
            return 1;
        push_path(w, first, 0);
        return fail(w, "allowed only when %s is %s", second->name, rule->value);
    }
    return 1;
}

/* The child a string key names: first by address (the schema interned every name, and Lua interns short
 * strings), then by bytes for a key Lua did not intern. */
static const oss_element *child_named(const oss_element *element, const char *key, size_t length)
{
    for (size_t i = 0; i < element->child_count; i++)
        if (element->children[i].lua_name == key)
            return &element->children[i];
    return oss_find_child(element, key, length);
}

static int write_container(writer *w, const oss_element *element, int table)
{
    lua_State *L = w->L;
    if (lua_type(L, table) != LUA_TTABLE)
        return fail(w, "expected a table, got %s", luaL_typename(L, table));
    if (element->child_count > MAX_CHILDREN)
        return fail(w, "the schema gives this element too many children");
    int base = lua_gettop(L);
    /* a key and its value per known child, then lua_next's pair: a table holds each key once, and the walk
     * stops at the first key the schema does not know */
    luaL_checkstack(L, 2 * (int)element->child_count + 8, "xml_write");
    int slots[MAX_CHILDREN];
    unsigned long long present = 0;
    int top = base + 2; /* where lua_next leaves the value */

    /* One pass over the keys present. Each pair found in the schema stays on the stack, and lua_next resumes
     * from a copy of its key pushed above it: cheaper than moving the value away from the key. */
    lua_pushnil(L);
    while (lua_next(L, table)) {
        size_t length;
        const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, &length) : NULL;
        if (key == NULL) {
            if (lua_type(L, -2) == LUA_TNUMBER)
                return fail(w, "unexpected array entry [%g]; expected named elements", (double)lua_tonumber(L, -2));
            return fail(w, "unexpected %s key; expected element names", luaL_typename(L, -2));
        }
        const oss_element *child = child_named(element, key, length);
        if (child == NULL)
            return fail_unknown_key(w, element, key, length);
        size_t i = (size_t)(child - element->children);
        present |= 1ull << i;
        slots[i] = top;
        top += 2;
        lua_pushvalue(L, -2);
    }

    for (size_t i = 0; i < element->child_count; i++) {
        if (!(present & (1ull << i))) {
            slots[i] = 0;
            if (element->children[i].required) {
                push_path(w, &element->children[i], 0);
                return fail(w, "required element is missing");
            }
        }
    }
    for (size_t i = 0; i < element->child_count; i++)
        if (slots[i] != 0 && !write_child(w, &element->children[i], slots[i]))
            return 0;
    for (size_t i = 0; i < element->rule_count; i++)
        if (!check_rule(w, element, &element->rules[i], slots))
            return 0;
    lua_settop(L, base);
    return 1;
}

#define OUTPUT_TYPE "oss.xml_output"

static int free_output(lua_State *L)
{
    oss_buffer_free(luaL_checkudata(L, 1, OUTPUT_TYPE));
    return 0;
}

/* Each call writes into a buffer of its own, held by a userdata on the stack so that a Lua error (out of memory,
 * say) cannot leak it, and nothing is shared between calls that a finalizer running mid-write could disturb. */
static oss_buffer *push_output(lua_State *L)
{
    oss_buffer *out = lua_newuserdata(L, sizeof *out);
    oss_buffer_init(out);
    if (luaL_newmetatable(L, OUTPUT_TYPE)) {
        lua_pushcfunction(L, free_output);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    return out;
}

static void start_writer(writer *w, lua_State *L)
{
    w->L = L;
    w->out = push_output(L);
    w->depth = 0;
    w->unknown_key[0] = '\0';
    w->reason[0] = '\0';
}

/* xml_write(schema, value) -> bytes | nil, reason, path. `value` is the root element's content. */
static int lua_xml_write(lua_State *L)
{
    oss_schema *schema = oss_check_schema(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    writer w;
    start_writer(&w, L);
    /* The root itself is never on the path: messages name elements as a script writes them. */
    if (!write_value(&w, &schema->root, 2)) {
        char path[1024];
        format_path(&w, path, sizeof path);
        lua_pushnil(L);
        lua_pushstring(L, w.reason);
        lua_pushstring(L, path);
        return 3;
    }
    if (w.out->failed)
        return luaL_error(L, "xml_write: out of memory");
    lua_pushlstring(L, w.out->data, w.out->length);
    oss_buffer_free(w.out);
    return 1;
}

/* xml_check(schema, name, value) -> true | nil, reason: checks a value against one of the root's elements,
 * so an argument such as an inventory id obeys the same rule as the element it stands for. */
static int lua_xml_check(lua_State *L)
{
    oss_schema *schema = oss_check_schema(L, 1);
    size_t length;
    const char *name = luaL_checklstring(L, 2, &length);
    luaL_checkany(L, 3);
    lua_settop(L, 3);
    const oss_element *element = oss_find_child(&schema->root, name, length);
    if (element == NULL)
        return luaL_error(L, "xml_check: %s has no element %s", schema->root.name, name);
    writer w;
    start_writer(&w, L);
    if (!write_value(&w, element, 3)) {
        lua_pushnil(L);
        lua_pushstring(L, w.reason);
        return 2;
    }
    oss_buffer_free(w.out);
    lua_pushboolean(L, 1);
    return 1;
}

void oss_open_xml_write(lua_State *L)
{
    lua_pushcfunction(L, lua_xml_write);
    lua_setfield(L, -2, "xml_write");
    lua_pushcfunction(L, lua_xml_check);
    lua_setfield(L, -2, "xml_check");
}
