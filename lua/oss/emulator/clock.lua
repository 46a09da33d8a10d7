-- The emulator's notion of now (real time plus an adjustable offset) and the date formats OSS reads and writes.

local M = {}

function M.http_date(seconds)
  return os.date("!%a, %d %b %Y %H:%M:%S GMT", seconds)
end

-- The form the service uses for RequestTime/ServerTime in RequestTimeTooSkewed.
function M.iso8601(seconds)
  return os.date("!%Y-%m-%dT%H:%M:%S.000Z", seconds)
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
