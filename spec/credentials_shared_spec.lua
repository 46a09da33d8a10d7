-- Providers built from the same settings are one provider per process: clients made one after another (a client
-- per request) share the credentials and the fetches; other settings, another provider; the registry is bounded.

local oss = require "oss"
local credentials = require "oss.credentials"
local shared = require "oss.credentials.shared"
local support = require "spec.support.emulator"

local ROLE = "EcsInventoryRole"
local CREDENTIALS_PATH = "/latest/meta-data/ram/security-credentials/" .. ROLE
local KEY_ID, SECRET = "LTAI5tSharedKey01", "SharedSecretValue01"
local ROLE_ARN = "acs:ram::1234567890123456:role/inventory-writer"

local function no_environment() return nil end

before_each(credentials.forget)

describe("providers shared by their settings", function()
  local emulator

  setup(function()
    emulator = support.start { buckets = { "examplebucket" }, ecs_role = ROLE, keys = { KEY_ID .. ":" .. SECRET } }
  end)

  teardown(function()
    if emulator then emulator:stop() end
  end)

  before_each(function() emulator:reset() end)

  local function fetches()
    local count = 0
    for _, request in ipairs(emulator:requests()) do
      if request.target == CREDENTIALS_PATH then count = count + 1 end
    end
    return count
  end

  it("gives clients built one after another with the default chain one fetch between them", function()
    for index = 1, 5 do
      local client = assert(oss.new {
        region = "cn-hangzhou", endpoint = emulator.endpoint, path_style = true,
        metadata_endpoint = emulator.endpoint, getenv = no_environment,
      })
      local _, err = client:get_bucket_inventory("examplebucket", "absent")
      assert.is_true(oss.errors.is_missing_rule(err), "client " .. index .. ": " .. tostring(err))
    end
    assert.are.equal(1, fetches())
  end)

  it("answers the same provider for the same settings, and another for any setting that differs", function()
    local function role(options)
      options.metadata_endpoint, options.getenv = emulator.endpoint, no_environment
      return assert(credentials.ecs_ram_role(options))
    end
    local first = role { role_name = ROLE }
    assert.are.equal(first, role { role_name = ROLE })
    assert.are_not.equal(first, role { role_name = "OtherRole" })
    assert.are_not.equal(first, role { role_name = ROLE, timeout = 5 })
    assert.are_not.equal(first, role { role_name = ROLE, clock = os.time })
    -- The environment counts by the values it holds, not by the function that reads them.
    assert.are.equal(first, assert(credentials.ecs_ram_role {
      metadata_endpoint = emulator.endpoint, getenv = function(name)
        return ({ ALIBABA_CLOUD_ECS_METADATA = ROLE })[name]
      end,
    }))

    local chain = assert(credentials.default { metadata_endpoint = emulator.endpoint, getenv = no_environment })
    assert.are.equal(chain, assert(credentials.default { metadata_endpoint = emulator.endpoint,
      getenv = no_environment }))
    assert.are_not.equal(chain, assert(credentials.default { metadata_endpoint = "127.0.0.1:1",
      getenv = no_environment }))
  end)

  it("keys a role assumed with a key by that key, and a key by its secret too", function()
    local key = assert(credentials.static(KEY_ID, SECRET))
    assert.are.equal(key, assert(credentials.static(KEY_ID, SECRET)))
    assert.are_not.equal(key, assert(credentials.static(KEY_ID, "another-secret")))
    assert.are_not.equal(key, assert(credentials.static(KEY_ID, SECRET, "a-token")))

    local function assumed(source)
      return assert(credentials.ram_role_arn {
        source = source, role_arn = ROLE_ARN, role_session_name = "shared", sts_endpoint = emulator.endpoint,
        getenv = no_environment,
      })
    end
    local role = assumed(key)
    assert.are.equal(role, assumed(assert(credentials.static(KEY_ID, SECRET))))
    assert.are_not.equal(role, assumed(assert(credentials.static(KEY_ID, "another-secret"))))
    assert(role:get())
    assert(assumed(credentials.static(KEY_ID, SECRET)):get())
    local calls = 0
    for _, request in ipairs(emulator:requests()) do
      if request.platform == "sts" then calls = calls + 1 end
    end
    assert.are.equal(1, calls)

    -- What a key stands for in another's key is a digest, never the secret.
    local key_text = shared.key_of(key)
    assert.is_nil(key_text:find(SECRET, 1, true))
    assert.is_nil(shared.key_of(role):find(SECRET, 1, true))
  end)

  it("shares a fetch function handed to oss.new as its provider", function()
    local calls = 0
    local function fetch()
      calls = calls + 1
      return KEY_ID, SECRET, nil, os.time() + 3600
    end
    for _ = 1, 3 do
      local client = assert(oss.new { region = "cn-hangzhou", endpoint = emulator.endpoint, path_style = true,
        credentials_provider = fetch })
      local _, err = client:get_bucket_inventory("examplebucket", "absent")
      assert.is_true(oss.errors.is_missing_rule(err), tostring(err))
    end
    assert.are.equal(1, calls)
  end)

  it("keeps at most LIMIT providers, forgetting the one asked for least recently", function()
    local function role(index)
      return assert(credentials.ecs_ram_role { role_name = "Role" .. index, metadata_endpoint = emulator.endpoint,
        getenv = no_environment })
    end
    local kept = {}
    for index = 1, shared.LIMIT do kept[index] = role(index) end
    assert.are.equal(kept[1], role(1)) -- now the most recent; Role2 is the least recent
    role(shared.LIMIT + 1)
    assert.are.equal(kept[1], role(1))
    assert.are_not.equal(kept[2], role(2))
    assert.are.equal(kept[shared.LIMIT], role(shared.LIMIT))
  end)

  it("builds anew after forget()", function()
    local before = assert(credentials.static(KEY_ID, SECRET))
    credentials.forget()
    assert.are_not.equal(before, assert(credentials.static(KEY_ID, SECRET)))
  end)

  it("lets a client say which provider supplied its credentials, without the secret or the token", function()
    local client = assert(oss.new { region = "cn-hangzhou", endpoint = emulator.endpoint,
      metadata_endpoint = emulator.endpoint, getenv = no_environment })
    local source, key_id, expiration = client:credentials_source()
    assert.are.equal("default/ecs_ram_role", source)
    assert.truthy(key_id:find("^STS%."), key_id)
    assert.is_true(expiration > os.time())

    local fixed = assert(oss.new { region = "cn-hangzhou", access_key_id = KEY_ID, access_key_secret = SECRET })
    assert.are.same({ "static_ak", KEY_ID }, { fixed:credentials_source() })

    local none = assert(oss.new { region = "cn-hangzhou", metadata_endpoint = "127.0.0.1:1",
      getenv = no_environment })
    local nothing, err = none:credentials_source()
    assert.is_nil(nothing)
    assert.are.equal("credentials", err.path)
  end)
end)
