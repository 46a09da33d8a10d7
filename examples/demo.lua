-- The README's main job: submits the reference page's two rules, reads them back, lists them, deletes them.
-- `make demo` runs it against the embedded emulator; any OSS endpoint works the same way:
--
--   OSS_ENDPOINT=http://127.0.0.1:9000 OSS_BUCKET=examplebucket OSS_ACCESS_KEY_ID=... \
--   OSS_ACCESS_KEY_SECRET=... lua5.4 examples/demo.lua

local oss = require "oss"
local rules = dofile((arg[0]:match("^(.*)/") or ".") .. "/reference_rules.lua")

local endpoint = os.getenv("OSS_ENDPOINT")
local bucket = os.getenv("OSS_BUCKET") or "examplebucket"
local client = assert(oss.new {
  region = os.getenv("OSS_REGION") or "cn-hangzhou",
  endpoint = endpoint,
  path_style = endpoint ~= nil,
})

local function step(title, ok, err)
  if ok then
    print(("  ok    %s"):format(title))
  else
    print(("  FAIL  %s: %s"):format(title, tostring(err)))
    os.exit(1)
  end
end

local function describe_rule(rule)
  local destination = rule.Destination.OSSBucketDestination
  local parts = {
    ("%s: %s, %s"):format(rule.Id, rule.IsEnabled and "enabled" or "disabled", rule.Schedule.Frequency),
    "to " .. destination.Bucket .. "/" .. (destination.Prefix or ""),
  }
  if rule.Filter then
    local filter = {}
    for _, name in ipairs { "Prefix", "StorageClass", "LowerSizeBound", "UpperSizeBound" } do
      if rule.Filter[name] ~= nil then filter[#filter + 1] = name .. "=" .. tostring(rule.Filter[name]) end
    end
    parts[#parts + 1] = "filter " .. table.concat(filter, " ")
  end
  if destination.Encryption then parts[#parts + 1] = "encrypted " .. (next(destination.Encryption)) end
  if rule.OptionalFields then parts[#parts + 1] = #rule.OptionalFields.Field .. " fields" end
  if rule.IncrementalInventory then
    parts[#parts + 1] = ("incremental every %ds with %d fields"):format(
      rule.IncrementalInventory.Schedule.Frequency, #rule.IncrementalInventory.OptionalFields.Field)
  end
  return table.concat(parts, "; ")
end

print(("bucket %s at %s (%s)"):format(bucket, client.endpoint, client.signature_version))

print("put")
for _, rule in ipairs { rules.full, rules.incremental } do
  step("put " .. rule.Id, client:put_bucket_inventory(bucket, rule))
end

print("get")
for _, rule in ipairs { rules.full, rules.incremental } do
  local stored, err = client:get_bucket_inventory(bucket, rule.Id)
  step("get " .. rule.Id, stored, err)
  print("        " .. describe_rule(stored))
end

print("list")
local count = 0
for rule, err in client:each_bucket_inventory(bucket) do
  step("listed " .. (rule and rule.Id or "?"), rule, err)
  count = count + 1
end
print(("        %d rules"):format(count))

print("invalid input is refused before anything is sent")
local typo = { Id = "typo", IsEnable = true }
local _, err = client:put_bucket_inventory(bucket, typo)
print("        " .. tostring(err))

print("delete")
for _, rule in ipairs { rules.full, rules.incremental } do
  step("delete " .. rule.Id, client:delete_bucket_inventory(bucket, rule.Id))
end
local _, gone = client:get_bucket_inventory(bucket, rules.full.Id)
print("        get after delete: " .. tostring(gone))
