/* Streaming, schema-guided XML reader: the oss.xml_reader userdata, and the Lua table it builds from the event log. */
#include "xml_read.h"

#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "compat.h"
#include "schema.h"
#include "xml_parse.h"

#define DEFAULT_MAX_DEPTH 64
#define DEFAULT_MAX_SIZE (16 * 1024 * 1024)
/* build holds each open element's key and table on the Lua stack, and its name per schema element; LuaJIT gives a
 * C function about 8000 stack entries, so deeper documents and larger schemas are refused instead of overflowing. */
#define LARGEST_MAX_DEPTH 1000
#define LARGEST_SCHEMA 4000
/* What storing a leaf (its key, its value, store()'s own work) needs on the stack above the open elements. */
#define STORE_SLOTS 6

struct oss_xml_reader {
    oss_xml_parser parser;    /* the Expat side: open elements and the event log */
    const oss_schema *schema; /* parser.root is its root */
    int schema_ref;           /* keeps the schema alive */
    int finished, closed;
    int building; /* a finalizer that closes the reader meanwhile leaves the log to finish */
};

/* Only while the reader holds its schema, that is until it is finished or closed. */
static int schema_collected(const oss_xml_reader *reader)
{
    return reader->schema->collected;
}

#define SCHEMA_COLLECTED OSS_SCHEMA_TYPE ": used after it was collected"

int oss_xml_reader_feed(oss_xml_reader *reader, const char *bytes, size_t length)
{
    if (reader == NULL || reader->finished || reader->closed)
        return 0;
    /* A finalizer that resurrected the schema after its __gc leaves the reader pointing into a freed tree. */
    if (schema_collected(reader)) {
        oss_xml_parser_fail(&reader->parser, SCHEMA_COLLECTED);
        return 0;
    }
    return oss_xml_parser_feed(&reader->parser, bytes, length, 0);
}

/* ---- building the Lua value from the event log, after Expat has returned ---- */

/* Stack: parent, key, value -> parent. A repeated schema element is always an array; an unknown name makes one
 * only from its second appearance, and `made_arrays` tells those arrays from unknown containers. */
static void store(lua_State *L, int made_arrays, unsigned char storage)
{
    int parent = lua_gettop(L) - 2;
    if (storage == OSS_XML_FIELD) {
        lua_rawset(L, parent);
        return;
    }
    lua_pushvalue(L, parent + 1);
    lua_rawget(L, parent); /* parent, key, value, existing */
    if (storage == OSS_XML_REPEATED && lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, parent + 1);
        lua_pushvalue(L, -2);
        lua_rawset(L, parent); /* parent, key, value, array */
    } else if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_rawset(L, parent);
        return;
    } else if (storage == OSS_XML_UNKNOWN) {
        lua_pushvalue(L, -1);
        lua_rawget(L, made_arrays);
        int is_array = lua_toboolean(L, -1);
        lua_pop(L, 1);
        if (!is_array) {
            lua_newtable(L); /* parent, key, value, existing, array */
            lua_insert(L, -2);
            lua_rawseti(L, -2, 1);
            lua_pushvalue(L, -1);
            lua_pushboolean(L, 1);
            lua_rawset(L, made_arrays);
            lua_pushvalue(L, parent + 1);
            lua_pushvalue(L, -2);
            lua_rawset(L, parent);
        }
    }
    lua_insert(L, -2); /* parent, key, array, value */
    lua_rawseti(L, -2, (int)oss_rawlen(L, -2) + 1);
    lua_pop(L, 2);
}

/* Pushes every element's name in oss_element.index order, so a known element's key is one lua_pushvalue. */
static void push_names(lua_State *L, const oss_element *element)
{
    lua_pushlstring(L, element->name, element->name_length);
    for (size_t i = 0; i < element->child_count; i++)
        push_names(L, &element->children[i]);
}

/* Leaves the root's content on top and returns 1, or leaves the stack as it was and returns 0. */
static int build(lua_State *L, const oss_buffer *events, const oss_schema *schema)
{
    int base = lua_gettop(L);
    if (schema->element_count > LARGEST_SCHEMA || !lua_checkstack(L, (int)schema->element_count + 3 + STORE_SLOTS))
        return 0;
    lua_newtable(L);
    int made_arrays = base + 1, names = base + 2;
    push_names(L, &schema->root);
    lua_newtable(L);
    /* A root with no children logs nothing, and a log never written to has no memory. */
    const char *at = events->data, *end = at != NULL ? at + events->length : at;
    while (at < end) {
        oss_xml_event event;
        memcpy(&event, at, sizeof event);
        at += sizeof event;
        if (event.kind == OSS_XML_LEAVE) {
            store(L, made_arrays, event.storage);
            continue;
        }
        if (event.storage == OSS_XML_UNKNOWN) {
            lua_pushlstring(L, at, event.key);
            at += event.key;
        } else {
            lua_pushvalue(L, names + (int)event.key);
        }
        if (event.kind == OSS_XML_ENTER) {
            lua_createtable(L, 0, (int)event.value.length);
            /* An open element holds its key and table; storing a value takes up to STORE_SLOTS more. */
            if (!lua_checkstack(L, 2 + STORE_SLOTS)) {
                lua_settop(L, base);
                return 0;
            }
            continue;
        }
        if (event.kind == OSS_XML_BOOLEAN) {
            lua_pushboolean(L, (int)event.value.number);
        } else if (event.kind == OSS_XML_INTEGER) {
            lua_pushinteger(L, (lua_Integer)event.value.number); /* LuaJIT: a double, exact up to 2^53 */
        } else {
            lua_pushlstring(L, at, event.value.length);
            at += event.value.length;
        }
        store(L, made_arrays, event.storage);
    }
    lua_replace(L, base + 1);
    lua_settop(L, base + 1);
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
    if (schema_collected(reader))
        luaL_error(L, "%s", SCHEMA_COLLECTED);
    return reader;
}

static void release(lua_State *L, oss_xml_reader *reader)
{
    oss_xml_parser_release(&reader->parser);
    luaL_unref(L, LUA_REGISTRYINDEX, reader->schema_ref);
    reader->schema_ref = LUA_NOREF;
}

/* close, __close and __gc: idempotent. */
static int reader_close(lua_State *L)
{
    oss_xml_reader *reader = luaL_checkudata(L, 1, OSS_XML_READER_TYPE);
    reader->closed = 1;
    if (!reader->building)
        release(L, reader);
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
    lua_pushstring(L, reader->parser.error);
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

/* Pushes the root element's content, or nil when the Lua stack cannot hold the document's depth. */
static int build_result(lua_State *L)
{
    const oss_xml_reader *reader = lua_touserdata(L, 1);
    if (!build(L, &reader->parser.events, reader->schema))
        lua_pushnil(L);
    return 1;
}

/* Ends the document with its last bytes; the reader gives back its memory whatever the outcome. The build is
 * protected so that `building` is cleared even when making a table raises. */
static int finish(lua_State *L, oss_xml_reader *reader, const char *bytes, size_t length)
{
    oss_xml_parser *parser = &reader->parser;
    reader->finished = 1;
    if (oss_xml_parser_feed(parser, bytes, length, 1)) {
        reader->building = 1;
        lua_pushcfunction(L, build_result);
        lua_pushlightuserdata(L, reader);
        int status = lua_pcall(L, 1, 1, 0);
        reader->building = 0;
        if (status != 0) {
            release(L, reader);
            return lua_error(L);
        }
        if (lua_isnil(L, -1))
            oss_xml_parser_fail(parser, "too deeply nested for the Lua stack");
    }
    release(L, reader);
    return parser->failed ? push_failure(L, reader) : 1;
}

/* reader:scanned() -> how many bytes Expat has been asked to scan, a held unfinished token counted again each
 * time it is handed back: what shows that reading costs time linear in the document's size, whatever its shape.
 * Still answers once the reader is finished or closed. */
static int reader_scanned(lua_State *L)
{
    const oss_xml_reader *reader = luaL_checkudata(L, 1, OSS_XML_READER_TYPE);
    lua_pushinteger(L, (lua_Integer)reader->parser.scanned);
    return 1;
}

/* reader:finish() -> the root element's content | nil, message */
static int reader_finish(lua_State *L)
{
    return finish(L, check_reader(L), NULL, 0);
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
    oss_xml_parser_init(&reader->parser, max_depth, max_size);
    reader->schema_ref = LUA_NOREF;
    reader->schema = schema;
    oss_setmetatable(L, OSS_XML_READER_TYPE);
    /* From here __gc owns everything; the schema stays alive as long as the reader points into it. */
    lua_pushvalue(L, schema_index);
    reader->schema_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    if (!oss_xml_parser_start(&reader->parser, &schema->root)) {
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
    return finish(L, reader, bytes, length); /* the reader is released; __gc finds nothing left to do */
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
        {"scanned", reader_scanned},
        {NULL, NULL},
    };
    oss_define_type(L, OSS_XML_READER_TYPE, metamethods, methods);
    lua_pushcfunction(L, xml_reader_new);
    lua_setfield(L, -2, "xml_reader");
    lua_pushcfunction(L, xml_read);
    lua_setfield(L, -2, "xml_read");
}
