/* libcurl transport: the `oss.http` userdata that sends one request at a time over a kept-alive connection. */
#ifndef OSS_HTTP_H
#define OSS_HTTP_H

#include <lua.h>

#define OSS_HTTP_TYPE "oss.http"

/* Registers http() in the table on top: a new handle, or nil + message when libcurl cannot start. */
void oss_open_http(lua_State *L);

#endif
