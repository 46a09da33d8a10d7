-- What the service stores for a rule: Filter/StorageClass members sorted, an empty Encryption meaning none.
-- Comparisons between a rule sent and a rule read back go through here, so they agree with the service.

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

return stored_form
