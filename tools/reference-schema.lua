-- Writes the rule's element table of docs/reference.md from lua/oss/schema/inventory.lua.
--
--   lua5.4 tools/reference-schema.lua docs/reference.md   (make docs)
--
-- Rewrites only the lines between <!-- schema:begin --> and <!-- schema:end -->. Loaded without arguments (as
-- spec/reference_spec.lua does), it returns { render = function() -> text, BEGIN, END } and writes nothing.

local BEGIN = "<!-- schema:begin -->"
local END = "<!-- schema:end -->"

local schema = require "oss.schema.inventory"

local FORMATS = {
  url_safe = "letters, digits, `-`, `_`, `.` and `~` only",
  digits = "decimal digits only",
  role_arn = "`acs:ram::<digits>:role/<role name>`",
  bucket_arn = "`acs:oss:::<bucket name>`",
  storage_classes = "one value or several joined by commas, each at most once (`Standard,IA`)",
}

local function integer_text(value)
  return ("%.0f"):format(value)
end

local function code_list(values)
  local parts = {}
  for index, value in ipairs(values) do parts[index] = "`" .. value .. "`" end
  return table.concat(parts, ", ")
end

local function constraints(element)
  local parts = {}
  if element.enum then parts[#parts + 1] = "one of " .. code_list(element.enum) end
  if element.min and element.max and element.min == element.max then
    parts[#parts + 1] = "exactly " .. integer_text(element.min)
  elseif element.min or element.max then
    parts[#parts + 1] = ("%s to %s"):format(element.min and integer_text(element.min) or "-",
      element.max and integer_text(element.max) or "-")
  end
  if element.min_length or element.max_length then
    if element.min_length and element.max_length then
      parts[#parts + 1] = ("%s to %s bytes"):format(integer_text(element.min_length), integer_text(element.max_length))
    elseif element.max_length then
      parts[#parts + 1] = ("at most %s bytes"):format(integer_text(element.max_length))
    else
      parts[#parts + 1] = ("at least %s bytes"):format(integer_text(element.min_length))
    end
  end
  if element.format then
    parts[#parts + 1] = FORMATS[element.format] or ("format `" .. element.format .. "`")
  end
  return table.concat(parts, "; ")
end

local function rule_text(rule)
  local kind, first, second, value = rule[1], rule[2], rule[3], rule[4]
  if kind == "not_greater" then
    return ("`%s` is not greater than `%s`"):format(first, second)
  elseif kind == "exactly_one" then
    return ("exactly one of `%s` and `%s`"):format(first, second)
  elseif kind == "only_with" then
    return ("`%s` only when `%s` is `%s`"):format(first, second, value)
  end
  error("tools/reference-schema.lua: no wording for the rule " .. tostring(kind))
end

local function walk(element, path, rows, root)
  local kind = element.type or "container"
  local required = root and "(the document)" or (element.required and "yes" or "no")
  local shape = element.repeated and (kind .. ", repeated (an array)") or kind
  local notes = constraints(element)
  if element.rules then
    local texts = {}
    for index, rule in ipairs(element.rules) do texts[index] = rule_text(rule) end
    notes = notes ~= "" and (notes .. "; " .. table.concat(texts, "; ")) or table.concat(texts, "; ")
  end
  rows[#rows + 1] = ("| `%s` | %s | %s | %s |"):format(path, shape, required, notes ~= "" and notes or " ")
  for _, child in ipairs(element.children or {}) do
    walk(child, path .. "." .. child.name, rows)
  end
end

local function table_of(root)
  local rows = {
    "| element | type | required | allowed values, bounds, relations |",
    "|---|---|---|---|",
  }
  walk(root, root.name, rows, true)
  return table.concat(rows, "\n")
end

local function render()
  local list = schema.ListInventoryConfigurationsResult
  local paging = {}
  for _, child in ipairs(list.children) do
    if child.name ~= "InventoryConfiguration" then
      paging[#paging + 1] = ("| `%s.%s` | %s | no |   |"):format(list.name, child.name, child.type or "container")
    end
  end
  return table.concat({
    "The rule (`InventoryConfiguration`), element by element in document order. In Lua each element is a key of",
    "its parent's table; a repeated element is an array even when it holds one entry. `container` elements are",
    "tables; `integer` elements are Lua numbers with no fraction.",
    "",
    table_of(schema.InventoryConfiguration),
    "",
    ("The largest size bound, %s bytes, is 10 000 parts of 5 GiB: the largest object OSS stores."):format(
      integer_text(schema.MAX_OBJECT_SIZE)),
    "",
    "The answer of `ListBucketInventory` (`" .. list.name .. "`) repeats `InventoryConfiguration` and adds:",
    "",
    "| element | type | required | |",
    "|---|---|---|---|",
    table.concat(paging, "\n"),
  }, "\n")
end

local function rewrite(file)
  local handle = assert(io.open(file, "rb"))
  local text = handle:read("*a")
  handle:close()
  local first = text:find(BEGIN, 1, true)
  local last = text:find(END, 1, true)
  if not first or not last or last < first then
    error(("%s: expected %s ... %s"):format(file, BEGIN, END))
  end
  local updated = text:sub(1, first - 1) .. BEGIN .. "\n" .. render() .. "\n" .. text:sub(last)
  if updated ~= text then
    handle = assert(io.open(file, "wb"))
    handle:write(updated)
    handle:close()
  end
end

local file = ...
if file then
  rewrite(file)
  return
end
return { render = render, BEGIN = BEGIN, END = END }
