-- Refresh, expiry and backoff of temporary credentials, watched with a moved clock against the emulator's
-- instance metadata: fetched again at half of a short lifetime, kept through a failed refresh, refused once
-- expired, and not asked again for every request while the service is down.

local oss = require "oss"
local credentials = require "oss.credentials"
local support = require "spec.support.emulator"
local rules = dofile("examples/reference_rules.lua")

local ROLE = "EcsInventoryRole"
-- The longest wait between fetches after failures (oss.credentials.refreshing).
local refreshing_backoff_cap = require("oss.credentials.refreshing").MAX_BACKOFF
local CREDENTIALS_PATH = "/latest/meta-data/ram/security-credentials/" .. ROLE

local function count(requests, path)
  local seen = 0
  for _, request in ipairs(requests) do
    if request.target == path then seen = seen + 1 end
  end
  return seen
end

local function signing_key(request)
  for _, pair in ipairs(request.headers) do
    if pair[1] == "authorization" then return pair[2]:match("Credential=([^/]+)/") end
  end
  return nil
end

describe("refreshing instance-role credentials", function()
  local emulator

  setup(function()
    emulator = support.start {
      buckets = { "examplebucket", "destbucket" }, ecs_role = ROLE, credentials_lifetime = 120,
    }
  end)

  teardown(function()
    if emulator then emulator:stop() end
  end)

  it("refreshes at half the lifetime, keeps credentials through a failed refresh, fails once expired", function()
    local start = os.time()
    local now = start
    local function at(offset)
      now = start + offset
      emulator:set_clock_offset(offset)
    end
    local provider = assert(credentials.ecs_ram_role {
      role_name = ROLE, metadata_endpoint = emulator.endpoint, clock = function() return now end,
      getenv = function() return nil end,
    })
    local client = assert(oss.new {
      region = "cn-hangzhou", endpoint = emulator.endpoint, path_style = true, credentials_provider = provider,
      clock = function() return now end,
    })
    assert.is_true(client:put_bucket_inventory("examplebucket", rules.full))
    local function read()
      return client:get_bucket_inventory("examplebucket", rules.full.Id)
    end

    -- The emulator issues credentials by its own clock, which runs on while the spec's stands still: each step
    -- below leaves tens of seconds of room, so a slow run (sanitizers, valgrind) reaches the same points.
    local first_key = signing_key(emulator:requests(1)[1])
    at(50)
    assert.truthy(read())
    assert.are.equal(1, count(emulator:requests(), CREDENTIALS_PATH))

    at(75) -- past half of 120 seconds: fetched again, and the new key signs
    assert.truthy(read())
    assert.are.equal(2, count(emulator:requests(), CREDENTIALS_PATH))
    local second_key = signing_key(emulator:requests(1)[1])
    assert.are_not.equal(first_key, second_key)

    -- The metadata service fails (with the token and without it) from now on.
    emulator:faults { { method = "GET", path = CREDENTIALS_PATH, status = 500, times = 1000 } }
    at(150) -- past the refresh point (135), before expiry (195): the kept credentials still sign
    local before = count(emulator:requests(), CREDENTIALS_PATH)
    assert.truthy(read())
    assert.are.equal(second_key, signing_key(emulator:requests(1)[1]))
    local after_failure = count(emulator:requests(), CREDENTIALS_PATH)
    assert.is_true(after_failure > before)
    -- Within the backoff nothing asks the service again.
    assert.truthy(read())
    assert.are.equal(after_failure, count(emulator:requests(), CREDENTIALS_PATH))

    at(240) -- expired: the request fails with the provider's error and nothing reaches OSS
    local sent = #emulator:requests()
    local ok, err = read()
    assert.is_nil(ok)
    assert.truthy(tostring(err):find("ecs_ram_role: getting the credentials of role " .. ROLE, 1, true),
      tostring(err))
    assert.are.equal(500, err.status)
    local requests = emulator:requests()
    for index = sent + 1, #requests do
      assert.are_not.equal("examplebucket", requests[index].target:match("^/([^/?]+)"))
    end
    -- Asked again right away, the provider answers the same error without a fetch.
    local fetches = count(requests, CREDENTIALS_PATH)
    local _, again = read()
    assert.are.equal(tostring(err), tostring(again))
    assert.are.equal(fetches, count(emulator:requests(), CREDENTIALS_PATH))

    -- The service recovers: after the backoff the next request fetches and succeeds.
    emulator:admin("DELETE", "faults")
    at(240 + refreshing_backoff_cap)
    assert.truthy(read())
    assert.are_not.equal(second_key, signing_key(emulator:requests(1)[1]))
    emulator:set_clock_offset(0)
  end)
end)
