-- Which region a request addressed, and the service's answer when that is not the bucket's own region.
local endpoint = require "oss.endpoint"
local errors = require "oss.emulator.errors"

local M = {}

-- "oss-cn-shanghai.aliyuncs.com", "bucket.oss-cn-shanghai-internal.aliyuncs.com" -> "cn-shanghai"
local function region_of_host(host)
  if not host then return nil end
  return (endpoint.region_of_host(host) or endpoint.region_of_host(host:gsub("^[^.]*%.", "")))
end

-- The region of a V4 credential scope: "OSS4-HMAC-SHA256 Credential=AK/20231216/cn-hangzhou/oss/aliyun_v4_request"
local function region_of_scope(authorization)
  return (authorization or ""):match("^OSS4%-HMAC%-SHA256 Credential=[^/,]+/[^/,]+/([^/,]+)/")
end

--- The region a request was sent to: its Host's endpoint, else its V4 signing scope; nil when neither says.
function M.requested(headers)
  return region_of_host(headers.host) or region_of_scope(headers.authorization)
end

--- The public endpoint of a region.
function M.endpoint(region)
  return "oss-" .. region .. ".aliyuncs.com"
end

--- The error the service answers for a bucket addressed through another region: it names the bucket's endpoint.
function M.wrong_region(bucket)
  return errors.new("AccessDenied", "The bucket you are attempting to access must be addressed using the specified "
    .. "endpoint. Please send all future requests to this endpoint.",
    { extra = { { "Bucket", bucket.name }, { "Endpoint", M.endpoint(bucket.region) } } })
end

return M
