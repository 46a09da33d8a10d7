-- The writer: reproduces the reference page's samples byte for byte and refuses every invalid input with its path.

local core = require "oss.core"
local schemas = require "oss.schema.inventory"
local fixtures = require "spec.support.fixtures"
local rules = dofile("examples/reference_rules.lua")

local CONFIGURATION = core.schema(schemas.InventoryConfiguration)
local copy = fixtures.copy

-- The reference page's three XML samples, with the whitespace between tags removed and its two slips corrected.
local function reference_samples()
  local samples = {}
  for i, name in ipairs { "syntax", "full", "incremental" } do
    local xml = fixtures.read("reference/" .. name .. ".xml"):gsub("%s+$", "")
    samples[i] = xml:gsub(">%s+<", "><"):gsub("TransistionTime", "TransitionTime"):gsub("12xxxxxx29", "1234567829")
  end
  return samples
end

local function write(config)
  return core.xml_write(CONFIGURATION, config)
end

describe("xml_write", function()
  it("reproduces the reference page's three samples", function()
    local samples = reference_samples()
    assert.are.equal(3, #samples)
    assert.are.equal(samples[1], write(rules.syntax))
    assert.are.equal(samples[2], write(rules.full))
    assert.are.equal(samples[3], write(rules.incremental))
  end)

  it("writes the signing vector's body byte for byte", function()
    local config = copy(rules.syntax)
    config.IncrementalInventory = nil
    config.Destination.OSSBucketDestination.Encryption = nil
    config.OptionalFields.Field = { "Size", "TransitionTime" }
    local body = assert(write(config))
    assert.are.equal(fixtures.read("vectors/put_report1.xml"), body)
    assert.are.equal("nFUmYNst3VT8lvyKhD06QA==", core.base64_encode(core.md5(body)))
  end)

  it("writes an empty container as a self-closing element", function()
    local config = copy(rules.syntax)
    config.Destination.OSSBucketDestination.Encryption = { ["SSE-OSS"] = {} }
    assert.truthy(write(config):find("<Encryption><SSE-OSS/></Encryption>", 1, true))
  end)

  it("escapes markup and keeps carriage returns and multi-byte text", function()
    local config = copy(rules.full)
    config.Filter.Prefix = "a&b<c>d\r\né/\240\159\152\128"
    local body = assert(write(config))
    assert.truthy(body:find("<Prefix>a&amp;b&lt;c&gt;d&#13;\né/\240\159\152\128</Prefix>", 1, true))
  end)

  it("writes Monthly and Once schedules with their own elements", function()
    local config = copy(rules.full)
    config.Schedule = { Frequency = "Monthly", DayOfMonth = 31 }
    assert.truthy(write(config):find("<Schedule><Frequency>Monthly</Frequency><DayOfMonth>31</DayOfMonth></Schedule>", 1, true))
    config.Schedule = { Frequency = "Once", AutoDelete = false }
    assert.truthy(write(config):find("<Schedule><Frequency>Once</Frequency><AutoDelete>false</AutoDelete></Schedule>", 1, true))
  end)

  it("accepts the bounds themselves", function()
    local config = copy(rules.full)
    config.Id = ("a"):rep(190) .. "~_"
    config.Filter = {
      LastModifyBeginTimeStamp = 1262275200, LastModifyEndTimeStamp = 253402271999,
      LowerSizeBound = 0, UpperSizeBound = schemas.MAX_OBJECT_SIZE, StorageClass = "Standard,IA,Archive,ColdArchive,All",
    }
    assert.truthy(write(config))
  end)

  describe("on a schema of its own", function()
    -- a name longer than Lua 5.4 interns, so its key is matched by bytes rather than by address
    local LONG = ("LongElementName"):rep(3)
    local OWN = core.schema {
      name = "Root",
      children = {
        { name = LONG, type = "string" },
        { name = "N", type = "integer" },
        { name = "T", type = "string" },
      },
    }
    local ESCAPES = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ["\r"] = "&#13;" }

    it("finds keys Lua does not intern, and copies long tags whole", function()
      local key = ("LongElementName"):rep(2) .. "LongElement" .. "Name"
      assert.are.equal(("<Root><%s>v</%s></Root>"):format(LONG, LONG), core.xml_write(OWN, { [key] = "v" }))
      local body, reason, path = core.xml_write(OWN, { [LONG .. "x"] = "v" })
      assert.is_nil(body)
      assert.are.equal(LONG .. "x", path)
      assert.truthy(reason:find("unknown element", 1, true))
    end)

    it("writes every integer digit for digit", function()
      for _, n in ipairs { 0, 7, 9, 10, 42, 99, 100, 101, 1000, 65536, -1, -10, -99, -100,
        math.maxinteger or 9007199254740991, math.mininteger or -9007199254740991 } do
        assert.are.equal(("<Root><N>%d</N></Root>"):format(n), core.xml_write(OWN, { N = n }))
      end
    end)

    it("escapes a byte wherever it falls in the eight-byte steps", function()
      for length = 1, 20 do
        for at = 1, length do
          for _, special in ipairs { "&", "<", ">", "\r", "\t", "\n", "\195\169", "\127" } do
            local text = ("x"):rep(at - 1) .. special .. ("y"):rep(length - at)
            local expected = "<Root><T>" .. text:gsub("[&<>\r]", ESCAPES) .. "</T></Root>"
            assert.are.equal(expected, core.xml_write(OWN, { T = text }))
          end
          local text = ("x"):rep(at - 1) .. "\1" .. ("y"):rep(length - at)
          local body, reason, path = core.xml_write(OWN, { T = text })
          assert.is_nil(body)
          assert.are.equal("T", path)
          assert.are.equal(("a control character at byte %d; XML 1.0 cannot carry it"):format(at), reason)
        end
      end
    end)
  end)

  -- Each case: a change to a valid rule, the path the error must name, and a piece of its reason.
  local invalid = {
    { "Id missing", function(c) c.Id = nil end, "Id", "required element is missing" },
    { "IsEnabled missing", function(c) c.IsEnabled = nil end, "IsEnabled", "required" },
    { "Destination missing", function(c) c.Destination = nil end, "Destination", "required" },
    { "OSSBucketDestination missing", function(c) c.Destination = {} end, "Destination.OSSBucketDestination", "required" },
    { "Format missing", function(c) c.Destination.OSSBucketDestination.Format = nil end, "Destination.OSSBucketDestination.Format", "required" },
    { "AccountId missing", function(c) c.Destination.OSSBucketDestination.AccountId = nil end, "Destination.OSSBucketDestination.AccountId", "required" },
    { "RoleArn missing", function(c) c.Destination.OSSBucketDestination.RoleArn = nil end, "Destination.OSSBucketDestination.RoleArn", "required" },
    { "Bucket missing", function(c) c.Destination.OSSBucketDestination.Bucket = nil end, "Destination.OSSBucketDestination.Bucket", "required" },
    { "Schedule missing", function(c) c.Schedule = nil end, "Schedule", "required" },
    { "Frequency missing", function(c) c.Schedule = {} end, "Schedule.Frequency", "required" },
    { "IncludedObjectVersions missing", function(c) c.IncludedObjectVersions = nil end, "IncludedObjectVersions", "required" },
    { "incremental IsEnabled missing", function(c) c.IncrementalInventory.IsEnabled = nil end, "IncrementalInventory.IsEnabled", "required" },
    { "incremental Schedule missing", function(c) c.IncrementalInventory.Schedule = nil end, "IncrementalInventory.Schedule", "required" },
    { "a boolean as a string", function(c) c.IsEnabled = "true" end, "IsEnabled", "expected a boolean, got string" },
    { "an integer as a string", function(c) c.Filter.LowerSizeBound = "1024" end, "Filter.LowerSizeBound", "expected an integer, got string" },
    { "a fractional integer", function(c) c.Filter.LowerSizeBound = 1.5 end, "Filter.LowerSizeBound", "expected an integer, got 1.5" },
    { "a string as a number", function(c) c.Filter.Prefix = 5 end, "Filter.Prefix", "expected a string, got number" },
    { "a container as a string", function(c) c.Filter = "Pics/" end, "Filter", "expected a table, got string" },
    { "a repeated element as a string", function(c) c.OptionalFields.Field = "Size" end, "OptionalFields.Field", "expected an array" },
    { "Format outside its enum", function(c) c.Destination.OSSBucketDestination.Format = "csv" end, "Destination.OSSBucketDestination.Format", 'expected one of CSV, got "csv"' },
    { "Frequency outside its enum", function(c) c.Schedule.Frequency = "Hourly" end, "Schedule.Frequency", "expected one of Daily, Weekly, Monthly, Once" },
    { "IncludedObjectVersions outside its enum", function(c) c.IncludedObjectVersions = "Some" end, "IncludedObjectVersions", "expected one of All, Current" },
    { "StorageClass outside its enum", function(c) c.Filter.StorageClass = "Standard,Cold" end, "Filter.StorageClass", "comma-separated list of Standard, IA, Archive, ColdArchive, All" },
    { "StorageClass repeated", function(c) c.Filter.StorageClass = "IA,IA" end, "Filter.StorageClass", "each at most once" },
    { "StorageClass empty member", function(c) c.Filter.StorageClass = "IA," end, "Filter.StorageClass", "comma-separated" },
    { "the reference sample's misspelt field", function(c) c.OptionalFields.Field[3] = "TransistionTime" end, "OptionalFields.Field[3]", '"TransistionTime"' },
    { "an incremental field in the full list", function(c) c.OptionalFields.Field[1] = "SequenceNumber" end, "OptionalFields.Field[1]", "expected one of Size," },
    { "a full field in the incremental list", function(c) c.IncrementalInventory.OptionalFields.Field[2] = "TaggingCount" end, "IncrementalInventory.OptionalFields.Field[2]", "expected one of SequenceNumber," },
    { "a field listed twice", function(c) c.OptionalFields.Field[2] = "Size" end, "OptionalFields.Field[2]", '"Size" is listed twice' },
    { "an empty field list", function(c) c.OptionalFields.Field = {} end, "OptionalFields.Field", "non-empty array" },
    { "a field list with a hole", function(c) c.OptionalFields.Field = { "Size", nil, "ETag" } end, "OptionalFields.Field", "expected an array" },
    { "a field list with a named key", function(c) c.OptionalFields.Field.extra = "ETag" end, "OptionalFields.Field", "keys 1 to n" },
    { "an Id over 192 characters", function(c) c.Id = ("a"):rep(193) end, "Id", "at most 192 characters, got 193" },
    { "an empty Id", function(c) c.Id = "" end, "Id", "must not be empty" },
    { "an Id unsafe in a URL", function(c) c.Id = "report 1" end, "Id", "letters, digits and - _ . ~" },
    { "an Id with a slash", function(c) c.Id = "a/b" end, "Id", "letters, digits" },
    { "a begin timestamp before 2010", function(c) c.Filter.LastModifyBeginTimeStamp = 1262275199 end, "Filter.LastModifyBeginTimeStamp", "from 1262275200 to 253402271999" },
    { "an end timestamp after 9999", function(c) c.Filter.LastModifyEndTimeStamp = 253402272000 end, "Filter.LastModifyEndTimeStamp", "from 1262275200 to 253402271999" },
    { "begin after end", function(c) c.Filter.LastModifyBeginTimeStamp = 1638347593 end, "Filter", "LastModifyBeginTimeStamp must not be greater than LastModifyEndTimeStamp" },
    { "a negative lower bound", function(c) c.Filter.LowerSizeBound = -1 end, "Filter.LowerSizeBound", "from 0 to" },
    { "a zero upper bound", function(c) c.Filter.UpperSizeBound = 0 end, "Filter.UpperSizeBound", "from 1 to" },
    { "an upper bound past 48.8 TB", function(c) c.Filter.UpperSizeBound = schemas.MAX_OBJECT_SIZE + 1 end, "Filter.UpperSizeBound", "to 53687091200000" },
    { "lower above upper", function(c) c.Filter.LowerSizeBound = 1048577 end, "Filter", "LowerSizeBound must not be greater than UpperSizeBound" },
    { "DayOfMonth without Monthly", function(c) c.Schedule.DayOfMonth = 3 end, "Schedule.DayOfMonth", "allowed only when Frequency is Monthly" },
    { "DayOfMonth 0", function(c) c.Schedule = { Frequency = "Monthly", DayOfMonth = 0 } end, "Schedule.DayOfMonth", "from 1 to 31" },
    { "DayOfMonth 32", function(c) c.Schedule = { Frequency = "Monthly", DayOfMonth = 32 } end, "Schedule.DayOfMonth", "from 1 to 31" },
    { "AutoDelete without Once", function(c) c.Schedule.AutoDelete = true end, "Schedule.AutoDelete", "allowed only when Frequency is Once" },
    { "an incremental frequency other than 600", function(c) c.IncrementalInventory.Schedule.Frequency = 300 end, "IncrementalInventory.Schedule.Frequency", "expected 600, got 300" },
    { "both encryption kinds", function(c) c.Destination.OSSBucketDestination.Encryption["SSE-OSS"] = {} end, "Destination.OSSBucketDestination.Encryption", "exactly one of SSE-KMS, SSE-OSS" },
    { "no encryption kind", function(c) c.Destination.OSSBucketDestination.Encryption = {} end, "Destination.OSSBucketDestination.Encryption", "exactly one of SSE-KMS, SSE-OSS" },
    { "a RoleArn without role/", function(c) c.Destination.OSSBucketDestination.RoleArn = "acs:ram::100000000000000:AliyunOSSRole" end, "Destination.OSSBucketDestination.RoleArn", "expected acs:ram::<uid>:role/<name>" },
    { "a RoleArn with a non-numeric uid", function(c) c.Destination.OSSBucketDestination.RoleArn = "acs:ram::12xx:role/r" end, "Destination.OSSBucketDestination.RoleArn", "acs:ram::<uid>:role/<name>" },
    { "a RoleArn with no role name", function(c) c.Destination.OSSBucketDestination.RoleArn = "acs:ram::1:role/" end, "Destination.OSSBucketDestination.RoleArn", "acs:ram::<uid>:role/<name>" },
    { "a Bucket without its acs prefix", function(c) c.Destination.OSSBucketDestination.Bucket = "destbucket" end, "Destination.OSSBucketDestination.Bucket", "expected acs:oss:::<name>" },
    { "a Bucket with an invalid name", function(c) c.Destination.OSSBucketDestination.Bucket = "acs:oss:::Dest_Bucket" end, "Destination.OSSBucketDestination.Bucket", "3 to 63 lowercase" },
    { "a Bucket name ending in a hyphen", function(c) c.Destination.OSSBucketDestination.Bucket = "acs:oss:::dest-" end, "Destination.OSSBucketDestination.Bucket", "acs:oss:::<name>" },
    { "an AccountId with letters", function(c) c.Destination.OSSBucketDestination.AccountId = "12xx" end, "Destination.OSSBucketDestination.AccountId", "digits only" },
    { "an unknown element: IsEnable", function(c) c.IsEnable = true end, "IsEnable", "unknown element; did you mean IsEnabled? (expected one of Id, IsEnabled," },
    { "an unknown element far from every name", function(c) c.Owner = "me" end, "Owner", "unknown element (expected one of Id," },
    { "a name in the wrong case", function(c) c.schedule = c.Schedule end, "schedule", "did you mean Schedule?" },
    { "an unknown nested element", function(c) c.Destination.OSSBucketDestination.BucketName = "x" end, "Destination.OSSBucketDestination.BucketName", "unknown element" },
    { "an element inside SSE-OSS", function(c) c.Destination.OSSBucketDestination.Encryption = { ["SSE-OSS"] = { KeyId = "k" } } end, "Destination.OSSBucketDestination.Encryption.SSE-OSS.KeyId", "SSE-OSS has no elements" },
    { "an array entry in a container", function(c) c.Filter[1] = "Pics/" end, "Filter", "unexpected array entry [1]" },
    { "a control character", function(c) c.Filter.Prefix = "a\1b" end, "Filter.Prefix", "a control character at byte 2" },
    { "a NUL byte", function(c) c.Destination.OSSBucketDestination.Prefix = "a\0" end, "Destination.OSSBucketDestination.Prefix", "a control character" },
    { "invalid UTF-8", function(c) c.Filter.Prefix = "ab\255" end, "Filter.Prefix", "invalid UTF-8 at byte 3" },
    { "an overlong UTF-8 encoding", function(c) c.Filter.Prefix = "\192\175" end, "Filter.Prefix", "invalid UTF-8" },
    { "a UTF-16 surrogate", function(c) c.Filter.Prefix = "\237\160\128" end, "Filter.Prefix", "invalid UTF-8" },
    { "the non-character U+FFFE", function(c) c.Filter.Prefix = "\239\191\190" end, "Filter.Prefix", "non-character" },
  }

  for _, case in ipairs(invalid) do
    local name, change, path, reason = case[1], case[2], case[3], case[4]
    it("refuses " .. name .. ", naming " .. path, function()
      -- every element present, so each case changes exactly one thing
      local config = copy(rules.full)
      config.IncrementalInventory = copy(rules.syntax.IncrementalInventory)
      assert.truthy(write(config))
      change(config)
      local body, got_reason, got_path = write(config)
      assert.is_nil(body)
      assert.are.equal(path, got_path)
      assert.truthy(got_reason:find(reason, 1, true), ("%q does not contain %q"):format(got_reason, reason))
    end)
  end

  it("raises when the value is not a table: that is misuse, not invalid data", function()
    assert.has_error(function() core.xml_write(CONFIGURATION, "x") end)
    assert.has_error(function() core.xml_write({}, {}) end)
  end)

  it("checks a single element with the same rules", function()
    assert.is_true(core.xml_check(CONFIGURATION, "Id", "report1"))
    local ok, reason = core.xml_check(CONFIGURATION, "Id", "a b")
    assert.is_nil(ok)
    assert.truthy(reason:find("letters, digits", 1, true))
  end)
end)
