-- OSS V1 (HMAC-SHA1) verification: the emulator's own reading of the V1 string to sign.
local core = require "oss.core"

local M = {}

-- The query parameters the service includes in the V1 canonicalized resource; every other one is left out.
local SIGNED_SUBRESOURCES = {}
for name in ([[acl append asyncFetch bucketInfo callback callback-var cname comp continuation-token cors delete
  encryption endTime img inventory inventoryId lifecycle live location logging objectMeta partNumber policy position
  qos referer regionList replication replicationLocation replicationProgress requestPayment resourceGroup
  response-cache-control response-content-disposition response-content-encoding response-content-language
  response-content-type response-expires restore security-token sequential startTime stat status style styleName
  symlink tagging transferAcceleration udf udfApplication udfApplicationLog udfId udfImage udfImageDesc udfName
  uploadId uploads versionId versioning versions vod website worm wormExtend wormId x-oss-ac-forward-allow
  x-oss-ac-source-ip x-oss-ac-subnet-mask x-oss-ac-vpc-id x-oss-process x-oss-traffic-limit]]):gmatch("%S+") do
  SIGNED_SUBRESOURCES[name] = true
end

-- "OSS AK:base64" -> { access_key_id, signature } | nil, message
function M.parse(authorization)
  local access_key_id, signature = authorization:match("^OSS%s+([^:%s]+):(%S+)%s*$")
  if not access_key_id then
    return nil, "malformed OSS Authorization header"
  end
  return { access_key_id = access_key_id, signature = signature }
end

local function canonical_resource(request)
  local resource = "/"
  if request.bucket then
    resource = "/" .. request.bucket .. "/" .. (request.key or "")
  end
  local items = {}
  for _, pair in ipairs(request.parameters) do
    if SIGNED_SUBRESOURCES[pair[1]] then
      items[#items + 1] = pair[2] == "" and pair[1] or (pair[1] .. "=" .. pair[2])
    end
  end
  table.sort(items)
  if #items > 0 then
    resource = resource .. "?" .. table.concat(items, "&")
  end
  return resource
end

-- `date` is the value that stands in the Date line (the Date header, or x-oss-date when Date is absent).
function M.string_to_sign(request, date)
  local lines = {
    request.method,
    request.headers["content-md5"] or "",
    request.headers["content-type"] or "",
    date,
  }
  local names = {}
  for name in pairs(request.headers) do
    if name:sub(1, 6) == "x-oss-" then
      names[#names + 1] = name
    end
  end
  table.sort(names)
  for _, name in ipairs(names) do
    lines[#lines + 1] = name .. ":" .. (request.headers[name]:gsub("^%s+", ""):gsub("%s+$", ""))
  end
  lines[#lines + 1] = canonical_resource(request)
  return table.concat(lines, "\n")
end

function M.signature(secret, string_to_sign)
  return core.base64_encode(core.hmac_sha1(secret, string_to_sign))
end

return M
