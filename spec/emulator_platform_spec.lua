-- The platform around the emulated OSS through raw requests: instance metadata (IMDSv1 and v2), STS AssumeRole
-- (RPC signature, chained) and AssumeRoleWithOIDC, the credentials URI, and the OSS side accepting what they issue
-- until it expires by the emulator's clock.
local cjson = require "cjson"
local core = require "oss.core"
local config = require "oss.emulator.config"
local oss_request = require "spec.support.oss_request"
local rpc_signature = require "oss.credentials.rpc_signature"
local support = require "spec.support.emulator"

local ROLE = "EcsRamRole"
local LIFETIME = 1200
local KEY = { id = "ak-platform", secret = "secret-platform" }
local OIDC_PROVIDER = "acs:ram::1000000000000000:oidc-provider/cluster"
local ROLE_ARN = "acs:ram::1000000000000000:role/InventoryWriter"
local BUCKET = "platform-bucket"
local CREDENTIALS_PATH = "/latest/meta-data/ram/security-credentials/"

local function write_file(path, content)
  local file = assert(io.open(path, "wb"))
  file:write(content)
  file:close()
end

local function iso8601(seconds)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", seconds)
end

local function epoch_of(text)
  local year, month, day, hour, minute, second = text:match("^(%d+)%-(%d+)%-(%d+)T(%d+):(%d+):(%d+)Z$")
  assert(year, "not a YYYY-MM-DDThh:mm:ssZ date: " .. tostring(text))
  -- os.time reads local time; the difference to the same call on the epoch's own fields cancels the zone.
  local fields = { year = tonumber(year), month = tonumber(month), day = tonumber(day), hour = tonumber(hour),
    min = tonumber(minute), sec = tonumber(second), isdst = false }
  local utc = os.date("!*t", 0)
  utc.isdst = false
  return os.time(fields) - os.time(utc)
end

local function form_encode(params)
  local names = {}
  for name in pairs(params) do names[#names + 1] = name end
  table.sort(names)
  local parts = {}
  for index, name in ipairs(names) do parts[index] = core.uri_encode(name) .. "=" .. core.uri_encode(params[name]) end
  return table.concat(parts, "&")
end

local function decode(body)
  local ok, value = pcall(cjson.decode, body)
  assert(ok, "not JSON: " .. tostring(body))
  return value
end

describe("the emulator's platform", function()
  local emu, directory, token_file

  setup(function()
    directory = os.tmpname()
    os.remove(directory)
    assert(os.execute("mkdir -p '" .. directory .. "'"))
    token_file = directory .. "/oidc-token"
    write_file(token_file, "eyJhbGciOiJSUzI1NiJ9.first.token")
    emu = support.start {
      buckets = { BUCKET }, keys = { KEY },
      ecs_role = ROLE, credentials_lifetime = LIFETIME,
      oidc_provider_arn = OIDC_PROVIDER, oidc_token_file = token_file,
    }
  end)

  teardown(function()
    if emu then emu:stop() end
    os.execute("rm -rf '" .. directory .. "'")
  end)

  before_each(function()
    emu:reset()
  end)

  local function url(path)
    return emu.endpoint .. path
  end

  -- The emulator's now, as its clock offset moves it.
  local offset = 0
  local function set_offset(seconds)
    offset = seconds
    emu:set_clock_offset(seconds)
  end
  after_each(function() offset = 0 end)

  local function metadata_token(ttl)
    local status, body = support.http("PUT", url("/latest/api/token"), nil,
      { ["X-aliyun-ecs-metadata-token-ttl-seconds"] = tostring(ttl or 21600) })
    assert.are.equal(200, status)
    return body
  end

  local function metadata_get(path, token)
    return support.http("GET", url(path), nil, token and { ["X-aliyun-ecs-metadata-token"] = token } or nil)
  end

  -- The bucket has no rules, so a request that passes authentication learns just that.
  local function oss_list(credential, options)
    options = options or {}
    return oss_request.list_inventory(emu, BUCKET, credential,
      { time = os.time() + offset, without_token = options.without_token })
  end

  local function assert_accepted(credential)
    local status, document = oss_list(credential)
    assert.are.same({ 404, "NoSuchInventory" }, { status, document.Code })
  end

  -- A signed STS call. options: params (the action's own), key ({ id, secret, token }), method, time, nonce,
  -- version, tamper (changes the signature), drop (a common parameter to leave out).
  local nonce_counter = 0
  local function sts(options)
    nonce_counter = nonce_counter + 1
    local key = options.key or KEY
    local query = {
      Action = options.action or "AssumeRole", Version = options.version or "2015-04-01", Format = "JSON",
      Timestamp = options.timestamp or iso8601((options.time or os.time()) + offset),
      SignatureMethod = "HMAC-SHA1", SignatureVersion = "1.0",
      SignatureNonce = options.nonce or ("nonce-" .. nonce_counter .. "-" .. os.time()),
      AccessKeyId = key.id, SecurityToken = key.token,
    }
    if options.drop then query[options.drop] = nil end
    local params = options.params or {
      RoleArn = ROLE_ARN, RoleSessionName = "platform-spec", DurationSeconds = "3600",
    }
    local method = options.method or "POST"
    local signed = {}
    for name, value in pairs(query) do signed[name] = value end
    for name, value in pairs(params) do signed[name] = value end
    local signature = rpc_signature.sign(method, signed, key.secret)
    if options.tamper then signature = (signature:sub(1, 1) == "A" and "B" or "A") .. signature:sub(2) end
    if options.drop ~= "Signature" then query.Signature = signature end
    local status, body, headers
    if method == "GET" then
      status, body, headers = support.http("GET", url("/?" .. form_encode(signed) .. "&Signature="
        .. core.uri_encode(signature)))
    else
      status, body, headers = support.http(method, url("/?" .. form_encode(query)), form_encode(params),
        { ["content-type"] = "application/x-www-form-urlencoded" })
    end
    return status, decode(body), headers, rpc_signature.string_to_sign(method, signed)
  end

  local function oidc(params)
    local form = {
      OIDCProviderArn = OIDC_PROVIDER, OIDCToken = "eyJhbGciOiJSUzI1NiJ9.first.token", RoleArn = ROLE_ARN,
      RoleSessionName = "oidc-spec", DurationSeconds = "900",
    }
    for name, value in pairs(params or {}) do form[name] = value ~= false and value or nil end
    local status, body, headers = support.http("POST", url("/?Action=AssumeRoleWithOIDC&Version=2015-04-01"
      .. "&Format=JSON&Timestamp=" .. core.uri_encode(iso8601(os.time()))), form_encode(form),
      { ["content-type"] = "application/x-www-form-urlencoded" })
    return status, decode(body), headers
  end

  local function expect_sts_error(status, body, expected_status, code)
    assert.are.equal(code, body.Code)
    assert.are.equal(expected_status, status)
    assert.is_string(body.RequestId)
    assert.are.equal("sts.aliyuncs.com", body.HostId)
    assert.is_string(body.Message)
  end

  describe("instance metadata", function()
    it("hands out a session token, the role name and the role's credentials (IMDSv2)", function()
      local token = metadata_token()
      assert.is_truthy(token:match("^%w+$"))
      local status, body = metadata_get(CREDENTIALS_PATH, token)
      assert.are.same({ 200, ROLE }, { status, body })
      status, body = metadata_get(CREDENTIALS_PATH .. ROLE, token)
      assert.are.equal(200, status)
      local document = decode(body)
      assert.are.equal("Success", document.Code)
      assert.is_truthy(document.AccessKeyId:match("^STS%.%w+$"))
      assert.is_truthy(#document.AccessKeySecret >= 30)
      assert.is_truthy(#document.SecurityToken >= 30)
      assert.are.equal(LIFETIME, epoch_of(document.Expiration) - epoch_of(document.LastUpdated))
      assert.is_truthy(math.abs(epoch_of(document.LastUpdated) - os.time()) <= 5)
    end)

    it("answers without a token too (IMDSv1), with the same credentials until half their lifetime", function()
      local _, first = metadata_get(CREDENTIALS_PATH .. ROLE)
      local _, again = metadata_get(CREDENTIALS_PATH .. ROLE, metadata_token())
      assert.are.equal(decode(first).AccessKeyId, decode(again).AccessKeyId)
      set_offset(LIFETIME / 2 + 1)
      local _, rotated = metadata_get(CREDENTIALS_PATH .. ROLE)
      assert.are_not.equal(decode(first).AccessKeyId, decode(rotated).AccessKeyId)
    end)

    it("refuses a wrong or expired token with 401", function()
      assert.are.equal(401, (metadata_get(CREDENTIALS_PATH .. ROLE, "forged")))
      local token = metadata_token(60)
      assert.are.equal(200, (metadata_get(CREDENTIALS_PATH, token)))
      set_offset(61)
      assert.are.equal(401, (metadata_get(CREDENTIALS_PATH, token)))
    end)

    it("refuses a token request without a TTL between 1 and 21600 seconds, and one that is not a PUT", function()
      assert.are.equal(400, (support.http("PUT", url("/latest/api/token"))))
      for _, ttl in ipairs { "0", "21601", "ten" } do
        assert.are.equal(400, (support.http("PUT", url("/latest/api/token"), nil,
          { ["X-aliyun-ecs-metadata-token-ttl-seconds"] = ttl })))
      end
      assert.are.equal(405, (support.http("GET", url("/latest/api/token"))))
    end)

    it("answers 404 for a role the instance does not have", function()
      assert.are.equal(404, (metadata_get(CREDENTIALS_PATH .. "OtherRole", metadata_token())))
    end)

    it("issues credentials the OSS side accepts with their token until they expire", function()
      local _, body = metadata_get(CREDENTIALS_PATH .. ROLE, metadata_token())
      local credential = decode(body)
      assert_accepted(credential)
      local status, document = oss_list(credential, { without_token = true })
      assert.are.same({ 403, "AccessDenied" }, { status, document.Code })
      -- Five seconds before its own Expiration by the emulator's clock (real time plus the offset), however long
      -- ago it was issued.
      set_offset(require("oss.utc").parse_iso8601(credential.Expiration) - os.time() - 5)
      assert_accepted(credential)
      set_offset(LIFETIME + 1)
      status, document = oss_list(credential)
      assert.are.same({ 403, "SecurityTokenExpired" }, { status, document.Code })
      assert.are.equal("0002-00000007", document.EC)
    end)

    it("is what faults apply to, as the OSS side is", function()
      emu:faults { path = "/latest/api/token", status = 500 }
      assert.are.equal(500, (support.http("PUT", url("/latest/api/token"), nil,
        { ["X-aliyun-ecs-metadata-token-ttl-seconds"] = "60" })))
      assert.is_string(metadata_token())
    end)

    it("is recorded in the journal with its headers", function()
      metadata_token(300)
      local entry = emu:requests(1)[1]
      assert.are.equal("metadata", entry.platform)
      assert.are.same({ "PUT", "/latest/api/token" }, { entry.method, entry.path })
      local ttl
      for _, pair in ipairs(entry.headers) do
        if pair[1] == "x-aliyun-ecs-metadata-token-ttl-seconds" then ttl = pair[2] end
      end
      assert.are.equal("300", ttl)
    end)
  end)

  describe("STS AssumeRole", function()
    it("answers the service's JSON for a request signed by a known key", function()
      local status, body, headers = sts {}
      assert.are.equal(200, status)
      assert.are.equal(headers["x-acs-request-id"], body.RequestId)
      assert.are.equal("acs:ram::1000000000000000:role/inventorywriter/platform-spec", body.AssumedRoleUser.Arn)
      assert.is_truthy(body.AssumedRoleUser.AssumedRoleId:match("^%d+:platform%-spec$"))
      local credentials = body.Credentials
      assert.is_truthy(credentials.AccessKeyId:match("^STS%."))
      -- DurationSeconds asked for an hour; the emulator's lifetime is shorter and wins.
      assert.is_truthy(math.abs(epoch_of(credentials.Expiration) - (os.time() + LIFETIME)) <= 5)
      assert_accepted(credentials)
    end)

    it("gives a shorter DurationSeconds its own lifetime", function()
      local _, body = sts { params = { RoleArn = ROLE_ARN, RoleSessionName = "short", DurationSeconds = "900" } }
      assert.is_truthy(math.abs(epoch_of(body.Credentials.Expiration) - (os.time() + 900)) <= 5)
    end)

    it("refuses a body larger than the journal keeps, unread, with 413", function()
      local status, body = support.http("POST", url("/?Action=AssumeRole&Version=2015-04-01"),
        "RoleArn=" .. string.rep("a", 65 * 1024), { ["content-type"] = "application/x-www-form-urlencoded" })
      expect_sts_error(status, decode(body), 413, "EntityTooLarge")
      assert.is_nil(emu:requests(1)[1].form[1])
    end)

    it("answers a malformed_xml fault with its real answer cut in half", function()
      emu:faults { path = "/", method = "POST", action = "malformed_xml" }
      local status, body = support.http("POST", url("/?Action=AssumeRoleWithOIDC&Version=2015-04-01"), "",
        { ["content-type"] = "application/x-www-form-urlencoded" })
      assert.are.equal(400, status)
      assert.is_false(pcall(cjson.decode, body))
      assert.are.equal("{", body:sub(1, 1))
    end)

    it("accepts every parameter in the query of a GET", function()
      assert.are.equal(200, (sts { method = "GET" }))
    end)

    it("refuses a wrong signature with the string it signed, as clients compare it", function()
      local status, body, _, string_to_sign = sts { tamper = true }
      expect_sts_error(status, body, 400, "SignatureDoesNotMatch")
      assert.are.equal("Specified signature is not matched with our calculation. server string to sign is:"
        .. string_to_sign, body.Message)
    end)

    it("refuses an unknown key, a wrong Version and a missing common parameter", function()
      local status, body = sts { key = { id = "nobody", secret = "x" } }
      expect_sts_error(status, body, 404, "InvalidAccessKeyId.NotFound")
      status, body = sts { version = "2014-01-01" }
      expect_sts_error(status, body, 400, "InvalidVersion")
      for _, name in ipairs { "Signature", "SignatureNonce", "Timestamp", "AccessKeyId" } do
        status, body = sts { drop = name }
        expect_sts_error(status, body, 400, "MissingParameter")
        assert.is_truthy(body.Message:find('"' .. name .. '"', 1, true))
      end
    end)

    it("refuses a Timestamp that is malformed or more than 15 minutes off, and a nonce used before", function()
      local status, body = sts { timestamp = "2026-12-02 10:00:00" }
      expect_sts_error(status, body, 400, "InvalidTimeStamp.Format")
      status, body = sts { time = os.time() - 16 * 60 }
      expect_sts_error(status, body, 400, "InvalidTimeStamp.Expired")
      assert.are.equal(200, (sts { nonce = "once" }))
      status, body = sts { nonce = "once" }
      expect_sts_error(status, body, 400, "SignatureNonceUsed")
    end)

    it("refuses a missing or malformed RoleArn, RoleSessionName or DurationSeconds", function()
      local cases = {
        { { RoleSessionName = "s1" }, "MissingRoleArn" },
        { { RoleArn = "arn:aws:iam::1:role/x", RoleSessionName = "s1" }, "InvalidParameter.RoleArn" },
        { { RoleArn = ROLE_ARN }, "MissingRoleSessionName" },
        { { RoleArn = ROLE_ARN, RoleSessionName = "has space" }, "InvalidParameter.RoleSessionName" },
        { { RoleArn = ROLE_ARN, RoleSessionName = "s1", DurationSeconds = "899" }, "InvalidParameter.DurationSeconds" },
        { { RoleArn = ROLE_ARN, RoleSessionName = "s1", DurationSeconds = "3601" }, "InvalidParameter.DurationSeconds" },
      }
      for _, case in ipairs(cases) do
        local status, body = sts { params = case[1] }
        expect_sts_error(status, body, 400, case[2])
      end
    end)

    it("chains: credentials it issued assume a role with their SecurityToken, until they expire", function()
      local _, first = sts {}
      local issued = {
        id = first.Credentials.AccessKeyId, secret = first.Credentials.AccessKeySecret,
        token = first.Credentials.SecurityToken,
      }
      local status, second = sts { key = issued }
      assert.are.equal(200, status)
      assert.are_not.equal(issued.id, second.Credentials.AccessKeyId)
      local body
      status, body = sts { key = { id = issued.id, secret = issued.secret } }
      expect_sts_error(status, body, 400, "MissingSecurityToken")
      status, body = sts { key = { id = issued.id, secret = issued.secret, token = "forged" } }
      expect_sts_error(status, body, 400, "InvalidSecurityToken.MismatchWithAccessKey")
      set_offset(LIFETIME + 1)
      status, body = sts { key = issued }
      expect_sts_error(status, body, 400, "InvalidSecurityToken.Expired")
    end)

    it("is recorded in the journal with its query and form fields decoded", function()
      local _, body = sts {}
      local entry = emu:requests(1)[1]
      assert.are.equal("sts", entry.platform)
      assert.are.equal(body.RequestId, entry.request_id)
      assert.are.same({ "POST", "/" }, { entry.method, entry.path })
      local query, form = {}, {}
      for _, pair in ipairs(entry.query) do query[pair[1]] = pair[2] end
      for _, pair in ipairs(entry.form) do form[pair[1]] = pair[2] end
      assert.are.same({ "AssumeRole", "HMAC-SHA1", KEY.id }, { query.Action, query.SignatureMethod, query.AccessKeyId })
      assert.are.same({ ROLE_ARN, "platform-spec", "3600" }, { form.RoleArn, form.RoleSessionName, form.DurationSeconds })
    end)
  end)

  describe("STS AssumeRoleWithOIDC", function()
    it("accepts the token the token file holds now, unsigned", function()
      local status, body = oidc()
      assert.are.equal(200, status)
      assert.are.equal("acs:ram::1000000000000000:role/inventorywriter/oidc-spec", body.AssumedRoleUser.Arn)
      assert.is_truthy(math.abs(epoch_of(body.Credentials.Expiration) - (os.time() + 900)) <= 5)
      assert_accepted(body.Credentials)
    end)

    it("follows the token file as it is rotated", function()
      write_file(token_file, "eyJhbGciOiJSUzI1NiJ9.second.token")
      finally(function() write_file(token_file, "eyJhbGciOiJSUzI1NiJ9.first.token") end)
      local status, body = oidc()
      expect_sts_error(status, body, 401, "AuthenticationFail.OIDCToken.Invalid")
      assert.are.equal(200, (oidc { OIDCToken = "eyJhbGciOiJSUzI1NiJ9.second.token" }))
    end)

    it("refuses a wrong or empty token and an unknown or missing provider as the service does", function()
      local status, body = oidc { OIDCToken = "eyJhbGciOiJSUzI1NiJ9.forged.token" }
      expect_sts_error(status, body, 401, "AuthenticationFail.OIDCToken.Invalid")
      status, body = oidc { OIDCToken = false }
      expect_sts_error(status, body, 401, "AuthenticationFail.OIDCToken.Invalid")
      assert.are.equal("The OIDCToken can not empty.", body.Message)
      status, body = oidc { OIDCProviderArn = "acs:ram::1000000000000000:oidc-provider/other" }
      expect_sts_error(status, body, 401, "AuthenticationFail.NoPermission")
      status, body = oidc { OIDCProviderArn = false }
      expect_sts_error(status, body, 400, "MissingOIDCProviderArn")
      status, body = oidc { RoleArn = false }
      expect_sts_error(status, body, 400, "MissingRoleArn")
    end)
  end)

  describe("the credentials URI", function()
    it("answers credentials the OSS side accepts", function()
      local status, body = support.http("GET", url("/-/platform/credentials"))
      assert.are.equal(200, status)
      local document = decode(body)
      assert.are.equal("Success", document.Code)
      assert.is_truthy(math.abs(epoch_of(document.Expiration) - (os.time() + LIFETIME)) <= 5)
      assert_accepted(document)
      local entry = emu:requests(2)[1]
      assert.are.same({ "credentials_uri", "GET", "/-/platform/credentials" }, { entry.platform, entry.method, entry.path })
    end)

    it("refuses anything but GET", function()
      assert.are.equal(405, (support.http("POST", url("/-/platform/credentials"), "")))
    end)
  end)
end)

describe("the platform's issued credentials", function()
  local issued_credentials = require "oss.emulator.issued_credentials"
  local function fixed_clock(now)
    return { now = function() return now end }
  end

  it("live the emulator's lifetime, or a shorter duration asked for, and have random ids", function()
    local issued = issued_credentials.new(fixed_clock(1000), 600)
    local plain, short, long = issued:issue(), issued:issue(300), issued:issue(3600)
    assert.are.same({ 1600, 1300, 1600 }, { plain.expires, short.expires, long.expires })
    assert.are_not.equal(plain.id, short.id)
    assert.are_not.equal(plain.secret, short.secret)
    assert.is_truthy(plain.id:match("^STS%.%w+$") and #plain.secret == 40)
    assert.are.equal(short, issued:find(short.id))
  end)

  it("keep only the newest, so a loop of calls cannot grow the emulator without end", function()
    local issued = issued_credentials.new(fixed_clock(1000), 600)
    local first = issued:issue()
    for _ = 1, issued_credentials.KEPT - 1 do issued:issue() end
    assert.are.equal(first, issued:find(first.id))
    local newest = issued:issue()
    assert.is_nil(issued:find(first.id))
    assert.are.equal(newest, issued:find(newest.id))
  end)
end)

describe("the emulator's platform options", function()
  it("are off unless given: without a role, /latest/ is OSS's", function()
    local emu = support.start { buckets = { BUCKET }, keys = { KEY } }
    finally(function() emu:stop() end)
    local status = support.http("PUT", emu.endpoint .. "/latest/api/token", nil,
      { ["X-aliyun-ecs-metadata-token-ttl-seconds"] = "60" })
    assert.are_not.equal(200, status)
    local _, body = support.http("POST", emu.endpoint .. "/?Action=AssumeRoleWithOIDC&Version=2015-04-01",
      "OIDCProviderArn=x&OIDCToken=y", { ["content-type"] = "application/x-www-form-urlencoded" })
    assert.are.equal("AuthenticationFail.NoPermission", decode(body).Code)
  end)

  it("refuse reads without a session token when the instance allows IMDSv2 alone", function()
    local emu = support.start { ecs_role = ROLE, imdsv2_only = true }
    finally(function() emu:stop() end)
    assert.are.equal(401, (support.http("GET", emu.endpoint .. CREDENTIALS_PATH)))
    local _, token = support.http("PUT", emu.endpoint .. "/latest/api/token", nil,
      { ["X-aliyun-ecs-metadata-token-ttl-seconds"] = "60" })
    local status, body = support.http("GET", emu.endpoint .. CREDENTIALS_PATH, nil,
      { ["X-aliyun-ecs-metadata-token"] = token })
    assert.are.same({ 200, ROLE }, { status, body })
  end)

  it("are refused when they contradict each other or are malformed", function()
    local cases = {
      { { imdsv2_only = true }, "imdsv2_only needs ecs_role: without a role there is no instance metadata" },
      { { ecs_role = "role/with/slashes" }, "ecs_role must be a RAM role name (letters, digits and .@_-)" },
      { { oidc_provider_arn = OIDC_PROVIDER }, "oidc_provider_arn and oidc_token_file go together" },
      { { oidc_token_file = "/tmp/token" }, "oidc_provider_arn and oidc_token_file go together" },
      { { credentials_lifetime = 0 }, "credentials_lifetime must be a positive number of seconds" },
      { { ecs_role = "" }, "ecs_role must be a non-empty string" },
    }
    for _, case in ipairs(cases) do
      assert.has_error(function() config.normalise(case[1]) end, case[2])
    end
  end)
end)
