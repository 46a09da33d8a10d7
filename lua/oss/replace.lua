-- Replacing a rule without ever losing it. The service has no update: a replace is a delete, then a put. When the
-- put is refused after the delete went through, the rule read before the delete is put back.

local core = require "oss.core"
local Client = require "oss.client"
local errors = require "oss.errors"
local schemas = require "oss.schema.inventory"
local stored_form = require "oss.stored_form"
require "oss.inventory" -- the four operations this builds on

local CONFIGURATION = core.schema(schemas.InventoryConfiguration)

-- What the bucket holds under `id` now: the rule, false when there is none, or nil, err when it cannot be read.
local function stored_rule(client, bucket, id)
  local rule, err = client:get_bucket_inventory(bucket, id)
  if rule then return rule end
  if errors.is_missing_rule(err) then return false end
  return nil, err
end

-- Puts `previous` back after a failed put. A put may have taken effect even though its answer was lost, and then
-- the id is taken (409): the rule stored then says what happened.
-- -> "restored" | "replaced" (the new rule is in place after all), or nil, err
local function restore(client, bucket, previous, wanted)
  local ok, err = client:put_bucket_inventory(bucket, previous)
  if ok then return "restored" end
  if not (err.kind == "service" and err.status == 409) then return nil, err end
  local now, read_err = stored_rule(client, bucket, previous.Id)
  if now == nil then return nil, read_err end
  if now and stored_form.same_rule(now, previous) then return "restored" end
  if now and stored_form.same_rule(now, wanted) then return "replaced" end
  return nil, err
end

--- client:replace_bucket_inventory(bucket, rule) -> true, or nil, err, outcome
--- Replaces the rule with `rule.Id` by `rule` (creates it when there is none). On failure, `outcome` says what the
--- bucket holds: { state = "unchanged" } (nothing was changed), { state = "restored", previous = rule } (the new
--- rule was refused and the previous one is back), or { state = "lost", previous = rule, restore_error = err }
--- (the previous rule could not be put back: `previous` is the whole rule, for the caller to keep).
function Client:replace_bucket_inventory(bucket, rule)
  if type(rule) ~= "table" then
    error("rule: expected a table, got " .. type(rule), 2)
  end
  -- A rule the service would refuse anyway is refused before the delete, not after it.
  local body, reason, path = core.xml_write(CONFIGURATION, rule)
  if not body then return nil, errors.validation(reason, path), { state = "unchanged" } end
  local previous, read_err = stored_rule(self, bucket, rule.Id)
  if previous == nil then return nil, read_err, { state = "unchanged" } end
  if previous and stored_form.same_rule(previous, rule) then return true end
  if previous then
    local ok, delete_err = self:delete_bucket_inventory(bucket, rule.Id)
    -- A delete whose answer was lost may have gone through: putting the previous rule back settles it either way.
    if not ok and not errors.is_missing_rule(delete_err) then
      local state, restore_err = restore(self, bucket, previous, rule)
      if state then return nil, delete_err, { state = "unchanged" } end
      return nil, delete_err, { state = "lost", previous = previous, restore_error = restore_err }
    end
  end
  local ok, put_err = self:put_bucket_inventory(bucket, rule)
  if ok then return true end
  if not previous then return nil, put_err, { state = "unchanged" } end
  local state, restore_err = restore(self, bucket, previous, rule)
  if state == "replaced" then return true end
  if state == "restored" then return nil, put_err, { state = "restored", previous = previous } end
  return nil, put_err, { state = "lost", previous = previous, restore_error = restore_err }
end

return Client
