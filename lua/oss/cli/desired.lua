-- Checks a desired-state document { buckets = { [bucket] = entry } } and every rule in it, offline. An entry is the
-- list of the bucket's rules, or { region = "cn-shanghai", endpoint = "https://…", rules = { rule, ... } } for a
-- bucket reached through other than the default region or endpoint.

local endpoint = require "oss.endpoint"
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

local ENTRY_KEYS = { region = true, endpoint = true, rules = true }

--- True when a bucket's entry is the { region, endpoint, rules } form rather than the bare list of rules.
function desired.is_located(entry)
  return type(entry) == "table" and (entry.rules ~= nil or entry.region ~= nil or entry.endpoint ~= nil)
end

--- The rules of a bucket's entry, in either form.
function desired.rules_of(entry)
  if desired.is_located(entry) then return entry.rules end
  return entry
end

local function is_rule_list(rules)
  return type(rules) == "table" and (next(rules) == nil or #rules > 0)
end

-- The problems of the { region, endpoint, rules } form's own elements.
local function location_problems(entry, path, out)
  for key in pairs(entry) do
    if not ENTRY_KEYS[key] then
      add(out, path .. "." .. tostring(key), "unknown element (expected region, endpoint or rules)")
    end
  end
  local region_problem = entry.region ~= nil and endpoint.region_problem(entry.region)
  if region_problem then
    add(out, path .. ".region", region_problem .. ", got " .. tostring(entry.region))
  end
  if entry.endpoint ~= nil then
    local parsed, endpoint_err = endpoint.parse(entry.endpoint)
    if not parsed then add(out, path .. ".endpoint", endpoint_err.reason .. ", got " .. tostring(entry.endpoint)) end
  end
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
    local entry = state.buckets[bucket]
    local rules_path = path
    if desired.is_located(entry) then
      location_problems(entry, path, out)
      rules_path = path .. ".rules"
    end
    local rules = desired.rules_of(entry)
    if not is_rule_list(rules) then
      add(out, rules_path, "expected a list of rules, or { region = , endpoint = , rules = { … } }")
    else
      desired.rules_problems(rules, rules_path, out)
    end
  end
  return out
end

--- The buckets of a desired state, sorted by name: { { bucket, rules, region, endpoint }, ... } (region and
--- endpoint nil for the defaults).
function desired.entries(state)
  local out = {}
  for _, bucket in ipairs(desired.buckets(state)) do
    local entry = state.buckets[bucket]
    local located = desired.is_located(entry)
    out[#out + 1] = {
      bucket = bucket, rules = desired.rules_of(entry),
      region = located and entry.region or nil, endpoint = located and entry.endpoint or nil,
    }
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
