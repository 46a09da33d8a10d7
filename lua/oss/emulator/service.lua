-- One emulated OSS endpoint: routes each request to the admin path, the platform around OSS (instance metadata,
-- STS, a credentials URI) or an inventory operation, with faults applied.
local core = require "oss.core"
local addressing = require "oss.emulator.addressing"
local admin = require "oss.emulator.admin"
local auth = require "oss.emulator.auth"
local clock = require "oss.emulator.clock"
local errors = require "oss.emulator.errors"
local faults = require "oss.emulator.faults"
local form = require "oss.emulator.form"
local inventory = require "oss.emulator.inventory"
local region = require "oss.emulator.region"
local uri = require "oss.emulator.uri"

local M = {}

local JOURNAL_BODY_BYTES = 64 * 1024
local ADMIN_PREFIX = "/-/emulator/"

local OPERATIONS = {
  PUT = { name = "PutBucketInventory", run = inventory.put },
  GET = { name = "GetBucketInventory", run = inventory.get },
  DELETE = { name = "DeleteBucketInventory", run = inventory.delete },
}
local LIST = { name = "ListBucketInventory", run = inventory.list }

local INJECTED_CODES = {
  [400] = "InvalidArgument", [403] = "AccessDenied", [404] = "NoSuchInventory", [409] = "InventoryAlreadyExist",
  [429] = "TooManyRequests", [500] = "InternalError", [502] = "BadGateway", [503] = "ServiceUnavailable",
  [504] = "GatewayTimeout",
}

local MALFORMED_ROOTS = {
  ListBucketInventory = "ListInventoryConfigurationsResult",
}

local Service = {}
Service.__index = Service

-- state: { store, find_key, accounts, faults, journal, clock, issued, platform = { route, ... } }
-- find_key(id) -> the key or issued credential with that id; each platform route has name, matches(request),
-- handle(request), refusal(status, code, message, request_id) and reset().
function M.new(state)
  local self = setmetatable(state, Service)
  self.counter = 0
  -- Distinguishes the ids of two emulators started in the same second; a fresh table's address differs per process.
  self.instance = (tonumber(tostring({}):match("0x(%x+)") or "0", 16) or 0) % 0x1000000
  return self
end

function Service:next_request_id()
  self.counter = self.counter + 1
  return string.format("%08X%08X%08X", os.time(), self.counter, self.instance)
end

local function query_map(parameters)
  local map = {}
  for _, pair in ipairs(parameters) do
    if map[pair[1]] == nil then
      map[pair[1]] = pair[2]
    end
  end
  return map
end

local function operation_of(method, key, query)
  if key or query.inventory == nil then
    return nil
  end
  if method == "GET" and query.inventoryId == nil then
    return LIST
  end
  return OPERATIONS[method]
end

local function error_answer(err, request_id, host_id)
  return {
    status = err.status,
    body = errors.document(err, request_id, host_id),
    content_type = "application/xml",
    ec = err.ec,
  }
end

local function check_digest(request)
  local digest = request.headers["content-md5"]
  if digest and digest ~= core.base64_encode(core.md5(request.body)) then
    return errors.new("InvalidDigest", nil, { extra = { { "ContentMD5", digest } } })
  end
  return nil
end

-- The request reaches the service: bucket, authentication, digest, then the operation itself.
function Service:serve(request, target)
  if request.body_too_large then
    return nil, errors.new("EntityTooLarge")
  end
  if not target.bucket then
    return nil, errors.new("NotImplemented")
  end
  local bucket = self.store:bucket(target.bucket)
  if not bucket then
    return nil, errors.new("NoSuchBucket", nil, { extra = { { "BucketName", target.bucket } } })
  end
  local requested = region.requested(request.headers)
  if requested and requested ~= bucket.region then
    return nil, region.wrong_region(bucket)
  end
  local identity, refused = auth.authenticate({
    method = request.method,
    bucket = target.bucket,
    key = target.key,
    parameters = target.parameters,
    headers = request.headers,
    body = request.body,
  }, self.find_key, { now = self.clock:now(), region = bucket.region })
  if not identity then
    return nil, refused
  end
  local bad_digest = check_digest(request)
  if bad_digest then
    return nil, bad_digest
  end
  if not target.operation then
    if target.query.inventory ~= nil and not target.key then
      return nil, errors.new("MethodNotAllowed")
    end
    return nil, errors.new("NotImplemented")
  end
  return target.operation.run {
    store = self.store,
    bucket = bucket,
    query = target.query,
    body = request.body,
    accounts = self.accounts,
  }
end

local function malformed_body(operation)
  local root = MALFORMED_ROOTS[operation and operation.name] or "InventoryConfiguration"
  return '<?xml version="1.0" encoding="UTF-8"?>\n<' .. root .. "><Id>unterminated</Id><IsEnabled>true</Is"
end

local function answer_fault(fault, request_id, host_id, target)
  if fault.status then
    local code = fault.code or INJECTED_CODES[fault.status] or "InjectedFault"
    local err = errors.new(code, fault.message, { status = fault.status, ec = fault.ec })
    return error_answer(err, request_id, host_id)
  elseif fault.action == "reset" then
    return { status = 0, transmit = "reset" }
  end
  return { status = 200, body = malformed_body(target.operation), content_type = "application/xml" }
end

function Service:decorate(answer, request_id)
  local headers = {
    { "Server", "AliyunOSS" },
    { "Date", clock.http_date(self.clock:now()) },
    { "x-oss-request-id", request_id },
  }
  if answer.content_type then
    headers[#headers + 1] = { "Content-Type", answer.content_type }
  end
  if answer.ec then
    headers[#headers + 1] = { "x-oss-ec", answer.ec }
  end
  answer.headers = headers
  return answer
end

-- The platform answers as its services do, not as OSS: no OSS headers, its own Content-Type and ids.
function Service:decorate_platform(answer)
  local headers = { { "Date", clock.http_date(self.clock:now()) } }
  if answer.content_type then
    headers[#headers + 1] = { "Content-Type", answer.content_type }
  end
  for _, pair in ipairs(answer.headers or {}) do
    headers[#headers + 1] = pair
  end
  answer.headers = headers
  return answer
end

-- A platform request as its routes read it: the query and form fields decoded, and every parameter in one map
-- (the query's value wins a name both carry). Larger bodies than the journal keeps are never parsed: no platform
-- call needs one.
local function platform_request(request, path, parameters, request_id)
  local too_large = request.body_too_large or #request.body > JOURNAL_BODY_BYTES
  local fields = {}
  if not too_large and form.is_form(request.headers["content-type"]) then
    fields = form.fields(request.body)
  end
  local params = {}
  for _, list in ipairs { parameters, fields } do
    for _, pair in ipairs(list) do
      if params[pair[1]] == nil then
        params[pair[1]] = pair[2]
      end
    end
  end
  return {
    method = request.method, path = path, query = parameters, form = fields, params = params,
    headers = request.headers, request_id = request_id, too_large = too_large,
  }
end

function Service:platform_route(request)
  for _, route in ipairs(self.platform) do
    if route:matches(request) then
      return route
    end
  end
  return nil
end

-- Faults apply to the platform too, so a spec can watch a credentials provider retry or give up; malformed_xml
-- cuts the real answer in half, which no JSON or text reader takes as whole either.
function Service:serve_platform(route, request)
  local fault = self.faults:take { method = request.method, path = request.path }
  local answer
  if fault and fault.status then
    answer = route:refusal(fault.status, fault.code or INJECTED_CODES[fault.status] or "InjectedFault",
      fault.message, request.request_id)
  elseif fault and fault.action == "reset" then
    answer = { status = 0, transmit = "reset" }
  elseif request.too_large then
    answer = route:refusal(413, "EntityTooLarge", "The request body is too large.", request.request_id)
  else
    answer = route:handle(request)
    if fault and fault.action == "malformed_xml" then
      answer.body = answer.body:sub(1, math.floor(#answer.body / 2))
    elseif fault then
      answer.transmit = fault.action
    end
  end
  answer.delay = fault and fault.delay
  return self:decorate_platform(answer)
end

-- request (from the HTTP glue): { method, target, header_list, headers, body, body_too_large }
function Service:handle(request)
  local request_id = self:next_request_id()
  local path, parameters = uri.split_target(request.target or "/")
  if path:sub(1, #ADMIN_PREFIX) == ADMIN_PREFIX then
    return self:decorate(admin.handle(self, request, path:sub(#ADMIN_PREFIX + 1), query_map(parameters)), request_id)
  end
  local platform = platform_request(request, path, parameters, request_id)
  local route = self:platform_route(platform)
  self.journal:add {
    request_id = request_id,
    time = self.clock:now(),
    method = request.method,
    target = request.target,
    headers = request.header_list,
    -- Bounded, so a flood of large requests (signed or not) cannot grow the journal without end.
    body = request.body:sub(1, JOURNAL_BODY_BYTES),
    body_size = #request.body,
    -- Platform requests are also kept decoded, so specs can compare what two credentials clients sent.
    platform = route and route.name,
    path = route and path,
    query = route and parameters,
    form = route and platform.form,
  }
  if route then
    return self:serve_platform(route, platform)
  end
  local bucket, key, host_id = addressing.resolve(request.headers.host, path, function(name)
    return self.store:bucket(name) ~= nil
  end)
  local query = query_map(parameters)
  local target = {
    bucket = bucket, key = key, parameters = parameters, query = query,
    operation = operation_of(request.method, key, query),
  }
  local fault = self.faults:take {
    method = request.method, path = path, bucket = bucket, operation = target.operation and target.operation.name,
  }
  local answer
  if fault and not faults.applies_request(fault) then
    answer = answer_fault(fault, request_id, host_id, target)
  else
    local result, err = self:serve(request, target)
    answer = result or error_answer(err, request_id, host_id)
    if fault then
      answer.transmit = fault.action
    end
  end
  answer.delay = fault and fault.delay
  return self:decorate(answer, request_id)
end

-- A bug in an operation answers 500 InternalError like the service would, instead of lua-http's bare 503.
function Service:handle_safely(request)
  local ok, answer = pcall(self.handle, self, request)
  if ok then
    return answer
  end
  local request_id = self:next_request_id()
  local err = errors.new("InternalError", "The emulator failed: " .. tostring(answer))
  return self:decorate(error_answer(err, request_id, "oss-emulator"), request_id)
end

-- Back to a freshly started emulator: no rules, no faults, no journal, no clock offset, no issued credentials.
function Service:reset()
  local cleared, message = self.store:clear()
  if not cleared then
    return nil, message
  end
  self.faults:clear()
  self.journal:clear()
  self.clock:set_offset(0)
  self.issued:clear()
  for _, route in ipairs(self.platform) do
    route:reset()
  end
  return true
end

return M
