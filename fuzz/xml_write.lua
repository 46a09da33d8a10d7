-- Fuzzes the validator and writer: a valid rule mutated by the input is either refused with a reason and a path,
-- or written as XML that reads back into a value the writer turns into the very same bytes.

local root = ...
local core = require "oss.core"
local inventory = require "oss.schema.inventory"
local rules = dofile(root .. "/examples/reference_rules.lua")

local SCHEMA = core.schema(inventory.InventoryConfiguration)
local STARTS = { rules.syntax, rules.full, rules.incremental }

-- Names and enum values from the schema, plus slips of them, so mutations land on elements the writer knows.
local NAMES, WORDS = { "IsEnable", "", "Field ", "__index", 1, 2, 3 }, { "", " ", "\0", "a&b<c>", "\xff\xfe" }
local function collect(element)
  NAMES[#NAMES + 1] = element.name
  for _, value in ipairs(element.enum or {}) do WORDS[#WORDS + 1] = value end
  for _, child in ipairs(element.children or {}) do collect(child) end
end
collect(inventory.InventoryConfiguration)
for _, word in ipairs { "acs:ram::1000000000000000:role/R", "acs:oss:::destination-bucket", "1000000000000000",
  "Standard,IA", "IA,IA", "report1", "a/b", "%41" } do WORDS[#WORDS + 1] = word end

local INTEGERS = { 0, 1, -1, 600, 1024, 1262275200, 1262275199, 253402271999, 253402272000,
  inventory.MAX_OBJECT_SIZE, inventory.MAX_OBJECT_SIZE + 1, math.maxinteger, math.mininteger, 2 ^ 31 }
local FLOATS = { 0.5, -0.0, 1e300, 0 / 0, math.huge, -math.huge, 2.0 ^ 53, 2.0 ^ 63, 600.0 }

local function deep_copy(value)
  if type(value) ~= "table" then return value end
  local copy = {}
  for key, item in pairs(value) do copy[key] = deep_copy(item) end
  return copy
end

-- Every table reachable from the rule, in a stable order, each once (mutations can make cycles).
local function containers_of(value)
  local found, seen = {}, {}
  local function walk(table_value)
    if seen[table_value] then return end
    seen[table_value] = true
    found[#found + 1] = table_value
    local keys = {}
    for key, item in pairs(table_value) do
      if type(item) == "table" then keys[#keys + 1] = key end
    end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    for _, key in ipairs(keys) do walk(table_value[key]) end
  end
  walk(value)
  return found
end

local function mutate(rule, bytes)
  local at = 1
  local function next_byte()
    local byte = bytes:byte(at) or 0
    at = at + 1
    return byte
  end
  while at <= #bytes do
    local action = next_byte()
    local containers = containers_of(rule)
    local target = containers[next_byte() % #containers + 1]
    local key = NAMES[next_byte() % #NAMES + 1]
    local kind = action % 8
    if kind == 0 then
      target[key] = nil
    elseif kind == 1 then
      local length = next_byte() % 32
      target[key] = bytes:sub(at, at + length - 1)
      at = at + length
    elseif kind == 2 then
      target[key] = WORDS[next_byte() % #WORDS + 1]
    elseif kind == 3 then
      target[key] = INTEGERS[next_byte() % #INTEGERS + 1]
    elseif kind == 4 then
      target[key] = FLOATS[next_byte() % #FLOATS + 1]
    elseif kind == 5 then
      target[key] = next_byte() % 2 == 0
    elseif kind == 6 then
      target[key] = {}
    else
      target[key] = containers[next_byte() % #containers + 1] -- shared, possibly a cycle
    end
  end
  return rule
end

return function(bytes)
  if #bytes == 0 then return end
  local rule = mutate(deep_copy(STARTS[bytes:byte(1) % #STARTS + 1]), bytes:sub(2))
  local ok, written, reason, path = pcall(core.xml_write, SCHEMA, rule)
  if not ok then return end -- misuse raises by design (e.g. a key that is not a string)
  if written == nil then
    assert(type(reason) == "string" and reason ~= "", "a refusal without a reason")
    assert(type(path) == "string", "a refusal without a path")
    return
  end
  assert(type(written) == "string", "the writer returned a " .. type(written))
  local read_back, read_error = core.xml_read(SCHEMA, written)
  assert(read_back, "the writer's output does not read back: " .. tostring(read_error))
  local again, again_reason, again_path = core.xml_write(SCHEMA, read_back)
  assert(again, ("the read-back value is refused: %s: %s"):format(tostring(again_path), tostring(again_reason)))
  assert(again == written, "writing the read-back value gives other bytes")
end
