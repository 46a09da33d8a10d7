/* Streaming, schema-guided XML reader on Expat: records a service document in C, then builds its Lua table. */
#include "xml_read.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <expat.h>
#include <lauxlib.h>

#include "buffer.h"
#include "compat.h"
#include "schema.h"

#define DEFAULT_MAX_DEPTH 64
#define DEFAULT_MAX_SIZE (16 * 1024 * 1024)
/* finish keeps two Lua stack slots per open element, and LuaJIT lets a C function hold about 8000. */
#define LARGEST_MAX_DEPTH 1000
#define QUOTED_VALUE_BYTES 40
#define EXPAT_SLICE (1 << 30) /* XML_Parse takes an int length */

/* The event log: what Expat saw, already checked against the schema, for finish to turn into tables. */
enum { EVENT_ENTER = 1, EVENT_LEAVE, EVENT_STRING, EVENT_BOOLEAN, EVENT_INTEGER };
enum { FLAG_REPEATED = 1, FLAG_UNKNOWN = 2 };

typedef struct {
    const oss_element *element; /* NULL for an element the schema does not know */
    size_t name_offset;         /* in reader->names: Expat's copy dies with its callback */
    size_t name_length;
    size_t counts_offset;       /* in reader->counts: how often each known child has appeared so far */
    size_t index;               /* 1-based among repeated siblings (for paths), 0 when not repeated */
    unsigned long long line, column;
    int is_container;           /* a known container, or an unknown element once a child appears */
} frame;

struct oss_xml_reader {
    XML_Parser parser;       /* NULL once finished or closed */
    const oss_element *root; /* kept alive by schema_ref */
    int schema_ref;
    int finished, closed, failed;
    size_t max_depth, max_size, fed;
    oss_buffer frames; /* frame[], the open elements */
    oss_buffer counts; /* size_t[] slices, one per open known container */
    oss_buffer names;  /* names of the open elements */
    oss_buffer text;   /* character data since the last tag */
    unsigned long long text_line, text_column; /* where that text starts; line 0 before any */
    oss_buffer events;
    char error[512];
};

/* ---- errors: kept in the reader, since nothing may raise while Expat runs ---- */

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static void fail_at(oss_xml_reader *reader, unsigned long long line, unsigned long long column, const char *format, ...)
{
    if (reader->failed)
        return;
    reader->failed = 1;
    int used = snprintf(reader->error, sizeof reader->error, "line %llu, column %llu: ", line, column);
    if (used < 0 || (size_t)used >= sizeof reader->error)
        return;
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(reader->error + used, sizeof reader->error - (size_t)used, format, arguments);
    va_end(arguments);
}

static unsigned long long current_line(const oss_xml_reader *reader)
{
    return (unsigned long long)XML_GetCurrentLineNumber(reader->parser);
}

/* Expat counts columns from 0; editors and our messages count from 1. */
static unsigned long long current_column(const oss_xml_reader *reader)
{
    return (unsigned long long)XML_GetCurrentColumnNumber(reader->parser) + 1;
}

/* Ends the parse from inside a handler; Expat may still deliver an event or two, which the handlers ignore. */
static void stop(oss_xml_reader *reader)
{
    XML_StopParser(reader->parser, XML_FALSE);
}

static int out_of_memory(const oss_xml_reader *reader)
{
    return reader->frames.failed || reader->counts.failed || reader->names.failed || reader->text.failed ||
           reader->events.failed;
}

/* ---- the open elements ---- */

static size_t depth(const oss_xml_reader *reader)
{
    return reader->frames.length / sizeof(frame);
}

static frame *frame_at(const oss_xml_reader *reader, size_t level)
{
    return (frame *)(void *)reader->frames.data + level;
}

static frame *top(const oss_xml_reader *reader)
{
    return frame_at(reader, depth(reader) - 1);
}

static size_t *counts_of(const oss_xml_reader *reader, const frame *f)
{
    return (size_t *)(void *)(reader->counts.data + f->counts_offset);
}

/* Copies a value or name into a message on one line and at a bounded length. */
static void quote(char *out, size_t size, const char *text, size_t length)
{
    size_t kept = length < QUOTED_VALUE_BYTES ? length : QUOTED_VALUE_BYTES;
    while (kept > 0 && kept < length && ((unsigned char)text[kept] & 0xC0) == 0x80)
        kept--; /* never cut a UTF-8 sequence in two */
    if (kept + 4 > size)
        kept = 0;
    for (size_t i = 0; i < kept; i++) {
        unsigned char c = (unsigned char)text[i];
        out[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    snprintf(out + kept, size - kept, "%s", kept < length ? "..." : "");
}

/* "Destination.OSSBucketDestination.Prefix", "OptionalFields.Field[3]": the path as a script writes it; the root
 * element is never part of it, except for errors about the root itself. */
static void format_path(const oss_xml_reader *reader, char *out, size_t size)
{
    size_t used = 0, levels = depth(reader);
    out[0] = '\0';
    if (levels == 1) {
        snprintf(out, size, "%s", reader->root->name);
        return;
    }
    for (size_t level = 1; level < levels && used < size; level++) {
        const frame *f = frame_at(reader, level);
        char name[QUOTED_VALUE_BYTES + 4];
        quote(name, sizeof name, reader->names.data + f->name_offset, f->name_length);
        int written = f->index > 0 ? snprintf(out + used, size - used, "%s%s[%zu]", level > 1 ? "." : "", name, f->index)
                                   : snprintf(out + used, size - used, "%s%s", level > 1 ? "." : "", name);
        if (written < 0)
            break;
        used += (size_t)written;
    }
}

static void push_frame(oss_xml_reader *reader, const oss_element *element, const char *name, size_t index)
{
    frame f;
    memset(&f, 0, sizeof f);
    f.element = element;
    f.name_offset = reader->names.length;
    f.name_length = strlen(name);
    f.counts_offset = reader->counts.length;
    f.index = index;
    f.line = current_line(reader);
    f.column = current_column(reader);
    f.is_container = element != NULL && element->type == OSS_TYPE_CONTAINER;
    oss_buffer_append(&reader->names, name, f.name_length);
    if (f.is_container && oss_buffer_reserve(&reader->counts, element->child_count * sizeof(size_t))) {
        memset(reader->counts.data + reader->counts.length, 0, element->child_count * sizeof(size_t));
        reader->counts.length += element->child_count * sizeof(size_t);
    }
    oss_buffer_append(&reader->frames, &f, sizeof f);
}

static void pop_frame(oss_xml_reader *reader)
{
    const frame *f = top(reader);
    reader->names.length = f->name_offset;
    reader->counts.length = f->counts_offset;
    reader->frames.length -= sizeof(frame);
}

/* ---- the event log ---- */

static unsigned char flags_of(const frame *f)
{
    if (f->element == NULL)
        return FLAG_UNKNOWN;
    return f->element->repeated ? FLAG_REPEATED : 0;
}

static void log_name(oss_xml_reader *reader, unsigned char kind, const frame *f)
{
    unsigned char header[2] = {kind, flags_of(f)};
    oss_buffer_append(&reader->events, header, sizeof header);
    oss_buffer_append(&reader->events, &f->name_length, sizeof f->name_length);
    oss_buffer_append(&reader->events, reader->names.data + f->name_offset, f->name_length);
}

static void log_leave(oss_xml_reader *reader, const frame *f)
{
    unsigned char header[2] = {EVENT_LEAVE, flags_of(f)};
    oss_buffer_append(&reader->events, header, sizeof header);
}

/* ---- leaf values ---- */

static int is_xml_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_blank(const char *text, size_t length)
{
    for (size_t i = 0; i < length; i++)
        if (!is_xml_space(text[i]))
            return 0;
    return 1;
}

static void trim(const char **text, size_t *length)
{
    while (*length > 0 && is_xml_space(**text))
        (*text)++, (*length)--;
    while (*length > 0 && is_xml_space((*text)[*length - 1]))
        (*length)--;
}

static int parse_boolean(const char *text, size_t length, unsigned char *out)
{
    trim(&text, &length);
    if (length == 4 && memcmp(text, "true", 4) == 0)
        *out = 1;
    else if (length == 5 && memcmp(text, "false", 5) == 0)
        *out = 0;
    else
        return 0;
    return 1;
}

/* An optional '-' and decimal digits that fit an int64; nothing else (no '+', no exponent, no fraction). */
static int parse_integer(const char *text, size_t length, long long *out)
{
    trim(&text, &length);
    int negative = length > 0 && text[0] == '-';
    size_t i = negative ? 1 : 0;
    if (i == length)
        return 0;
    /* Accumulate downwards: the negative range is one larger, so INT64_MIN parses too. */
    long long value = 0;
    for (; i < length; i++) {
        if (text[i] < '0' || text[i] > '9')
            return 0;
        int digit = text[i] - '0';
        if (value < (LLONG_MIN + digit) / 10)
            return 0;
        value = value * 10 - digit;
    }
    if (!negative) {
        if (value == LLONG_MIN)
            return 0;
        value = -value;
    }
    *out = value;
    return 1;
}

static void log_leaf(oss_xml_reader *reader, const frame *f)
{
    const char *text = reader->text.data ? reader->text.data : "";
    size_t length = reader->text.length;
    oss_type type = f->element ? f->element->type : OSS_TYPE_STRING;
    char path[256], quoted[QUOTED_VALUE_BYTES + 4];
    if (type == OSS_TYPE_BOOLEAN) {
        unsigned char value;
        if (!parse_boolean(text, length, &value)) {
            format_path(reader, path, sizeof path);
            quote(quoted, sizeof quoted, text, length);
            fail_at(reader, f->line, f->column, "%s: expected true or false, got \"%s\"", path, quoted);
            return;
        }
        log_name(reader, EVENT_BOOLEAN, f);
        oss_buffer_append(&reader->events, &value, 1);
    } else if (type == OSS_TYPE_INTEGER) {
        long long value;
        if (!parse_integer(text, length, &value)) {
            format_path(reader, path, sizeof path);
            quote(quoted, sizeof quoted, text, length);
            fail_at(reader, f->line, f->column, "%s: expected a 64-bit integer, got \"%s\"", path, quoted);
            return;
        }
        log_name(reader, EVENT_INTEGER, f);
        oss_buffer_append(&reader->events, &value, sizeof value);
    } else {
        log_name(reader, EVENT_STRING, f);
        oss_buffer_append(&reader->events, &length, sizeof length);
        oss_buffer_append(&reader->events, text, length);
    }
}

/* ---- Expat handlers: C only, no Lua ---- */

static void check_memory(oss_xml_reader *reader)
{
    if (!reader->failed && out_of_memory(reader)) {
        fail_at(reader, current_line(reader), current_column(reader), "out of memory");
        stop(reader);
    }
}

static void fail_here_with_path(oss_xml_reader *reader, const char *reason)
{
    char path[256];
    format_path(reader, path, sizeof path);
    fail_at(reader, current_line(reader), current_column(reader), "%s: %s", path, reason);
    stop(reader);
}

static void start_root(oss_xml_reader *reader, const char *name)
{
    if (strcmp(name, reader->root->name) != 0) {
        char quoted[QUOTED_VALUE_BYTES + 4];
        quote(quoted, sizeof quoted, name, strlen(name));
        fail_at(reader, current_line(reader), current_column(reader), "expected root element <%s>, got <%s>",
                reader->root->name, quoted);
        stop(reader);
        return;
    }
    push_frame(reader, reader->root, name, 0);
}

/* Text between a container's tags must be layout only. It is judged when the next tag arrives, from where it
 * starts, so the verdict does not depend on how the document was split into chunks. */
static int check_layout_text(oss_xml_reader *reader)
{
    const char *text = reader->text.data;
    size_t length = reader->text.length;
    if (is_blank(text, length))
        return 1;
    char path[256], quoted[QUOTED_VALUE_BYTES + 4];
    format_path(reader, path, sizeof path);
    trim(&text, &length);
    quote(quoted, sizeof quoted, text, length);
    fail_at(reader, reader->text_line, reader->text_column, "%s: text \"%s\" where only elements are allowed", path,
            quoted);
    stop(reader);
    return 0;
}

static void forget_text(oss_xml_reader *reader)
{
    oss_buffer_reset(&reader->text);
    reader->text_line = 0;
}

static const char *type_name(oss_type type)
{
    return type == OSS_TYPE_BOOLEAN ? "boolean" : type == OSS_TYPE_INTEGER ? "integer" : "string";
}

/* The parent has a child element, so it is a container (an unknown element becomes one here). */
static int become_container(oss_xml_reader *reader, frame *parent, const char *child)
{
    if (parent->element != NULL && parent->element->type != OSS_TYPE_CONTAINER) {
        char reason[128], quoted[QUOTED_VALUE_BYTES + 4];
        quote(quoted, sizeof quoted, child, strlen(child));
        snprintf(reason, sizeof reason, "a %s value cannot contain the element <%s>", type_name(parent->element->type),
                 quoted);
        fail_here_with_path(reader, reason);
        return 0;
    }
    if (!check_layout_text(reader))
        return 0;
    if (!parent->is_container) {
        parent->is_container = 1;
        log_name(reader, EVENT_ENTER, parent);
    }
    forget_text(reader);
    return 1;
}

static void XMLCALL on_start(void *data, const XML_Char *name, const XML_Char **attributes)
{
    oss_xml_reader *reader = data;
    (void)attributes; /* the service's documents carry none */
    if (reader->failed)
        return;
    if (depth(reader) == 0) {
        start_root(reader, name);
        check_memory(reader);
        return;
    }
    if (depth(reader) >= reader->max_depth) {
        fail_at(reader, current_line(reader), current_column(reader), "elements nested more than %zu deep",
                reader->max_depth);
        stop(reader);
        return;
    }
    frame *parent = top(reader);
    if (!become_container(reader, parent, name))
        return;
    const oss_element *element = parent->element ? oss_find_child(parent->element, name, strlen(name)) : NULL;
    size_t seen = 0;
    if (element != NULL) {
        size_t *count = counts_of(reader, parent) + (element - parent->element->children);
        seen = ++*count;
    }
    push_frame(reader, element, name, element != NULL && element->repeated ? seen : 0);
    check_memory(reader);
    if (reader->failed)
        return;
    if (element != NULL && !element->repeated && seen > 1) {
        fail_here_with_path(reader, "appears more than once");
        return;
    }
    if (element != NULL && element->type == OSS_TYPE_CONTAINER)
        log_name(reader, EVENT_ENTER, top(reader));
    check_memory(reader);
}

static void XMLCALL on_end(void *data, const XML_Char *name)
{
    oss_xml_reader *reader = data;
    (void)name; /* Expat has already matched it with the start tag */
    if (reader->failed)
        return;
    const frame *f = top(reader);
    if (f->is_container && !check_layout_text(reader))
        return;
    if (depth(reader) > 1) {
        if (f->is_container)
            log_leave(reader, f);
        else
            log_leaf(reader, f);
    }
    if (reader->failed) {
        stop(reader);
        return;
    }
    forget_text(reader);
    pop_frame(reader);
    check_memory(reader);
}

static void XMLCALL on_text(void *data, const XML_Char *text, int length)
{
    oss_xml_reader *reader = data;
    if (reader->failed || depth(reader) == 0)
        return;
    if (reader->text_line == 0) {
        reader->text_line = current_line(reader);
        reader->text_column = current_column(reader);
    }
    oss_buffer_append(&reader->text, text, (size_t)length);
    check_memory(reader);
}

static void XMLCALL on_doctype(void *data, const XML_Char *name, const XML_Char *system_id,
                               const XML_Char *public_id, int has_internal_subset)
{
    oss_xml_reader *reader = data;
    (void)name, (void)system_id, (void)public_id, (void)has_internal_subset;
    fail_at(reader, current_line(reader), current_column(reader), "DTD is not allowed");
    stop(reader);
}

static void XMLCALL on_entity_declaration(void *data, const XML_Char *name, int is_parameter_entity,
                                          const XML_Char *value, int value_length, const XML_Char *base,
                                          const XML_Char *system_id, const XML_Char *public_id,
                                          const XML_Char *notation)
{
    oss_xml_reader *reader = data;
    (void)name, (void)is_parameter_entity, (void)value, (void)value_length, (void)base;
    (void)system_id, (void)public_id, (void)notation;
    fail_at(reader, current_line(reader), current_column(reader), "entity declarations are not allowed");
    stop(reader);
}

static int create_parser(oss_xml_reader *reader)
{
    reader->parser = XML_ParserCreate(NULL);
    if (reader->parser == NULL)
        return 0;
    XML_SetUserData(reader->parser, reader);
    XML_SetElementHandler(reader->parser, on_start, on_end);
    XML_SetCharacterDataHandler(reader->parser, on_text);
    XML_SetStartDoctypeDeclHandler(reader->parser, on_doctype);
    XML_SetEntityDeclHandler(reader->parser, on_entity_declaration);
    XML_SetParamEntityParsing(reader->parser, XML_PARAM_ENTITY_PARSING_NEVER);
    return 1;
}

static void keep_expat_error(oss_xml_reader *reader)
{
    /* Our own reason wins: Expat then only reports that it was stopped. */
    fail_at(reader, current_line(reader), current_column(reader), "%s",
            XML_ErrorString(XML_GetErrorCode(reader->parser)));
}

int oss_xml_reader_feed(oss_xml_reader *reader, const char *bytes, size_t length)
{
    if (reader == NULL || reader->parser == NULL || reader->failed)
        return 0;
    if (length > reader->max_size - reader->fed) {
        fail_at(reader, current_line(reader), current_column(reader), "document larger than %zu bytes",
                reader->max_size);
        return 0;
    }
    reader->fed += length;
    while (length > 0) {
        int slice = length > EXPAT_SLICE ? EXPAT_SLICE : (int)length;
        if (XML_Parse(reader->parser, bytes, slice, XML_FALSE) == XML_STATUS_ERROR) {
            keep_expat_error(reader);
            return 0;
        }
        bytes += slice;
        length -= (size_t)slice;
    }
    return 1;
}

/* ---- building the Lua value from the event log, after Expat has returned ---- */

typedef struct {
    const char *at;
    const char *end;
} log_cursor;

static void read_bytes(log_cursor *cursor, void *out, size_t size)
{
    memcpy(out, cursor->at, size);
    cursor->at += size;
}

static void push_name(lua_State *L, log_cursor *cursor)
{
    size_t length;
    read_bytes(cursor, &length, sizeof length);
    lua_pushlstring(L, cursor->at, length);
    cursor->at += length;
}

/* Appends the value on top to the array on the slot below it, popping the value. */
static void append(lua_State *L)
{
    lua_rawseti(L, -2, (int)oss_rawlen(L, -2) + 1);
}

/* Stack: parent, key, value -> parent. Repeated schema elements always make arrays; an unknown name makes one
 * only from its second appearance, and `made_arrays` tells those arrays from unknown containers. */
static void store(lua_State *L, int made_arrays, unsigned char flags)
{
    int parent = lua_gettop(L) - 2;
    if (flags == 0) {
        lua_rawset(L, parent);
        return;
    }
    lua_pushvalue(L, parent + 1);
    lua_rawget(L, parent); /* parent, key, value, existing */
    if (lua_isnil(L, -1) && (flags & FLAG_UNKNOWN)) {
        lua_pop(L, 1);
        lua_rawset(L, parent);
        return;
    }
    int array_exists = !lua_isnil(L, -1);
    if (array_exists && (flags & FLAG_UNKNOWN)) {
        lua_pushvalue(L, -1);
        lua_rawget(L, made_arrays);
        array_exists = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    if (!array_exists) {
        lua_newtable(L); /* parent, key, value, existing, array */
        if (!lua_isnil(L, -2)) {
            lua_pushvalue(L, -2);
            append(L);
            lua_pushvalue(L, -1);
            lua_pushboolean(L, 1);
            lua_rawset(L, made_arrays);
        }
        lua_replace(L, -2);
        lua_pushvalue(L, parent + 1);
        lua_pushvalue(L, -2);
        lua_rawset(L, parent);
    }
    lua_insert(L, -2); /* parent, key, array, value */
    append(L);
    lua_pop(L, 2);
}

/* Leaves the root's content on top and returns 1, or leaves the stack as it was and returns 0. */
static int build(lua_State *L, const oss_buffer *events)
{
    int base = lua_gettop(L);
    lua_newtable(L);
    int made_arrays = base + 1;
    lua_newtable(L);
    log_cursor cursor = {events->data, events->data + events->length};
    while (cursor.at < cursor.end) {
        unsigned char header[2];
        read_bytes(&cursor, header, sizeof header);
        if (!lua_checkstack(L, 6)) {
            lua_settop(L, base);
            return 0;
        }
        if (header[0] == EVENT_LEAVE) {
            store(L, made_arrays, header[1]);
            continue;
        }
        push_name(L, &cursor);
        if (header[0] == EVENT_ENTER) {
            lua_newtable(L);
            continue;
        }
        if (header[0] == EVENT_BOOLEAN) {
            unsigned char value;
            read_bytes(&cursor, &value, 1);
            lua_pushboolean(L, value);
        } else if (header[0] == EVENT_INTEGER) {
            long long value;
            read_bytes(&cursor, &value, sizeof value);
            lua_pushinteger(L, (lua_Integer)value); /* LuaJIT: a double, exact up to 2^53 */
        } else {
            size_t length;
            read_bytes(&cursor, &length, sizeof length);
            lua_pushlstring(L, cursor.at, length);
            cursor.at += length;
        }
        store(L, made_arrays, header[1]);
    }
    lua_remove(L, made_arrays);
    return 1;
}

/* ---- the Lua userdata ---- */

oss_xml_reader *oss_test_xml_reader(lua_State *L, int index)
{
    return oss_testudata(L, index, OSS_XML_READER_TYPE);
}

static oss_xml_reader *check_reader(lua_State *L)
{
    oss_xml_reader *reader = luaL_checkudata(L, 1, OSS_XML_READER_TYPE);
    if (reader->closed)
        luaL_error(L, "attempt to use a closed %s", OSS_XML_READER_TYPE);
    if (reader->finished)
        luaL_error(L, "attempt to use a finished %s", OSS_XML_READER_TYPE);
    return reader;
}

static void release(lua_State *L, oss_xml_reader *reader)
{
    if (reader->parser != NULL)
        XML_ParserFree(reader->parser);
    reader->parser = NULL;
    oss_buffer_free(&reader->frames);
    oss_buffer_free(&reader->counts);
    oss_buffer_free(&reader->names);
    oss_buffer_free(&reader->text);
    oss_buffer_free(&reader->events);
    luaL_unref(L, LUA_REGISTRYINDEX, reader->schema_ref);
    reader->schema_ref = LUA_NOREF;
    reader->root = NULL;
}

/* close, __close and __gc: idempotent. */
static int reader_close(lua_State *L)
{
    oss_xml_reader *reader = luaL_checkudata(L, 1, OSS_XML_READER_TYPE);
    release(L, reader);
    reader->closed = 1;
    return 0;
}

static int reader_tostring(lua_State *L)
{
    oss_xml_reader *reader = luaL_checkudata(L, 1, OSS_XML_READER_TYPE);
    lua_pushfstring(L, "%s: %p", OSS_XML_READER_TYPE, (void *)reader);
    return 1;
}

static int push_failure(lua_State *L, const oss_xml_reader *reader)
{
    lua_pushnil(L);
    lua_pushstring(L, reader->error);
    return 2;
}

/* reader:feed(chunk) -> true | nil, message */
static int reader_feed(lua_State *L)
{
    oss_xml_reader *reader = check_reader(L);
    size_t length;
    const char *bytes = luaL_checklstring(L, 2, &length);
    if (!oss_xml_reader_feed(reader, bytes, length))
        return push_failure(L, reader);
    lua_pushboolean(L, 1);
    return 1;
}

/* Ends the document; the reader gives back its memory whatever the outcome. */
static int finish(lua_State *L, oss_xml_reader *reader)
{
    if (!reader->failed && XML_Parse(reader->parser, "", 0, XML_TRUE) == XML_STATUS_ERROR) {
        if (XML_GetErrorCode(reader->parser) == XML_ERROR_NO_ELEMENTS && depth(reader) > 0) {
            /* Expat's "no element found" misleads when the body was cut short. */
            char path[256];
            format_path(reader, path, sizeof path);
            fail_at(reader, current_line(reader), current_column(reader), "the document ends inside %s", path);
        }
        keep_expat_error(reader);
    }
    if (!reader->failed && !build(L, &reader->events))
        fail_at(reader, current_line(reader), current_column(reader), "too deeply nested for the Lua stack");
    release(L, reader);
    reader->finished = 1;
    return reader->failed ? push_failure(L, reader) : 1;
}

/* reader:finish() -> the root element's content | nil, message */
static int reader_finish(lua_State *L)
{
    return finish(L, check_reader(L));
}

static size_t limit_field(lua_State *L, int limits, const char *field, size_t fallback, size_t largest)
{
    lua_getfield(L, limits, field);
    lua_Integer value;
    size_t result = fallback;
    if (!lua_isnil(L, -1)) {
        if (!oss_tointeger(L, -1, &value) || value < 1 || (unsigned long long)value > largest) {
            char message[128];
            snprintf(message, sizeof message, "limits.%s must be an integer from 1 to %llu", field,
                     (unsigned long long)largest);
            luaL_error(L, "%s", message);
        }
        result = (size_t)value;
    }
    lua_pop(L, 1);
    return result;
}

static void check_limit_names(lua_State *L, int limits)
{
    lua_pushnil(L);
    while (lua_next(L, limits)) {
        const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        if (key == NULL || (strcmp(key, "max_depth") != 0 && strcmp(key, "max_size") != 0))
            luaL_error(L, "limits: unknown field %s", key ? key : luaL_typename(L, -2));
        lua_pop(L, 1);
    }
}

/* Pushes a new reader for the schema at `schema_index`, or pushes nil + message and returns NULL. */
static oss_xml_reader *push_reader(lua_State *L, int schema_index, int limits_index)
{
    oss_schema *schema = oss_check_schema(L, schema_index);
    size_t max_depth = DEFAULT_MAX_DEPTH, max_size = DEFAULT_MAX_SIZE;
    if (!lua_isnoneornil(L, limits_index)) {
        luaL_checktype(L, limits_index, LUA_TTABLE);
        check_limit_names(L, limits_index);
        max_depth = limit_field(L, limits_index, "max_depth", max_depth, LARGEST_MAX_DEPTH);
        max_size = limit_field(L, limits_index, "max_size", max_size, (size_t)-1 / 2);
    }
    oss_xml_reader *reader = oss_newuserdata(L, sizeof *reader);
    memset(reader, 0, sizeof *reader);
    oss_buffer_init(&reader->frames);
    oss_buffer_init(&reader->counts);
    oss_buffer_init(&reader->names);
    oss_buffer_init(&reader->text);
    oss_buffer_init(&reader->events);
    reader->schema_ref = LUA_NOREF;
    reader->max_depth = max_depth;
    reader->max_size = max_size;
    oss_setmetatable(L, OSS_XML_READER_TYPE);
    /* From here __gc owns everything; the schema stays alive as long as the reader points into it. */
    lua_pushvalue(L, schema_index);
    reader->schema_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    reader->root = &schema->root;
    if (!create_parser(reader)) {
        release(L, reader);
        reader->closed = 1;
        lua_pushnil(L);
        lua_pushstring(L, "xml_reader: out of memory");
        return NULL;
    }
    return reader;
}

/* xml_reader(schema [, limits]) -> reader | nil, message */
static int xml_reader_new(lua_State *L)
{
    return push_reader(L, 1, 2) ? 1 : 2;
}

/* xml_read(schema, bytes [, limits]) -> the root element's content | nil, message */
static int xml_read(lua_State *L)
{
    size_t length;
    oss_check_schema(L, 1);
    const char *bytes = luaL_checklstring(L, 2, &length);
    oss_xml_reader *reader = push_reader(L, 1, 3);
    if (reader == NULL)
        return 2;
    oss_xml_reader_feed(reader, bytes, length);
    return finish(L, reader); /* the reader is released; __gc finds nothing left to do */
}

void oss_open_xml_read(lua_State *L)
{
    static const luaL_Reg metamethods[] = {
        {"__gc", reader_close},
        {"__close", reader_close},
        {"__tostring", reader_tostring},
        {NULL, NULL},
    };
    static const luaL_Reg methods[] = {
        {"feed", reader_feed},
        {"finish", reader_finish},
        {"close", reader_close},
        {NULL, NULL},
    };
    if (luaL_newmetatable(L, OSS_XML_READER_TYPE)) {
        oss_setfuncs(L, metamethods);
        lua_newtable(L);
        oss_setfuncs(L, methods);
        lua_setfield(L, -2, "__index");
        lua_pushliteral(L, "locked");
        lua_setfield(L, -2, "__metatable");
    }
    lua_pop(L, 1);
    lua_pushcfunction(L, xml_reader_new);
    lua_setfield(L, -2, "xml_reader");
    lua_pushcfunction(L, xml_read);
    lua_setfield(L, -2, "xml_read");
}
