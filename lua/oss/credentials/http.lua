-- The few HTTP calls a provider makes (GET, PUT, POST of a form), over the transport the client would pick:
-- libcurl in plain Lua, cosockets inside nginx.

local core = require "oss.core"
local errors = require "oss.errors"

local http = {}

--- base_url(option_name, given, default_host, default_scheme) -> "scheme://host[:port]" | nil, err
--- `given` is host[:port] or a whole http(s):// URL without a path.
function http.base_url(option_name, given, default_host, default_scheme)
  if given == nil then return default_scheme .. "://" .. default_host end
  if type(given) ~= "string" or given == "" then
    return nil, errors.validation("expected host[:port] or an http(s):// URL", option_name)
  end
  local scheme, rest = given:match("^(https?)://(.*)$")
  local authority = (rest or given):gsub("/$", "")
  if authority == "" or authority:find("[/%s%c?#@]") then
    return nil, errors.validation("expected host[:port] or an http(s):// URL without a path", option_name)
  end
  return (scheme or default_scheme) .. "://" .. authority
end

--- form(fields) -> "a=1&b=2", names sorted so the same fields always make the same body
function http.form(fields)
  local names = {}
  for name in pairs(fields) do names[#names + 1] = name end
  table.sort(names)
  local parts = {}
  for index, name in ipairs(names) do
    parts[index] = core.uri_encode(name) .. "=" .. core.uri_encode(fields[name])
  end
  return table.concat(parts, "&")
end

--- client(options) -> send(method, url, headers, body) -> response | nil, err
--- options: connect_timeout, timeout (seconds); the transport is made at the first call, in the phase that
--- calls, so a provider built in nginx's init phase still uses cosockets later.
function http.client(options)
  local transport
  return function(method, url, headers, body)
    if not transport then
      local made, err = require("oss.transport.select").new {
        connect_timeout = options.connect_timeout, timeout = options.timeout,
      }
      if not made then return nil, err end
      transport = made
    end
    return transport { method = method, url = url, headers = headers or {}, body = body }
  end
end

return http
