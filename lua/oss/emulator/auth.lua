-- Authenticates a request as the service does: access key, STS token, 15-minute skew, then the V1 or V4 signature.
local core = require "oss.core"
local clock = require "oss.emulator.clock"
local errors = require "oss.emulator.errors"
local verify_v1 = require "oss.emulator.verify_v1"
local verify_v4 = require "oss.emulator.verify_v4"
local utc = require "oss.utc"

local M = {}

local MAX_SKEW_SECONDS = 900

local function check_skew(request_time, now)
  if math.abs(request_time - now) <= MAX_SKEW_SECONDS then
    return nil
  end
  return errors.new("RequestTimeTooSkewed", nil, {
    extra = {
      { "MaxAllowedSkewMilliseconds", tostring(MAX_SKEW_SECONDS * 1000) },
      { "RequestTime", clock.iso8601(request_time) },
      { "ServerTime", clock.iso8601(now) },
    },
  })
end

-- Temporary credentials only work with the token they were issued with, and a token never rides on a permanent key.
local function check_token(key, headers)
  local token = headers["x-oss-security-token"]
  if key.token == nil and token == nil then
    return nil
  end
  if token == nil then
    return errors.new("AccessDenied", "The request must carry the security token of the temporary AccessKey.")
  end
  if token ~= key.token then
    return errors.new("AccessDenied", "The security token you provided is invalid.")
  end
  return nil
end

-- Temporary credentials the platform issued stop working when they expire by the emulator's clock.
local function check_expiry(key, context)
  if key.expires and context.now >= key.expires then
    return errors.new("SecurityTokenExpired", nil, { extra = { { "SecurityToken", key.token } } })
  end
  return nil
end

local function mismatch(string_to_sign, provided, canonical_request)
  local extra = {
    { "StringToSign", string_to_sign },
    { "SignatureProvided", provided },
  }
  if canonical_request then
    extra[#extra + 1] = { "CanonicalRequest", canonical_request }
  end
  return errors.new("SignatureDoesNotMatch", nil, { extra = extra })
end

local function check_v4(request, parsed, key, context)
  local headers = request.headers
  local x_oss_date = headers["x-oss-date"]
  local request_time = x_oss_date and utc.parse_iso8601_basic(x_oss_date)
  if not request_time then
    return errors.new("AccessDenied", "V4 requests must carry x-oss-date as yyyymmddTHHMMSSZ.")
  end
  if parsed.product ~= "oss" or parsed.terminator ~= "aliyun_v4_request" then
    return errors.new("InvalidArgument", "Invalid credential scope in Authorization header.")
  end
  if parsed.date ~= x_oss_date:sub(1, 8) then
    return errors.new("InvalidArgument", "Invalid signing date in Authorization header.")
  end
  if context.region and parsed.region ~= context.region then
    return errors.new("InvalidArgument", "Invalid signing region in Authorization header.")
  end
  local skewed = check_skew(request_time, context.now)
  if skewed then
    return skewed
  end
  local payload = headers["x-oss-content-sha256"]
  if payload == nil then
    return errors.new("InvalidArgument", "V4 requests must carry x-oss-content-sha256.")
  end
  if payload ~= "UNSIGNED-PAYLOAD" and payload:lower() ~= core.hex(core.sha256(request.body or "")) then
    return errors.new("InvalidArgument", "x-oss-content-sha256 does not match the request body.")
  end
  local canonical_request = verify_v4.canonical_request(request, parsed.additional_headers)
  local scope = table.concat({ parsed.date, parsed.region, parsed.product, parsed.terminator }, "/")
  local string_to_sign = verify_v4.string_to_sign(x_oss_date, scope, canonical_request)
  local expected = verify_v4.signature(key.secret, parsed.date, parsed.region, parsed.product, string_to_sign)
  if expected ~= parsed.signature then
    return mismatch(string_to_sign, parsed.signature, canonical_request)
  end
  return nil
end

local function check_v1(request, parsed, key, context)
  local headers = request.headers
  -- The Date line carries the Date header; clients whose HTTP stack owns Date sign x-oss-date there instead.
  local date = headers["date"] or headers["x-oss-date"]
  local request_time = date and utc.parse_http_date(date)
  if not request_time then
    return errors.new("AccessDenied", "V1 requests must carry a Date (or x-oss-date) in RFC 1123 form.")
  end
  local skewed = check_skew(request_time, context.now)
  if skewed then
    return skewed
  end
  local string_to_sign = verify_v1.string_to_sign(request, date)
  if verify_v1.signature(key.secret, string_to_sign) ~= parsed.signature then
    return mismatch(string_to_sign, parsed.signature)
  end
  return nil
end

local SCHEMES = {
  { prefix = "OSS4-HMAC-SHA256 ", parse = verify_v4.parse, check = check_v4, version = "v4" },
  { prefix = "OSS ", parse = verify_v1.parse, check = check_v1, version = "v1" },
}

-- request: { method, bucket, key, parameters, headers = { [lower-case] = value }, body }
-- find_key: function(access_key_id) -> { secret, token, expires } | nil
-- context: { now, region (the bucket's, or nil) }
-- -> { access_key_id, version } | nil, error value
function M.authenticate(request, find_key, context)
  local authorization = request.headers["authorization"]
  if authorization == nil then
    return nil, errors.new("AccessDenied", "Anonymous access is forbidden for this operation.")
  end
  for _, scheme in ipairs(SCHEMES) do
    if authorization:sub(1, #scheme.prefix) == scheme.prefix then
      local parsed, message = scheme.parse(authorization)
      if not parsed then
        return nil, errors.new("InvalidArgument", "Authorization header is invalid: " .. message)
      end
      local key = find_key(parsed.access_key_id)
      if not key then
        return nil, errors.new("InvalidAccessKeyId", nil, { extra = { { "OSSAccessKeyId", parsed.access_key_id } } })
      end
      local failure = check_token(key, request.headers) or check_expiry(key, context)
        or scheme.check(request, parsed, key, context)
      if failure then
        return nil, failure
      end
      return { access_key_id = parsed.access_key_id, version = scheme.version }
    end
  end
  return nil, errors.new("InvalidArgument", "Authorization header is invalid: unknown scheme.")
end

return M
