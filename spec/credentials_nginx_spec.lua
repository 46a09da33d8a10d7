-- Inside nginx, one provider shared by a worker's requests: while its first fetch is in flight the other
-- requests wait for it instead of fetching too, and all of them sign with what it brought. A client built per
-- request with the same settings gets that same provider, and the worker answers other requests meanwhile.

local cjson = require "cjson"
local socket = require "socket"
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

-- A gateway that builds its client in each request, with nothing but the instance's role to sign with.
local PER_REQUEST_CONFIG = [[
daemon off;
worker_processes 1;
error_log logs/error.log warn;
pid logs/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  %s
  server {
    listen 127.0.0.1:%d;
    location = /ping {
      content_by_lua_block { ngx.say("pong") }
    }
    location /put/ {
      content_by_lua_block {
        local oss = require "oss"
        local rule = {}
        for name, element in pairs(require("examples.reference_rules").syntax) do rule[name] = element end
        rule.Id = ngx.var.uri:match("^/put/(.+)$")
        -- No key, no provider: the default chain, which finds the role at this metadata service.
        local client = assert(oss.new { region = "cn-hangzhou", endpoint = "%s", path_style = true,
          metadata_endpoint = "%s" })
        local ok, err = client:put_bucket_inventory("examplebucket", rule)
        ngx.status = ok and 201 or 502
        ngx.say(ok and "put" or tostring(err))
      }
    }
  }
}
]]
local PUTS = 200

describe("clients built per request in nginx", function()
  local emulator, nginx, port, config_file

  setup(function()
    config_file = os.tmpname()
    local file = assert(io.open(config_file, "wb"))
    file:write("return { journal_size = 1000 }\n")
    file:close()
    emulator = emulator_support.start {
      buckets = { "examplebucket", "destination-bucket" }, ecs_role = ROLE, config = config_file,
    }
    port = nginx_support.free_port()
    local config = nginx_support.module_lines() .. PER_REQUEST_CONFIG:format(nginx_support.package_paths(), port,
      emulator.endpoint, emulator.endpoint)
    nginx = nginx_support.start(config, { port = port })
  end)

  teardown(function()
    if nginx then nginx:stop() end
    if emulator then emulator:stop() end
    if config_file then os.remove(config_file) end
  end)

  it("share one metadata fetch between " .. PUTS .. " puts in flight, and /ping still answers at once", function()
    -- The role's credentials come slowly and every put is held a second, so all the puts are in flight at once.
    emulator:faults {
      { method = "GET", path = CREDENTIALS_PATH, delay = 0.5, times = 1 },
      { operation = "PutBucketInventory", delay = 1, times = PUTS },
    }
    local started = socket.gettime()
    local connections = {}
    for index = 1, PUTS do
      local connection = assert(socket.connect("127.0.0.1", port))
      assert(connection:send(("GET /put/shared-%03d HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n")
        :format(index)))
      connections[index] = connection
    end

    local pending
    while socket.gettime() - started < 30 do
      pending = emulator:admin("GET", "faults").faults
      if not pending[1] then break end
      socket.sleep(0.01)
    end
    assert.is_nil(pending[1], "not every put reached the emulator" .. nginx:error_log():sub(-1500))

    local latencies = {}
    for index = 1, 5 do
      local sent = socket.gettime()
      local status, text = emulator_support.http("GET", "http://127.0.0.1:" .. port .. "/ping")
      latencies[index] = socket.gettime() - sent
      assert.are.same({ 200, "pong\n" }, { status, text })
    end
    local in_flight = PUTS - #socket.select(connections, nil, 0)

    for index, connection in ipairs(connections) do
      connection:settimeout(30)
      local line = connection:receive("*l")
      local rest = connection:receive("*a")
      assert.are.equal("HTTP/1.1 201 Created", line, "put " .. index .. ": " .. tostring(rest))
      connection:close()
    end
    local all_done = socket.gettime() - started
    table.sort(latencies)
    local fetches, puts = 0, 0
    for _, request in ipairs(emulator:requests()) do
      if request.target == CREDENTIALS_PATH then fetches = fetches + 1 end
      if request.method == "PUT" and request.target:find("^/examplebucket") then puts = puts + 1 end
    end
    print(("\n  %d clients built per request: %d credentials fetch(es); /ping answered in %.1f ms (median of 5;"
      .. " slowest %.1f ms) with %d puts in flight; all done in %.2f s"):format(PUTS, fetches, latencies[3] * 1000,
      latencies[5] * 1000, in_flight, all_done))

    assert.are.equal(1, fetches)
    assert.are.equal(PUTS, puts)
    assert.is_true(in_flight >= PUTS / 2, ("only %d puts were still in flight"):format(in_flight))
    -- A blocked worker would answer /ping only after the puts, a second or more.
    assert.is_true(latencies[3] < 0.05, ("/ping took %.0f ms"):format(latencies[3] * 1000))
    assert.is_true(latencies[5] < 0.5, ("/ping took %.0f ms"):format(latencies[5] * 1000))
  end)
end)
