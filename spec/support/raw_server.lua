-- A loopback HTTP server for specs: logs the exact bytes of every request and answers from a script of replies.

-- Run:     lua5.4 spec/support/raw_server.lua --port-file F --script S [--log L] [--lifetime SECONDS]
-- Require: local raw_server = require "spec.support.raw_server"   (starts and reads such a server from a spec)
--
-- The script is a Lua file returning a list of replies, used in order, one per request received:
--   { status = 200, headers = { { "X-Name", "value" }, ... }, body = "...",  -- Content-Length is added
--     chunks = { "ab", "cd" },   -- instead of body: sent with Transfer-Encoding: chunked, one write per chunk
--     delay = 2,                 -- seconds to wait before answering
--     close = true }             -- read the request, then close the connection without answering
-- or a hostile answer, sent byte for byte and followed by closing the connection:
--   { raw = { "HTTP/1.1 200 OK\r\n", "..." },  -- or one string; no header is added
--     pace = 1,                  -- seconds to wait between the pieces
--     keep = true }              -- keep the connection open after it, for the client to reuse or close
-- The log holds "accept <connection>\n" for each connection and "request <connection> <length>\n<bytes>\n"
-- for each request.

local socket = require "socket"

local unpack = table.unpack or unpack

---------------------------------------------------------------------------------------------------------------------
-- The server process.

local function read_head(connection)
  local bytes = {}
  local tail = ""
  repeat
    local byte, err = connection:receive(1)
    if not byte then return nil, err end
    bytes[#bytes + 1] = byte
    tail = (tail .. byte):sub(-4)
  until tail == "\r\n\r\n"
  return table.concat(bytes)
end

local function read_request(connection)
  local head, err = read_head(connection)
  if not head then return nil, err end
  local length = tonumber(head:lower():match("\r\ncontent%-length:%s*(%d+)")) or 0
  local body = ""
  if length > 0 then
    body, err = connection:receive(length)
    if not body then return nil, err end
  end
  return head .. body, head:match("^(%u+) ")
end

local function render(reply, method)
  if reply.raw then return type(reply.raw) == "table" and reply.raw or { reply.raw } end
  local lines = { ("HTTP/1.1 %d %s"):format(reply.status or 200, reply.reason or "Scripted") }
  for _, header in ipairs(reply.headers or {}) do
    lines[#lines + 1] = header[1] .. ": " .. header[2]
  end
  local pieces = {}
  if reply.chunks then
    lines[#lines + 1] = "Transfer-Encoding: chunked"
    for _, chunk in ipairs(reply.chunks) do
      pieces[#pieces + 1] = ("%x\r\n%s\r\n"):format(#chunk, chunk)
    end
    pieces[#pieces + 1] = "0\r\n\r\n"
  else
    local body = reply.body or ""
    lines[#lines + 1] = "Content-Length: " .. #body
    if method ~= "HEAD" then pieces[1] = body end
  end
  if method == "HEAD" then pieces = {} end
  table.insert(pieces, 1, table.concat(lines, "\r\n") .. "\r\n\r\n")
  return pieces
end

local function serve(options)
  local replies = dofile(options.script)
  local log = assert(io.open(options.log, "wb"))
  local function record(line, bytes)
    log:write(line, "\n")
    if bytes then log:write(bytes, "\n") end
    log:flush()
  end

  local listener = assert(socket.bind("127.0.0.1", 0))
  local _, port = listener:getsockname()
  local announce = assert(io.open(options.port_file .. ".tmp", "w"))
  announce:write(port, "\n")
  announce:close()
  assert(os.rename(options.port_file .. ".tmp", options.port_file))

  local open, names, accepted, answered = {}, {}, 0, 0
  local deadline = socket.gettime() + options.lifetime
  while socket.gettime() < deadline do
    local readable = socket.select({ listener, unpack(open) }, nil, 0.25)
    for _, ready in ipairs(readable) do
      if ready == listener then
        local connection = listener:accept()
        if connection then
          accepted = accepted + 1
          connection:settimeout(2)
          open[#open + 1], names[connection] = connection, accepted
          record("accept " .. accepted)
        end
      else
        local keep = false
        local raw, method = read_request(ready)
        if raw then
          record(("request %d %d"):format(names[ready], #raw), raw)
          answered = answered + 1
          local reply = replies[answered] or { status = 500, body = "no scripted reply left" }
          if reply.delay then socket.sleep(reply.delay) end
          if not reply.close then
            keep = not reply.raw or reply.keep == true
            for index, piece in ipairs(render(reply, method)) do
              if index > 1 and reply.pace then socket.sleep(reply.pace) end
              if not ready:send(piece) then keep = false break end
            end
          end
        end
        if not keep then
          ready:close()
          for i = #open, 1, -1 do
            if open[i] == ready then table.remove(open, i) end
          end
        end
      end
    end
  end
  log:close()
end

local function parse_arguments(...)
  local options = { lifetime = 60 }
  local list = { ... }
  for i = 1, #list, 2 do
    local name, value = list[i]:match("^%-%-(.+)$"), list[i + 1]
    if not name or not value then error("usage: raw_server.lua --port-file F --script S [--log L] [--lifetime N]") end
    options[name:gsub("%-", "_")] = value
  end
  assert(options.port_file and options.script, "--port-file and --script are required")
  options.log = options.log or options.port_file .. ".log"
  options.lifetime = tonumber(options.lifetime)
  return options
end

local first = ...
if type(first) == "string" and first:sub(1, 2) == "--" then
  serve(parse_arguments(...))
  return
end

---------------------------------------------------------------------------------------------------------------------
-- The spec's side: start a server with a list of replies, read what it received, stop it.

local SERVER_SCRIPT = debug.getinfo(1, "S").source:match("^@(.*)$")

local function serialize(value)
  local kind = type(value)
  if kind == "string" then return ("%q"):format(value) end
  if kind == "number" then return ("%.17g"):format(value) end
  if kind == "boolean" then return tostring(value) end
  assert(kind == "table", "replies hold only strings, numbers, booleans and tables")
  local parts = {}
  for key, item in pairs(value) do
    parts[#parts + 1] = "[" .. serialize(key) .. "] = " .. serialize(item)
  end
  return "{ " .. table.concat(parts, ", ") .. " }"
end

local function read_file(path)
  local file = io.open(path, "rb")
  if not file then return nil end
  local text = file:read("*a")
  file:close()
  return text
end

local function shell_quote(text)
  return "'" .. text:gsub("'", "'\\''") .. "'"
end

local Server = {}
Server.__index = Server

--- What the server has seen so far: { accepts = n, requests = { { connection = n, raw = "..." }, ... } }
function Server:log()
  local text = read_file(self.files.log) or ""
  local seen = { accepts = 0, requests = {} }
  local at = 1
  while at <= #text do
    local line_end = assert(text:find("\n", at, true), "truncated log")
    local line = text:sub(at, line_end - 1)
    at = line_end + 1
    if line:match("^accept ") then
      seen.accepts = seen.accepts + 1
    else
      local connection, length = line:match("^request (%d+) (%d+)$")
      assert(connection, "unexpected log line: " .. line)
      length = tonumber(length)
      seen.requests[#seen.requests + 1] = { connection = tonumber(connection), raw = text:sub(at, at + length - 1) }
      at = at + length + 1
    end
  end
  return seen
end

function Server:stop()
  os.execute("kill " .. self.pid .. " 2>/dev/null")
  for _, path in pairs(self.files) do os.remove(path) end
end

local raw_server = {}

--- start(replies [, lifetime]) -> server with .url ("http://127.0.0.1:PORT"), :log(), :stop()
function raw_server.start(replies, lifetime)
  local base = os.tmpname()
  local files = { base = base, port = base .. ".port", script = base .. ".lua", log = base .. ".log",
                  output = base .. ".out" }
  local script = assert(io.open(files.script, "w"))
  script:write("return ", serialize(replies), "\n")
  script:close()
  local command = ("lua5.4 %s --port-file %s --script %s --log %s --lifetime %d >%s 2>&1 & echo $!"):format(
    shell_quote(SERVER_SCRIPT), shell_quote(files.port), shell_quote(files.script), shell_quote(files.log),
    lifetime or 60, shell_quote(files.output))
  local launcher = assert(io.popen(command))
  local pid = tonumber(launcher:read("*l"))
  launcher:close()
  assert(pid, "could not start the raw server")
  local server = setmetatable({ pid = pid, files = files }, Server)
  local deadline = socket.gettime() + 10
  repeat
    local port = read_file(files.port)
    if port and port:match("^%d+\n$") then
      server.port = tonumber(port)
      server.url = "http://127.0.0.1:" .. server.port
      return server
    end
    socket.sleep(0.02)
  until socket.gettime() > deadline
  server:stop()
  error("the raw server did not start: " .. (read_file(files.output) or ""))
end

return raw_server
