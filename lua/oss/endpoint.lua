-- Where a request goes: the endpoint URL parsed once, and the host and path for each addressing style.

local errors = require "oss.errors"

local endpoint = {}

local BUCKET_NAME = "^[a-z0-9][a-z0-9%-]*[a-z0-9]$"

--- nil when `name` is a valid OSS bucket name (3 to 63 lowercase letters, digits and inner hyphens), else why not.
function endpoint.bucket_name_problem(name)
  if #name < 3 or #name > 63 or not name:find(BUCKET_NAME) then
    return "expected a bucket name of 3 to 63 lowercase letters, digits and hyphens, "
      .. "starting and ending with a letter or digit"
  end
  return nil
end

--- Parses "https://host[:port]" into { scheme, host, port, authority }; nil, err when it is not one.
function endpoint.parse(url)
  if type(url) ~= "string" then
    return nil, errors.validation("expected a URL string", "endpoint")
  end
  local scheme, authority = url:match("^(https?)://([^/?#]+)/?$")
  if not scheme then
    return nil, errors.validation("expected http://host[:port] or https://host[:port] with no path", "endpoint")
  end
  local host, port = authority:match("^([%w%.%-]+):(%d+)$")
  host = host or authority:match("^[%w%.%-]+$") or authority:match("^%[[%x:]+%]$")
  if not host then
    return nil, errors.validation("invalid host in " .. url, "endpoint")
  end
  return { scheme = scheme, host = host:lower(), port = tonumber(port), authority = authority:lower() }
end

--- The default endpoint of a region.
function endpoint.for_region(region)
  return "https://oss-" .. region .. ".aliyuncs.com"
end

--- The base URL ("scheme://authority") and resource path of a bucket, per addressing style.
function endpoint.locate(parsed, bucket, style)
  local base = parsed.scheme .. "://"
  if style == "path" then
    return base .. parsed.authority, "/" .. bucket .. "/"
  elseif style == "cname" then
    return base .. parsed.authority, "/"
  end
  return base .. bucket .. "." .. parsed.authority, "/"
end

return endpoint
