/* Streaming, schema-guided XML reader on Expat: turns a service document into Lua tables as bytes arrive. */
#ifndef OSS_XML_READ_H
#define OSS_XML_READ_H

#include <stddef.h>

#include <lua.h>

typedef struct oss_xml_reader oss_xml_reader;

#define OSS_XML_READER_TYPE "oss.xml_reader"

/* The reader userdata at `index`, or NULL if the value is not one. */
oss_xml_reader *oss_test_xml_reader(lua_State *L, int index);

/* Feeds the next bytes of the document. Calls no Lua function and never raises, so the libcurl transport can
 * feed a body straight from its write callback. Returns 1, or 0 once the document is known to be bad (the error
 * is kept and reported by the reader's finish). */
int oss_xml_reader_feed(oss_xml_reader *reader, const char *bytes, size_t length);

/* Registers xml_reader(schema [, limits]) and xml_read(schema, bytes [, limits]) in the table on top. */
void oss_open_xml_read(lua_State *L);

#endif
