-- Temporary credentials kept until shortly before they expire, fetched one at a time, with a backoff on failure.
--
-- Inside nginx a fetch yields (cosockets), so other requests of the worker run meanwhile: while the kept
-- credentials are valid they are served; when none are, a request waits on a semaphore for the fetch in flight
-- instead of starting its own. Outside nginx nothing runs concurrently unless a caller's own coroutine yields
-- inside the fetch.

local errors = require "oss.errors"
local provider = require "oss.credentials.provider"
local utc = require "oss.utc"

local refreshing = {}

-- The official credentials libraries (the Node one's session STALE_TIME) refresh fifteen minutes before expiry.
refreshing.MARGIN = 15 * 60
-- STS issues credentials for as little as 15 minutes and specs ask for less: a margin longer than half the
-- lifetime would fetch again on every request, so it is capped there.
local function margin_for(lifetime)
  return math.min(refreshing.MARGIN, lifetime / 2)
end
-- After a failed fetch no other is started for 1, 2, 4 ... seconds, at most a minute, so a dead metadata service
-- or STS is asked once in a while rather than by every request.
refreshing.MAX_BACKOFF = 60
-- How long a request waits inside nginx for the fetch in flight; the fetch's own timeouts end it sooner.
local WAIT_SECONDS = 60

local function pack(...) return { n = select("#", ...), ... } end
local unpack = table.unpack or unpack

-- A fetch may yield (an HTTP call inside a coroutine), and Lua 5.1 cannot yield across pcall: there the fetch runs
-- in a coroutine of its own whose yields are passed on to the caller's coroutine.
local protected_call = pcall
if _VERSION == "Lua 5.1" and not jit then
  protected_call = function(fn)
    local thread = coroutine.create(fn)
    local results = pack(coroutine.resume(thread))
    while coroutine.status(thread) ~= "dead" do
      results = pack(coroutine.resume(thread, coroutine.yield(unpack(results, 2, results.n))))
    end
    return unpack(results, 1, results.n)
  end
end

local function inside_nginx()
  return type(ngx) == "table" and type(ngx.get_phase) == "function"
end

--- new(name, fetch [, clock]) -> provider
--- fetch() -> credentials (oss.credentials.value) | nil, err; credentials without an expiration are not kept.
function refreshing.new(name, fetch, clock)
  clock = clock or os.time
  local kept, refresh_at -- the credentials and when to fetch new ones
  -- When the running fetch started, and the semaphore its waiters sleep on (nginx). A fetch whose light thread
  -- nginx killed never ends: past WAIT_SECONDS it no longer holds the others back.
  local in_flight_since, waiting = nil, nil
  local failures, retry_at, last_err = 0, nil, nil

  local function valid(now)
    return kept ~= nil and now < kept.expiration
  end

  local function run_fetch(now)
    in_flight_since = now
    local ok, fresh, err = protected_call(fetch)
    in_flight_since = nil
    if waiting and waiting:count() < 0 then waiting:post(-waiting:count()) end
    if not ok then
      fresh, err = nil, errors.validation("failed: " .. tostring(fresh), name)
    elseif fresh and fresh.expiration and fresh.expiration <= clock() then
      fresh, err = nil, errors.validation(("brought credentials that expired at %s: is the clock right?")
        :format(utc.iso8601(fresh.expiration)), name)
    end
    if not fresh then
      failures = failures + 1
      retry_at = clock() + math.min(refreshing.MAX_BACKOFF, 2 ^ (failures - 1))
      last_err = err or errors.validation("failed: returned nothing", name)
      if valid(clock()) then return kept end
      return nil, last_err
    end
    failures, retry_at, last_err = 0, nil, nil
    if fresh.expiration then
      kept, refresh_at = fresh, fresh.expiration - margin_for(fresh.expiration - now)
    end
    return fresh
  end

  local function wait_for_fetch()
    if not inside_nginx() then
      return nil, errors.validation("no valid credentials yet and a fetch is already in flight in another "
        .. "coroutine", name)
    end
    waiting = waiting or require("ngx.semaphore").new()
    local woken, why = waiting:wait(WAIT_SECONDS)
    if not woken then
      return nil, errors.validation("waiting for the fetch in flight: " .. tostring(why), name)
    end
    if valid(clock()) then return kept end
    return nil, last_err or errors.validation("the fetch in flight brought no credentials", name)
  end

  return provider.new(name, function()
    local now = clock()
    if kept and now < refresh_at then return kept end
    if in_flight_since and now - in_flight_since < WAIT_SECONDS then
      if valid(now) then return kept end
      return wait_for_fetch()
    end
    if retry_at and now < retry_at then
      if valid(now) then return kept end
      return nil, last_err
    end
    return run_fetch(now)
  end)
end

return refreshing
