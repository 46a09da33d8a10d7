-- make bench: runs every bench (lua-oss, ali-oss, the C limits, wrk) in one go and prints medians and ratios.

-- usage: lua5.4 bench/run.lua [BUILD_DIR]   (BENCH_SMOKE=1: a few iterations each, to prove the scripts run)

local ROOT = (debug.getinfo(1, "S").source:match("^@(.*)/bench/run%.lua$")) or "."
package.path = ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;" .. ROOT .. "/?.lua;" .. package.path
local BUILD = arg[1] or (ROOT .. "/build")
package.cpath = BUILD .. "/lua54/?.so;" .. package.cpath

local fixtures = require "bench.fixtures"
local measure = require "bench.measure"
local sink = require "bench.sink"

local SMOKE = measure.smoke
local C_FLAGS = "-std=c99 -Wall -Wextra -Wpedantic -Werror -D_POSIX_C_SOURCE=200809L -O2"

local function quote(text)
  return "'" .. tostring(text):gsub("'", "'\\''") .. "'"
end

local function read_all(path)
  local file = io.open(path, "rb")
  if not file then return "" end
  local bytes = file:read("*a")
  file:close()
  return bytes
end

local function run(command)
  local ok, _, code = os.execute(command)
  if not ok then error(("failed (%s): %s"):format(tostring(code), command), 2) end
end

local scratch = os.tmpname()
os.remove(scratch)
run("mkdir -p " .. quote(scratch) .. " " .. quote(BUILD .. "/bench"))
fixtures.write(scratch)

local results = {}

-- Runs one bench process and keeps the result lines it prints; anything else it says goes to the terminal.
local function collect(command, environment)
  local errors_path = scratch .. "/stderr"
  local prefix = {}
  for name, value in pairs(environment or {}) do prefix[#prefix + 1] = name .. "=" .. quote(value) end
  local full = ("cd %s && env %s %s 2>%s"):format(quote(ROOT), table.concat(prefix, " "), command, quote(errors_path))
  local pipe = assert(io.popen(full, "r"))
  for line in pipe:lines() do
    local name, median, low, high, unit = line:match("^result\t([^\t]+)\t([^\t]+)\t([^\t]+)\t([^\t]+)\t(.+)$")
    if name then
      results[name] = { median = tonumber(median), min = tonumber(low), max = tonumber(high), unit = unit }
    else
      print(line)
    end
  end
  local ok = pipe:close()
  if not ok then error(("bench failed: %s\n%s"):format(command, read_all(errors_path)), 0) end
end

local function lua_env(runtime)
  return {
    LUA_PATH = ("%s/lua/?.lua;%s/lua/?/init.lua;%s/?.lua;;"):format(ROOT, ROOT, ROOT),
    LUA_CPATH = ("%s/%s/?.so;;"):format(BUILD, runtime),
    BENCH_SMOKE = SMOKE and "1" or "0",
  }
end

local NODE_ENV = { NODE_PATH = ROOT .. "/spec/interop/node_modules", BENCH_SMOKE = SMOKE and "1" or "0" }
local C_ENV = { BENCH_SMOKE = SMOKE and "1" or "0" }

local function build_limit(name, library)
  local binary = BUILD .. "/bench/" .. name
  run(("cc %s -o %s %s %s"):format(C_FLAGS, quote(binary), quote(ROOT .. "/bench/" .. name .. ".c"), library))
  return quote(binary)
end

-- wrk with one connection and one thread replaying the signed PUT: what the sink allows one client.
local function wrk_round(url)
  local command = ("env BENCH_FIXTURES=%s wrk -c1 -t1 -d1s -s %s %s 2>&1"):format(quote(scratch),
    quote(ROOT .. "/bench/wrk_put.lua"), quote(url))
  local pipe = assert(io.popen(command, "r"))
  local output = pipe:read("*a")
  pipe:close()
  local rate = tonumber(output:match("Requests/sec:%s*([%d.]+)"))
  if not rate or output:find("Non%-2xx") then error("wrk failed:\n" .. output, 0) end
  return rate
end

-- The contenders take turns, one round each, so that load from elsewhere on the machine falls on all of them.
local function throughput(sinks, curl_limit)
  local url = sinks.endpoint .. "/?inventory&inventoryId=" .. fixtures.RULE.Id
  local puts = SMOKE and 5 or 5000
  local contenders = {
    ["throughput.lua54"] = function()
      collect("lua5.4 bench/throughput.lua " .. quote(sinks.endpoint) .. " 1", lua_env("lua54"))
      return results["throughput.lua54"].median
    end,
    ["throughput.transport"] = function()
      collect("lua5.4 bench/throughput.lua " .. quote(sinks.endpoint) .. " 1 transport", lua_env("lua54"))
      return results["throughput.transport"].median
    end,
    ["throughput.nginx"] = function()
      local requests, seconds = sinks.drive(puts)
      return requests / seconds
    end,
    ["throughput.ali-oss"] = function()
      collect("node bench/throughput.js " .. quote(sinks.endpoint) .. " 1", NODE_ENV)
      return results["throughput.ali-oss"].median
    end,
    ["throughput.curl_limit"] = function()
      collect(("%s %s %s %s"):format(curl_limit, quote(url), quote(scratch .. "/body.xml"),
        quote(scratch .. "/request_headers.txt")), C_ENV)
      return results["throughput.curl_limit"].median
    end,
    ["throughput.wrk"] = function() return wrk_round(url) end,
  }
  local order = {
    "throughput.lua54", "throughput.transport", "throughput.nginx", "throughput.ali-oss", "throughput.curl_limit",
    "throughput.wrk",
  }
  local samples = {}
  if not SMOKE then sinks.drive(puts // 5) end
  for round = 1, SMOKE and 1 or 7 do
    for _, name in ipairs(order) do
      samples[name] = samples[name] or {}
      samples[name][round] = contenders[name]()
    end
  end
  for _, name in ipairs(order) do
    local summary = measure.summary(samples[name])
    summary.unit = "req/s"
    results[name] = summary
  end
end

-- Every bench, in order; the throughput and memory benches share one pair of nginx processes.
local function run_all()
  local openssl_limit = build_limit("openssl_limit", "-lcrypto")
  local expat_limit = build_limit("expat_limit", "-lexpat")
  local curl_limit = build_limit("curl_limit", "-lcurl")

  io.write("prepare ") io.flush()
  collect("lua5.4 bench/prepare.lua", lua_env("lua54"))
  collect("luajit bench/prepare.lua", lua_env("luajit"))
  collect("node bench/prepare.js", NODE_ENV)
  collect(("%s %s %s %s"):format(openssl_limit, quote(scratch .. "/body.xml"),
    quote(scratch .. "/canonical_request.txt"), quote(scratch .. "/string_to_sign.txt")), C_ENV)

  io.write("parse ") io.flush()
  collect("lua5.4 bench/parse.lua", lua_env("lua54"))
  collect("luajit bench/parse.lua", lua_env("luajit"))
  collect("node bench/parse.js " .. quote(scratch .. "/list_page.xml"), NODE_ENV)
  collect(expat_limit .. " " .. quote(scratch .. "/list_page.xml"), C_ENV)

  io.write("throughput ") io.flush()
  local sinks = sink.start()
  local ok, problem = pcall(function()
    throughput(sinks, curl_limit)
    io.write("memory ") io.flush()
    collect("lua5.4 bench/memory.lua " .. quote(sinks.endpoint), lua_env("lua54"))
  end)
  sinks.stop()
  if not ok then error(problem, 0) end
end

local started = measure.now()
local ok, problem = pcall(run_all)
run("rm -rf " .. quote(scratch))
if not ok then error(problem, 0) end
io.write(("(%.0f s)\n"):format(measure.now() - started))

require("bench.report").print(results, { smoke = SMOKE })
