-- A bucket addressed through another region's endpoint: the emulator answers as the service does, and the error
-- the client returns names the endpoint to use.

local oss = require "oss"
local support = require "spec.support.emulator"

local KEY_ID, SECRET = "ak-regions", "secret-regions"

describe("a bucket in another region", function()
  local emulator

  setup(function()
    emulator = support.start { buckets = { "hz-bucket", "sh-bucket:cn-shanghai" }, keys = { KEY_ID .. ":" .. SECRET } }
  end)

  teardown(function()
    if emulator then emulator:stop() end
  end)

  local function client_in(region, options)
    local settings = {
      region = region, endpoint = emulator.endpoint, path_style = true,
      access_key_id = KEY_ID, access_key_secret = SECRET,
    }
    for name, value in pairs(options or {}) do settings[name] = value end
    return assert(oss.new(settings))
  end

  it("is refused with 403 AccessDenied naming its endpoint when the V4 scope is another region's", function()
    local _, err = client_in("cn-hangzhou"):list_bucket_inventory("sh-bucket")
    assert.are.same({ "service", 403, "AccessDenied" }, { err.kind, err.status, err.code })
    assert.are.equal("oss-cn-shanghai.aliyuncs.com", err.details.Endpoint)
    assert.truthy(tostring(err):find("(endpoint oss-cn-shanghai.aliyuncs.com, request id ", 1, true), tostring(err))
  end)

  it("is refused the same way when the Host names another region's endpoint", function()
    local status, body = support.http("GET", emulator.endpoint .. "/?inventory", nil,
      { host = "sh-bucket.oss-cn-hangzhou.aliyuncs.com" })
    assert.are.equal(403, status)
    assert.truthy(body:find("<Code>AccessDenied</Code>", 1, true), body)
    assert.truthy(body:find("<Endpoint>oss-cn-shanghai.aliyuncs.com</Endpoint>", 1, true), body)
  end)

  it("is served through its own region, and a request that names no region is served too", function()
    -- A bucket without rules answers its list with NoSuchInventory: the request got past the region check.
    local function list_answer(client, bucket)
      local _, err = client:list_bucket_inventory(bucket)
      return err and err.code
    end
    assert.are.equal("NoSuchInventory", list_answer(client_in("cn-shanghai"), "sh-bucket"))
    -- V1 signs no region and path-style over an IP names none: nothing to compare with the bucket's.
    local v1 = client_in("cn-hangzhou", { signature_version = "v1" })
    assert.are.equal("NoSuchInventory", list_answer(v1, "sh-bucket"))
    assert.are.equal("NoSuchInventory", list_answer(client_in("cn-hangzhou"), "hz-bucket"))
  end)
end)

describe("tostring of a service error", function()
  it("shows the Endpoint the service sent, and nothing of the kind when it sent none", function()
    local with = oss.errors.service { status = 403, code = "AccessDenied", message = "use the endpoint",
      request_id = "R1", details = { Endpoint = "oss-cn-shanghai.aliyuncs.com" } }
    assert.are.equal("service error 403 AccessDenied: use the endpoint (endpoint oss-cn-shanghai.aliyuncs.com, "
      .. "request id R1)", tostring(with))
    local without = oss.errors.service { status = 403, code = "AccessDenied", message = "no", request_id = "R2" }
    assert.are.equal("service error 403 AccessDenied: no (request id R2)", tostring(without))
  end)
end)
