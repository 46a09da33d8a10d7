-- The client end to end against the emulator: exact requests on the wire, round trips, paging, service errors.

local oss = require "oss"
local fixtures = require "spec.support.fixtures"
local support = require "spec.support.emulator"
local rules = dofile("examples/reference_rules.lua")

local KEY_ID, SECRET = "ak-client", "secret-client"
local STS_ID, STS_SECRET, STS_TOKEN = "ak-sts", "secret-sts", "sts-token/value+="
local BUCKETS = { "examplebucket", "emptybucket", "pagedbucket", "destbucket", "destination-bucket", "test-inc-bi-bj" }

-- The service stores Filter/StorageClass members sorted; compare rules the way the service means them.
local normalised = require("oss.stored_form").rule

describe("the client against the emulator", function()
  local emulator, client

  local function new_client(options)
    local defaults = {
      region = "cn-hangzhou", endpoint = emulator.endpoint, path_style = true,
      access_key_id = KEY_ID, access_key_secret = SECRET,
    }
    for name, value in pairs(options or {}) do defaults[name] = value end
    return assert(oss.new(defaults))
  end

  setup(function()
    emulator = support.start {
      buckets = BUCKETS,
      keys = { KEY_ID .. ":" .. SECRET, STS_ID .. ":" .. STS_SECRET .. ":" .. STS_TOKEN },
    }
  end)

  teardown(function()
    if emulator then emulator:stop() end
  end)

  before_each(function()
    emulator:reset()
    client = new_client()
  end)

  it("puts a rule, and the server received exactly the signed request", function()
    local now = os.time()
    client = new_client { clock = function() return now end }
    local expected = assert(client:put_bucket_inventory("examplebucket", rules.syntax, { dry_run = true }))
    assert.is_true(client:put_bucket_inventory("examplebucket", rules.syntax))

    local received = emulator:requests(1)[1]
    assert.are.equal("PUT", received.method)
    assert.are.equal(expected.url, emulator.endpoint .. received.target)
    assert.are.equal(expected.body, received.body)
    local headers = {}
    for _, pair in ipairs(received.headers) do
      assert.is_nil(headers[pair[1]], "header sent twice: " .. pair[1])
      headers[pair[1]] = pair[2]
    end
    local names = {}
    for name, value in pairs(expected.headers) do
      assert.are.equal(value, headers[name:lower()], name)
      names[name:lower()] = true
    end
    for name in pairs(headers) do
      assert.truthy(names[name] or name == "host" or name == "content-length", "unexpected header " .. name)
    end
    assert.are.equal(tostring(#expected.body), headers["content-length"])
    assert.are.equal("UNSIGNED-PAYLOAD", headers["x-oss-content-sha256"])
  end)

  it("is accepted with V1 and with an STS token, by both signers", function()
    local v1 = new_client { signature_version = "v1" }
    assert.is_true(v1:put_bucket_inventory("examplebucket", rules.full))
    local sts = new_client { access_key_id = STS_ID, access_key_secret = STS_SECRET, security_token = STS_TOKEN }
    assert.is_true(sts:put_bucket_inventory("examplebucket", rules.incremental))
    local sts_v1 = new_client { access_key_id = STS_ID, access_key_secret = STS_SECRET, security_token = STS_TOKEN,
      signature_version = "v1" }
    assert.are.same(normalised(rules.full), sts_v1:get_bucket_inventory("examplebucket", rules.full.Id))
  end)

  it("reads back what it put, typed, and put(get(x)) is accepted", function()
    for _, rule in ipairs { rules.syntax, rules.incremental } do
      assert.is_true(client:put_bucket_inventory("examplebucket", rule))
      local stored = assert(client:get_bucket_inventory("examplebucket", rule.Id))
      assert.are.same(normalised(rule), stored)
    end
    assert.is_true(client:delete_bucket_inventory("examplebucket", rules.syntax.Id)) -- rules.full has its Id
    assert.is_true(client:put_bucket_inventory("examplebucket", rules.full))
    local stored = assert(client:get_bucket_inventory("examplebucket", rules.full.Id))
    assert.are.equal("IA,Standard", stored.Filter.StorageClass)
    assert.are.equal(1024, stored.Filter.LowerSizeBound)
    assert.are.same({ KeyId = "keyId" }, stored.Destination.OSSBucketDestination.Encryption["SSE-KMS"])
    assert.is_true(client:delete_bucket_inventory("examplebucket", rules.full.Id))
    assert.is_true(client:put_bucket_inventory("examplebucket", stored))
    assert.are.same(stored, client:get_bucket_inventory("examplebucket", rules.full.Id))
  end)

  it("keeps a single optional field as an array", function()
    local rule = fixtures.copy(rules.full)
    rule.OptionalFields.Field = { "Size" }
    rule.Destination.OSSBucketDestination.Encryption = { ["SSE-OSS"] = {} }
    assert.is_true(client:put_bucket_inventory("examplebucket", rule))
    local stored = assert(client:get_bucket_inventory("examplebucket", rule.Id))
    assert.are.same({ "Size" }, stored.OptionalFields.Field)
    assert.are.same({ ["SSE-OSS"] = {} }, stored.Destination.OSSBucketDestination.Encryption)
  end)

  it("lists every rule across pages, and an empty bucket yields nothing", function()
    local wanted = {}
    for index = 1, 230 do
      local rule = fixtures.copy(rules.syntax)
      rule.Id = ("rule-%03d"):format(index)
      rule.IncrementalInventory = nil
      assert.is_true(client:put_bucket_inventory("pagedbucket", rule))
      wanted[rule.Id] = true
    end
    local first = assert(client:list_bucket_inventory("pagedbucket"))
    assert.are.equal(100, #first.configurations)
    assert.is_true(first.is_truncated)
    assert.is_string(first.next_continuation_token)
    local second = assert(client:list_bucket_inventory("pagedbucket",
      { continuation_token = first.next_continuation_token }))
    assert.are.equal(first.next_continuation_token, second.continuation_token)

    local seen = 0
    for rule, err in client:each_bucket_inventory("pagedbucket") do
      assert.is_nil(err)
      assert.is_true(wanted[rule.Id])
      wanted[rule.Id] = nil
      seen = seen + 1
    end
    assert.are.equal(230, seen)
    assert.is_nil(next(wanted))

    for _ in client:each_bucket_inventory("emptybucket") do
      error("an empty bucket yielded a rule")
    end
    local page, err = client:list_bucket_inventory("emptybucket")
    assert.is_nil(page)
    assert.are.same({ "service", 404, "NoSuchInventory" }, { err.kind, err.status, err.code })
  end)

  it("returns the service's errors as error objects", function()
    assert.is_true(client:put_bucket_inventory("examplebucket", rules.full))
    local ok, err = client:put_bucket_inventory("examplebucket", rules.full)
    assert.is_nil(ok)
    assert.are.same({ "service", 409, "InventoryAlreadyExist" }, { err.kind, err.status, err.code })
    assert.is_string(err.request_id)
    assert.is_string(err.host_id)
    assert.is_string(err.ec)

    local _, missing = client:get_bucket_inventory("examplebucket", "nothing-here")
    assert.are.same({ 404, "NoSuchInventory" }, { missing.status, missing.code })
    local _, no_bucket = client:get_bucket_inventory("nosuchbucket", "report1")
    assert.are.same({ 404, "NoSuchBucket" }, { no_bucket.status, no_bucket.code })

    local wrong = new_client { access_key_secret = "not-the-secret" }
    local _, denied = wrong:put_bucket_inventory("examplebucket", rules.incremental)
    assert.are.same({ 403, "SignatureDoesNotMatch" }, { denied.status, denied.code })
    assert.falsy(tostring(denied):find("not-the-secret", 1, true))
  end)

  it("deletes a rule", function()
    assert.is_true(client:put_bucket_inventory("examplebucket", rules.full))
    assert.is_true(client:delete_bucket_inventory("examplebucket", rules.full.Id))
    local _, err = client:get_bucket_inventory("examplebucket", rules.full.Id)
    assert.are.equal("NoSuchInventory", err.code)
  end)

  it("reports a network failure as such", function()
    local closed = assert(oss.new {
      region = "cn-hangzhou", endpoint = "http://127.0.0.1:1", path_style = true,
      access_key_id = KEY_ID, access_key_secret = SECRET, connect_timeout = 2,
    })
    local _, err = closed:get_bucket_inventory("examplebucket", "report1")
    assert.are.same({ "network", "connect" }, { err.kind, err.code })
  end)
end)
