-- application/x-www-form-urlencoded bodies, as STS reads the parameters clients post to it.
local uri = require "oss.emulator.uri"

local M = {}

local FORM_TYPE = "application/x-www-form-urlencoded"

-- Unlike a request target, a form writes a space as "+".
local function decode(text)
  return uri.decode((text:gsub("%+", " ")))
end

--- True when the Content-Type header names a form body (parameters such as charset are allowed).
function M.is_form(content_type)
  return content_type ~= nil and content_type:lower():match("^%s*([^;%s]+)") == FORM_TYPE
end

--- The body's fields in order: { { name, value }, ... }; a field without "=" has the value "".
function M.fields(body)
  return uri.parameters(body, decode)
end

return M
