/* Placeholder: replaced by the real sign module. */
#ifndef OSS_SIGN_H
#define OSS_SIGN_H

#include <lua.h>

void oss_open_sign(lua_State *L);

#endif
