-- The rockspec installs exactly what the tree holds: every Lua module, every C source, every tool in bin/.

local ROCKSPEC = "lua-oss-scm-1.rockspec"

local function load_rockspec()
  local file = assert(io.open(ROCKSPEC, "rb"))
  local source = file:read("*a")
  file:close()
  local env = {}
  local chunk
  if setfenv then
    chunk = assert(loadstring(source, ROCKSPEC))
    setfenv(chunk, env)
  else
    chunk = assert(load(source, ROCKSPEC, "t", env))
  end
  chunk()
  return env
end

local function list(command)
  local found = {}
  local pipe = assert(io.popen(command))
  for line in pipe:lines() do found[#found + 1] = line end
  pipe:close()
  table.sort(found)
  return found
end

describe("the rockspec", function()
  local rockspec = load_rockspec()
  local modules = rockspec.build.modules

  it("names every Lua module under lua/ by the name require uses", function()
    local listed = {}
    for name, path in pairs(modules) do
      if type(path) == "string" then
        local expected = path:gsub("^lua/", ""):gsub("/init%.lua$", ""):gsub("%.lua$", ""):gsub("/", ".")
        assert.are.equal(expected, name)
        listed[#listed + 1] = path
      end
    end
    table.sort(listed)
    assert.are.same(list("find lua -name '*.lua'"), listed)
  end)

  it("builds oss.core from every C source", function()
    local sources = {}
    for _, path in ipairs(modules["oss.core"].sources) do sources[#sources + 1] = path end
    table.sort(sources)
    assert.are.same(list("ls src/*.c"), sources)
  end)

  it("installs every command in bin/", function()
    local installed = {}
    for name, path in pairs(rockspec.build.install.bin) do
      assert.are.equal("bin/" .. name, path)
      installed[#installed + 1] = path
    end
    table.sort(installed)
    assert.are.same(list("ls bin/*"), installed)
  end)

  it("builds and installs with luarocks make, and the installed module works", function()
    if jit then return end -- luarocks here targets Lua 5.4; the LuaJIT build is the Makefile's
    local tree = os.tmpname()
    os.remove(tree)
    local output = table.concat(list(("luarocks --lua-version 5.4 make --tree %s %s 2>&1; echo status=$?")
      :format(tree, ROCKSPEC)), "\n")
    assert.truthy(output:find("status=0", 1, true), output)
    local check = list(("LUA_PATH='%s/share/lua/5.4/?.lua;%s/share/lua/5.4/?/init.lua' LUA_CPATH='%s/lib/lua/5.4/?.so' "
      .. "lua5.4 -e 'local oss = require \"oss\"; print(package.searchpath(\"oss.core\", package.cpath), "
      .. "oss.new{region=\"cn-hangzhou\", access_key_id=\"a\", access_key_secret=\"b\"})' 2>&1")
      :format(tree, tree, tree))
    os.execute("rm -rf " .. tree)
    assert.are.equal(1, #check)
    assert.truthy(check[1]:find(tree .. "/lib/lua/5.4/oss/core.so", 1, true), check[1])
    assert.truthy(check[1]:find("oss.client: cn-hangzhou", 1, true), check[1])
  end)
end)
