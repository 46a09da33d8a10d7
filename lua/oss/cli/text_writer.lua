-- Writes rules as indented Lua or JSON text, keys in schema order, so output is stable and diffs stay small.

local cjson = require "cjson"
local shape = require "oss.cli.shape"

local INDENT = "  "

local function number_text(value)
  if value == math.floor(value) and value >= -2 ^ 63 and value < 2 ^ 63 then
    return string.format("%d", value)
  end
  return string.format("%.17g", value)
end

local function lua_key(name)
  if type(name) == "string" and name:find("^[%a_][%w_]*$") then return name .. " = " end
  return "[" .. string.format("%q", tostring(name)) .. "] = "
end

-- cjson writes "/" as "\/"; both are valid JSON, the plain one reads better (an ARN is full of slashes).
local function json_string(text)
  return (cjson.encode(text):gsub("\\/", "/"))
end

local dialects = {
  lua = {
    object = { "{", "}" }, array = { "{", "}" }, separator = ",", trailing = ",",
    key = lua_key,
    string = function(text) return string.format("%q", text) end,
  },
  json = {
    object = { "{", "}" }, array = { "[", "]" }, separator = ",", trailing = "",
    key = function(name) return json_string(tostring(name)) .. ": " end,
    string = function(text) return json_string(text) end,
  },
}

local write_value

-- Writes `entries` ({ key or false, description, value }) between the brackets, one per line.
local function write_block(dialect, brackets, entries, depth, out)
  if #entries == 0 then
    out[#out + 1] = brackets[1] .. brackets[2]
    return
  end
  out[#out + 1] = brackets[1] .. "\n"
  for index, entry in ipairs(entries) do
    out[#out + 1] = INDENT:rep(depth + 1) .. (entry[1] and dialect.key(entry[1]) or "")
    write_value(dialect, entry[2], entry[3], depth + 1, out)
    out[#out + 1] = (index < #entries and dialect.separator or dialect.trailing) .. "\n"
  end
  out[#out + 1] = INDENT:rep(depth) .. brackets[2]
end

-- A table with only keys 1..n is written as an array even without a schema (unknown elements the reader kept).
local function is_array(value)
  local count = 0
  for _ in pairs(value) do count = count + 1 end
  return count > 0 and count == #value
end

function write_value(dialect, description, value, depth, out)
  local kind = type(value)
  if kind == "string" then
    out[#out + 1] = dialect.string(value)
  elseif kind == "number" then
    out[#out + 1] = number_text(value)
  elseif kind == "boolean" then
    out[#out + 1] = tostring(value)
  elseif kind ~= "table" then
    error("cannot write a " .. kind)
  elseif (description and description.repeated) or (not description and is_array(value)) then
    local item = description and setmetatable({ repeated = false }, { __index = description }) or nil
    local entries = {}
    for index, element in ipairs(value) do entries[index] = { false, item, element } end
    write_block(dialect, dialect.array, entries, depth, out)
  else
    local entries = {}
    for _, pair in ipairs(shape.ordered_keys(description or {}, value)) do
      entries[#entries + 1] = { pair[1], pair[2], value[pair[1]] }
    end
    write_block(dialect, dialect.object, entries, depth, out)
  end
end

local text_writer = {}

--- The text of `value` (described by `description`) in "lua" (a chunk returning it) or "json", ending in a newline.
function text_writer.write(format, description, value)
  local dialect = assert(dialects[format], "unknown text format")
  local out = { format == "lua" and "return " or "" }
  write_value(dialect, description, value, 0, out)
  out[#out + 1] = "\n"
  return table.concat(out)
end

return text_writer
