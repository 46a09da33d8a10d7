-- The error objects every failure returns: a stable `kind`, readable fields, and a one-line tostring.

local errors = {}

local Error = {}
Error.__index = Error

local function one_line(text)
  return (tostring(text):gsub("[%c]+", " "))
end

-- Every field goes through one_line: code, request id and ec come from the server too, and a server must not be
-- able to start a new line in the caller's log.
function Error:__tostring()
  if self.kind == "service" then
    local parts = { ("service error %s"):format(one_line(self.status or "?")) }
    if self.code then parts[#parts + 1] = " " .. one_line(self.code) end
    if self.message then parts[#parts + 1] = ": " .. one_line(self.message) end
    local ids = {}
    -- A wrong-region answer names the endpoint to use instead: the one thing that makes it actionable.
    local endpoint = type(self.details) == "table" and self.details.Endpoint
    if type(endpoint) == "string" then ids[#ids + 1] = "endpoint " .. one_line(endpoint) end
    if self.request_id then ids[#ids + 1] = "request id " .. one_line(self.request_id) end
    if self.ec then ids[#ids + 1] = "ec " .. one_line(self.ec) end
    if #ids > 0 then parts[#parts + 1] = " (" .. table.concat(ids, ", ") .. ")" end
    return table.concat(parts)
  elseif self.kind == "network" then
    return ("network error (%s): %s"):format(one_line(self.code or "other"), one_line(self.message))
  end
  return ("%s error: %s"):format(one_line(self.kind), one_line(self.message))
end

local function new(fields)
  return setmetatable(fields, Error)
end

--- A value the script gave is wrong; `path` names the element ("Schedule.Frequency"), or is nil for arguments.
function errors.validation(reason, path)
  local message = (path and path ~= "") and (path .. ": " .. reason) or reason
  return new { kind = "validation", message = message, path = path, reason = reason }
end

--- The request did not complete: `code` is the transport's stable code ("timeout", "connect", "tls", ...).
function errors.network(code, message)
  return new { kind = "network", code = code, message = message }
end

--- The library could not do its own part (memory ran out, OpenSSL failed): nothing was sent, and nothing about
--- the request needs to change.
function errors.internal(message)
  return new { kind = "internal", message = message }
end

--- The service answered with an error; `fields` holds status, code, message, request_id, host_id, ec and extras.
function errors.service(fields)
  fields.kind = "service"
  return new(fields)
end

--- True when the service says the bucket has no rule of that id (404 NoSuchInventory); a missing bucket is
--- another error.
function errors.is_missing_rule(err)
  return type(err) == "table" and err.kind == "service" and err.status == 404 and err.code == "NoSuchInventory"
end

--- True for any error object made here.
function errors.is_error(value)
  return getmetatable(value) == Error
end

return errors
