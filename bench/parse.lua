-- Parse: a ListBucketInventory page of 100 full rules read into tables by oss.core's Expat reader.

local core = require "oss.core"
local fixtures = require "bench.fixtures"
local measure = require "bench.measure"

local runtime = jit and "luajit" or "lua54"
local page = fixtures.list_page()

local function parse()
  local result = core.xml_read(fixtures.LIST_RESULT, page)
  if not result or #result.InventoryConfiguration ~= fixtures.PAGE_RULES then error("the page did not parse") end
end

measure.per_call("parse." .. runtime, parse)
