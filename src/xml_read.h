/* Placeholder: replaced by the real xml_read module. */
#ifndef OSS_XML_READ_H
#define OSS_XML_READ_H

#include <lua.h>

void oss_open_xml_read(lua_State *L);

#endif
