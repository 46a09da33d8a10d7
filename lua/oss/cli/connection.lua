-- Turns command-line options and OSS_* environment variables into a client. Its credentials are a key whose secret
-- comes only from the environment, or else the default chain (environment, profiles, instance role, ...).

local credentials = require "oss.credentials"
local oss = require "oss"
local oss_endpoint = require "oss.endpoint"

local connection = {}

local TRUE_WORDS = { ["1"] = true, ["true"] = true, yes = true, on = true }

--- Adds the options that choose the credentials to an argparse (sub)command. Without --access-key-id the
--- default chain finds them: OSS_* or ALIBABA_CLOUD_* variables, an OIDC token (RRSA), a profile, the ECS
--- instance's role, a credentials URI.
function connection.add_credentials_options(command)
  command:option("--access-key-id",
    "Access key id (env OSS_ACCESS_KEY_ID). The secret and an STS token are read from OSS_ACCESS_KEY_SECRET and "
    .. "OSS_SESSION_TOKEN only, so they never show in the process list.")
  command:option("--profile",
    "Profile of ~/.aliyun/config.json or section of ~/.alibabacloud/credentials (env ALIBABA_CLOUD_PROFILE).")
  command:option("--metadata-endpoint",
    "ECS metadata service for the instance's RAM role, host[:port] or URL (default 100.100.100.200).")
  command:option("--sts-endpoint", "STS for assumed roles, host[:port] or URL (default by ALIBABA_CLOUD_STS_REGION).")
end

--- Adds the connection options, the credentials' among them, to an argparse (sub)command.
function connection.add_options(command)
  command:option("--region", "Region id, e.g. cn-hangzhou (env OSS_REGION).")
  command:option("--endpoint", "http(s)://host[:port] (env OSS_ENDPOINT; default https://oss-<region>.aliyuncs.com).")
  connection.add_credentials_options(command)
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
    profile = args.profile,
    metadata_endpoint = args.metadata_endpoint,
    sts_endpoint = args.sts_endpoint,
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

-- The settings that choose the credentials rather than the service.
local CREDENTIALS_SETTINGS = { "access_key_id", "profile", "metadata_endpoint", "sts_endpoint" }

--- The provider of the credentials for settings -> provider | nil, err (validation, or what the chain answers):
--- a key given by id (the secret and token from the environment), else the default chain.
function connection.credentials_provider(settings, getenv)
  getenv = getenv or os.getenv
  if settings.access_key_id then
    local token = getenv("OSS_SESSION_TOKEN")
    return credentials.static(settings.access_key_id, getenv("OSS_ACCESS_KEY_SECRET"), token ~= "" and token or nil)
  end
  return credentials.default {
    profile = settings.profile, metadata_endpoint = settings.metadata_endpoint, sts_endpoint = settings.sts_endpoint,
    getenv = getenv,
  }
end

--- A client from settings -> client | nil, err (validation)
function connection.client(settings, getenv)
  local options = {}
  for name, value in pairs(settings) do options[name] = value end
  for _, name in ipairs(CREDENTIALS_SETTINGS) do options[name] = nil end
  local provider, err = connection.credentials_provider(settings, getenv)
  if not provider then return nil, err end
  options.credentials_provider = provider
  return oss.new(options)
end

return connection
