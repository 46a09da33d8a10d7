-- TLS and proxies: a self-signed emulator refused by default and trusted with ca_file, HTTPS through a CONNECT proxy.

local oss = require "oss"
local socket = require "socket"
local support = require "spec.support.emulator"
local rules = dofile("examples/reference_rules.lua")

local KEY_ID, SECRET = "ak-tls", "secret-tls"
local BUCKET = "examplebucket"

-- A CONNECT-only HTTP proxy, run as its own process (the client blocks while it waits for an answer). It logs
-- "CONNECT host:port" for every tunnel it opens and copies bytes both ways until either side closes.
local PROXY = [=[
local socket = require "socket"
local port_file, log_path, lifetime = arg[1], arg[2], tonumber(arg[3])
local server = assert(socket.bind("127.0.0.1", 0))
server:settimeout(0)
local _, port = server:getsockname()
local log = assert(io.open(log_path, "a"))
local file = assert(io.open(port_file, "w"))
file:write(port, "\n")
file:close()
local partner, heads = {}, {}
local function forget(connection)
  local other = partner[connection]
  partner[connection], heads[connection] = nil, nil
  connection:close()
  if other then partner[other] = nil; other:close() end
end
local deadline = socket.gettime() + lifetime
while socket.gettime() < deadline do
  local watched = { server }
  for connection in pairs(partner) do watched[#watched + 1] = connection end
  for connection in pairs(heads) do watched[#watched + 1] = connection end
  local readable = socket.select(watched, nil, 0.5)
  for _, connection in ipairs(readable) do
    if connection == server then
      local client = server:accept()
      if client then client:settimeout(0); heads[client] = "" end
    elseif heads[connection] then
      local data, err, partial = connection:receive(4096)
      heads[connection] = heads[connection] .. (data or partial or "")
      local head = heads[connection]:match("^(.-\r\n\r\n)")
      if head then
        heads[connection] = nil
        local host, target_port = head:match("^CONNECT ([^%s:]+):(%d+) HTTP/1%.[01]\r\n")
        log:write("CONNECT ", tostring(host), ":", tostring(target_port), "\n")
        log:flush()
        local upstream = host and socket.connect(host, tonumber(target_port))
        if upstream then
          upstream:settimeout(0)
          connection:send("HTTP/1.1 200 Connection established\r\n\r\n")
          partner[connection], partner[upstream] = upstream, connection
        else
          connection:send("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
          connection:close()
        end
      elseif err == "closed" then
        heads[connection] = nil
        connection:close()
      end
    elseif partner[connection] then
      local data, err, partial = connection:receive(65536)
      local chunk = data or partial
      if chunk and #chunk > 0 then
        local other = partner[connection]
        other:settimeout(5)
        other:send(chunk)
        other:settimeout(0)
      end
      if err == "closed" then forget(connection) end
    end
  end
end
]=]

local function read_all(path)
  local file = io.open(path, "rb")
  if not file then return nil end
  local text = file:read("*a")
  file:close()
  return text
end

local function start_proxy(directory)
  local script, port_file, log_path = directory .. "/proxy.lua", directory .. "/proxy.port", directory .. "/proxy.log"
  local file = assert(io.open(script, "w"))
  file:write(PROXY)
  file:close()
  assert(io.open(log_path, "w")):close()
  local launcher = assert(io.popen(("lua5.4 '%s' '%s' '%s' 120 >/dev/null 2>&1 & echo $!")
    :format(script, port_file, log_path)))
  local pid = tonumber(launcher:read("*l"))
  launcher:close()
  local deadline = socket.gettime() + 10
  while not (read_all(port_file) or ""):match("^%d+\n$") and socket.gettime() < deadline do socket.sleep(0.02) end
  local port = assert(tonumber(read_all(port_file)), "the proxy did not start")
  return {
    url = "http://127.0.0.1:" .. port,
    tunnels = function()
      local list = {}
      for line in (read_all(log_path) or ""):gmatch("[^\n]+") do list[#list + 1] = line end
      return list
    end,
    stop = function() os.execute("kill " .. pid .. " 2>/dev/null") end,
  }
end

describe("TLS against the emulator with a self-signed certificate", function()
  local directory, emulator, cert, proxy

  local function new_client(options)
    local settings = {
      region = "cn-hangzhou", endpoint = emulator.endpoint, path_style = true,
      access_key_id = KEY_ID, access_key_secret = SECRET,
      getenv = function() return nil end,
      sleep = function() end,
    }
    for name, value in pairs(options or {}) do settings[name] = value end
    return assert(oss.new(settings))
  end

  setup(function()
    directory = os.tmpname()
    os.remove(directory)
    assert(os.execute("mkdir -p '" .. directory .. "'"))
    cert = directory .. "/cert.pem"
    assert(os.execute("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1"
      .. " -addext subjectAltName=IP:127.0.0.1 -keyout '" .. directory .. "/key.pem' -out '" .. cert
      .. "' >/dev/null 2>&1"))
    emulator = support.start { buckets = { BUCKET, "destbucket" }, keys = { KEY_ID .. ":" .. SECRET },
      tls = { cert = cert, key = directory .. "/key.pem" } }
    proxy = start_proxy(directory)
  end)

  teardown(function()
    if proxy then proxy.stop() end
    if emulator then emulator:stop() end
    os.execute("rm -rf '" .. directory .. "'")
  end)

  before_each(function()
    emulator:reset()
  end)

  it("is refused by default, without retrying", function()
    local client = new_client()
    local ok, err = client:put_bucket_inventory(BUCKET, rules.full)
    assert.is_nil(ok)
    assert.are.same({ "network", "tls", 1 }, { err.kind, err.code, err.attempts })
    assert.are.equal(0, #emulator:requests())
  end)

  it("is accepted with ca_file naming its certificate", function()
    local client = new_client { ca_file = cert }
    assert.is_true(client:put_bucket_inventory(BUCKET, rules.full))
    assert.are.equal(rules.full.Id, assert(client:get_bucket_inventory(BUCKET, rules.full.Id)).Id)
  end)

  it("is accepted with ssl_verify = false, with one warning however many clients", function()
    local warnings = {}
    local function warn(message) warnings[#warnings + 1] = message end
    local first = new_client { ssl_verify = false, warn = warn }
    new_client { ssl_verify = false, warn = warn }
    assert.is_true(first:put_bucket_inventory(BUCKET, rules.full))
    assert.are.equal(1, #warnings)
    assert.truthy(warnings[1]:find("ssl_verify = false", 1, true))
    new_client { warn = warn }
    assert.are.equal(1, #warnings)
  end)

  it("goes through an HTTP proxy named by https_proxy, tunnelled with CONNECT", function()
    local before = #proxy.tunnels()
    local env = { https_proxy = proxy.url }
    local client = new_client { ca_file = cert, getenv = function(name) return env[name] end }
    assert.is_true(client:put_bucket_inventory(BUCKET, rules.full))
    local tunnels = proxy.tunnels()
    assert.are.equal(before + 1, #tunnels)
    assert.are.equal("CONNECT 127.0.0.1:" .. emulator.port, tunnels[#tunnels])
    assert.are.equal(1, #emulator:requests())
  end)

  it("reads HTTPS_PROXY too, and the proxy option wins over the environment", function()
    local before = #proxy.tunnels()
    local upper = new_client { ca_file = cert, getenv = function(name)
      return name == "HTTPS_PROXY" and proxy.url or nil
    end }
    assert.is_true(upper:put_bucket_inventory(BUCKET, rules.full))
    local chosen = new_client { ca_file = cert, proxy = proxy.url,
      getenv = function(name) return name == "https_proxy" and "http://127.0.0.1:1" or nil end }
    assert.are.equal(rules.full.Id, assert(chosen:get_bucket_inventory(BUCKET, rules.full.Id)).Id)
    assert.are.equal(before + 2, #proxy.tunnels())
  end)

  it("bypasses the proxy for hosts in no_proxy", function()
    local before = #proxy.tunnels()
    local env = { https_proxy = proxy.url, no_proxy = "localhost,127.0.0.1" }
    local client = new_client { ca_file = cert, getenv = function(name) return env[name] end }
    assert.is_true(client:put_bucket_inventory(BUCKET, rules.full))
    assert.are.equal(before, #proxy.tunnels())
  end)

  it("reports a proxy that cannot be reached as a proxy error", function()
    local client = new_client { ca_file = cert, proxy = "http://127.0.0.1:1", max_attempts = 2 }
    local _, err = client:get_bucket_inventory(BUCKET, rules.full.Id)
    assert.are.same({ "network", "proxy", 2 }, { err.kind, err.code, err.attempts })
  end)
end)

describe("proxies for a plain HTTP endpoint", function()
  local emulator

  setup(function()
    emulator = support.start { buckets = { BUCKET, "destbucket" }, keys = { KEY_ID .. ":" .. SECRET } }
  end)

  teardown(function()
    if emulator then emulator:stop() end
  end)

  local function client_with_env(env)
    return assert(oss.new {
      region = "cn-hangzhou", endpoint = emulator.endpoint, path_style = true,
      access_key_id = KEY_ID, access_key_secret = SECRET, max_attempts = 1,
      getenv = function(name) return env[name] end,
    })
  end

  it("come from http_proxy, never from HTTP_PROXY (a CGI server sets that from a request header)", function()
    local dead = "http://127.0.0.1:1"
    local _, err = client_with_env({ http_proxy = dead }):get_bucket_inventory(BUCKET, "report1")
    assert.are.same({ "network", "proxy" }, { err.kind, err.code })
    local _, missing = client_with_env({ HTTP_PROXY = dead, https_proxy = dead }):get_bucket_inventory(BUCKET, "report1")
    assert.are.same({ "service", 404 }, { missing.kind, missing.status })
  end)

  it("are refused when a value could split a header", function()
    local client, err = oss.new {
      region = "cn-hangzhou", endpoint = emulator.endpoint, access_key_id = KEY_ID, access_key_secret = SECRET,
      proxy = "http://proxy\r\nX-Injected: 1",
    }
    assert.is_nil(client)
    assert.are.same({ "validation", "proxy" }, { err.kind, err.path })
  end)
end)
