-- Times a function in repeated rounds and prints one result line the bench runner reads: medians, never one run.

--
-- A result line is tab-separated: "result", name, median, min, max, unit. Every bench script (Lua, JS, C)
-- prints the same shape, so the runner compares them without knowing which language measured what.

local socket = require "socket"

local measure = {}

-- BENCH_SMOKE=1 runs every measurement a handful of times: enough to prove the script works, not to time it.
measure.smoke = os.getenv("BENCH_SMOKE") == "1"

local ROUND_SECONDS = 0.03
local ROUNDS = 15

local function sorted(values)
  local copy = {}
  for index, value in ipairs(values) do copy[index] = value end
  table.sort(copy)
  return copy
end

--- summary(samples) -> { median, min, max }
function measure.summary(samples)
  local ordered = sorted(samples)
  local count = #ordered
  local median = count % 2 == 1 and ordered[(count + 1) / 2]
    or (ordered[count / 2] + ordered[count / 2 + 1]) / 2
  return { median = median, min = ordered[1], max = ordered[count] }
end

--- emit(name, summary, unit): the line the runner parses.
function measure.emit(name, summary, unit)
  io.write(("result\t%s\t%.4f\t%.4f\t%.4f\t%s\n"):format(name, summary.median, summary.min, summary.max, unit))
  io.flush()
end

-- How many calls fill one round: calls are doubled until a batch takes a tenth of a round.
local function calibrate(fn)
  local calls = 1
  while true do
    local started = socket.gettime()
    for _ = 1, calls do fn() end
    local elapsed = socket.gettime() - started
    if elapsed >= ROUND_SECONDS / 10 then
      return math.max(1, math.floor(calls * ROUND_SECONDS / elapsed))
    end
    calls = calls * 2
  end
end

--- per_call(name, fn): microseconds per call of fn, one sample per round.
function measure.per_call(name, fn)
  local calls, rounds = 3, 3
  if not measure.smoke then
    calls, rounds = calibrate(fn), ROUNDS
    for _ = 1, calls * 5 do fn() end -- LuaJIT's traces and the caches settle before the samples
  end
  local samples = {}
  for round = 1, rounds do
    local started = socket.gettime()
    for _ = 1, calls do fn() end
    samples[round] = (socket.gettime() - started) * 1e6 / calls
  end
  measure.emit(name, measure.summary(samples), "us")
end

--- rate(name, rounds, run): run(round) returns requests, seconds; one requests-per-second sample per round.
function measure.rate(name, rounds, run)
  local samples = {}
  for round = 1, rounds do
    local requests, seconds = run(round)
    samples[round] = requests / seconds
  end
  measure.emit(name, measure.summary(samples), "req/s")
end

measure.now = socket.gettime

return measure
