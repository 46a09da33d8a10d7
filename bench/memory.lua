-- Memory: peak RSS of one process making 100 000 PUTs to a sink, read at checkpoints: it must not grow with the count.

-- usage: memory.lua ENDPOINT

local fixtures = require "bench.fixtures"
local measure = require "bench.measure"
local oss = require "oss"

local endpoint = assert(arg[1], "usage: memory.lua ENDPOINT")
local client = assert(oss.new {
  region = fixtures.REGION, endpoint = endpoint, path_style = true, max_attempts = 1,
  access_key_id = fixtures.CREDENTIALS.access_key_id, access_key_secret = fixtures.CREDENTIALS.access_key_secret,
})

-- VmHWM: the resident set's high-water mark, in kB.
local function peak_rss_kb()
  local file = assert(io.open("/proc/self/status", "r"))
  local status = file:read("*a")
  file:close()
  return tonumber(status:match("VmHWM:%s*(%d+)"))
end

local CHECKPOINTS = measure.smoke and { 10, 100 } or { 1000, 10000, 100000 }
local runtime = jit and "luajit" or "lua54"
local done = 0
for _, checkpoint in ipairs(CHECKPOINTS) do
  while done < checkpoint do
    local ok, err = client:put_bucket_inventory(fixtures.BUCKET, fixtures.RULE)
    if not ok then error("put failed: " .. tostring(err)) end
    done = done + 1
  end
  local kb = peak_rss_kb()
  measure.emit(("memory.%s.%d"):format(runtime, checkpoint), { median = kb, min = kb, max = kb }, "kB")
end
