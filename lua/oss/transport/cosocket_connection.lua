-- One HTTP connection over an nginx cosocket: timed reads and writes against one deadline, failures named by stage.
--
-- nginx bounds each connect, write and read on its own; a request's timeout bounds them all together, so every
-- step is given what is left of it. A failed step closes the socket: what is left of the answer cannot be trusted.

local errors = require "oss.errors"

local concat, byte, sub = table.concat, string.byte, string.sub

local connection = {}

local Connection = {}
Connection.__index = Connection

-- A line is read in pieces of at most this many bytes, so one that outgrows its bound is refused before it is held
-- whole.
local LINE_PIECE = 4096

--- connection:fail(code, message) -> nil, err: closes the connection and names its server in the message
function Connection:fail(code, message)
  self.socket:close()
  return nil, errors.network(code, message .. self.where)
end

-- What nginx's message for a failed stage means, in the codes the curl transport uses.
local function stage_failed(self, stage, message)
  if message == "timeout" then return self:fail("timeout", stage .. " timed out") end
  return self:fail(stage, stage .. " failed: " .. tostring(message))
end

-- Gives the next read or write what is left of the deadline; false once nothing is. nginx's clock moves only
-- between events, so while it stands still the timeout set last is still what is left.
local function arm(self)
  local now = ngx.now()
  local left = self.deadline - now
  if left <= 0 then return false end
  if now == self.armed_at then return true end
  self.armed_at = now
  self.socket:settimeout(math.ceil(left * 1000))
  return true
end

--- open(endpoint, connect_timeout, timeout, ssl_verify) -> connection | nil, err
--- endpoint = { host, port, tls, pool }; the timeouts are in seconds, `timeout` bounding the whole exchange.
function connection.open(endpoint, connect_timeout, timeout, ssl_verify)
  local sock = ngx.socket.tcp()
  local self = setmetatable({
    socket = sock, deadline = ngx.now() + timeout, armed_at = false,
    where = " (" .. endpoint.host .. ":" .. endpoint.port .. ")",
  }, Connection)
  sock:settimeouts(connect_timeout * 1000, timeout * 1000, timeout * 1000)
  local ok, message = sock:connect(endpoint.host, endpoint.port, { pool = endpoint.pool })
  if not ok then
    if message == "timeout" then return self:fail("timeout", "connect timed out") end
    if message:find("resolve", 1, true) then return self:fail("resolve", "could not resolve the host: " .. message) end
    return self:fail("connect", "could not connect: " .. message)
  end
  if endpoint.tls and sock:getreusedtimes() == 0 then
    -- The host name is both the SNI and the name the certificate must carry when verifying. No session is kept
    -- (false): a pooled connection is reused whole, handshake included.
    local done, tls_message = sock:sslhandshake(false, endpoint.host, ssl_verify)
    if not done then return self:fail("tls", "TLS handshake failed: " .. tostring(tls_message)) end
  end
  -- The line reader is made once: nginx keeps what it read past one line for the next call.
  self.read_line = sock:receiveuntil("\n")
  return self
end

--- connection:send(data) -> true | nil, err; `data` is a string or a list of strings, written in one go.
function Connection:send(data)
  if not arm(self) then return self:fail("timeout", "send timed out") end
  local sent, message = self.socket:send(data)
  if not sent then return stage_failed(self, "send", message) end
  return true
end

local function line_too_long(self, limit)
  return self:fail("too_large", ("response line longer than %d bytes"):format(limit))
end

--- connection:line(limit) -> the next line without its CR LF (or bare LF) | nil, err (`too_large` past `limit` bytes)
function Connection:line(limit)
  local pieces, length = {}, 0
  repeat
    if not arm(self) then return self:fail("timeout", "receive timed out") end
    -- With a size, nginx's reader hands out the line a piece at a time and then nil once it reached the LF.
    local piece, message = self.read_line(LINE_PIECE)
    if message then return stage_failed(self, "receive", message) end
    if piece then
      length = length + #piece
      -- One byte more than the limit: the CR of a CR LF is not the line's.
      if length > limit + 1 then return line_too_long(self, limit) end
      pieces[#pieces + 1] = piece
    end
  until not piece
  local line = concat(pieces)
  if byte(line, -1) == 13 then line = sub(line, 1, -2) end
  if #line > limit then return line_too_long(self, limit) end
  return line
end

--- connection:bytes(count) -> exactly `count` bytes | nil, err
function Connection:bytes(count)
  if not arm(self) then return self:fail("timeout", "receive timed out") end
  local data, message = self.socket:receive(count)
  if not data then return stage_failed(self, "receive", message) end
  return data
end

--- connection:some(most) -> the bytes that come next, at most `most`; false once the server closed | nil, err
function Connection:some(most)
  if not arm(self) then return self:fail("timeout", "receive timed out") end
  local data, message = self.socket:receiveany(most)
  if data then return data end
  if message == "closed" then return false end
  return stage_failed(self, "receive", message)
end

--- connection:release(reusable, keepalive_milliseconds, pool_size): back to nginx's pool when `reusable`, or closed.
function Connection:release(reusable, keepalive_milliseconds, pool_size)
  -- nginx refuses to pool a connection with bytes still unread ("unread data in buffer"): they belong to no
  -- request, so the connection is closed instead.
  if reusable and self.socket:setkeepalive(keepalive_milliseconds, pool_size) then return end
  self.socket:close()
end

return connection
