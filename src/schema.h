/* A document's XML schema compiled from its Lua description; the writer, validator and reader all walk it. */
#ifndef OSS_SCHEMA_H
#define OSS_SCHEMA_H

#include <stddef.h>

#include <lua.h>


typedef enum {
    OSS_TYPE_CONTAINER,
    OSS_TYPE_STRING,
    OSS_TYPE_BOOLEAN,
    OSS_TYPE_INTEGER,
} oss_type;

/* Formats a string value must have beyond its length and enum; each has its checker in xml_write.c. */
typedef enum {
    OSS_FORMAT_NONE,
    OSS_FORMAT_URL_SAFE,        /* RFC 3986 unreserved characters only */
    OSS_FORMAT_DIGITS,          /* one or more ASCII digits */
    OSS_FORMAT_ROLE_ARN,        /* acs:ram::<uid>:role/<name> */
    OSS_FORMAT_BUCKET_ARN,      /* acs:oss:::<bucket name> */
    OSS_FORMAT_STORAGE_CLASSES, /* comma-separated members of the element's enum, no repeats */
} oss_format;

/* Rules that relate two children of one container. */
typedef enum {
    OSS_RULE_EXACTLY_ONE, /* exactly one of first, second is present */
    OSS_RULE_NOT_GREATER, /* when both are present, first <= second */
    OSS_RULE_ONLY_WITH,   /* first may be present only when second equals `value` */
} oss_rule_kind;

typedef struct {
    oss_rule_kind kind;
    size_t first;
    size_t second;
    char *value;
} oss_rule;

/* Tags are stored padded to whole chunks of this many bytes, so a writer copies them in fixed-size pieces. */
#define OSS_TAG_CHUNK 16

typedef struct oss_element {
    char *name;
    size_t name_length;
    char *tags;       /* "<name>" at 0 and "</name>" at close_tag, each zero-padded to whole OSS_TAG_CHUNKs */
    size_t close_tag; /* the offset of "</name>" in tags */
    const char *lua_name; /* the schema's own Lua string of `name`: a short key equal to it is the same object */
    oss_type type;
    int required;
    int repeated;         /* a Lua array of values, one XML element each */
    size_t min_length;    /* strings, in bytes */
    size_t max_length;    /* strings, in bytes; 0 means unbounded */
    int has_min, has_max; /* integers */
    long long min, max;
    char **enum_values;   /* strings: the allowed values, NULL when any value goes */
    size_t *enum_lengths; /* their lengths, so a match needs no strlen */
    size_t enum_count;
    oss_format format;
    struct oss_element *children; /* containers, in document order */
    size_t child_count;
    oss_rule *rules;
    size_t rule_count;
    size_t index; /* the element's place in a depth-first walk from the root (0), so the reader can log a number */
} oss_element;

typedef struct {
    oss_element root;
    size_t element_count; /* every element of the tree, numbered by oss_element.index */
    int names_ref;        /* registry reference to the table that keeps every element's lua_name alive */
    int collected;        /* set by __gc: a finalizer can resurrect the userdata, whose tree is then gone */
} oss_schema;

#define OSS_SCHEMA_TYPE "oss.schema"

/* Returns the schema userdata at `index`, raising a Lua error if it is not one or if it was already collected. */
oss_schema *oss_check_schema(lua_State *L, int index);

/* The child of `parent` called `name`, or NULL. */
const oss_element *oss_find_child(const oss_element *parent, const char *name, size_t length);

/* Registers `schema(description)` in the table on top. */
void oss_open_schema(lua_State *L);

#endif
