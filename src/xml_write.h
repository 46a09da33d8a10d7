/* Placeholder: replaced by the real xml_write module. */
#ifndef OSS_XML_WRITE_H
#define OSS_XML_WRITE_H

#include <lua.h>

void oss_open_xml_write(lua_State *L);

#endif
