-- Credentials from environment variables: OSS_* first (the OSS SDKs' names), then ALIBABA_CLOUD_* (the
-- credentials libraries').

local errors = require "oss.errors"
local provider = require "oss.credentials.provider"
local shared = require "oss.credentials.shared"
local value = require "oss.credentials.value"

local environment = {}

environment.NAME = "env"

local SETS = {
  { id = "OSS_ACCESS_KEY_ID", secret = "OSS_ACCESS_KEY_SECRET", token = "OSS_SESSION_TOKEN",
    origin = "OSS_* variables" },
  { id = "ALIBABA_CLOUD_ACCESS_KEY_ID", secret = "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    token = "ALIBABA_CLOUD_SECURITY_TOKEN", origin = "ALIBABA_CLOUD_* variables" },
}

local function present(text) return text ~= nil and text ~= "" end

--- new([getenv]) -> provider | nil, err (a validation error saying which variables are missing)
--- The variables are read once, now: a set applies when its key id or its secret is set.
function environment.new(getenv)
  getenv = getenv or os.getenv
  for _, names in ipairs(SETS) do
    local id, secret = getenv(names.id), getenv(names.secret)
    if present(id) or present(secret) then
      local credentials, err = value.new({
        access_key_id = id, access_key_secret = secret, security_token = getenv(names.token),
      }, names.origin)
      if not credentials then return nil, err end
      return shared.provider(environment.NAME, { id = credentials.access_key_id,
        secret = credentials.access_key_secret, token = credentials.security_token }, function()
        return provider.constant(environment.NAME, value.from(credentials, environment.NAME))
      end)
    end
  end
  return nil, errors.validation("missing: set OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET, or "
    .. "ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET", "access_key_id")
end

return environment
