-- The rocks install exactly what the tree holds, carry one version, and run from a tree outside the repository.

local emulator_support = require "spec.support.emulator"
local fixtures = require "spec.support.fixtures"
local VERSION = require "oss.version"

local quote = emulator_support.shell_quote
-- Absolute, since the installed tools run from a folder outside the repository.
local ROOT = (function()
  local pipe = assert(io.popen("cd " .. quote(emulator_support.ROOT) .. " && pwd"))
  local path = pipe:read("*l")
  pipe:close()
  return path
end)()
local ROCKS = { library = "lua-oss", emulator = "lua-oss-emulator" }

local function load_rockspec(file)
  local handle = assert(io.open(ROOT .. "/" .. file, "rb"))
  local source = handle:read("*a")
  handle:close()
  local env = {}
  local chunk
  if setfenv then
    chunk = assert(loadstring(source, file))
    setfenv(chunk, env)
  else
    chunk = assert(load(source, file, "t", env))
  end
  chunk()
  return env
end

local function list(command)
  local found = {}
  local pipe = assert(io.popen("cd " .. quote(ROOT) .. " && " .. command))
  for line in pipe:lines() do found[#found + 1] = line end
  pipe:close()
  table.sort(found)
  return found
end

local function sorted_keys(map)
  local keys = {}
  for key in pairs(map) do keys[#keys + 1] = key end
  table.sort(keys)
  return keys
end

-- The rockspec without what differs between a release and the development head.
local function without_version(rockspec)
  local copy = fixtures.copy(rockspec)
  copy.version, copy.source = nil, nil
  for index, dependency in ipairs(copy.dependencies) do
    copy.dependencies[index] = dependency:gsub("^lua%-oss = .*$", "lua-oss")
  end
  return copy
end

describe("the rockspecs", function()
  local released, head = {}, {}
  for role, package in pairs(ROCKS) do
    released[role] = load_rockspec(("%s-%s-1.rockspec"):format(package, VERSION))
    head[role] = load_rockspec(package .. "-scm-1.rockspec")
  end

  it("carry the version oss.version holds, and differ from the scm ones only in version and source", function()
    for role, package in pairs(ROCKS) do
      assert.are.equal(package, released[role].package)
      assert.are.equal(VERSION .. "-1", released[role].version)
      assert.are.equal("v" .. VERSION, released[role].source.tag)
      assert.are.equal("scm-1", head[role].version)
      assert.are.same(without_version(released[role]), without_version(head[role]))
    end
    assert.are.same(list("ls *.rockspec"), {
      "lua-oss-" .. VERSION .. "-1.rockspec", "lua-oss-emulator-" .. VERSION .. "-1.rockspec",
      "lua-oss-emulator-scm-1.rockspec", "lua-oss-scm-1.rockspec",
    })
  end)

  it("declare what the modules require: argparse and cjson for the CLI, lua-oss and http for the emulator", function()
    assert.are.same({ "lua >= 5.1", "argparse >= 0.6", "lua-cjson >= 2.1" }, released.library.dependencies)
    assert.are.same({ "lua >= 5.1, < 5.4", "lua-oss = " .. VERSION, "http >= 0.3", "argparse >= 0.6" },
      released.emulator.dependencies)
  end)

  it("name every Lua module under lua/ once, by the name require uses, the emulator's in its own rock", function()
    local listed = {}
    for role, rockspec in pairs(released) do
      for name, path in pairs(rockspec.build.modules) do
        if type(path) == "string" then
          local expected = path:gsub("^lua/", ""):gsub("/init%.lua$", ""):gsub("%.lua$", ""):gsub("/", ".")
          assert.are.equal(expected, name)
          assert.are.equal(role == "emulator", name:find("^oss%.emulator") ~= nil, name)
          listed[#listed + 1] = path
        end
      end
    end
    table.sort(listed)
    assert.are.same(list("find lua -name '*.lua'"), listed)
  end)

  it("build oss.core from every C source", function()
    local sources = {}
    for _, path in ipairs(released.library.build.modules["oss.core"].sources) do sources[#sources + 1] = path end
    table.sort(sources)
    assert.are.same(list("ls src/*.c"), sources)
  end)

  it("install every command in bin/, each a Lua script luarocks can wrap", function()
    local installed = {}
    for _, rockspec in pairs(released) do
      for name, path in pairs(rockspec.build.install.bin) do
        assert.are.equal("bin/" .. name, path)
        installed[#installed + 1] = path
        local handle = assert(io.open(ROOT .. "/" .. path, "rb"))
        local first_line = handle:read("*l")
        handle:close()
        assert.are.equal("#!/usr/bin/env lua", first_line)
        assert.truthy(loadfile(ROOT .. "/" .. path), path)
      end
    end
    table.sort(installed)
    assert.are.same(list("ls bin/*"), installed)
  end)
end)

-- Installing builds oss.core twice and starts an installed emulator: once, from the Lua 5.4 run.
local describe_installed = (_VERSION == "Lua 5.4" and not jit) and describe or pending

describe_installed("the installed rocks", function()
  local base, work, tree54, tree51, emulator

  -- Runs `command` from an empty folder outside the repository, with only `tree`'s paths added to Lua's.
  local function in_tree(lua_version, tree, command)
    return fixtures.run(("cd %s && env -u LUA_PATH -u LUA_CPATH sh -c %s"):format(quote(work), quote(
      ("eval \"$(luarocks --lua-version=%s path --tree %s)\" && %s"):format(lua_version, quote(tree), command))))
  end

  local function install(lua_version, tree, package)
    local output, status = fixtures.run(("cd %s && luarocks --lua-version=%s make --tree %s --deps-mode=none %s")
      :format(quote(ROOT), lua_version, quote(tree), quote(("%s-%s-1.rockspec"):format(package, VERSION))))
    assert.are.equal(0, status, output)
  end

  setup(function()
    base = os.tmpname()
    os.remove(base)
    work, tree54, tree51 = base .. "/run", base .. "/tree54", base .. "/tree51"
    assert(os.execute("mkdir -p " .. quote(work)))
    -- The CLI under Lua 5.4; the emulator needs lua-http, which Debian has for Lua 5.1 to 5.3.
    install("5.4", tree54, ROCKS.library)
    install("5.1", tree51, ROCKS.library)
    install("5.1", tree51, ROCKS.emulator)
  end)

  teardown(function()
    if emulator then emulator:stop() end
    if base then os.execute("rm -rf " .. quote(base)) end
  end)

  it("answer --version with the rockspec's version, and --help", function()
    local output, status = in_tree("5.4", tree54, quote(tree54 .. "/bin/oss-inventory") .. " --version")
    assert.are.equal(0, status, output)
    assert.are.equal("oss-inventory " .. VERSION .. "\n", output)
    output, status = in_tree("5.1", tree51, quote(tree51 .. "/bin/oss-emulator") .. " --version")
    assert.are.equal(0, status, output)
    assert.are.equal("oss-emulator " .. VERSION .. "\n", output)
    output, status = in_tree("5.1", tree51, quote(tree51 .. "/bin/oss-emulator") .. " --help")
    assert.are.equal(0, status, output)
    assert.truthy(output:find("Usage: oss-emulator", 1, true), output)
  end)

  it("packs with make rock a source rock of HEAD that installs with no network", function()
    local rocks, tree = base .. "/build", base .. "/from-rock"
    local output, status = fixtures.run(("make -s -C %s rock BUILD=%s"):format(quote(ROOT), quote(rocks)))
    assert.are.equal(0, status, output)
    output, status = fixtures.run(("cd %s && luarocks --lua-version=5.4 install --tree %s --deps-mode=none %s")
      :format(quote(work), quote(tree), quote(rocks .. "/rocks/lua-oss-scm-1.src.rock")))
    assert.are.equal(0, status, output)
    output, status = in_tree("5.4", tree, quote(tree .. "/bin/oss-inventory") .. " --version")
    assert.are.equal(0, status, output)
    assert.are.equal("oss-inventory " .. VERSION .. "\n", output)
  end)

  it("put and get a rule through the installed CLI against the installed emulator", function()
    local paths = ('eval "$(luarocks --lua-version=5.1 path --tree %s)" && '):format(quote(tree51))
    emulator = emulator_support.start {
      buckets = { "examplebucket:cn-hangzhou", "destination-bucket:cn-hangzhou" },
      keys = { "installed-id:installed-secret" },
      program = ("env -u LUA_PATH -u LUA_CPATH sh -c %s sh"):format(
        quote(paths .. "exec " .. quote(tree51 .. "/bin/oss-emulator") .. ' "$@"')),
    }
    local cli = ("OSS_ENDPOINT=%s OSS_REGION=cn-hangzhou OSS_PATH_STYLE=1 OSS_ACCESS_KEY_ID=installed-id "
      .. "OSS_ACCESS_KEY_SECRET=installed-secret %s")
      :format(quote(emulator.endpoint), quote(tree54 .. "/bin/oss-inventory"))
    local output, status = in_tree("5.4", tree54, cli .. " put examplebucket "
      .. quote(ROOT .. "/spec/fixtures/cli/rule.json"))
    assert.are.equal(0, status, output)
    output, status = in_tree("5.4", tree54, cli .. " list examplebucket -o json")
    assert.are.equal(0, status, output)
    assert.truthy(output:find('"Id": "json-rule"', 1, true), output)
  end)
end)
