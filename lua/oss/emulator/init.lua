-- A local OSS-compatible server for the bucket inventory API: declared buckets, keys, faults and an admin path.
local clock = require "oss.emulator.clock"
local config = require "oss.emulator.config"
local faults = require "oss.emulator.faults"
local http_server = require "oss.emulator.http_server"
local issued_credentials = require "oss.emulator.issued_credentials"
local journal = require "oss.emulator.journal"
local platform_metadata = require "oss.emulator.platform_metadata"
local platform_sts = require "oss.emulator.platform_sts"
local platform_uri = require "oss.emulator.platform_uri"
local service = require "oss.emulator.service"
local store = require "oss.emulator.store"

local M = {}

local Emulator = {}
Emulator.__index = Emulator

-- options: { host, port, buckets = { "name:region:owner" | { name, region, owner } },
--            keys = { "id:secret:token" | { id, secret, token } }, tls = { cert, key }, data = file,
--            accounts = { [owner] = { incremental_inventory = false } }, journal_size = 100, request_timeout = 10,
--            ecs_role = name, imdsv2_only = false, oidc_provider_arn = arn, oidc_token_file = path,
--            credentials_lifetime = 3600 }
function M.new(options)
  local settings = config.normalise(options or {})
  local self = setmetatable({ settings = settings }, Emulator)
  local now = clock.new()
  local issued = issued_credentials.new(now, settings.credentials_lifetime)
  -- The configured keys and every credential the platform issued sign alike, on the OSS side and for STS.
  local function find_key(id)
    return settings.keys[id] or issued:find(id)
  end
  self.service = service.new {
    store = store.new(settings.buckets, settings.data),
    find_key = find_key,
    accounts = settings.accounts,
    faults = faults.new(),
    journal = journal.new(settings.journal_size),
    clock = now,
    issued = issued,
    platform = {
      platform_metadata.new { role = settings.ecs_role, imdsv2_only = settings.imdsv2_only, issued = issued,
        clock = now },
      platform_sts.new { find_key = find_key, issued = issued, clock = now,
        oidc_provider_arn = settings.oidc_provider_arn, oidc_token_file = settings.oidc_token_file },
      platform_uri.new { issued = issued },
    },
  }
  return self
end

-- Loads the saved state and starts listening; returns the port (useful with port 0) or nil, message.
function Emulator:start()
  local loaded, load_message = self.service.store:load()
  if not loaded then
    return nil, load_message
  end
  local server, message = http_server.new {
    host = self.settings.host,
    port = self.settings.port,
    tls = self.settings.tls,
    request_timeout = self.settings.request_timeout,
    handler = function(request)
      return self.service:handle_safely(request)
    end,
    on_error = self.on_error,
  }
  if not server then
    return nil, message
  end
  self.server = server
  self.port = server.port
  self.endpoint = (self.settings.tls and "https" or "http") .. "://" .. self.settings.host .. ":" .. server.port
  return server.port
end

-- Serves for up to `timeout` seconds (or until the next event); for callers that run their own loop.
function Emulator:step(timeout)
  assert(self.server, "emulator is not started")
  return self.server:step(timeout)
end

-- Serves until stop() is called (from a handler, a fault or another coroutine of the same loop).
function Emulator:run()
  while self.server do
    local ok, message = self.server:step(1)
    if not ok and self.server then
      return nil, message
    end
  end
  return true
end

-- The cqueues controller the server runs on, so an embedding program can run its own coroutines in the same loop.
function Emulator:controller()
  assert(self.server, "emulator is not started")
  return self.server.server.cq
end

function Emulator:stop()
  if self.server then
    self.server:close()
    self.server = nil
  end
end

-- Misuse (an invalid fault) raises, like any wrong argument.
function Emulator:inject(fault)
  local ok, message = self.service.faults:add(fault)
  if not ok then
    error("inject: " .. message, 2)
  end
  return true
end

function Emulator:requests(limit)
  return self.service.journal:list(limit)
end

function Emulator:reset()
  return self.service:reset()
end

function Emulator:set_clock_offset(seconds)
  assert(type(seconds) == "number", "set_clock_offset: seconds must be a number")
  self.service.clock:set_offset(seconds)
end

M.load_config_file = config.load_file

return M
