-- lua-oss's providers send the platform what the pinned official Node library (@alicloud/credentials) sends:
-- both are run against one emulator, and their platform requests, reduced to what must agree
-- (spec/support/platform_requests.lua), are compared provider by provider.

local credentials = require "oss.credentials"
local platform_requests = require "spec.support.platform_requests"
local support = require "spec.support.emulator"

local ROLE = "InteropEcsRole"
local ROLE_ARN = "acs:ram::1000000000000000:role/InteropWriter"
local OIDC_PROVIDER = "acs:ram::1000000000000000:oidc-provider/interop-cluster"
local OIDC_TOKEN = "eyJhbGciOiJSUzI1NiJ9.interop.token"
local KEY = { id = "interop-platform-ak", secret = "interop-platform-secret" }
local SESSION = "interop-session"

describe("the platform requests of lua-oss's providers and of @alicloud/credentials "
    .. platform_requests.VERSION, function()
  local emu, directory, token_file, plain

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
      keys = { KEY }, tls = platform_requests.tls_files(directory), ecs_role = ROLE, imdsv2_only = true,
      oidc_provider_arn = OIDC_PROVIDER, oidc_token_file = token_file,
    }
    -- The library reaches STS over https only; the same port answers plain HTTP, which lua-oss is pointed at.
    plain = "http://127.0.0.1:" .. emu.port
  end)

  teardown(function()
    if emu then emu:stop() end
    if directory then os.execute("rm -rf " .. support.shell_quote(directory)) end
  end)

  before_each(function() emu:reset() end)

  local function none() return nil end

  -- The Node library's requests for `provider` with `settings`, then lua-oss's for the provider `make` builds.
  local function both(provider, settings, make)
    local results, node_sent = platform_requests.node(emu, provider, settings)
    assert.is_true(results[1].ok, results[1].message)
    emu:admin("DELETE", "requests")
    local made = assert(make())
    assert(made:get())
    return node_sent, platform_requests.shape(emu:requests())
  end

  it("ecs_ram_role: token, role name, token, credentials", function()
    local node_sent, sent = both("ecs_ram_role", {}, function()
      return credentials.ecs_ram_role { metadata_endpoint = plain, getenv = none }
    end)
    assert.are.equal(4, #sent)
    assert.are.same(node_sent, sent)
  end)

  it("ecs_ram_role with the role given and IMDSv1 disabled", function()
    local node_sent, sent = both("ecs_ram_role", { role_name = ROLE, disable_imdsv1 = true }, function()
      return credentials.ecs_ram_role { metadata_endpoint = plain, role_name = ROLE, disable_imdsv1 = true,
        getenv = none }
    end)
    assert.are.same(node_sent, sent)
  end)

  it("oidc_role_arn: AssumeRoleWithOIDC", function()
    local node_sent, sent = both("oidc_role_arn", {
      role_arn = ROLE_ARN, oidc_provider_arn = OIDC_PROVIDER, oidc_token_file = token_file, session_name = SESSION,
    }, function()
      return credentials.oidc_role_arn { role_arn = ROLE_ARN, oidc_provider_arn = OIDC_PROVIDER,
        oidc_token_file = token_file, role_session_name = SESSION, sts_endpoint = plain, getenv = none }
    end)
    assert.are.equal(1, #sent)
    assert.are.same(node_sent, sent)
  end)

  it("ram_role_arn: AssumeRole signed with a fixed key", function()
    local node_sent, sent = both("ram_role_arn", {
      role_arn = ROLE_ARN, access_key = KEY, session_name = SESSION, duration = 900,
    }, function()
      return credentials.ram_role_arn { source = assert(credentials.static(KEY.id, KEY.secret)), role_arn = ROLE_ARN,
        role_session_name = SESSION, duration_seconds = 900, sts_endpoint = plain, getenv = none }
    end)
    assert.are.equal(1, #sent)
    assert.are.same(node_sent, sent)
  end)

  it("ram_role_arn: AssumeRole chained from issued credentials, with their SecurityToken", function()
    local _, body = support.http("GET", plain .. "/-/platform/credentials")
    local issued = require("cjson").decode(body)
    local key = { id = issued.AccessKeyId, secret = issued.AccessKeySecret, token = issued.SecurityToken }
    local node_sent, sent = both("ram_role_arn", { role_arn = ROLE_ARN, access_key = key, session_name = SESSION },
      function()
        return credentials.ram_role_arn { source = assert(credentials.static(key.id, key.secret, key.token)),
          role_arn = ROLE_ARN, role_session_name = SESSION, sts_endpoint = plain, getenv = none }
      end)
    assert.are.same(node_sent, sent)
  end)

  it("credential_uri: one GET", function()
    local node_sent, sent = both("credentials_uri", {}, function()
      return credentials.uri { credentials_uri = plain .. "/-/platform/credentials", getenv = none }
    end)
    assert.are.same(node_sent, sent)
  end)
end)
