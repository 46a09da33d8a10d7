-- Reads the temporary credentials a service issued (the metadata service's, STS's or a credentials URI's JSON).

local cjson = require "cjson.safe"
local utc = require "oss.utc"
local value = require "oss.credentials.value"

local issued = {}

--- json(body) -> table | nil
function issued.json(body)
  local document = cjson.decode(body or "")
  if type(document) ~= "table" then return nil end
  return document
end

--- credentials(document, origin) -> credentials | nil, reason
--- document: { AccessKeyId, AccessKeySecret, SecurityToken, Expiration }; all four are required.
function issued.credentials(document, origin)
  if type(document) ~= "table" then return nil, "no credentials in the answer" end
  for _, field in ipairs { "AccessKeyId", "AccessKeySecret", "SecurityToken", "Expiration" } do
    if type(document[field]) ~= "string" or document[field] == "" then
      return nil, "the answer has no " .. field
    end
  end
  local expiration = utc.parse_iso8601(document.Expiration)
  if not expiration then return nil, "Expiration is not YYYY-MM-DDThh:mm:ssZ" end
  local credentials, err = value.new({
    access_key_id = document.AccessKeyId, access_key_secret = document.AccessKeySecret,
    security_token = document.SecurityToken, expiration = expiration,
  }, origin)
  if not credentials then return nil, err.message end
  return credentials
end

--- The credentials in an answer of the metadata service or a credentials URI: a JSON document whose Code, when
--- there (always, when `code_required`), is "Success". -> credentials | nil, reason
function issued.from_answer(body, origin, code_required)
  local document = issued.json(body)
  if not document then return nil, "the answer is not JSON" end
  if (code_required or document.Code ~= nil) and document.Code ~= "Success" then
    return nil, "Code is " .. tostring(document.Code) .. ", not Success"
  end
  return issued.credentials(document, origin)
end

return issued
