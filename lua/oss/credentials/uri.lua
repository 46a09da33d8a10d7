-- Credentials from a URL that answers the credentials document (ALIBABA_CLOUD_CREDENTIALS_URI), as a sidecar or
-- a local agent serves them.

local failure = require "oss.credentials.failure"
local http = require "oss.credentials.http"
local issued = require "oss.credentials.issued"
local refreshing = require "oss.credentials.refreshing"
local shared = require "oss.credentials.shared"

local uri = {}

uri.NAME = "credential_uri"
local NAME = uri.NAME

-- fetch() of the document at settings.url.
local function fetcher(settings)
  local url = settings.url
  local send = http.client { connect_timeout = settings.connect_timeout, timeout = settings.timeout }
  local step = "GET " .. url:gsub("%?.*", "")
  return function()
    local response, err = send("GET", url)
    if not response then return nil, failure.transport(NAME, step, err) end
    if response.status ~= 200 then return nil, failure.refused(NAME, step, response) end
    local credentials, reason = issued.from_answer(response.body, NAME, false)
    if not credentials then return nil, failure.invalid(NAME, step, reason) end
    return credentials
  end
end

--- new([options]) -> provider | nil, err
--- options: credentials_uri (else ALIBABA_CLOUD_CREDENTIALS_URI), connect_timeout (5), timeout (15), clock, getenv
function uri.new(options)
  options = options or {}
  local url = options.credentials_uri or (options.getenv or os.getenv)("ALIBABA_CLOUD_CREDENTIALS_URI")
  if type(url) ~= "string" or not url:find("^https?://[^/%s]") or url:find("[%s%c]") then
    return nil, failure.setting(NAME,
      "credentials_uri: expected an http(s):// URL (give credentials_uri or set ALIBABA_CLOUD_CREDENTIALS_URI)")
  end
  local settings = {
    url = url, connect_timeout = options.connect_timeout or 5, timeout = options.timeout or 15, clock = options.clock,
  }
  return shared.provider(NAME, settings, function() return refreshing.new(NAME, fetcher(settings), options.clock) end)
end

return uri
