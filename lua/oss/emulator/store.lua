-- The declared buckets and their inventory rules, optionally persisted to one JSON file replaced atomically.
local cjson = require "cjson"
local atomic_file = require "oss.emulator.atomic_file"

local json = cjson.new()
-- 14 significant digits hold every integer the schema allows (sizes up to 48.8 TB, timestamps to 9999).
json.encode_number_precision(14)
json.encode_sparse_array(true)

local FORMAT = "oss-emulator-state/1"

local Store = {}
Store.__index = Store

local M = {}

-- buckets: { { name, region, owner }, ... }; path: the state file or nil for memory only.
function M.new(buckets, path)
  local self = setmetatable({ buckets = {}, path = path }, Store)
  for _, bucket in ipairs(buckets) do
    self.buckets[bucket.name] = {
      name = bucket.name,
      region = bucket.region,
      owner = bucket.owner,
      rules = {},
      count = 0,
    }
  end
  return self
end

function Store:bucket(name)
  return self.buckets[name]
end

local function sorted_ids(bucket)
  local ids = {}
  for id in pairs(bucket.rules) do
    ids[#ids + 1] = id
  end
  table.sort(ids)
  return ids
end

function Store:snapshot()
  local state = { format = FORMAT, buckets = {} }
  for name, bucket in pairs(self.buckets) do
    local rules = {}
    for index, id in ipairs(sorted_ids(bucket)) do
      rules[index] = bucket.rules[id]
    end
    state.buckets[name] = rules
  end
  return state
end

function Store:save()
  if not self.path then
    return true
  end
  return atomic_file.write(self.path, json.encode(self:snapshot()))
end

-- Rules of buckets no longer declared are dropped: the declaration is the source of truth for buckets.
function Store:load()
  if not self.path then
    return true
  end
  local bytes = atomic_file.read(self.path)
  if not bytes then
    return true
  end
  local ok, state = pcall(json.decode, bytes)
  if not ok or type(state) ~= "table" or state.format ~= FORMAT or type(state.buckets) ~= "table" then
    return nil, self.path .. " is not an emulator state file"
  end
  for name, rules in pairs(state.buckets) do
    local bucket = self.buckets[name]
    if bucket then
      bucket.rules, bucket.count = {}, 0
      for _, rule in ipairs(rules) do
        bucket.rules[rule.Id] = rule
        bucket.count = bucket.count + 1
      end
    end
  end
  return true
end

-- Each change is persisted before it is acknowledged; a change that cannot be saved is undone.
local function commit(self, bucket, id, rule, delta)
  local previous = bucket.rules[id]
  bucket.rules[id] = rule
  bucket.count = bucket.count + delta
  local saved, message = self:save()
  if not saved then
    bucket.rules[id] = previous
    bucket.count = bucket.count - delta
    return nil, message
  end
  return true
end

function Store:insert(bucket, rule)
  return commit(self, bucket, rule.Id, rule, 1)
end

function Store:remove(bucket, id)
  return commit(self, bucket, id, nil, -1)
end

-- Up to `limit` rules in Id order, starting at Id `from` (inclusive) when given; plus the Id that starts the next page.
function Store.page(_, bucket, from, limit)
  local rules, next_id = {}, nil
  for _, id in ipairs(sorted_ids(bucket)) do
    if from == nil or id >= from then
      if #rules == limit then
        next_id = id
        break
      end
      rules[#rules + 1] = bucket.rules[id]
    end
  end
  return rules, next_id
end

function Store:clear()
  local saved_rules = {}
  for name, bucket in pairs(self.buckets) do
    saved_rules[name] = { bucket.rules, bucket.count }
    bucket.rules, bucket.count = {}, 0
  end
  local saved, message = self:save()
  if not saved then
    for name, bucket in pairs(self.buckets) do
      bucket.rules, bucket.count = saved_rules[name][1], saved_rules[name][2]
    end
    return nil, message
  end
  return true
end

return M
