-- Glue between lua-http and the emulator: reads each request whole, hands it to a handler, writes the answer as told.
local cqueues = require "cqueues"
local http_headers = require "http.headers"
local http_server = require "http.server"
local http_tls = require "http.tls"
local openssl_pkey = require "openssl.pkey"
local openssl_x509 = require "openssl.x509"

local M = {}

local MAX_BODY_BYTES = 5 * 1024 * 1024

-- A reset needs SO_LINGER with a zero timeout, which only LuaJIT's FFI can set from Lua.
local posix
do
  local ok, ffi = pcall(require, "ffi")
  if ok then
    pcall(ffi.cdef, [[
      struct oss_emulator_linger { int l_onoff; int l_linger; };
      int setsockopt(int fd, int level, int name, const void *value, unsigned int length);
    ]])
    posix = { ffi = ffi, C = ffi.C }
  end
end

local SOL_SOCKET, SO_LINGER = 1, 13

local function read_file(path)
  local file, message = io.open(path, "rb")
  if not file then
    return nil, message
  end
  local bytes = file:read("*a")
  file:close()
  return bytes
end

local function tls_context(tls)
  local cert_pem, cert_message = read_file(tls.cert)
  if not cert_pem then
    return nil, "cannot read TLS certificate: " .. cert_message
  end
  local key_pem, key_message = read_file(tls.key)
  if not key_pem then
    return nil, "cannot read TLS key: " .. key_message
  end
  local context = http_tls.new_server_context()
  local ok, message = pcall(function()
    context:setCertificate(openssl_x509.new(cert_pem, "PEM"))
    context:setPrivateKey(openssl_pkey.new(key_pem, "PEM"))
  end)
  if not ok then
    return nil, "invalid TLS certificate or key: " .. tostring(message)
  end
  return context
end

-- Headers in the order they arrived; lua-http lower-cases names and files Host under :authority.
local function received_headers(headers)
  local list, map = {}, {}
  for name, value in headers:each() do
    if name == ":authority" then
      name = "host"
    end
    if name:sub(1, 1) ~= ":" then
      list[#list + 1] = { name, value }
      map[name] = map[name] and (map[name] .. "," .. value) or value
    end
  end
  return list, map
end

local function time_left(deadline)
  return math.max(0, deadline - cqueues.monotime())
end

-- The body, whole, before `deadline`; nil, "too large" past MAX_BODY_BYTES; nil, why when it is cut short or
-- too slow: a partial body is never handed on as if it were complete.
local function read_body(stream, declared, deadline)
  local parts, size = {}, 0
  while true do
    local chunk, message = stream:get_next_chunk(time_left(deadline))
    if chunk == nil then
      if message then
        return nil, tostring(message)
      end
      if declared and size ~= declared then
        return nil, "body cut short"
      end
      return table.concat(parts)
    end
    size = size + #chunk
    if size > MAX_BODY_BYTES then
      return nil, "too large"
    end
    parts[#parts + 1] = chunk
  end
end

-- The announced length: a number, false for none, or nil when it is not a plain decimal.
local function declared_length(headers)
  local value = headers:get("content-length")
  if value == nil then
    return false
  end
  if not value:find("^%d+$") or #value > 15 then
    return nil
  end
  return tonumber(value)
end

-- Closes the socket under lua-http's feet: its own close would first answer the open stream with a 503.
local function reset_connection(stream)
  local connection = stream.connection
  local socket = connection.socket
  if not socket then
    return
  end
  if posix then
    -- With SO_LINGER at zero, closing a TCP socket sends RST instead of FIN.
    local linger = posix.ffi.new("struct oss_emulator_linger", 1, 0)
    posix.C.setsockopt(socket:pollfd(), SOL_SOCKET, SO_LINGER, linger, posix.ffi.sizeof(linger))
  end
  socket:close()
  connection.socket = nil
end

-- Drops a request that is not (or no longer) read: the socket is closed and the stream marked closed, so that
-- lua-http neither waits for the rest of it nor tries to answer it on a dead connection (its own shutdown would
-- spin there).
local function abandon(stream)
  local connection = stream.connection
  if connection.socket then
    connection.socket:close()
    connection.socket = nil
  end
  if stream.state ~= "closed" then
    stream:set_state("closed")
  end
end

local function response_headers(answer, content_length)
  local headers = http_headers.new()
  headers:append(":status", tostring(answer.status))
  for _, pair in ipairs(answer.headers or {}) do
    headers:append(pair[1]:lower(), pair[2])
  end
  if content_length then
    headers:append("content-length", tostring(content_length))
  end
  return headers
end

local function write_answer(stream, answer)
  local body = answer.body or ""
  if answer.transmit == "reset" then
    return reset_connection(stream)
  elseif answer.transmit == "truncate" then
    -- Promise the whole body (at least one byte), send half of it, then close: the client sees a short read.
    stream:write_headers(response_headers(answer, math.max(#body, 1)), false)
    stream:write_chunk(body:sub(1, math.floor(#body / 2)), false)
    stream.connection.socket:flush()
    return stream.connection:close()
  elseif answer.transmit == "no_content_length" then
    -- Without Content-Length or chunking, HTTP/1.1 delimits the body by closing the connection.
    local headers = response_headers(answer)
    headers:upsert("connection", "close")
    stream:write_headers(headers, false)
    return stream:write_chunk(body, true)
  elseif answer.status == 204 or (answer.status >= 100 and answer.status < 200) then
    return stream:write_headers(response_headers(answer), true)
  end
  stream:write_headers(response_headers(answer, #body), #body == 0)
  if #body > 0 then
    stream:write_chunk(body, true)
  end
end

local function on_stream(handler, request_timeout)
  return function(_, stream)
    local deadline = cqueues.monotime() + request_timeout
    local headers = stream:get_headers(request_timeout)
    if not headers then
      -- A head that did not arrive in time (or at all): nothing to answer.
      return abandon(stream)
    end
    local list, map = received_headers(headers)
    local declared = declared_length(headers)
    local body, body_error
    if declared == nil or (declared and declared > MAX_BODY_BYTES) then
      -- Refused from its head alone: the body is not waited for, and the connection closes after the answer.
      body_error = "too large"
    else
      body, body_error = read_body(stream, declared or nil, deadline)
      if body_error and body_error ~= "too large" then
        return abandon(stream)
      end
    end
    local request = {
      method = headers:get(":method"),
      target = headers:get(":path"),
      header_list = list,
      headers = map,
      body = body or "",
      body_too_large = body_error == "too large",
      tls = stream:checktls() ~= nil,
    }
    local answer = handler(request)
    if answer.delay and answer.delay > 0 then
      cqueues.sleep(answer.delay)
    end
    write_answer(stream, answer)
    if request.body_too_large then
      -- The rest of the body was never read, so nothing after it on this connection could be told apart.
      abandon(stream)
    end
  end
end

local Server = {}
Server.__index = Server

-- options: { host, port, tls = { cert, key } | nil, request_timeout = seconds, handler = function(request) -> answer,
--            on_error }
-- With a certificate the port also answers plain HTTP (lua-http tells them apart by the first bytes), so the
-- admin path stays reachable by tools without TLS.
function M.new(options)
  local context
  if options.tls then
    local message
    context, message = tls_context(options.tls)
    if not context then
      return nil, message
    end
  end
  local tls_mode = false
  if options.tls then
    tls_mode = nil
  end
  local server, message = http_server.listen {
    host = options.host,
    port = options.port,
    tls = tls_mode,
    ctx = context,
    version = 1.1,
    reuseaddr = true,
    onstream = on_stream(options.handler, options.request_timeout or 10),
    onerror = function(_, context_object, operation, err)
      if options.on_error then
        options.on_error(operation, err, context_object)
      end
    end,
  }
  if not server then
    return nil, message
  end
  local listened, listen_message = server:listen()
  if not listened then
    return nil, listen_message
  end
  local _, host, port = server:localname()
  return setmetatable({ server = server, host = host, port = port }, Server)
end

function Server:step(timeout)
  return self.server:step(timeout)
end

function Server:close()
  if self.server then
    self.server:close()
    self.server = nil
  end
end

return M
