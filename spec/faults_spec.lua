-- Each fault the emulator injects, and what the client makes of it: attempts made, what it returns, nothing doubled.

local oss = require "oss"
local core = require "oss.core"
local socket = require "socket"
local fixtures = require "spec.support.fixtures"
local support = require "spec.support.emulator"
local rules = dofile("examples/reference_rules.lua")

local KEY_ID, SECRET = "ak-faults", "secret-faults"
local BUCKET = "examplebucket"

-- A server for the one fault the emulator cannot script: a reset (RST) in the middle of a body. Each connection
-- gets the answer's head and half its body, then SO_LINGER 0 and close; from the `resets`+1th connection on, the
-- whole answer. It logs one line per connection.
local RESETTING_SERVER = [=[
local socket = require "socket"
local port_file, log_path, resets, body = arg[1], arg[2], tonumber(arg[3]), arg[4]
local server = assert(socket.bind("127.0.0.1", 0))
server:settimeout(30)
local _, port = server:getsockname()
local file = assert(io.open(port_file, "w"))
file:write(port, "\n")
file:close()
local log = assert(io.open(log_path, "a"))
local connections = 0
while true do
  local connection = server:accept()
  if not connection then break end
  connections = connections + 1
  connection:settimeout(5)
  repeat local line = connection:receive("*l") until not line or line == ""
  local head = "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: " .. #body .. "\r\n\r\n"
  -- Logged before answering: the client may read the log as soon as it has the answer.
  local reset = connections <= resets
  log:write(reset and "reset\n" or "answered\n")
  log:flush()
  if reset then
    connection:send(head .. body:sub(1, math.floor(#body / 2)))
    connection:setoption("linger", { on = true, timeout = 0 })
  else
    connection:send(head .. body)
  end
  connection:close()
end
]=]

local function start_resetting_server(resets, body)
  local base = os.tmpname()
  local script, port_file, log_path = base .. ".lua", base .. ".port", base .. ".log"
  local file = assert(io.open(script, "w"))
  file:write(RESETTING_SERVER)
  file:close()
  local quote = function(text) return "'" .. text:gsub("'", "'\\''") .. "'" end
  local launcher = assert(io.popen(("lua5.4 %s %s %s %d %s >/dev/null 2>&1 & echo $!")
    :format(quote(script), quote(port_file), quote(log_path), resets, quote(body))))
  local pid = tonumber(launcher:read("*l"))
  launcher:close()
  local read = function(path)
    local handle = io.open(path)
    if not handle then return "" end
    local text = handle:read("*a")
    handle:close()
    return text
  end
  local deadline = socket.gettime() + 10
  while not read(port_file):match("^%d+\n$") and socket.gettime() < deadline do socket.sleep(0.02) end
  return {
    endpoint = "http://127.0.0.1:" .. assert(tonumber(read(port_file)), "the server did not start"),
    log = function() return read(log_path) end,
    stop = function()
      os.execute("kill " .. pid .. " 2>/dev/null")
      for _, path in ipairs { base, script, port_file, log_path } do os.remove(path) end
    end,
  }
end

describe("the client under injected faults", function()
  local emulator, client, sleeps

  local function new_client(options)
    sleeps = {}
    local settings = {
      region = "cn-hangzhou", endpoint = emulator.endpoint, path_style = true,
      access_key_id = KEY_ID, access_key_secret = SECRET,
      sleep = function(seconds) sleeps[#sleeps + 1] = seconds end,
      random = function() return 0.5 end,
    }
    for name, value in pairs(options or {}) do settings[name] = value end
    return assert(oss.new(settings))
  end

  -- The requests the emulator received since the last reset, after the first `skip`, as "METHOD inventoryId".
  local function received(skip)
    local list = {}
    for index, request in ipairs(emulator:requests()) do
      if index > (skip or 0) then
        local id = request.target:match("inventoryId=([^&]+)")
        list[#list + 1] = request.method .. (id and (" " .. id) or "")
      end
    end
    return list
  end

  local function stored_ids()
    local ids = {}
    for rule, err in client:each_bucket_inventory(BUCKET) do
      assert.is_nil(err)
      ids[#ids + 1] = rule.Id
    end
    return ids
  end

  setup(function()
    emulator = support.start { buckets = { BUCKET, "destbucket" }, keys = { KEY_ID .. ":" .. SECRET } }
  end)

  teardown(function()
    if emulator then emulator:stop() end
  end)

  before_each(function()
    emulator:reset()
    client = new_client()
  end)

  local id = rules.full.Id

  for _, status in ipairs { 500, 503, 429 } do
    it(("%d then success: two attempts, one rule"):format(status), function()
      emulator:faults { { method = "PUT", status = status } }
      assert.is_true(client:put_bucket_inventory(BUCKET, rules.full))
      assert.are.same({ "PUT " .. id, "PUT " .. id }, received())
      assert.are.same({ 0.1 }, sleeps)
      assert.are.same({ id }, stored_ids())
    end)
  end

  it("503 on every attempt: three attempts, then the 503", function()
    emulator:faults { { operation = "GetBucketInventory", status = 503, times = 5 } }
    local value, err = client:get_bucket_inventory(BUCKET, id)
    assert.is_nil(value)
    assert.are.same({ "service", 503, "ServiceUnavailable", 3 }, { err.kind, err.status, err.code, err.attempts })
    assert.are.equal(3, #received())
    assert.are.same({ 0.1, 0.2 }, sleeps)
  end)

  it("reset before the response: the request did not land; sent again, stored once", function()
    emulator:faults { { method = "PUT", action = "reset" } }
    assert.is_true(client:put_bucket_inventory(BUCKET, rules.full))
    assert.are.same({ "PUT " .. id, "PUT " .. id }, received())
    assert.are.same({ id }, stored_ids())
  end)

  it("reset on every attempt: a network error after three attempts", function()
    emulator:faults { { action = "reset", times = 3 } }
    local _, err = client:get_bucket_inventory(BUCKET, id)
    assert.are.same({ "network", "receive", 3 }, { err.kind, err.code, err.attempts })
  end)

  it("a body cut short mid-way: the read is retried and succeeds", function()
    assert.is_true(client:put_bucket_inventory(BUCKET, rules.full))
    emulator:faults { { operation = "GetBucketInventory", action = "truncate" } }
    local rule = assert(client:get_bucket_inventory(BUCKET, id))
    assert.are.equal(id, rule.Id)
    assert.are.same({ "GET " .. id, "GET " .. id }, received(1))
  end)

  it("a reset in the middle of a body: read again; on every attempt, a receive error after three", function()
    local body = core.xml_write(core.schema(require("oss.schema.inventory").InventoryConfiguration), rules.full)
    local once = start_resetting_server(1, body)
    local rule = new_client({ endpoint = once.endpoint }):get_bucket_inventory(BUCKET, id)
    local once_log = once.log()
    once.stop()
    assert.are.equal(id, assert(rule).Id)
    assert.are.equal("reset\nanswered\n", once_log)

    local always = start_resetting_server(10, body)
    local _, err = new_client({ endpoint = always.endpoint }):get_bucket_inventory(BUCKET, id)
    local always_log = always.log()
    always.stop()
    assert.are.same({ "network", "receive", 3 }, { err.kind, err.code, err.attempts })
    assert.are.equal(("reset\n"):rep(3), always_log)
    assert.truthy(err.message:lower():find("reset", 1, true), err.message)
  end)

  it("a put whose answer is cut short: the retry's 409 is resolved by reading the same rule back", function()
    emulator:faults { { method = "PUT", action = "truncate" } }
    assert.is_true(client:put_bucket_inventory(BUCKET, rules.full))
    assert.are.same({ "PUT " .. id, "PUT " .. id, "GET " .. id }, received())
    assert.are.same({ id }, stored_ids())
  end)

  it("a put whose answer is lost while another rule holds the Id: the 409 stands", function()
    local other = fixtures.copy(rules.full)
    other.IsEnabled = false
    assert.is_true(client:put_bucket_inventory(BUCKET, other))
    emulator:faults { { method = "PUT", action = "truncate" } }
    local ok, err = client:put_bucket_inventory(BUCKET, rules.full)
    assert.is_nil(ok)
    assert.are.same({ "service", 409, "InventoryAlreadyExist" }, { err.kind, err.status, err.code })
    assert.is_false(assert(client:get_bucket_inventory(BUCKET, id)).IsEnabled)
  end)

  it("a stall past the timeout: timed out, sent again, resolved, stored once", function()
    client = new_client { timeout = 1 }
    emulator:faults { { method = "PUT", delay = 3 } }
    local started = socket.gettime()
    assert.is_true(client:put_bucket_inventory(BUCKET, rules.full))
    local elapsed = socket.gettime() - started
    assert.are.same({ "PUT " .. id, "PUT " .. id, "GET " .. id }, received())
    assert.are.same({ id }, stored_ids())
    assert.is_true(elapsed >= 0.9 and elapsed < 2.5, "took " .. elapsed .. " s")
  end)

  it("honours timeout, and says which limit was hit", function()
    client = new_client { timeout = 1, max_attempts = 1 }
    emulator:faults { { operation = "GetBucketInventory", delay = 3 } }
    local started = socket.gettime()
    local _, err = client:get_bucket_inventory(BUCKET, id)
    local elapsed = socket.gettime() - started
    assert.are.same({ "network", "timeout", 1 }, { err.kind, err.code, err.attempts })
    print(("\n  timeout = 1 s: the request gave up after %.3f s"):format(elapsed))
    -- The bound is one second; the upper margin allows for a loaded machine.
    assert.is_true(elapsed >= 0.9 and elapsed < 2, "took " .. elapsed .. " s")
  end)

  it("honours connect_timeout against a server that never completes the handshake", function()
    -- A listening socket whose backlog is full: the kernel drops further SYNs, so connecting hangs.
    local listener = assert(socket.tcp())
    assert(listener:bind("127.0.0.1", 0))
    assert(listener:listen(0))
    local _, port = listener:getsockname()
    local fillers = {}
    for index = 1, 4 do
      fillers[index] = assert(socket.tcp())
      fillers[index]:settimeout(0)
      fillers[index]:connect("127.0.0.1", port)
    end
    local stalled = new_client { endpoint = "http://127.0.0.1:" .. port, connect_timeout = 1, timeout = 10,
      max_attempts = 2 }
    local started = socket.gettime()
    local _, err = stalled:get_bucket_inventory(BUCKET, id)
    local elapsed = socket.gettime() - started
    for _, filler in ipairs(fillers) do filler:close() end
    listener:close()
    assert.are.same({ "network", "timeout", 2 }, { err.kind, err.code, err.attempts })
    assert.truthy(err.message:find("connect_timeout", 1, true))
    print(("\n  connect_timeout = 1 s, 2 attempts: gave up after %.3f s"):format(elapsed))
    assert.is_true(elapsed >= 1.8 and elapsed < 4, "took " .. elapsed .. " s")
  end)

  it("malformed XML in a 200: one attempt, an InvalidResponse error", function()
    assert.is_true(client:put_bucket_inventory(BUCKET, rules.full))
    emulator:faults { { operation = "GetBucketInventory", action = "malformed_xml" } }
    local value, err = client:get_bucket_inventory(BUCKET, id)
    assert.is_nil(value)
    assert.are.same({ "service", 200, "InvalidResponse", 1 }, { err.kind, err.status, err.code, err.attempts })
    assert.are.same({ "GET " .. id }, received(1))
  end)

  it("a body delimited by closing the connection is read whole", function()
    assert.is_true(client:put_bucket_inventory(BUCKET, rules.full))
    emulator:faults { { operation = "GetBucketInventory", action = "no_content_length" } }
    assert.are.equal(id, assert(client:get_bucket_inventory(BUCKET, id)).Id)
  end)

  it("a server clock 20 minutes ahead: corrected from its Date, signed again, then right first time", function()
    emulator:set_clock_offset(20 * 60)
    assert.is_true(client:put_bucket_inventory(BUCKET, rules.full))
    assert.are.same({ "PUT " .. id, "PUT " .. id }, received())
    assert.are.same({}, sleeps)
    assert.are.equal(id, assert(client:get_bucket_inventory(BUCKET, id)).Id)
    assert.are.equal(3, #received())
    -- a fresh client starts uncorrected and is refused once without retries
    local strict = new_client { max_attempts = 1 }
    local _, err = strict:get_bucket_inventory(BUCKET, id)
    assert.are.same({ 403, "RequestTimeTooSkewed" }, { err.status, err.code })
  end)

  it("a response larger than max_response_size: refused, not retried", function()
    for index = 1, 40 do
      local rule = fixtures.copy(rules.full)
      rule.Id = ("bulk-%02d"):format(index)
      assert.is_true(client:put_bucket_inventory(BUCKET, rule))
    end
    local bounded = new_client { max_response_size = 4096 }
    local page, err = bounded:list_bucket_inventory(BUCKET)
    assert.is_nil(page)
    assert.are.same({ "network", "too_large", 1 }, { err.kind, err.code, err.attempts })
    assert.are.same({ "GET" }, received(40))
    assert.truthy(tostring(err):find("4096", 1, true))
    assert.are.equal(40, #assert(client:list_bucket_inventory(BUCKET)).configurations)
  end)

  it("waits for real between attempts by default", function()
    client = assert(oss.new {
      region = "cn-hangzhou", endpoint = emulator.endpoint, path_style = true,
      access_key_id = KEY_ID, access_key_secret = SECRET, retry_base_delay = 0.3, random = function() return 1 end,
    })
    emulator:faults { { operation = "GetBucketInventory", status = 500 } }
    local started = socket.gettime()
    local _, err = client:get_bucket_inventory(BUCKET, id)
    assert.are.equal(404, err.status)
    assert.is_true(socket.gettime() - started >= 0.28)
  end)
end)
