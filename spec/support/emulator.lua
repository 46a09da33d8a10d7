-- Starts an oss-emulator process on a free port for a spec, talks to its admin path, and always stops it.
local cjson = require "cjson"
local http = require "socket.http"
local ltn12 = require "ltn12"
local socket = require "socket"

local M = {}

local STARTUP_SECONDS = 20

local ROOT = (debug.getinfo(1, "S").source:match("^@(.*)/spec/support/emulator%.lua$")) or "."

local function shell_quote(text)
  return "'" .. tostring(text):gsub("'", "'\\''") .. "'"
end

local function read_all(path)
  local file = io.open(path, "rb")
  if not file then
    return nil
  end
  local bytes = file:read("*a")
  file:close()
  return bytes
end

local function own_pid()
  return tonumber(read_all("/proc/self/stat"):match("^(%d+)"))
end

-- A zombie (state Z) has exited even though /proc still lists it.
local function alive(pid)
  local stat = read_all("/proc/" .. pid .. "/stat")
  return stat ~= nil and stat:match("^%d+ %b() (%a)") ~= "Z"
end

local function wait_until(predicate, seconds)
  local deadline = socket.gettime() + seconds
  while socket.gettime() < deadline do
    if predicate() then
      return true
    end
    socket.sleep(0.02)
  end
  return predicate()
end

local Emulator = {}
Emulator.__index = Emulator

local function argument_list(options, port_file)
  local args = { "--port", tostring(options.port or 0), "--port-file", port_file, "--watch-pid", tostring(own_pid()) }
  for _, bucket in ipairs(options.buckets or {}) do
    args[#args + 1] = "--bucket"
    args[#args + 1] = type(bucket) == "table"
      and table.concat({ bucket.name, bucket.region or "", bucket.owner or "" }, ":"):gsub(":+$", "") or bucket
  end
  for _, key in ipairs(options.keys or {}) do
    args[#args + 1] = "--access-key"
    args[#args + 1] = type(key) == "table" and table.concat({ key.id, key.secret, key.token }, ":") or key
  end
  if options.tls then
    args[#args + 1], args[#args + 2], args[#args + 3], args[#args + 4] =
      "--tls-cert", options.tls.cert, "--tls-key", options.tls.key
  end
  if options.data then
    args[#args + 1], args[#args + 2] = "--data", options.data
  end
  if options.config then
    args[#args + 1], args[#args + 2] = "--config", options.config
  end
  if options.request_timeout then
    args[#args + 1], args[#args + 2] = "--request-timeout", tostring(options.request_timeout)
  end
  -- The platform around OSS: each option under the flag of the same name.
  for _, name in ipairs { "ecs_role", "oidc_provider_arn", "oidc_token_file", "credentials_lifetime" } do
    if options[name] ~= nil then
      args[#args + 1], args[#args + 2] = "--" .. name:gsub("_", "-"), tostring(options[name])
    end
  end
  if options.imdsv2_only then
    args[#args + 1] = "--imdsv2-only"
  end
  return args
end

-- options: { buckets = { "name[:region[:owner]]" | { name, region, owner } }, keys = { "id:secret[:token]" | {...} },
--            tls = { cert, key }, data = file, config = file, port = n, request_timeout = seconds,
--            ecs_role, imdsv2_only, oidc_provider_arn, oidc_token_file, credentials_lifetime (as oss.emulator.new),
--            program = shell command starting the emulator (default: the repository's, under LuaJIT) }
-- -> emulator handle { endpoint, port, pid, log_path }; raises when the emulator does not come up.
function M.start(options)
  options = options or {}
  local base = os.tmpname()
  local port_file, log_path = base .. ".port", base .. ".log"
  local quoted = {}
  for index, arg in ipairs(argument_list(options, port_file)) do
    quoted[index] = shell_quote(arg)
  end
  local program = options.program
    or shell_quote(ROOT .. "/tools/dev-run") .. " luajit " .. shell_quote(ROOT .. "/bin/oss-emulator")
  local command = string.format("%s %s >%s 2>&1 & echo $!", program, table.concat(quoted, " "), shell_quote(log_path))
  local launcher = assert(io.popen(command, "r"))
  local pid = tonumber(launcher:read("*l"))
  launcher:close()
  local self = setmetatable({
    pid = pid, log_path = log_path, port_file = port_file, base = base, options = options,
    -- A proxy collected with the handle kills the process even if a spec forgets stop().
    guard = M.guard(function() M.kill(pid, "KILL") end),
  }, Emulator)
  local ready = wait_until(function()
    local text = read_all(port_file)
    return (text and text:match("^%d+\n$")) or not alive(pid)
  end, STARTUP_SECONDS)
  local port = tonumber(read_all(port_file) or "")
  if not ready or not port or not alive(pid) then
    local log = read_all(log_path) or ""
    self:stop()
    error("oss-emulator did not start: " .. log, 2)
  end
  self.port = port
  self.endpoint = (options.tls and "https" or "http") .. "://127.0.0.1:" .. port
  self.admin_url = "http://127.0.0.1:" .. port .. "/-/emulator/"
  return self
end

-- A userdata (Lua 5.1) or table (5.2+) whose __gc runs `action`.
function M.guard(action)
  if newproxy then
    local proxy = newproxy(true)
    getmetatable(proxy).__gc = action
    return proxy
  end
  return setmetatable({}, { __gc = action })
end

function M.kill(pid, signal)
  if pid and alive(pid) then
    os.execute("kill -" .. signal .. " " .. pid .. " 2>/dev/null")
  end
end

-- Plain HTTP request; -> status, body, headers (names lower-cased), status line.
function M.http(method, url, body, headers)
  local chunks = {}
  headers = headers or {}
  if body then
    headers["content-length"] = tostring(#body)
  end
  local _, status, response_headers, status_line = http.request {
    url = url,
    method = method,
    headers = headers,
    source = body and ltn12.source.string(body) or nil,
    sink = ltn12.sink.table(chunks),
  }
  return status, table.concat(chunks), response_headers, status_line
end

function Emulator:admin(method, name, value)
  local body = value ~= nil and cjson.encode(value) or nil
  local status, text = M.http(method, self.admin_url .. name, body,
    body and { ["content-type"] = "application/json" } or nil)
  local decoded = (type(text) == "string" and text ~= "") and cjson.decode(text) or nil
  if status ~= 200 then
    error("admin " .. method .. " " .. name .. " answered " .. tostring(status) .. ": " .. tostring(text), 2)
  end
  return decoded
end

-- Queues faults ({ method, path, bucket, operation, times, delay, status, code, message, ec, action }).
function Emulator:faults(list)
  return self:admin("POST", "faults", list)
end

-- The newest `limit` received requests (all kept ones without a limit), oldest first:
-- { method, target, headers = { { name, value }, ... }, body, request_id, time }
function Emulator:requests(limit)
  local answer = self:admin("GET", "requests" .. (limit and ("?limit=" .. limit) or ""))
  local list = answer.requests
  return (list and list[1]) and list or {}
end

function Emulator:reset()
  return self:admin("POST", "reset")
end

function Emulator:set_clock_offset(seconds)
  return self:admin("PUT", "clock", { offset = seconds })
end

function Emulator:alive()
  return alive(self.pid)
end

-- SIGKILL without waiting for anything: for specs about crashes.
function Emulator:kill()
  M.kill(self.pid, "KILL")
  wait_until(function() return not alive(self.pid) end, 5)
end

function Emulator:stop()
  M.kill(self.pid, "TERM")
  if not wait_until(function() return not alive(self.pid) end, 5) then
    M.kill(self.pid, "KILL")
    wait_until(function() return not alive(self.pid) end, 5)
  end
  os.remove(self.port_file)
  os.remove(self.log_path)
  os.remove(self.base)
end

function Emulator:log()
  return read_all(self.log_path) or ""
end

M.ROOT = ROOT
M.read_all = read_all
M.shell_quote = shell_quote

return M
