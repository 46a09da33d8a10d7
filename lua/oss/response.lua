-- Turns a service's error answer into an error object: the <Error> body, the x-oss-err header, or any other body.

local core = require "oss.core"
local errors = require "oss.errors"

local response = {}

local ERROR_SCHEMA = core.schema(require "oss.schema.error")
local KNOWN = { Code = "code", Message = "message", RequestId = "request_id", HostId = "host_id", EC = "ec" }
local SNIPPET_LENGTH = 120

local function snippet(body)
  local text = body:sub(1, SNIPPET_LENGTH):gsub("[%c]+", " "):gsub("[\128-\255]", "?")
  return #body > SNIPPET_LENGTH and text .. "..." or text
end

--- The error object for a non-2xx response { status, headers, body }.
function response.service_error(answer)
  local headers = answer.headers or {}
  local fields = { status = answer.status }
  local document = answer.body or ""
  if document == "" and headers["x-oss-err"] then
    document = core.base64_decode(headers["x-oss-err"]) or ""
  end
  local parsed, problem
  if document ~= "" then
    parsed, problem = core.xml_read(ERROR_SCHEMA, document)
  end
  if parsed then
    for name, value in pairs(parsed) do
      if KNOWN[name] then
        fields[KNOWN[name]] = value
      else
        fields.details = fields.details or {}
        fields.details[name] = value
      end
    end
  elseif document ~= "" then
    fields.message = ("HTTP %d with a body that is not an OSS error document (%s): %s")
      :format(answer.status, problem, snippet(document))
  else
    fields.message = ("HTTP %d with no error document"):format(answer.status)
  end
  fields.request_id = fields.request_id or headers["x-oss-request-id"]
  fields.ec = fields.ec or headers["x-oss-ec"]
  return errors.service(fields)
end

--- The error object for a 2xx response whose body could not be read as the expected document.
function response.unreadable(answer, problem)
  return errors.service {
    status = answer.status,
    code = "InvalidResponse",
    message = "could not read the service's answer: " .. tostring(problem),
    request_id = answer.headers and answer.headers["x-oss-request-id"],
  }
end

return response
