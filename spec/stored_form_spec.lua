-- The one notion of "the same rule" that put's conflict check, replace, plan and apply share.
local stored_form = require "oss.stored_form"
local plan = require "oss.cli.plan"

local function rule(overrides)
  local value = {
    Id = "r1", IsEnabled = true, Filter = { Prefix = "logs/", StorageClass = "Standard,IA" },
    Destination = { OSSBucketDestination = {
      Format = "CSV", AccountId = "1000000000000000", RoleArn = "acs:ram::1000000000000000:role/AliyunOSSRole",
      Bucket = "acs:oss:::destination", Prefix = "inventory/",
    } },
    Schedule = { Frequency = "Daily" }, IncludedObjectVersions = "All",
  }
  for key, item in pairs(overrides or {}) do value[key] = item end
  return value
end

describe("stored_form.same_rule", function()
  it("treats what the service stores alike as the same rule", function()
    local reordered = rule { Filter = { Prefix = "logs/", StorageClass = "IA, Standard" } }
    assert.is_true(stored_form.same_rule(rule(), reordered))
    local encrypted = rule()
    encrypted.Destination.OSSBucketDestination.Encryption = {}
    assert.is_true(stored_form.same_rule(rule(), encrypted))
  end)

  it("tells a changed field apart", function()
    assert.is_false(stored_form.same_rule(rule(), rule { IsEnabled = false }))
    assert.is_false(stored_form.same_rule(rule(), rule { Filter = { Prefix = "other/" } }))
  end)

  it("finds a rule the writer refuses the same as no other, itself included", function()
    local unknown = rule { Unknown = "x" }
    assert.is_nil(stored_form.body(unknown))
    assert.is_false(stored_form.same_rule(unknown, unknown))
    assert.is_false(stored_form.same_rule(unknown, rule()))
    assert.is_false(stored_form.same_rule(rule(), unknown))
  end)

  it("decides plan's actions: a rule stored in the service's spelling is unchanged", function()
    local stored = stored_form.rule(rule())
    local bucket_plan = plan.for_bucket("b", { rule() }, { stored }, false)
    assert.are.equal("unchanged", bucket_plan.actions[1].action)
    assert.are.same({}, bucket_plan.actions[1].changes)
    local changed = plan.for_bucket("b", { rule { IsEnabled = false } }, { stored }, false)
    assert.are.equal("replace", changed.actions[1].action)
    assert.are.same({ sign = "~", path = "IsEnabled", before = "true", after = "false", old_value = true,
      new_value = false }, changed.actions[1].changes[1])
  end)
end)

describe("the bucket name rule", function()
  local core = require "oss.core"
  local oss = require "oss"
  local client = assert(oss.new { region = "cn-hangzhou", access_key_id = "id", access_key_secret = "secret" })
  local names = { "abc", "a-b", "a1-2b", string.rep("a", 63), "ab", string.rep("a", 64), "-ab", "ab-", "aBc",
    "a_b", "a.b", "a b", "" }

  it("is the same for a request's bucket and a destination's bucket ARN", function()
    for _, name in ipairs(names) do
      local valid = core.is_bucket_name(name)
      local destination = rule()
      destination.Destination.OSSBucketDestination.Bucket = "acs:oss:::" .. name
      assert.are.equal(valid, core.xml_write(core.schema(require("oss.schema.inventory").InventoryConfiguration),
        destination) ~= nil, name)
      assert.are.equal(valid, client:check_bucket(name) == nil, name)
    end
    assert.is_true(core.is_bucket_name("abc"))
    assert.is_false(core.is_bucket_name("ab-"))
  end)
end)
