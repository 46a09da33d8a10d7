-- One call to STS (AssumeRole, AssumeRoleWithOIDC) as the official credentials libraries make it: POST to "/",
-- the common parameters in the query, the action's in a form body, the answer's Credentials as JSON.

local core = require "oss.core"
local failure = require "oss.credentials.failure"
local http = require "oss.credentials.http"
local issued = require "oss.credentials.issued"

local sts = {}

sts.VERSION = "2015-04-01"

--- call(request) -> credentials | nil, err
--- request: { name (the provider's), action, endpoint ("https://host"), send (oss.credentials.http client),
---            query = { extra common parameters }, form = { action parameters }, headers, secrets = { ... },
---            sign = function(query, form) -> Signature | nil (AssumeRole) }
function sts.call(request)
  local query = request.query
  query.Action, query.Version, query.Format = request.action, sts.VERSION, "JSON"
  if request.sign then
    query.Signature = request.sign(query, request.form)
  end
  local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  for name, text in pairs(request.headers or {}) do headers[name] = text end
  local url = request.endpoint .. "/?" .. http.form(query)
  local response, err = request.send("POST", url, headers, http.form(request.form))
  if not response then return nil, failure.transport(request.name, request.action, err, request.secrets) end
  if response.status ~= 200 then
    return nil, failure.refused(request.name, request.action, response, request.secrets)
  end
  local document = issued.json(response.body)
  local credentials, reason = issued.credentials(document and document.Credentials, request.name)
  if not credentials then return nil, failure.invalid(request.name, request.action, reason) end
  return credentials
end

--- A SignatureNonce: unique per request so STS can refuse a replay. Random bytes, not the time and a counter:
--- nginx workers and processes started together must not repeat each other's.
function sts.nonce()
  return core.hex(core.random_bytes(16))
end

return sts
