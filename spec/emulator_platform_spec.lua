-- The platform around the emulated OSS through raw requests: instance metadata (IMDSv1 and v2), and the OSS side
-- accepting what it issues until it expires by the emulator's clock.
local cjson = require "cjson"
local core = require "oss.core"
local config = require "oss.emulator.config"
local support = require "spec.support.emulator"

local error_schema = core.schema(require("oss.schema.error"))

local ROLE = "EcsRamRole"
local LIFETIME = 1200
local KEY = { id = "ak-platform", secret = "secret-platform" }
local BUCKET = "platform-bucket"
local CREDENTIALS_PATH = "/latest/meta-data/ram/security-credentials/"

local signer = core.signer()

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

local function decode(body)
  local ok, value = pcall(cjson.decode, body)
  assert(ok, "not JSON: " .. tostring(body))
  return value
end

describe("the emulator's platform", function()
  local emu

  setup(function()
    emu = support.start { buckets = { BUCKET }, keys = { KEY }, ecs_role = ROLE, credentials_lifetime = LIFETIME }
  end)

  teardown(function()
    if emu then emu:stop() end
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

  -- An OSS list call on the (empty) bucket signed with `credential` ({ AccessKeyId, AccessKeySecret,
  -- SecurityToken }); -> status, the error document.
  local function oss_list(credential, options)
    options = options or {}
    local request = {
      method = "GET", bucket = BUCKET, query = { inventory = "" }, headers = {}, region = "cn-hangzhou",
      time = os.time() + offset,
    }
    signer:sign_v4(request, {
      access_key_id = credential.AccessKeyId, access_key_secret = credential.AccessKeySecret,
      security_token = not options.without_token and credential.SecurityToken or nil,
    })
    local headers = {}
    for name, value in pairs(request.headers) do headers[name:lower()] = value end
    local status, body = support.http("GET", url("/" .. BUCKET .. "/?inventory"), nil, headers)
    return status, assert(core.xml_read(error_schema, body))
  end

  -- The bucket has no rules, so a request that passes authentication learns just that.
  local function assert_accepted(credential)
    local status, document = oss_list(credential)
    assert.are.same({ 404, "NoSuchInventory" }, { status, document.Code })
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
      set_offset(LIFETIME - 5)
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

end)

describe("the emulator's platform options", function()
  it("are off unless given: without a role, /latest/ is OSS's", function()
    local emu = support.start { buckets = { BUCKET }, keys = { KEY } }
    finally(function() emu:stop() end)
    local status = support.http("PUT", emu.endpoint .. "/latest/api/token", nil,
      { ["X-aliyun-ecs-metadata-token-ttl-seconds"] = "60" })
    assert.are_not.equal(200, status)
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
      { { credentials_lifetime = 0 }, "credentials_lifetime must be a positive number of seconds" },
      { { ecs_role = "" }, "ecs_role must be a non-empty string" },
    }
    for _, case in ipairs(cases) do
      assert.has_error(function() config.normalise(case[1]) end, case[2])
    end
  end)
end)
