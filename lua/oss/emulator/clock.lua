-- The emulator's notion of now (real time plus an adjustable offset) and the date formats OSS reads and writes.
local utc = require "oss.utc"

local M = {}

M.parse_http_date = utc.parse_http_date -- "Sat, 16 Dec 2023 16:20:57 GMT", the only form OSS accepts
M.parse_iso8601_basic = utc.parse_iso8601_basic -- "20231216T162057Z"
M.parse_iso8601 = utc.parse_iso8601 -- "2023-12-16T16:20:57Z", the platform's Timestamp and Expiration

function M.http_date(seconds)
  return os.date("!%a, %d %b %Y %H:%M:%S GMT", seconds)
end

-- The form the service uses for RequestTime/ServerTime in RequestTimeTooSkewed.
function M.iso8601(seconds)
  return os.date("!%Y-%m-%dT%H:%M:%S.000Z", seconds)
end

-- The platform's form (STS Expiration, instance metadata): whole seconds, no fraction.
M.iso8601_seconds = utc.iso8601

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
