-- Where a client's access key comes from: static options, the OSS_* environment variables, or a refreshed function.
--
-- A provider is a function returning a credentials table { access_key_id, access_key_secret, security_token }
-- or nil, err. The secret lives only in the provider's closure, never in a field of the client.

local errors = require "oss.errors"

local credentials = {}

-- Temporary credentials are fetched again this long before they expire, so a request signed just before the
-- deadline does not reach the service after it.
credentials.REFRESH_MARGIN = 300

local function has_control_character(value)
  return value:find("[%z\r\n]") ~= nil
end

-- The values reach HTTP headers (the key id inside Authorization, the token as x-oss-security-token):
-- CR, LF or NUL there would split or cut a header, so they are refused with the field's name.
local function check(id, secret, token, origin)
  local fields = {
    { "access_key_id", id, true }, { "access_key_secret", secret, true }, { "security_token", token, false },
  }
  for _, field in ipairs(fields) do
    local name, value, required = field[1], field[2], field[3]
    if value == nil or (not required and value == "") then
      if required then return nil, errors.validation("missing (" .. origin .. ")", name) end
    elseif type(value) ~= "string" then
      return nil, errors.validation(("expected a string, got %s (%s)"):format(type(value), origin), name)
    elseif value == "" then
      return nil, errors.validation("empty (" .. origin .. ")", name)
    elseif has_control_character(value) then
      return nil, errors.validation("contains CR, LF or NUL (" .. origin .. ")", name)
    end
  end
  return { access_key_id = id, access_key_secret = secret, security_token = token ~= "" and token or nil }
end

local function constant(value)
  return function() return value end
end

--- A provider for a fixed key: static(id, secret [, token]) -> provider | nil, err
function credentials.static(id, secret, token)
  local value, err = check(id, secret, token, "options")
  if not value then return nil, err end
  return constant(value)
end

--- A provider for OSS_ACCESS_KEY_ID, OSS_ACCESS_KEY_SECRET and OSS_SESSION_TOKEN, read once, now.
function credentials.environment(getenv)
  getenv = getenv or os.getenv
  local value, err = check(getenv("OSS_ACCESS_KEY_ID"), getenv("OSS_ACCESS_KEY_SECRET"), getenv("OSS_SESSION_TOKEN"),
    "options or OSS_ACCESS_KEY_ID / OSS_ACCESS_KEY_SECRET")
  if not value then return nil, err end
  return constant(value)
end

local function pack(...) return { n = select("#", ...), ... } end
local unpack = table.unpack or unpack

-- A provider may yield (an HTTP call inside a coroutine), and Lua 5.1 cannot yield across pcall: there the
-- provider runs in a coroutine of its own whose yields are passed on to the caller's coroutine.
local protected_call = pcall
if _VERSION == "Lua 5.1" and not jit then
  protected_call = function(fn)
    local thread = coroutine.create(fn)
    local results = pack(coroutine.resume(thread))
    while coroutine.status(thread) ~= "dead" do
      results = pack(coroutine.resume(thread, coroutine.yield(unpack(results, 2, results.n))))
    end
    return unpack(results, 1, results.n)
  end
end

-- fetch() may return id, secret, token, expiration or one table with those fields.
local function call_fetch(fetch)
  local ok, first, secret, token, expiration = protected_call(fetch)
  if not ok then
    return nil, errors.validation("failed: " .. tostring(first), "credentials_provider")
  end
  if first == nil then
    if errors.is_error(secret) then return nil, secret end
    return nil, errors.validation("failed: " .. tostring(secret or "returned nothing"), "credentials_provider")
  end
  if type(first) == "table" then
    first, secret, token, expiration =
      first.access_key_id, first.access_key_secret, first.security_token, first.expiration
  end
  if expiration ~= nil and type(expiration) ~= "number" then
    return nil, errors.validation("expiration: expected unix seconds, got " .. type(expiration),
      "credentials_provider")
  end
  local value, err = check(first, secret, token, "credentials_provider")
  if not value then return nil, err end
  return value, expiration
end

--- A provider around fetch() -> id, secret, token, expiration (unix seconds; nil: ask again for every request).
--- The answer is kept until REFRESH_MARGIN before it expires. When a refresh fails while the kept credentials
--- are still valid they are used; otherwise the failure is returned. In OpenResty a fetch may yield: requests
--- arriving meanwhile use the kept credentials while they are valid instead of fetching again.
function credentials.refreshing(fetch, clock)
  clock = clock or os.time
  local kept, expires_at, in_flight = nil, nil, false
  return function()
    local now = clock()
    if kept and expires_at and now < expires_at - credentials.REFRESH_MARGIN then return kept end
    local still_valid = kept and expires_at and now < expires_at
    if in_flight and still_valid then return kept end
    in_flight = true
    local value, expiration_or_err = call_fetch(fetch)
    in_flight = false
    if not value then
      if still_valid then return kept end
      return nil, expiration_or_err
    end
    local expiration = expiration_or_err
    if expiration then
      kept, expires_at = value, expiration
    end
    return value
  end
end

--- The provider the client options name: credentials_provider, access_key_id/secret, or else the environment.
function credentials.from_options(options, getenv)
  if options.credentials_provider ~= nil then
    if type(options.credentials_provider) ~= "function" then
      error("oss.new: credentials_provider must be a function", 3)
    end
    return credentials.refreshing(options.credentials_provider, options.clock)
  end
  if options.access_key_id ~= nil or options.access_key_secret ~= nil then
    return credentials.static(options.access_key_id, options.access_key_secret, options.security_token)
  end
  return credentials.environment(getenv)
end

return credentials
