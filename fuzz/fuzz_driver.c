/* The libFuzzer entry points shared by every target: one Lua 5.4 state with oss.core, and the target's script. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "fuzz_driver.h"

#ifndef OSS_FUZZ_ROOT
#error "OSS_FUZZ_ROOT must name the source tree (the Makefile passes it)"
#endif

int luaopen_oss_core(lua_State *L);
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libFuzzer calls back with no context pointer, so the state and the script's function live here for the run. */
static lua_State *state;
static int check_ref = LUA_NOREF;

static void die(const char *what)
{
    fprintf(stderr, "fuzz driver: %s: %s\n", what, state != NULL ? lua_tostring(state, -1) : "no Lua state");
    abort();
}

static int traceback(lua_State *L)
{
    luaL_traceback(L, L, lua_tostring(L, 1), 1);
    return 1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    state = luaL_newstate();
    if (state == NULL)
        die("cannot create a Lua state");
    luaL_openlibs(state);
    /* oss.core is linked in, not loaded from a .so; the Lua modules come from the tree. */
    luaL_getsubtable(state, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(state, luaopen_oss_core);
    lua_setfield(state, -2, "oss.core");
    lua_pop(state, 1);
    lua_getglobal(state, "package");
    lua_pushliteral(state, OSS_FUZZ_ROOT "/lua/?.lua;" OSS_FUZZ_ROOT "/lua/?/init.lua");
    lua_setfield(state, -2, "path");
    lua_pop(state, 1);

    lua_pushcfunction(state, traceback);
    lua_pushfstring(state, "%s/fuzz/%s", OSS_FUZZ_ROOT, oss_fuzz_script);
    if (luaL_loadfile(state, lua_tostring(state, -1)) != LUA_OK)
        die("loading the script");
    lua_pushliteral(state, OSS_FUZZ_ROOT);
    if (lua_pcall(state, 1, 1, -4) != LUA_OK)
        die("running the script");
    if (!lua_isfunction(state, -1))
        die("the script must return a function");
    check_ref = luaL_ref(state, LUA_REGISTRYINDEX);
    lua_pop(state, 2);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lua_pushcfunction(state, traceback);
    lua_rawgeti(state, LUA_REGISTRYINDEX, check_ref);
    lua_pushlstring(state, (const char *)data, size);
    if (lua_pcall(state, 1, 0, -3) != LUA_OK)
        die("finding");
    lua_pop(state, 1);
    /* Collect now so a finaliser's fault shows up with the input that caused it. */
    lua_gc(state, LUA_GCCOLLECT, 0);
    return 0;
}
