-- The emulator's own control path (/-/emulator/...), JSON in and out, which the real service would never accept.
local cjson = require "cjson"
local faults = require "oss.emulator.faults"

local json = cjson.new()
json.encode_sparse_array(true)

local M = {}

local function reply(status, value)
  return { status = status, body = json.encode(value), content_type = "application/json" }
end

local function refuse(status, message)
  return reply(status, { error = message })
end

local function decode_body(body)
  local ok, value = pcall(json.decode, body)
  if not ok then
    return nil, "the body is not JSON: " .. tostring(value)
  end
  return value
end

local function add_faults(service, body)
  local value, message = decode_body(body)
  if not value then
    return refuse(400, message)
  end
  if type(value) ~= "table" then
    return refuse(400, "expected a fault or a list of faults")
  end
  local list = value[1] and value or { value }
  for index, fault in ipairs(list) do
    local ok, fault_message = faults.check(fault)
    if not ok then
      return refuse(400, "fault " .. index .. ": " .. fault_message)
    end
  end
  for _, fault in ipairs(list) do
    service.faults:add(fault)
  end
  return reply(200, { added = #list, pending = #service.faults.pending })
end

local function set_clock(service, body)
  local value, message = decode_body(body)
  if not value then
    return refuse(400, message)
  end
  if type(value) ~= "table" or type(value.offset) ~= "number" then
    return refuse(400, 'expected {"offset": seconds}')
  end
  service.clock:set_offset(value.offset)
  return reply(200, { offset = service.clock.offset, now = service.clock:now() })
end

local ROUTES = {
  health = {
    GET = function(service)
      return reply(200, { status = "ok", requests = service.journal.count })
    end,
  },
  faults = {
    GET = function(service)
      return reply(200, { faults = service.faults:list() })
    end,
    POST = function(service, request)
      return add_faults(service, request.body)
    end,
    DELETE = function(service)
      service.faults:clear()
      return reply(200, { pending = 0 })
    end,
  },
  requests = {
    GET = function(service, _, query)
      local limit = tonumber(query.limit)
      local list = service.journal:list(limit)
      return reply(200, { count = #list, requests = list })
    end,
    DELETE = function(service)
      service.journal:clear()
      return reply(200, { count = 0 })
    end,
  },
  reset = {
    POST = function(service)
      local ok, message = service:reset()
      if not ok then
        return refuse(500, message)
      end
      return reply(200, { reset = true })
    end,
  },
  clock = {
    GET = function(service)
      return reply(200, { offset = service.clock.offset, now = service.clock:now() })
    end,
    PUT = function(service, request)
      return set_clock(service, request.body)
    end,
    POST = function(service, request)
      return set_clock(service, request.body)
    end,
  },
}

-- name: the path after /-/emulator/; query: decoded parameters.
function M.handle(service, request, name, query)
  -- A browser adds Origin to every cross-site POST, PUT and DELETE: a web page must not reset the emulator (and
  -- wipe --data) or script its faults. Tools and specs send no Origin.
  if request.headers.origin and request.method ~= "GET" then
    return refuse(403, "requests from a web page (with an Origin header) are refused on the admin path")
  end
  local route = ROUTES[name]
  if not route then
    return refuse(404, "no admin route /-/emulator/" .. name)
  end
  local handler = route[request.method]
  if not handler then
    return refuse(405, request.method .. " is not allowed on /-/emulator/" .. name)
  end
  return handler(service, request, query)
end

return M
