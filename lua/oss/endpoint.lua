-- Where a request goes: the endpoint URL parsed once, and the host and path for each addressing style.

local core = require "oss.core"
local errors = require "oss.errors"

local endpoint = {}

--- nil when `name` is a valid OSS bucket name, else why not. The rule itself is the C core's, which the writer
--- applies to a destination's bucket ARN too.
function endpoint.bucket_name_problem(name)
  if not core.is_bucket_name(name) then
    return "expected a bucket name of 3 to 63 lowercase letters, digits and hyphens, "
      .. "starting and ending with a letter or digit"
  end
  return nil
end

--- nil when `region` is a region id such as cn-hangzhou, else why not.
function endpoint.region_problem(region)
  if type(region) ~= "string" or not region:find("^[a-z0-9][a-z0-9%-]*$") then
    return "expected a region id such as cn-hangzhou"
  end
  if region:find("^oss%-") then
    return "give the region id without the oss- prefix (cn-hangzhou, not oss-cn-hangzhou)"
  end
  return nil
end

--- The region of a public OSS endpoint's host ("oss-cn-shanghai.aliyuncs.com" or
--- "oss-cn-shanghai-internal.aliyuncs.com", any case, with or without a port) and whether it is the internal one;
--- nil for any other host.
function endpoint.region_of_host(host)
  local region = host:lower():match("^oss%-([a-z0-9%-]+)%.aliyuncs%.com:?%d*$")
  if not region then return nil end
  local bare = region:gsub("%-internal$", "")
  return bare, bare ~= region
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
  -- A name or IPv4 address, or an IPv6 address in brackets; then an optional port.
  local host, rest = authority:match("^(%[[%x:%.]+%])(.*)$")
  if not host then host, rest = authority:match("^([%w%.%-]+)(.*)$") end
  if not host then
    return nil, errors.validation("invalid host in " .. url, "endpoint")
  end
  local port
  if rest ~= "" then
    port = tonumber(rest:match("^:(%d+)$"))
    if not port or port < 1 or port > 65535 then
      return nil, errors.validation("invalid port in " .. url .. ": expected 1 to 65535", "endpoint")
    end
  end
  return { scheme = scheme, host = host:lower(), port = port, authority = authority:lower() }
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
