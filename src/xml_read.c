/* Placeholder: replaced by the real xml_read module. */
#include "xml_read.h"

void oss_open_xml_read(lua_State *L)
{
    (void)L;
}
