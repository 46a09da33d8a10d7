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
local byte, concat, find, match, sub = string.byte, table.concat, string.find, string.match, string.sub

-- LuaJIT makes a table at its final size in one step; elsewhere a table grows as it fills.
local has_table_new, table_new = pcall(require, "table.new")
if not has_table_new then table_new = function() return {} end end
-- Slots for the request head's pieces (five, three per header, one) and for an answer's headers, enough for the
-- usual ones so neither table is resized as it fills.
local HEAD_PIECES, ANSWER_HEADERS = 32, 8

local READ_SIZE = 65536
local MAX_HEADER_LINES = 200
-- The status line and headers together, as the curl transport bounds them.
local MAX_HEAD_BYTES = 256 * 1024
-- Endpoints kept parsed per transport; past this many, new ones are parsed on every request.
local MAX_ENDPOINTS = 64

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

-- Where a request goes, parsed once per scheme and authority: host, port, and the connection pool it draws from.
local function parse_endpoint(scheme, authority, ssl_verify)
  local host, port = authority:match("^%[([%x:]+)%]:?(%d*)$")
  if not host then host, port = authority:match("^([^:]+):?(%d*)$") end
  if not host then return nil end
  port = tonumber(port) or (scheme == "https" and 443 or 80)
  -- TLS and plain connections, and different verification settings, never share a pooled connection.
  local pool = host .. ":" .. port .. ":" .. scheme .. ":" .. tostring(ssl_verify)
  return {
    scheme = scheme, authority = authority, host = host, port = port, tls = scheme == "https",
    connect_options = { pool = pool }, where = " (" .. host .. ":" .. port .. ")",
    host_line = "Host: " .. authority .. "\r\n",
  }
end

-- What a transport keeps between its requests (`kept`), since the same few header names and body sizes come
-- back on every one: the lines its request headers start with, the answers' header names found valid with their
-- lower-cased spelling (at most this many of each), and the last Content-Length line. Only what follows from the
-- request or answer itself is kept, so a request never depends on another still running.
local KEPT_NAMES_MAX = 512

-- Headers the transport writes itself, whatever the caller's spelling.
local OWN_HEADERS = { host = true, ["content-length"] = true, connection = true }

-- One exchange, in one table: its socket, endpoint, deadline, the unread bytes, and where the body goes. The
-- functions below take it as their first argument; no closure or other table is made per request.

local function fail(exchange, code, message)
  exchange.socket:close()
  return nil, errors.network(code, message .. exchange.endpoint.where)
end

-- What nginx's message means, in the codes the curl transport uses.
local function io_failure(exchange, stage, message)
  if message == "timeout" then return fail(exchange, "timeout", stage .. " timed out") end
  return fail(exchange, stage, stage .. " failed: " .. tostring(message))
end

-- Gives the next read or write the time left of the overall timeout. nginx's clock moves only between events,
-- so the timeouts are set again only when it has moved since they last were.
local function arm(exchange)
  local now = ngx.now()
  if now == exchange.armed_at then return true end
  local left = exchange.deadline - now
  if left <= 0 then return false end
  local milliseconds = math.ceil(left * 1000)
  exchange.socket:settimeouts(milliseconds, milliseconds, milliseconds)
  exchange.armed_at = now
  return true
end

local function open(exchange, connect_timeout, timeout, ssl_verify)
  local endpoint, sock = exchange.endpoint, exchange.socket
  sock:settimeouts(connect_timeout * 1000, timeout * 1000, timeout * 1000)
  local ok, message = sock:connect(endpoint.host, endpoint.port, endpoint.connect_options)
  if not ok then
    if message == "timeout" then return fail(exchange, "timeout", "connect timed out") end
    if message:find("resolve", 1, true) or message:find("resolver", 1, true) then
      return fail(exchange, "resolve", "could not resolve the host: " .. message)
    end
    return fail(exchange, "connect", "could not connect: " .. message)
  end
  if endpoint.tls and sock:getreusedtimes() == 0 then
    -- The host name is both the SNI and the name the certificate must carry when verifying. No session is kept
    -- (false): a pooled connection is reused whole, handshake included.
    local done, tls_message = sock:sslhandshake(false, endpoint.host, ssl_verify)
    if not done then return fail(exchange, "tls", "TLS handshake failed: " .. tostring(tls_message)) end
  end
  return true
end

-- What a request header's line starts with ("Name: "), or false for the headers the transport writes itself.
local function header_prefix(kept, name)
  local prefix = kept.prefixes[name]
  if prefix ~= nil then return prefix end
  prefix = not OWN_HEADERS[name:lower()] and name .. ": "
  if kept.prefix_count < KEPT_NAMES_MAX then
    kept.prefix_count = kept.prefix_count + 1
    kept.prefixes[name] = prefix
  end
  return prefix
end

-- The Content-Length line and the blank line after it, for `length`.
local function length_line(kept, length)
  if kept.length ~= length then
    kept.length, kept.length_line = length, "Content-Length: " .. length .. "\r\n\r\n"
  end
  return kept.length_line
end

-- The request line and the headers are joined into one string, and go out with the body in one write of two
-- pieces: one string made per request instead of one per header line.
local function send(exchange, request, target)
  local method, endpoint, kept = request.method, exchange.endpoint, exchange.kept
  local pieces = table_new(HEAD_PIECES, 0)
  pieces[1], pieces[2], pieces[3], pieces[4], pieces[5] = method, " ", target, " HTTP/1.1\r\n", endpoint.host_line
  local count = 5
  local headers, prefixes = request.headers, kept.prefixes
  if headers then
    for name, value in pairs(headers) do
      local prefix = prefixes[name]
      if prefix == nil then prefix = header_prefix(kept, name) end
      if prefix then
        pieces[count + 1], pieces[count + 2], pieces[count + 3] = prefix, value, "\r\n"
        count = count + 3
      end
    end
  end
  local body = request.body or ""
  if body ~= "" or method == "PUT" or method == "POST" then
    pieces[count + 1] = length_line(kept, #body)
  else
    pieces[count + 1] = "\r\n"
  end
  if not arm(exchange) then return fail(exchange, "timeout", "send timed out") end
  local sent, message = exchange.socket:send({ concat(pieces), body })
  if not sent then return io_failure(exchange, "send", message) end
  return true
end

-- Whatever the connection has next, up to READ_SIZE bytes; `held` counts the bytes of the line read so far.
local function receive_more(exchange, held)
  if not arm(exchange) then return fail(exchange, "timeout", "receive timed out") end
  local data, message = exchange.socket:receiveany(READ_SIZE)
  if data then return data end
  if message == "closed" then message = "connection closed after " .. held .. " bytes" end
  return io_failure(exchange, "receive", message)
end

-- Where the next line of the unread bytes lies: text, first, last, its CR LF left out (a bare LF ends a line
-- too). Reads are gathered until one holds the line's end and joined once, so a line arriving a byte at a time
-- costs linear time. No string is made for the line: the callers take what they need of it.
local function next_line(exchange)
  local unread, position = exchange.unread, exchange.position
  local ending = find(unread, "\n", position, true)
  if not ending then
    local parts, held = { sub(unread, position) }, #unread - position + 1
    repeat
      if held > MAX_HEAD_BYTES then return fail(exchange, "too_large", "response line too long") end
      local data, err = receive_more(exchange, held)
      if not data then return nil, err end
      parts[#parts + 1] = data
      held = held + #data
    until find(data, "\n", 1, true)
    unread, position = concat(parts), 1
    exchange.unread = unread
    ending = find(unread, "\n", 1, true)
  end
  exchange.position = ending + 1
  if ending > position and byte(unread, ending - 1) == 13 then ending = ending - 1 end
  return unread, position, ending - 1
end

local function line_of(exchange)
  local text, first, last = next_line(exchange)
  if not text then return nil, first end
  return sub(text, first, last)
end

-- Bytes that %s matches: what the header syntax lets surround a value.
local BLANK = { [9] = true, [10] = true, [11] = true, [12] = true, [13] = true, [32] = true }

-- The lower-cased name and the value of a "Name: value" line at text[first..last], or nothing when the line is
-- not one (no colon, an empty name, or a blank in the name); blanks around the value are dropped. A name is
-- checked byte by byte only the first time it is seen: `kept.fields` keeps the names already found valid. Each
-- loop is entered only when a blank is there to step over, since leaving a compiled loop costs more than a test.
local function header_field(kept, text, first, last)
  local colon = find(text, ":", first, true)
  if not colon or colon > last or colon == first then return nil end
  local name = sub(text, first, colon - 1)
  local lower = kept.fields[name]
  if not lower then
    for index = first, colon - 1 do
      if BLANK[byte(text, index)] then return nil end
    end
    lower = name:lower()
    if kept.field_count < KEPT_NAMES_MAX then
      kept.field_count = kept.field_count + 1
      kept.fields[name] = lower
    end
  end
  local from, to = colon + 1, last
  -- The byte after the line's last one is its CR or LF, never a space, so this cannot step past the line.
  if byte(text, from) == 32 then from = from + 1 end
  if from <= to and BLANK[byte(text, from)] then
    repeat from = from + 1 until from > to or not BLANK[byte(text, from)]
  end
  if to >= from and BLANK[byte(text, to)] then
    repeat to = to - 1 until to < from or not BLANK[byte(text, to)]
  end
  return lower, sub(text, from, to)
end

local function digit(value)
  return value and value >= 48 and value <= 57
end

-- "HTTP/d.d ddd" at text[start..]: -> version, status (a number), or nothing. Read byte by byte where it lies, so
-- LuaJIT keeps compiling (a pattern match is not compiled and breaks the trace); CR and LF are not digits, so the
-- check cannot run past the line's end.
local function status_line(text, start)
  local h, t1, t2, p, slash, major, dot, minor, space, s1, s2, s3 = byte(text, start, start + 11)
  if h ~= 72 or t1 ~= 84 or t2 ~= 84 or p ~= 80 or slash ~= 47 or not digit(major) or dot ~= 46
    or not digit(minor) or space ~= 32 or not digit(s1) or not digit(s2) or not digit(s3) then
    return nil
  end
  local version = (major == 49 and minor == 49) and "1.1" or sub(text, start + 5, start + 7)
  return version, (s1 - 48) * 100 + (s2 - 48) * 10 + (s3 - 48)
end

-- Status line and headers, read where they lie in the unread bytes; interim 1xx answers are skipped.
-- -> status, headers, version
local function read_head(exchange)
  while true do
    local line, start, stop = next_line(exchange)
    if not line then return nil, start end
    local version, status = status_line(line, start)
    if not version then
      return fail(exchange, "protocol", "not an HTTP response: " .. sub(line, start, math.min(stop, start + 39)))
    end
    local headers, count, head_bytes = table_new(0, ANSWER_HEADERS), 0, stop - start + 1
    local kept = exchange.kept
    local previous -- the last header's name, which a folded line continues
    while true do
      local text, first, last = next_line(exchange)
      if not text then return nil, first end
      if last < first then break end
      count = count + 1
      if count > MAX_HEADER_LINES then return fail(exchange, "too_large", "too many response headers") end
      head_bytes = head_bytes + (last - first + 1)
      if head_bytes > MAX_HEAD_BYTES then return fail(exchange, "too_large", "response headers too large") end
      if find(text, "\0", first, true) and find(text, "\0", first, true) <= last then
        return fail(exchange, "protocol", "NUL in a response header")
      end
      local starts = byte(text, first)
      if (starts == 32 or starts == 9) and previous then
        -- An obsolete folded line continues the previous header's value, as libcurl reads it.
        headers[previous] = headers[previous] .. " " .. match(sub(text, first, last), "^%s*(.-)%s*$")
      else
        local name, value = header_field(kept, text, first, last)
        if name then
          local earlier = headers[name]
          headers[name] = earlier and (earlier .. ", " .. value) or value
        end
        previous = name
      end
    end
    if status >= 200 then return status, headers, version end
  end
end

-- Passes one piece of the body to the sink or keeps it, counting against the size limit.
local function deliver(exchange, piece)
  local received = exchange.received + #piece
  exchange.received = received
  if received > exchange.max_response_size then
    return fail(exchange, "too_large", ("response body exceeds %d bytes"):format(exchange.max_response_size))
  end
  local sink = exchange.sink
  if not sink then
    local pieces = exchange.pieces
    if not pieces then
      pieces = {}
      exchange.pieces = pieces
    end
    pieces[#pieces + 1] = piece
  elseif not exchange.refused and not sink:feed(piece) then
    exchange.refused = true -- the reader keeps its own error for finish(); the rest is only drained
  end
  return true
end

-- `length` bytes of body: first what is already unread, then straight from the socket.
local function read_length(exchange, length)
  local unread, position = exchange.unread, exchange.position
  local available = #unread - position + 1
  if available > 0 and length > 0 then
    local taken = math.min(available, length)
    exchange.position = position + taken
    local ok, err = deliver(exchange, unread:sub(position, position + taken - 1))
    if not ok then return nil, err end
    length = length - taken
  end
  while length > 0 do
    if not arm(exchange) then return fail(exchange, "timeout", "receive timed out") end
    local piece, message, partial = exchange.socket:receive(math.min(length, READ_SIZE))
    if not piece then
      return io_failure(exchange, "receive", message == "closed"
        and ("connection closed after " .. #(partial or "") .. " bytes") or message)
    end
    local ok, err = deliver(exchange, piece)
    if not ok then return nil, err end
    length = length - #piece
  end
  return true
end

local function read_chunked(exchange)
  while true do
    local line, err = line_of(exchange)
    if not line then return nil, err end
    -- At most 12 hex digits: a size past what a double holds exactly is no real chunk.
    local digits = match(line, "^(%x+)[ \t]*$") or match(line, "^(%x+)[ \t]*;")
    if not digits or #digits > 12 then return fail(exchange, "protocol", "malformed chunk size") end
    local size = tonumber(digits, 16)
    if size == 0 then break end
    local ok, read_err = read_length(exchange, size)
    if not ok then return nil, read_err end
    local ending, ending_err = next_line(exchange)
    if not ending then return nil, ending_err end
  end
  repeat -- trailers, then the blank line that ends the message
    local trailer, first, last = next_line(exchange)
    if not trailer then return nil, first end
  until last < first
  return true
end

-- Without a length the body runs to the end of the connection, which then cannot be reused.
local function read_to_close(exchange)
  local unread, position = exchange.unread, exchange.position
  if position <= #unread then
    exchange.position = #unread + 1
    local ok, err = deliver(exchange, unread:sub(position))
    if not ok then return nil, err end
  end
  while true do
    if not arm(exchange) then return fail(exchange, "timeout", "receive timed out") end
    local piece, message = exchange.socket:receiveany(READ_SIZE)
    if not piece then
      if message == "closed" then return true end
      return io_failure(exchange, "receive", message)
    end
    local ok, err = deliver(exchange, piece)
    if not ok then return nil, err end
  end
end

-- A Content-Length of decimal digits; repeated headers (joined with ", ") must agree. -> length | nil, why
local function content_length(value)
  local length
  for part in (value .. ","):gmatch("%s*([^,]*),") do
    if not part:find("^%d+$") or #part > 15 then return nil, "invalid Content-Length: " .. value:sub(1, 40) end
    if length and part ~= length then return nil, "conflicting Content-Length headers" end
    length = part
  end
  return tonumber(length)
end

local function body_is_absent(method, status)
  return method == "HEAD" or status == 204 or status == 304
end

local function reusable(version, headers)
  local connection = headers.connection
  -- The usual answers, decided without lower-casing a copy.
  if connection == "keep-alive" then return true end
  if connection == nil and version == "1.1" then return true end
  if version == "1.0" then return connection ~= nil and connection:lower():find("keep-alive", 1, true) ~= nil end
  return connection == nil or not connection:lower():find("close", 1, true)
end

--- new(options) -> send (or nil, err for an option nginx cannot honour), where send(request) -> { status, headers (lower-case names), body, http_version } | nil, err
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
  local ssl_verify, max_response_size = settings.ssl_verify, settings.max_response_size
  local keepalive_milliseconds, pool_size = settings.keepalive_timeout * 1000, settings.pool_size
  local endpoints, endpoint_count = {}, 0
  local kept = { prefixes = {}, prefix_count = 0, fields = {}, field_count = 0, length = false, length_line = false }

  -- The last URL located and what it gave: a client hands the same URL string for repeated requests, and
  -- comparing strings is one pointer comparison.
  local last_url, last_endpoint, last_target = nil, nil, nil

  -- The endpoint of `url` (parsed once per authority) and the request target.
  local function locate(url)
    if url == last_url then return last_endpoint, last_target end
    local scheme, authority, target = url:match("^(https?)://([^/?#]+)(.*)$")
    if not scheme then return nil end
    local endpoint = endpoints[authority]
    if not endpoint or endpoint.scheme ~= scheme then
      endpoint = parse_endpoint(scheme, authority, ssl_verify)
      if not endpoint then return nil end
      if endpoint_count < MAX_ENDPOINTS then
        endpoint_count = endpoint_count + 1
        endpoints[authority] = endpoint
      end
    end
    if target == "" then target = "/" end
    if endpoints[authority] == endpoint then last_url, last_endpoint, last_target = url, endpoint, target end
    return endpoint, target
  end

  return function(request)
    if type(request) ~= "table" then
      error("oss.transport.cosocket: expected a request table, got " .. type(request), 2)
    end
    local url = request.url
    local endpoint, target
    if type(url) == "string" then endpoint, target = locate(url) end
    if not endpoint then error("oss.transport.cosocket: expected an http(s) URL, got " .. tostring(url), 2) end
    local timeout = request.timeout or settings.timeout
    -- The timeouts open() sets run from this same reading of the clock.
    local now = ngx.now()
    local exchange = {
      socket = ngx.socket.tcp(), endpoint = endpoint, deadline = now + timeout, armed_at = now,
      unread = "", position = 1, received = 0, max_response_size = max_response_size, sink = false,
      refused = false, pieces = false, kept = kept,
    }

    local ok, err = open(exchange, request.connect_timeout or settings.connect_timeout, timeout, ssl_verify)
    if not ok then return nil, err end
    ok, err = send(exchange, request, target)
    if not ok then return nil, err end
    local status, headers, version = read_head(exchange)
    if not status then return nil, headers end

    if request.sink and status >= 200 and status <= 299 then exchange.sink = request.sink end
    local keep = reusable(version, headers)
    local length = headers["content-length"]
    local encoding = headers["transfer-encoding"]
    if length and not encoding then
      local problem
      length, problem = content_length(length)
      if not length then return fail(exchange, "protocol", problem) end
      if length > exchange.max_response_size and not body_is_absent(request.method, status) then
        return fail(exchange, "too_large", ("response body of %d bytes exceeds %d"):format(length,
          exchange.max_response_size))
      end
    end
    if body_is_absent(request.method, status) then
      ok = true
    elseif encoding and encoding:lower():find("chunked", 1, true) then
      ok, err = read_chunked(exchange)
    elseif length then
      ok, err = read_length(exchange, length)
    else
      keep = false
      ok, err = read_to_close(exchange)
    end
    if not ok then return nil, err end

    -- Only a connection whose whole answer was read, and nothing after it, can serve the next request.
    if keep and exchange.position > #exchange.unread then
      exchange.socket:setkeepalive(keepalive_milliseconds, pool_size)
    else
      exchange.socket:close()
    end
    local pieces = exchange.pieces
    local body = ""
    if pieces and pieces[1] then body = pieces[2] and table.concat(pieces) or pieces[1] end
    return { status = status, headers = headers, body = body, http_version = version }
  end
end

return cosocket
