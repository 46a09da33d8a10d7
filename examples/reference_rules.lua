-- The reference page's three sample rules as Lua tables, in the shape oss.put_bucket_inventory takes.
-- Two corrections to the page: the field is TransitionTime (the page's XML spells TransistionTime), and the
-- masked account id 12xxxxxx29 of the incremental sample is replaced by digits.

local rules = {}

-- Both incremental samples list every incremental field; each rule gets its own array.
local function incremental_fields()
  return { "SequenceNumber", "RecordType", "RecordTimestamp", "Requester", "RequestId", "SourceIp", "Size",
    "StorageClass", "LastModifiedDate", "ETag", "IsMultipartUploaded", "ObjectType", "ObjectAcl", "Crc64",
    "EncryptionStatus" }
end

-- "Request syntax": full inventory with SSE-KMS, plus an incremental inventory.
rules.syntax = {
  Id = "report1",
  IsEnabled = true,
  Destination = {
    OSSBucketDestination = {
      Format = "CSV",
      AccountId = "1000000000000000",
      RoleArn = "acs:ram::1000000000000000:role/AliyunOSSRole",
      Bucket = "acs:oss:::destination-bucket",
      Prefix = "prefix1",
      Encryption = { ["SSE-KMS"] = { KeyId = "keyId" } },
    },
  },
  Schedule = { Frequency = "Daily" },
  IncludedObjectVersions = "All",
  OptionalFields = {
    Field = { "Size", "LastModifiedDate", "TransitionTime", "ETag", "StorageClass", "IsMultipartUploaded",
      "EncryptionStatus" },
  },
  IncrementalInventory = {
    IsEnabled = true,
    Schedule = { Frequency = 600 },
    OptionalFields = { Field = incremental_fields() },
  },
}

-- "Configure inventory rules": a full inventory with every Filter element and SSE-KMS.
rules.full = {
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
  Destination = {
    OSSBucketDestination = {
      Format = "CSV",
      AccountId = "100000000000000",
      RoleArn = "acs:ram::100000000000000:role/AliyunOSSRole",
      Bucket = "acs:oss:::destbucket",
      Prefix = "prefix1/",
      Encryption = { ["SSE-KMS"] = { KeyId = "keyId" } },
    },
  },
  Schedule = { Frequency = "Daily" },
  IncludedObjectVersions = "All",
  OptionalFields = {
    Field = { "Size", "LastModifiedDate", "TransitionTime", "ETag", "StorageClass", "IsMultipartUploaded",
      "EncryptionStatus" },
  },
}

-- "Configure incremental inventory rules".
rules.incremental = {
  Id = "Report-1",
  IsEnabled = true,
  Filter = { Prefix = "test" },
  Destination = {
    OSSBucketDestination = {
      Format = "CSV",
      AccountId = "1234567829",
      RoleArn = "acs:ram::1234567829:role/bucket-inventory-role",
      Bucket = "acs:oss:::test-inc-bi-bj",
      Prefix = "Report-1",
    },
  },
  Schedule = { Frequency = "Weekly" },
  IncludedObjectVersions = "All",
  OptionalFields = { Field = { "Size", "LastModifiedDate", "ETag", "StorageClass" } },
  IncrementalInventory = {
    IsEnabled = true,
    Schedule = { Frequency = 600 },
    OptionalFields = { Field = incremental_fields() },
  },
}

return rules
