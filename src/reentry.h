/* Running a method's work so that Lua code it triggers (a metamethod, a finalizer) cannot re-enter its object. */
#ifndef OSS_REENTRY_H
#define OSS_REENTRY_H

#include <lua.h>

/* Calls work(1..nargs) with copies of the arguments 1..nargs, which must be the whole stack, and *busy set for the
 * call; the caller refuses to start while *busy is set. The work runs under lua_pcall so that *busy is cleared
 * however it ends, and its error is raised again. The originals stay below the call: index 1 keeps the object
 * alive after it. Returns the number of results of `work`, on top of the stack. */
int oss_call_refusing_reentry(lua_State *L, lua_CFunction work, int nargs, int *busy);

#endif
