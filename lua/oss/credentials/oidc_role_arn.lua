-- Credentials of a RAM role assumed with an OIDC token (RRSA in Kubernetes): STS AssumeRoleWithOIDC, unsigned,
-- with the token file's content read again at every refresh, since the platform rotates it.

local failure = require "oss.credentials.failure"
local file = require "oss.file"
local http = require "oss.credentials.http"
local refreshing = require "oss.credentials.refreshing"
local role_session = require "oss.credentials.role_session"
local shared = require "oss.credentials.shared"
local sts = require "oss.credentials.sts"
local utc = require "oss.utc"

local oidc_role_arn = {}

oidc_role_arn.NAME = "oidc_role_arn"
local NAME = oidc_role_arn.NAME

local function read_token(path)
  local token, err = file.read(path)
  if not token then return nil, failure.setting(NAME, "reading the OIDC token file: " .. tostring(err)) end
  if token == "" then
    return nil, failure.setting(NAME, "reading the OIDC token file: " .. path .. " is empty")
  end
  return token
end

-- fetch() of AssumeRoleWithOIDC, with the token file's content at that moment.
local function exchanger(settings)
  local send, clock = http.client(settings), settings.clock or os.time
  return function()
    local token, token_err = read_token(settings.oidc_token_file)
    if not token then return nil, token_err end
    local form = role_session.form(settings)
    form.OIDCProviderArn, form.OIDCToken = settings.oidc_provider_arn, token
    return sts.call {
      name = NAME, action = "AssumeRoleWithOIDC", endpoint = settings.endpoint, send = send,
      query = { Timestamp = utc.iso8601(clock()) }, form = form, secrets = { token },
    }
  end
end

--- new([options]) -> provider | nil, err
--- options: role_arn, oidc_provider_arn, oidc_token_file, role_session_name (else ALIBABA_CLOUD_ROLE_ARN,
--- ALIBABA_CLOUD_OIDC_PROVIDER_ARN, ALIBABA_CLOUD_OIDC_TOKEN_FILE, ALIBABA_CLOUD_ROLE_SESSION_NAME),
--- duration_seconds, policy, sts_endpoint, sts_region, enable_vpc, connect_timeout, timeout, clock, getenv.
function oidc_role_arn.new(options)
  options = options or {}
  local getenv = options.getenv or os.getenv
  local provider_arn = options.oidc_provider_arn or getenv("ALIBABA_CLOUD_OIDC_PROVIDER_ARN")
  local token_file = options.oidc_token_file or getenv("ALIBABA_CLOUD_OIDC_TOKEN_FILE")
  local settings, err = role_session.settings(NAME, options, getenv)
  if not settings then return nil, err end
  if type(provider_arn) ~= "string" or provider_arn == "" then
    return nil, failure.setting(NAME,
      "oidc_provider_arn: missing (give oidc_provider_arn or set ALIBABA_CLOUD_OIDC_PROVIDER_ARN)")
  end
  if type(token_file) ~= "string" or token_file == "" then
    return nil, failure.setting(NAME,
      "oidc_token_file: missing (give oidc_token_file or set ALIBABA_CLOUD_OIDC_TOKEN_FILE)")
  end
  settings.oidc_provider_arn, settings.oidc_token_file, settings.clock = provider_arn, token_file, options.clock
  return shared.provider(NAME, settings, function()
    return refreshing.new(NAME, exchanger(settings), settings.clock)
  end)
end

return oidc_role_arn
