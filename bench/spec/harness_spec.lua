-- The bench harness (make bench's scripts) in smoke mode, a few iterations each, so none of them can rot; nothing is
-- timed. make check runs it: it tests the harness, not the library.

local run = require("spec.support.fixtures").run

-- Every contender's row of the report: label, then a positive median and its unit.
local ROWS = {
  { "lua-oss, Lua 5.4", "us" }, { "lua-oss, LuaJIT", "us" }, { "ali-oss (Node)", "us" },
  { "limit: OpenSSL (C)", "us" }, { "split: xml_write, Lua 5.4", "us" }, { "split: obj2xml, ali-oss", "us" },
  { "split: sign_v4, LuaJIT", "us" }, { "split: authorizationV4, ali-oss", "us" },
  { "lua-oss, libcurl, Lua 5.4", "req/s" }, { "lua-oss libcurl transport alone, Lua 5.4", "req/s" },
  { "lua-oss in nginx, cosockets", "req/s" },
  { "ali-oss (Node, keep-alive)", "req/s" }, { "floor: bare libcurl, reused handle (C)", "req/s" },
  { "limit: wrk -c1 -t1", "req/s" },
  { "ali-oss (xml2js + formatInventoryConfig)", "us" }, { "limit: Expat, empty callbacks", "us" },
  { "after 10 (smoke)", "kB" }, { "after 100 (smoke)", "kB" },
}

local function literal(text)
  return (text:gsub("%p", "%%%0"))
end

describe("make bench", function()
  local output, status

  setup(function()
    output, status = run("BENCH_SMOKE=1 lua5.4 bench/run.lua")
  end)

  it("runs every bench script to the end in smoke mode", function()
    assert.are.equal(0, status, output)
    assert.truthy(output:find("SMOKE MODE", 1, true), output)
    for _, title in ipairs { "1. prepare", "2. throughput", "3. parse", "4. memory" } do
      assert.truthy(output:find("\n" .. title, 1, true), title .. " missing from:\n" .. output)
    end
  end)

  it("reports a positive median for every contender, lua-oss, ali-oss and each limit", function()
    assert.are.equal(0, status, output)
    for _, row in ipairs(ROWS) do
      local median = output:match("\n%s+" .. literal(row[1]) .. "%s+([%d.]+) " .. literal(row[2]) .. "%s")
      assert.truthy(median, row[1] .. " missing from:\n" .. output)
      assert.is_true(tonumber(median) > 0, row[1])
    end
  end)

  it("prints each ratio against its target", function()
    assert.are.equal(0, status, output)
    local ratios = 0
    for verdict in output:gmatch("%d%.%d%dx%s+target [<>]= [%d.]+: (%a+)") do
      assert.truthy(verdict == "met" or verdict == "MISSED", verdict)
      ratios = ratios + 1
    end
    -- the whole put's ratios and libcurl's floor against wrk are informational: printed without a target.
    for _, label in ipairs { "bare libcurl / wrk", "lua-oss libcurl put / bare libcurl", "lua-oss libcurl put / wrk" } do
      assert.truthy(output:find("\n%s+" .. literal(label) .. "%s+[%d.]+x"), label .. " missing from:\n" .. output)
    end
    -- prepare 4, throughput 2 (cosockets / wrk, transport / bare libcurl), parse 4, memory 1
    assert.are.equal(11, ratios, output)
  end)
end)
