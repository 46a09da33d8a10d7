/* What OSS accepts as a bucket name. */
#include "bucket_name.h"

#include <lauxlib.h>

int oss_is_bucket_name(const char *name, size_t length)
{
    if (length < 3 || length > 63)
        return 0;
    for (size_t i = 0; i < length; i++) {
        char c = name[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && !(c == '-' && i > 0 && i + 1 < length))
            return 0;
    }
    return 1;
}

static int lua_is_bucket_name(lua_State *L)
{
    size_t length;
    const char *name = luaL_checklstring(L, 1, &length);
    lua_pushboolean(L, oss_is_bucket_name(name, length));
    return 1;
}

void oss_open_bucket_name(lua_State *L)
{
    lua_pushcfunction(L, lua_is_bucket_name);
    lua_setfield(L, -2, "is_bucket_name");
}
