-- core.random_bytes: what nonces, the emulator's issued secrets and its temporary file names are made of.
local core = require "oss.core"

describe("core.random_bytes", function()
  it("gives the number of bytes asked for, different every time", function()
    assert.are.equal("", core.random_bytes(0))
    local seen = {}
    for _ = 1, 200 do
      local bytes = core.random_bytes(16)
      assert.are.equal(16, #bytes)
      assert.is_nil(seen[bytes])
      seen[bytes] = true
    end
    -- 64 KiB of output uses every byte value: nothing is stuck in a printable range.
    local values = {}
    for _ = 1, 64 do
      for value in core.random_bytes(1024):gmatch(".") do values[value] = true end
    end
    local count = 0
    for _ in pairs(values) do count = count + 1 end
    assert.are.equal(256, count)
  end)

  it("refuses a count that is not 0 to 1024", function()
    for _, count in ipairs { -1, 1025 } do
      local ok, message = pcall(core.random_bytes, count)
      assert.is_false(ok)
      assert.matches("expected 0 to 1024 bytes", message)
    end
  end)
end)

describe("the STS nonce", function()
  it("is 32 hex digits, unique per request", function()
    local sts = require "oss.credentials.sts"
    local first, second = sts.nonce(), sts.nonce()
    assert.matches("^%x+$", first)
    assert.are.equal(32, #first)
    assert.are_not.equal(first, second)
  end)
end)
