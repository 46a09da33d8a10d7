/* A request's query and headers in the canonical forms V4 and V1 sign: which count, their spelling and order. */
#ifndef OSS_SIGN_CANONICAL_H
#define OSS_SIGN_CANONICAL_H

#include <stddef.h>

#include <lua.h>

#include "buffer.h"

/* One header of the request's map. The map keeps both strings alive for the whole call. */
typedef struct {
    const char *name; /* spelt as in the map */
    size_t name_length;
    const char *value; /* trimmed */
    size_t value_length;
    int empty; /* the untrimmed value is "": never an additional header */
    int role;  /* V4: whether and why it goes into the canonical headers */
} oss_header_entry;

/* Headers the signer reads or writes itself, by lower-cased name. */
enum {
    OSS_KNOWN_AUTHORIZATION,
    OSS_KNOWN_CONTENT_MD5,
    OSS_KNOWN_CONTENT_TYPE,
    OSS_KNOWN_DATE,
    OSS_KNOWN_CONTENT_SHA256,
    OSS_KNOWN_OSS_DATE,
    OSS_KNOWN_SECURITY_TOKEN,
    OSS_KNOWN_COUNT
};

/* Index of each known header in the headers' entries, or -1. */
typedef struct {
    long at[OSS_KNOWN_COUNT];
} oss_known_headers;

/* V4 signs every parameter, percent-encoded; V1 only its sub-resources, as they are. */
typedef enum { OSS_QUERY_ENCODED, OSS_QUERY_SUB_RESOURCES } oss_query_form;

/* The entries of one call; the buffers are reused from call to call. */
typedef struct {
    oss_buffer headers; /* oss_header_entry[] */
    oss_buffer params;  /* the query's entries */
    oss_buffer text;    /* the query's keys and values: encoded for V4, raw for V1 */
} oss_canonical;

/* init allocates nothing; free gives the memory back; reset empties the buffers for the next call; failed tells
 * whether an allocation failed since the last reset. */
void oss_canonical_init(oss_canonical *canonical);
void oss_canonical_free(oss_canonical *canonical);
void oss_canonical_reset(oss_canonical *canonical);
int oss_canonical_failed(const oss_canonical *canonical);

/* CR, LF and NUL would end a header line early or cut a C string: such text is never signed or sent. */
int oss_has_control_character(const char *text, size_t length);

/* Input the signer refuses to sign (it could inject a header line): pushes nil, reason and the path made of
 * `path_format` as lua_pushfstring does, and returns 3, the number of results. */
int oss_sign_refuse(lua_State *L, const char *reason, const char *path_format, ...);

/* The collecting functions return 0, or a refusal's result count with its results pushed. Misuse (a non-string
 * name or value, two spellings of one header) raises. */

/* Copies the query map at `index` (nil: none) sorted by (encoded) key; with `refuse_controls`, refuses a CR, LF or
 * NUL. */
int oss_canonical_collect_query(lua_State *L, oss_canonical *canonical, int index, oss_query_form form,
                                int refuse_controls);
size_t oss_canonical_query_count(const oss_canonical *canonical);
/* k=v&k&...: a parameter with an empty value has no "=". */
void oss_canonical_append_query(oss_canonical *canonical, oss_buffer *out);

/* Collects the header map at `index`, sorted by lower-cased name, and finds the known ones; refuses a CR, LF or
 * NUL. */
int oss_canonical_collect_headers(lua_State *L, oss_canonical *canonical, int index, oss_known_headers *known,
                                  int v4);
oss_header_entry *oss_canonical_header_at(oss_canonical *canonical, size_t index);
/* Marks the additional headers (V4) that are present with a value and not signed anyway. Returns their count. */
size_t oss_canonical_mark_additional(lua_State *L, oss_canonical *canonical, int additional);
/* Sets a known header in the map at `headers_index` and in the entries, leaving them unsorted when one is added
 * (signed as `v4` says): the value is the string at `value_index`, and the name the map's own spelling, else the
 * signer's. Returns the value, which the map keeps alive. */
const char *oss_canonical_set_header_at(lua_State *L, oss_canonical *canonical, int headers_index,
                                        oss_known_headers *known, int which, int value_index, int v4);
/* The same with the value given as text. */
const char *oss_canonical_set_header(lua_State *L, oss_canonical *canonical, int headers_index,
                                     oss_known_headers *known, int which, const char *value, size_t length, int v4);
/* Pushes the map's own spelling of Authorization if it has one, else the signer's. Called before the entries are
 * sorted again. */
void oss_canonical_push_authorization_name(lua_State *L, oss_canonical *canonical, const oss_known_headers *known);
/* Sorts the entries again after set_header added some. */
void oss_canonical_resort_headers(oss_canonical *canonical);
/* name:value\n for each signed header, in sorted order. */
void oss_canonical_append_signed_headers(oss_canonical *canonical, oss_buffer *out);
/* a;b: the additional headers, lower-cased, sorted and unique because the entries are. */
void oss_canonical_append_additional_list(oss_canonical *canonical, oss_buffer *out);

#endif
