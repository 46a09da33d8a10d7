-- Prepare: validate, serialise, MD5 and V4-sign one PutBucketInventory request through the public API, not sent.

local core = require "oss.core"
local measure = require "bench.measure"
local oss = require "oss"
local rules = require "examples.reference_rules"
local schemas = require "oss.schema.inventory"

local runtime = jit and "luajit" or "lua54"
local rule = rules.full
local FIXED_TIME = 1700000000
local SECRETS = { access_key_id = "bench-key-id", access_key_secret = "bench-key-secret" }

local client = assert(oss.new {
  region = "cn-hangzhou", access_key_id = SECRETS.access_key_id, access_key_secret = SECRETS.access_key_secret,
  clock = function() return FIXED_TIME end,
})

-- The whole request: what a caller pays before the first byte goes out.
local function prepare()
  local request = client:put_bucket_inventory("examplebucket", rule, { dry_run = true })
  if not request then error("the reference rule did not prepare") end
end

local CONFIGURATION = core.schema(schemas.InventoryConfiguration)
local function write_xml()
  if not core.xml_write(CONFIGURATION, rule) then error("the reference rule did not serialise") end
end

-- The signer alone, on the headers the client sends (a fresh table each time, as the client builds one).
local signer = core.signer()
local body = assert(core.xml_write(CONFIGURATION, rule))
local content_md5 = core.base64_encode(core.md5(body))
local date = core.http_date(FIXED_TIME)
local query = { inventory = "", inventoryId = rule.Id }
local function sign()
  local signing = {
    method = "PUT", bucket = "examplebucket", query = query, region = "cn-hangzhou", time = FIXED_TIME,
    headers = {
      ["Content-Type"] = "application/xml", ["Content-MD5"] = content_md5, ["User-Agent"] = "lua-oss/bench",
      ["Date"] = date,
    },
  }
  if not signer:sign_v4(signing, SECRETS) then error("the request did not sign") end
end

measure.per_call("prepare." .. runtime, prepare)
measure.per_call("prepare.xml_write." .. runtime, write_xml)
measure.per_call("prepare.sign_v4." .. runtime, sign)
