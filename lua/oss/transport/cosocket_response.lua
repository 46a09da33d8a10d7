-- Reads one HTTP/1.1 answer from a cosocket connection: the status line and headers, then the body as framed.

local byte, concat, find, lower, match, sub = string.byte, table.concat, string.find, string.lower, string.match,
  string.sub

local cosocket_response = {}

-- The status line and headers together, as the curl transport bounds them; the trailers of a chunked body too.
local MAX_HEAD_BYTES = 256 * 1024
local MAX_HEADER_LINES = 200
-- A body is read and passed on in pieces of at most this many bytes.
local BODY_PIECE = 65536

-- A value without the blanks around it. The end is stepped back byte by byte: a pattern anchored at the end would
-- rescan a long run of inner blanks once per byte.
local function trim(text)
  local first = find(text, "%S")
  if not first then return "" end
  local last = #text
  while find(text, "^%s", last) do last = last - 1 end
  return sub(text, first, last)
end

-- Header lines up to the blank one, as { lower-case name = value }. A repeated name's values are joined with
-- ", ", and an obsolete folded line continues the value before it, as libcurl reads them. NUL and CR are refused
-- in a line, as libcurl refuses them: what follows one could be read as another header.
-- -> fields | nil, err
local function read_fields(connection, head_bytes)
  local fields, count, name = {}, 0, nil
  while true do
    local line, err = connection:line(MAX_HEAD_BYTES - head_bytes)
    if not line then return nil, err end
    if line == "" then return fields end
    head_bytes, count = head_bytes + #line, count + 1
    if count > MAX_HEADER_LINES then
      return connection:fail("too_large", ("more than %d response header lines"):format(MAX_HEADER_LINES))
    end
    if find(line, "\0", 1, true) or find(line, "\r", 1, true) then
      return connection:fail("protocol", ("NUL or CR in response header line %d"):format(count))
    end
    local first = byte(line)
    if first == 32 or first == 9 then
      if not name then
        return connection:fail("protocol", ("folded response header line %d continues no header"):format(count))
      end
      fields[name] = fields[name] .. " " .. trim(line)
    else
      local field, value = match(line, "^([^%s:]+):(.*)$")
      -- A line that is no "Name: value" (a blank in the name, no colon) is skipped; a folded line after it has
      -- nothing to continue.
      name = field and lower(field)
      if name then
        value = trim(value)
        fields[name] = fields[name] and (fields[name] .. ", " .. value) or value
      end
    end
  end
end

-- The status line and headers of the final answer, past any interim 1xx ones. -> status, version, headers | nil, err
local function read_head(connection)
  while true do
    local line, err = connection:line(MAX_HEAD_BYTES)
    if not line then return nil, err end
    local version, status = match(line, "^HTTP/(%d%.%d) (%d%d%d)")
    if not version then return connection:fail("protocol", "not an HTTP response: " .. sub(line, 1, 40)) end
    local headers
    headers, err = read_fields(connection, #line)
    if not headers then return nil, err end
    status = tonumber(status)
    if status >= 200 then return status, version, headers end
  end
end

-- A Content-Length of decimal digits; repeated headers (joined with ", ") must agree. -> length | nil, why
local function content_length(value)
  local length
  for part in (value .. ","):gmatch("%s*([^,]*),") do
    if not find(part, "^%d+$") or #part > 15 then return nil, "invalid Content-Length: " .. sub(value, 1, 40) end
    if length and part ~= length then return nil, "conflicting Content-Length headers: " .. sub(value, 1, 40) end
    length = part
  end
  return tonumber(length)
end

-- Where the body goes: to the sink while it takes the pieces, else into `pieces`, counted against `max_size`.
local function new_body(sink, max_size)
  return { sink = sink, refused = false, pieces = {}, received = 0, max_size = max_size }
end

-- Refuses what would take the body past its bound before it is read: an announced length, a chunk's size.
local function check_room(connection, body, length)
  if body.received + length > body.max_size then
    return connection:fail("too_large", ("response body of %d bytes or more exceeds max_response_size (%d)")
      :format(body.received + length, body.max_size))
  end
  return true
end

local function deliver(body, piece)
  body.received = body.received + #piece
  if not body.sink then
    body.pieces[#body.pieces + 1] = piece
  elseif not body.refused then
    -- A sink that refused a piece keeps its own error for finish(); the rest of the body is only read past.
    body.refused = not body.sink:feed(piece)
  end
end

local function read_length(connection, body, length)
  local ok, err = check_room(connection, body, length)
  if not ok then return nil, err end
  while length > 0 do
    local piece
    piece, err = connection:bytes(math.min(length, BODY_PIECE))
    if not piece then return nil, err end
    deliver(body, piece)
    length = length - #piece
  end
  return true
end

local function read_chunked(connection, body)
  while true do
    local line, err = connection:line(MAX_HEAD_BYTES)
    if not line then return nil, err end
    -- At most 12 hex digits: a size past what a double holds exactly is no real chunk.
    local digits = match(line, "^(%x+)[ \t]*$") or match(line, "^(%x+)[ \t]*;")
    if not digits or #digits > 12 then
      return connection:fail("protocol", "malformed chunk size: " .. sub(line, 1, 40))
    end
    local size = tonumber(digits, 16)
    if size == 0 then break end
    local ok
    ok, err = read_length(connection, body, size)
    if not ok then return nil, err end
    local ending
    ending, err = connection:line(MAX_HEAD_BYTES)
    if not ending then return nil, err end
    if ending ~= "" then return connection:fail("protocol", ("chunk longer than its size (%d bytes)"):format(size)) end
  end
  -- Trailers, read as headers are and dropped, up to the blank line that ends the message.
  local trailers, err = read_fields(connection, 0)
  if not trailers then return nil, err end
  return true
end

-- Without a length the body runs to the end of the connection.
local function read_to_close(connection, body)
  while true do
    local piece, err = connection:some(BODY_PIECE)
    if piece == false then return true end
    if not piece then return nil, err end
    local ok
    ok, err = check_room(connection, body, #piece)
    if not ok then return nil, err end
    deliver(body, piece)
  end
end

-- Whether the server lets the connection serve another request.
local function keeps_alive(version, headers)
  local connection = lower(headers.connection or "")
  if version == "1.0" then return find(connection, "keep-alive", 1, true) ~= nil end
  return not find(connection, "close", 1, true)
end

--- read(connection, method, sink, max_size) -> answer, reusable | nil, err
--- answer = { status, headers (lower-case names), body, http_version }. A 2xx body goes to `sink` (sink:feed) as it
--- arrives, and the answer's body is then "". `reusable`: the answer was framed so it could be read to its end, and
--- the server keeps the connection open.
function cosocket_response.read(connection, method, sink, max_size)
  local status, version, headers = read_head(connection)
  if not status then return nil, version end
  local chunked = headers["transfer-encoding"] and find(lower(headers["transfer-encoding"]), "chunked", 1, true)
  local length, problem
  if headers["content-length"] and not chunked then
    length, problem = content_length(headers["content-length"])
    if not length then return connection:fail("protocol", problem) end
  end
  local body = new_body(status >= 200 and status <= 299 and sink, max_size)
  local reusable = keeps_alive(version, headers)
  local ok, err
  if method == "HEAD" or status == 204 or status == 304 then
    ok = true -- no body, whatever the headers announce
  elseif chunked then
    ok, err = read_chunked(connection, body)
  elseif length then
    ok, err = read_length(connection, body, length)
  else
    reusable = false
    ok, err = read_to_close(connection, body)
  end
  if not ok then return nil, err end
  return { status = status, headers = headers, body = concat(body.pieces), http_version = version }, reusable
end

return cosocket_response
