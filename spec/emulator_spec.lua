-- The OSS emulator through raw signed requests: addressing, signatures, inventory semantics, faults, persistence, TLS.
local cjson = require "cjson"
local core = require "oss.core"
local socket = require "socket"
local support = require "spec.support.emulator"

local inventory_schema = core.schema(require("oss.schema.inventory").InventoryConfiguration)
local list_schema = core.schema(require("oss.schema.inventory").ListInventoryConfigurationsResult)
local error_schema = core.schema(require("oss.schema.error"))

local KEY = { access_key_id = "ak-main", access_key_secret = "secret-main" }
local STS = { access_key_id = "ak-sts", access_key_secret = "secret-sts", security_token = "sts/token+value=" }
local KEYS = { "ak-main:secret-main", "ak-sts:secret-sts:sts/token+value=" }
local BUCKETS = { "source-bucket", "destination-bucket", "far-bucket:cn-beijing" }

local signer = core.signer()

local function rule(id, overrides)
  local value = {
    Id = id,
    IsEnabled = true,
    Destination = { OSSBucketDestination = {
      Format = "CSV", AccountId = "1000000000000000", RoleArn = "acs:ram::1000000000000000:role/AliyunOSSRole",
      Bucket = "acs:oss:::destination-bucket", Prefix = "reports/",
    } },
    Schedule = { Frequency = "Weekly" },
    IncludedObjectVersions = "Current",
    OptionalFields = { Field = { "Size", "ETag" } },
  }
  for name, field in pairs(overrides or {}) do
    value[name] = field
  end
  return value
end

local function rule_xml(value)
  return assert(core.xml_write(inventory_schema, value))
end

-- Builds, signs and returns { method, target, headers (lower-case map), body } for the emulator.
-- options: method, bucket, query, body, version ("v4" | "v1"), credentials, time, region, virtual, headers
local function signed(options)
  local headers = {}
  for name, value in pairs(options.headers or {}) do
    headers[name] = value
  end
  if options.body and not options.no_md5 then
    headers["Content-Type"] = "application/xml"
    headers["Content-MD5"] = core.base64_encode(core.md5(options.body))
  end
  local request = {
    method = options.method or "GET", bucket = options.bucket or "source-bucket", query = options.query or {},
    headers = headers, region = options.region or "cn-hangzhou", time = options.time or os.time(),
  }
  local credentials = options.credentials or KEY
  if options.version == "v1" then
    signer:sign_v1(request, credentials)
  else
    signer:sign_v4(request, credentials)
  end
  local lower = {}
  for name, value in pairs(request.headers) do
    lower[name:lower()] = value
  end
  local query = core.canonical_query(request.query)
  local target
  if options.virtual then
    target = "/"
    lower.host = request.bucket .. ".oss-cn-hangzhou.aliyuncs.com"
  else
    target = "/" .. request.bucket .. "/"
  end
  if query ~= "" then
    target = target .. "?" .. query
  end
  return { method = request.method, target = target, headers = lower, body = options.body }
end

local function error_of(body)
  return assert(core.xml_read(error_schema, body))
end

-- -> status, body, headers
local function call(emu, options)
  local request = signed(options)
  if options.tamper then
    options.tamper(request)
  end
  local status, body, headers = support.http(request.method, emu.endpoint .. request.target, request.body,
    request.headers)
  return status, body, headers
end

local function put(emu, value, options)
  options = options or {}
  local body = options.body or rule_xml(value)
  options.method, options.body = "PUT", body
  options.query = options.query or { inventory = "", inventoryId = value.Id }
  return call(emu, options)
end

local function get(emu, id, options)
  options = options or {}
  options.query = { inventory = "", inventoryId = id }
  return call(emu, options)
end

local function list(emu, token)
  return call(emu, { query = { inventory = "", ["continuation-token"] = token } })
end

local function expect_error(status, body, headers, expected_status, code)
  assert.are.equal(expected_status, status)
  local document = error_of(body)
  assert.are.equal(code, document.Code)
  assert.are.equal(headers["x-oss-request-id"], document.RequestId)
  assert.is_truthy(document.HostId and document.HostId ~= "")
  assert.is_truthy(document.EC and document.EC:match("^%d%d%d%d%-%d%d%d%d%d%d%d%d$"))
  assert.are.equal(document.EC, headers["x-oss-ec"])
  return document
end

-- One raw exchange over TCP: sends `bytes`, reads until the server closes; -> received bytes, the closing error.
local function raw_exchange(port, bytes)
  local connection = assert(socket.tcp())
  connection:settimeout(10)
  assert(connection:connect("127.0.0.1", port))
  assert(connection:send(bytes))
  local received, err, partial = connection:receive("*a")
  connection:close()
  return received or partial, err
end

local function raw_bytes(request, extra_headers)
  local lines = { request.method .. " " .. request.target .. " HTTP/1.1" }
  local headers = { host = request.headers.host or "127.0.0.1" }
  for name, value in pairs(request.headers) do
    headers[name] = value
  end
  for name, value in pairs(extra_headers or {}) do
    headers[name] = value
  end
  headers["content-length"] = tostring(#(request.body or ""))
  for name, value in pairs(headers) do
    lines[#lines + 1] = name .. ": " .. value
  end
  return table.concat(lines, "\r\n") .. "\r\n\r\n" .. (request.body or "")
end

-- Reads one HTTP/1.1 response with a Content-Length from an open connection; -> status, headers, body.
local function read_response(connection)
  local status_line = assert(connection:receive("*l"))
  local headers = {}
  while true do
    local line = assert(connection:receive("*l"))
    if line == "" then
      break
    end
    local name, value = line:match("^([^:]+):%s*(.*)$")
    headers[name:lower()] = value
  end
  local length = tonumber(headers["content-length"] or "0")
  local body = length > 0 and assert(connection:receive(length)) or ""
  return tonumber(status_line:match("^HTTP/1%.1 (%d+)")), headers, body
end

describe("oss emulator", function()
  local emu

  setup(function()
    emu = support.start { buckets = BUCKETS, keys = KEYS }
  end)

  teardown(function()
    if emu then
      emu:stop()
    end
  end)

  before_each(function()
    emu:reset()
  end)

  describe("process", function()
    it("announces the address it listens on, once ready", function()
      assert.are.equal("oss-emulator listening on http://127.0.0.1:" .. emu.port .. "\n", emu:log())
    end)
  end)

  describe("answers", function()
    it("carry x-oss-request-id, Date and Server on success and on error", function()
      local status, _, headers = put(emu, rule("r1"))
      assert.are.equal(200, status)
      assert.is_truthy(headers["x-oss-request-id"]:match("^%x+$"))
      assert.are.equal("AliyunOSS", headers["server"])
      assert.is_truthy(headers["date"]:match("^%a%a%a, %d%d %a%a%a %d%d%d%d %d%d:%d%d:%d%d GMT$"))
      local missing_status, body, missing_headers = get(emu, "absent")
      expect_error(missing_status, body, missing_headers, 404, "NoSuchInventory")
      assert.are.equal("AliyunOSS", missing_headers["server"])
      assert.are_not.equal(headers["x-oss-request-id"], missing_headers["x-oss-request-id"])
    end)

    it("prefix XML bodies with the XML declaration", function()
      put(emu, rule("r1"))
      local _, body = get(emu, "r1")
      assert.are.equal('<?xml version="1.0" encoding="UTF-8"?>\n', body:sub(1, 39))
    end)
  end)

  describe("addressing", function()
    it("serves path-style and virtual-hosted requests alike", function()
      assert.are.equal(200, (put(emu, rule("path-style"))))
      assert.are.equal(200, (put(emu, rule("virtual-hosted"), { virtual = true })))
      local status, body = call(emu, { query = { inventory = "" }, virtual = true })
      assert.are.equal(200, status)
      local result = assert(core.xml_read(list_schema, body))
      assert.are.equal(2, #result.InventoryConfiguration)
    end)

    it("answers NoSuchBucket for an undeclared bucket", function()
      local status, body, headers = call(emu, { bucket = "unknown-bucket", query = { inventory = "" } })
      local document = expect_error(status, body, headers, 404, "NoSuchBucket")
      assert.are.equal("unknown-bucket", document.BucketName)
    end)
  end)

  describe("signatures", function()
    it("accept V4, V1 and STS V4 and V1 requests", function()
      assert.are.equal(200, (put(emu, rule("v4"))))
      assert.are.equal(200, (put(emu, rule("v1"), { version = "v1" })))
      assert.are.equal(200, (put(emu, rule("sts-v4"), { credentials = STS })))
      assert.are.equal(200, (put(emu, rule("sts-v1"), { credentials = STS, version = "v1" })))
    end)

    it("reject a wrong secret with SignatureDoesNotMatch, for V4 and V1", function()
      local wrong = { access_key_id = KEY.access_key_id, access_key_secret = "not-the-secret" }
      for _, version in ipairs { "v4", "v1" } do
        local status, body, headers = get(emu, "r1", { credentials = wrong, version = version })
        local document = expect_error(status, body, headers, 403, "SignatureDoesNotMatch")
        -- The service shows what it signed: V1's string to sign, V4's canonical request.
        local signed_text = version == "v1" and document.StringToSign or document.CanonicalRequest
        assert.is_truthy(signed_text:find("inventoryId=r1", 1, true))
      end
    end)

    it("reject a request altered after signing", function()
      local status, body, headers = call(emu, {
        query = { inventory = "", inventoryId = "r1" },
        tamper = function(request) request.target = request.target:gsub("r1", "r2") end,
      })
      expect_error(status, body, headers, 403, "SignatureDoesNotMatch")
    end)

    it("reject an unknown AccessKey id with InvalidAccessKeyId", function()
      local stranger = { access_key_id = "ak-stranger", access_key_secret = "secret-main" }
      local status, body, headers = get(emu, "r1", { credentials = stranger })
      local document = expect_error(status, body, headers, 403, "InvalidAccessKeyId")
      assert.are.equal("ak-stranger", document.OSSAccessKeyId)
    end)

    it("require the STS token of a temporary key, and only that token", function()
      local without = { access_key_id = STS.access_key_id, access_key_secret = STS.access_key_secret }
      local status, body, headers = get(emu, "r1", { credentials = without })
      expect_error(status, body, headers, 403, "AccessDenied")
      local forged = { access_key_id = STS.access_key_id, access_key_secret = STS.access_key_secret,
        security_token = "another-token" }
      status, body, headers = get(emu, "r1", { credentials = forged })
      expect_error(status, body, headers, 403, "AccessDenied")
      local on_permanent = { access_key_id = KEY.access_key_id, access_key_secret = KEY.access_key_secret,
        security_token = STS.security_token }
      status, body, headers = get(emu, "r1", { credentials = on_permanent })
      expect_error(status, body, headers, 403, "AccessDenied")
    end)

    it("reject anonymous requests with AccessDenied", function()
      local status, body, headers = support.http("GET", emu.endpoint .. "/source-bucket/?inventory")
      expect_error(status, body, headers, 403, "AccessDenied")
    end)

    it("answer RequestTimeTooSkewed for a request dated 20 minutes ago, and accept 10 minutes", function()
      local now = os.time()
      for _, version in ipairs { "v4", "v1" } do
        local status, body, headers = get(emu, "r1", { time = now - 20 * 60, version = version })
        local document = expect_error(status, body, headers, 403, "RequestTimeTooSkewed")
        assert.are.equal("900000", document.MaxAllowedSkewMilliseconds)
        assert.are.equal(os.date("!%Y-%m-%dT%H:%M:%S.000Z", now - 20 * 60), document.RequestTime)
        assert.is_truthy(document.ServerTime:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.000Z$"))
        assert.are.equal(404, (get(emu, "r1", { time = now - 10 * 60, version = version })))
      end
    end)

    it("measure skew against the emulator's clock, which the admin path can move", function()
      emu:set_clock_offset(20 * 60)
      local status, body, headers = get(emu, "r1")
      expect_error(status, body, headers, 403, "RequestTimeTooSkewed")
      emu:set_clock_offset(0)
      assert.are.equal(404, (get(emu, "r1")))
    end)

    it("reject a V4 scope whose region is not the bucket's as the service does: 403 naming its endpoint", function()
      local status, body, headers = get(emu, "r1", { region = "cn-shanghai" })
      expect_error(status, body, headers, 403, "AccessDenied")
      assert.are.equal("oss-cn-hangzhou.aliyuncs.com", error_of(body).Endpoint)
    end)
  end)

  describe("PutBucketInventory", function()
    it("stores the rule, and GetBucketInventory returns it", function()
      local sent = rule("report1", { Filter = { Prefix = "logs/", LowerSizeBound = 1024 } })
      assert.are.equal(200, (put(emu, sent)))
      local status, body = get(emu, "report1")
      assert.are.equal(200, status)
      assert.are.same(sent, assert(core.xml_read(inventory_schema, body)))
    end)

    it("stores Filter/StorageClass members sorted, as the service normalises them", function()
      put(emu, rule("classes", { Filter = { StorageClass = "Standard,IA" } }))
      local _, body = get(emu, "classes")
      assert.are.equal("IA,Standard", assert(core.xml_read(inventory_schema, body)).Filter.StorageClass)
    end)

    it("refuses an inventoryId that differs from the body's Id", function()
      local status, body, headers = put(emu, rule("body-id"), { query = { inventory = "", inventoryId = "query-id" } })
      local document = expect_error(status, body, headers, 400, "InvalidArgument")
      assert.are.equal("0020-00000043", document.EC)
    end)

    it("answers 409 InventoryAlreadyExist for an existing Id", function()
      assert.are.equal(200, (put(emu, rule("twice"))))
      local status, body, headers = put(emu, rule("twice"))
      expect_error(status, body, headers, 409, "InventoryAlreadyExist")
    end)

    it("answers MalformedXML for a body that is not XML", function()
      local status, body, headers = put(emu, rule("broken"), { body = "<InventoryConfiguration><Id>broken</Id>" })
      expect_error(status, body, headers, 400, "MalformedXML")
    end)

    it("answers InvalidArgument naming an invalid value", function()
      local xml = rule_xml(rule("hourly")):gsub("<Frequency>Weekly</Frequency>", "<Frequency>Hourly</Frequency>")
      local status, body, headers = put(emu, rule("hourly"), { body = xml })
      local document = expect_error(status, body, headers, 400, "InvalidArgument")
      assert.is_truthy(document.Message:find("Schedule.Frequency", 1, true))
      assert.is_truthy(document.Message:find("Hourly", 1, true))
    end)

    it("refuses a destination bucket that is unknown or in another region", function()
      for _, arn in ipairs { "acs:oss:::no-such-bucket", "acs:oss:::far-bucket" } do
        local value = rule("elsewhere")
        value.Destination.OSSBucketDestination.Bucket = arn
        local status, body, headers = put(emu, value)
        expect_error(status, body, headers, 400, "InvalidArgument")
      end
      assert.are.equal(404, (get(emu, "elsewhere")))
    end)

    it("checks Content-MD5 against the body", function()
      local status, body, headers = put(emu, rule("digest"), {
        headers = { ["Content-MD5"] = core.base64_encode(core.md5("something else")),
          ["Content-Type"] = "application/xml" },
        no_md5 = true,
      })
      expect_error(status, body, headers, 400, "InvalidDigest")
      assert.are.equal(404, (get(emu, "digest")))
    end)

    it("keeps at most 1000 rules: the 1001st answers InventoryExceedLimit", function()
      for index = 1, 1000 do
        local status = put(emu, rule(string.format("rule-%04d", index)))
        assert.are.equal(200, status)
      end
      local status, body, headers = put(emu, rule("rule-1001"))
      expect_error(status, body, headers, 400, "InventoryExceedLimit")
    end)
  end)

  describe("ListBucketInventory", function()
    it("answers NoSuchInventory when the bucket has no rules", function()
      local status, body, headers = list(emu)
      expect_error(status, body, headers, 404, "NoSuchInventory")
    end)

    it("pages by 100 with IsTruncated, NextContinuationToken and the echoed ContinuationToken", function()
      local expected = {}
      for index = 1, 250 do
        expected[index] = string.format("id-%03d", index)
        put(emu, rule(expected[index]))
      end
      local seen, token, pages = {}, nil, {}
      repeat
        local status, body = list(emu, token)
        assert.are.equal(200, status)
        local page = assert(core.xml_read(list_schema, body))
        assert.are.equal(token, page.ContinuationToken)
        pages[#pages + 1] = #page.InventoryConfiguration
        for _, item in ipairs(page.InventoryConfiguration) do
          seen[#seen + 1] = item.Id
        end
        assert.are.equal(page.IsTruncated, page.NextContinuationToken ~= nil)
        token = page.NextContinuationToken
      until not token
      assert.are.same({ 100, 100, 50 }, pages)
      assert.are.same(expected, seen)
    end)
  end)

  describe("DeleteBucketInventory", function()
    it("answers 204 and the rule is gone", function()
      put(emu, rule("doomed"))
      local status, body = call(emu, { method = "DELETE", query = { inventory = "", inventoryId = "doomed" } })
      assert.are.equal(204, status)
      assert.are.equal("", body)
      assert.are.equal(404, (get(emu, "doomed")))
    end)
  end)

  describe("admin path", function()
    it("lists the received requests with their exact headers and body", function()
      local request = signed { method = "PUT", query = { inventory = "", inventoryId = "seen" },
        body = rule_xml(rule("seen")) }
      support.http(request.method, emu.endpoint .. request.target, request.body, request.headers)
      local received = emu:requests(1)[1]
      assert.are.equal("PUT", received.method)
      assert.are.equal(request.target, received.target)
      assert.are.equal(request.body, received.body)
      local headers = {}
      for _, pair in ipairs(received.headers) do
        headers[pair[1]] = pair[2]
      end
      for name, value in pairs(request.headers) do
        assert.are.equal(value, headers[name])
      end
    end)

    it("resets rules, faults and the journal", function()
      put(emu, rule("kept"))
      emu:faults { { status = 500 } }
      emu:reset()
      assert.are.same({}, emu:requests())
      assert.are.equal(404, (get(emu, "kept")))
    end)

    it("refuses an invalid fault", function()
      local status = support.http("POST", emu.admin_url .. "faults", cjson.encode { action = "explode" })
      assert.are.equal(400, status)
    end)
  end)

  describe("faults", function()
    it("answer a scripted status and code once, without applying the request", function()
      emu:faults { { method = "PUT", status = 503, code = "ServiceUnavailable", message = "try later" } }
      local status, body, headers = put(emu, rule("faulty"))
      local document = expect_error(status, body, headers, 503, "ServiceUnavailable")
      assert.are.equal("try later", document.Message)
      assert.are.equal(404, (get(emu, "faulty")))
      assert.are.equal(200, (put(emu, rule("faulty"))))
    end)

    it("match by operation and apply `times` times", function()
      emu:faults { { operation = "GetBucketInventory", status = 500, times = 2 } }
      put(emu, rule("target"))
      assert.are.equal(500, (get(emu, "target")))
      assert.are.equal(500, (get(emu, "target")))
      assert.are.equal(200, (get(emu, "target")))
    end)

    it("delay an answer", function()
      emu:faults { { delay = 0.4 } }
      local started = socket.gettime()
      assert.are.equal(404, (get(emu, "late")))
      assert.is_true(socket.gettime() - started >= 0.4)
    end)

    it("reset the connection (RST, not a clean close)", function()
      -- LuaSocket reports a reset and a close alike; curl tells them apart: 56 is a reset, 52 an empty reply.
      local request = signed { query = { inventory = "" } }
      local command = { "curl -s -o /dev/null" }
      for name, value in pairs(request.headers) do
        command[#command + 1] = "-H '" .. name .. ": " .. value .. "'"
      end
      command[#command + 1] = "'" .. emu.endpoint .. request.target .. "'; echo $?"
      emu:faults { { action = "reset" } }
      local pipe = assert(io.popen(table.concat(command, " ")))
      local exit_code = pipe:read("*l")
      pipe:close()
      assert.are.equal("56", exit_code)
      assert.are.equal(404, (list(emu)))
    end)

    it("truncate a body: fewer bytes than Content-Length, then close", function()
      put(emu, rule("long"))
      emu:faults { { action = "truncate" } }
      local received = raw_exchange(emu.port, raw_bytes(signed { query = { inventory = "", inventoryId = "long" } }))
      local head, body = received:match("^(.-)\r\n\r\n(.*)$")
      local length = tonumber(head:lower():match("content%-length: (%d+)"))
      assert.is_true(#body < length)
      assert.is_truthy(head:match("^HTTP/1%.1 200"))
    end)

    it("send malformed XML with a 200", function()
      put(emu, rule("garbled"))
      emu:faults { { action = "malformed_xml" } }
      local status, body = get(emu, "garbled")
      assert.are.equal(200, status)
      assert.is_nil(core.xml_read(inventory_schema, body))
    end)

    it("leave out Content-Length and delimit the body by closing", function()
      put(emu, rule("unsized"))
      emu:faults { { action = "no_content_length" } }
      local received = raw_exchange(emu.port, raw_bytes(signed { query = { inventory = "", inventoryId = "unsized" } }))
      local head, body = received:match("^(.-)\r\n\r\n(.*)$")
      assert.is_nil(head:lower():find("content-length", 1, true))
      assert.is_nil(head:lower():find("transfer-encoding", 1, true))
      assert.are.equal("unsized", assert(core.xml_read(inventory_schema, body)).Id)
    end)
  end)

  describe("connections", function()
    it("keep a connection alive across requests", function()
      local connection = assert(socket.tcp())
      connection:settimeout(10)
      assert(connection:connect("127.0.0.1", emu.port))
      for _, id in ipairs { "first", "second" } do
        local request = signed { method = "PUT", query = { inventory = "", inventoryId = id },
          body = rule_xml(rule(id)) }
        assert(connection:send(raw_bytes(request)))
        local status = read_response(connection)
        assert.are.equal(200, status)
      end
      connection:close()
      assert.are.equal(200, (get(emu, "second")))
    end)

    it("serve another client while one answer is delayed", function()
      emu:faults { { operation = "GetBucketInventory", delay = 1.5 } }
      local slow = assert(socket.tcp())
      slow:settimeout(10)
      assert(slow:connect("127.0.0.1", emu.port))
      assert(slow:send(raw_bytes(signed { query = { inventory = "", inventoryId = "slow" } })))
      local started = socket.gettime()
      assert.are.equal(404, (list(emu)))
      assert.is_true(socket.gettime() - started < 1.0)
      assert.are.equal(404, (read_response(slow)))
      assert.is_true(socket.gettime() - started >= 1.0)
      slow:close()
    end)
  end)
end)

describe("oss emulator with a config file", function()
  it("declares buckets, keys and accounts without incremental inventory", function()
    local path = os.tmpname()
    local file = assert(io.open(path, "w"))
    file:write([[return {
      buckets = { { name = "gated-bucket", region = "cn-hangzhou", owner = "2000" }, "destination-bucket" },
      keys = { { id = "ak-main", secret = "secret-main" } },
      accounts = { ["2000"] = { incremental_inventory = false } },
    }]])
    file:close()
    local emu = support.start { config = path }
    local ok, failure = pcall(function()
      local value = rule("incremental", { IncrementalInventory = { IsEnabled = true, Schedule = { Frequency = 600 } } })
      local status, body, headers = put(emu, value, { bucket = "gated-bucket" })
      local document = expect_error(status, body, headers, 403, "AccessDenied")
      assert.are.equal("Incremental Inventory is disabled.", document.Message)
      assert.are.equal(200, (put(emu, rule("full"), { bucket = "gated-bucket" })))
    end)
    emu:stop()
    os.remove(path)
    assert(ok, failure)
  end)
end)

describe("oss emulator persistence", function()
  local directory

  before_each(function()
    directory = os.tmpname()
    os.remove(directory)
    assert(os.execute("mkdir -p '" .. directory .. "'"))
  end)

  after_each(function()
    os.execute("rm -rf '" .. directory .. "'")
  end)

  local function start(data)
    return support.start { buckets = BUCKETS, keys = KEYS, data = data }
  end

  it("keeps rules across a restart", function()
    local data = directory .. "/state.json"
    local emu = start(data)
    local ok, failure = pcall(function()
      for _, id in ipairs { "a", "b", "c" } do
        assert.are.equal(200, (put(emu, rule(id))))
      end
      call(emu, { method = "DELETE", query = { inventory = "", inventoryId = "b" } })
    end)
    emu:stop()
    assert(ok, failure)
    emu = start(data)
    ok, failure = pcall(function()
      local status, body = list(emu)
      assert.are.equal(200, status)
      local ids = {}
      for _, item in ipairs(assert(core.xml_read(list_schema, body)).InventoryConfiguration) do
        ids[#ids + 1] = item.Id
      end
      assert.are.same({ "a", "c" }, ids)
    end)
    emu:stop()
    assert(ok, failure)
  end)

  it("leaves a whole state file when killed with SIGKILL in the middle of writes", function()
    local data = directory .. "/state.json"
    local emu = start(data)
    -- curl sends a stream of pre-signed puts in the background while the emulator is killed.
    local config_path = directory .. "/puts.curl"
    local config = assert(io.open(config_path, "w"))
    for index = 1, 400 do
      local request = signed { method = "PUT", query = { inventory = "", inventoryId = "k" .. index },
        body = rule_xml(rule("k" .. index)) }
      if index > 1 then
        config:write("next\n")
      end
      config:write(string.format('url = "%s%s"\nrequest = "PUT"\n', emu.endpoint, request.target))
      for name, value in pairs(request.headers) do
        config:write(string.format('header = "%s: %s"\n', name, value))
      end
      config:write(string.format('data-binary = "%s"\n', request.body:gsub('"', '\\"')))
      config:write('output = "/dev/null"\n')
    end
    config:close()
    os.execute("curl -s -K '" .. config_path .. "' >/dev/null 2>&1 &")
    local deadline = socket.gettime() + 20
    repeat
      socket.sleep(0.05)
      local file = io.open(data, "rb")
      local size = file and file:seek("end") or 0
      if file then
        file:close()
      end
    until size > 20000 or socket.gettime() > deadline
    emu:kill()
    local file = assert(io.open(data, "rb"))
    local state = cjson.decode(file:read("*a"))
    file:close()
    local stored = #state.buckets["source-bucket"]
    -- Killed part-way: some puts were stored, not all of them.
    assert.is_true(stored > 0 and stored < 400)
    emu = start(data)
    local ok, failure = pcall(function()
      local count, token = 0, nil
      repeat
        local status, body = list(emu, token)
        assert.are.equal(200, status)
        local page = assert(core.xml_read(list_schema, body))
        count = count + #page.InventoryConfiguration
        token = page.NextContinuationToken
      until not token
      assert.are.equal(stored, count)
    end)
    emu:stop()
    assert(ok, failure)
  end)
end)

describe("oss emulator over TLS", function()
  local directory, emu

  setup(function()
    directory = os.tmpname()
    os.remove(directory)
    assert(os.execute("mkdir -p '" .. directory .. "'"))
    assert(os.execute("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1"
      .. " -addext subjectAltName=IP:127.0.0.1 -keyout '" .. directory .. "/key.pem' -out '" .. directory
      .. "/cert.pem' >/dev/null 2>&1"))
    emu = support.start { buckets = BUCKETS, keys = KEYS,
      tls = { cert = directory .. "/cert.pem", key = directory .. "/key.pem" } }
  end)

  teardown(function()
    if emu then
      emu:stop()
    end
    os.execute("rm -rf '" .. directory .. "'")
  end)

  -- curl verifies the emulator's certificate against the one generated above.
  local function curl(request, extra)
    local parts = { "curl -s -o - -w '\\n%{http_code}' -X " .. request.method, extra or "" }
    for name, value in pairs(request.headers) do
      parts[#parts + 1] = "-H '" .. name .. ": " .. value .. "'"
    end
    if request.body then
      local body_path = directory .. "/body.xml"
      local file = assert(io.open(body_path, "wb"))
      file:write(request.body)
      file:close()
      parts[#parts + 1] = "--data-binary @'" .. body_path .. "'"
    end
    parts[#parts + 1] = "'" .. emu.endpoint .. request.target .. "'"
    local pipe = assert(io.popen(table.concat(parts, " ")))
    local output = pipe:read("*a")
    pipe:close()
    local body, status = output:match("^(.*)\n(%d+)$")
    return tonumber(status), body
  end

  it("serves HTTPS with the given certificate", function()
    assert.are.equal("https://127.0.0.1:" .. emu.port, emu.endpoint)
    local cacert = "--cacert '" .. directory .. "/cert.pem'"
    local put_request = signed { method = "PUT", query = { inventory = "", inventoryId = "tls" },
      body = rule_xml(rule("tls")) }
    assert.are.equal(200, (curl(put_request, cacert)))
    local status, body = curl(signed { query = { inventory = "", inventoryId = "tls" } }, cacert)
    assert.are.equal(200, status)
    assert.are.equal("tls", assert(core.xml_read(inventory_schema, body)).Id)
  end)

  it("presents that certificate and no other", function()
    local status = curl(signed { query = { inventory = "" } })
    assert.are.equal(0, status)
  end)
end)

-- The verifier alone, against known answers from the official SDKs: it must agree with them without core.signer.
describe("oss emulator verifier against the published signing vectors", function()
  local fixtures = require "spec.support.fixtures"
  local verify_v1 = require "oss.emulator.verify_v1"
  local verify_v4 = require "oss.emulator.verify_v4"
  local vectors = cjson.decode(fixtures.read("vectors/signing.json"))

  local function lower_keys(map)
    local lower = {}
    for name, value in pairs(map) do
      lower[name:lower()] = value
    end
    return lower
  end

  local function check_v4(request, x_oss_date, authorization, secret, canonical_request)
    local parsed = assert(verify_v4.parse(authorization))
    local canonical = verify_v4.canonical_request(request, parsed.additional_headers)
    assert.are.equal(canonical_request, canonical)
    local scope = table.concat({ parsed.date, parsed.region, parsed.product, parsed.terminator }, "/")
    local string_to_sign = verify_v4.string_to_sign(x_oss_date, scope, canonical)
    assert.are.equal(parsed.signature,
      verify_v4.signature(secret, parsed.date, parsed.region, parsed.product, string_to_sign))
    return string_to_sign
  end

  it("reproduces every V4 request vector", function()
    for _, vector in ipairs(vectors.v4_requests) do
      local headers = lower_keys(vector.headers)
      headers["x-oss-date"] = vector.x_oss_date
      local request = { method = vector.method, bucket = vector.bucket, key = vector.key, parameters = vector.query,
        headers = headers }
      local string_to_sign = check_v4(request, vector.x_oss_date, vector.authorization, vector.access_key_secret,
        vector.canonical_request)
      assert.are.equal(vector.string_to_sign, string_to_sign)
    end
  end)

  it("reproduces every inventory vector, V4 and V1", function()
    for _, vector in ipairs(vectors.inventory) do
      local headers = lower_keys(vector.headers_v4)
      check_v4({ method = vector.method, bucket = vector.bucket, parameters = vector.query, headers = headers },
        headers["x-oss-date"], vector.v4_authorization, vector.access_key_secret, vector.v4_canonical_request)
      local headers_v1 = lower_keys(vector.headers_v1)
      local string_to_sign = verify_v1.string_to_sign({ method = vector.method, bucket = vector.bucket,
        parameters = vector.query, headers = headers_v1 }, headers_v1.date)
      assert.are.equal(vector.v1_string_to_sign, string_to_sign)
      assert.are.equal(assert(verify_v1.parse(vector.v1_authorization)).signature,
        verify_v1.signature(vector.access_key_secret, string_to_sign))
    end
  end)

  it("reproduces every V1 string-to-sign vector's signature", function()
    for _, vector in ipairs(vectors.v1_string_to_sign) do
      assert.are.equal(assert(verify_v1.parse(vector.authorization)).signature,
        verify_v1.signature(vector.access_key_secret, vector.string_to_sign))
    end
  end)
end)

-- The in-process Lua API; lua-http (and so the server) exists only for LuaJIT, where this runs.
describe("oss emulator Lua API", function()
  local has_server = pcall(require, "http.server")

  if not has_server then
    it("needs lua-http, which Debian packages for LuaJIT only", function()
      pending("lua-http is not available for " .. _VERSION)
    end)
    return
  end

  local emulator = require "oss.emulator"
  local http_request = require "http.request"

  -- Sends one request from a coroutine on the emulator's own loop and steps the loop until it is answered.
  local function exchange(emu, request)
    local outcome
    emu:controller():wrap(function()
      local client = http_request.new_from_uri(emu.endpoint .. request.target)
      client.headers:upsert(":method", request.method)
      for name, value in pairs(request.headers) do
        if name ~= "host" then
          client.headers:upsert(name, value)
        end
      end
      local headers, stream = client:go(5)
      outcome = { status = tonumber(headers:get(":status")), body = stream:get_body_as_string(5) }
    end)
    local deadline = socket.gettime() + 10
    while not outcome and socket.gettime() < deadline do
      assert(emu:step(0.05))
    end
    return assert(outcome, "no answer")
  end

  it("starts on a free port, takes injected faults, records requests and stops", function()
    local emu = emulator.new { buckets = BUCKETS, keys = KEYS }
    local port = assert(emu:start())
    assert.is_true(port > 0)
    local ok, failure = pcall(function()
      emu:inject { operation = "ListBucketInventory", status = 503, code = "ServiceUnavailable" }
      local request = signed { query = { inventory = "" } }
      assert.are.equal(503, exchange(emu, request).status)
      local again = exchange(emu, signed { query = { inventory = "" } })
      assert.are.equal(404, again.status)
      assert.is_truthy(again.body:find("<Code>NoSuchInventory</Code>", 1, true))
      local received = emu:requests()
      assert.are.equal(2, #received)
      assert.are.equal(request.target, received[1].target)
    end)
    emu:stop()
    assert(ok, failure)
  end)

  it("raises on an invalid fault or configuration", function()
    local emu = emulator.new { buckets = BUCKETS, keys = KEYS }
    assert.has_error(function() emu:inject { action = "explode" } end)
    assert.has_error(function() emu:inject { status = 500, action = "reset" } end)
    assert.has_error(function() emulator.new { buckets = { "Not_A_Bucket" } } end)
    assert.has_error(function() emulator.new { keys = { "id-without-secret" } } end)
  end)
end)
