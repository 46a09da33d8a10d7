-- Credential providers: static, environment, and a function refreshed before expiry, cached, backing off, failing clearly.

local oss = require "oss"
local credentials = require "oss.credentials"
local support = require "spec.support.emulator"
local rules = dofile("examples/reference_rules.lua")

local NOW = 1702743657

local function fields(value)
  return { value.access_key_id, value.access_key_secret, value.security_token, value.provider }
end

describe("credential providers", function()
  it("static: the given key, checked once", function()
    local provider = assert(credentials.static("id", "secret", "token"))
    assert.are.same({ "id", "secret", "token", "static_sts" }, fields(provider:get()))
    local none, err = credentials.static("id", nil)
    assert.is_nil(none)
    assert.are.same({ "validation", "access_key_secret" }, { err.kind, err.path })
  end)

  it("environment: OSS_ACCESS_KEY_ID, OSS_ACCESS_KEY_SECRET, OSS_SESSION_TOKEN", function()
    local env = { OSS_ACCESS_KEY_ID = "id", OSS_ACCESS_KEY_SECRET = "secret", OSS_SESSION_TOKEN = "" }
    local provider = assert(credentials.environment(function(name) return env[name] end))
    assert.are.same({ "id", "secret", nil, "env" }, fields(provider:get()))
    local _, err = credentials.environment(function() return nil end)
    assert.are.equal("access_key_id", err.path)
    assert.truthy(tostring(err):find("OSS_ACCESS_KEY_ID", 1, true))
  end)

  it("environment: ALIBABA_CLOUD_* when no OSS_* is set, and a half-set pair is an error naming its variables", function()
    local env = { ALIBABA_CLOUD_ACCESS_KEY_ID = "id", ALIBABA_CLOUD_ACCESS_KEY_SECRET = "secret",
      ALIBABA_CLOUD_SECURITY_TOKEN = "token" }
    local provider = assert(credentials.environment(function(name) return env[name] end))
    assert.are.same({ "id", "secret", "token", "env" }, fields(provider:get()))
    local _, err = credentials.environment(function(name)
      return name == "ALIBABA_CLOUD_ACCESS_KEY_ID" and "id" or nil
    end)
    assert.are.equal("validation error: access_key_secret: missing (ALIBABA_CLOUD_* variables)", tostring(err))
  end)

  it("chooses the STS endpoint as the official libraries do, and takes host[:port] or a URL", function()
    local sts_endpoint = require "oss.credentials.sts_endpoint"
    local function chosen(options, env)
      return (sts_endpoint(options, function(name) return (env or {})[name] end))
    end
    assert.are.equal("https://sts.aliyuncs.com", chosen {})
    assert.are.equal("https://sts.cn-shanghai.aliyuncs.com", chosen({}, { ALIBABA_CLOUD_STS_REGION = "cn-shanghai" }))
    assert.are.equal("https://sts-vpc.cn-shanghai.aliyuncs.com", chosen({}, {
      ALIBABA_CLOUD_STS_REGION = "cn-shanghai", ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED = "TRUE" }))
    assert.are.equal("https://sts-vpc.cn-beijing.aliyuncs.com", chosen { sts_region = "cn-beijing", enable_vpc = true })
    assert.are.equal("https://127.0.0.1:8443", chosen({ sts_endpoint = "127.0.0.1:8443" },
      { ALIBABA_CLOUD_STS_REGION = "cn-shanghai" }))
    assert.are.equal("http://[::1]:9000", chosen { sts_endpoint = "http://[::1]:9000/" })
    local none, err = sts_endpoint({ sts_endpoint = "http://host/path" }, function() return nil end)
    assert.is_nil(none)
    assert.are.equal("sts_endpoint", err.path)
  end)

  it("refuses CR, LF and NUL in any credential, naming the field", function()
    for _, case in ipairs {
      { "AKq7\r\nX-Injected: 1", "SKq7", nil, "access_key_id" },
      { "AKq7", "SKq7\nmore", nil, "access_key_secret" },
      { "AKq7", "SKq7", "STq7\0more", "security_token" },
    } do
      local provider, err = credentials.static(case[1], case[2], case[3])
      assert.is_nil(provider)
      assert.are.same({ "validation", case[4] }, { err.kind, err.path })
      for index = 1, 3 do
        if case[index] then assert.falsy(tostring(err):find(case[index], 1, true), "the error repeats a value") end
      end
    end
  end)

  describe("a function provider", function()
    local now, calls

    local function clock() return now end

    before_each(function()
      now, calls = NOW, 0
    end)

    local function counting(expires_in)
      return function()
        calls = calls + 1
        return "id-" .. calls, "secret-" .. calls, "token-" .. calls, expires_in and (now + expires_in) or nil
      end
    end

    it("is called once and kept until fifteen minutes before expiry", function()
      local provider = credentials.refreshing(counting(3600), clock)
      assert.are.equal("id-1", provider:get().access_key_id)
      now = NOW + 3600 - 901
      assert.are.equal("id-1", provider:get().access_key_id)
      assert.are.equal("token-1", provider:get().security_token)
      now = NOW + 3600 - 900
      assert.are.equal("id-2", provider:get().access_key_id)
      assert.are.equal(2, calls)
    end)

    it("keeps short-lived credentials for half their lifetime rather than fetching for every request", function()
      local provider = credentials.refreshing(counting(600), clock)
      provider:get()
      now = NOW + 299
      assert.are.equal("id-1", provider:get().access_key_id)
      now = NOW + 300
      assert.are.equal("id-2", provider:get().access_key_id)
    end)

    it("after a failure, fetches again only after a backoff that doubles up to a minute", function()
      local fail = true
      local provider = credentials.refreshing(function()
        calls = calls + 1
        if fail then return nil, "metadata down " .. calls end
        return "id", "secret", nil, now + 3600
      end, clock)
      local attempts = {}
      for second = 0, 200 do
        now = NOW + second
        local _, err = provider:get()
        if err and err.message:find("down " .. calls .. "$") and not attempts[calls] then attempts[calls] = second end
      end
      -- Fetches at 0, then 1, 2, 4, ... 32, 64 seconds after each failure, and every minute after that.
      assert.are.same({ 0, 1, 3, 7, 15, 31, 63, 123, 183 }, attempts)
      fail = false
      now = now + 60
      assert.are.equal("id", provider:get().access_key_id)
    end)

    it("without an expiration, is asked for every request", function()
      local provider = credentials.refreshing(counting(nil), clock)
      provider:get()
      provider:get()
      assert.are.equal(2, calls)
    end)

    it("may return one table", function()
      local provider = credentials.refreshing(function()
        return { access_key_id = "id", access_key_secret = "secret", expiration = NOW + 3600 }
      end, clock)
      assert.are.same({ "id", "secret", nil, "credentials_provider" }, fields(provider:get()))
    end)

    it("gives a clear error when it fails, raises, or returns nonsense", function()
      for _, case in ipairs {
        { function() return nil, "metadata service unreachable" end, "credentials_provider: failed: metadata service unreachable" },
        { function() error("boom", 0) end, "credentials_provider: failed: boom" },
        { function() return nil end, "credentials_provider: failed: returned nothing" },
        { function() return "id" end, "access_key_secret: missing (credentials_provider)" },
        { function() return "id", "secret", nil, "tomorrow" end, "expected unix seconds, got string" },
        { function() return "id", "secret", "tok\r\nen" end, "security_token: contains CR, LF or NUL" },
        { function() return "id", "secret", nil, NOW - 1 end,
          "credentials_provider: brought credentials that expired at 2023-12-16T16:20:56Z" },
      } do
        local value, err = credentials.refreshing(case[1], clock):get()
        assert.is_nil(value)
        assert.are.equal("validation", err.kind)
        assert.truthy(tostring(err):find(case[2], 1, true), tostring(err))
      end
    end)

    it("keeps valid credentials when a refresh fails, and reports the failure once they expire", function()
      local fail = false
      local provider = credentials.refreshing(function()
        if fail then return nil, "down" end
        return "id", "secret", nil, NOW + 600
      end, clock)
      assert.are.equal("id", provider:get().access_key_id)
      fail = true
      now = NOW + 400 -- inside the refresh margin, not yet expired
      assert.are.equal("id", provider:get().access_key_id)
      now = NOW + 600
      local value, err = provider:get()
      assert.is_nil(value)
      assert.truthy(tostring(err):find("down", 1, true))
    end)

    it("serves requests arriving during a refresh from the kept credentials", function()
      -- In OpenResty a provider may yield (an HTTP call); a coroutine stands in for the waiting request.
      local release
      local provider
      provider = credentials.refreshing(function()
        calls = calls + 1
        if calls == 2 then
          coroutine.yield()
          release = true
        end
        return "id-" .. calls, "secret", nil, now + 600
      end, clock)
      assert.are.equal("id-1", provider:get().access_key_id)
      now = NOW + 400
      local refreshing = coroutine.create(function() return provider:get() end)
      assert(coroutine.resume(refreshing)) -- suspended inside the provider
      assert.are.equal("id-1", provider:get().access_key_id)
      assert.are.equal(2, calls)
      local _, value = assert(coroutine.resume(refreshing))
      assert.is_true(release)
      assert.are.equal("id-2", value.access_key_id)
      assert.are.equal("id-2", provider:get().access_key_id)
    end)

    it("outside nginx, refuses a second fetch while one is in flight and nothing is valid", function()
      local provider = credentials.refreshing(function()
        calls = calls + 1
        coroutine.yield()
        return "id", "secret", nil, now + 600
      end, clock)
      local first = coroutine.create(function() return provider:get() end)
      assert(coroutine.resume(first))
      local value, err = provider:get()
      assert.is_nil(value)
      assert.truthy(tostring(err):find("a fetch is already in flight", 1, true))
      assert.are.equal(1, calls)
      local _, fetched = assert(coroutine.resume(first))
      assert.are.equal("id", fetched.access_key_id)
    end)

    it("stops waiting for a fetch that never ends (its coroutine abandoned) after a minute", function()
      local provider = credentials.refreshing(function()
        calls = calls + 1
        if calls == 1 then coroutine.yield() end
        return "id-" .. calls, "secret", nil, now + 600
      end, clock)
      assert(coroutine.resume(coroutine.create(function() return provider:get() end))) -- never resumed again
      now = NOW + 59
      assert.is_nil(provider:get())
      now = NOW + 60
      assert.are.equal("id-2", provider:get().access_key_id)
    end)
  end)
end)

describe("printed credentials and providers", function()
  it("show the key id and the provider's name, never the secret or the token", function()
    local provider = assert(credentials.static("AKq7", "SKsecret", "STtoken"))
    local value = provider:get()
    assert.are.equal("oss.credentials.provider: static_sts", tostring(provider))
    assert.are.equal("oss.credentials: AKq7 from static_sts", tostring(value))
  end)
end)

describe("a client with a function provider against the emulator", function()
  local emulator

  setup(function()
    emulator = support.start {
      buckets = { "examplebucket", "destbucket" },
      keys = { "ak-rotating-1:secret-1:token-1", "ak-rotating-2:secret-2:token-2" },
    }
  end)

  teardown(function()
    if emulator then emulator:stop() end
  end)

  it("signs with fresh STS credentials after a refresh", function()
    local now, issued = os.time(), 0
    local client = assert(oss.new {
      region = "cn-hangzhou", endpoint = emulator.endpoint, path_style = true,
      clock = function() return now end,
      credentials_provider = function()
        issued = issued + 1
        return "ak-rotating-" .. issued, "secret-" .. issued, "token-" .. issued, now + 900
      end,
    })
    assert.is_true(client:put_bucket_inventory("examplebucket", rules.full))
    assert.are.equal(rules.full.Id, assert(client:get_bucket_inventory("examplebucket", rules.full.Id)).Id)
    assert.are.equal(1, issued)
    now = now + 601 -- within five minutes of expiry; the emulator checks Date against its own clock,
    emulator:set_clock_offset(601) -- so it moves along
    assert.is_true(client:delete_bucket_inventory("examplebucket", rules.full.Id))
    assert.are.equal(2, issued)
    local last = emulator:requests(1)[1]
    local authorization
    for _, pair in ipairs(last.headers) do
      if pair[1] == "authorization" then authorization = pair[2] end
    end
    assert.truthy(authorization:find("ak-rotating-2/", 1, true))
  end)

  it("returns the provider's failure without sending anything", function()
    emulator:reset()
    local client = assert(oss.new {
      region = "cn-hangzhou", endpoint = emulator.endpoint, path_style = true,
      credentials_provider = function() return nil, "no role attached" end,
    })
    local _, err = client:get_bucket_inventory("examplebucket", "report1")
    assert.are.equal("validation error: credentials_provider: failed: no role attached", tostring(err))
    assert.are.equal(0, #emulator:requests())
  end)
end)
