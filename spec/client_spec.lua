-- The client's pipeline without a network: options, dry runs against the signing vectors, errors, secrecy.

local oss = require "oss"
local cjson = require "cjson"
local fixtures = require "spec.support.fixtures"
local rules = dofile("examples/reference_rules.lua")

local VECTORS = cjson.decode(fixtures.read("vectors/signing.json"))
local SECRET = "sk-very-secret-value"

-- The rule whose body the signing vectors carry (vectors/put_report1.xml).
local function vector_rule()
  local config = fixtures.copy(rules.syntax)
  config.IncrementalInventory = nil
  config.Destination.OSSBucketDestination.Encryption = nil
  config.OptionalFields.Field = { "Size", "TransitionTime" }
  return config
end

-- A transport that records what it is given and answers from a list.
local function scripted_transport(answers)
  local sent = {}
  local function send(request)
    sent[#sent + 1] = request
    local answer = table.remove(answers, 1) or { status = 200, headers = {}, body = "" }
    if answer.fail then return nil, answer.fail end
    return answer
  end
  return send, sent
end

local function client_with(options)
  local defaults = {
    region = "cn-hangzhou", access_key_id = "ak", access_key_secret = "sk",
    clock = function() return 1702743657 end,
    max_attempts = 1, -- each answer here is seen once; spec/retry_spec.lua covers sending again
  }
  for k, v in pairs(options or {}) do defaults[k] = v end
  return assert(oss.new(defaults))
end

describe("oss.new", function()
  it("raises when options are not a table", function()
    assert.has_error(function() oss.new("cn-hangzhou") end)
  end)

  it("reaches an IPv6 endpoint, with or without a port", function()
    for endpoint, url in pairs { ["http://[::1]:9000"] = "http://[::1]:9000/examplebucket/",
      ["https://[2001:DB8::1]"] = "https://[2001:db8::1]/examplebucket/" } do
      local client = assert(oss.new { region = "cn-hangzhou", access_key_id = "ak", access_key_secret = "sk",
        endpoint = endpoint, path_style = true })
      local request = assert(client:get_bucket_inventory("examplebucket", "report1", { dry_run = true }))
      assert.are.equal(url .. "?inventory&inventoryId=report1", request.url)
    end
  end)

  local refused = {
    { function(o) o.region = nil end, "region: required for V4 signing" },
    { function(o) o.signature_version = "v2" end, 'signature_version: expected "v4" or "v1"' },
    { function(o) o.region = "oss-cn-hangzhou" end, "without the oss- prefix" },
    { function(o) o.region = "CN hangzhou" end, "region: expected a region id" },
    { function(o) o.endpoint = "ftp://x" end, "endpoint: expected http://host[:port]" },
    { function(o) o.endpoint = "http://127.0.0.1:9000/path" end, "with no path" },
    { function(o) o.endpoint = "http://127.0.0.1:0" end, "endpoint: invalid port in http://127.0.0.1:0" },
    { function(o) o.endpoint = "http://127.0.0.1:99999" end, "expected 1 to 65535" },
    { function(o) o.endpoint = "http://127.0.0.1:" end, "endpoint: invalid port" },
    { function(o) o.endpoint = "http://[::1]x" end, "endpoint: invalid port" },
    { function(o) o.timeout = "5" end, "timeout: expected a number, got string" },
    { function(o) o.timeout = 2000001 end, "timeout: expected at most 2000000 seconds" },
    { function(o) o.connect_timeout = 1e300 end, "connect_timeout: expected at most 2000000 seconds" },
    { function(o) o.access_key_secret = false end, "access_key_secret" },
  }
  for _, case in ipairs(refused) do
    it("refuses: " .. case[2], function()
      local options = { region = "cn-hangzhou", access_key_id = "ak", access_key_secret = "sk" }
      case[1](options)
      local client, err = oss.new(options)
      assert.is_nil(client)
      assert.are.equal("validation", err.kind)
      assert.truthy(tostring(err):find(case[2], 1, true), tostring(err))
    end)
  end

  it("reads credentials from the environment when none are given", function()
    local credentials = require "oss.credentials"
    local env = { OSS_ACCESS_KEY_ID = "id", OSS_ACCESS_KEY_SECRET = "secret", OSS_SESSION_TOKEN = "token" }
    local provider = assert(credentials.from_options({}, function(name) return env[name] end))
    local given = provider:get()
    assert.are.same({ "id", "secret", "token" }, { given.access_key_id, given.access_key_secret, given.security_token })
    local none, err = credentials.from_options({}, function(name)
      return name == "ALIBABA_CLOUD_ECS_METADATA_DISABLED" and "true" or nil
    end)
    assert.is_nil(none)
    assert.truthy(tostring(err):find("OSS_ACCESS_KEY_ID", 1, true))
  end)
end)

describe("a dry run", function()
  local vector = VECTORS.inventory[1]

  it("signs PutBucketInventory exactly as the V4 vector", function()
    local client = client_with { endpoint = "https://oss-cn-hangzhou.aliyuncs.com" }
    local request = assert(client:put_bucket_inventory("examplebucket", vector_rule(), { dry_run = true }))
    assert.are.equal("PUT", request.method)
    assert.are.equal("https://examplebucket.oss-cn-hangzhou.aliyuncs.com/?inventory&inventoryId=report1", request.url)
    assert.are.equal(fixtures.read("vectors/put_report1.xml"), request.body)
    for name, value in pairs(vector.headers_v4) do
      assert.are.equal(value, request.headers[name], name)
    end
    assert.are.equal(vector.v4_authorization, request.headers.Authorization)
    assert.are.equal("lua-oss/" .. oss.VERSION, request.headers["User-Agent"])
    assert.are.equal("Sat, 16 Dec 2023 16:20:57 GMT", request.headers.Date)
  end)

  it("signs PutBucketInventory exactly as the V1 vector", function()
    local client = client_with { signature_version = "v1" }
    local request = assert(client:put_bucket_inventory("examplebucket", vector_rule(), { dry_run = true }))
    for name, value in pairs(vector.headers_v1) do
      assert.are.equal(value, request.headers[name], name)
    end
    assert.are.equal(vector.v1_authorization, request.headers.Authorization)
  end)

  it("signs Get, List with a token, and Delete exactly as the vectors", function()
    local client = client_with {}
    local get = assert(client:get_bucket_inventory("examplebucket", "report1", { dry_run = true }))
    assert.are.equal(VECTORS.inventory[2].v4_authorization, get.headers.Authorization)
    local list = assert(client:list_bucket_inventory("examplebucket", { dry_run = true }))
    assert.are.equal(VECTORS.inventory[3].v4_authorization, list.headers.Authorization)
    local page2 = assert(client:list_bucket_inventory("examplebucket",
      { continuation_token = "abc/def=", dry_run = true }))
    assert.are.equal(VECTORS.inventory[4].v4_authorization, page2.headers.Authorization)
    assert.are.equal("https://examplebucket.oss-cn-hangzhou.aliyuncs.com/?continuation-token=abc%2Fdef%3D&inventory", page2.url)
    local delete = assert(client:delete_bucket_inventory("examplebucket", "report1", { dry_run = true }))
    assert.are.equal("DELETE", delete.method)
    assert.are.equal(VECTORS.inventory[5].v4_authorization, delete.headers.Authorization)
  end)

  it("addresses a bucket by path, by virtual host and by cname", function()
    local path = client_with { endpoint = "http://127.0.0.1:9000", path_style = true }
    assert.are.equal("http://127.0.0.1:9000/examplebucket/?inventory&inventoryId=report1",
      path:get_bucket_inventory("examplebucket", "report1", { dry_run = true }).url)
    local cname = client_with { endpoint = "https://inventory.example.com", cname = true }
    assert.are.equal("https://inventory.example.com/?inventory&inventoryId=report1",
      cname:get_bucket_inventory("examplebucket", "report1", { dry_run = true }).url)
    local virtual = client_with {}
    assert.are.equal("https://examplebucket.oss-cn-hangzhou.aliyuncs.com/?inventory&inventoryId=report1",
      virtual:get_bucket_inventory("examplebucket", "report1", { dry_run = true }).url)
  end)

  it("builds each request's URL afresh for many buckets and ids, in every addressing style", function()
    local clients = {
      virtual = client_with {},
      path = client_with { endpoint = "http://127.0.0.1:9000", path_style = true },
      cname = client_with { endpoint = "https://inventory.example.com", cname = true },
    }
    local expected = {
      virtual = "https://%s.oss-cn-hangzhou.aliyuncs.com/?inventory&inventoryId=%s",
      path = "http://127.0.0.1:9000/%s/?inventory&inventoryId=%s",
      cname = "https://inventory.example.com/?inventory&inventoryId=%s",
    }
    for style, client in pairs(clients) do
      for round = 1, 2 do
        for n = 1, 100 do -- more buckets than a client remembers
          local bucket, id = ("bucket-%03d"):format(n), ("id-%d-%d"):format(n % 3, round)
          local url = style == "cname" and expected.cname:format(id) or expected[style]:format(bucket, id)
          assert.are.equal(url, client:get_bucket_inventory(bucket, id, { dry_run = true }).url)
          assert.are.equal(url, client:delete_bucket_inventory(bucket, id, { dry_run = true }).url)
        end
      end
    end
  end)

  it("refuses an invalid bucket name however many valid ones came before", function()
    local client = client_with {}
    for n = 1, 300 do
      assert(client:get_bucket_inventory(("bucket-%03d"):format(n), "id", { dry_run = true }))
    end
    local ok, err = client:get_bucket_inventory("Bucket_1", "id", { dry_run = true })
    assert.is_nil(ok)
    assert.are.equal("bucket", err.path)
  end)

  it("sends an STS token, signed, and prints it redacted", function()
    local client = client_with { security_token = "sts-token-value" }
    local request = assert(client:put_bucket_inventory("examplebucket", vector_rule(), { dry_run = true }))
    assert.are.equal("sts-token-value", request.headers["x-oss-security-token"])
    local printed = tostring(request)
    assert.falsy(printed:find("sts-token-value", 1, true))
    assert.truthy(printed:find("x-oss-security-token: <redacted>", 1, true))
  end)
end)

describe("validation before sending", function()
  local send, sent = scripted_transport {}
  local client = client_with { transport = send }

  it("refuses an invalid rule without calling the transport", function()
    local config = fixtures.copy(rules.full)
    config.Destination.OSSBucketDestination.RoleArn = "arn:role"
    local ok, err = client:put_bucket_inventory("examplebucket", config)
    assert.is_nil(ok)
    assert.are.equal("validation", err.kind)
    assert.are.equal("Destination.OSSBucketDestination.RoleArn", err.path)
    assert.are.equal("Destination.OSSBucketDestination.RoleArn: expected acs:ram::<uid>:role/<name>", err.message)
    assert.are.equal("validation error: " .. err.message, tostring(err))
    assert.are.equal(0, #sent)
  end)

  it("refuses bucket names and ids that could not travel in a URL", function()
    for _, bucket in ipairs { "Example", "ab", "a_b", "bucket/..", ("b"):rep(64), "-abc" } do
      local ok, err = client:get_bucket_inventory(bucket, "report1")
      assert.is_nil(ok)
      assert.are.equal("bucket", err.path)
    end
    for _, id in ipairs { "", "a b", "a/b", "a\r\nX-Injected: 1", ("i"):rep(193) } do
      local ok, err = client:delete_bucket_inventory("examplebucket", id)
      assert.is_nil(ok)
      assert.are.equal("id", err.path)
    end
    assert.are.equal(0, #sent)
  end)

  it("raises on misuse: arguments of the wrong type", function()
    assert.has_error(function() client:put_bucket_inventory(nil, rules.full) end)
    assert.has_error(function() client:put_bucket_inventory("examplebucket", "report1") end)
    assert.has_error(function() client:get_bucket_inventory("examplebucket", 1) end)
    assert.has_error(function() client:list_bucket_inventory("examplebucket", { continuation_token = 5 }) end)
  end)
end)

describe("answers", function()
  local function error_body(code, status_message, extra)
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message>"
      .. "<RequestId>5C3D8D2A1B2C3D4E5F6A7B8C</RequestId><HostId>examplebucket.oss-cn-hangzhou.aliyuncs.com</HostId>%s"
      .. "<EC>0020-00000101</EC></Error>"):format(code, status_message, extra or "")
  end

  it("turns an <Error> document into a service error", function()
    local send = scripted_transport {
      { status = 409, headers = { ["x-oss-request-id"] = "5C3D8D2A1B2C3D4E5F6A7B8C" },
        body = error_body("InventoryAlreadyExist", "The requested inventory rule already exists.") },
    }
    local client = client_with { transport = send }
    local ok, err = client:put_bucket_inventory("examplebucket", rules.full)
    assert.is_nil(ok)
    assert.are.same({ "service", 409, "InventoryAlreadyExist", "The requested inventory rule already exists.",
      "5C3D8D2A1B2C3D4E5F6A7B8C", "examplebucket.oss-cn-hangzhou.aliyuncs.com", "0020-00000101" },
      { err.kind, err.status, err.code, err.message, err.request_id, err.host_id, err.ec })
    assert.are.equal("service error 409 InventoryAlreadyExist: The requested inventory rule already exists."
      .. " (request id 5C3D8D2A1B2C3D4E5F6A7B8C, ec 0020-00000101)", tostring(err))
  end)

  it("prints a service error on one line whatever the server put in its code, request id and ec", function()
    local forged = "&#13;&#10;2026-01-01 00:00:00 [crit] forged"
    local send = scripted_transport {
      { status = 403, headers = { ["x-oss-request-id"] = "id\nforged" },
        body = ("<Error><Code>Denied%s</Code><Message>no%s</Message><RequestId>R%s</RequestId>"
          .. "<EC>0003%s</EC></Error>"):format(forged, forged, forged, forged) },
    }
    local client = client_with { transport = send }
    local _, err = client:get_bucket_inventory("examplebucket", "report1")
    assert.truthy(err.code:find("\n", 1, true), "the code itself keeps what the server sent")
    local printed = tostring(err)
    assert.is_nil(printed:find("%c"), printed)
    assert.truthy(printed:find("Denied 2026-01-01 00:00:00 [crit] forged", 1, true), printed)
    assert.truthy(printed:find("ec 0003 2026", 1, true), printed)
  end)

  it("keeps an error's extra elements", function()
    local send = scripted_transport {
      { status = 403, headers = {}, body = error_body("RequestTimeTooSkewed", "too skewed",
        "<MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds><ServerTime>2023-12-16T16:40:57.000Z</ServerTime>") },
    }
    local _, err = client_with({ transport = send }):delete_bucket_inventory("examplebucket", "report1")
    assert.are.equal("RequestTimeTooSkewed", err.code)
    assert.are.equal("2023-12-16T16:40:57.000Z", err.details.ServerTime)
    assert.are.equal("900000", err.details.MaxAllowedSkewMilliseconds)
  end)

  it("reads the x-oss-err header when the body is empty", function()
    local core = require "oss.core"
    local send = scripted_transport {
      { status = 404, headers = { ["x-oss-err"] = core.base64_encode(error_body("NoSuchBucket", "no bucket")) }, body = "" },
    }
    local _, err = client_with({ transport = send }):delete_bucket_inventory("examplebucket", "report1")
    assert.are.equal("NoSuchBucket", err.code)
    assert.are.equal(404, err.status)
  end)

  it("gives a clear error for a proxy's HTML page", function()
    local send = scripted_transport {
      { status = 502, headers = { ["x-oss-request-id"] = "r1" }, body = "<html><body>Bad Gateway</body></html>" },
    }
    local _, err = client_with({ transport = send }):delete_bucket_inventory("examplebucket", "report1")
    assert.are.equal("service", err.kind)
    assert.are.equal(502, err.status)
    assert.is_nil(err.code)
    assert.truthy(err.message:find("HTTP 502 with a body that is not an OSS error document", 1, true))
    assert.truthy(err.message:find("Bad Gateway", 1, true))
  end)

  it("passes a transport's failure on as a network error", function()
    local send = scripted_transport { { fail = { kind = "network", code = "timeout", message = "timed out after 1 s" } } }
    local _, err = client_with({ transport = send }):delete_bucket_inventory("examplebucket", "report1")
    assert.are.equal("network", err.kind)
    assert.are.equal("network error (timeout): timed out after 1 s", tostring(err))
  end)
end)

describe("the secret", function()
  it("never appears in a client, a request, or an error", function()
    local send = scripted_transport {
      { status = 403, headers = {}, body = "<Error><Code>SignatureDoesNotMatch</Code></Error>" },
    }
    local client = client_with { access_key_secret = SECRET, transport = send, security_token = "tok" }
    local printed = { tostring(client) }
    local request = client:put_bucket_inventory("examplebucket", rules.full, { dry_run = true })
    printed[#printed + 1] = tostring(request)
    for _, value in pairs(request.headers) do printed[#printed + 1] = value end
    local _, service_err = client:put_bucket_inventory("examplebucket", rules.full)
    printed[#printed + 1] = tostring(service_err)
    local _, validation_err = client:put_bucket_inventory("examplebucket", { Id = "x" })
    printed[#printed + 1] = tostring(validation_err)
    for key, value in pairs(client) do
      printed[#printed + 1] = tostring(key) .. "=" .. tostring(value)
    end
    for _, text in ipairs(printed) do
      assert.falsy(text:find(SECRET, 1, true), text)
    end
  end)
end)
