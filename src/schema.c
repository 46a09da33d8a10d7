/* A document's XML schema compiled from its Lua description; the writer, validator and reader all walk it. */
#include "schema.h"

#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "compat.h"

static void element_free(oss_element *element)
{
    free(element->name);
    free(element->tags);
    if (element->enum_values != NULL) {
        for (size_t i = 0; i < element->enum_count; i++)
            free(element->enum_values[i]);
        free(element->enum_values);
    }
    free(element->enum_lengths);
    if (element->children != NULL) {
        for (size_t i = 0; i < element->child_count; i++)
            element_free(&element->children[i]);
        free(element->children);
    }
    if (element->rules != NULL) {
        for (size_t i = 0; i < element->rule_count; i++)
            free(element->rules[i].value);
        free(element->rules);
    }
    memset(element, 0, sizeof *element);
}

/* Every allocation is hung on the tree before anything else can fail, so __gc frees a half-built schema too. */
static void *checked_calloc(lua_State *L, size_t count, size_t size)
{
    void *memory = calloc(count ? count : 1, size);
    if (memory == NULL)
        luaL_error(L, "schema: out of memory");
    return memory;
}

static char *checked_strdup(lua_State *L, const char *text, size_t length)
{
    char *copy = checked_calloc(L, length + 1, 1);
    memcpy(copy, text, length);
    return copy;
}

static const char *field_string(lua_State *L, int table, const char *field, size_t *length)
{
    lua_getfield(L, table, field);
    const char *value = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, length) : NULL;
    lua_pop(L, 1);
    return value; /* the description table keeps the string alive */
}

static int field_flag(lua_State *L, int table, const char *field)
{
    lua_getfield(L, table, field);
    int value = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return value;
}

static int field_integer(lua_State *L, int table, const char *field, long long *out, const char *where)
{
    lua_getfield(L, table, field);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return 0;
    }
    lua_Integer value;
    if (!oss_tointeger(L, -1, &value))
        luaL_error(L, "schema %s: %s must be an integer", where, field);
    lua_pop(L, 1);
    *out = (long long)value;
    return 1;
}

static oss_type parse_type(lua_State *L, const char *type, const char *where)
{
    if (type == NULL || strcmp(type, "container") == 0)
        return OSS_TYPE_CONTAINER;
    if (strcmp(type, "string") == 0)
        return OSS_TYPE_STRING;
    if (strcmp(type, "boolean") == 0)
        return OSS_TYPE_BOOLEAN;
    if (strcmp(type, "integer") == 0)
        return OSS_TYPE_INTEGER;
    luaL_error(L, "schema %s: unknown type '%s'", where, type);
    return OSS_TYPE_CONTAINER;
}

static oss_format parse_format(lua_State *L, const char *format, const char *where)
{
    static const struct {
        const char *name;
        oss_format format;
    } formats[] = {
        {"url_safe", OSS_FORMAT_URL_SAFE},         {"digits", OSS_FORMAT_DIGITS},
        {"role_arn", OSS_FORMAT_ROLE_ARN},         {"bucket_arn", OSS_FORMAT_BUCKET_ARN},
        {"storage_classes", OSS_FORMAT_STORAGE_CLASSES},
    };
    if (format == NULL)
        return OSS_FORMAT_NONE;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (strcmp(format, formats[i].name) == 0)
            return formats[i].format;
    luaL_error(L, "schema %s: unknown format '%s'", where, format);
    return OSS_FORMAT_NONE;
}

static size_t child_index(lua_State *L, const oss_element *parent, const char *name)
{
    const oss_element *child = name ? oss_find_child(parent, name, strlen(name)) : NULL;
    if (child == NULL)
        luaL_error(L, "schema %s: rule names unknown child '%s'", parent->name, name ? name : "?");
    return (size_t)(child - parent->children);
}

static void compile_rules(lua_State *L, int table, oss_element *element)
{
    lua_getfield(L, table, "rules");
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return;
    }
    luaL_checktype(L, -1, LUA_TTABLE);
    int rules = lua_gettop(L);
    size_t count = oss_rawlen(L, rules);
    element->rules = checked_calloc(L, count, sizeof *element->rules);
    for (size_t i = 0; i < count; i++) {
        lua_rawgeti(L, rules, (int)i + 1);
        int rule = lua_gettop(L);
        luaL_checktype(L, rule, LUA_TTABLE);
        lua_rawgeti(L, rule, 1);
        lua_rawgeti(L, rule, 2);
        lua_rawgeti(L, rule, 3);
        lua_rawgeti(L, rule, 4);
        const char *kind = lua_tostring(L, rule + 1);
        oss_rule *out = &element->rules[element->rule_count++];
        out->first = child_index(L, element, lua_tostring(L, rule + 2));
        out->second = child_index(L, element, lua_tostring(L, rule + 3));
        if (kind != NULL && strcmp(kind, "exactly_one") == 0) {
            out->kind = OSS_RULE_EXACTLY_ONE;
        } else if (kind != NULL && strcmp(kind, "not_greater") == 0) {
            out->kind = OSS_RULE_NOT_GREATER;
        } else if (kind != NULL && strcmp(kind, "only_with") == 0 && lua_type(L, rule + 4) == LUA_TSTRING) {
            out->kind = OSS_RULE_ONLY_WITH;
            size_t length;
            const char *value = lua_tolstring(L, rule + 4, &length);
            out->value = checked_strdup(L, value, length);
        } else {
            luaL_error(L, "schema %s: malformed rule %d", element->name, (int)i + 1);
        }
        lua_settop(L, rules);
    }
    lua_pop(L, 1);
}

static size_t whole_tag_chunks(size_t length)
{
    return (length + OSS_TAG_CHUNK - 1) / OSS_TAG_CHUNK * OSS_TAG_CHUNK;
}

static char *element_tags(lua_State *L, const char *name, size_t length, size_t *close_tag)
{
    *close_tag = whole_tag_chunks(length + 2);
    char *tags = checked_calloc(L, *close_tag + whole_tag_chunks(length + 3), 1);
    tags[0] = '<';
    memcpy(tags + 1, name, length);
    tags[length + 1] = '>';
    memcpy(tags + *close_tag, "</", 2);
    memcpy(tags + *close_tag + 2, name, length);
    tags[*close_tag + length + 2] = '>';
    return tags;
}

static void compile_element(lua_State *L, int table, oss_element *element, int depth)
{
    if (depth > 32)
        luaL_error(L, "schema: description nested too deeply");
    luaL_checktype(L, table, LUA_TTABLE);
    size_t length = 0;
    const char *name = field_string(L, table, "name", &length);
    if (name == NULL || length == 0)
        luaL_error(L, "schema: an element has no name");
    element->name = checked_strdup(L, name, length);
    element->name_length = length;
    element->tags = element_tags(L, name, length, &element->close_tag);
    element->type = parse_type(L, field_string(L, table, "type", NULL), element->name);
    element->required = field_flag(L, table, "required");
    element->repeated = field_flag(L, table, "repeated");
    element->format = parse_format(L, field_string(L, table, "format", NULL), element->name);
    long long bound;
    if (field_integer(L, table, "min_length", &bound, element->name))
        element->min_length = (size_t)bound;
    if (field_integer(L, table, "max_length", &bound, element->name))
        element->max_length = (size_t)bound;
    element->has_min = field_integer(L, table, "min", &element->min, element->name);
    element->has_max = field_integer(L, table, "max", &element->max, element->name);

    lua_getfield(L, table, "enum");
    if (!lua_isnil(L, -1)) {
        int values = lua_gettop(L);
        luaL_checktype(L, values, LUA_TTABLE);
        size_t count = oss_rawlen(L, values);
        if (count > 64) /* the writer tracks repeated members in a 64-bit set */
            luaL_error(L, "schema %s: an enum has at most 64 values", element->name);
        element->enum_values = checked_calloc(L, count, sizeof *element->enum_values);
        element->enum_lengths = checked_calloc(L, count, sizeof *element->enum_lengths);
        for (size_t i = 0; i < count; i++) {
            lua_rawgeti(L, values, (int)i + 1);
            size_t value_length;
            const char *value = lua_tolstring(L, -1, &value_length);
            if (value == NULL)
                luaL_error(L, "schema %s: enum values must be strings", element->name);
            element->enum_lengths[element->enum_count] = value_length;
            element->enum_values[element->enum_count++] = checked_strdup(L, value, value_length);
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);

    lua_getfield(L, table, "children");
    if (!lua_isnil(L, -1)) {
        int children = lua_gettop(L);
        if (element->type != OSS_TYPE_CONTAINER)
            luaL_error(L, "schema %s: only containers have children", element->name);
        luaL_checktype(L, children, LUA_TTABLE);
        size_t count = oss_rawlen(L, children);
        element->children = checked_calloc(L, count, sizeof *element->children);
        for (size_t i = 0; i < count; i++) {
            lua_rawgeti(L, children, (int)i + 1);
            element->child_count = i + 1;
            compile_element(L, lua_gettop(L), &element->children[i], depth + 1);
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    compile_rules(L, table, element);
}

/* Interns every element's name as a Lua string kept in the table on top, and numbers the elements in the same
 * depth-first order (parent first, from 0). The writer recognises a table's keys by address (Lua interns short
 * strings, so an equal short key is this very object) before comparing bytes; the reader logs the numbers. */
static void anchor_names(lua_State *L, oss_element *element)
{
    element->index = oss_rawlen(L, -1);
    lua_pushlstring(L, element->name, element->name_length);
    element->lua_name = lua_tostring(L, -1);
    lua_rawseti(L, -2, (int)element->index + 1);
    for (size_t i = 0; i < element->child_count; i++)
        anchor_names(L, &element->children[i]);
}

oss_schema *oss_check_schema(lua_State *L, int index)
{
    oss_schema *schema = luaL_checkudata(L, index, OSS_SCHEMA_TYPE);
    /* A finalizer (or an exit hook) can reach a schema after its __gc: refuse it rather than walk a freed tree. */
    if (schema->collected)
        luaL_error(L, "%s: used after it was collected", OSS_SCHEMA_TYPE);
    return schema;
}

const oss_element *oss_find_child(const oss_element *parent, const char *name, size_t length)
{
    for (size_t i = 0; i < parent->child_count; i++) {
        const oss_element *child = &parent->children[i];
        if (child->name_length == length && memcmp(child->name, name, length) == 0)
            return child;
    }
    return NULL;
}

/* Idempotent: a resurrected schema's __gc may run again (Lua 5.1 and LuaJIT run it once per mark). */
static int schema_gc(lua_State *L)
{
    oss_schema *schema = luaL_checkudata(L, 1, OSS_SCHEMA_TYPE);
    if (schema->collected)
        return 0;
    schema->collected = 1;
    element_free(&schema->root);
    luaL_unref(L, LUA_REGISTRYINDEX, schema->names_ref);
    schema->names_ref = LUA_NOREF;
    return 0;
}

static int schema_tostring(lua_State *L)
{
    /* Not oss_check_schema: tostring of a collected schema (in an error message, say) answers instead of raising. */
    oss_schema *schema = luaL_checkudata(L, 1, OSS_SCHEMA_TYPE);
    lua_pushfstring(L, "%s: %s %p", OSS_SCHEMA_TYPE, schema->root.name ? schema->root.name : "(collected)",
                    (void *)schema);
    return 1;
}

static int schema_name(lua_State *L)
{
    oss_schema *schema = oss_check_schema(L, 1);
    lua_pushlstring(L, schema->root.name, schema->root.name_length);
    return 1;
}

/* schema(description) -> compiled schema; raises on a malformed description (a programming error). */
static int schema_new(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    oss_schema *schema = oss_newuserdata(L, sizeof *schema);
    memset(schema, 0, sizeof *schema);
    schema->names_ref = LUA_NOREF;
    oss_setmetatable(L, OSS_SCHEMA_TYPE);
    compile_element(L, 1, &schema->root, 0);
    if (schema->root.type != OSS_TYPE_CONTAINER || schema->root.repeated)
        luaL_error(L, "schema %s: the root must be a single container", schema->root.name);
    lua_newtable(L);
    anchor_names(L, &schema->root);
    schema->element_count = oss_rawlen(L, -1);
    schema->names_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 1;
}

void oss_open_schema(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"__gc", schema_gc},
        {"__tostring", schema_tostring},
        {NULL, NULL},
    };
    static const luaL_Reg index[] = {
        {"name", schema_name},
        {NULL, NULL},
    };
    oss_define_type(L, OSS_SCHEMA_TYPE, methods, index);
    lua_pushcfunction(L, schema_new);
    lua_setfield(L, -2, "schema");
}
