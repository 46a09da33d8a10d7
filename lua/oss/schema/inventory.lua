-- The XML schema of the inventory documents, as data: the one place that knows element order, types and rules.
--
-- Each element: name (the XML name and the Lua key), type ("container" unless given), required, repeated
-- (a Lua array, one XML element per entry), children (containers, in document order), rules (relations
-- between two children), and for values: enum, min/max (integers), min_length/max_length (bytes), format.

-- 10 000 parts of 5 GiB: the largest object OSS stores, which the reference page rounds to "48.8 TB".
local MAX_OBJECT_SIZE = 10000 * 5 * 1024 * 1024 * 1024

local FULL_FIELDS = {
  "Size", "LastModifiedDate", "TransitionTime", "ETag", "StorageClass", "IsMultipartUploaded",
  "EncryptionStatus", "ObjectAcl", "TaggingCount", "ObjectType", "Crc64",
}

local INCREMENTAL_FIELDS = {
  "SequenceNumber", "RecordType", "RecordTimestamp", "Requester", "RequestId", "SourceIp", "Size",
  "StorageClass", "LastModifiedDate", "ETag", "IsMultipartUploaded", "ObjectType", "ObjectAcl", "Crc64",
  "EncryptionStatus",
}

local function optional_fields(fields)
  return {
    name = "OptionalFields",
    children = {
      { name = "Field", type = "string", repeated = true, enum = fields },
    },
  }
end

local function timestamp(name)
  return { name = name, type = "integer", min = 1262275200, max = 253402271999 }
end

local inventory_configuration = {
  name = "InventoryConfiguration",
  children = {
    { name = "Id", type = "string", required = true, min_length = 1, max_length = 192, format = "url_safe" },
    { name = "IsEnabled", type = "boolean", required = true },
    {
      name = "Filter",
      children = {
        { name = "Prefix", type = "string" },
        timestamp("LastModifyBeginTimeStamp"),
        timestamp("LastModifyEndTimeStamp"),
        { name = "LowerSizeBound", type = "integer", min = 0, max = MAX_OBJECT_SIZE },
        { name = "UpperSizeBound", type = "integer", min = 1, max = MAX_OBJECT_SIZE },
        {
          name = "StorageClass", type = "string", format = "storage_classes",
          enum = { "Standard", "IA", "Archive", "ColdArchive", "All" },
        },
      },
      rules = {
        { "not_greater", "LastModifyBeginTimeStamp", "LastModifyEndTimeStamp" },
        { "not_greater", "LowerSizeBound", "UpperSizeBound" },
      },
    },
    {
      name = "Destination",
      required = true,
      children = {
        {
          name = "OSSBucketDestination",
          required = true,
          children = {
            { name = "Format", type = "string", required = true, enum = { "CSV" } },
            { name = "AccountId", type = "string", required = true, max_length = 64, format = "digits" },
            { name = "RoleArn", type = "string", required = true, max_length = 256, format = "role_arn" },
            { name = "Bucket", type = "string", required = true, format = "bucket_arn" },
            { name = "Prefix", type = "string" },
            {
              name = "Encryption",
              children = {
                {
                  name = "SSE-KMS",
                  children = { { name = "KeyId", type = "string" } },
                },
                { name = "SSE-OSS", children = {} },
              },
              rules = { { "exactly_one", "SSE-KMS", "SSE-OSS" } },
            },
          },
        },
      },
    },
    {
      name = "Schedule",
      required = true,
      children = {
        { name = "Frequency", type = "string", required = true, enum = { "Daily", "Weekly", "Monthly", "Once" } },
        { name = "DayOfMonth", type = "integer", min = 1, max = 31 },
        { name = "AutoDelete", type = "boolean" },
      },
      rules = {
        { "only_with", "DayOfMonth", "Frequency", "Monthly" },
        { "only_with", "AutoDelete", "Frequency", "Once" },
      },
    },
    { name = "IncludedObjectVersions", type = "string", required = true, enum = { "All", "Current" } },
    optional_fields(FULL_FIELDS),
    {
      name = "IncrementalInventory",
      children = {
        { name = "IsEnabled", type = "boolean", required = true },
        {
          name = "Schedule",
          required = true,
          children = {
            { name = "Frequency", type = "integer", required = true, min = 600, max = 600 },
          },
        },
        optional_fields(INCREMENTAL_FIELDS),
      },
    },
  },
}

-- ListBucketInventory's answer: the same configuration, repeated, plus the paging elements.
local list_result = {
  name = "ListInventoryConfigurationsResult",
  children = {
    setmetatable({ repeated = true }, { __index = inventory_configuration }),
    { name = "IsTruncated", type = "boolean" },
    { name = "ContinuationToken", type = "string" },
    { name = "NextContinuationToken", type = "string" },
  },
}

return {
  InventoryConfiguration = inventory_configuration,
  ListInventoryConfigurationsResult = list_result,
  FULL_FIELDS = FULL_FIELDS,
  INCREMENTAL_FIELDS = INCREMENTAL_FIELDS,
  MAX_OBJECT_SIZE = MAX_OBJECT_SIZE,
}
