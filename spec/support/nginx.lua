-- Runs a real nginx with the Lua module for a spec: a generated configuration in a temporary prefix, always stopped.
local socket = require "socket"
local support = require "spec.support.emulator"

local M = {}

local STARTUP_SECONDS = 20
local MODULE_DIRS = { "/usr/lib/nginx/modules", "/usr/share/nginx/modules" }

local function read_all(path)
  local file = io.open(path, "rb")
  if not file then return nil end
  local bytes = file:read("*a")
  file:close()
  return bytes
end

local function write_all(path, bytes)
  local file = assert(io.open(path, "wb"))
  file:write(bytes)
  file:close()
end

local function shell_quote(text)
  return "'" .. tostring(text):gsub("'", "'\\''") .. "'"
end

local function wait_until(predicate, seconds)
  local deadline = socket.gettime() + seconds
  while socket.gettime() < deadline do
    if predicate() then return true end
    socket.sleep(0.02)
  end
  return predicate()
end

local function exited(pid)
  local stat = read_all("/proc/" .. pid .. "/stat")
  return stat == nil or stat:match("^%d+ %b() (%a)") == "Z"
end

-- The load_module lines for the Lua module and the development kit it needs, wherever Debian put them.
function M.module_lines()
  for _, dir in ipairs(MODULE_DIRS) do
    if read_all(dir .. "/ngx_http_lua_module.so") then
      return ("load_module %s/ndk_http_module.so;\nload_module %s/ngx_http_lua_module.so;\n"):format(dir, dir)
    end
  end
  error("ngx_http_lua_module.so not found in " .. table.concat(MODULE_DIRS, " or "))
end

-- A TCP port on loopback that nothing listens on right now.
function M.free_port()
  local probe = assert(socket.bind("127.0.0.1", 0))
  local _, port = probe:getsockname()
  probe:close()
  return tonumber(port)
end

-- The Lua search paths that make nginx's LuaJIT load this tree's modules and its LuaJIT build of oss.core.
function M.package_paths()
  local root = support.ROOT
  return ('lua_package_path "%s/lua/?.lua;%s/lua/?/init.lua;%s/?.lua;;";\n'
    .. 'lua_package_cpath "%s/build/luajit/?.so;;";\n'):format(root, root, root, root)
end

local Nginx = {}
Nginx.__index = Nginx

--- start(config_text, { env = { NAME = value } }) -> nginx { prefix, pid, port?, :stop(), :error_log() }
--- The configuration must keep nginx in the foreground (daemon off) and log to logs/error.log in the prefix.
function M.start(config, options)
  options = options or {}
  local prefix = os.tmpname()
  os.remove(prefix)
  assert(os.execute("mkdir -p " .. shell_quote(prefix .. "/logs") .. " " .. shell_quote(prefix .. "/conf")))
  write_all(prefix .. "/conf/nginx.conf", config)
  local environment = {}
  for name, value in pairs(options.env or {}) do
    environment[#environment + 1] = name .. "=" .. shell_quote(value)
  end
  -- The endpoints are on loopback: a proxy from the caller's environment would only get in the way.
  local command = ("env -u http_proxy -u https_proxy -u HTTPS_PROXY %s nginx -p %s -c conf/nginx.conf"
    .. " -e logs/error.log >%s 2>&1 & echo $!"):format(
    table.concat(environment, " "), shell_quote(prefix), shell_quote(prefix .. "/logs/stdout.log"))
  local launcher = assert(io.popen(command, "r"))
  local pid = tonumber(launcher:read("*l"))
  launcher:close()
  -- TERM, not KILL: the master then stops its workers, which a killed master would leave running.
  local self = setmetatable({ prefix = prefix, pid = pid, guard = support.guard(function()
    support.kill(pid, "TERM")
  end) }, Nginx)
  if options.port then
    local up = wait_until(function()
      if exited(pid) then return true end
      local probe = socket.connect("127.0.0.1", options.port)
      if probe then probe:close() end
      return probe ~= nil
    end, STARTUP_SECONDS)
    if not up or exited(pid) then
      local log = self:error_log() .. (read_all(prefix .. "/logs/stdout.log") or "")
      self:stop()
      error("nginx did not start: " .. log, 2)
    end
  end
  return self
end

function Nginx:error_log()
  return read_all(self.prefix .. "/logs/error.log") or ""
end

-- Stops nginx (master and workers) and removes the prefix.
function Nginx:stop()
  local workers = read_all(("/proc/%d/task/%d/children"):format(self.pid, self.pid)) or ""
  support.kill(self.pid, "TERM")
  if not wait_until(function() return exited(self.pid) end, 10) then
    support.kill(self.pid, "KILL")
    for worker in workers:gmatch("%d+") do support.kill(tonumber(worker), "KILL") end
    wait_until(function() return exited(self.pid) end, 5)
  end
  os.execute("rm -rf " .. shell_quote(self.prefix))
end

return M
