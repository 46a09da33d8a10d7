/* Shims that let one source build against the Lua 5.4 API and LuaJIT's 5.1 API. */
#include "compat.h"

#include <math.h>

void oss_setfuncs(lua_State *L, const luaL_Reg *funcs)
{
    for (; funcs->name != NULL; funcs++) {
        lua_pushcfunction(L, funcs->func);
        lua_setfield(L, -2, funcs->name);
    }
}

void *oss_testudata(lua_State *L, int index, const char *type_name)
{
    void *udata = lua_touserdata(L, index);
    if (udata == NULL || !lua_getmetatable(L, index))
        return NULL;
    luaL_getmetatable(L, type_name);
    int same = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return same ? udata : NULL;
}

void oss_setmetatable(lua_State *L, const char *type_name)
{
    luaL_getmetatable(L, type_name);
    lua_setmetatable(L, -2);
}

void oss_define_type(lua_State *L, const char *type_name, const luaL_Reg *metamethods, const luaL_Reg *methods)
{
    if (luaL_newmetatable(L, type_name)) {
        oss_setfuncs(L, metamethods);
        lua_newtable(L);
        oss_setfuncs(L, methods);
        lua_setfield(L, -2, "__index");
        lua_pushliteral(L, "locked");
        lua_setfield(L, -2, "__metatable");
    }
    lua_pop(L, 1);
}

int oss_tointeger(lua_State *L, int index, lua_Integer *out)
{
    if (lua_type(L, index) != LUA_TNUMBER)
        return 0;
#if LUA_VERSION_NUM >= 503
    int is_integer = 0;
    lua_Integer value = lua_tointegerx(L, index, &is_integer);
    if (is_integer) {
        *out = value;
        return 1;
    }
#endif
    lua_Number number = lua_tonumber(L, index);
    /* 2^63 as a double: anything at or past it does not fit an int64. */
    if (number != floor(number) || number < -9223372036854775808.0 || number >= 9223372036854775808.0)
        return 0;
    *out = (lua_Integer)number;
    return 1;
}
