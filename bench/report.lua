-- Prints the bench results side by side: median [min .. max] per contender, then each ratio against its target.

local report = {}

local SECTIONS = {
  {
    title = "1. prepare: validate + serialise + MD5 + V4-sign one PutBucketInventory (full reference rule)",
    rows = {
      { "lua-oss, Lua 5.4", "prepare.lua54" }, { "lua-oss, LuaJIT", "prepare.luajit" },
      { "ali-oss (Node)", "prepare.ali-oss" }, { "limit: OpenSSL (C)", "prepare.openssl_limit" },
      { "  split: xml_write, Lua 5.4", "prepare.xml_write.lua54" },
      { "  split: xml_write, LuaJIT", "prepare.xml_write.luajit" },
      { "  split: obj2xml, ali-oss", "prepare.xml_write.ali-oss" },
      { "  split: sign_v4, Lua 5.4", "prepare.sign_v4.lua54" },
      { "  split: sign_v4, LuaJIT", "prepare.sign_v4.luajit" },
      { "  split: authorizationV4, ali-oss", "prepare.sign_v4.ali-oss" },
    },
    -- { label, numerator, denominator, "min" | "max", target }: the ratio of medians must be >= or <= target.
    ratios = {
      { "ali-oss / lua-oss (Lua 5.4)", "prepare.ali-oss", "prepare.lua54", "min", 8 },
      { "ali-oss / lua-oss (LuaJIT)", "prepare.ali-oss", "prepare.luajit", "min", 8 },
      { "lua-oss (Lua 5.4) / OpenSSL", "prepare.lua54", "prepare.openssl_limit", "max", 3 },
      { "lua-oss (LuaJIT) / OpenSSL", "prepare.luajit", "prepare.openssl_limit", "max", 3 },
    },
    per_second = true,
  },
  {
    title = "2. throughput: sequential keep-alive PUTs to an nginx sink answering 200",
    rows = {
      { "lua-oss, libcurl, Lua 5.4", "throughput.lua54" },
      { "lua-oss libcurl transport alone, Lua 5.4", "throughput.transport" },
      { "lua-oss in nginx, cosockets", "throughput.nginx" },
      { "ali-oss (Node, keep-alive)", "throughput.ali-oss" },
      { "floor: bare libcurl, reused handle (C)", "throughput.curl_limit" },
      { "limit: wrk -c1 -t1", "throughput.wrk" },
    },
    ratios = {
      { "lua-oss cosockets / wrk", "throughput.nginx", "throughput.wrk", "min", 0.8 },
      -- libcurl itself stays below wrk (more system calls per request), so the libcurl transport is judged
      -- against bare libcurl replaying the same prepared request; the whole put (which also validates and signs,
      -- as bare libcurl does not) and the comparisons with wrk are for information.
      { "lua-oss libcurl transport / bare libcurl", "throughput.transport", "throughput.curl_limit", "min", 0.8 },
      { "lua-oss libcurl put / bare libcurl", "throughput.lua54", "throughput.curl_limit", "min", nil },
      { "lua-oss libcurl put / wrk", "throughput.lua54", "throughput.wrk", "min", nil },
      { "bare libcurl / wrk", "throughput.curl_limit", "throughput.wrk", "min", nil },
      { "lua-oss libcurl / ali-oss", "throughput.lua54", "throughput.ali-oss", "min", nil },
    },
  },
  {
    title = "3. parse: a ListBucketInventory page of 100 full rules into tables",
    rows = {
      { "lua-oss, Lua 5.4", "parse.lua54" }, { "lua-oss, LuaJIT", "parse.luajit" },
      { "ali-oss (xml2js + formatInventoryConfig)", "parse.ali-oss" },
      { "limit: Expat, empty callbacks", "parse.expat_limit" },
    },
    ratios = {
      { "ali-oss / lua-oss (Lua 5.4)", "parse.ali-oss", "parse.lua54", "min", 8 },
      { "ali-oss / lua-oss (LuaJIT)", "parse.ali-oss", "parse.luajit", "min", 8 },
      { "lua-oss (Lua 5.4) / Expat", "parse.lua54", "parse.expat_limit", "max", 2 },
      { "lua-oss (LuaJIT) / Expat", "parse.luajit", "parse.expat_limit", "max", 2 },
    },
  },
  {
    title = "4. memory: peak RSS (VmHWM) of one Lua 5.4 process putting to the sink, after N requests",
    rows = {
      { "after 1 000", "memory.lua54.1000" }, { "after 10 000", "memory.lua54.10000" },
      { "after 100 000", "memory.lua54.100000" },
      { "after 10 (smoke)", "memory.lua54.10" }, { "after 100 (smoke)", "memory.lua54.100" },
    },
    ratios = {
      { "peak at 100 000 / peak at 10 000", "memory.lua54.100000", "memory.lua54.10000", "max", 1.05 },
      { "peak at 100 / peak at 10 (smoke)", "memory.lua54.100", "memory.lua54.10", "max", 1.05 },
    },
  },
}

local function number(value)
  if value >= 100 then return ("%.0f"):format(value) end
  if value >= 10 then return ("%.1f"):format(value) end
  return ("%.2f"):format(value)
end

local function print_row(label, result, per_second)
  local line = ("  %-42s %10s %-6s [%s .. %s]"):format(label, number(result.median), result.unit, number(result.min),
    number(result.max))
  if per_second and result.unit == "us" then line = line .. ("   %s req/s"):format(number(1e6 / result.median)) end
  print(line)
end

local function print_ratio(results, ratio)
  local label, numerator, denominator, direction, target = ratio[1], results[ratio[2]], results[ratio[3]], ratio[4],
    ratio[5]
  if not numerator or not denominator then return end
  local value = numerator.median / denominator.median
  local verdict = ""
  if target then
    local met = (direction == "min" and value >= target) or (direction == "max" and value <= target)
    local sign = direction == "min" and ">=" or "<="
    verdict = ("target %s %s: %s"):format(sign, number(target), met and "met" or "MISSED")
  end
  print(("  %-42s %9.2fx   %s"):format(label, value, verdict))
end

--- print(results, { smoke }) where results[name] = { median, min, max, unit }
function report.print(results, options)
  print()
  print("medians over repeated runs, [min .. max] across runs; ratios compare medians from this one run")
  if options.smoke then print("SMOKE MODE: a few iterations each; the numbers mean nothing") end
  for _, section in ipairs(SECTIONS) do
    print()
    print(section.title)
    for _, row in ipairs(section.rows) do
      local result = results[row[2]]
      if result then print_row(row[1], result, section.per_second) end
    end
    for _, ratio in ipairs(section.ratios) do print_ratio(results, ratio) end
  end
end

return report
