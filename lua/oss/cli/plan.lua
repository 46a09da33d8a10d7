-- Compares the rules a bucket should have with the rules it has, and prints the difference as a readable diff.

local stored_form = require "oss.stored_form"

local plan = {}

local ACTION_ORDER = { delete = 1, replace = 2, create = 3, unchanged = 4 }

local function value_text(value)
  if type(value) == "string" then return string.format("%q", value) end
  return tostring(value)
end

local function is_scalar_array(value)
  return #value > 0 and type(value[1]) ~= "table"
end

-- The leaves of a rule as path = text, arrays of values as one leaf, empty elements (SSE-OSS) as {}; `raw` gets the
-- leaves' values under the same paths, for a machine-readable plan.
local function flatten(value, path, out, raw)
  if type(value) ~= "table" then
    out[path], raw[path] = value_text(value), value
  elseif next(value) == nil then
    out[path], raw[path] = "{}", value
  elseif is_scalar_array(value) then
    local items = {}
    for index, item in ipairs(value) do items[index] = value_text(item) end
    out[path], raw[path] = "[" .. table.concat(items, ", ") .. "]", value
  else
    for key, item in pairs(value) do
      flatten(item, path == "" and tostring(key) or (path .. "." .. tostring(key)), out, raw)
    end
  end
  return out
end

local function sorted_keys(map)
  local keys = {}
  for key in pairs(map) do keys[#keys + 1] = key end
  table.sort(keys)
  return keys
end

--- What turns `current` into `wanted`: { { sign = "+" | "-" | "~", path, before, after, old_value, new_value } }
--- (before and after as text), empty when equal.
function plan.changes(current, wanted)
  -- compared as the service stores them, so its own spelling of a value is no change
  local old_values, new_values = {}, {}
  local before = current and flatten(stored_form.rule(current), "", {}, old_values) or {}
  local after = wanted and flatten(stored_form.rule(wanted), "", {}, new_values) or {}
  local union = {}
  for key in pairs(before) do union[key] = true end
  for key in pairs(after) do union[key] = true end
  local out = {}
  for _, path in ipairs(sorted_keys(union)) do
    local old, new = before[path], after[path]
    if old ~= new then
      local sign = (old == nil and "+") or (new == nil and "-") or "~"
      out[#out + 1] = { sign = sign, path = path, before = old, after = new, old_value = old_values[path],
        new_value = new_values[path] }
    end
  end
  return out
end

--- One bucket's plan: actions { action, id, rule, changes } sorted delete, replace, create, unchanged; and the
--- number of rules left alone because they are not in the file (deleted instead with `prune`).
function plan.for_bucket(bucket, wanted_rules, current_rules, prune)
  local current = {}
  for _, rule in ipairs(current_rules) do current[rule.Id] = rule end
  local actions, wanted_ids, unmanaged = {}, {}, 0
  for _, rule in ipairs(wanted_rules) do
    wanted_ids[rule.Id] = true
    local existing = current[rule.Id]
    if not existing then
      actions[#actions + 1] = { action = "create", id = rule.Id, rule = rule, changes = plan.changes(nil, rule) }
    else
      -- Whether the rule changes is the service's notion of the same rule; the field changes only show how.
      local unchanged = stored_form.same_rule(existing, rule)
      actions[#actions + 1] = { action = unchanged and "unchanged" or "replace", id = rule.Id, rule = rule,
        changes = unchanged and {} or plan.changes(existing, rule) }
    end
  end
  for _, rule in ipairs(current_rules) do
    if not wanted_ids[rule.Id] then
      if prune then
        actions[#actions + 1] = { action = "delete", id = rule.Id, changes = plan.changes(rule, nil) }
      else
        unmanaged = unmanaged + 1
      end
    end
  end
  table.sort(actions, function(a, b)
    if a.action ~= b.action then return ACTION_ORDER[a.action] < ACTION_ORDER[b.action] end
    return a.id < b.id
  end)
  return { bucket = bucket, actions = actions, unmanaged = unmanaged }
end

--- Counts of each action over bucket plans: { create, replace, delete, unchanged, unmanaged, changes }.
function plan.count(bucket_plans)
  local counts = { create = 0, replace = 0, delete = 0, unchanged = 0, unmanaged = 0 }
  for _, bucket_plan in ipairs(bucket_plans) do
    for _, action in ipairs(bucket_plan.actions) do counts[action.action] = counts[action.action] + 1 end
    counts.unmanaged = counts.unmanaged + bucket_plan.unmanaged
  end
  counts.changes = counts.create + counts.replace + counts.delete
  return counts
end

local SIGNS = { create = "+", replace = "~", delete = "-" }

local function summary(counts)
  return ("%d to create, %d to replace, %d to delete, %d unchanged"):format(counts.create, counts.replace,
    counts.delete, counts.unchanged)
end

local function render_change(change, out)
  if change.sign == "~" then
    out[#out + 1] = ("      ~ %s: %s -> %s"):format(change.path, change.before, change.after)
  elseif change.sign == "+" then
    out[#out + 1] = ("      + %s: %s"):format(change.path, change.after)
  else
    out[#out + 1] = ("      - %s: %s"):format(change.path, change.before)
  end
end

--- The plans as text: per bucket, each changed rule with its sign and field changes, then a summary line.
function plan.render(bucket_plans)
  local out = {}
  for _, bucket_plan in ipairs(bucket_plans) do
    local counts = plan.count { bucket_plan }
    local line = ("%s: %s"):format(bucket_plan.bucket, summary(counts))
    if bucket_plan.unmanaged > 0 then
      line = line .. (", %d not in the file (kept; --prune deletes them)"):format(bucket_plan.unmanaged)
    end
    out[#out + 1] = line
    for _, action in ipairs(bucket_plan.actions) do
      if action.action ~= "unchanged" then
        out[#out + 1] = ("  %s %s %s"):format(SIGNS[action.action], action.action, action.id)
        if action.action ~= "delete" then
          for _, change in ipairs(action.changes) do render_change(change, out) end
        end
      end
    end
  end
  local counts = plan.count(bucket_plans)
  if counts.changes == 0 then
    out[#out + 1] = ("No changes: %d rules on %d buckets are as wanted."):format(counts.unchanged, #bucket_plans)
  else
    out[#out + 1] = ("Plan: %s."):format(summary(counts))
  end
  return table.concat(out, "\n") .. "\n"
end

return plan
