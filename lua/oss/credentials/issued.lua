-- Reads the temporary credentials a service issued (the metadata service's, STS's or a credentials URI's JSON).

local cjson = require "cjson.safe"
local value = require "oss.credentials.value"

local issued = {}

-- Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil): os.time would read
-- the fields as local time.
local function days_from_civil(year, month, day)
  if month <= 2 then year = year - 1 end
  local era = math.floor(year / 400)
  local year_of_era = year - era * 400
  local shifted_month = (month + 9) % 12
  local day_of_year = math.floor((153 * shifted_month + 2) / 5) + day - 1
  local day_of_era = year_of_era * 365 + math.floor(year_of_era / 4) - math.floor(year_of_era / 100) + day_of_year
  return era * 146097 + day_of_era - 719468
end

--- unix_time("2026-12-02T17:00:00Z") -> seconds | nil
function issued.unix_time(text)
  if type(text) ~= "string" then return nil end
  local year, month, day, hour, minute, second = text:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)T(%d%d):(%d%d):(%d%d)Z$")
  if not year then return nil end
  return days_from_civil(tonumber(year), tonumber(month), tonumber(day)) * 86400
    + tonumber(hour) * 3600 + tonumber(minute) * 60 + tonumber(second)
end

--- timestamp(seconds) -> "2026-12-02T17:00:00Z", the form STS's Timestamp parameter takes
function issued.timestamp(seconds)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(seconds))
end

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
  local expiration = issued.unix_time(document.Expiration)
  if not expiration then return nil, "Expiration is not YYYY-MM-DDThh:mm:ssZ" end
  local credentials, err = value.new({
    access_key_id = document.AccessKeyId, access_key_secret = document.AccessKeySecret,
    security_token = document.SecurityToken, expiration = expiration,
  }, origin)
  if not credentials then return nil, err.message end
  return credentials
end

return issued
