-- A fixed key, with or without a security token: named as the official libraries name it (static_ak,
-- static_sts), since that name travels to STS in x-acs-credentials-provider when the key assumes a role.

local provider = require "oss.credentials.provider"
local shared = require "oss.credentials.shared"
local value = require "oss.credentials.value"

local static = {}

--- new(id, secret, token, origin) -> provider | nil, err; origin names where the key came from in an error.
function static.new(id, secret, token, origin)
  local fixed, err = value.new({ access_key_id = id, access_key_secret = secret, security_token = token }, origin)
  if not fixed then return nil, err end
  local name = fixed.security_token and "static_sts" or "static_ak"
  return shared.provider(name, { id = fixed.access_key_id, secret = fixed.access_key_secret,
    token = fixed.security_token }, function() return provider.constant(name, value.from(fixed, name)) end)
end

return static
