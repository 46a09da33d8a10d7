-- The OpenResty transport: one request over an nginx cosocket, which yields to nginx instead of blocking the worker.
--
-- Only this Lua code waits on the network; the C core is given whole pieces (sink:feed) and never sees a socket,
-- so nothing yields across a C call.

local cosocket_connection = require "oss.transport.cosocket_connection"
local cosocket_response = require "oss.transport.cosocket_response"
local errors = require "oss.errors"

local concat, lower, match = table.concat, string.lower, string.match

local cosocket = {}

local OPTIONS = {
  connect_timeout = "number", timeout = "number", ssl_verify = "boolean", max_response_size = "number",
  keepalive_timeout = "number", pool_size = "number",
}
-- Options the plain-Lua transport takes that a cosocket cannot honour: refused, so nothing is silently ignored.
local UNSUPPORTED = {
  ca_file = "set lua_ssl_trusted_certificate in nginx.conf instead",
  proxy = "cosockets connect directly (unset https_proxy / http_proxy for nginx, or pass "
    .. "transport = function(request) ... end to go through a proxy)",
}
local DEFAULTS = {
  connect_timeout = 10, timeout = 60, ssl_verify = true, max_response_size = 16 * 1024 * 1024,
  keepalive_timeout = 60, pool_size = 32,
}

-- Headers the transport writes itself, whatever the caller's spelling.
local OWN_HEADERS = { host = true, ["content-length"] = true, connection = true }

-- An option that cannot work inside nginx is the caller's configuration to fix (nil, err); an unknown option or a
-- wrong type is a mistake in the calling code, and raises.
local function check_options(options)
  for name, value in pairs(options) do
    if UNSUPPORTED[name] then
      return nil, errors.validation("not supported inside nginx: " .. UNSUPPORTED[name], name)
    end
    local expected = OPTIONS[name]
    if not expected then
      error(("oss.transport.cosocket: unknown option %s"):format(tostring(name)), 3)
    end
    if type(value) ~= expected then
      error(("oss.transport.cosocket: option %s: expected a %s, got %s"):format(name, expected, type(value)), 3)
    end
  end
  return true
end

-- Where `url` goes: { host, port, tls, authority, pool } and the request target; nil for no http(s) URL.
local function locate(url, ssl_verify)
  local scheme, authority, target = match(url, "^(https?)://([^/?#]+)(.*)$")
  if not scheme then return nil end
  local host, port = match(authority, "^%[([%x:]+)%]:?(%d*)$")
  if not host then host, port = match(authority, "^([^:]+):?(%d*)$") end
  if not host then return nil end
  port = tonumber(port) or (scheme == "https" and 443 or 80)
  local endpoint = {
    host = host, port = port, tls = scheme == "https", authority = authority,
    -- TLS and plain connections, and different verification settings, never share a pooled connection.
    pool = host .. ":" .. port .. ":" .. scheme .. ":" .. tostring(ssl_verify),
  }
  return endpoint, target == "" and "/" or target
end

-- The request line and headers, ending with the blank line.
local function request_head(request, endpoint, target)
  local lines = { request.method .. " " .. target .. " HTTP/1.1", "Host: " .. endpoint.authority }
  for name, value in pairs(request.headers or {}) do
    if not OWN_HEADERS[lower(name)] then lines[#lines + 1] = name .. ": " .. value end
  end
  local body = request.body or ""
  if body ~= "" or request.method == "PUT" or request.method == "POST" then
    lines[#lines + 1] = "Content-Length: " .. #body
  end
  lines[#lines + 1] = "\r\n"
  return concat(lines, "\r\n")
end

--- new(options) -> send (or nil, err for an option nginx cannot honour), where
--- send(request) -> { status, headers (lower-case names), body, http_version } | nil, err
--- request = { method, url, headers, body, sink [, timeout, connect_timeout] }; a 2xx body is fed to `sink` as it
--- arrives (the answer's body is then ""). Each call must run where nginx allows cosockets.
function cosocket.new(options)
  options = options or {}
  if type(options) ~= "table" then
    error("oss.transport.cosocket: expected an options table, got " .. type(options), 2)
  end
  local checked, err = check_options(options)
  if not checked then return nil, err end
  local settings = {}
  for name, default in pairs(DEFAULTS) do
    if options[name] == nil then settings[name] = default else settings[name] = options[name] end
  end

  return function(request)
    if type(request) ~= "table" then
      error("oss.transport.cosocket: expected a request table, got " .. type(request), 2)
    end
    if type(request.method) ~= "string" then
      error("oss.transport.cosocket: expected a request method, got " .. tostring(request.method), 2)
    end
    local endpoint, target
    if type(request.url) == "string" then endpoint, target = locate(request.url, settings.ssl_verify) end
    if not endpoint then
      error("oss.transport.cosocket: expected an http(s) URL, got " .. tostring(request.url), 2)
    end

    local connection, failure = cosocket_connection.open(endpoint,
      request.connect_timeout or settings.connect_timeout, request.timeout or settings.timeout, settings.ssl_verify)
    if not connection then return nil, failure end
    -- The head and the body leave in one write.
    local sent, send_failure = connection:send { request_head(request, endpoint, target), request.body or "" }
    if not sent then return nil, send_failure end
    local answer, reusable = cosocket_response.read(connection, request.method, request.sink,
      settings.max_response_size)
    if not answer then return nil, reusable end -- on a failure, the second value is the error
    connection:release(reusable, settings.keepalive_timeout * 1000, settings.pool_size)
    return answer
  end
end

return cosocket
