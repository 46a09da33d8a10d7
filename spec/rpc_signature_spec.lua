-- Specs for the RPC signature that STS requests carry: the documented known answer, the encoding, refusals.

local cjson = require "cjson"
local fixtures = require "spec.support.fixtures"
local rpc_signature = require "oss.credentials.rpc_signature"

local vector = cjson.decode(fixtures.read("vectors/rpc_signature.json"))

describe("rpc_signature", function()
  it("builds the documented string to sign", function()
    assert.are.equal(vector.string_to_sign, rpc_signature.string_to_sign(vector.method, vector.params))
  end)

  it("arrives at the documented signature", function()
    assert.are.equal(vector.signature, rpc_signature.sign(vector.method, vector.params, vector.access_key_secret))
  end)

  it("changes when any parameter changes", function()
    local params = fixtures.copy(vector.params)
    params.Format = "JSON"
    assert.are_not.equal(vector.signature, rpc_signature.sign(vector.method, params, vector.access_key_secret))
  end)

  it("upper-cases the method, as the service compares it", function()
    assert.are.equal(vector.string_to_sign, rpc_signature.string_to_sign("get", vector.params))
  end)

  it("encodes space as %20, keeps ~ and encodes * and /, once in the pair and again in the whole", function()
    local text = rpc_signature.string_to_sign("POST", { RoleSessionName = "a b~c*d/e" })
    assert.are.equal("POST&%2F&RoleSessionName%3Da%2520b~c%252Ad%252Fe", text)
  end)

  it("sorts by name in byte order, so upper-case names come before lower-case ones", function()
    local text = rpc_signature.string_to_sign("GET", { b = "1", B = "2", a = "3" })
    assert.are.equal("GET&%2F&B%3D2%26a%3D3%26b%3D1", text)
  end)

  it("refuses a Signature among the parameters it signs", function()
    assert.has_error(function() rpc_signature.sign("GET", { Signature = "x" }, "s") end,
      "rpc_signature: params must not carry Signature itself")
  end)

  it("refuses a value that is not a string, naming the parameter", function()
    assert.has_error(function() rpc_signature.sign("GET", { DurationSeconds = 3600 }, "s") end,
      'rpc_signature: parameter "DurationSeconds" must be a string, got number')
  end)

  it("refuses a missing secret and a missing method", function()
    assert.has_error(function() rpc_signature.sign("GET", {}, nil) end,
      "rpc_signature: secret must be a string, got nil")
    assert.has_error(function() rpc_signature.string_to_sign(nil, {}) end,
      "rpc_signature: method must be a non-empty string, got nil")
  end)
end)
