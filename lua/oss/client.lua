-- A client: options checked once, then every operation runs prepare (sign) -> execute (send, read) -> result.

local core = require "oss.core"
local credentials = require "oss.credentials"
local endpoint = require "oss.endpoint"
local errors = require "oss.errors"
local response = require "oss.response"

local VERSION = "0.1.0"
local USER_AGENT = "lua-oss/" .. VERSION
local EMPTY_BODY_MD5 = core.base64_encode(core.md5(""))
local REDACTED_HEADERS = { ["x-oss-security-token"] = true }

local Client = { VERSION = VERSION }
Client.__index = Client

-- A prepared request: what the transport sends, printable without the session token.
local Request = {}
Request.__index = Request

function Request:__tostring()
  local names = {}
  for name in pairs(self.headers) do names[#names + 1] = name end
  table.sort(names)
  local lines = { self.method .. " " .. self.url }
  for _, name in ipairs(names) do
    local value = REDACTED_HEADERS[name:lower()] and "<redacted>" or self.headers[name]
    lines[#lines + 1] = name .. ": " .. value
  end
  lines[#lines + 1] = ("(%d byte body)"):format(#(self.body or ""))
  return table.concat(lines, "\n")
end

local function option_type(options, name, expected)
  local value = options[name]
  if value ~= nil and type(value) ~= expected then
    return errors.validation(("expected a %s, got %s"):format(expected, type(value)), name)
  end
  return nil
end

local function check_option_types(options)
  local expected = {
    region = "string", endpoint = "string", signature_version = "string", path_style = "boolean",
    cname = "boolean", clock = "function", transport = "function", connect_timeout = "number",
    timeout = "number", ssl_verify = "boolean", ca_file = "string", proxy = "string",
  }
  for name, kind in pairs(expected) do
    local err = option_type(options, name, kind)
    if err then return err end
  end
  return nil
end

local function default_transport(options)
  return require("oss.transport.curl").new {
    connect_timeout = options.connect_timeout,
    timeout = options.timeout,
    ssl_verify = options.ssl_verify,
    ca_file = options.ca_file,
    proxy = options.proxy,
  }
end

--- oss.new(options) -> client | nil, err
function Client.new(options)
  if type(options) ~= "table" then
    error("oss.new: expected an options table, got " .. type(options), 2)
  end
  local err = check_option_types(options)
  if err then return nil, err end

  local version = options.signature_version or "v4"
  if version ~= "v4" and version ~= "v1" then
    return nil, errors.validation('expected "v4" or "v1"', "signature_version")
  end
  local region = options.region
  if region ~= nil and not region:find("^[a-z0-9][a-z0-9%-]*$") then
    return nil, errors.validation("expected a region id such as cn-hangzhou", "region")
  end
  if region and region:find("^oss%-") then
    return nil, errors.validation("give the region id without the oss- prefix (cn-hangzhou, not oss-cn-hangzhou)", "region")
  end
  if version == "v4" and not region then
    return nil, errors.validation("required for V4 signing", "region")
  end
  if not options.endpoint and not region then
    return nil, errors.validation("give endpoint or region", "endpoint")
  end
  local parsed, endpoint_err = endpoint.parse(options.endpoint or endpoint.for_region(region))
  if not parsed then return nil, endpoint_err end

  local provider, credentials_err = credentials.from_options(options)
  if not provider then return nil, credentials_err end

  local style = "virtual"
  if options.cname then style = "cname" elseif options.path_style then style = "path" end

  return setmetatable({
    region = region,
    signature_version = version,
    endpoint = parsed.scheme .. "://" .. parsed.authority,
    addressing = style,
    _endpoint = parsed,
    _credentials = provider,
    _clock = options.clock or os.time,
    _clock_offset = 0,
    _signer = core.signer(),
    _transport = options.transport or default_transport(options),
  }, Client)
end

function Client:__tostring()
  return ("oss.client: %s %s (%s, %s)"):format(self.region or "-", self.endpoint, self.signature_version,
    self.addressing)
end

--- Raises on a non-string bucket (misuse); returns a validation error for a name OSS would refuse.
function Client.check_bucket(bucket)
  if type(bucket) ~= "string" then
    error("bucket: expected a string, got " .. type(bucket), 3)
  end
  local problem = endpoint.bucket_name_problem(bucket)
  if problem then return errors.validation(problem, "bucket") end
  return nil
end

--- Signs an operation { method, bucket, query, body } and returns the request the transport sends.
function Client:prepare(operation)
  local secrets, err = self._credentials()
  if not secrets then
    return nil, errors.is_error(err) and err or errors.validation("credentials provider failed: " .. tostring(err))
  end
  local now = math.floor(self._clock() + self._clock_offset)
  local body = operation.body or ""
  local headers = {
    ["Content-Type"] = "application/xml",
    ["Content-MD5"] = body == "" and EMPTY_BODY_MD5 or core.base64_encode(core.md5(body)),
    ["User-Agent"] = USER_AGENT,
    ["Date"] = core.http_date(now),
  }
  local signing = {
    method = operation.method, bucket = operation.bucket, query = operation.query,
    headers = headers, region = self.region, time = now,
  }
  local signed, sign_err
  if self.signature_version == "v4" then
    signed, sign_err = self._signer:sign_v4(signing, secrets)
  else
    signed, sign_err = self._signer:sign_v1(signing, secrets)
  end
  if not signed then return nil, errors.validation(sign_err) end
  local base, path = endpoint.locate(self._endpoint, operation.bucket, self.addressing)
  return setmetatable({
    method = operation.method,
    url = base .. path .. "?" .. core.canonical_query(operation.query),
    headers = headers,
    body = body ~= "" and body or nil,
  }, Request)
end

--- Sends a prepared request; reads a 2xx body with `schema` when given. -> value | answer, or nil, err
function Client:execute(request, schema)
  local reader = schema and core.xml_reader(schema) or nil
  request.sink = reader
  local answer, err = self._transport(request)
  request.sink = nil
  if not answer then
    if errors.is_error(err) then return nil, err end
    local fields = type(err) == "table" and err or { message = tostring(err) }
    return nil, errors.network(fields.code or "other", fields.message or tostring(err))
  end
  if answer.status < 200 or answer.status > 299 then
    return nil, response.service_error(answer)
  end
  if not reader then return answer end
  if answer.body and answer.body ~= "" then reader:feed(answer.body) end
  local value, problem = reader:finish()
  reader:close()
  if value == nil then return nil, response.unreadable(answer, problem) end
  return value
end

--- prepare + execute, or the prepared request alone when `options.dry_run` is set.
function Client:call(operation, schema, options)
  local request, err = self:prepare(operation)
  if not request then return nil, err end
  if options and options.dry_run then return request end
  return self:execute(request, schema)
end

return Client
