# Builds oss.core once per Lua ABI (Lua 5.1, 5.2, 5.3, 5.4 and LuaJIT 2.1), runs the specs under each, and the demo.

BUILD ?= build
CC ?= cc
CFLAGS ?= -O2 -g
WARNINGS = -std=c99 -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
OSS_CFLAGS = $(WARNINGS) -fPIC -fvisibility=hidden -D_POSIX_C_SOURCE=200809L $(CFLAGS)
LIBS = -lcurl -lexpat -lcrypto
SOURCES = $(sort $(wildcard src/*.c))
HEADERS = $(wildcard src/*.h)

# Each runtime: its build folder's name, its interpreter and its headers (Debian's packages).
RUNTIMES = lua51 lua52 lua53 lua54 luajit
lua51_LUA = lua5.1
lua52_LUA = lua5.2
lua53_LUA = lua5.3
lua54_LUA = lua5.4
luajit_LUA = luajit
lua51_INCDIR ?= /usr/include/lua5.1
lua52_INCDIR ?= /usr/include/lua5.2
lua53_INCDIR ?= /usr/include/lua5.3
lua54_INCDIR ?= /usr/include/lua5.4
luajit_INCDIR ?= /usr/include/luajit-2.1

LUA_PATH_DEV = $(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;;
export LUA_PATH := $(LUA_PATH_DEV)

.PHONY: all $(RUNTIMES) deps interop-deps test $(addprefix test-,$(RUNTIMES)) demo bench rock docs clean
.PHONY: check check-sanitizers check-valgrind check-bench fuzz fuzz-targets

all: $(RUNTIMES)

$(RUNTIMES): %: $(BUILD)/%/oss/core.so

$(BUILD)/%/oss/core.so: $(SOURCES) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(OSS_CFLAGS) -I$($*_INCDIR) -shared -o $@ $(SOURCES) $(LDFLAGS) $(LIBS)

# Installs the Debian packages the build, the specs and the demo need (only those missing).
deps:
	@sh tools/install-deps

# Installs the pinned official Node SDK the interoperability specs drive (idempotent).
interop-deps: deps
	@sh tools/install-ali-oss

test: deps all interop-deps $(addprefix test-,$(RUNTIMES))

# Each runtime runs the whole suite against its own build of oss.core.
$(addprefix test-,$(RUNTIMES)): test-%: %
	LUA_CPATH="$(CURDIR)/$(BUILD)/$*/?.so;;" $($*_LUA) /usr/bin/busted --lua=$($*_LUA) spec

demo: deps all
	@sh tools/demo

# Medians and ratios against ali-oss, wrk and the OpenSSL and Expat limits (about a minute; not part of test).
bench: deps all interop-deps
	lua5.4 bench/run.lua $(abspath $(BUILD))
	LUA_CPATH="$(abspath $(BUILD))/lua54/?.so;;" lua5.4 bench/plan_jobs.lua

# make check: the specs under ASan+UBSan (LeakSanitizer on) and under valgrind, the fuzz targets built, and the
# bench harness in smoke mode.
SANITIZE = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
ASAN_CFLAGS = $(WARNINGS) -fPIC -fvisibility=hidden -D_POSIX_C_SOURCE=200809L -O1 -g $(SANITIZE)
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = $(patsubst fuzz/%_fuzz.c,$(BUILD)/fuzz/%_fuzz,$(wildcard fuzz/*_fuzz.c))
FUZZ_CFLAGS = $(WARNINGS) -D_POSIX_C_SOURCE=200809L -O1 -g -fsanitize=fuzzer,address,undefined \
	-fno-omit-frame-pointer -fno-sanitize-recover=all -DOSS_FUZZ_ROOT='"$(CURDIR)"' -I$(lua54_INCDIR) -Isrc

check: deps all interop-deps fuzz-targets check-sanitizers check-valgrind check-bench

# lua5.4 itself is not instrumented: the sanitizer runtime comes with tools/lua-host, so spawned tools stay plain.
$(BUILD)/asan/oss/core.so: $(SOURCES) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(ASAN_CFLAGS) -I$(lua54_INCDIR) -shared -o $@ $(SOURCES) $(LDFLAGS) $(LIBS)

$(BUILD)/asan/lua-host: tools/lua-host.c
	@mkdir -p $(@D)
	$(CC) $(WARNINGS) -O1 -g $(SANITIZE) -I$(lua54_INCDIR) -o $@ $< $(LDFLAGS) -llua5.4

check-sanitizers: $(BUILD)/asan/oss/core.so $(BUILD)/asan/lua-host
	@sh tools/check-sanitizers $(BUILD)/asan

check-valgrind: lua54
	@sh tools/check-valgrind $(BUILD)/lua54

# The bench harness in smoke mode: every script runs and reports every row (a test of the harness, not a timing).
check-bench: all interop-deps
	LUA_CPATH="$(CURDIR)/$(BUILD)/lua54/?.so;;" lua5.4 /usr/bin/busted --lua=lua5.4 bench/spec

$(BUILD)/fuzz/%_fuzz: fuzz/%_fuzz.c fuzz/fuzz_driver.c fuzz/fuzz_driver.h $(SOURCES) $(HEADERS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< fuzz/fuzz_driver.c $(SOURCES) $(LDFLAGS) -llua5.4 $(LIBS)

fuzz-targets: $(FUZZ_TARGETS)

# Each target runs FUZZ_SECONDS from a copy of its seed corpus in fuzz/corpus/<target>/.
fuzz: deps fuzz-targets
	@sh tools/run-fuzz $(BUILD)/fuzz $(FUZZ_SECONDS)

# A source rock of the committed HEAD, packed offline: luarocks clones the rockspec's URL, which git is told to
# read from this repository.
ROCK_URL = https://github.com/lua-oss/lua-oss.git
rock:
	@mkdir -p $(BUILD)/rocks
	cd $(BUILD)/rocks && for rockspec in $(CURDIR)/lua-oss-scm-1.rockspec $(CURDIR)/lua-oss-emulator-scm-1.rockspec; do \
		GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0="url.$(CURDIR)/.insteadOf" GIT_CONFIG_VALUE_0="$(ROCK_URL)" \
		luarocks pack "$$rockspec" || exit 1; done

# Writes the rule's element table of docs/reference.md from lua/oss/schema/inventory.lua.
docs:
	lua5.4 tools/reference-schema.lua docs/reference.md

clean:
	rm -rf $(BUILD)
