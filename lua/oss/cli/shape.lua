-- Walks the inventory schema description so every format writes keys in document order and reads back the right types.

local schemas = require "oss.schema.inventory"

local shape = {}

shape.RULE = schemas.InventoryConfiguration

local function is_container(description)
  return description.type == nil or description.type == "container"
end
shape.is_container = is_container

--- The child description named `name`, or nil for a key the schema does not know.
function shape.child(description, name)
  for _, child in ipairs(description.children or {}) do
    if child.name == name then return child end
  end
  return nil
end

--- The keys of `value` as (key, child description or nil) pairs: the schema's order first, unknown keys sorted after.
function shape.ordered_keys(description, value)
  local pairs_out, known = {}, {}
  for _, child in ipairs(description.children or {}) do
    known[child.name] = true
    if value[child.name] ~= nil then pairs_out[#pairs_out + 1] = { child.name, child } end
  end
  local unknown = {}
  for key in pairs(value) do
    if not known[key] then unknown[#unknown + 1] = key end
  end
  table.sort(unknown, function(a, b) return tostring(a) < tostring(b) end)
  for _, key in ipairs(unknown) do pairs_out[#pairs_out + 1] = { key } end
  return pairs_out
end

local function normalise_leaf(description, value)
  if description.type == "integer" and type(value) == "number" then
    return math.tointeger and math.tointeger(value) or value
  end
  return value
end

-- A decoder (JSON) loses Lua's integer subtype and cannot tell [] from {}: put both back where the schema says.
local function normalise(description, value, null)
  if value == null then return nil end
  if description == nil then return value end
  if description.repeated and type(value) == "table" then
    local out = {}
    local single = setmetatable({ repeated = false }, { __index = description })
    for index, item in ipairs(value) do out[index] = normalise(single, item, null) end
    return out
  end
  if not is_container(description) then return normalise_leaf(description, value) end
  if type(value) ~= "table" then return value end
  local out = {}
  for key, item in pairs(value) do
    out[key] = normalise(shape.child(description, key), item, null)
  end
  return out
end

--- A copy of `value` with integers and arrays restored per the schema; `null` (e.g. cjson.null) becomes absent.
function shape.normalise(description, value, null)
  return normalise(description, value, null)
end

return shape
