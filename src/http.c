/* Placeholder: replaced by the real http module. */
#include "http.h"

void oss_open_http(lua_State *L)
{
    (void)L;
}
