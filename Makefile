# Builds oss.core once per Lua ABI (Lua 5.4 and LuaJIT 2.1), runs the specs under both, and the demo.

LUA54_INCDIR ?= /usr/include/lua5.4
LUAJIT_INCDIR ?= /usr/include/luajit-2.1
BUILD ?= build
CC ?= cc
CFLAGS ?= -O2 -g
WARNINGS = -std=c99 -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
OSS_CFLAGS = $(WARNINGS) -fPIC -fvisibility=hidden -D_POSIX_C_SOURCE=200809L $(CFLAGS)
LIBS = -lcurl -lexpat -lcrypto
SOURCES = $(sort $(wildcard src/*.c))
HEADERS = $(wildcard src/*.h)

LUA_PATH_DEV = $(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;;
export LUA_PATH := $(LUA_PATH_DEV)

.PHONY: all lua54 luajit deps interop-deps test test-lua54 test-luajit demo clean

all: lua54 luajit

lua54: $(BUILD)/lua54/oss/core.so
luajit: $(BUILD)/luajit/oss/core.so

$(BUILD)/lua54/oss/core.so: $(SOURCES) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(OSS_CFLAGS) -I$(LUA54_INCDIR) -shared -o $@ $(SOURCES) $(LDFLAGS) $(LIBS)

$(BUILD)/luajit/oss/core.so: $(SOURCES) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(OSS_CFLAGS) -I$(LUAJIT_INCDIR) -shared -o $@ $(SOURCES) $(LDFLAGS) $(LIBS)

# Installs the Debian packages the build, the specs and the demo need (only those missing).
deps:
	@sh tools/install-deps

# Installs the pinned official Node SDK the interoperability specs drive (idempotent).
interop-deps: deps
	@sh tools/install-ali-oss

test: deps all interop-deps test-lua54 test-luajit

test-lua54: lua54
	LUA_CPATH="$(CURDIR)/$(BUILD)/lua54/?.so;;" lua5.4 /usr/bin/busted --lua=lua5.4 spec

test-luajit: luajit
	LUA_CPATH="$(CURDIR)/$(BUILD)/luajit/?.so;;" luajit /usr/bin/busted --lua=luajit spec

demo: deps all
	@sh tools/demo

clean:
	rm -rf $(BUILD)
