-- OSS4-HMAC-SHA256 verification: the emulator's own reading of the V4 canonical request, string to sign and key.
local core = require "oss.core"
local uri = require "oss.emulator.uri"

local M = {}

local ALGORITHM = "OSS4-HMAC-SHA256"

local function trim(text)
  return (text:gsub("^%s+", ""):gsub("%s+$", ""))
end

-- "OSS4-HMAC-SHA256 Credential=AK/20231216/cn-hangzhou/oss/aliyun_v4_request[,AdditionalHeaders=a;b],Signature=hex"
-- -> { access_key_id, date, region, product, terminator, additional_headers = { ... }, signature } | nil, message
function M.parse(authorization)
  if authorization:sub(1, #ALGORITHM + 1) ~= ALGORITHM .. " " then
    return nil, "not an " .. ALGORITHM .. " authorization"
  end
  local rest = authorization:sub(#ALGORITHM + 2)
  local fields = {}
  for item in rest:gmatch("[^,]+") do
    local name, value = item:match("^%s*([%w]+)=(.-)%s*$")
    if not name then
      return nil, "malformed Authorization field: " .. trim(item)
    end
    fields[name] = value
  end
  if not fields.Credential or not fields.Signature then
    return nil, "Authorization lacks Credential or Signature"
  end
  local access_key_id, date, region, product, terminator =
    fields.Credential:match("^([^/]+)/([^/]+)/([^/]+)/([^/]+)/([^/]+)$")
  if not access_key_id then
    return nil, "malformed Credential: " .. fields.Credential
  end
  local additional = {}
  for name in (fields.AdditionalHeaders or ""):gmatch("[^;]+") do
    additional[#additional + 1] = name:lower()
  end
  return {
    access_key_id = access_key_id,
    date = date,
    region = region,
    product = product,
    terminator = terminator,
    additional_headers = additional,
    signature = fields.Signature,
  }
end

local function canonical_query(parameters)
  local encoded = {}
  for index, pair in ipairs(parameters) do
    encoded[index] = { uri.encode(pair[1]), uri.encode(pair[2]) }
  end
  table.sort(encoded, function(a, b)
    if a[1] ~= b[1] then
      return a[1] < b[1]
    end
    return a[2] < b[2]
  end)
  local items = {}
  for index, pair in ipairs(encoded) do
    items[index] = pair[2] == "" and pair[1] or (pair[1] .. "=" .. pair[2])
  end
  return table.concat(items, "&")
end

local function is_default_signed(name)
  return name == "content-type" or name == "content-md5" or name:sub(1, 6) == "x-oss-"
end

-- request: { method, bucket, key, parameters = { { name, value } }, headers = { [lower-case name] = value } }
function M.canonical_request(request, additional_headers)
  local path = "/"
  if request.bucket then
    path = "/" .. request.bucket .. "/" .. (request.key or "")
  end
  local names, seen = {}, {}
  for name in pairs(request.headers) do
    if is_default_signed(name) then
      names[#names + 1], seen[name] = name, true
    end
  end
  for _, name in ipairs(additional_headers) do
    if not seen[name] and request.headers[name] then
      names[#names + 1], seen[name] = name, true
    end
  end
  table.sort(names)
  local header_lines = {}
  for index, name in ipairs(names) do
    header_lines[index] = name .. ":" .. trim(request.headers[name]) .. "\n"
  end
  return table.concat({
    request.method,
    uri.encode(path, true),
    canonical_query(request.parameters),
    table.concat(header_lines),
    table.concat(additional_headers, ";"),
    request.headers["x-oss-content-sha256"] or "UNSIGNED-PAYLOAD",
  }, "\n")
end

function M.string_to_sign(x_oss_date, scope, canonical_request)
  return table.concat({ ALGORITHM, x_oss_date, scope, core.hex(core.sha256(canonical_request)) }, "\n")
end

function M.signature(secret, date, region, product, string_to_sign)
  local key = core.hmac_sha256("aliyun_v4" .. secret, date)
  key = core.hmac_sha256(key, region)
  key = core.hmac_sha256(key, product)
  key = core.hmac_sha256(key, "aliyun_v4_request")
  return core.hex(core.hmac_sha256(key, string_to_sign))
end

return M
