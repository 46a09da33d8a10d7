-- Turns command-line options and OSS_* environment variables into a client; the secret comes only from the environment.

local oss = require "oss"
local oss_endpoint = require "oss.endpoint"

local connection = {}

local TRUE_WORDS = { ["1"] = true, ["true"] = true, yes = true, on = true }

--- Adds the connection options to an argparse (sub)command.
function connection.add_options(command)
  command:option("--region", "Region id, e.g. cn-hangzhou (env OSS_REGION).")
  command:option("--endpoint", "http(s)://host[:port] (env OSS_ENDPOINT; default https://oss-<region>.aliyuncs.com).")
  command:option("--access-key-id",
    "Access key id (env OSS_ACCESS_KEY_ID). The secret and an STS token are read from OSS_ACCESS_KEY_SECRET and "
    .. "OSS_SESSION_TOKEN only, so they never show in the process list.")
  command:option("--signature-version", "v4 or v1 (env OSS_SIGNATURE_VERSION; default v4).")
    :choices { "v4", "v1" }
  command:flag("--path-style", "Address buckets as http://host/bucket/ (env OSS_PATH_STYLE=1).")
  command:option("--timeout", "Seconds a request may take (default 60).")
    :convert(tonumber)
end

--- The settings a client is made from, without any secret: safe to write to a file for worker processes.
function connection.settings(args, getenv)
  getenv = getenv or os.getenv
  local path_style = args.path_style or TRUE_WORDS[(getenv("OSS_PATH_STYLE") or ""):lower()] or false
  return {
    region = args.region or getenv("OSS_REGION"),
    endpoint = args.endpoint or getenv("OSS_ENDPOINT"),
    access_key_id = args.access_key_id,
    signature_version = args.signature_version or getenv("OSS_SIGNATURE_VERSION"),
    path_style = path_style == true,
    timeout = args.timeout,
  }
end

-- The region of a public OSS endpoint (https://oss-cn-hangzhou[-internal].aliyuncs.com), and whether it is internal.
local function public_region(url)
  local host = url and url:match("^%a+://([^/]+)")
  if not host then return nil end
  return oss_endpoint.region_of_host(host)
end

--- The settings for a bucket that names its own region and/or endpoint (`nil` for the defaults). A region without
--- an endpoint moves a public default endpoint to that region (keeping its scheme and -internal); any other default
--- endpoint (a proxy, a private or emulated service) is kept, as it serves every region.
function connection.located(settings, region, endpoint)
  local out = {}
  for name, value in pairs(settings) do out[name] = value end
  if region then out.region = region end
  if endpoint then
    out.endpoint = endpoint
  elseif region and out.endpoint then
    local old_region, internal = public_region(out.endpoint)
    if old_region then
      out.endpoint = ("%s://oss-%s%s.aliyuncs.com"):format(out.endpoint:match("^(%a+)://"), region,
        internal and "-internal" or "")
    end
  end
  return out
end

--- A name for settings that selects the same client for the same region and endpoint.
function connection.key(settings)
  return tostring(settings.region) .. " " .. tostring(settings.endpoint)
end

--- A client from settings -> client | nil, err (validation)
function connection.client(settings, getenv)
  getenv = getenv or os.getenv
  local options = {}
  for name, value in pairs(settings) do options[name] = value end
  if options.access_key_id then
    -- The id came from the command line; the rest of the key still comes from the environment.
    options.access_key_secret = getenv("OSS_ACCESS_KEY_SECRET")
    local token = getenv("OSS_SESSION_TOKEN")
    options.security_token = token ~= "" and token or nil
  end
  return oss.new(options)
end

return connection
