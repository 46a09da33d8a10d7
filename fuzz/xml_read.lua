-- Fuzzes the XML reader: any bytes read whole and read in pieces give the same answer, and what reads back is stable.
-- The first byte picks the document's schema and the size of the pieces; the rest is the document.

local root = ...
local core = require "oss.core"
local inventory = require "oss.schema.inventory"
local difference = dofile(root .. "/fuzz/same_value.lua")

local SCHEMAS = {
  core.schema(inventory.InventoryConfiguration),
  core.schema(inventory.ListInventoryConfigurationsResult),
  core.schema(require "oss.schema.error"),
}

local function read_in_pieces(schema, document, piece)
  local reader = core.xml_reader(schema)
  for first = 1, #document, piece do
    if not reader:feed(document:sub(first, first + piece - 1)) then
      break -- the reader keeps the failure for finish
    end
  end
  local value, err = reader:finish()
  -- Bytes handed to Expat pay for rescanning what it held before; only the last hand-over need not.
  assert(reader:scanned() <= 3 * #document, ("scanned %d bytes of %d"):format(reader:scanned(), #document))
  return value, err
end

return function(bytes)
  if #bytes == 0 then return end
  local selector = bytes:byte(1)
  local schema = SCHEMAS[selector % #SCHEMAS + 1]
  local document = bytes:sub(2)

  local whole, whole_error = core.xml_read(schema, document)
  local pieces, pieces_error = read_in_pieces(schema, document, selector // #SCHEMAS % 17 + 1)
  assert((whole == nil) == (pieces == nil), ("whole: %s; in pieces: %s"):format(
    tostring(whole_error or "read"), tostring(pieces_error or "read")))
  if whole == nil then
    assert(type(whole_error) == "string" and whole_error ~= "", "a failure without a message")
    return
  end
  local found = difference(whole, pieces, "value")
  assert(not found, "whole and in pieces differ at " .. tostring(found))

  -- What the writer accepts from a read document must read back as the same value.
  local written = core.xml_write(schema, whole)
  if written then
    local again = assert(core.xml_read(schema, written))
    found = difference(whole, again, "value")
    assert(not found, "write then read changed " .. tostring(found))
  end
end
