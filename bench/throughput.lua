-- Throughput: sequential keep-alive PUTs of the reference rule through lua-oss's libcurl transport to a sink.
-- `put` measures what a caller sees (validate, sign, send, read); `transport` replays one prepared request through
-- the libcurl transport alone, as bare libcurl replays the same signed bytes, so the two compare like for like.

-- usage: throughput.lua ENDPOINT [ROUNDS [put|transport]]   (the runner asks for one round at a time)

local fixtures = require "bench.fixtures"
local measure = require "bench.measure"
local oss = require "oss"

local endpoint = assert(arg[1], "usage: throughput.lua ENDPOINT")
local client = assert(oss.new {
  region = fixtures.REGION, endpoint = endpoint, path_style = true, max_attempts = 1,
  access_key_id = fixtures.CREDENTIALS.access_key_id, access_key_secret = fixtures.CREDENTIALS.access_key_secret,
})

local mode = arg[3] or "put"

local send_once
if mode == "put" then
  send_once = function()
    local ok, err = client:put_bucket_inventory(fixtures.BUCKET, fixtures.RULE)
    if not ok then error("put failed: " .. tostring(err)) end
  end
elseif mode == "transport" then
  local request = assert(client:put_bucket_inventory(fixtures.BUCKET, fixtures.RULE, { dry_run = true }))
  local send = assert(require("oss.transport.curl").new {})
  send_once = function()
    local answer, err = send(request)
    if not answer or answer.status ~= 200 then error("send failed: " .. tostring(err and err.message)) end
  end
else
  error("usage: throughput.lua ENDPOINT [ROUNDS [put|transport]]")
end

local function run(count)
  local started = measure.now()
  for _ = 1, count do send_once() end
  return count, measure.now() - started
end

local count, rounds = 5, tonumber(arg[2]) or 3
if not measure.smoke then
  count, rounds = 5000, tonumber(arg[2]) or 7
  run(count // 5)
end
local name = mode == "put" and "throughput." .. (jit and "luajit" or "lua54") or "throughput.transport"
measure.rate(name, rounds, function() return run(count) end)
