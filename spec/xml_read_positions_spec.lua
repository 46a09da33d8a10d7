-- Error positions: a whole document counts its lines only on error, and must land where a streamed one does.

local core = require "oss.core"
local inventory = require "oss.schema.inventory"

local CONFIGURATION = core.schema(inventory.InventoryConfiguration)

local function configuration(content)
  return "<InventoryConfiguration>" .. content .. "</InventoryConfiguration>"
end

local function utf16le(text)
  return (text:gsub(".", "%0\0"))
end

-- Streamed, Expat is asked for every position as it goes; that is the reference the whole read must match.
local function error_byte_by_byte(bytes)
  local reader = assert(core.xml_reader(CONFIGURATION))
  for at = 1, #bytes do
    if not reader:feed(bytes:sub(at, at)) then break end
  end
  local value, err = reader:finish()
  assert.are.equal(nil, value)
  return err
end

local function refuses_at(bytes, expected)
  local value, err = core.xml_read(CONFIGURATION, bytes)
  assert.are.equal(nil, value)
  assert.are.equal(expected, err)
  assert.are.equal(expected, error_byte_by_byte(bytes))
end

describe("xml_read error positions", function()
  it("count a UTF-8 byte order mark as a column, as Expat does", function()
    refuses_at("\239\187\191" .. configuration("<IsEnabled>yes</IsEnabled>"),
      'line 1, column 26: IsEnabled: expected true or false, got "yes"')
  end)

  it("count CR LF, and a lone CR, as one line end", function()
    refuses_at('<?xml version="1.0"?>\r\n' .. configuration("\r\n  <Id>a</Id>\r\n  <IsEnabled>yes</IsEnabled>\r\n"),
      'line 4, column 3: IsEnabled: expected true or false, got "yes"')
    refuses_at(configuration("\r\r  <IsEnabled>yes</IsEnabled>"),
      'line 3, column 3: IsEnabled: expected true or false, got "yes"')
  end)

  it("count a character of two, three or four bytes as one column", function()
    refuses_at(configuration("<Id>\195\169\226\130\172\240\159\152\128</Id><IsEnabled>yes</IsEnabled>"),
      'line 1, column 37: IsEnabled: expected true or false, got "yes"')
    refuses_at(configuration("<Id>\195\169</Id>\n \226\130\172 stray<Filter/>"),
      'line 1, column 35: InventoryConfiguration: text "\226\130\172 stray" where only elements are allowed')
  end)

  it("point at the start tag of a value refused at its end tag", function()
    refuses_at(configuration("\n<Filter>\n\t<LowerSizeBound>\n12x</LowerSizeBound></Filter>"),
      'line 3, column 2: Filter.LowerSizeBound: expected a 64-bit integer, got "?12x"')
  end)

  it("follow the declared encoding: UTF-8 in any case, ISO-8859-1 a byte per column", function()
    refuses_at('<?xml version="1.0" encoding="utf-8"?>\n' .. configuration("<Id>\195\169</Id><IsEnabled>no</IsEnabled>"),
      'line 2, column 35: IsEnabled: expected true or false, got "no"')
    refuses_at('<?xml version="1.0" encoding="ISO-8859-1"?>\n' ..
      configuration("<Id>\233\233</Id><IsEnabled>no</IsEnabled>"),
      'line 2, column 36: IsEnabled: expected true or false, got "no"')
  end)

  it("land in the same place for a document longer than Expat is handed at once", function()
    local padding = ("<Note>\226\130\172</Note>\n"):rep(100000) -- 1.7 MB: read whole, it goes in slices
    local bytes = configuration(padding .. "<IsEnabled>yes</IsEnabled>")
    local expected = 'line 100001, column 1: IsEnabled: expected true or false, got "yes"'
    local value, err = core.xml_read(CONFIGURATION, bytes)
    assert.are.equal(nil, value)
    assert.are.equal(expected, err)
    local reader = assert(core.xml_reader(CONFIGURATION))
    for at = 1, #bytes, 4096 do reader:feed(bytes:sub(at, at + 4095)) end
    assert.are.same({ nil, expected }, { reader:finish() })
  end)

  it("count UTF-16 in characters", function()
    refuses_at("\255\254" .. utf16le(configuration("\r\n<Id>x</Id><IsEnabled>no</IsEnabled>")),
      'line 2, column 11: IsEnabled: expected true or false, got "no"')
  end)
end)
