-- Credentials of the RAM role attached to an ECS instance, from its metadata service, as the official
-- credentials libraries ask for them: an IMDSv2 token first, the role's name when it is not given, then the
-- role's credentials document; without a token (IMDSv1) when the token cannot be had, unless that is disabled.

local core = require "oss.core"
local failure = require "oss.credentials.failure"
local http = require "oss.credentials.http"
local issued = require "oss.credentials.issued"
local refreshing = require "oss.credentials.refreshing"
local shared = require "oss.credentials.shared"

local ecs_ram_role = {}

ecs_ram_role.NAME = "ecs_ram_role"
local NAME = ecs_ram_role.NAME

local METADATA_HOST = "100.100.100.200"
local CREDENTIALS_PATH = "/latest/meta-data/ram/security-credentials/"
-- The token's lifetime the official libraries ask for: six hours.
local TOKEN_TTL_SECONDS = 21600

local function enabled(getenv, name)
  return (getenv(name) or ""):lower() == "true"
end

local function fetcher(settings)
  local send = http.client { connect_timeout = settings.connect_timeout, timeout = settings.timeout }
  local base = settings.base_url

  -- nil, and no error, when the token cannot be had but IMDSv1 may be used.
  local function metadata_token()
    local response, err = send("PUT", base .. "/latest/api/token",
      { ["x-aliyun-ecs-metadata-token-ttl-seconds"] = tostring(TOKEN_TTL_SECONDS) })
    if response and response.status == 200 then return response.body end
    if not settings.disable_imdsv1 then return nil end
    if not response then return nil, failure.transport(NAME, "getting the metadata token", err) end
    return nil, failure.refused(NAME, "getting the metadata token", response)
  end

  -- GET path with the token, and again without it when that fails and IMDSv1 is allowed.
  local function get(path, step)
    local token, token_err = metadata_token()
    if token_err then return nil, token_err end
    local response, err = send("GET", base .. path, token and { ["x-aliyun-ecs-metadata-token"] = token } or nil)
    if token and not settings.disable_imdsv1 and not (response and response.status == 200) then
      response, err = send("GET", base .. path, nil)
    end
    if not response then return nil, failure.transport(NAME, step, err) end
    if response.status ~= 200 then return nil, failure.refused(NAME, step, response) end
    return response.body
  end

  return function()
    local role = settings.role_name
    if not role then
      local body, err = get(CREDENTIALS_PATH, "discovering the role name")
      if not body then return nil, err end
      role = body:match("^%s*(.-)%s*$")
      if role == "" then
        return nil, failure.invalid(NAME, "discovering the role name", "no role is attached to the instance")
      end
    end
    local step = "getting the credentials of role " .. role
    local body, err = get(CREDENTIALS_PATH .. core.uri_encode(role), step)
    if not body then return nil, err end
    local credentials, reason = issued.from_answer(body, NAME, true)
    if not credentials then return nil, failure.invalid(NAME, step, reason) end
    return credentials
  end
end

--- new([options]) -> provider | nil, err
--- options: role_name (else ALIBABA_CLOUD_ECS_METADATA; discovered when neither), metadata_endpoint
--- (host[:port] or URL; 100.100.100.200), disable_imdsv1 (else ALIBABA_CLOUD_IMDSV1_DISABLED=true),
--- connect_timeout (1), timeout (2), clock, getenv. ALIBABA_CLOUD_ECS_METADATA_DISABLED=true refuses.
function ecs_ram_role.new(options)
  options = options or {}
  local getenv = options.getenv or os.getenv
  if enabled(getenv, "ALIBABA_CLOUD_ECS_METADATA_DISABLED") then
    return nil, failure.setting(NAME, "disabled by ALIBABA_CLOUD_ECS_METADATA_DISABLED")
  end
  local base_url, err = http.base_url("metadata_endpoint", options.metadata_endpoint, METADATA_HOST, "http")
  if not base_url then return nil, err end
  local role_name = options.role_name or getenv("ALIBABA_CLOUD_ECS_METADATA")
  local disable_imdsv1 = options.disable_imdsv1
  if disable_imdsv1 == nil then disable_imdsv1 = enabled(getenv, "ALIBABA_CLOUD_IMDSV1_DISABLED") end
  local settings = {
    base_url = base_url, role_name = role_name ~= "" and role_name or nil, disable_imdsv1 = disable_imdsv1,
    connect_timeout = options.connect_timeout or 1, timeout = options.timeout or 2, clock = options.clock,
  }
  return shared.provider(NAME, settings, function()
    return refreshing.new(NAME, fetcher(settings), options.clock)
  end)
end

return ecs_ram_role
