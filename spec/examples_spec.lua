-- The examples a user copies, and the README's main command, run for real against the emulator.

local support = require "spec.support.emulator"

local INTERPRETER = jit and "luajit" or "lua5.4"

local run = require("spec.support.fixtures").run

local function lua_environment()
  local build = (jit and "build/luajit" or "build/lua54")
  return ('LUA_PATH="lua/?.lua;lua/?/init.lua;;" LUA_CPATH="%s/?.so;;" '):format(build)
end

describe("examples", function()
  local emulator

  setup(function()
    emulator = support.start {
      buckets = { "examplebucket", "destination-bucket" },
      keys = { "example-key:example-secret" },
    }
  end)

  teardown(function()
    if emulator then emulator:stop() end
  end)

  it("put_inventory.lua submits the reference rule and prints the outcome", function()
    local environment = lua_environment() .. ("OSS_ENDPOINT=%s OSS_ACCESS_KEY_ID=example-key "
      .. "OSS_ACCESS_KEY_SECRET=example-secret "):format(emulator.endpoint)
    local output, status = run(environment .. INTERPRETER .. " examples/put_inventory.lua")
    assert.are.equal(0, status, output)
    assert.are.equal("put report1 on examplebucket: ok\n", output)
    local stored = emulator:requests(1)[1]
    assert.are.equal("PUT", stored.method)

    -- the same rule again is a service error the example reports and exits non-zero on
    output, status = run(environment .. INTERPRETER .. " examples/put_inventory.lua")
    assert.are_not.equal(0, status)
    assert.truthy(output:find("service error 409 InventoryAlreadyExist", 1, true), output)
  end)

  it("the README's main command runs the demo from start to end", function()
    local output, status = run("sh tools/demo")
    assert.are.equal(0, status, output)
    for _, line in ipairs {
      "ok    put report1", "ok    put Report-1", "ok    get report1", "ok    get Report-1", "2 rules",
      "did you mean IsEnabled?", "ok    delete report1", "ok    delete Report-1", "404 NoSuchInventory",
      "emulator stopped",
    } do
      assert.truthy(output:find(line, 1, true), line .. " missing from:\n" .. output)
    end
  end)
end)
