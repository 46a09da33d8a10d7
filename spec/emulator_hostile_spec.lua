-- The emulator against clients that misbehave: cut, stalled, oversized and malformed requests from many
-- connections at once must neither hang it nor grow it, and a normal client must still be served at once.

local cjson = require "cjson"
local core = require "oss.core"
local oss = require "oss"
local socket = require "socket"
local support = require "spec.support.emulator"

local KEY_ID, SECRET = "hostile-id", "hostile-secret"
local REQUEST_TIMEOUT = 1

-- A raw connection to the emulator that has sent `bytes` (and is left open unless `close`).
local function connect(emulator, bytes, close)
  local connection = assert(socket.tcp())
  connection:settimeout(5)
  assert(connection:connect("127.0.0.1", emulator.port))
  if bytes then assert(connection:send(bytes)) end
  if close then connection:close() end
  return connection
end

-- Everything the server sends until it closes, or nil when it keeps the connection open past `seconds`.
local function read_until_closed(connection, seconds)
  connection:settimeout(seconds)
  local parts = {}
  while true do
    local data, err, partial = connection:receive(4096)
    parts[#parts + 1] = data or partial
    if err == "closed" then return table.concat(parts) end
    if err == "timeout" then return nil end
  end
end

-- CPU seconds the process has used (user + system), from /proc.
local function cpu_seconds(pid)
  local file = assert(io.open("/proc/" .. pid .. "/stat"))
  local stat = file:read("*a")
  file:close()
  local fields = {}
  for field in stat:gsub("^.-%) ", ""):gmatch("%S+") do fields[#fields + 1] = field end
  return (tonumber(fields[12]) + tonumber(fields[13])) / 100
end

local function rule(id)
  return {
    Id = id, IsEnabled = true,
    Destination = { OSSBucketDestination = { Format = "CSV", AccountId = "1000000000000000",
      RoleArn = "acs:ram::1000000000000000:role/AliyunOSSRole", Bucket = "acs:oss:::destbucket" } },
    Schedule = { Frequency = "Daily" }, IncludedObjectVersions = "All",
  }
end

describe("the emulator under hostile requests", function()
  local emulator, client

  setup(function()
    emulator = support.start {
      buckets = { "examplebucket", "destbucket" }, keys = { KEY_ID .. ":" .. SECRET },
      request_timeout = REQUEST_TIMEOUT,
    }
    client = assert(oss.new { region = "cn-hangzhou", endpoint = emulator.endpoint, path_style = true,
      access_key_id = KEY_ID, access_key_secret = SECRET, max_attempts = 1, timeout = 5 })
  end)

  teardown(function()
    if emulator then emulator:stop() end
  end)

  it("survives cut, stalled, oversized and malformed requests, and still answers a put within a second", function()
    local head = "PUT /examplebucket/?inventory&inventoryId=x HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    local held = {}
    for round = 1, 4 do
      -- the body cut off by a disconnect
      connect(emulator, head .. "Content-Length: 1000\r\n\r\n" .. ("a"):rep(10), true)
      -- Expect: 100-continue, then no body
      held[#held + 1] = connect(emulator, head .. "Expect: 100-continue\r\nContent-Length: 500\r\n\r\n")
      -- a head that trickles in and never ends
      held[#held + 1] = connect(emulator, "PUT /examplebucket/ HTTP/1.1\r\nHo")
      -- garbage, and a Content-Length that is no number
      connect(emulator, "\0\1\2 not http at all\r\n\r\n", true)
      connect(emulator, head .. "Content-Length: 12abc\r\n\r\n", true)
      -- an announced body far beyond any the service takes: answered from the head, the body never waited for
      local huge = connect(emulator, head .. "Content-Length: 99999999999999\r\n\r\n" .. round)
      local answer = read_until_closed(huge, 2)
      assert.truthy(answer and answer:find("^HTTP/1%.1 400") and answer:find("EntityTooLarge", 1, true), answer)
    end

    local started = socket.gettime()
    assert.is_true(assert(client:put_bucket_inventory("examplebucket", rule("after-hostile"))))
    assert.is_true(socket.gettime() - started < 1, "the put waited behind the hostile connections")

    -- The stalled connections are closed once the request timeout has passed, and the emulator is idle.
    for _, connection in ipairs(held) do
      assert.truthy(read_until_closed(connection, REQUEST_TIMEOUT + 3), "a stalled connection was kept open")
    end
    local before = cpu_seconds(emulator.pid)
    socket.sleep(1)
    assert.is_true(cpu_seconds(emulator.pid) - before < 0.5, "the emulator keeps spinning")
    assert.are.equal("after-hostile", assert(client:get_bucket_inventory("examplebucket", "after-hostile")).Id)
  end)

  it("keeps at most 64 KiB of each request's body in its journal", function()
    local body = ("b"):rep(1024 * 1024)
    local connection = connect(emulator, "PUT /examplebucket/?inventory HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      .. "Content-Length: " .. #body .. "\r\nConnection: close\r\n\r\n" .. body)
    assert.truthy(read_until_closed(connection, 5))
    local last = emulator:requests(1)[1]
    assert.are.equal(64 * 1024, #last.body)
    assert.are.equal(#body, last.body_size)
  end)

  it("refuses admin requests a web page sends (with an Origin header), and keeps its rules", function()
    assert.is_true(assert(client:put_bucket_inventory("examplebucket", rule("kept"))))
    local status, text = support.http("POST", emulator.admin_url .. "reset", "",
      { origin = "http://attacker.example", ["content-type"] = "text/plain" })
    assert.are.equal(403, status, text)
    assert.truthy(cjson.decode(text).error:find("Origin", 1, true))
    assert.are.equal("kept", assert(client:get_bucket_inventory("examplebucket", "kept")).Id)
  end)

  it("sends error documents that are well-formed XML whatever bytes the request held", function()
    local connection = connect(emulator, "GET /bad%01%FF%C0%80name/?inventory HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      .. "Connection: close\r\n\r\n")
    local answer = assert(read_until_closed(connection, 5))
    local body = answer:match("\r\n\r\n(.*)$")
    assert.truthy(body:find("<Error>", 1, true), answer)
    local schema = core.schema(require "oss.schema.error")
    local value, err = core.xml_read(schema, body)
    assert.is_nil(err)
    assert.truthy(value.Code, body)
  end)
end)
