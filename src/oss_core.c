/* Entry point of `oss.core`: gathers each part of the C core into one module table. */
#include <lua.h>
#include <lauxlib.h>

#include "bucket_name.h"
#include "crypto.h"
#include "date.h"
#include "http.h"
#include "schema.h"
#include "sign.h"
#include "xml_read.h"
#include "xml_write.h"

#define OSS_CORE_VERSION "0.1.0"

#if defined(__GNUC__)
#define OSS_EXPORT __attribute__((visibility("default")))
#else
#define OSS_EXPORT
#endif

OSS_EXPORT int luaopen_oss_core(lua_State *L);

int luaopen_oss_core(lua_State *L)
{
    lua_newtable(L);
    oss_open_bucket_name(L);
    oss_open_crypto(L);
    oss_open_schema(L);
    oss_open_xml_write(L);
    oss_open_xml_read(L);
    oss_open_sign(L);
    oss_open_date(L);
    oss_open_http(L);
    lua_pushliteral(L, OSS_CORE_VERSION);
    lua_setfield(L, -2, "version");
    return 1;
}
