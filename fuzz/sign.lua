-- Fuzzes the signer's canonicalisation: percent-encoding round-trips, every signature the signer produces
-- matches one recomputed from the crypto primitives, and every refusal names what it refused, whatever the method,
-- names, values and query.
-- The input is split at byte 0x1F: flags, method, bucket, key, region, then name/value pairs; the flags choose the
-- time, the credentials, whether the input is also the body, and add_date.

local core = require "oss.core"

local CREDENTIALS = {
  { access_key_id = "ak", access_key_secret = "sk" },
  { access_key_id = "ak-sts", access_key_secret = ("s"):rep(300), security_token = "token/+=" },
}
local TIMES = { 0, 1702743657, 253402300799, -1 }

local function percent_decode(text)
  return (text:gsub("%%(%x%x)", function(hex) return string.char(tonumber(hex, 16)) end))
end

local function check_uri_encode(text)
  for _, keep_slash in ipairs { false, true } do
    local encoded = core.uri_encode(text, keep_slash)
    local allowed = keep_slash and "^[%w%-%._~/%%]*$" or "^[%w%-%._~%%]*$"
    assert(encoded:match(allowed), "uri_encode left a reserved byte in " .. encoded)
    assert(not encoded:match("%%%x?%l") and not encoded:match("%%[^%x]") and not encoded:match("%%%x?$"),
      "uri_encode wrote a malformed escape in " .. encoded)
    assert(percent_decode(encoded) == text, "uri_encode does not round-trip")
  end
end

local function v4_signature(secret, date, region, string_to_sign)
  local key = core.hmac_sha256("aliyun_v4" .. secret, date)
  key = core.hmac_sha256(key, region)
  key = core.hmac_sha256(key, "oss")
  key = core.hmac_sha256(key, "aliyun_v4_request")
  return core.hex(core.hmac_sha256(key, string_to_sign))
end

local function split(bytes)
  local parts = {}
  for part in (bytes .. "\31"):gmatch("(.-)\31") do parts[#parts + 1] = part end
  return parts
end

local function request_of(parts, flags)
  local request = {
    method = parts[2] or "GET", bucket = parts[3], key = parts[4], region = parts[5] or "cn-hangzhou",
    time = TIMES[flags % #TIMES + 1], query = {}, headers = {},
  }
  if request.bucket == "" then request.bucket = nil end
  if request.key == "" or request.bucket == nil then request.key = nil end
  local additional = {}
  for i = 6, #parts - 1, 2 do
    local name, value = parts[i], parts[i + 1]
    local place = #name % 3
    if place == 0 then
      request.query[name] = value
    else
      request.headers[name] = value
      if place == 2 then additional[#additional + 1] = name end
    end
  end
  if #additional > 0 then request.additional_headers = additional end
  return request
end

local function copy_request(request)
  local copy = {}
  for field, value in pairs(request) do
    if type(value) == "table" then
      local inner = {}
      for key, item in pairs(value) do inner[key] = item end
      value = inner
    end
    copy[field] = value
  end
  return copy
end

local shared_signer = core.signer()

-- Misuse raises; a refusal is nil, reason, path: the fuzzer never makes memory or OpenSSL fail, so a path is due.
local function refused(version, reason, path)
  assert(type(reason) == "string" and type(path) == "string", version .. ": a refusal without a reason and a path")
end

local function check_v4(request, credentials)
  local results = { pcall(shared_signer.sign_v4, shared_signer, copy_request(request), credentials) }
  if not results[1] then return end
  if results[2] == nil then return refused("sign_v4", results[3], results[4]) end
  local authorization, canonical, string_to_sign, query = results[2], results[3], results[4], results[5]
  assert(query == canonical:match("^[^\n]*\n[^\n]*\n([^\n]*)\n"), "the returned query is not the one signed")
  local date = string_to_sign:match("^OSS4%-HMAC%-SHA256\n(%d%d%d%d%d%d%d%d)T%d%d%d%d%d%dZ\n")
  assert(date, "string to sign has no date line")
  assert(string_to_sign:sub(-64) == core.hex(core.sha256(canonical)), "string to sign does not hash the request")
  local signature = authorization:match(",Signature=(%x+)$")
  assert(signature == v4_signature(credentials.access_key_secret, date, request.region, string_to_sign),
    "V4 signature differs from the one recomputed from the primitives")
  local fresh = { core.signer():sign_v4(copy_request(request), credentials) }
  assert(fresh[1] == authorization and fresh[2] == canonical, "a fresh signer disagrees with a reused one")
end

local function check_v1(request, credentials)
  local results = { pcall(shared_signer.sign_v1, shared_signer, copy_request(request), credentials) }
  if not results[1] then return end
  if results[2] == nil then return refused("sign_v1", results[3], results[4]) end
  local authorization, string_to_sign = results[2], results[3]
  local expected = "OSS " .. credentials.access_key_id .. ":" ..
    core.base64_encode(core.hmac_sha1(credentials.access_key_secret, string_to_sign))
  assert(authorization == expected, "V1 signature differs from the one recomputed from the primitives")
end

return function(bytes)
  check_uri_encode(bytes)
  local parts = split(bytes)
  local flags = (parts[1] or ""):byte(1) or 0
  local request = request_of(parts, flags)
  local credentials = CREDENTIALS[flags // 4 % #CREDENTIALS + 1]
  if flags % 2 == 1 then request.body = bytes end
  request.add_date = flags // 8 % 2 == 1
  local ok, query = pcall(core.canonical_query, request.query)
  if ok then
    assert(type(query) == "string", "canonical_query returned a " .. type(query))
  end
  check_v4(request, credentials)
  check_v1(request, credentials)
end
