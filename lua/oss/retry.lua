-- When a failed request is sent again and how long to wait first: bounded attempts with full-jitter backoff.

local errors = require "oss.errors"
local utc = require "oss.utc"

local retry = {}

retry.DEFAULTS = { max_attempts = 3, base_delay = 0.2, max_delay = 20 }

-- Transport failures that a later attempt may not meet. TLS (a certificate does not fix itself), too_large and
-- invalid are the request's or the server's nature, so sending again would only repeat them.
local TRANSIENT_NETWORK = {
  connect = true, timeout = true, resolve = true, send = true, receive = true, proxy = true,
}

-- Failures after which the service may still have applied the request: the answer, not the request, was lost.
local MAYBE_APPLIED_NETWORK = { timeout = true, send = true, receive = true }

--- True when `err` is worth another attempt: connection errors, timeouts, 5xx, 429, 408, RequestTimeTooSkewed.
function retry.retryable(err)
  if err.kind == "network" then
    return TRANSIENT_NETWORK[err.code] == true
  elseif err.kind == "service" then
    local status = err.status or 0
    return status >= 500 or status == 429 or status == 408 or err.code == "RequestTimeTooSkewed"
  end
  return false
end

--- True when the request that failed with `err` may have reached the service and taken effect.
function retry.may_have_applied(err)
  if err.kind == "network" then return MAYBE_APPLIED_NETWORK[err.code] == true end
  return err.kind == "service" and (err.status or 0) >= 500
end

--- The wait before retry number `n` (1 for the first retry): uniform in [0, min(max_delay, base_delay * 2^(n-1))).
function retry.backoff(policy, n)
  local ceiling = math.min(policy.max_delay, policy.base_delay * 2 ^ (n - 1))
  return policy.random() * ceiling
end

--- Sleeps without blocking an OpenResty worker when it can (ngx.sleep yields), else with LuaSocket, else by
--- running sleep(1): the C core stays free of timers, and a retry's wait is long enough for a process to be cheap.
function retry.sleep(seconds)
  if seconds <= 0 then return end
  local ngx = rawget(_G, "ngx")
  -- ngx.sleep raises in phases that cannot yield (init, header_filter, ...): fall through to a blocking sleep.
  if ngx and ngx.sleep and pcall(ngx.sleep, seconds) then return end
  local has_socket, socket = pcall(require, "socket")
  if has_socket and socket.sleep then
    socket.sleep(seconds)
    return
  end
  os.execute(("sleep %.3f"):format(seconds))
end

local function positive_number(options, name, default)
  local value = options[name]
  if value == nil then return default end
  if type(value) ~= "number" or value ~= value or value <= 0 or value == math.huge then
    return nil, errors.validation("expected a positive number of seconds", name)
  end
  return value
end

--- The policy the options ask for: { max_attempts, base_delay, max_delay, sleep, random } | nil, err
function retry.policy(options)
  local attempts = options.max_attempts
  if attempts == nil then
    attempts = retry.DEFAULTS.max_attempts
  elseif type(attempts) ~= "number" or attempts < 1 or attempts % 1 ~= 0 then
    return nil, errors.validation("expected a whole number of attempts, at least 1", "max_attempts")
  end
  local base, err = positive_number(options, "retry_base_delay", retry.DEFAULTS.base_delay)
  if not base then return nil, err end
  local cap
  cap, err = positive_number(options, "retry_max_delay", retry.DEFAULTS.max_delay)
  if not cap then return nil, err end
  for _, name in ipairs { "sleep", "random" } do
    if options[name] ~= nil and type(options[name]) ~= "function" then
      return nil, errors.validation("expected a function, got " .. type(options[name]), name)
    end
  end
  return {
    max_attempts = attempts, base_delay = base, max_delay = cap,
    sleep = options.sleep or retry.sleep, random = options.random or math.random,
  }
end

--- The server's time from an answer's `Date` header ("Sat, 16 Dec 2023 16:20:57 GMT") or the error's ServerTime
--- ("2023-12-16T16:20:57.000Z"), as unix seconds; nil when neither reads as a real time.
function retry.server_time(headers, err)
  local seconds = headers and utc.parse_http_date(headers.date)
  if seconds then return seconds end
  local server = err and err.details and err.details.ServerTime
  return utc.parse_iso8601(server, true)
end

return retry
