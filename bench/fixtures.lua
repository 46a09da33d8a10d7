-- The bytes every bench works on, made once from the reference rule: the PUT body, its V4 parts, a list page.

local core = require "oss.core"
local rules = require "examples.reference_rules"
local schemas = require "oss.schema.inventory"

local fixtures = {}

fixtures.RULE = rules.full
fixtures.BUCKET = "examplebucket"
fixtures.REGION = "cn-hangzhou"
fixtures.TIME = 1700000000
fixtures.CREDENTIALS = { access_key_id = "bench-key-id", access_key_secret = "bench-key-secret" }
fixtures.PAGE_RULES = 100

local CONFIGURATION = core.schema(schemas.InventoryConfiguration)
local LIST_RESULT = core.schema(schemas.ListInventoryConfigurationsResult)
fixtures.CONFIGURATION, fixtures.LIST_RESULT = CONFIGURATION, LIST_RESULT

function fixtures.body()
  return assert(core.xml_write(CONFIGURATION, fixtures.RULE))
end

--- The canonical request and string to sign of the PUT, as the client's signer makes them.
function fixtures.v4_parts()
  local body = fixtures.body()
  local request = {
    method = "PUT", bucket = fixtures.BUCKET, region = fixtures.REGION, time = fixtures.TIME,
    query = { inventory = "", inventoryId = fixtures.RULE.Id },
    headers = {
      ["Content-Type"] = "application/xml", ["Content-MD5"] = core.base64_encode(core.md5(body)),
      ["User-Agent"] = "lua-oss/bench", ["Date"] = core.http_date(fixtures.TIME),
    },
  }
  local authorization, canonical_request, string_to_sign = assert(core.signer():sign_v4(request,
    fixtures.CREDENTIALS))
  return canonical_request, string_to_sign, authorization, request.headers
end

--- A ListBucketInventory page of PAGE_RULES full rules (Ids report1, report2, ...), truncated.
function fixtures.list_page()
  local configurations = {}
  for index = 1, fixtures.PAGE_RULES do
    local rule = {}
    for name, value in pairs(fixtures.RULE) do rule[name] = value end
    rule.Id = "report" .. index
    configurations[index] = rule
  end
  return assert(core.xml_write(LIST_RESULT, {
    InventoryConfiguration = configurations, IsTruncated = true, NextContinuationToken = "report" .. #configurations,
  }))
end

local function write_file(path, bytes)
  local file = assert(io.open(path, "wb"))
  assert(file:write(bytes))
  assert(file:close())
end

--- Writes body.xml, canonical_request.txt, string_to_sign.txt, request_headers.txt (the signed PUT's headers,
--- "Name: value" lines) and list_page.xml into `directory`.
function fixtures.write(directory)
  local canonical_request, string_to_sign, _, headers = fixtures.v4_parts()
  local lines = {}
  for name, value in pairs(headers) do lines[#lines + 1] = name .. ": " .. value .. "\n" end
  table.sort(lines)
  write_file(directory .. "/request_headers.txt", table.concat(lines))
  write_file(directory .. "/body.xml", fixtures.body())
  write_file(directory .. "/canonical_request.txt", canonical_request)
  write_file(directory .. "/string_to_sign.txt", string_to_sign)
  write_file(directory .. "/list_page.xml", fixtures.list_page())
end

return fixtures
