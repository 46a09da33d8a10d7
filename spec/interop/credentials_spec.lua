-- The emulator's platform against the official Node credentials library (@alicloud/credentials, pinned): for each
-- provider the library arrives at credentials the emulator issued, which its OSS side accepts, and what the
-- library sent is recorded (spec/support/platform_requests.lua) for comparison with lua-oss's providers.
local cjson = require "cjson"
local oss_request = require "spec.support.oss_request"
local platform_requests = require "spec.support.platform_requests"
local support = require "spec.support.emulator"

local ROLE = "InteropEcsRole"
local ROLE_ARN = "acs:ram::1000000000000000:role/InteropWriter"
local OIDC_PROVIDER = "acs:ram::1000000000000000:oidc-provider/interop-cluster"
local OIDC_TOKEN = "eyJhbGciOiJSUzI1NiJ9.interop.token"
local KEY = { id = "interop-platform-ak", secret = "interop-platform-secret" }
local BUCKET = "interop-platform"
-- Below the library's 15 minutes of staleness, so every getCredential call refreshes.
local LIFETIME = 600

describe("@alicloud/credentials " .. platform_requests.VERSION .. " against the emulator's platform", function()
  local emu, directory, token_file

  setup(function()
    assert(os.execute("node --version >/dev/null 2>&1"), "node is not installed")
    directory = os.tmpname()
    os.remove(directory)
    assert(os.execute("mkdir -p " .. support.shell_quote(directory)))
    token_file = directory .. "/oidc-token"
    local file = assert(io.open(token_file, "wb"))
    file:write(OIDC_TOKEN)
    file:close()
    emu = support.start {
      buckets = { BUCKET }, keys = { KEY }, tls = platform_requests.tls_files(directory),
      ecs_role = ROLE, imdsv2_only = true, credentials_lifetime = LIFETIME,
      oidc_provider_arn = OIDC_PROVIDER, oidc_token_file = token_file,
    }
  end)

  teardown(function()
    if emu then emu:stop() end
    if directory then os.execute("rm -rf " .. support.shell_quote(directory)) end
  end)

  before_each(function()
    emu:reset()
  end)

  local settings = {
    role_arn = ROLE_ARN, oidc_provider_arn = OIDC_PROVIDER, access_key = KEY, session_name = "interop-session",
  }

  local function with(overrides)
    local value = { oidc_token_file = token_file }
    for name, field in pairs(settings) do value[name] = field end
    for name, field in pairs(overrides) do value[name] = field end
    return value
  end

  local function document_of(result)
    assert(result.ok, "the library failed: " .. tostring(result.message))
    return {
      AccessKeyId = result.accessKeyId, AccessKeySecret = result.accessKeySecret,
      SecurityToken = result.securityToken,
    }
  end

  -- The credential is one the emulator issued: its OSS side knows the key, the secret signs and the token fits.
  local function assert_issued(result)
    local credential = document_of(result)
    assert.is_truthy(credential.AccessKeyId:match("^STS%."))
    local status, document = oss_request.list_inventory(emu, BUCKET, credential)
    assert.are.same({ 404, "NoSuchInventory" }, { status, document.Code })
    return credential
  end

  -- The port answers plain HTTP beside TLS; LuaSocket speaks only the former.
  local function plain(path)
    return "http://127.0.0.1:" .. emu.port .. path
  end

  local function metadata(path, token)
    local status, body = support.http("GET", plain(path), nil, { ["x-aliyun-ecs-metadata-token"] = token })
    assert.are.equal(200, status)
    return body
  end

  it("ECS RAM role (IMDSv2): asks for a token, the role name and the role's credentials", function()
    local results, sent = platform_requests.node(emu, "ecs_ram_role", with {})
    local credential = assert_issued(results[1])
    assert.are.equal("ecs_ram_role", results[1].providerName)
    -- The instance serves the same credentials until half their lifetime, so asking again shows what it issued.
    local _, token = support.http("PUT", plain("/latest/api/token"), nil,
      { ["x-aliyun-ecs-metadata-token-ttl-seconds"] = "60" })
    local served = cjson.decode(metadata("/latest/meta-data/ram/security-credentials/" .. ROLE, token))
    assert.are.same({ served.AccessKeyId, served.AccessKeySecret, served.SecurityToken },
      { credential.AccessKeyId, credential.AccessKeySecret, credential.SecurityToken })
    local token_request = {
      platform = "metadata", method = "PUT", path = "/latest/api/token", query = {}, form = {},
      headers = { ["x-aliyun-ecs-metadata-token-ttl-seconds"] = "21600" },
    }
    local function read(path)
      return { platform = "metadata", method = "GET", path = path, query = {}, form = {},
        headers = { ["x-aliyun-ecs-metadata-token"] = "<metadata token>" } }
    end
    assert.are.same({
      token_request, read("/latest/meta-data/ram/security-credentials/"),
      token_request, read("/latest/meta-data/ram/security-credentials/" .. ROLE),
    }, sent)
  end)

  it("ECS RAM role with its name given and IMDSv1 disabled: a token, then the credentials", function()
    local results, sent = platform_requests.node(emu, "ecs_ram_role", with { role_name = ROLE, disable_imdsv1 = true })
    assert_issued(results[1])
    assert.are.same({ "PUT /latest/api/token", "GET /latest/meta-data/ram/security-credentials/" .. ROLE },
      { sent[1].method .. " " .. sent[1].path, sent[2].method .. " " .. sent[2].path })
    assert.are.equal(2, #sent)
  end)

  it("ECS RAM role with IMDSv1 disabled gives up when the token is refused", function()
    emu:faults { path = "/latest/api/token", status = 403 }
    local results = platform_requests.node(emu, "ecs_ram_role", with { role_name = ROLE, disable_imdsv1 = true })
    assert.is_false(results[1].ok)
    assert.is_truthy(results[1].message:find("403", 1, true), results[1].message)
  end)

  it("OIDC role ARN: posts the token file's content, unsigned", function()
    local results, sent = platform_requests.node(emu, "oidc_role_arn", with {})
    assert_issued(results[1])
    assert.are.equal("oidc_role_arn", results[1].providerName)
    assert.are.same({ {
      platform = "sts", method = "POST", path = "/",
      query = { Action = "AssumeRoleWithOIDC", Version = "2015-04-01", Format = "JSON",
        Timestamp = "<YYYY-MM-DDThh:mm:ssZ>" },
      form = { OIDCProviderArn = OIDC_PROVIDER, OIDCToken = OIDC_TOKEN, RoleArn = ROLE_ARN,
        RoleSessionName = "interop-session", DurationSeconds = "3600" },
      headers = { ["content-type"] = "application/x-www-form-urlencoded" },
    } }, sent)
  end)

  it("OIDC role ARN fails on a token the emulator's file does not hold", function()
    local forged = directory .. "/forged-token"
    local file = assert(io.open(forged, "wb"))
    file:write("eyJhbGciOiJSUzI1NiJ9.forged.token")
    file:close()
    local results = platform_requests.node(emu, "oidc_role_arn", with { oidc_token_file = forged })
    assert.is_false(results[1].ok)
    assert.is_truthy(results[1].message:find("AuthenticationFail.OIDCToken.Invalid", 1, true), results[1].message)
  end)

  it("RAM role ARN: AssumeRole signed with the key, the query common, the role in the form", function()
    local results, sent = platform_requests.node(emu, "ram_role_arn", with { duration = 900 })
    assert_issued(results[1])
    assert.are.equal("ram_role_arn/static_ak", results[1].providerName)
    assert.are.same({ {
      platform = "sts", method = "POST", path = "/",
      query = { Action = "AssumeRole", Version = "2015-04-01", Format = "JSON",
        Timestamp = "<YYYY-MM-DDThh:mm:ssZ>", SignatureMethod = "HMAC-SHA1", SignatureVersion = "1.0",
        SignatureNonce = "<nonce>", AccessKeyId = KEY.id, Signature = "<base64>" },
      form = { RoleArn = ROLE_ARN, RoleSessionName = "interop-session", DurationSeconds = "900" },
      headers = { ["content-type"] = "application/x-www-form-urlencoded", ["x-acs-credentials-provider"] = "static_ak" },
    } }, sent)
  end)

  it("RAM role ARN reads a wrong secret from the emulator's SignatureDoesNotMatch, as from the service's", function()
    local results = platform_requests.node(emu, "ram_role_arn",
      with { access_key = { id = KEY.id, secret = "not-the-secret" } })
    assert.is_false(results[1].ok)
    -- The library says this only when the server's string to sign equals its own.
    assert.are.equal("the access key secret is invalid", results[1].message)
  end)

  it("RAM role ARN chains from credentials the emulator issued, with their SecurityToken", function()
    local _, body = support.http("GET", plain("/-/platform/credentials"))
    local issued = cjson.decode(body)
    local results, sent = platform_requests.node(emu, "ram_role_arn", with {
      access_key = { id = issued.AccessKeyId, secret = issued.AccessKeySecret, token = issued.SecurityToken },
    })
    local credential = assert_issued(results[1])
    assert.are_not.equal(issued.AccessKeyId, credential.AccessKeyId)
    assert.are.equal("ram_role_arn/static_sts", results[1].providerName)
    local sts_request = sent[#sent]
    assert.are.same({ "<issued STS key>", "<security token>" },
      { sts_request.query.AccessKeyId, sts_request.query.SecurityToken })
    assert.are.equal("static_sts", sts_request.headers["x-acs-credentials-provider"])
  end)

  it("RAM role ARN refreshes credentials shorter-lived than its staleness window on every call", function()
    local results, sent = platform_requests.node(emu, "ram_role_arn", with {}, 2)
    local first, second = assert_issued(results[1]), assert_issued(results[2])
    assert.are_not.equal(first.AccessKeyId, second.AccessKeyId)
    assert.are.equal(2, #sent)
  end)

  it("credentials URI: one GET, and the credentials the URI serves", function()
    local results, sent = platform_requests.node(emu, "credentials_uri", with {})
    local credential = assert_issued(results[1])
    assert.are.equal("credential_uri", results[1].providerName)
    local _, body = support.http("GET", plain("/-/platform/credentials"))
    local served = cjson.decode(body)
    assert.are.same({ served.AccessKeyId, served.AccessKeySecret, served.SecurityToken },
      { credential.AccessKeyId, credential.AccessKeySecret, credential.SecurityToken })
    assert.are.same({ {
      platform = "credentials_uri", method = "GET", path = "/-/platform/credentials", query = {}, form = {},
      headers = {},
    } }, sent)
  end)
end)
