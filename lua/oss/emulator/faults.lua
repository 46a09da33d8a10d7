-- Scripted faults: each one matches requests by method, path, bucket or operation and is used up `times` times.
local M = {}

local ACTIONS = { reset = true, truncate = true, malformed_xml = true, no_content_length = true }

local FIELDS = {
  method = "string", path = "string", bucket = "string", operation = "string",
  times = "number", delay = "number", status = "number", code = "string", message = "string", ec = "string",
  action = "string",
}

local function check(fault)
  if type(fault) ~= "table" then
    return nil, "a fault must be a table"
  end
  for name, value in pairs(fault) do
    local expected = FIELDS[name]
    if not expected then
      return nil, "unknown fault field '" .. tostring(name) .. "'"
    end
    if type(value) ~= expected then
      return nil, "fault field '" .. name .. "' must be a " .. expected
    end
  end
  if fault.action and not ACTIONS[fault.action] then
    return nil, "unknown fault action '" .. fault.action .. "'"
  end
  if fault.status and (fault.status < 100 or fault.status > 599 or fault.status % 1 ~= 0) then
    return nil, "fault status must be an HTTP status code"
  end
  if fault.status and fault.action then
    return nil, "a fault has either a status or an action, not both"
  end
  if not (fault.status or fault.action or fault.delay) then
    return nil, "a fault needs a status, an action or a delay"
  end
  if fault.times and (fault.times < 1 or fault.times % 1 ~= 0) then
    return nil, "fault times must be a positive integer"
  end
  if fault.delay and fault.delay < 0 then
    return nil, "fault delay must not be negative"
  end
  return true
end

M.check = check

local Queue = {}
Queue.__index = Queue

function M.new()
  return setmetatable({ pending = {} }, Queue)
end

function Queue:add(fault)
  local ok, message = check(fault)
  if not ok then
    return nil, message
  end
  local entry = { remaining = fault.times or 1 }
  for name, value in pairs(fault) do
    entry[name] = value
  end
  self.pending[#self.pending + 1] = entry
  return true
end

local function matches(fault, request)
  return (fault.method == nil or fault.method:upper() == request.method)
    and (fault.path == nil or fault.path == request.path)
    and (fault.bucket == nil or fault.bucket == request.bucket)
    and (fault.operation == nil or fault.operation == request.operation)
end

-- The first pending fault matching the request, used once; nil when none matches.
function Queue:take(request)
  for index, fault in ipairs(self.pending) do
    if matches(fault, request) then
      fault.remaining = fault.remaining - 1
      if fault.remaining == 0 then
        table.remove(self.pending, index)
      end
      return fault
    end
  end
  return nil
end

function Queue:list()
  local copies = {}
  for index, fault in ipairs(self.pending) do
    local copy = {}
    for name, value in pairs(fault) do
      copy[name] = value
    end
    copies[index] = copy
  end
  return copies
end

function Queue:clear()
  self.pending = {}
end

-- Whether the request still reaches the service: truncation and a missing Content-Length spoil only the answer.
function M.applies_request(fault)
  return fault.status == nil and (fault.action == nil or fault.action == "truncate"
    or fault.action == "no_content_length")
end

return M
