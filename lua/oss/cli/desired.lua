-- Checks a desired-state document { buckets = { [bucket] = { rule, ... } } } and every rule in it, offline.

local oss = require "oss"
local problems = require "oss.cli.problems"

local desired = {}

-- A client that never sends: its dry runs apply the same bucket-name checks a real request would.
local offline_client = assert(oss.new {
  region = "cn-hangzhou", endpoint = "http://127.0.0.1", access_key_id = "offline", access_key_secret = "offline",
  transport = function() return nil, { code = "offline", message = "never sent" } end,
})

--- A validation problem with the bucket name, or nil.
function desired.bucket_problem(bucket)
  if type(bucket) ~= "string" then return "expected a bucket name, got " .. type(bucket) end
  local _, err = offline_client:list_bucket_inventory(bucket, { dry_run = true })
  return err and err.reason or nil
end

local function add(out, path, reason)
  out[#out + 1] = { path = path, reason = reason }
end

--- Every problem of a list of rules meant for one bucket (each rule's own, and Ids given twice), under `prefix`.
function desired.rules_problems(rules, prefix, out)
  out = out or {}
  local seen = {}
  for index, rule in ipairs(rules) do
    local path = ("%s[%d]"):format(prefix, index)
    for _, problem in ipairs(problems.of_rule(rule)) do
      add(out, problem.path ~= "" and (path .. "." .. problem.path) or path, problem.reason)
    end
    local id = type(rule) == "table" and rule.Id
    if type(id) == "string" then
      if seen[id] then add(out, path .. ".Id", ("%q is already the Id of rule [%d]"):format(id, seen[id])) end
      seen[id] = seen[id] or index
    end
  end
  return out
end

--- Every problem of a desired-state value: { { path, reason }, ... }, empty when it can be planned.
function desired.problems(state)
  local out = {}
  for key in pairs(state) do
    if key ~= "buckets" then add(out, tostring(key), "unknown element (expected buckets)") end
  end
  if type(state.buckets) ~= "table" then
    add(out, "buckets", "expected a table of bucket name = { rules }, got " .. type(state.buckets))
    return out
  end
  local names = {}
  for bucket in pairs(state.buckets) do names[#names + 1] = bucket end
  table.sort(names, function(a, b) return tostring(a) < tostring(b) end)
  for _, bucket in ipairs(names) do
    local path = "buckets." .. tostring(bucket)
    local reason = desired.bucket_problem(bucket)
    if reason then add(out, path, reason) end
    local rules = state.buckets[bucket]
    if type(rules) ~= "table" or (next(rules) ~= nil and #rules == 0) then
      add(out, path, "expected a list of rules")
    else
      desired.rules_problems(rules, path, out)
    end
  end
  return out
end

--- The bucket names of a desired state, sorted.
function desired.buckets(state)
  local names = {}
  for bucket in pairs(state.buckets) do names[#names + 1] = bucket end
  table.sort(names)
  return names
end

return desired
