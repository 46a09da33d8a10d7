-- Where a client's credentials come from: a static key, the environment, a profile, the ECS instance's role, an
-- OIDC token, an assumed role, a credentials URI, the default chain of those, or a function of the caller's.
--
-- Every one is a provider (oss.credentials.provider): a name and get() -> credentials | nil, err. Temporary
-- credentials are kept and refreshed by oss.credentials.refreshing; the secret and the token live in the
-- credentials table the provider hands to the signer, never in a client's field, an error or a tostring.
--
-- The constructors answer one provider per set of settings in a process or nginx worker (oss.credentials.shared):
-- a client built per request with the same settings shares the credentials, and the fetches, of every other.

local errors = require "oss.errors"
local provider = require "oss.credentials.provider"
local refreshing = require "oss.credentials.refreshing"
local shared = require "oss.credentials.shared"
local value = require "oss.credentials.value"

local credentials = {}

-- How long before expiry temporary credentials are fetched again (at most half their lifetime).
credentials.REFRESH_MARGIN = refreshing.MARGIN

--- static(id, secret [, token]) -> provider | nil, err
function credentials.static(id, secret, token)
  return require("oss.credentials.static").new(id, secret, token, "options")
end

--- environment([getenv]) -> provider | nil, err: OSS_* variables, else ALIBABA_CLOUD_*, read once, now.
function credentials.environment(getenv)
  return require("oss.credentials.environment").new(getenv)
end

function credentials.ecs_ram_role(options) return require("oss.credentials.ecs_ram_role").new(options) end
function credentials.oidc_role_arn(options) return require("oss.credentials.oidc_role_arn").new(options) end
function credentials.ram_role_arn(options) return require("oss.credentials.ram_role_arn").new(options) end
function credentials.uri(options) return require("oss.credentials.uri").new(options) end
function credentials.default(options) return require("oss.credentials.default").new(options) end

--- cli_profile([options]) and profile([options]) -> provider | nil, err: config.json, and the INI file.
function credentials.cli_profile(options)
  local made, err = require("oss.credentials.profiles").cli(options)
  return made, err
end
function credentials.profile(options)
  local made, err = require("oss.credentials.profiles").file(options)
  return made, err
end

--- is_provider(value) -> true for what the constructors above return
credentials.is_provider = provider.is_provider

-- A user's fetch() answers id, secret, token, expiration, or one table with those fields.
local function user_fetch(fetch)
  return function()
    local first, secret, token, expiration = fetch()
    if first == nil then
      if errors.is_error(secret) then return nil, secret end
      return nil, errors.validation("failed: " .. tostring(secret or "returned nothing"), "credentials_provider")
    end
    if type(first) == "table" then
      first, secret, token, expiration =
        first.access_key_id, first.access_key_secret, first.security_token, first.expiration
    end
    return value.new({
      access_key_id = first, access_key_secret = secret, security_token = token, expiration = expiration,
    }, "credentials_provider")
  end
end

--- refreshing(fetch [, clock]) -> provider around a function of the caller's
--- fetch() -> id, secret, token, expiration (unix seconds; nil: ask again for every request) or one table.
function credentials.refreshing(fetch, clock)
  return shared.provider("credentials_provider", { fetch = fetch, clock = clock }, function()
    return refreshing.new("credentials_provider", user_fetch(fetch), clock)
  end)
end

--- forget() -> drops every provider the constructors keep: the next one built starts with no credentials.
credentials.forget = shared.forget

--- The options of oss.new that reach the providers the default chain builds.
local CHAIN_OPTIONS = { "clock", "getenv", "metadata_endpoint", "sts_endpoint" }

--- from_options(options [, getenv]) -> provider | nil, err: credentials_provider (a provider or a function),
--- else access_key_id / access_key_secret / security_token, else the default chain.
function credentials.from_options(options, getenv)
  local given = options.credentials_provider
  if given ~= nil then
    if provider.is_provider(given) then return given end
    if type(given) ~= "function" then
      error("oss.new: credentials_provider must be an oss.credentials provider or a function", 3)
    end
    return credentials.refreshing(given, options.clock)
  end
  if options.access_key_id ~= nil or options.access_key_secret ~= nil then
    return credentials.static(options.access_key_id, options.access_key_secret, options.security_token)
  end
  local chain_options = {}
  for _, name in ipairs(CHAIN_OPTIONS) do chain_options[name] = options[name] end
  chain_options.getenv = getenv or chain_options.getenv
  return credentials.default(chain_options)
end

return credentials
