-- each_bucket_inventory against a server whose pages would keep a walk going for ever: it must end.

local oss = require "oss"
local fixtures = require "spec.support.fixtures"

local RULE = fixtures.read("xml/minimal.xml")

-- A ListInventoryConfigurationsResult with a rule per id; truncated when `token` is given.
local function page(ids, token)
  local parts = { "<ListInventoryConfigurationsResult>" }
  for _, id in ipairs(ids) do
    parts[#parts + 1] = (RULE:gsub("<Id>minimal</Id>", "<Id>" .. id .. "</Id>"))
  end
  if token then
    parts[#parts + 1] = "<IsTruncated>true</IsTruncated><NextContinuationToken>" .. token .. "</NextContinuationToken>"
  else
    parts[#parts + 1] = "<IsTruncated>false</IsTruncated>"
  end
  parts[#parts + 1] = "</ListInventoryConfigurationsResult>"
  return table.concat(parts)
end

-- A client whose transport answers with `answer(request number)`, counting the requests.
local function client_answering(answer)
  local requests = 0
  local client = assert(oss.new {
    region = "cn-hangzhou", access_key_id = "ak", access_key_secret = "secret", max_attempts = 1,
    transport = function()
      requests = requests + 1
      assert(requests <= 50, "the walk did not stop")
      return { status = 200, headers = { ["content-type"] = "application/xml" }, body = answer(requests) }
    end,
  })
  return client, function() return requests end
end

-- Walks every page -> the ids yielded, the error yielded (if any).
local function walk(client)
  local ids = {}
  for rule, err in client:each_bucket_inventory("examplebucket") do
    if rule == false then return ids, err end
    ids[#ids + 1] = rule.Id
  end
  return ids
end

describe("each_bucket_inventory", function()
  it("walks pages whose tokens are new and whose rules are there", function()
    local pages = { page({ "a", "b" }, "t1"), page({ "c" }, "t2"), page({ "d" }) }
    local client, requests = client_answering(function(n) return pages[n] end)
    local ids, err = walk(client)
    assert.is_nil(err)
    assert.are.same({ "a", "b", "c", "d" }, ids)
    assert.are.equal(3, requests())
  end)

  it("ends with InvalidResponse on truncated pages without rules", function()
    local client, requests = client_answering(function(n) return page({}, "token-" .. n) end)
    local ids, err = walk(client)
    assert.are.same({}, ids)
    assert.are.equal("InvalidResponse", err.code)
    assert.truthy(tostring(err):find("a truncated page without rules", 1, true), tostring(err))
    assert.are.equal(1, requests())
  end)

  it("ends with InvalidResponse when a page repeats an earlier token, yielding none of that page's rules", function()
    local pages = { page({ "a" }, "t1"), page({ "b" }, "t2"), page({ "c" }, "t1") }
    local client, requests = client_answering(function(n) return pages[n] end)
    local ids, err = walk(client)
    assert.are.same({ "a", "b" }, ids)
    assert.are.equal("InvalidResponse", err.code)
    assert.truthy(tostring(err):find("repeats an earlier NextContinuationToken", 1, true), tostring(err))
    assert.are.equal(3, requests())
  end)

  it("ends when the same page comes back for ever", function()
    local client, requests = client_answering(function() return page({ "same" }, "again") end)
    local ids, err = walk(client)
    assert.are.same({ "same" }, ids)
    assert.are.equal("InvalidResponse", err.code)
    assert.are.equal(2, requests())
  end)
end)
