-- What the service stores for a rule: Filter/StorageClass members sorted, an empty Encryption meaning none.
-- Every comparison of two rules (a rule sent and a rule read back, a wanted rule and the bucket's) goes through
-- here, so they all agree with the service and with each other.

local core = require "oss.core"
local schemas = require "oss.schema.inventory"

local CONFIGURATION = core.schema(schemas.InventoryConfiguration)

local stored_form = {}

--- "Standard,IA" -> "IA,Standard"
function stored_form.storage_classes(text)
  local members = {}
  for member in text:gmatch("[^,]+") do
    members[#members + 1] = (member:gsub("^%s+", ""):gsub("%s+$", ""))
  end
  table.sort(members)
  return table.concat(members, ",")
end

local function copy(value)
  if type(value) ~= "table" then return value end
  local out = {}
  for key, item in pairs(value) do out[key] = copy(item) end
  return out
end

--- A copy of `rule` as the service would store it; the argument is left untouched.
function stored_form.rule(rule)
  local out = copy(rule)
  if type(out.Filter) == "table" and type(out.Filter.StorageClass) == "string" then
    out.Filter.StorageClass = stored_form.storage_classes(out.Filter.StorageClass)
  end
  local destination = type(out.Destination) == "table" and out.Destination.OSSBucketDestination
  if type(destination) == "table" then
    local encryption = destination.Encryption
    if encryption == "" or (type(encryption) == "table" and next(encryption) == nil) then
      destination.Encryption = nil
    end
  end
  return out
end

--- The bytes the service would store for `rule`: the rule's identity, for comparing and digests.
--- -> body | nil, reason (a rule the writer refuses, such as one read back with an element it does not know)
function stored_form.body(rule)
  return core.xml_write(CONFIGURATION, stored_form.rule(rule))
end

--- True when the service would store the same rule for `a` and `b`: "IA,Standard" and "Standard,IA", an empty
--- Encryption and none are the same. A rule that cannot be written is the same as no other.
function stored_form.same_rule(a, b)
  local body = stored_form.body(a)
  return body ~= nil and body == stored_form.body(b)
end

return stored_form
