-- Throughput: sequential keep-alive PUTs of the reference rule through lua-oss's libcurl transport to a sink.

-- usage: throughput.lua ENDPOINT [ROUNDS]   (the runner asks for one round at a time, alternating contenders)

local fixtures = require "bench.fixtures"
local measure = require "bench.measure"
local oss = require "oss"

local endpoint = assert(arg[1], "usage: throughput.lua ENDPOINT")
local client = assert(oss.new {
  region = fixtures.REGION, endpoint = endpoint, path_style = true, max_attempts = 1,
  access_key_id = fixtures.CREDENTIALS.access_key_id, access_key_secret = fixtures.CREDENTIALS.access_key_secret,
})

local function put(count)
  local started = measure.now()
  for _ = 1, count do
    local ok, err = client:put_bucket_inventory(fixtures.BUCKET, fixtures.RULE)
    if not ok then error("put failed: " .. tostring(err)) end
  end
  return count, measure.now() - started
end

local count, rounds = 5, tonumber(arg[2]) or 3
if not measure.smoke then
  count, rounds = 5000, tonumber(arg[2]) or 7
  put(count // 5)
end
measure.rate("throughput." .. (jit and "luajit" or "lua54"), rounds, function() return put(count) end)
