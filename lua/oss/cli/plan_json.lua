-- The plan as one JSON document, for scripts: buckets in the plan's order, their actions, and each element's change.

local plan = require "oss.cli.plan"
local text_writer = require "oss.cli.text_writer"

local plan_json = { FORMAT_VERSION = 1 }

-- The key order of each object, and which members are arrays (written [] even when empty). `before` and `after`
-- are left out: they are the rule's own values (a string, a number, a list, {}) and are written as they come.
local CHANGE = { children = { { name = "change" }, { name = "path" } } }
local ACTION = { children = { { name = "action" }, { name = "id" },
  { name = "changes", repeated = true, children = CHANGE.children } } }
local BUCKET = { children = { { name = "bucket" }, { name = "region" }, { name = "endpoint" },
  { name = "actions", repeated = true, children = ACTION.children }, { name = "unmanaged" } } }
local DOCUMENT = { children = {
  { name = "format_version" },
  { name = "buckets", repeated = true, children = BUCKET.children },
  { name = "unread", repeated = true, type = "string" },
  { name = "summary", children = { { name = "create" }, { name = "replace" }, { name = "delete" },
    { name = "unchanged" }, { name = "unmanaged" } } },
} }

local CHANGE_WORDS = { ["+"] = "add", ["-"] = "remove", ["~"] = "change" }

local function action_of(action)
  local changes = {}
  if action.action ~= "unchanged" then
    for index, change in ipairs(action.changes) do
      changes[index] = { change = CHANGE_WORDS[change.sign], path = change.path, before = change.old_value,
        after = change.new_value }
    end
  end
  return { action = action.action, id = action.id, changes = changes }
end

--- The JSON text of `bucket_plans` (with region and endpoint when a bucket named them) and the unread buckets.
function plan_json.write(bucket_plans, unread)
  local buckets = {}
  for index, bucket_plan in ipairs(bucket_plans) do
    local actions = {}
    for action_index, action in ipairs(bucket_plan.actions) do actions[action_index] = action_of(action) end
    buckets[index] = { bucket = bucket_plan.bucket, region = bucket_plan.region, endpoint = bucket_plan.endpoint,
      actions = actions, unmanaged = bucket_plan.unmanaged }
  end
  local counts = plan.count(bucket_plans)
  return text_writer.write("json", DOCUMENT, {
    format_version = plan_json.FORMAT_VERSION,
    buckets = buckets,
    unread = unread,
    summary = { create = counts.create, replace = counts.replace, delete = counts.delete,
      unchanged = counts.unchanged, unmanaged = counts.unmanaged },
  })
end

return plan_json
