-- Which endpoint and region a bucket of the desired state is reached through.

local connection = require "oss.cli.connection"

describe("connection.located", function()
  local base = { region = "cn-hangzhou", endpoint = "https://oss-cn-hangzhou.aliyuncs.com", access_key_id = "ak" }

  it("keeps the defaults for a bucket that names neither region nor endpoint", function()
    assert.are.same(base, connection.located(base, nil, nil))
  end)

  it("moves a public endpoint to the bucket's region, keeping its scheme and -internal", function()
    local moved = connection.located(base, "cn-shanghai", nil)
    assert.are.same({ "cn-shanghai", "https://oss-cn-shanghai.aliyuncs.com", "ak" },
      { moved.region, moved.endpoint, moved.access_key_id })
    local inside = { region = "cn-hangzhou", endpoint = "http://oss-cn-hangzhou-internal.aliyuncs.com" }
    local internal = connection.located(inside, "cn-beijing", nil)
    assert.are.equal("http://oss-cn-beijing-internal.aliyuncs.com", internal.endpoint)
  end)

  it("keeps any other endpoint, which serves every region, and takes the bucket's own endpoint first", function()
    local emulated = { region = "cn-hangzhou", endpoint = "http://127.0.0.1:9000" }
    assert.are.equal("http://127.0.0.1:9000", connection.located(emulated, "cn-shanghai", nil).endpoint)
    local own = connection.located(base, "cn-shanghai", "https://proxy.example:8443")
    assert.are.same({ "cn-shanghai", "https://proxy.example:8443" }, { own.region, own.endpoint })
    assert.are.equal("https://oss-cn-hangzhou.aliyuncs.com", base.endpoint, "the defaults are not changed")
  end)

  it("gives the same key to the same region and endpoint only", function()
    assert.are.equal(connection.key(connection.located(base, "cn-hangzhou", nil)), connection.key(base))
    assert.are_not.equal(connection.key(connection.located(base, "cn-shanghai", nil)), connection.key(base))
  end)
end)
