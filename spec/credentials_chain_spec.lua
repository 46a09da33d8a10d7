-- The default chain: its order, what it says when nothing applies, the profile files, and oss.new using it.

local oss = require "oss"
local credentials = require "oss.credentials"
local support = require "spec.support.emulator"

local KEY_ID, SECRET = "LTAI5tRootKey0001", "RootSecret0001"

local function write(path, text)
  local file = assert(io.open(path, "wb"))
  file:write(text)
  file:close()
end

local home
local function env(values)
  return function(name)
    if name == "HOME" then return home end
    return values[name]
  end
end

before_each(function()
  home = os.tmpname()
  os.remove(home)
  assert(os.execute("mkdir -p '" .. home .. "/.aliyun' '" .. home .. "/.alibabacloud'"))
end)

after_each(function()
  os.execute("rm -rf '" .. home .. "'")
end)

describe("the default chain", function()
  it("with only ALIBABA_CLOUD_ACCESS_KEY_ID and _SECRET set, oss.new signs with them", function()
    local client = assert(oss.new {
      region = "cn-hangzhou",
      getenv = env { ALIBABA_CLOUD_ACCESS_KEY_ID = "AKalibaba", ALIBABA_CLOUD_ACCESS_KEY_SECRET = "SKalibaba" },
    })
    local request = assert(client:get_bucket_inventory("examplebucket", "report1", { dry_run = true }))
    assert.truthy(request.headers.Authorization:find("Credential=AKalibaba/", 1, true))
  end)

  it("prefers OSS_* to ALIBABA_CLOUD_*, and the environment to every file", function()
    write(home .. "/.alibabacloud/credentials", "[default]\ntype = access_key\naccess_key_id = AKfile\n"
      .. "access_key_secret = SKfile\n")
    local provider = assert(credentials.default { getenv = env {
      OSS_ACCESS_KEY_ID = "AKoss", OSS_ACCESS_KEY_SECRET = "SKoss",
      ALIBABA_CLOUD_ACCESS_KEY_ID = "AKalibaba", ALIBABA_CLOUD_ACCESS_KEY_SECRET = "SKalibaba",
    } })
    local value = assert(provider:get())
    assert.are.same({ "AKoss", "default/env" }, { value.access_key_id, value.provider })
  end)

  it("when nothing applies, one validation error lists every link in order and why", function()
    local none, err = credentials.default { getenv = env { ALIBABA_CLOUD_ECS_METADATA_DISABLED = "true" } }
    assert.is_nil(none)
    assert.are.same({ "validation", "credentials" }, { err.kind, err.path })
    local text = tostring(err)
    local last = 0
    for _, name in ipairs { "env:", "oidc_role_arn:", "cli_profile:", "profile:", "ecs_ram_role: disabled",
      "credential_uri:" } do
      local at = text:find(name, last + 1, true)
      assert.truthy(at, name .. " in " .. text)
      last = at
    end
  end)

  it("moves past the instance role where no metadata service answers", function()
    local provider = assert(credentials.default { metadata_endpoint = "127.0.0.1:1", getenv = env {} })
    local value, err = provider:get()
    assert.is_nil(value)
    assert.truthy(tostring(err):find("ecs_ram_role: no metadata service answered", 1, true), tostring(err))
    assert.truthy(tostring(err):find("credential_uri: ALIBABA_CLOUD_CREDENTIALS_URI is not set", 1, true))
  end)

  it("does not move past the instance role when ALIBABA_CLOUD_ECS_METADATA names one", function()
    local provider = assert(credentials.default { metadata_endpoint = "127.0.0.1:1",
      getenv = env { ALIBABA_CLOUD_ECS_METADATA = "SomeRole" } })
    local value, err = provider:get()
    assert.is_nil(value)
    assert.are.equal("network", err.kind)
    assert.truthy(tostring(err):find("ecs_ram_role: getting the credentials of role SomeRole", 1, true))
  end)

  it("reads the CLI's config.json: the current profile, or ALIBABA_CLOUD_PROFILE", function()
    write(home .. "/.aliyun/config.json", [[{
      "current": "work",
      "profiles": [
        { "name": "work", "mode": "AK", "access_key_id": "AKwork", "access_key_secret": "SKwork" },
        { "name": "temp", "mode": "StsToken", "access_key_id": "AKtemp", "access_key_secret": "SKtemp",
          "sts_token": "STtemp" },
        { "name": "odd", "mode": "CloudSSO" }
      ] }]])
    local value = assert(assert(credentials.default { getenv = env {} }):get())
    assert.are.same({ "AKwork", "default/cli_profile/static_ak" }, { value.access_key_id, value.provider })
    value = assert(assert(credentials.cli_profile { getenv = env { ALIBABA_CLOUD_PROFILE = "temp" } }):get())
    assert.are.same({ "AKtemp", "STtemp" }, { value.access_key_id, value.security_token })
    local none, err = credentials.cli_profile { getenv = env { ALIBABA_CLOUD_PROFILE = "odd" } }
    assert.is_nil(none)
    assert.truthy(tostring(err):find("mode CloudSSO is not supported", 1, true))
  end)

  it("reads the INI credentials file, ALIBABA_CLOUD_CREDENTIALS_FILE first, and names a bad line", function()
    local path = home .. "/elsewhere.ini"
    write(path, "; shared credentials\n[default]\ntype = access_key\naccess_key_id = AKini\n"
      .. "access_key_secret = SKini\n")
    local value = assert(assert(credentials.default { getenv = env { ALIBABA_CLOUD_CREDENTIALS_FILE = path } }):get())
    assert.are.same({ "AKini", "default/profile/static_ak" }, { value.access_key_id, value.provider })
    write(path, "[default]\ntype = access_key\nthis line has no equals sign\n")
    local none, err = credentials.default { getenv = env { ALIBABA_CLOUD_CREDENTIALS_FILE = path } }
    assert.is_nil(none)
    assert.truthy(tostring(err):find(path .. ":3: expected key = value", 1, true), tostring(err))
  end)
end)

describe("the default chain against the emulator", function()
  local emulator

  setup(function()
    emulator = support.start { keys = { KEY_ID .. ":" .. SECRET }, ecs_role = "EcsInventoryRole" }
  end)

  teardown(function()
    if emulator then emulator:stop() end
  end)

  it("builds a profile's role chain: ChainableRamRoleArn over RamRoleArn", function()
    write(home .. "/.aliyun/config.json", ([[{
      "current": "chained",
      "profiles": [
        { "name": "base", "mode": "RamRoleArn", "access_key_id": "%s", "access_key_secret": "%s",
          "ram_role_arn": "acs:ram::1234567890123456:role/base", "ram_session_name": "base", "expired_seconds": 0 },
        { "name": "chained", "mode": "ChainableRamRoleArn", "source_profile": "base",
          "ram_role_arn": "acs:ram::1234567890123456:role/next", "ram_session_name": "next" }
      ] }]]):format(KEY_ID, SECRET))
    local provider = assert(credentials.default { getenv = env {}, sts_endpoint = emulator.endpoint })
    local value = assert(provider:get())
    assert.are.equal("default/cli_profile/ram_role_arn/ram_role_arn/static_ak", value.provider)
  end)

  it("builds the INI file's ecs_ram_role and the config.json's EcsRamRole", function()
    write(home .. "/.alibabacloud/credentials", "[default]\ntype = ecs_ram_role\nrole_name = EcsInventoryRole\n")
    local value = assert(assert(credentials.profile { getenv = env {}, metadata_endpoint = emulator.endpoint }):get())
    assert.are.equal("profile/ecs_ram_role", value.provider)
    write(home .. "/.aliyun/config.json", [[{ "current": "instance", "profiles": [
      { "name": "instance", "mode": "EcsRamRole", "ram_role_name": "EcsInventoryRole" } ] }]])
    value = assert(assert(credentials.cli_profile { getenv = env {}, metadata_endpoint = emulator.endpoint }):get())
    assert.are.equal("cli_profile/ecs_ram_role", value.provider)
  end)

  it("reaches the instance role when nothing before it applies, and keeps using it", function()
    emulator:reset()
    local provider = assert(credentials.default { getenv = env {}, metadata_endpoint = emulator.endpoint })
    local value = assert(provider:get())
    assert.are.equal("default/ecs_ram_role", value.provider)
    assert.are.equal(value, provider:get())
    assert.are.equal(4, #emulator:requests())
  end)
end)
