/* Placeholder: replaced by the real sign module. */
#include "sign.h"

void oss_open_sign(lua_State *L)
{
    (void)L;
}
