-- The OpenResty transport: one request over an nginx cosocket, which yields to nginx instead of blocking the worker.
--
-- Only this Lua code waits on the network; the C core is given whole chunks (sink:feed) and never sees a socket,
-- so nothing yields across a C call.

local errors = require "oss.errors"

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
local READ_SIZE = 65536
local MAX_HEADER_LINES = 200

local function check_options(options)
  for name, value in pairs(options) do
    if UNSUPPORTED[name] then
      error(("oss.transport.cosocket: option %s is not supported inside nginx: %s"):format(name, UNSUPPORTED[name]), 3)
    end
    local expected = OPTIONS[name]
    if not expected then
      error(("oss.transport.cosocket: unknown option %s"):format(tostring(name)), 3)
    end
    if type(value) ~= expected then
      error(("oss.transport.cosocket: option %s: expected a %s, got %s"):format(name, expected, type(value)), 3)
    end
  end
end

local function parse_url(url)
  local scheme, authority, target = url:match("^(https?)://([^/?#]+)(.*)$")
  if not scheme then return nil end
  local host, port = authority:match("^%[([%x:]+)%]:?(%d*)$")
  if not host then host, port = authority:match("^([^:]+):?(%d*)$") end
  if not host then return nil end
  port = tonumber(port) or (scheme == "https" and 443 or 80)
  if target == "" then target = "/" end
  return { scheme = scheme, authority = authority, host = host, port = port, target = target }
end

-- One exchange's socket, its overall deadline, and how a failure is named.
local Exchange = {}
Exchange.__index = Exchange

function Exchange:fail(code, message)
  self.socket:close()
  return nil, errors.network(code, ("%s (%s:%d)"):format(message, self.url.host, self.url.port))
end

-- What nginx's message means, in the codes the curl transport uses.
function Exchange:io_failure(stage, message)
  if message == "timeout" then return self:fail("timeout", stage .. " timed out") end
  return self:fail(stage, stage .. " failed: " .. tostring(message))
end

-- The time left of `timeout`, applied to the next read or write.
function Exchange:arm()
  local left = self.deadline - ngx.now()
  if left <= 0 then return false end
  local milliseconds = math.ceil(left * 1000)
  self.socket:settimeouts(milliseconds, milliseconds, milliseconds)
  return true
end

function Exchange:receive(pattern, stage)
  if not self:arm() then return self:fail("timeout", stage .. " timed out") end
  local data, message, partial = self.socket:receive(pattern)
  if data then return data end
  return self:io_failure(stage, message == "closed" and ("connection closed after " .. #(partial or "") .. " bytes")
    or message)
end

function Exchange:open(options)
  local url = self.url
  local sock = self.socket
  sock:settimeouts(options.connect_timeout * 1000, options.timeout * 1000, options.timeout * 1000)
  -- TLS and plain connections, and different verification settings, never share a pooled connection.
  local pool = ("%s:%d:%s:%s"):format(url.host, url.port, url.scheme, tostring(options.ssl_verify))
  local ok, message = sock:connect(url.host, url.port, { pool = pool })
  if not ok then
    if message == "timeout" then return self:fail("timeout", "connect timed out") end
    if message:find("resolve", 1, true) or message:find("resolver", 1, true) then
      return self:fail("resolve", "could not resolve the host: " .. message)
    end
    return self:fail("connect", "could not connect: " .. message)
  end
  if url.scheme == "https" and sock:getreusedtimes() == 0 then
    -- The host name is both the SNI and the name the certificate must carry when verifying. No session is kept
    -- (false): a pooled connection is reused whole, handshake included.
    local done, tls_message = sock:sslhandshake(false, url.host, options.ssl_verify)
    if not done then return self:fail("tls", "TLS handshake failed: " .. tostring(tls_message)) end
  end
  return true
end

function Exchange:send(request)
  local url = self.url
  local lines = { ("%s %s HTTP/1.1\r\n"):format(request.method, url.target), "Host: ", url.authority, "\r\n" }
  for name, value in pairs(request.headers or {}) do
    local lower = name:lower()
    if lower ~= "host" and lower ~= "content-length" and lower ~= "connection" then
      lines[#lines + 1] = name .. ": " .. value .. "\r\n"
    end
  end
  local body = request.body or ""
  if body ~= "" or request.method == "PUT" or request.method == "POST" then
    lines[#lines + 1] = "Content-Length: " .. #body .. "\r\n"
  end
  lines[#lines + 1] = "\r\n"
  lines[#lines + 1] = body
  if not self:arm() then return self:fail("timeout", "send timed out") end
  local sent, message = self.socket:send(lines)
  if not sent then return self:io_failure("send", message) end
  return true
end

-- Status line and headers; interim 1xx answers are skipped. -> status, headers, version
function Exchange:read_head()
  while true do
    local line, err = self:receive("*l", "receive")
    if not line then return nil, err end
    local version, status = line:match("^HTTP/(%d%.%d) (%d%d%d)")
    if not version then return self:fail("receive", "not an HTTP response: " .. line:sub(1, 40)) end
    local headers, count = {}, 0
    while true do
      local header, header_err = self:receive("*l", "receive")
      if not header then return nil, header_err end
      if header == "" then break end
      count = count + 1
      if count > MAX_HEADER_LINES then return self:fail("too_large", "too many response headers") end
      local name, value = header:match("^([^:%s]+):%s*(.-)%s*$")
      if name then
        name = name:lower()
        headers[name] = headers[name] and (headers[name] .. ", " .. value) or value
      end
    end
    status = tonumber(status)
    if status >= 200 then return status, headers, version end
  end
end

-- Passes each piece of the body to `take`, counting against the size limit.
function Exchange:deliver(piece, take)
  self.received = self.received + #piece
  if self.received > self.max_response_size then
    return self:fail("too_large", ("response body exceeds %d bytes"):format(self.max_response_size))
  end
  take(piece)
  return true
end

function Exchange:read_length(length, take)
  while length > 0 do
    local piece, err = self:receive(math.min(length, READ_SIZE), "receive")
    if not piece then return nil, err end
    local ok, deliver_err = self:deliver(piece, take)
    if not ok then return nil, deliver_err end
    length = length - #piece
  end
  return true
end

function Exchange:read_chunked(take)
  while true do
    local line, err = self:receive("*l", "receive")
    if not line then return nil, err end
    local size = tonumber(line:match("^%s*(%x+)"), 16)
    if not size then return self:fail("receive", "malformed chunk size") end
    if size == 0 then break end
    local ok, read_err = self:read_length(size, take)
    if not ok then return nil, read_err end
    local ending, ending_err = self:receive("*l", "receive")
    if not ending then return nil, ending_err end
  end
  repeat -- trailers, then the blank line that ends the message
    local trailer, err = self:receive("*l", "receive")
    if not trailer then return nil, err end
  until trailer == ""
  return true
end

-- Without a length the body runs to the end of the connection, which then cannot be reused.
function Exchange:read_to_close(take)
  while true do
    if not self:arm() then return self:fail("timeout", "receive timed out") end
    local piece, message = self.socket:receiveany(READ_SIZE)
    if not piece then
      if message == "closed" then return true end
      return self:io_failure("receive", message)
    end
    local ok, err = self:deliver(piece, take)
    if not ok then return nil, err end
  end
end

local function body_is_absent(method, status)
  return method == "HEAD" or status == 204 or status == 304
end

local function reusable(version, headers)
  local connection = (headers.connection or ""):lower()
  if version == "1.0" then return connection:find("keep-alive", 1, true) ~= nil end
  return not connection:find("close", 1, true)
end

--- new(options) -> send, where send(request) -> { status, headers (lower-case names), body, http_version } | nil, err
--- request = { method, url, headers, body, sink [, timeout, connect_timeout] }; a 2xx body is fed to `sink` as it
--- arrives (the answer's body is then ""). Each call must run where nginx allows cosockets.
function cosocket.new(options)
  options = options or {}
  if type(options) ~= "table" then
    error("oss.transport.cosocket: expected an options table, got " .. type(options), 2)
  end
  check_options(options)
  local settings = {}
  for name, default in pairs(DEFAULTS) do
    if options[name] == nil then settings[name] = default else settings[name] = options[name] end
  end

  return function(request)
    if type(request) ~= "table" then
      error("oss.transport.cosocket: expected a request table, got " .. type(request), 2)
    end
    local url = type(request.url) == "string" and parse_url(request.url)
    if not url then error("oss.transport.cosocket: expected an http(s) URL, got " .. tostring(request.url), 2) end
    local per_request = {
      connect_timeout = request.connect_timeout or settings.connect_timeout,
      timeout = request.timeout or settings.timeout,
      ssl_verify = settings.ssl_verify,
    }
    local exchange = setmetatable({
      socket = ngx.socket.tcp(), url = url, received = 0, max_response_size = settings.max_response_size,
      deadline = ngx.now() + per_request.timeout,
    }, Exchange)

    local ok, err = exchange:open(per_request)
    if not ok then return nil, err end
    ok, err = exchange:send(request)
    if not ok then return nil, err end
    local status, headers, version = exchange:read_head()
    if not status then return nil, headers end

    local pieces, sink, refused = {}, nil, false
    if request.sink and status >= 200 and status <= 299 then sink = request.sink end
    local function take(piece)
      if not sink then
        pieces[#pieces + 1] = piece
      elseif not refused and not sink:feed(piece) then
        refused = true -- the reader keeps its own error for finish(); the rest is only drained
      end
    end

    local keep = reusable(version, headers)
    local length = tonumber(headers["content-length"])
    if body_is_absent(request.method, status) then
      ok = true
    elseif (headers["transfer-encoding"] or ""):lower():find("chunked", 1, true) then
      ok, err = exchange:read_chunked(take)
    elseif length then
      ok, err = exchange:read_length(length, take)
    else
      keep = false
      ok, err = exchange:read_to_close(take)
    end
    if not ok then return nil, err end

    -- Only a connection whose whole answer was read can serve the next request.
    if keep then
      exchange.socket:setkeepalive(settings.keepalive_timeout * 1000, settings.pool_size)
    else
      exchange.socket:close()
    end
    return { status = status, headers = headers, body = table.concat(pieces), http_version = version }
  end
end

return cosocket
