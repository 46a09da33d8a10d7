/* Schema-driven XML writer: validates a Lua table against the schema and serialises it in one pass. */
#ifndef OSS_XML_WRITE_H
#define OSS_XML_WRITE_H

#include <lua.h>

/* Registers xml_write(schema, value) -> bytes | nil, reason, path and xml_check(schema, name, value). */
void oss_open_xml_write(lua_State *L);

#endif
