-- Where a client's access key comes from: given in oss.new, or the OSS_* environment variables.
--
-- A provider is a function returning a credentials table { access_key_id, access_key_secret, security_token }
-- or nil, err. The secret lives only in the provider's closure, never in a field of the client.

local errors = require "oss.errors"

local credentials = {}

local function has_control_character(value)
  return value:find("[%z\r\n]") ~= nil
end

local function check(id, secret, token, origin)
  if type(id) ~= "string" or id == "" then
    return nil, errors.validation("access_key_id is missing (" .. origin .. ")")
  end
  if type(secret) ~= "string" or secret == "" then
    return nil, errors.validation("access_key_secret is missing (" .. origin .. ")")
  end
  if token ~= nil and (type(token) ~= "string" or token == "") then
    return nil, errors.validation("security_token must be a non-empty string (" .. origin .. ")")
  end
  if has_control_character(id) or has_control_character(secret) or (token and has_control_character(token)) then
    return nil, errors.validation("credentials contain a control character (" .. origin .. ")")
  end
  return { access_key_id = id, access_key_secret = secret, security_token = token }
end

local function constant(value)
  return function() return value end
end

--- A provider for credentials given in the options, or else found in the environment.
function credentials.from_options(options, getenv)
  getenv = getenv or os.getenv
  if options.credentials_provider ~= nil then
    if type(options.credentials_provider) ~= "function" then
      error("oss.new: credentials_provider must be a function", 3)
    end
    return options.credentials_provider
  end
  local value, err
  if options.access_key_id ~= nil or options.access_key_secret ~= nil then
    value, err = check(options.access_key_id, options.access_key_secret, options.security_token, "options")
  else
    local token = getenv("OSS_SESSION_TOKEN")
    if token == "" then token = nil end
    value, err = check(getenv("OSS_ACCESS_KEY_ID"), getenv("OSS_ACCESS_KEY_SECRET"), token,
      "options or OSS_ACCESS_KEY_ID / OSS_ACCESS_KEY_SECRET")
  end
  if not value then return nil, err end
  return constant(value)
end

return credentials
