/* Running a method's work so that Lua code it triggers cannot re-enter its object. */
#include "reentry.h"

#include <lauxlib.h>

int oss_call_refusing_reentry(lua_State *L, lua_CFunction work, int nargs, int *busy)
{
    luaL_checkstack(L, nargs + 2, NULL);
    lua_pushcfunction(L, work);
    for (int i = 1; i <= nargs; i++)
        lua_pushvalue(L, i);
    *busy = 1;
    int status = lua_pcall(L, nargs, LUA_MULTRET, 0);
    *busy = 0;
    if (status != 0)
        return lua_error(L);
    return lua_gettop(L) - nargs;
}
