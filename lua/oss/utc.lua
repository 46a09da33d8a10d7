-- UTC calendar times on the wire as unix seconds: os.time would read the fields as local time, and os.date("!...")
-- writes them back.

local utc = {}

local MONTHS = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6, Jul = 7, Aug = 8, Sep = 9, Oct = 10,
  Nov = 11, Dec = 12 }

local function days_in_month(year, month)
  if month == 2 then
    local leap = (year % 4 == 0 and year % 100 ~= 0) or year % 400 == 0
    return leap and 29 or 28
  end
  return (month == 4 or month == 6 or month == 9 or month == 11) and 30 or 31
end

--- Unix seconds of a UTC calendar time (numbers or digit strings); nil for a time that does not exist, or one
--- outside 1970 to 9999, which no server, token or signature of ours can carry.
function utc.seconds(year, month, day, hour, minute, second)
  year, month, day = tonumber(year), tonumber(month), tonumber(day)
  hour, minute, second = tonumber(hour), tonumber(minute), tonumber(second)
  if not (year and month and day and hour and minute and second) then return nil end
  if year < 1970 or year > 9999 or month < 1 or month > 12 or day < 1 or day > days_in_month(year, month)
    or hour > 23 or minute > 59 or second > 60 then
    return nil
  end
  -- days since 1970-01-01 of a proleptic Gregorian date (the days_from_civil algorithm)
  local shifted_year = month <= 2 and year - 1 or year
  local era = math.floor(shifted_year / 400)
  local year_of_era = shifted_year - era * 400
  local day_of_year = math.floor((153 * ((month + 9) % 12) + 2) / 5) + day - 1
  local day_of_era = year_of_era * 365 + math.floor(year_of_era / 4) - math.floor(year_of_era / 100) + day_of_year
  return (era * 146097 + day_of_era - 719468) * 86400 + hour * 3600 + minute * 60 + second
end

--- "Sat, 16 Dec 2023 16:20:57 GMT" (an HTTP Date, RFC 1123) -> seconds | nil
function utc.parse_http_date(text)
  if type(text) ~= "string" then return nil end
  local day, month, year, hour, minute, second =
    text:match("^%a%a%a, (%d%d?) (%a%a%a) (%d%d%d%d) (%d%d):(%d%d):(%d%d) GMT$")
  return day and MONTHS[month] and utc.seconds(year, MONTHS[month], day, hour, minute, second) or nil
end

--- "2023-12-16T16:20:57Z" -> seconds | nil; `fraction` also takes "2023-12-16T16:20:57.000Z" (ServerTime).
function utc.parse_iso8601(text, fraction)
  if type(text) ~= "string" then return nil end
  local year, month, day, hour, minute, second, rest =
    text:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)T(%d%d):(%d%d):(%d%d)(.*)$")
  if not year or not (rest == "Z" or (fraction and rest:find("^%.%d+Z$"))) then return nil end
  return utc.seconds(year, month, day, hour, minute, second)
end

--- "20231216T162057Z" (V4's x-oss-date) -> seconds | nil
function utc.parse_iso8601_basic(text)
  if type(text) ~= "string" then return nil end
  local year, month, day, hour, minute, second = text:match("^(%d%d%d%d)(%d%d)(%d%d)T(%d%d)(%d%d)(%d%d)Z$")
  return year and utc.seconds(year, month, day, hour, minute, second) or nil
end

--- seconds -> "2023-12-16T16:20:57Z", the platform's form (STS Timestamp and Expiration, instance metadata)
function utc.iso8601(seconds)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(seconds))
end

return utc
