-- The reader: service documents become the tables a script writes, however the bytes are split; hostile input fails.

local core = require "oss.core"
local inventory = require "oss.schema.inventory"
local error_description = require "oss.schema.error"

local CONFIGURATION = core.schema(inventory.InventoryConfiguration)
local LIST = core.schema(inventory.ListInventoryConfigurationsResult)
local ERROR = core.schema(error_description)

local FIXTURES = "spec/fixtures/xml/"
local ROLE_ARN = "acs:ram::1000000000000000:role/AliyunOSSRole"
local BUCKET_ARN = "acs:oss:::destination-bucket"
local ACCOUNT = "1000000000000000"
local INT64_MAX = math.maxinteger or 2 ^ 63 - 1
local INT64_MIN = math.mininteger or -2 ^ 63

local function fixture(name)
  local file = assert(io.open(FIXTURES .. name, "rb"))
  local bytes = file:read("*a")
  file:close()
  return bytes
end

-- Where `actual` differs from `expected` (types, Lua 5.4 integer subtypes, keys, values), or nil.
local function difference(expected, actual, path)
  path = path or "value"
  if type(expected) ~= type(actual) then
    return ("%s: expected %s, got %s (%s)"):format(path, type(expected), type(actual), tostring(actual))
  end
  if type(expected) ~= "table" then
    if math.type and math.type(expected) ~= math.type(actual) then
      return ("%s: expected %s %s, got %s %s"):format(path, math.type(expected), tostring(expected),
        tostring(math.type(actual)), tostring(actual))
    end
    if expected ~= actual then
      return ("%s: expected %q, got %q"):format(path, tostring(expected), tostring(actual))
    end
    return nil
  end
  for key, value in pairs(expected) do
    local problem = difference(value, actual[key], path .. "." .. tostring(key))
    if problem then return problem end
  end
  for key in pairs(actual) do
    if expected[key] == nil then return ("%s.%s: not expected"):format(path, tostring(key)) end
  end
  return nil
end

local function assert_value(expected, actual)
  assert.are.equal(nil, difference(expected, actual))
end

-- Feeds `bytes` in pieces whose sizes `next_size` picks; every feed after the first failure must repeat it.
local function read_in_pieces(schema, bytes, next_size)
  local reader = assert(core.xml_reader(schema))
  local first_error
  local at = 1
  while at <= #bytes do
    local size = next_size()
    local ok, err = reader:feed(bytes:sub(at, at + size - 1))
    -- Checked with plain comparisons: a document is fed up to 70 000 times, and luassert's calls would dominate.
    if first_error then
      if ok ~= nil or err ~= first_error then
        error(("after %q, a feed answered %s, %s"):format(first_error, tostring(ok), tostring(err)), 2)
      end
    elseif not ok then
      assert.are.equal("string", type(err))
      first_error = err
    elseif ok ~= true then
      error("a feed answered " .. tostring(ok), 2)
    end
    at = at + size
  end
  local value, err = reader:finish()
  if first_error then assert.are.equal(first_error, err) end
  reader:close()
  return value, err
end

local function one_byte() return 1 end

local function random_sizes(seed, largest)
  math.randomseed(seed)
  return function() return math.random(1, largest) end
end

-- The same answer whole, one byte at a time, and in twenty random splits.
local function read_every_way(schema, bytes)
  local value, err = core.xml_read(schema, bytes)
  local one_value, one_err = read_in_pieces(schema, bytes, one_byte)
  assert_value({ value, err }, { one_value, one_err })
  for seed = 1, 20 do
    local split_value, split_err = read_in_pieces(schema, bytes, random_sizes(seed, 1 + seed * 7))
    assert_value({ value, err }, { split_value, split_err })
  end
  return value, err
end

local function destination(extra)
  local result = { Format = "CSV", AccountId = ACCOUNT, RoleArn = ROLE_ARN, Bucket = BUCKET_ARN }
  for key, value in pairs(extra or {}) do result[key] = value end
  return { OSSBucketDestination = result }
end

-- An InventoryConfiguration document around `content`, for the small cases.
local function configuration(content)
  return "<InventoryConfiguration>" .. content .. "</InventoryConfiguration>"
end

describe("xml_read", function()
  describe("reads the service's documents into the tables a script writes", function()
    it("the reference page's full sample, with Filter and SSE-KMS", function()
      assert_value({
        Id = "report1",
        IsEnabled = true,
        Filter = {
          Prefix = "Pics/",
          LastModifyBeginTimeStamp = 1637883649,
          LastModifyEndTimeStamp = 1638347592,
          LowerSizeBound = 1024,
          UpperSizeBound = 1048576,
          StorageClass = "Standard,IA",
        },
        Destination = destination({ Prefix = "prefix1", Encryption = { ["SSE-KMS"] = { KeyId = "keyId" } } }),
        Schedule = { Frequency = "Daily" },
        IncludedObjectVersions = "All",
        OptionalFields = {
          Field = {
            "Size", "LastModifiedDate", "TransitionTime", "ETag", "StorageClass", "IsMultipartUploaded",
            "EncryptionStatus",
          },
        },
        IncrementalInventory = {
          IsEnabled = true,
          Schedule = { Frequency = 600 },
          OptionalFields = {
            Field = {
              "SequenceNumber", "RecordType", "RecordTimestamp", "Requester", "RequestId", "SourceIp", "Size",
              "StorageClass", "LastModifiedDate", "ETag", "IsMultipartUploaded", "ObjectType", "ObjectAcl", "Crc64",
              "EncryptionStatus",
            },
          },
        },
      }, read_every_way(CONFIGURATION, fixture("full.xml")))
    end)

    it("a minimal rule without declaration or whitespace", function()
      assert_value({
        Id = "minimal",
        IsEnabled = false,
        Destination = destination(),
        Schedule = { Frequency = "Weekly" },
        IncludedObjectVersions = "Current",
      }, read_every_way(CONFIGURATION, fixture("minimal.xml")))
    end)

    it("an incremental inventory", function()
      assert_value({
        Id = "changes",
        IsEnabled = false,
        Destination = destination({ Prefix = "incremental/" }),
        Schedule = { Frequency = "Daily" },
        IncludedObjectVersions = "All",
        IncrementalInventory = {
          IsEnabled = true,
          Schedule = { Frequency = 600 },
          OptionalFields = { Field = { "SequenceNumber", "RecordType", "RequestId" } },
        },
      }, read_every_way(CONFIGURATION, fixture("incremental.xml")))
    end)

    it("a rule without Filter, one optional field as an array of one", function()
      assert_value({
        Id = "no-filter",
        IsEnabled = true,
        Destination = destination({ Prefix = "reports/" }),
        Schedule = { Frequency = "Weekly" },
        IncludedObjectVersions = "Current",
        OptionalFields = { Field = { "Size" } },
      }, read_every_way(CONFIGURATION, fixture("no_filter.xml")))
    end)

    it("SSE-OSS as an empty table and an empty Prefix as an empty string", function()
      assert_value({
        Id = "encrypted",
        IsEnabled = true,
        Filter = { Prefix = "" },
        Destination = destination({ Encryption = { ["SSE-OSS"] = {} } }),
        Schedule = { Frequency = "Daily" },
        IncludedObjectVersions = "All",
      }, read_every_way(CONFIGURATION, fixture("sse_oss.xml")))
    end)

    it("Monthly and Once schedules", function()
      local monthly = read_every_way(CONFIGURATION, fixture("schedule_monthly.xml"))
      assert_value({ Frequency = "Monthly", DayOfMonth = 31 }, monthly.Schedule)
      assert.are.equal("monthly", monthly.Id)
      local once = read_every_way(CONFIGURATION, fixture("schedule_once.xml"))
      assert_value({ Frequency = "Once", AutoDelete = true }, once.Schedule)
      assert.are.equal("once", once.Id)
    end)

    it("a list page of three rules with a continuation token", function()
      assert_value({
        InventoryConfiguration = {
          {
            Id = "report1",
            IsEnabled = true,
            Filter = { Prefix = "Pics/" },
            Destination = destination({ Prefix = "prefix1", Encryption = { ["SSE-KMS"] = { KeyId = "keyId" } } }),
            Schedule = { Frequency = "Daily" },
            IncludedObjectVersions = "All",
            OptionalFields = { Field = { "Size", "LastModifiedDate" } },
          },
          {
            Id = "report2",
            IsEnabled = false,
            Destination = destination({ Encryption = { ["SSE-OSS"] = {} } }),
            Schedule = { Frequency = "Weekly" },
            IncludedObjectVersions = "Current",
          },
          {
            Id = "report3",
            IsEnabled = true,
            Destination = destination(),
            Schedule = { Frequency = "Monthly", DayOfMonth = 1 },
            IncludedObjectVersions = "All",
            OptionalFields = { Field = { "ETag" } },
          },
        },
        IsTruncated = true,
        NextContinuationToken = "report3",
      }, read_every_way(LIST, fixture("list_page.xml")))
    end)

    it("the last list page, its one rule still in an array", function()
      assert_value({
        InventoryConfiguration = {
          {
            Id = "report4",
            IsEnabled = true,
            Destination = destination(),
            Schedule = { Frequency = "Once", AutoDelete = false },
            IncludedObjectVersions = "All",
          },
        },
        ContinuationToken = "report3",
        IsTruncated = false,
      }, read_every_way(LIST, fixture("list_last_page.xml")))
    end)

    it("an Error document", function()
      assert_value({
        Code = "NoSuchInventory",
        Message = "The specified inventory does not exist.",
        RequestId = "5C3D9175B6FC201293AD****",
        HostId = "examplebucket.oss-cn-hangzhou.aliyuncs.com",
        EC = "0020-00000044",
      }, read_every_way(ERROR, fixture("error.xml")))
    end)

    it("keeps the elements a RequestTimeTooSkewed error adds, as strings", function()
      assert_value({
        Code = "RequestTimeTooSkewed",
        Message = "The difference between the request time and the current time is too large.",
        RequestId = "5C3D9175B6FC201293AD****",
        HostId = "examplebucket.oss-cn-hangzhou.aliyuncs.com",
        MaxAllowedSkewMilliseconds = "900000",
        RequestTime = "2026-11-24T10:00:00.000Z",
        ServerTime = "2026-11-24T10:20:00.000Z",
        EC = "0002-00000504",
      }, read_every_way(ERROR, fixture("error_time_skewed.xml")))
    end)

    it("keeps elements the schema does not know, repeated names as arrays", function()
      assert_value({
        Id = "newer",
        IsEnabled = true,
        CreationTime = "2026-11-24T10:00:00.000Z",
        Destination = destination({ Compression = "" }),
        Schedule = { Frequency = "Daily" },
        IncludedObjectVersions = "All",
        Tags = {
          Tag = {
            { Key = "team", Value = "storage" },
            { Key = "cost-center", Value = "42" },
          },
          Owner = { Id = "1000000000000000" },
        },
      }, read_every_way(CONFIGURATION, fixture("unknown_elements.xml")))
    end)
  end)

  describe("values", function()
    local function prefix_of(text)
      return assert(core.xml_read(CONFIGURATION, configuration("<Filter><Prefix>" .. text .. "</Prefix></Filter>")))
        .Filter.Prefix
    end

    it("keeps string text verbatim and decodes references and CDATA", function()
      assert.are.equal("  a  b ", prefix_of("  a  b "))
      assert.are.equal("<>&\"'\195\169\228\184\173<raw>&amp;",
        prefix_of("&lt;&gt;&amp;&quot;&apos;&#233;&#x4E2D;<![CDATA[<raw>&amp;]]>"))
      assert.are.equal("ab", prefix_of("a<!-- a comment -->b<?pi data?>"))
      assert.are.equal("a\nb", prefix_of("a\r\nb")) -- XML's end-of-line normalisation
    end)

    it("reads booleans after trimming whitespace, and nothing else", function()
      local function enabled(text)
        return core.xml_read(CONFIGURATION, configuration("<IsEnabled>" .. text .. "</IsEnabled>"))
      end
      assert.are.equal(true, enabled("\n true \t").IsEnabled)
      assert.are.equal(false, enabled("false").IsEnabled)
      for _, bad in ipairs({ "True", "1", "", "yes", "true false" }) do
        local value, err = enabled(bad)
        assert.are.equal(nil, value)
        assert.are.equal(('line 1, column 25: IsEnabled: expected true or false, got "%s"'):format(bad), err)
      end
    end)

    it("reads integers strictly: an optional minus and digits that fit int64", function()
      local function day(text)
        return core.xml_read(CONFIGURATION, configuration("<Schedule><DayOfMonth>" .. text .. "</DayOfMonth></Schedule>"))
      end
      local cases = {
        ["31"] = 31, ["-0"] = 0, ["007"] = 7, [" 42\n"] = 42,
        ["9223372036854775807"] = INT64_MAX, ["-9223372036854775808"] = INT64_MIN,
      }
      for text, expected in pairs(cases) do
        assert_value(expected, assert(day(text)).Schedule.DayOfMonth)
      end
      for _, bad in ipairs({ "", "-", "+1", "1.0", "1e3", "0x10", "1 2", "9223372036854775808", "-9223372036854775809" }) do
        local value, err = day(bad)
        assert.are.equal(nil, value)
        assert.are.equal(('line 1, column 35: Schedule.DayOfMonth: expected a 64-bit integer, got "%s"'):format(bad),
          err)
      end
    end)

    it("quotes a long bad value shortened, on one line", function()
      local _, err = core.xml_read(CONFIGURATION,
        configuration("<IsEnabled>" .. ("\206\187"):rep(30) .. "\nx</IsEnabled>"))
      assert.are.equal('line 1, column 25: IsEnabled: expected true or false, got "' .. ("\206\187"):rep(20) .. '..."',
        err)
      _, err = core.xml_read(CONFIGURATION, configuration("<IsEnabled>a\tb</IsEnabled>"))
      assert.are.equal('line 1, column 25: IsEnabled: expected true or false, got "a?b"', err)
    end)

    it("makes empty containers empty tables and empty leaves empty strings", function()
      assert_value({ Filter = {}, Schedule = {}, Id = "", IncludedObjectVersions = "" },
        core.xml_read(CONFIGURATION,
          configuration("<Filter/><Schedule>\n  \t</Schedule><Id></Id><IncludedObjectVersions/>")))
      assert_value({}, core.xml_read(CONFIGURATION, "<InventoryConfiguration/>"))
    end)

    it("ignores attributes, comments, processing instructions and a byte order mark", function()
      assert_value({ Id = "a" }, core.xml_read(CONFIGURATION,
        '\239\187\191<?xml version="1.0"?><!-- c --><InventoryConfiguration xmlns="http://example.com/">' ..
        '<Id lang="en">a</Id><?pi?></InventoryConfiguration>'))
    end)

    it("reads a document declared in another encoding as UTF-8 strings", function()
      assert_value({ Id = "caf\195\169" }, core.xml_read(CONFIGURATION,
        '<?xml version="1.0" encoding="ISO-8859-1"?>' .. configuration("<Id>caf\233</Id>")))
    end)

    it("keeps repeated unknown leaves as an array and a single one as a value", function()
      assert_value({ Note = { "a", "b", "c" }, Hint = "d" }, core.xml_read(CONFIGURATION,
        configuration("<Note>a</Note><Hint>d</Hint><Note>b</Note><Note>c</Note>")))
    end)

    it("keeps unknown elements nested inside unknown elements", function()
      assert_value({ A = { B = { C = { "1", { D = "2" } } } } }, core.xml_read(CONFIGURATION,
        configuration("<A><B><C>1</C><C><D>2</D></C></B></A>")))
    end)
  end)

  describe("refuses a document that does not fit the schema", function()
    local function refuses(schema, bytes, message)
      local value, err = read_every_way(schema, bytes)
      assert.are.equal(nil, value)
      assert.are.equal(message, err)
    end

    it("a different root element", function()
      refuses(CONFIGURATION, fixture("wrong_root.xml"),
        "line 1, column 1: expected root element <InventoryConfiguration>, got <Error>")
      refuses(ERROR, fixture("full.xml"), "line 2, column 3: expected root element <Error>, got <InventoryConfiguration>")
    end)

    it("a known element that may appear once appearing twice", function()
      refuses(CONFIGURATION, fixture("repeated_element.xml"), "line 7, column 5: Schedule.Frequency: appears more than once")
      local before = "<ListInventoryConfigurationsResult><InventoryConfiguration/><InventoryConfiguration><Id>a</Id>"
      refuses(LIST, before .. "<Id>b</Id></InventoryConfiguration></ListInventoryConfigurationsResult>",
        ("line 1, column %d: InventoryConfiguration[2].Id: appears more than once"):format(#before + 1))
    end)

    it("a bad boolean", function()
      refuses(CONFIGURATION, fixture("bad_boolean.xml"), 'line 4, column 3: IsEnabled: expected true or false, got "yes"')
    end)

    it("a bad integer", function()
      refuses(CONFIGURATION, fixture("bad_integer.xml"),
        'line 5, column 5: Filter.LowerSizeBound: expected a 64-bit integer, got "9223372036854775808"')
    end)

    it("text directly inside a container, from where the text starts", function()
      refuses(CONFIGURATION, configuration("<Filter>\n  x <Prefix/></Filter>"),
        'line 1, column 33: Filter: text "x" where only elements are allowed')
      refuses(CONFIGURATION, configuration("<Filter><Prefix/>\n\n  y\n</Filter>"),
        'line 1, column 42: Filter: text "y" where only elements are allowed')
      refuses(CONFIGURATION, configuration("<Id>a</Id>stray"),
        'line 1, column 35: InventoryConfiguration: text "stray" where only elements are allowed')
      refuses(CONFIGURATION, configuration("<Extra>note<Inner/></Extra>"),
        'line 1, column 32: Extra: text "note" where only elements are allowed')
    end)

    it("an element inside a value", function()
      local before = "<InventoryConfiguration><OptionalFields><Field>Size</Field><Field>ETag"
      refuses(CONFIGURATION, before .. "<b/></Field></OptionalFields></InventoryConfiguration>",
        ("line 1, column %d: OptionalFields.Field[2]: a string value cannot contain the element <b>"):format(#before + 1))
      refuses(CONFIGURATION, configuration("<IsEnabled><true/></IsEnabled>"),
        "line 1, column 36: IsEnabled: a boolean value cannot contain the element <true>")
    end)
  end)

  describe("refuses hostile and malformed input", function()
    local function refuses_like(schema, bytes, pattern)
      local value, err = read_every_way(schema, bytes)
      assert.are.equal(nil, value)
      assert.matches(pattern, err)
      return err
    end

    it("a truncated document, naming where it stops", function()
      refuses_like(CONFIGURATION, fixture("truncated.xml"),
        "^line 17, column 34: the document ends inside Destination%.OSSBucketDestination%.RoleArn$")
      refuses_like(CONFIGURATION, "<InventoryConfiguration><Id", "^line 1, column 25: unclosed token$")
      refuses_like(CONFIGURATION, "", "^line 1, column 1: no element found$")
    end)

    it("a DTD, so a billion laughs is refused before anything expands", function()
      -- Line 2 is the DOCTYPE: the refusal comes before the first entity declaration is even read.
      refuses_like(CONFIGURATION, fixture("billion_laughs.xml"), "^line 2, column %d+: DTD is not allowed$")
      local started = os.clock()
      core.xml_read(CONFIGURATION, fixture("billion_laughs.xml"))
      assert.is_true(os.clock() - started < 0.5) -- expanding lol9 means 3 GB of text
    end)

    it("an external entity, which is never loaded", function()
      refuses_like(CONFIGURATION, fixture("external_entity.xml"), "^line 2, column %d+: DTD is not allowed$")
    end)

    it("an entity that was never declared", function()
      refuses_like(CONFIGURATION, configuration("<Id>&nbsp;</Id>"), "^line 1, column 29: undefined entity$")
    end)

    it("nesting deeper than max_depth, as soon as it starts", function()
      local root = "<InventoryConfiguration>"
      local deep = root .. ("<a>"):rep(9999) .. ("</a>"):rep(9999) .. "</InventoryConfiguration>"
      local column = #root + 63 * #"<a>" + 1 -- the 65th element
      local reader = core.xml_reader(CONFIGURATION)
      local ok, err = reader:feed(deep)
      assert.are.equal(nil, ok)
      assert.are.equal(("line 1, column %d: elements nested more than 64 deep"):format(column), err)
      assert.are.equal(err, select(2, reader:finish()))
    end)

    it("invalid UTF-8, with Expat's reason", function()
      refuses_like(CONFIGURATION, fixture("invalid_utf8.xml"), "^line 3, column 10: not well%-formed %(invalid token%)$")
    end)

    it("anything after the root element", function()
      refuses_like(CONFIGURATION, "<InventoryConfiguration/><Id/>", "^line 1, column 26: junk after document element$")
    end)
  end)

  describe("cost", function()
    -- An Error document whose unknown elements each carry an attribute of `size` bytes.
    local function long_attributes(count, size)
      local element = ('<Note text="%s"/>'):format(("x"):rep(size))
      return "<Error><Code>AccessDenied</Code>" .. element:rep(count) .. "</Error>"
    end

    it("scans each byte a bounded number of times, however small the pieces", function()
      -- Expat scans an unfinished token again whenever it gets more bytes: 200 tags of 30 000 bytes fed 500
      -- bytes at a time would otherwise be scanned about 60 times each.
      local document = long_attributes(200, 30000)
      local reader = core.xml_reader(ERROR)
      for at = 1, #document, 500 do
        assert.are.equal(true, reader:feed(document:sub(at, at + 499)))
      end
      local value = assert(reader:finish())
      assert.are.equal(200, #value.Note)
      assert.is_true(reader:scanned() >= #document)
      assert.is_true(reader:scanned() <= 2 * #document, ("scanned %d bytes of %d"):format(reader:scanned(), #document))
    end)

    it("refuses markup longer than 64 KiB, read whole or in pieces, where it starts", function()
      local function refuses_markup(bytes, position)
        local value, err = read_every_way(ERROR, bytes)
        assert.are.equal(nil, value)
        assert.are.equal(position .. ": markup longer than 65536 bytes", err)
      end
      refuses_markup(long_attributes(1, 65537), "line 1, column 33")
      refuses_markup("<Error><!--" .. ("-x"):rep(40000) .. "--></Error>", "line 1, column 8")
      refuses_markup("<Error>\n<?note " .. ("x"):rep(70000) .. "?></Error>", "line 2, column 1")
      refuses_markup("<Error><Code></Code" .. (" "):rep(70000) .. "></Error>", "line 1, column 14")
      assert.is_table(core.xml_read(ERROR, long_attributes(1, 65000)))
    end)

    it("refuses a tag of a million attributes before Expat reads them all", function()
      local attributes = {}
      for i = 1, 1000000 do attributes[i] = (" a%d=''"):format(i) end
      local document = "<Error><Code" .. table.concat(attributes) .. ">AccessDenied</Code></Error>"
      local reader = core.xml_reader(ERROR)
      local ok, err
      for at = 1, #document, 16384 do
        ok, err = reader:feed(document:sub(at, at + 16383))
        if not ok then break end
      end
      assert.are.equal("line 1, column 8: markup longer than 65536 bytes", err)
      -- Refused once Expat holds more than 64 KiB of it, having scanned the tag's first bytes a few times.
      assert.is_true(reader:scanned() < 4 * 65536, ("scanned %d bytes"):format(reader:scanned()))
      assert.are.same({ nil, err }, { core.xml_read(ERROR, document) })
    end)

    it("keeps no room in an unknown container for the children it announces", function()
      local count = 100000
      local document = "<Error><Wrapper>" .. ("<Item/>"):rep(count) .. "</Wrapper></Error>"
      local function kept_kilobytes(make)
        collectgarbage("collect")
        local before = collectgarbage("count")
        local value = make()
        collectgarbage("collect")
        local kept = collectgarbage("count") - before
        return kept, value
      end
      local read_kept, value = kept_kilobytes(function() return assert(core.xml_read(ERROR, document)) end)
      assert.are.equal(count, #value.Wrapper.Item)
      -- The same array made in Lua: what the answer has to hold.
      local plain_kept = kept_kilobytes(function()
        local items = {}
        for i = 1, count do items[i] = "" end
        return { Wrapper = { Item = items } }
      end)
      assert.is_true(read_kept < 1.25 * plain_kept, ("kept %.0f kB for %.0f kB of values"):format(read_kept, plain_kept))
    end)
  end)

  describe("limits", function()
    local schedule = configuration("<Schedule><Frequency>Daily</Frequency></Schedule>")

    it("max_depth counts the root as level one", function()
      assert_value({ Schedule = { Frequency = "Daily" } }, core.xml_read(CONFIGURATION, schedule, { max_depth = 3 }))
      local value, err = core.xml_read(CONFIGURATION, schedule, { max_depth = 2 })
      assert.are.equal(nil, value)
      assert.are.equal("line 1, column 35: elements nested more than 2 deep", err)
    end)

    it("max_size bounds the bytes fed, checked before they are parsed", function()
      assert.is_table(core.xml_read(CONFIGURATION, schedule, { max_size = #schedule }))
      local value, err = core.xml_read(CONFIGURATION, schedule, { max_size = #schedule - 1 })
      assert.are.equal(nil, value)
      assert.are.equal(("line 1, column 1: document larger than %d bytes"):format(#schedule - 1), err)

      local reader = core.xml_reader(CONFIGURATION, { max_size = 30 })
      assert.are.equal(true, reader:feed(schedule:sub(1, 30)))
      local ok, feed_err = reader:feed("<")
      assert.are.equal(nil, ok)
      assert.are.equal("line 1, column 25: document larger than 30 bytes", feed_err)
      assert.are.equal(feed_err, select(2, reader:finish()))
    end)

    it("refuses a body over the default 16 MiB without parsing it", function()
      local reader = core.xml_reader(CONFIGURATION)
      local ok, err = reader:feed(("\0"):rep(16 * 1024 * 1024 + 1)) -- parsed, a NUL would be Expat's error
      assert.are.equal(nil, ok)
      assert.are.equal("line 1, column 1: document larger than 16777216 bytes", err)
      reader:close()
    end)

    it("must be known positive integers", function()
      for _, limits in ipairs({
        { max_depth = 0 }, { max_depth = 1.5 }, { max_depth = "8" }, { max_depth = 1001 }, { max_size = -1 },
        { max_sizes = 10 }, { 64 },
      }) do
        assert.has_error(function() core.xml_reader(CONFIGURATION, limits) end)
        assert.has_error(function() core.xml_read(CONFIGURATION, "<InventoryConfiguration/>", limits) end)
      end
      assert.has_error(function() core.xml_reader(CONFIGURATION, "deep") end)
    end)
  end)

  describe("the reader object", function()
    it("says what it is", function()
      local reader = core.xml_reader(CONFIGURATION)
      assert.matches("^oss%.xml_reader: 0x%x+$", tostring(reader))
      reader:close()
    end)

    it("keeps reporting the first error and ignores later feeds", function()
      local reader = core.xml_reader(CONFIGURATION)
      local ok, err = reader:feed("<Error>")
      assert.are.equal(nil, ok)
      assert.are.equal("line 1, column 1: expected root element <InventoryConfiguration>, got <Error>", err)
      assert.are.same({ nil, err }, { reader:feed("\255 not even XML") })
      assert.are.same({ nil, err }, { reader:finish() })
    end)

    it("can be used once, then refuses further use; close is idempotent", function()
      local reader = core.xml_reader(CONFIGURATION)
      assert.are.equal(true, reader:feed(configuration("<Id>a</Id>")))
      assert_value({ Id = "a" }, reader:finish())
      assert.has_error(function() reader:feed("x") end, "attempt to use a finished oss.xml_reader")
      assert.has_error(function() reader:finish() end, "attempt to use a finished oss.xml_reader")
      reader:close()
      reader:close()
      assert.has_error(function() reader:feed("x") end, "attempt to use a closed oss.xml_reader")
      assert.has_error(function() reader:finish() end, "attempt to use a closed oss.xml_reader")
    end)

    it("keeps its schema alive", function()
      local reader = core.xml_reader(core.schema(error_description))
      collectgarbage("collect")
      collectgarbage("collect")
      assert.are.equal(true, reader:feed("<Error><Code>AccessDenied</Code>"))
      collectgarbage("collect")
      assert.are.equal(true, reader:feed("<EC>0003-00000001</EC></Error>"))
      assert_value({ Code = "AccessDenied", EC = "0003-00000001" }, reader:finish())
    end)

    it("is collected safely when left unfinished, failed or closed", function()
      local collected = setmetatable({}, { __mode = "v" })
      local function abandon() -- in a function, so no stack slot keeps them alive
        local unfinished = core.xml_reader(CONFIGURATION)
        unfinished:feed(fixture("full.xml"):sub(1, 700))
        local failed = core.xml_reader(CONFIGURATION)
        failed:feed("<Error/>")
        local closed = core.xml_reader(CONFIGURATION)
        closed:close()
        collected[1], collected[2], collected[3] = unfinished, failed, closed
      end
      abandon()
      collectgarbage("collect")
      collectgarbage("collect")
      assert.are.equal(nil, next(collected))
    end)

    it("finishes its answer when a finalizer closes it while the tables are made", function()
      local rule = "<InventoryConfiguration><Id>r</Id><OptionalFields><Field>Size</Field><Field>ETag</Field>" ..
        "</OptionalFields></InventoryConfiguration>"
      local document = "<ListInventoryConfigurationsResult>" .. rule:rep(500) .. "</ListInventoryConfigurationsResult>"
      -- One attempt: the finalizer's object becomes garbage just before finish, and the collector starts a new cycle
      -- as soon as one ends, so the finalizer runs during finish (the pause is set before the full collection,
      -- whose end is where the next cycle's start is computed). -> whether it ran while finish was under way
      local function attempt()
        local reader = core.xml_reader(LIST)
        assert.are.equal(true, reader:feed(document))
        -- Both fields exist beforehand: setting one later could grow the table, and so run the collector early.
        local state = { finishing = false, closed_while_finishing = false }
        local holder
        local function finalizer()
          state.closed_while_finishing = state.finishing
          reader:close()
        end
        if newproxy then
          holder = newproxy(true)
          getmetatable(holder).__gc = finalizer
        else
          holder = setmetatable({}, { __gc = finalizer })
        end
        local mode = _VERSION == "Lua 5.4" and collectgarbage("incremental") -- busted runs Lua 5.4 generational
        local pause, stepmul = collectgarbage("setpause", 1), collectgarbage("setstepmul", 10000)
        collectgarbage("collect")
        holder = nil -- luacheck: ignore (the point is that nothing refers to it any more)
        state.finishing = true
        local ok, value = pcall(reader.finish, reader)
        state.finishing = false
        collectgarbage("setpause", pause)
        collectgarbage("setstepmul", stepmul)
        if mode then collectgarbage(mode) end
        collectgarbage("collect")
        assert.is_true(state.closed_while_finishing)
        if not ok then
          -- Lua 5.2 may collect on entering the call, before finish began: then the reader is simply closed.
          assert.matches("attempt to use a closed oss.xml_reader", value)
          return false
        end
        assert.are.equal(500, #value.InventoryConfiguration)
        assert_value({ Id = "r", OptionalFields = { Field = { "Size", "ETag" } } }, value.InventoryConfiguration[500])
        assert.has_error(function() reader:feed("x") end, "attempt to use a closed oss.xml_reader")
        return true
      end
      local during = false
      for _ = 1, 20 do
        during = attempt()
        if during then break end
      end
      assert.is_true(during, "the finalizer never ran while the tables were made")
    end)

    it("refuses to go on once its schema was collected under it", function()
      -- A finalizer that runs in the same cycle as the schema's __gc, but before it, can still make a reader.
      local made = {}
      local function make_in_finalizer()
        local schema = core.schema(error_description)
        local function finalizer() made.ok, made.reader = pcall(core.xml_reader, schema) end
        if newproxy then
          getmetatable(newproxy(true)).__gc = finalizer
        else
          setmetatable({}, { __gc = finalizer })
        end
      end
      if _VERSION == "Lua 5.1" and not newproxy then
        pending("no finalizers on Lua 5.1 without newproxy")
        return
      end
      make_in_finalizer()
      for _ = 1, 4 do collectgarbage("collect") end
      local collected = "oss%.schema: used after it was collected"
      if _VERSION == "Lua 5.4" then assert.is_true(made.ok) end
      if not made.ok then -- this runtime ran the schema's __gc first: making the reader was refused
        assert.matches(collected, made.reader)
        return
      end
      local reader = made.reader
      local ok, message = pcall(reader.feed, reader, "<Error><Code>AccessDenied</Code></Error>")
      assert.is_false(ok)
      assert.matches(collected, message)
      ok, message = pcall(reader.finish, reader)
      assert.is_false(ok)
      assert.matches(collected, message)
      reader:close()
    end)

    it("raises on misuse", function()
      assert.has_error(function() core.xml_reader() end)
      assert.has_error(function() core.xml_reader({}) end)
      assert.has_error(function() core.xml_read(CONFIGURATION) end)
      assert.has_error(function() core.xml_read(CONFIGURATION, {}) end)
      assert.has_error(function() core.xml_read("<Error/>", CONFIGURATION) end)
      local reader = core.xml_reader(CONFIGURATION)
      assert.has_error(function() reader:feed() end)
      assert.has_error(function() reader:feed({}) end)
      assert.has_error(function() reader.finish(CONFIGURATION) end)
      assert.has_error(function() reader.close({}) end)
      reader:close()
    end)
  end)
end)
