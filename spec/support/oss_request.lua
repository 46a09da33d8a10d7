-- One OSS call to the emulator signed with a credentials document as the platform hands them out
-- ({ AccessKeyId, AccessKeySecret, SecurityToken }), to learn whether the OSS side accepts those credentials.
local core = require "oss.core"
local support = require "spec.support.emulator"

local M = {}

local error_schema = core.schema(require("oss.schema.error"))
local signer = core.signer()

--- list_inventory(emu, bucket, credential, options) -> status, the error document (the bucket is expected to have
-- no rules, so an accepted request is answered 404 NoSuchInventory). options: time (signing time, default now),
-- without_token (leave the SecurityToken out), region (default cn-hangzhou).
function M.list_inventory(emu, bucket, credential, options)
  options = options or {}
  local request = {
    method = "GET", bucket = bucket, query = { inventory = "" }, headers = {},
    region = options.region or "cn-hangzhou", time = options.time or os.time(),
  }
  signer:sign_v4(request, {
    access_key_id = credential.AccessKeyId, access_key_secret = credential.AccessKeySecret,
    security_token = not options.without_token and credential.SecurityToken or nil,
  })
  local headers = {}
  for name, value in pairs(request.headers) do headers[name:lower()] = value end
  -- Plain HTTP even when the emulator also serves TLS: the port answers both, and LuaSocket speaks only HTTP.
  local url = "http://127.0.0.1:" .. emu.port .. "/" .. bucket .. "/?inventory"
  local status, body = support.http("GET", url, nil, headers)
  return status, assert(core.xml_read(error_schema, body))
end

return M
