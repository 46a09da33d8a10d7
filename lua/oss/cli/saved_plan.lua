-- A plan saved by `plan --out FILE` for `apply FILE`: the actions of each bucket, the settings of its client, and a
-- digest of the rules it had when the plan was made, so that apply can refuse a plan the buckets have moved past.

local core = require "oss.core"
local data_chunk = require "oss.data_chunk"
local stored_form = require "oss.stored_form"
local text_writer = require "oss.cli.text_writer"

local MARK = "oss_inventory_plan"
local VERSION = 1

local saved_plan = {}

--- A digest of a bucket's rules as the service means them: the same rules in any order give the same digest.
function saved_plan.digest(rules)
  local bodies = {}
  for index, rule in ipairs(rules) do
    bodies[index] = assert(stored_form.body(rule))
  end
  table.sort(bodies)
  return core.hex(core.sha256(table.concat(bodies, "\n")))
end

--- Writes the plans (each with settings, digest, region, endpoint) made from `state_file` to `path`.
--- -> true | nil, reason
function saved_plan.write(path, state_file, format, bucket_plans)
  local buckets = {}
  for index, bucket_plan in ipairs(bucket_plans) do
    local actions = {}
    for action_index, action in ipairs(bucket_plan.actions) do
      local changes = {}
      for change_index, change in ipairs(action.changes) do
        changes[change_index] = { sign = change.sign, path = change.path, before = change.before, after = change.after }
      end
      actions[action_index] = { action = action.action, id = action.id, rule = action.rule, changes = changes }
    end
    buckets[index] = {
      bucket = bucket_plan.bucket, region = bucket_plan.region, endpoint = bucket_plan.endpoint,
      settings = bucket_plan.settings, digest = bucket_plan.digest, unmanaged = bucket_plan.unmanaged,
      actions = actions,
    }
  end
  local file, reason = io.open(path, "wb")
  if not file then return nil, reason end
  local ok, write_reason = file:write(text_writer.write("lua", nil, {
    [MARK] = VERSION, state_file = state_file, format = format, buckets = buckets,
  }))
  file:close()
  if not ok then return nil, write_reason end
  return true
end

--- The saved plan in `path`, or nil when the file is not one (then it is read as a desired state).
function saved_plan.read(path)
  if path == "-" then return nil end
  local chunk = data_chunk.load_file(path)
  if not chunk then return nil end
  local ok, value = pcall(chunk)
  if not ok or type(value) ~= "table" or value[MARK] == nil then return nil end
  if value[MARK] ~= VERSION then
    return nil, ("a saved plan of version %s; this program reads version %d"):format(tostring(value[MARK]), VERSION)
  end
  for _, bucket_plan in ipairs(value.buckets) do
    -- Arrays written empty come back as tables without elements: the same thing in Lua.
    bucket_plan.actions = bucket_plan.actions or {}
  end
  return value
end

return saved_plan
