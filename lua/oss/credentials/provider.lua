-- The one shape of a credentials provider: a name and get(), shared by every source of credentials.
--
-- provider:get() -> credentials | nil, err, where credentials (oss.credentials.value) has access_key_id,
-- access_key_secret, security_token, expiration (unix seconds or nil) and provider (the name of what supplied
-- them). A provider holds no per-client state, so one provider may serve every client of a process or worker.

local value = require "oss.credentials.value"

local provider = {}

local Provider = {}
Provider.__index = Provider

function Provider:__tostring()
  return "oss.credentials.provider: " .. self.name
end

--- new(name, get) -> provider, where get(provider) -> credentials | nil, err
function provider.new(name, get)
  return setmetatable({ name = name, get = get }, Provider)
end

function provider.is_provider(candidate)
  return getmetatable(candidate) == Provider
end

--- A provider of one fixed set of credentials.
function provider.constant(name, credentials)
  return provider.new(name, function() return credentials end)
end

--- renamed(name, inner) -> a provider answering inner's credentials as supplied by "name/<inner's provider>",
--- so a chain or a profile can say which link gave them. The renamed copy is made once per set of credentials.
function provider.renamed(name, inner)
  local last_inner, last_outer
  return provider.new(name, function()
    local credentials, err = inner:get()
    if not credentials then return nil, err end
    if credentials ~= last_inner then
      last_inner, last_outer = credentials, value.from(credentials, name .. "/" .. credentials.provider)
    end
    return last_outer
  end)
end

return provider
