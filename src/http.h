/* Placeholder: replaced by the real http module. */
#ifndef OSS_HTTP_H
#define OSS_HTTP_H

#include <lua.h>

void oss_open_http(lua_State *L);

#endif
