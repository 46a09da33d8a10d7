-- One set of credentials: checked once where it enters, printable without its secret or token.

local errors = require "oss.errors"

local value = {}

local Credentials = {}

-- Only the key id and where it came from: the secret and the token never reach a printed value.
function Credentials:__tostring()
  return ("oss.credentials: %s from %s"):format(self.access_key_id, self.provider or "?")
end

local function has_control_character(text)
  return text:find("[%z\r\n]") ~= nil
end

-- The values reach HTTP headers (the key id inside Authorization, the token as x-oss-security-token):
-- CR, LF or NUL there would split or cut a header, so they are refused with the field's name.
local FIELDS = {
  { name = "access_key_id", required = true },
  { name = "access_key_secret", required = true },
  { name = "security_token", required = false },
}

--- new(fields, origin) -> credentials | nil, err
--- fields: { access_key_id, access_key_secret, security_token, expiration (unix seconds) }; origin names where
--- they came from in an error ("options", "ecs_ram_role") and becomes the value's `provider`.
function value.new(fields, origin)
  for _, field in ipairs(FIELDS) do
    local name, text = field.name, fields[field.name]
    if text == nil or (not field.required and text == "") then
      if field.required then return nil, errors.validation("missing (" .. origin .. ")", name) end
    elseif type(text) ~= "string" then
      return nil, errors.validation(("expected a string, got %s (%s)"):format(type(text), origin), name)
    elseif text == "" then
      return nil, errors.validation("empty (" .. origin .. ")", name)
    elseif has_control_character(text) then
      return nil, errors.validation("contains CR, LF or NUL (" .. origin .. ")", name)
    end
  end
  local expiration = fields.expiration
  if expiration ~= nil and type(expiration) ~= "number" then
    return nil, errors.validation("expiration: expected unix seconds, got " .. type(expiration), origin)
  end
  local token = fields.security_token
  return setmetatable({
    access_key_id = fields.access_key_id,
    access_key_secret = fields.access_key_secret,
    security_token = token ~= "" and token or nil,
    expiration = expiration,
    provider = origin,
  }, Credentials)
end

--- The same credentials, said to come from `provider` (a chain names the link that supplied them).
function value.from(credentials, provider)
  local copy = {}
  for name, field in pairs(credentials) do copy[name] = field end
  copy.provider = provider
  return setmetatable(copy, Credentials)
end

return value
