-- make bench: plan of 40 buckets x 5 rules against the emulator with 50 ms added to every request, read by one
-- process (--jobs 1) and by eight (--jobs 8); prints both times and their ratio.

-- usage: lua5.4 bench/plan_jobs.lua   (from the repository root, after make all)

local ROOT = (debug.getinfo(1, "S").source:match("^@(.*)/bench/plan_jobs%.lua$")) or "."
package.path = ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;" .. ROOT .. "/?.lua;" .. package.path

local support = require "spec.support.emulator"
local socket = require "socket"
local text_writer = require "oss.cli.text_writer"

local BUCKETS, RULES, DELAY = 40, 5, 0.05
local KEY_ID, SECRET = "ak-bench", "secret-bench"

local function rule(index)
  return {
    Id = ("rule-%d"):format(index), IsEnabled = true, Filter = { Prefix = ("logs/%d/"):format(index) },
    Destination = { OSSBucketDestination = {
      Format = "CSV", AccountId = "1000000000000000", RoleArn = "acs:ram::1000000000000000:role/AliyunOSSRole",
      Bucket = "acs:oss:::bench-destination",
    } },
    Schedule = { Frequency = "Daily" }, IncludedObjectVersions = "All",
  }
end

local names, state = { "bench-destination" }, { buckets = {} }
for number = 1, BUCKETS do
  local bucket = ("bench-bucket-%02d"):format(number)
  names[#names + 1] = bucket
  local rules = {}
  for index = 1, RULES do rules[index] = rule(index) end
  state.buckets[bucket] = rules
end

local emulator = support.start { buckets = names, keys = { KEY_ID .. ":" .. SECRET } }
local state_file = os.tmpname() .. ".lua"
local file = assert(io.open(state_file, "wb"))
file:write(text_writer.write("lua", nil, state))
file:close()

local function run(arguments)
  local command = ("env OSS_ENDPOINT=%s OSS_REGION=cn-hangzhou OSS_ACCESS_KEY_ID=%s OSS_ACCESS_KEY_SECRET=%s "
    .. "OSS_PATH_STYLE=1 %s %s >/dev/null 2>&1"):format(emulator.endpoint, KEY_ID, SECRET,
    support.shell_quote(ROOT .. "/tools/dev-run") .. " lua5.4 " .. support.shell_quote(ROOT .. "/bin/oss-inventory"),
    arguments)
  local started = socket.gettime()
  local ok = os.execute(command)
  return socket.gettime() - started, ok
end

local _, applied = run("apply --auto-approve --jobs 8 " .. state_file)
assert(applied, "the bench's apply failed")
local seconds = {}
for _, jobs in ipairs { 1, 8 } do
  emulator:faults { { delay = DELAY, times = 100000 } }
  local elapsed, ok = run(("plan --detailed-exitcode --jobs %d %s"):format(jobs, state_file))
  assert(ok, "plan --jobs " .. jobs .. " failed (or found changes)")
  seconds[jobs] = elapsed
  emulator:admin("DELETE", "faults")
end
emulator:stop()
os.remove(state_file)
print(("plan, %d buckets x %d rules, %d ms per request: --jobs 1 %.2f s, --jobs 8 %.2f s, ratio %.1fx")
  :format(BUCKETS, RULES, DELAY * 1000, seconds[1], seconds[8], seconds[1] / seconds[8]))
