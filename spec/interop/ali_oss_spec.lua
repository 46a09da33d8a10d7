-- The emulator against the official Node.js SDK (ali-oss, pinned): V1, V4 and STS requests signed by it are accepted.
local cjson = require "cjson"
local support = require "spec.support.emulator"

local VERSION = "6.23.0"
local DRIVER = support.ROOT .. "/spec/interop/drive.js"
local PACKAGE = support.ROOT .. "/spec/interop/node_modules/ali-oss/package.json"

local read_all, shell_quote = support.read_all, support.shell_quote

-- Runs drive.js with `config` and returns its decoded step results; raises when node cannot run it.
local function drive(config)
  local pipe = assert(io.popen("node " .. shell_quote(DRIVER) .. " " .. shell_quote(cjson.encode(config))
    .. " 2>/dev/null"))
  local output = pipe:read("*a")
  pipe:close()
  local ok, results = pcall(cjson.decode, output)
  assert(ok and type(results) == "table", "drive.js produced no results: " .. output)
  return results
end

local function by_op(results)
  local ops = {}
  for index, result in ipairs(results) do
    -- lua-cjson under Lua 5.4 decodes every number as a float.
    local status = type(result.status) == "number" and string.format("%d", result.status) or tostring(result.status)
    ops[index] = result.op .. ":" .. tostring(result.ok) .. ":" .. status
  end
  return ops
end

describe("ali-oss " .. VERSION .. " against the emulator", function()
  local emu

  setup(function()
    -- The test command installs the SDK (tools/install-ali-oss); without it this spec fails rather than skips.
    local manifest = read_all(PACKAGE)
    assert(manifest, "ali-oss is not installed in spec/interop/node_modules: run tools/install-ali-oss")
    assert.are.equal(VERSION, cjson.decode(manifest).version)
    assert(os.execute("node --version >/dev/null 2>&1"), "node is not installed")
    emu = support.start {
      buckets = { "interop-source", "interop-destination" },
      keys = { "interop-ak:interop-secret", "interop-sts-ak:interop-sts-secret:CAIS+interop/token==" },
    }
  end)

  teardown(function()
    if emu then
      emu:stop()
    end
  end)

  before_each(function()
    emu:reset()
  end)

  local function config(overrides)
    local value = {
      endpoint = emu and emu.endpoint,
      region = "oss-cn-hangzhou",
      bucket = "interop-source",
      accessKeyId = "interop-ak",
      accessKeySecret = "interop-secret",
      steps = {
        { op = "put", id = "nightly", destination = "interop-destination", prefix = "logs/",
          destinationPrefix = "reports", fields = { "Size", "ETag", "StorageClass" } },
        { op = "get", id = "nightly" },
        { op = "list" },
        { op = "delete", id = "nightly" },
        { op = "get", id = "nightly" },
      },
    }
    for name, field in pairs(overrides) do
      value[name] = field
    end
    return value
  end

  local function check_round_trip(results)
    assert.are.same({ "put:true:200", "get:true:200", "list:true:200", "delete:true:204", "get:false:404" },
      by_op(results))
    local stored = results[2].inventory
    assert.are.equal("nightly", stored.id)
    assert.are.equal("logs/", stored.prefix)
    assert.are.equal("interop-destination", stored.OSSBucketDestination.bucket)
    assert.are.equal("reports", stored.OSSBucketDestination.prefix)
    assert.are.same({ "Size", "ETag", "StorageClass" }, stored.optionalFields.field)
    assert.are.same({ "nightly" }, results[3].ids)
    assert.are.equal("NoSuchInventory", results[5].code)
  end

  local function authorizations()
    local list = {}
    for _, request in ipairs(emu:requests()) do
      for _, pair in ipairs(request.headers) do
        if pair[1] == "authorization" then
          list[#list + 1] = pair[2]
        end
      end
    end
    return list
  end

  it("accepts put, get, list and delete signed with V1", function()
    check_round_trip(drive(config { v4 = false }))
    for _, authorization in ipairs(authorizations()) do
      assert.is_truthy(authorization:match("^OSS interop%-ak:"))
    end
  end)

  it("accepts put, get, list and delete signed with V4", function()
    check_round_trip(drive(config { v4 = true }))
    for _, authorization in ipairs(authorizations()) do
      assert.is_truthy(authorization:match("^OSS4%-HMAC%-SHA256 Credential=interop%-ak/%d+/cn%-hangzhou/oss/"))
    end
  end)

  it("accepts STS credentials with their token, V4 and V1", function()
    for _, v4 in ipairs { true, false } do
      emu:reset()
      check_round_trip(drive(config {
        v4 = v4, accessKeyId = "interop-sts-ak", accessKeySecret = "interop-sts-secret",
        stsToken = "CAIS+interop/token==",
      }))
      local request = emu:requests(1)[1]
      local token
      for _, pair in ipairs(request.headers) do
        if pair[1] == "x-oss-security-token" then
          token = pair[2]
        end
      end
      assert.are.equal("CAIS+interop/token==", token)
    end
  end)

  it("rejects a request whose signature has one character changed", function()
    for _, v4 in ipairs { true, false } do
      local results = drive(config { v4 = v4, steps = {
        { op = "put", id = "tampered", destination = "interop-destination", tamper = true },
        { op = "list", tamper = true },
        { op = "list" },
      } })
      assert.are.same({ "put:false:403", "list:false:403", "list:false:404" }, by_op(results))
      assert.are.equal("SignatureDoesNotMatch", results[1].code)
      assert.are.equal("SignatureDoesNotMatch", results[2].code)
    end
  end)

  it("rejects a wrong STS token", function()
    local results = drive(config {
      v4 = true, accessKeyId = "interop-sts-ak", accessKeySecret = "interop-sts-secret", stsToken = "forged",
      steps = { { op = "list" } },
    })
    assert.are.same({ "list:false:403" }, by_op(results))
    assert.are.equal("AccessDenied", results[1].code)
  end)
end)
