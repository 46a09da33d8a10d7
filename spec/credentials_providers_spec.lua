-- Each provider against the emulator's platform side: ECS metadata (IMDSv2 and v1), STS AssumeRole (chained) and
-- AssumeRoleWithOIDC, a credentials URI; what they send, what a client signs with, how they fail.

local oss = require "oss"
local credentials = require "oss.credentials"
local support = require "spec.support.emulator"
local rules = dofile("examples/reference_rules.lua")

local KEY_ID, SECRET = "LTAI5tRootKey0001", "RootSecret0001"
local ROLE_ARN = "acs:ram::1234567890123456:role/inventory-writer"
local PROVIDER_ARN = "acs:ram::1234567890123456:oidc-provider/ack-rrsa"

local function env(values)
  return function(name) return values[name] end
end

local function header(request, wanted)
  for _, pair in ipairs(request.headers) do
    if pair[1] == wanted then return pair[2] end
  end
  return nil
end

local function write(path, text)
  local file = assert(io.open(path, "wb"))
  file:write(text)
  file:close()
end

describe("credential providers against the emulator's platform", function()
  local emulator, token_file

  setup(function()
    token_file = os.tmpname()
    write(token_file, "eyJhbGciOiJSUzI1NiJ9.first-token.sig")
    emulator = support.start {
      buckets = { "examplebucket", "destbucket" }, keys = { KEY_ID .. ":" .. SECRET },
      ecs_role = "EcsInventoryRole", oidc_provider_arn = PROVIDER_ARN, oidc_token_file = token_file,
    }
  end)

  teardown(function()
    if emulator then emulator:stop() end
    os.remove(token_file)
  end)

  before_each(function() emulator:reset() end)

  local function client_with(provider)
    return assert(oss.new {
      region = "cn-hangzhou", endpoint = emulator.endpoint, path_style = true, credentials_provider = provider,
    })
  end

  local function works(provider)
    local client = client_with(provider)
    assert.is_true(client:put_bucket_inventory("examplebucket", rules.full))
    assert.is_true(client:delete_bucket_inventory("examplebucket", rules.full.Id))
  end

  it("ecs_ram_role: takes an IMDSv2 token, discovers the role, and its credentials sign requests", function()
    local provider = assert(credentials.ecs_ram_role { metadata_endpoint = emulator.endpoint, getenv = env {} })
    local value = assert(provider:get())
    assert.are.equal("ecs_ram_role", value.provider)
    assert.is_string(value.security_token)
    assert.is_true(value.expiration > os.time())
    local sent = emulator:requests()
    local lines = {}
    for index, request in ipairs(sent) do lines[index] = request.method .. " " .. request.target end
    assert.are.same({
      "PUT /latest/api/token", "GET /latest/meta-data/ram/security-credentials/",
      "PUT /latest/api/token", "GET /latest/meta-data/ram/security-credentials/EcsInventoryRole",
    }, lines)
    assert.are.equal("21600", header(sent[1], "x-aliyun-ecs-metadata-token-ttl-seconds"))
    assert.is_string(header(sent[2], "x-aliyun-ecs-metadata-token"))
    works(provider)
  end)

  it("ecs_ram_role: a role the instance does not have is an error naming the provider and the step", function()
    local provider = assert(credentials.ecs_ram_role {
      metadata_endpoint = emulator.endpoint:gsub("^http://", ""), role_name = "NoSuchRole", getenv = env {},
    })
    local value, err = provider:get()
    assert.is_nil(value)
    assert.are.equal(404, err.status)
    assert.truthy(tostring(err):find("ecs_ram_role: getting the credentials of role NoSuchRole", 1, true))
  end)

  it("ecs_ram_role: falls back to IMDSv1 when the token is refused, unless ALIBABA_CLOUD_IMDSV1_DISABLED", function()
    emulator:faults { { method = "PUT", path = "/latest/api/token", status = 403, times = 1 } }
    local provider = assert(credentials.ecs_ram_role {
      role_name = "EcsInventoryRole", metadata_endpoint = emulator.endpoint, getenv = env {},
    })
    assert(provider:get())
    local sent = emulator:requests()
    assert.are.same({ "PUT", "GET" }, { sent[1].method, sent[2].method })
    assert.is_nil(header(sent[2], "x-aliyun-ecs-metadata-token"))

    emulator:faults { { method = "PUT", path = "/latest/api/token", status = 403, times = 1 } }
    local strict = assert(credentials.ecs_ram_role {
      role_name = "EcsInventoryRole", metadata_endpoint = emulator.endpoint,
      getenv = env { ALIBABA_CLOUD_IMDSV1_DISABLED = "true" },
    })
    local value, err = strict:get()
    assert.is_nil(value)
    assert.are.equal(403, err.status)
    assert.truthy(tostring(err):find("ecs_ram_role: getting the metadata token", 1, true), tostring(err))
  end)

  it("ecs_ram_role: is refused when ALIBABA_CLOUD_ECS_METADATA_DISABLED is true", function()
    local none, err = credentials.ecs_ram_role { getenv = env { ALIBABA_CLOUD_ECS_METADATA_DISABLED = "true" } }
    assert.is_nil(none)
    assert.truthy(tostring(err):find("ALIBABA_CLOUD_ECS_METADATA_DISABLED", 1, true))
  end)

  it("ram_role_arn: AssumeRole signed with the source's key, and chained over an assumed role", function()
    local source = assert(credentials.static(KEY_ID, SECRET))
    local first = assert(credentials.ram_role_arn {
      source = source, role_arn = ROLE_ARN, role_session_name = "inventory", sts_endpoint = emulator.endpoint,
      external_id = "abc", policy = '{"Version":"1"}',
    })
    local chained = assert(credentials.ram_role_arn {
      source = first, role_arn = ROLE_ARN, role_session_name = "chained", sts_endpoint = emulator.endpoint,
      duration_seconds = 900,
    })
    local value = assert(chained:get())
    assert.are.equal("ram_role_arn/ram_role_arn/static_ak", value.provider)
    local sent = emulator:requests()
    assert.are.equal(2, #sent)
    assert.are.equal("POST", sent[1].method)
    assert.truthy(sent[1].target:find("Action=AssumeRole&", 1, true))
    assert.are.equal("application/x-www-form-urlencoded", header(sent[1], "content-type"))
    assert.are.equal("static_ak", header(sent[1], "x-acs-credentials-provider"))
    assert.truthy(sent[1].body:find("ExternalId=abc", 1, true))
    -- The second call is signed by the first's credentials, with their token.
    assert.truthy(sent[2].target:find("SecurityToken=", 1, true))
    assert.truthy(sent[2].body:find("DurationSeconds=900", 1, true))
    works(chained)
  end)

  it("ram_role_arn: a refusal names the provider and the step, and repeats no secret or token", function()
    local source = assert(credentials.static(KEY_ID, "wrong-secret", "a-token-that-must-not-leak"))
    local provider = assert(credentials.ram_role_arn {
      source = source, role_arn = ROLE_ARN, sts_endpoint = emulator.endpoint,
    })
    local value, err = provider:get()
    assert.is_nil(value)
    assert.are.equal("service", err.kind)
    local text = tostring(err)
    assert.truthy(text:find("ram_role_arn/static_sts: AssumeRole", 1, true), text)
    assert.falsy(text:find("wrong-secret", 1, true))
    assert.falsy(text:find("a-token-that-must-not-leak", 1, true))
    assert.falsy(tostring(provider):find("wrong-secret", 1, true))
  end)

  it("ram_role_arn: STS's SignatureDoesNotMatch quotes the string to sign; the token is cut out of it", function()
    local _, body = support.http("GET", emulator.endpoint .. "/-/platform/credentials")
    local issued = require("cjson").decode(body)
    local source = assert(credentials.static(issued.AccessKeyId, "not-the-secret", issued.SecurityToken))
    local provider = assert(credentials.ram_role_arn {
      source = source, role_arn = ROLE_ARN, role_session_name = "s1", sts_endpoint = emulator.endpoint,
    })
    local value, err = provider:get()
    assert.is_nil(value)
    assert.are.equal("SignatureDoesNotMatch", err.code)
    local text = tostring(err)
    assert.truthy(text:find("server string to sign is:", 1, true), text)
    assert.truthy(text:find("[redacted]", 1, true), text)
    local encoded = require("oss.core").uri_encode
    for _, secret in ipairs { issued.SecurityToken, encoded(issued.SecurityToken),
      encoded(encoded(issued.SecurityToken)), "not-the-secret" } do
      assert.falsy(text:find(secret, 1, true))
    end
  end)

  it("oidc_role_arn: AssumeRoleWithOIDC unsigned, reading the token file again at every refresh", function()
    local now = os.time()
    local provider = assert(credentials.oidc_role_arn {
      clock = function() return now end, sts_endpoint = emulator.endpoint, duration_seconds = 900,
      getenv = env {
        ALIBABA_CLOUD_ROLE_ARN = ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN = PROVIDER_ARN,
        ALIBABA_CLOUD_OIDC_TOKEN_FILE = token_file, ALIBABA_CLOUD_ROLE_SESSION_NAME = "pod-1",
      },
    })
    local first = assert(provider:get())
    assert.are.equal("oidc_role_arn", first.provider)
    works(provider)
    write(token_file, "eyJhbGciOiJSUzI1NiJ9.rotated-token.sig")
    -- Well past half of the 900 seconds: the emulator's clock runs on while this one stands still.
    now = now + 600
    emulator:set_clock_offset(600)
    local second = assert(provider:get())
    assert.are_not.equal(first.access_key_id, second.access_key_id)
    local sent = emulator:requests()
    local oidc = {}
    for _, request in ipairs(sent) do
      if request.target:find("AssumeRoleWithOIDC", 1, true) then oidc[#oidc + 1] = request end
    end
    assert.are.equal(2, #oidc)
    assert.truthy(oidc[2].body:find("rotated-token", 1, true))
    assert.falsy(oidc[1].target:find("Signature=", 1, true))
    emulator:set_clock_offset(0)
    -- A token the service refuses: the error says where, without the token.
    local stale_file = os.tmpname()
    write(stale_file, "eyJ.stale-token.sig")
    local stale = assert(credentials.oidc_role_arn {
      role_arn = ROLE_ARN, oidc_provider_arn = PROVIDER_ARN, oidc_token_file = stale_file,
      sts_endpoint = emulator.endpoint, getenv = env {},
    })
    local value, err = stale:get()
    os.remove(stale_file)
    assert.is_nil(value)
    assert.are.equal(401, err.status)
    assert.truthy(tostring(err):find("oidc_role_arn: AssumeRoleWithOIDC", 1, true))
    assert.falsy(tostring(err):find("stale-token", 1, true))
  end)

  it("uri: the credentials document a URL serves", function()
    local provider = assert(credentials.uri {
      getenv = env { ALIBABA_CLOUD_CREDENTIALS_URI = emulator.endpoint .. "/-/platform/credentials" },
    })
    local value = assert(provider:get())
    assert.are.equal("credential_uri", value.provider)
    works(provider)
    local refused = assert(credentials.uri { credentials_uri = emulator.endpoint .. "/-/platform/nothing" })
    local _, err = refused:get()
    assert.truthy(tostring(err):find("credential_uri: GET " .. emulator.endpoint .. "/-/platform/nothing", 1, true))
  end)
end)
