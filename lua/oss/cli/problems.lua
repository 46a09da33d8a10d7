-- Finds every problem in a rule, not just the first one the writer stops at, each with its element path.

local core = require "oss.core"
local shape = require "oss.cli.shape"

local problems = {}

-- Each container of the schema compiled as a root of its own, so one element can be checked alone.
local compiled = setmetatable({}, { __mode = "k" })
local function schema_of(description)
  local schema = compiled[description]
  if not schema then
    schema = core.schema(description)
    compiled[description] = schema
  end
  return schema
end

local function join(path, name)
  if path == "" then return name end
  if name == "" then return path end
  return path .. "." .. name
end

local function starts_with_key(path, bad)
  local first = path and path:match("^([^.%[]+)")
  return first ~= nil and bad[first] == true
end

local collect

local function check_leaf(schema, name, description, value, path, out)
  if description.repeated and type(value) == "table" then
    for index, item in ipairs(value) do
      local ok, reason = core.xml_check(schema, name, item)
      if not ok then out[#out + 1] = { path = ("%s[%d]"):format(join(path, name), index), reason = reason } end
    end
    return
  end
  if description.repeated then
    local _, reason = core.xml_write(schema, { [name] = value })
    out[#out + 1] = { path = join(path, name), reason = reason }
    return
  end
  local ok, reason = core.xml_check(schema, name, value)
  if not ok then out[#out + 1] = { path = join(path, name), reason = reason } end
end

-- Problems of `value` against container `description`: each child alone, then what is left of the container itself.
function collect(description, value, path, out)
  if type(value) ~= "table" then
    out[#out + 1] = { path = path, reason = "expected a table, got " .. type(value) }
    return
  end
  local schema = schema_of(description)
  if core.xml_write(schema, value) then return end
  local bad, kept = {}, {}
  for _, pair in ipairs(shape.ordered_keys(description, value)) do
    local name, child = pair[1], pair[2]
    local before = #out
    if not child then
      local _, unknown_reason = core.xml_write(schema, { [name] = value[name] })
      out[#out + 1] = { path = join(path, tostring(name)), reason = unknown_reason }
    elseif shape.is_container(child) and not child.repeated then
      collect(child, value[name], join(path, name), out)
    else
      check_leaf(schema, name, child, value[name], path, out)
    end
    if #out > before then bad[name] = true else kept[name] = value[name] end
  end
  local missing = false
  for _, child in ipairs(description.children or {}) do
    if child.required and value[child.name] == nil then
      out[#out + 1] = { path = join(path, child.name), reason = "required element is missing" }
      missing = true
    end
  end
  if missing then return end
  -- What remains wrong once the faulty children are set aside belongs to this level (a relation between two).
  local ok, reason, where = core.xml_write(schema, kept)
  if not ok and not starts_with_key(where, bad) then
    out[#out + 1] = { path = join(path, where or ""), reason = reason }
  end
end

--- Every problem of one rule: a list of { path = "Schedule.Frequency", reason = "..." } (empty when valid).
function problems.of_rule(rule)
  local out = {}
  collect(shape.RULE, rule, "", out)
  return out
end

return problems
