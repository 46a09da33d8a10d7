/* Shims that let one source build against the Lua 5.4 API and LuaJIT's 5.1 API. */
#ifndef OSS_COMPAT_H
#define OSS_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

#if LUA_VERSION_NUM >= 502
#define oss_rawlen(L, i) lua_rawlen((L), (i))
#else
#define oss_rawlen(L, i) lua_objlen((L), (i))
#endif

#if LUA_VERSION_NUM >= 504
#define oss_newuserdata(L, size) lua_newuserdatauv((L), (size), 0)
#else
#define oss_newuserdata(L, size) lua_newuserdata((L), (size))
#endif

/* LuaJIT exports its own luaL_setfuncs and luaL_testudata; ours carry a prefix so the two never clash. */
void oss_setfuncs(lua_State *L, const luaL_Reg *funcs);
void *oss_testudata(lua_State *L, int index, const char *type_name);
void oss_setmetatable(lua_State *L, const char *type_name);

/* Creates the metatable of a userdata type once: `metamethods` on it, `methods` as its __index, and the
 * metatable itself hidden from Lua (getmetatable answers "locked"). Leaves the stack as it was. */
void oss_define_type(lua_State *L, const char *type_name, const luaL_Reg *metamethods, const luaL_Reg *methods);

/* Reads an integral number at `index`; returns 0 (and leaves *out alone) if the value is not one. */
int oss_tointeger(lua_State *L, int index, lua_Integer *out);

#endif
