-- The emulator's notion of now (real time plus an adjustable offset) and the date formats OSS reads and writes.
local M = {}

local MONTHS = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6, Jul = 7, Aug = 8, Sep = 9, Oct = 10,
  Nov = 11, Dec = 12 }

-- Days since 1970-01-01 of a proleptic Gregorian date: os.time reads local time, the wire is UTC.
local function days_from_civil(year, month, day)
  if month <= 2 then
    year = year - 1
  end
  local era = math.floor(year / 400)
  local year_of_era = year - era * 400
  local shifted_month = (month + 9) % 12
  local day_of_year = math.floor((153 * shifted_month + 2) / 5) + day - 1
  local day_of_era = year_of_era * 365 + math.floor(year_of_era / 4) - math.floor(year_of_era / 100) + day_of_year
  return era * 146097 + day_of_era - 719468
end

local function to_epoch(year, month, day, hour, minute, second)
  if month < 1 or month > 12 or day < 1 or day > 31 or hour > 23 or minute > 59 or second > 60 then
    return nil
  end
  return days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
end

-- "Sat, 16 Dec 2023 16:20:57 GMT" (RFC 1123, the only form OSS accepts) -> unix seconds, or nil.
function M.parse_http_date(text)
  local day, month, year, hour, minute, second =
    text:match("^%a%a%a, (%d%d) (%a%a%a) (%d%d%d%d) (%d%d):(%d%d):(%d%d) GMT$")
  if not day or not MONTHS[month] then
    return nil
  end
  return to_epoch(tonumber(year), MONTHS[month], tonumber(day), tonumber(hour), tonumber(minute), tonumber(second))
end

-- "20231216T162057Z" -> unix seconds, or nil.
function M.parse_iso8601_basic(text)
  local year, month, day, hour, minute, second = text:match("^(%d%d%d%d)(%d%d)(%d%d)T(%d%d)(%d%d)(%d%d)Z$")
  if not year then
    return nil
  end
  return to_epoch(tonumber(year), tonumber(month), tonumber(day), tonumber(hour), tonumber(minute), tonumber(second))
end

-- "2023-12-16T16:20:57Z" (the platform's Timestamp and Expiration form) -> unix seconds, or nil.
function M.parse_iso8601(text)
  local year, month, day, hour, minute, second = text:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)T(%d%d):(%d%d):(%d%d)Z$")
  if not year then
    return nil
  end
  return to_epoch(tonumber(year), tonumber(month), tonumber(day), tonumber(hour), tonumber(minute), tonumber(second))
end

function M.http_date(seconds)
  return os.date("!%a, %d %b %Y %H:%M:%S GMT", seconds)
end

-- The form the service uses for RequestTime/ServerTime in RequestTimeTooSkewed.
function M.iso8601(seconds)
  return os.date("!%Y-%m-%dT%H:%M:%S.000Z", seconds)
end

-- The platform's form (STS Expiration, instance metadata): whole seconds, no fraction.
function M.iso8601_seconds(seconds)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", seconds)
end

local Clock = {}
Clock.__index = Clock

function M.new()
  return setmetatable({ offset = 0 }, Clock)
end

function Clock:now()
  return os.time() + self.offset
end

function Clock:set_offset(seconds)
  self.offset = seconds
end

return M
