-- The emulator's configuration: defaults, "name:region:owner" / "id:secret:token" shorthands, Lua config files.
local data_chunk = require "oss.data_chunk"

local M = {}

M.DEFAULT_REGION = "cn-hangzhou"
M.DEFAULT_OWNER = "1000000000000000"
M.DEFAULT_JOURNAL_SIZE = 100
-- How long a request's head and body may take to arrive, so a stalled client cannot hold a connection for good.
M.DEFAULT_REQUEST_TIMEOUT = 10
-- How long the credentials the platform issues live, as STS's default DurationSeconds.
M.DEFAULT_CREDENTIALS_LIFETIME = 3600

local function split_colons(text, count)
  local parts, start = {}, 1
  while #parts < count - 1 do
    local colon = text:find(":", start, true)
    if not colon then
      break
    end
    parts[#parts + 1] = text:sub(start, colon - 1)
    start = colon + 1
  end
  parts[#parts + 1] = text:sub(start)
  return parts
end

-- "name[:region[:owner]]" -> { name, region, owner }
function M.parse_bucket(text)
  local parts = split_colons(text, 3)
  return { name = parts[1], region = parts[2], owner = parts[3] }
end

-- "id:secret[:token]" -> { id, secret, token }; the token is everything after the second colon.
function M.parse_key(text)
  local parts = split_colons(text, 3)
  return { id = parts[1], secret = parts[2], token = parts[3] }
end

local function bucket_entry(entry, index)
  if type(entry) == "string" then
    entry = M.parse_bucket(entry)
  end
  if type(entry) ~= "table" or type(entry.name) ~= "string" then
    error("buckets[" .. index .. "]: expected \"name[:region[:owner]]\" or { name =, region =, owner = }", 0)
  end
  if not entry.name:match("^[a-z0-9][a-z0-9-]*[a-z0-9]$") or #entry.name < 3 or #entry.name > 63 then
    error("buckets[" .. index .. "]: invalid bucket name '" .. entry.name .. "'", 0)
  end
  return {
    name = entry.name,
    region = (entry.region and entry.region ~= "") and entry.region:gsub("^oss%-", "") or M.DEFAULT_REGION,
    owner = (entry.owner and entry.owner ~= "") and tostring(entry.owner) or M.DEFAULT_OWNER,
  }
end

local function key_entry(entry, index)
  if type(entry) == "string" then
    entry = M.parse_key(entry)
  end
  if type(entry) ~= "table" or type(entry.id) ~= "string" or type(entry.secret) ~= "string"
    or entry.id == "" or entry.secret == "" then
    error("keys[" .. index .. "]: expected \"id:secret[:token]\" or { id = ..., secret = ..., token = ... }", 0)
  end
  if entry.token ~= nil and (type(entry.token) ~= "string" or entry.token == "") then
    error("keys[" .. index .. "]: token must be a non-empty string", 0)
  end
  return { id = entry.id, secret = entry.secret, token = entry.token }
end

local function optional_string(options, name)
  local value = options[name]
  if value ~= nil and (type(value) ~= "string" or value == "") then
    error(name .. " must be a non-empty string", 0)
  end
  return value
end

-- The platform around OSS: instance metadata for a role, STS's OIDC provider, the issued credentials' lifetime.
local function platform_settings(options, result)
  result.ecs_role = optional_string(options, "ecs_role")
  if result.ecs_role and not result.ecs_role:match("^[%w%.@_%-]+$") then
    error("ecs_role must be a RAM role name (letters, digits and .@_-)", 0)
  end
  result.imdsv2_only = options.imdsv2_only or false
  if type(result.imdsv2_only) ~= "boolean" then
    error("imdsv2_only must be a boolean", 0)
  end
  if result.imdsv2_only and not result.ecs_role then
    error("imdsv2_only needs ecs_role: without a role there is no instance metadata", 0)
  end
  result.oidc_provider_arn = optional_string(options, "oidc_provider_arn")
  result.oidc_token_file = optional_string(options, "oidc_token_file")
  if (result.oidc_provider_arn == nil) ~= (result.oidc_token_file == nil) then
    error("oidc_provider_arn and oidc_token_file go together", 0)
  end
  result.credentials_lifetime = options.credentials_lifetime or M.DEFAULT_CREDENTIALS_LIFETIME
  if type(result.credentials_lifetime) ~= "number" or not (result.credentials_lifetime > 0) then
    error("credentials_lifetime must be a positive number of seconds", 0)
  end
end

-- Raises on misuse; returns a complete configuration with every default filled in.
function M.normalise(options)
  if type(options) ~= "table" then
    error("emulator configuration must be a table", 0)
  end
  local result = {
    host = options.host or "127.0.0.1",
    port = options.port or 0,
    data = options.data,
    tls = options.tls,
    accounts = options.accounts or {},
    journal_size = options.journal_size or M.DEFAULT_JOURNAL_SIZE,
    request_timeout = options.request_timeout or M.DEFAULT_REQUEST_TIMEOUT,
    buckets = {},
    keys = {},
  }
  if type(result.port) ~= "number" or result.port < 0 or result.port > 65535 then
    error("port must be a number in 0..65535", 0)
  end
  if result.tls ~= nil and (type(result.tls) ~= "table" or type(result.tls.cert) ~= "string"
    or type(result.tls.key) ~= "string") then
    error("tls must be { cert = file, key = file }", 0)
  end
  if type(result.journal_size) ~= "number" or result.journal_size < 1 then
    error("journal_size must be a positive number", 0)
  end
  if type(result.request_timeout) ~= "number" or not (result.request_timeout > 0) then
    error("request_timeout must be a positive number of seconds", 0)
  end
  platform_settings(options, result)
  local seen = {}
  for index, entry in ipairs(options.buckets or {}) do
    local bucket = bucket_entry(entry, index)
    if seen[bucket.name] then
      error("bucket '" .. bucket.name .. "' is declared twice", 0)
    end
    seen[bucket.name] = true
    result.buckets[#result.buckets + 1] = bucket
  end
  for index, entry in ipairs(options.keys or {}) do
    local key = key_entry(entry, index)
    result.keys[key.id] = key
  end
  return result
end

-- A Lua file that returns the configuration table; it runs with an empty environment.
function M.load_file(path)
  local chunk, message = data_chunk.load_file(path)
  if not chunk then
    return nil, message
  end
  local ok, value = pcall(chunk)
  if not ok then
    return nil, path .. ": " .. tostring(value)
  end
  if type(value) ~= "table" then
    return nil, path .. ": must return a table"
  end
  return value
end

return M
