/* Streaming, schema-guided XML reader: the oss.xml_reader userdata, and the Lua table it builds from the record. */
#include "xml_read.h"

#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "compat.h"
#include "schema.h"
#include "xml_record.h"

#define DEFAULT_MAX_DEPTH 64
#define DEFAULT_MAX_SIZE (16 * 1024 * 1024)
/* finish keeps two Lua stack slots per open element, and LuaJIT lets a C function hold about 8000. */
#define LARGEST_MAX_DEPTH 1000

struct oss_xml_reader {
    oss_xml_record record; /* the Expat side: parser, open elements and the event log */
    int schema_ref;        /* keeps record.root alive */
    int finished, closed;
};

int oss_xml_reader_feed(oss_xml_reader *reader, const char *bytes, size_t length)
{
    return reader != NULL && oss_xml_record_feed(&reader->record, bytes, length);
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
    if (lua_isnil(L, -1) && (flags & OSS_EVENT_UNKNOWN)) {
        lua_pop(L, 1);
        lua_rawset(L, parent);
        return;
    }
    int array_exists = !lua_isnil(L, -1);
    if (array_exists && (flags & OSS_EVENT_UNKNOWN)) {
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
        if (header[0] == OSS_EVENT_LEAVE) {
            store(L, made_arrays, header[1]);
            continue;
        }
        push_name(L, &cursor);
        if (header[0] == OSS_EVENT_ENTER) {
            lua_newtable(L);
            continue;
        }
        if (header[0] == OSS_EVENT_BOOLEAN) {
            unsigned char value;
            read_bytes(&cursor, &value, 1);
            lua_pushboolean(L, value);
        } else if (header[0] == OSS_EVENT_INTEGER) {
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
    oss_xml_record_release(&reader->record);
    luaL_unref(L, LUA_REGISTRYINDEX, reader->schema_ref);
    reader->schema_ref = LUA_NOREF;
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
    lua_pushstring(L, reader->record.error);
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
    oss_xml_record *record = &reader->record;
    if (oss_xml_record_end(record) && !build(L, &record->events))
        oss_xml_record_fail(record, "too deeply nested for the Lua stack");
    release(L, reader);
    reader->finished = 1;
    return record->failed ? push_failure(L, reader) : 1;
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
    oss_xml_record_init(&reader->record, max_depth, max_size);
    reader->schema_ref = LUA_NOREF;
    oss_setmetatable(L, OSS_XML_READER_TYPE);
    /* From here __gc owns everything; the schema stays alive as long as the reader points into it. */
    lua_pushvalue(L, schema_index);
    reader->schema_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    if (!oss_xml_record_start(&reader->record, &schema->root)) {
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
    oss_define_type(L, OSS_XML_READER_TYPE, metamethods, methods);
    lua_pushcfunction(L, xml_reader_new);
    lua_setfield(L, -2, "xml_reader");
    lua_pushcfunction(L, xml_read);
    lua_setfield(L, -2, "xml_read");
}
