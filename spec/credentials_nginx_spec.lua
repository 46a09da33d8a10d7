-- Inside nginx, one provider shared by a worker's requests: while its first fetch is in flight the other
-- requests wait for it instead of fetching too, and all of them sign with what it brought.

local cjson = require "cjson"
local emulator_support = require "spec.support.emulator"
local nginx_support = require "spec.support.nginx"

local ROLE = "EcsInventoryRole"
local CREDENTIALS_PATH = "/latest/meta-data/ram/security-credentials/" .. ROLE
local CONCURRENT = 20

local CONFIG = [[
daemon off;
worker_processes 1;
error_log logs/error.log warn;
pid logs/nginx.pid;
events { worker_connections 256; }
http {
  access_log off;
  %s
  init_by_lua_block {
    -- One provider for the worker, as every client built with the same settings would share it.
    package.loaded.shared_provider = assert(require("oss.credentials").ecs_ram_role {
      role_name = "%s", metadata_endpoint = "%s", getenv = function() return nil end,
    })
  }
  server {
    listen 127.0.0.1:%d;
    location = /concurrent {
      content_by_lua_block {
        local oss = require "oss"
        local client = assert(oss.new { region = "cn-hangzhou", endpoint = "%s", path_style = true,
          credentials_provider = package.loaded.shared_provider })
        local threads = {}
        for index = 1, %d do
          threads[index] = ngx.thread.spawn(function()
            -- No rule has this id: a NoSuchInventory answer means the signature was accepted.
            local _, err = client:get_bucket_inventory("examplebucket", "absent")
            return oss.errors.is_missing_rule(err) and "signed" or tostring(err)
          end)
        end
        local outcomes = {}
        for index, thread in ipairs(threads) do
          local _, outcome = ngx.thread.wait(thread)
          outcomes[index] = outcome
        end
        ngx.say(require("cjson").encode(outcomes))
      }
    }
  }
}
]]

describe("a provider shared by a worker's requests in nginx", function()
  local emulator, nginx, base

  setup(function()
    emulator = emulator_support.start { buckets = { "examplebucket" }, ecs_role = ROLE }
    local port = nginx_support.free_port()
    local config = nginx_support.module_lines() .. CONFIG:format(nginx_support.package_paths(), ROLE,
      emulator.endpoint, port, emulator.endpoint, CONCURRENT)
    nginx = nginx_support.start(config, { port = port })
    base = "http://127.0.0.1:" .. port
  end)

  teardown(function()
    if nginx then nginx:stop() end
    if emulator then emulator:stop() end
  end)

  it("fetches once while " .. CONCURRENT .. " requests wait for the fetch in flight", function()
    -- The metadata service answers slowly, so every request arrives while the first fetch is in flight.
    emulator:faults { { method = "GET", path = CREDENTIALS_PATH, delay = 0.5, times = 1 } }
    local status, text = emulator_support.http("GET", base .. "/concurrent")
    assert.are.equal(200, status, text .. nginx:error_log():sub(-1500))
    local outcomes = cjson.decode(text)
    assert.are.equal(CONCURRENT, #outcomes)
    for index, outcome in ipairs(outcomes) do assert.are.equal("signed", outcome, "request " .. index) end
    local fetches, lists = 0, 0
    for _, request in ipairs(emulator:requests()) do
      if request.target == CREDENTIALS_PATH then fetches = fetches + 1 end
      if request.target:find("^/examplebucket") then lists = lists + 1 end
    end
    assert.are.equal(1, fetches)
    assert.are.equal(CONCURRENT, lists)
  end)
end)
