-- The plain-Lua transport: a function that sends one request over libcurl, keeping its connection alive.

local core = require "oss.core"
local errors = require "oss.errors"

local curl = {}

-- What `new` accepts, with the Lua type each must have; all of them apply to every request.
local OPTIONS = {
  connect_timeout = "number", timeout = "number", ssl_verify = "boolean", ca_file = "string",
  proxy = "string", no_proxy = "string", max_response_size = "number",
}

local function check_options(options)
  for name, value in pairs(options) do
    local expected = OPTIONS[name]
    if not expected then
      error(("oss.transport.curl: unknown option %s"):format(tostring(name)), 3)
    end
    if type(value) ~= expected then
      error(("oss.transport.curl: option %s: expected a %s, got %s"):format(name, expected, type(value)), 3)
    end
  end
end

--- new(options) -> send | nil, err, where send(request) -> response | nil, err
--- request = { method, url, headers, body, sink [, timeout, connect_timeout] }
--- response = { status, headers (lower-case names), body, http_version }
function curl.new(options)
  options = options or {}
  if type(options) ~= "table" then
    error("oss.transport.curl: expected an options table, got " .. type(options), 2)
  end
  check_options(options)
  local handle, problem = core.http()
  if not handle then return nil, errors.network("other", problem) end

  -- The options go to the handle as they are, beside each request: nothing is copied per request.
  local settings = {}
  for name in pairs(OPTIONS) do settings[name] = options[name] end

  return function(request)
    if type(request) ~= "table" then
      error("oss.transport.curl: expected a request table, got " .. type(request), 2)
    end
    local response, message, code = handle:request(request, settings)
    if not response then return nil, errors.network(code, message) end
    return response
  end
end

return curl
