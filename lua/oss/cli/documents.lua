-- Reads rule and desired-state files in Lua, JSON or XML, and writes rules back in any of the three.

local cjson = require "cjson"
local core = require "oss.core"
local data_chunk = require "oss.data_chunk"
local schemas = require "oss.schema.inventory"
local shape = require "oss.cli.shape"
local text_writer = require "oss.cli.text_writer"

local CONFIGURATION = core.schema(schemas.InventoryConfiguration)
local LIST = core.schema(schemas.ListInventoryConfigurationsResult)
local XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
local EXTENSIONS = { lua = "lua", json = "json", xml = "xml" }

local documents = { FORMATS = { "lua", "json", "xml" } }

--- The format a file is in: `forced` when given, else its extension, else (stdin) a look at its first character.
function documents.format_of(name, text, forced)
  if forced then return forced end
  local extension = name:match("%.(%w+)$")
  if extension and EXTENSIONS[extension:lower()] then return EXTENSIONS[extension:lower()] end
  local first = text:match("^%s*(.)")
  if first == "<" then return "xml" end
  if first == "{" or first == "[" then return "json" end
  return "lua"
end

local function read_lua(text, name)
  -- An empty environment: a rules file describes data and gets no access to the machine.
  local chunk, problem = data_chunk.load(text, "@" .. name)
  if not chunk then return nil, problem end
  local ok, value = pcall(chunk)
  if not ok then return nil, tostring(value) end
  return value
end

local function read_json(text)
  local ok, value = pcall(cjson.decode, text)
  if not ok then return nil, "invalid JSON: " .. tostring(value):gsub("^.-:%d+: ", "") end
  return value
end

local function read_xml(text)
  local root = text:match("<([%a_][%w_.:-]*)")
  if root == "ListInventoryConfigurationsResult" then
    local value, problem = core.xml_read(LIST, text)
    if not value then return nil, problem end
    return { kind = "rules", value = value.InventoryConfiguration or {} }
  end
  local value, problem = core.xml_read(CONFIGURATION, text)
  if not value then return nil, problem end
  return { kind = "rule", value = value }
end

local function is_list(value)
  return next(value) == nil or (#value > 0 and type(value[1]) == "table")
end

-- Lua and JSON files hold one rule, a list of rules, or a desired state { buckets = { name = entry } }.
local function classify(value, null)
  if type(value) ~= "table" then
    return nil, "expected a table (a rule, a list of rules, or { buckets = ... }), got " .. type(value)
  end
  if value.buckets ~= nil then
    if type(value.buckets) == "table" then
      for _, entry in pairs(value.buckets) do
        -- A bucket's entry is its list of rules, or { region, endpoint, rules } (see oss.cli.desired).
        local rules = entry
        if type(entry) == "table" and type(entry.rules) == "table" then rules = entry.rules end
        if type(rules) == "table" then
          for index, rule in ipairs(rules) do rules[index] = shape.normalise(shape.RULE, rule, null) end
        end
      end
    end
    return { kind = "state", value = value }
  end
  if is_list(value) then
    local rules = {}
    for index, rule in ipairs(value) do rules[index] = shape.normalise(shape.RULE, rule, null) end
    return { kind = "rules", value = rules }
  end
  return { kind = "rule", value = shape.normalise(shape.RULE, value, null) }
end

--- Parses `text` (from a file called `name`) -> { kind = "rule" | "rules" | "state", value, format } | nil, reason
function documents.parse(text, name, forced_format)
  local format = documents.format_of(name, text, forced_format)
  local document, problem
  if format == "xml" then
    document, problem = read_xml(text)
  else
    local value
    if format == "lua" then value, problem = read_lua(text, name) else value, problem = read_json(text) end
    if problem == nil then document, problem = classify(value, format == "json" and cjson.null or nil) end
  end
  if not document then return nil, problem end
  document.format = format
  return document
end

--- Reads and parses a file, or standard input for "-".
function documents.read(path, forced_format)
  local file, problem
  if path == "-" then file = io.stdin else file, problem = io.open(path, "rb") end
  if not file then return nil, problem end
  local text = file:read("*a")
  if file ~= io.stdin then file:close() end
  if not text then return nil, "cannot read" end
  return documents.parse(text, path == "-" and "stdin" or path, forced_format)
end

--- The text of one rule (kind "rule") or a list of rules (kind "rules") in `format`.
function documents.write(format, kind, value)
  if format == "xml" then
    local body, reason, path
    if kind == "rule" then
      body, reason, path = core.xml_write(CONFIGURATION, value)
    else
      body, reason, path = core.xml_write(LIST, { InventoryConfiguration = value, IsTruncated = false })
    end
    if not body then return nil, (path and path ~= "" and path .. ": " or "") .. reason end
    return XML_DECLARATION .. body .. "\n"
  end
  local description = shape.RULE
  if kind == "rules" then description = setmetatable({ repeated = true }, { __index = shape.RULE }) end
  return text_writer.write(format, description, value)
end

return documents
