-- The settings AssumeRole and AssumeRoleWithOIDC share: role ARN, session name, duration, policy, endpoint.

local failure = require "oss.credentials.failure"
local sts_endpoint = require "oss.credentials.sts_endpoint"

local role_session = {}

-- STS's bounds: at least 15 minutes; the default the official libraries ask for is one hour.
local MIN_DURATION, DEFAULT_DURATION = 900, 3600

--- settings(name, options, getenv) -> settings | nil, err
function role_session.settings(name, options, getenv)
  local role_arn = options.role_arn or getenv("ALIBABA_CLOUD_ROLE_ARN")
  if type(role_arn) ~= "string" or role_arn == "" then
    return nil, failure.setting(name, "role_arn: missing (give role_arn or set ALIBABA_CLOUD_ROLE_ARN)")
  end
  local duration = options.duration_seconds or DEFAULT_DURATION
  if type(duration) ~= "number" or duration < MIN_DURATION or duration % 1 ~= 0 then
    return nil, failure.setting(name, ("duration_seconds: expected a whole number of seconds, at least %d")
      :format(MIN_DURATION))
  end
  for _, option in ipairs { "role_session_name", "policy", "external_id" } do
    if options[option] ~= nil and type(options[option]) ~= "string" then
      return nil, failure.setting(name, option .. ": expected a string, got " .. type(options[option]))
    end
  end
  local endpoint, err = sts_endpoint(options, getenv)
  if not endpoint then return nil, err end
  local session_name = options.role_session_name or getenv("ALIBABA_CLOUD_ROLE_SESSION_NAME")
  if session_name == "" then session_name = nil end
  return {
    role_arn = role_arn, role_session_name = session_name, duration_seconds = tostring(duration),
    policy = options.policy, external_id = options.external_id, endpoint = endpoint,
    connect_timeout = options.connect_timeout or 5, timeout = options.timeout or 15,
  }
end

--- The action's form fields both calls send. An unnamed session is named when it is asked for, not when the
--- settings are read, so that settings read at different times are the same settings (oss.credentials.shared).
function role_session.form(settings)
  return {
    -- The official libraries name an unnamed session after themselves and the time.
    RoleArn = settings.role_arn, RoleSessionName = settings.role_session_name or ("lua-oss-" .. os.time()),
    DurationSeconds = settings.duration_seconds, Policy = settings.policy,
  }
end

return role_session
