-- Credentials of a RAM role assumed with another provider's credentials: STS AssumeRole, signed with the RPC
-- signature. The other provider may itself be temporary (a chain of roles), and is asked at every refresh.

local failure = require "oss.credentials.failure"
local http = require "oss.credentials.http"
local provider = require "oss.credentials.provider"
local refreshing = require "oss.credentials.refreshing"
local role_session = require "oss.credentials.role_session"
local rpc_signature = require "oss.credentials.rpc_signature"
local shared = require "oss.credentials.shared"
local sts = require "oss.credentials.sts"
local utc = require "oss.utc"

local ram_role_arn = {}

ram_role_arn.NAME = "ram_role_arn"

-- fetch() of AssumeRole, signed with the credentials settings.source has at that moment.
local function assumer(name, settings)
  local source, send, clock = settings.source, http.client(settings), settings.clock or os.time
  return function()
    local outer, source_err = source:get()
    if not outer then return nil, source_err end
    local now = clock()
    local query = {
      Timestamp = utc.iso8601(now), SignatureMethod = "HMAC-SHA1", SignatureVersion = "1.0",
      SignatureNonce = sts.nonce(), AccessKeyId = outer.access_key_id, SecurityToken = outer.security_token,
    }
    local form = role_session.form(settings)
    form.ExternalId = settings.external_id
    local credentials, call_err = sts.call {
      name = name, action = "AssumeRole", endpoint = settings.endpoint, send = send, query = query, form = form,
      headers = { ["x-acs-credentials-provider"] = outer.provider },
      secrets = { outer.access_key_secret, outer.security_token },
      sign = function(signed_query, signed_form)
        local params = {}
        for key, text in pairs(signed_query) do params[key] = text end
        for key, text in pairs(signed_form) do params[key] = text end
        return rpc_signature.sign("POST", params, outer.access_key_secret)
      end,
    }
    if not credentials then return nil, call_err end
    return credentials
  end
end

--- new(options) -> provider | nil, err
--- options: source (the provider whose credentials assume the role; required), role_arn (else
--- ALIBABA_CLOUD_ROLE_ARN), role_session_name (else ALIBABA_CLOUD_ROLE_SESSION_NAME), duration_seconds (3600),
--- policy, external_id, sts_endpoint, sts_region, enable_vpc, connect_timeout, timeout, clock, getenv.
function ram_role_arn.new(options)
  options = options or {}
  local source = options.source
  if not provider.is_provider(source) then
    return nil, failure.setting(ram_role_arn.NAME, "source: expected an oss.credentials provider, got "
      .. type(source))
  end
  local name = ram_role_arn.NAME .. "/" .. source.name
  local settings, err = role_session.settings(name, options, options.getenv or os.getenv)
  if not settings then return nil, err end
  settings.source, settings.clock = source, options.clock
  return shared.provider(name, settings, function()
    return refreshing.new(name, assumer(name, settings), settings.clock)
  end)
end

return ram_role_arn
