-- client:replace_bucket_inventory against the emulator: a refused put never costs the rule that was there.

local oss = require "oss"
local support = require "spec.support.emulator"
local normalised = require("oss.stored_form").rule

local KEY_ID, SECRET = "ak-replace", "secret-replace"
local BUCKET = "examplebucket"

local function rule(id, frequency, destination)
  return {
    Id = id,
    IsEnabled = true,
    Filter = { Prefix = "logs/" .. id .. "/" },
    Destination = {
      OSSBucketDestination = {
        Format = "CSV", AccountId = "1000000000000000", RoleArn = "acs:ram::1000000000000000:role/AliyunOSSRole",
        Bucket = "acs:oss:::" .. (destination or "destination-bucket"),
      },
    },
    Schedule = { Frequency = frequency },
    IncludedObjectVersions = "All",
  }
end

describe("client:replace_bucket_inventory", function()
  local emulator, client

  setup(function()
    emulator = support.start { buckets = { BUCKET, "destination-bucket" }, keys = { KEY_ID .. ":" .. SECRET } }
  end)

  teardown(function()
    if emulator then emulator:stop() end
  end)

  before_each(function()
    emulator:reset()
    client = assert(oss.new {
      region = "cn-hangzhou", endpoint = emulator.endpoint, path_style = true,
      access_key_id = KEY_ID, access_key_secret = SECRET, sleep = function() end,
    })
    assert.is_true(client:put_bucket_inventory(BUCKET, rule("r1", "Daily")))
    assert.is_true(client:put_bucket_inventory(BUCKET, rule("r2", "Daily")))
  end)

  -- The bucket's rules as Id = Schedule.Frequency, read from the emulator.
  local function frequencies()
    local out = {}
    for stored, err in client:each_bucket_inventory(BUCKET) do
      assert(stored, tostring(err))
      out[stored.Id] = stored.Schedule.Frequency
    end
    return out
  end

  it("replaces a changed rule, and creates one that is not there", function()
    assert.is_true(client:replace_bucket_inventory(BUCKET, rule("r1", "Weekly")))
    assert.is_true(client:replace_bucket_inventory(BUCKET, rule("r3", "Weekly")))
    assert.are.same({ r1 = "Weekly", r2 = "Daily", r3 = "Weekly" }, frequencies())
  end)

  it("sends nothing but the read for a rule that is already as wanted", function()
    assert.is_true(client:replace_bucket_inventory(BUCKET, rule("r1", "Daily")))
    local last = emulator:requests(1)[1]
    assert.are.equal("GET", last.method)
  end)

  it("puts the previous rule back when the destination bucket does not exist", function()
    local ok, err, outcome = client:replace_bucket_inventory(BUCKET, rule("r1", "Weekly", "no-such-bucket"))
    assert.is_nil(ok)
    assert.are.equal("InvalidArgument", err.code)
    assert.truthy(tostring(err):find("does not exist", 1, true), tostring(err))
    assert.are.equal("restored", outcome.state)
    assert.are.same(normalised(rule("r1", "Daily")), normalised(outcome.previous))
    assert.are.same({ r1 = "Daily", r2 = "Daily" }, frequencies())
  end)

  it("puts the previous rule back when the put is answered 403", function()
    emulator:faults { { method = "PUT", status = 403, code = "AccessDenied", times = 1 } }
    local ok, err, outcome = client:replace_bucket_inventory(BUCKET, rule("r1", "Weekly"))
    assert.is_nil(ok)
    assert.are.equal(403, err.status)
    assert.are.equal("restored", outcome.state)
    assert.are.same({ r1 = "Daily", r2 = "Daily" }, frequencies())
  end)

  it("puts the previous rule back when every attempt of the put has its connection reset", function()
    -- Four resets use up the put's three attempts: libcurl sends the first once more by itself, as it does when a
    -- reused connection closes before any answer. The restore that follows gets through.
    emulator:faults { { method = "PUT", action = "reset", times = 4 } }
    local ok, err, outcome = client:replace_bucket_inventory(BUCKET, rule("r1", "Weekly"))
    assert.is_nil(ok)
    assert.are.equal("network", err.kind)
    assert.are.equal(3, err.attempts)
    assert.are.equal("restored", outcome.state)
    assert.are.same({ r1 = "Daily", r2 = "Daily" }, frequencies())
  end)

  it("hands back the whole previous rule when the restore is refused as well", function()
    emulator:faults { { method = "PUT", status = 403, code = "AccessDenied", times = 2 } }
    local ok, err, outcome = client:replace_bucket_inventory(BUCKET, rule("r1", "Weekly"))
    assert.is_nil(ok)
    assert.are.equal("AccessDenied", err.code)
    assert.are.equal("lost", outcome.state)
    assert.are.equal("AccessDenied", outcome.restore_error.code)
    assert.are.same({ r2 = "Daily" }, frequencies())
    -- What came back is enough to put the rule back exactly as it was.
    assert.is_true(client:put_bucket_inventory(BUCKET, outcome.previous))
    assert.are.same(normalised(rule("r1", "Daily")), normalised(assert(client:get_bucket_inventory(BUCKET, "r1"))))
  end)

  it("refuses an invalid rule before reading or deleting anything", function()
    local bad = rule("r1", "Yearly")
    local before = #emulator:requests()
    local ok, err, outcome = client:replace_bucket_inventory(BUCKET, bad)
    assert.is_nil(ok)
    assert.are.equal("validation", err.kind)
    assert.truthy(err.path:find("Schedule.Frequency", 1, true), err.path)
    assert.are.equal("unchanged", outcome.state)
    assert.are.equal(before, #emulator:requests())
    assert.are.same({ r1 = "Daily", r2 = "Daily" }, frequencies())
  end)

  it("changes nothing when the rule cannot be read first", function()
    emulator:faults { { method = "GET", status = 403, code = "AccessDenied", times = 1 } }
    local ok, err, outcome = client:replace_bucket_inventory(BUCKET, rule("r1", "Weekly"))
    assert.is_nil(ok)
    assert.are.equal(403, err.status)
    assert.are.equal("unchanged", outcome.state)
    assert.are.same({ r1 = "Daily", r2 = "Daily" }, frequencies())
  end)

  it("changes nothing when the delete is refused", function()
    emulator:faults { { method = "DELETE", status = 403, code = "AccessDenied", times = 1 } }
    local ok, err, outcome = client:replace_bucket_inventory(BUCKET, rule("r1", "Weekly"))
    assert.is_nil(ok)
    assert.are.equal("DELETE", emulator:requests(3)[1].method)
    assert.are.equal(403, err.status)
    assert.are.equal("unchanged", outcome.state)
    assert.are.same({ r1 = "Daily", r2 = "Daily" }, frequencies())
  end)
end)
