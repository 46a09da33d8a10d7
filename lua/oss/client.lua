-- A client: options checked once, then every operation runs prepare (sign) -> execute (send, read) -> result.

local core = require "oss.core"
local credentials = require "oss.credentials"
local endpoint = require "oss.endpoint"
local errors = require "oss.errors"
local response = require "oss.response"
local retry = require "oss.retry"

local VERSION = require "oss.version"
local USER_AGENT = "lua-oss/" .. VERSION
-- The libcurl transport hands timeouts to libcurl as milliseconds in a long, which may be 32 bits wide; a longer
-- one would be accepted here and then refused by every request.
local MAX_TIMEOUT_SECONDS = 2000000
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

-- Every option oss.new reads: these are type-checked here, the others where they are used (oss.credentials for
-- the key, oss.retry for the retry policy). docs/reference.md lists exactly these; spec/reference_spec.lua checks it.
local OPTION_TYPES = {
  region = "string", endpoint = "string", signature_version = "string", path_style = "boolean",
  cname = "boolean", clock = "function", transport = "function", connect_timeout = "number",
  timeout = "number", ssl_verify = "boolean", ca_file = "string", proxy = "string", no_proxy = "string",
  max_response_size = "number", warn = "function", getenv = "function",
}
local OTHER_OPTIONS = {
  "access_key_id", "access_key_secret", "security_token", "credentials_provider", -- oss.credentials
  "metadata_endpoint", "sts_endpoint", -- oss.credentials, for the default chain
  "max_attempts", "retry_base_delay", "retry_max_delay", "sleep", "random", -- oss.retry
}

--- Internal: the names of every option oss.new reads, sorted.
function Client._option_names()
  local names = {}
  for name in pairs(OPTION_TYPES) do names[#names + 1] = name end
  for _, name in ipairs(OTHER_OPTIONS) do names[#names + 1] = name end
  table.sort(names)
  return names
end

local function check_option_types(options)
  for name, kind in pairs(OPTION_TYPES) do
    local err = option_type(options, name, kind)
    if err then return err end
  end
  return nil
end

-- libcurl in plain Lua; inside nginx, cosockets (see oss.transport.select for the phases).
local function default_transport(options)
  return require("oss.transport.select").new(options)
end

local DEFAULT_MAX_RESPONSE_SIZE = 16 * 1024 * 1024

-- One warning per process, not per client: a gateway may build a client for every request.
local warned_unverified = false

local function warn_unverified(options)
  if options.ssl_verify ~= false or warned_unverified then return end
  warned_unverified = true
  local message = "lua-oss: ssl_verify = false: the server's certificate is not checked; anyone on the path can "
    .. "read and change requests"
  if options.warn then
    options.warn(message)
  else
    io.stderr:write(message, "\n")
  end
end

-- The proxy for the endpoint's scheme: the proxy option, else https_proxy / HTTPS_PROXY for https and
-- http_proxy for http (lower case only, as curl does: a CGI server sets HTTP_PROXY from a request header).
local function proxy_settings(options, scheme, getenv)
  local function env(...)
    for _, name in ipairs { ... } do
      local value = getenv(name)
      if value and value ~= "" then return value end
    end
    return nil
  end
  local proxy = options.proxy
  if proxy == nil then
    proxy = scheme == "https" and env("https_proxy", "HTTPS_PROXY") or (scheme == "http" and env("http_proxy"))
  end
  local no_proxy = options.no_proxy or env("no_proxy", "NO_PROXY")
  for name, value in pairs { proxy = proxy, no_proxy = no_proxy } do
    if value and value:find("[%z\r\n]") then
      return nil, errors.validation("contains CR, LF or NUL", name)
    end
  end
  return { proxy = proxy or nil, no_proxy = no_proxy }
end

-- What the transport is built with: the options, checked, with the proxy resolved from the environment.
local function transport_settings(options, scheme, getenv)
  for _, name in ipairs { "connect_timeout", "timeout", "max_response_size" } do
    local value = options[name]
    if value ~= nil and (value ~= value or value <= 0 or value == math.huge) then
      return nil, errors.validation("expected a positive number", name)
    end
  end
  for _, name in ipairs { "connect_timeout", "timeout" } do
    if options[name] and options[name] > MAX_TIMEOUT_SECONDS then
      return nil, errors.validation(("expected at most %d seconds"):format(MAX_TIMEOUT_SECONDS), name)
    end
  end
  if options.max_response_size and options.max_response_size % 1 ~= 0 then
    return nil, errors.validation("expected a whole number of bytes", "max_response_size")
  end
  local proxies, err = proxy_settings(options, scheme, getenv)
  if not proxies then return nil, err end
  return {
    connect_timeout = options.connect_timeout, timeout = options.timeout,
    ssl_verify = options.ssl_verify, ca_file = options.ca_file,
    proxy = proxies.proxy, no_proxy = proxies.no_proxy,
    max_response_size = options.max_response_size or DEFAULT_MAX_RESPONSE_SIZE,
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
  local region_problem = region ~= nil and endpoint.region_problem(region)
  if region_problem then return nil, errors.validation(region_problem, "region") end
  if version == "v4" and not region then
    return nil, errors.validation("required for V4 signing", "region")
  end
  if not options.endpoint and not region then
    return nil, errors.validation("give endpoint or region", "endpoint")
  end
  local parsed, endpoint_err = endpoint.parse(options.endpoint or endpoint.for_region(region))
  if not parsed then return nil, endpoint_err end

  local provider, credentials_err = credentials.from_options(options, options.getenv)
  if not provider then return nil, credentials_err end
  local policy, policy_err = retry.policy(options)
  if not policy then return nil, policy_err end
  local settings, settings_err = transport_settings(options, parsed.scheme, options.getenv or os.getenv)
  if not settings then return nil, settings_err end
  local transport, transport_err = options.transport, nil
  if not transport then transport, transport_err = default_transport(settings) end
  if not transport then return nil, transport_err end
  warn_unverified(options)

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
    _retry = policy,
    _transport = transport,
  }, Client)
end

function Client:__tostring()
  return ("oss.client: %s %s (%s, %s)"):format(self.region or "-", self.endpoint, self.signature_version,
    self.addressing)
end

--- credentials_source() -> provider name, access key id, expiration (unix seconds or nil) | nil, err
--- Which provider supplied the credentials the next request signs with (fetching them if none are kept yet);
--- never the secret or the token, so the answer can be printed.
function Client:credentials_source()
  local secrets, err = self._credentials:get()
  if not secrets then return nil, err end
  return secrets.provider, secrets.access_key_id, secrets.expiration
end

--- Raises on a non-string bucket (misuse); returns a validation error for a name OSS would refuse.
function Client:check_bucket(bucket)
  if type(bucket) ~= "string" then
    error("bucket: expected a string, got " .. type(bucket), 3)
  end
  local problem = endpoint.bucket_name_problem(bucket)
  if problem then return errors.validation(problem, "bucket") end
  return nil
end

-- The signer refuses input that could inject a header line as nil, reason, path, and reports a failure of its own
-- (memory, OpenSSL) as nil, message, with no path: only the first is the caller's to fix.
local function signing_error(reason, path)
  if path then return errors.validation(reason, path) end
  return errors.internal(reason)
end

-- Signs `request` with the client's version -> the encoded query the URL carries | nil, err
local function sign(self, request, secrets)
  if self.signature_version == "v4" then
    local authorization, query_or_reason, path = self._signer:sign_v4(request, secrets)
    if not authorization then return nil, signing_error(query_or_reason, path) end
    return query_or_reason
  end
  local authorization, reason, path = self._signer:sign_v1(request, secrets)
  if not authorization then return nil, signing_error(reason, path) end
  -- V1 signs only sub-resources, so the URL's query is encoded here.
  return core.canonical_query(request.query)
end

--- Signs an operation (method, bucket, query map, body) and returns the request the transport sends.
function Client:prepare(method, bucket, query, body)
  local secrets, err = self._credentials:get()
  if not secrets then
    return nil, errors.is_error(err) and err or errors.validation("credentials provider failed: " .. tostring(err))
  end
  if body == "" then body = nil end
  -- The signer adds Content-MD5 (of `body`), Date, x-oss-date, x-oss-content-sha256, Authorization and the
  -- token's header; a request without a body carries the empty body's digest.
  local headers = {
    ["Content-Type"] = "application/xml", ["User-Agent"] = USER_AGENT,
    ["Content-MD5"] = not body and EMPTY_BODY_MD5 or nil,
  }
  local signed_query, sign_err = sign(self, {
    method = method, bucket = bucket, region = self.region, time = math.floor(self._clock() + self._clock_offset),
    query = query, headers = headers, body = body, add_date = true, brief = true,
  }, secrets)
  if not signed_query then return nil, sign_err end
  local base, path = endpoint.locate(self._endpoint, bucket, self.addressing)
  return setmetatable({
    method = method,
    url = base .. path .. "?" .. signed_query,
    headers = headers,
    body = body,
  }, Request)
end

local function without(text, needle)
  local parts, start = {}, 1
  while true do
    local first, last = text:find(needle, start, true)
    if not first then break end
    parts[#parts + 1] = text:sub(start, first - 1) .. "<redacted>"
    start = last + 1
  end
  parts[#parts + 1] = text:sub(start)
  return table.concat(parts)
end

-- The service echoes what it received (SignatureDoesNotMatch carries the canonical request), and that holds the
-- session token: take the request's redacted header values out of every string in the error.
local function redact(err, request)
  for name, value in pairs(request.headers) do
    if REDACTED_HEADERS[name:lower()] and value ~= "" then
      for _, fields in ipairs { err, err.details or {} } do
        for field, text in pairs(fields) do
          if type(text) == "string" then fields[field] = without(text, value) end
        end
      end
    end
  end
  return err
end

--- Sends a prepared request once; reads a 2xx body with `schema` when given.
--- -> value | answer, or nil, err [, answer] (the answer when the service sent one)
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
    return nil, redact(response.service_error(answer), request), answer
  end
  if not reader then return answer end
  if answer.body and answer.body ~= "" then reader:feed(answer.body) end
  local value, problem = reader:finish()
  reader:close()
  if value == nil then return nil, redact(response.unreadable(answer, problem), request) end
  return value
end

-- After RequestTimeTooSkewed: adopt the server's clock so the next signature carries its time.
-- -> true when the offset could be corrected
function Client:correct_clock(err, answer)
  local server = retry.server_time(answer and answer.headers, err)
  if not server then return false end
  self._clock_offset = server - self._clock()
  return true
end

--- prepare + execute of the operation (method, bucket, query map, body), or the prepared request alone when
--- `options.dry_run` is set.
--- Failed attempts are retried as the retry policy says, each signed again. On failure the error carries
--- `attempts`, and a third value says whether an earlier attempt may have taken effect (its answer was lost).
function Client:call(method, bucket, query, body, schema, options)
  if options and options.dry_run then return self:prepare(method, bucket, query, body) end
  local policy = self._retry
  local maybe_applied, clock_corrected = false, false
  local attempt = 0
  while true do
    attempt = attempt + 1
    local request, err = self:prepare(method, bucket, query, body)
    if not request then return nil, err end
    local value, answer
    value, err, answer = self:execute(request, schema)
    if value ~= nil then return value end
    err.attempts = attempt
    if attempt >= policy.max_attempts or not retry.retryable(err) then return nil, err, maybe_applied end
    maybe_applied = maybe_applied or retry.may_have_applied(err)
    if err.code == "RequestTimeTooSkewed" then
      -- Sending again only helps once the clock is corrected; the wait would not.
      if clock_corrected or not self:correct_clock(err, answer) then return nil, err, maybe_applied end
      clock_corrected = true
    else
      policy.sleep(retry.backoff(policy, attempt))
    end
  end
end

return Client
