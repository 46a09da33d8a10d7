-- The errors a provider returns: each names the provider and the step that failed, and none repeats a secret.

local core = require "oss.core"
local errors = require "oss.errors"
local issued = require "oss.credentials.issued"

local failure = {}

local REDACTED = "[redacted]"
-- A refusal that is not JSON (an HTML error page) is quoted only this far.
local MAX_QUOTED = 200

-- A service may echo what it was sent (STS's SignatureDoesNotMatch quotes the string to sign, which carries the
-- security token): every secret is cut out of a service's text, raw and percent-encoded.
local function redact(text, secrets)
  text = tostring(text)
  for _, secret in ipairs(secrets or {}) do
    if secret ~= "" then
      for _, form in ipairs { secret, core.uri_encode(secret), core.uri_encode(core.uri_encode(secret)) } do
        local first, last = text:find(form, 1, true)
        while first do
          text = text:sub(1, first - 1) .. REDACTED .. text:sub(last + 1)
          first, last = text:find(form, first + #REDACTED, true)
        end
      end
    end
  end
  return text
end
failure.redact = redact

local function where(name, step, reason)
  return ("%s: %s: %s"):format(name, step, reason)
end

--- The transport's error (network, or validation of a URL) with the provider and the step in front.
function failure.transport(name, step, err, secrets)
  if type(err) == "table" and err.kind == "network" then
    return errors.network(err.code, where(name, step, redact(err.message, secrets)))
  end
  return errors.validation(step .. ": " .. redact(type(err) == "table" and err.message or err, secrets), name)
end

--- The service refused (status, and Code/Message/RequestId when its answer is JSON).
function failure.refused(name, step, response, secrets)
  local document = issued.json(response.body) or {}
  local message = type(document.Message) == "string" and document.Message or (response.body or ""):sub(1, MAX_QUOTED)
  return errors.service {
    status = response.status,
    code = type(document.Code) == "string" and document.Code or nil,
    message = where(name, step, redact(message ~= "" and message or "refused", secrets)),
    request_id = type(document.RequestId) == "string" and document.RequestId or nil,
    host_id = type(document.HostId) == "string" and document.HostId or nil,
  }
end

--- The service answered 200 with something that is not what the step expects.
function failure.invalid(name, step, reason, status)
  return errors.service { status = status or 200, code = "InvalidResponse", message = where(name, step, reason) }
end

--- A setting is missing or wrong: the provider cannot be made or cannot run.
function failure.setting(name, reason)
  return errors.validation(reason, name)
end

return failure
