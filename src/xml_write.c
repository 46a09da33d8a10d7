/* Placeholder: replaced by the real xml_write module. */
#include "xml_write.h"

void oss_open_xml_write(lua_State *L)
{
    (void)L;
}
