-- The four bucket inventory operations against the store, with the service's checks, limits and normalisation.
local core = require "oss.core"
local errors = require "oss.emulator.errors"
local schemas = require "oss.schema.inventory"
local stored_form = require "oss.stored_form"

local M = {}

local MAX_RULES = 1000
local PAGE_SIZE = 100
local XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

local configuration_schema = core.schema(schemas.InventoryConfiguration)
local list_schema = core.schema(schemas.ListInventoryConfigurationsResult)

local function xml_answer(status, body)
  return { status = status, body = XML_DECLARATION .. body, content_type = "application/xml" }
end

local function check_destination(store, source, rule)
  local arn = rule.Destination.OSSBucketDestination.Bucket
  local name = arn:match("^acs:oss:::(.+)$")
  local destination = name and store:bucket(name)
  if not destination then
    return errors.new("InvalidArgument", "Destination bucket " .. arn .. " does not exist.")
  end
  if destination.region ~= source.region then
    return errors.new("InvalidArgument", "Destination bucket " .. name .. " is in " .. destination.region ..
      ", not in the source bucket's region " .. source.region .. ".")
  end
  return nil
end

local function check_incremental(accounts, bucket, rule)
  local incremental = rule.IncrementalInventory
  local account = accounts[bucket.owner or ""]
  if incremental and incremental.IsEnabled and account and account.incremental_inventory == false then
    return errors.new("AccessDenied", "Incremental Inventory is disabled.")
  end
  return nil
end

local function required_id(query)
  local id = query.inventoryId
  if id == nil or id == "" then
    return nil, errors.new("InvalidArgument", "inventoryId is required.")
  end
  return id
end

-- context: { store, bucket (store record), query = { [name] = value }, body, accounts }
-- Each operation returns an answer { status, body, content_type } or nil plus an error value.
function M.put(context)
  local id, missing = required_id(context.query)
  if not id then
    return nil, missing
  end
  local rule, read_error = core.xml_read(configuration_schema, context.body or "")
  if not rule then
    return nil, errors.new("MalformedXML", nil, { extra = { { "Detail", read_error } } })
  end
  rule = stored_form.rule(rule)
  local serialised, reason, path = core.xml_write(configuration_schema, rule)
  if not serialised then
    return nil, errors.new("InvalidArgument", (path and path ~= "" and (path .. ": ") or "") .. reason)
  end
  if rule.Id ~= id then
    return nil, errors.new("InvalidArgument", "The inventoryId in the query (" .. id ..
      ") does not match the Id in the body (" .. rule.Id .. ").", { ec = "0020-00000043" })
  end
  local bucket = context.bucket
  local refused = check_destination(context.store, bucket, rule) or check_incremental(context.accounts, bucket, rule)
  if refused then
    return nil, refused
  end
  if bucket.rules[id] then
    return nil, errors.new("InventoryAlreadyExist")
  end
  if bucket.count >= MAX_RULES then
    return nil, errors.new("InventoryExceedLimit")
  end
  local saved, message = context.store:insert(bucket, rule)
  if not saved then
    return nil, errors.new("InternalError", "The rule could not be stored: " .. tostring(message))
  end
  return { status = 200, body = "" }
end

function M.get(context)
  local id, missing = required_id(context.query)
  if not id then
    return nil, missing
  end
  local rule = context.bucket.rules[id]
  if not rule then
    return nil, errors.new("NoSuchInventory")
  end
  return xml_answer(200, assert(core.xml_write(configuration_schema, rule)))
end

-- Tokens are opaque to clients (base64 of the Id that starts the next page) and contain characters that must be
-- percent-encoded, as real tokens do.
function M.list(context)
  local token = context.query["continuation-token"]
  local from
  if token then
    from = core.base64_decode(token)
    if not from or from == "" then
      return nil, errors.new("InvalidArgument", "The continuation-token is not valid.")
    end
  end
  local rules, next_id = context.store:page(context.bucket, from, PAGE_SIZE)
  if #rules == 0 then
    return nil, errors.new("NoSuchInventory")
  end
  local result = {
    InventoryConfiguration = rules,
    IsTruncated = next_id ~= nil,
    ContinuationToken = token,
    NextContinuationToken = next_id and core.base64_encode(next_id),
  }
  return xml_answer(200, assert(core.xml_write(list_schema, result)))
end

-- Deleting a rule that does not exist succeeds, so a retried delete is harmless.
function M.delete(context)
  local id, missing = required_id(context.query)
  if not id then
    return nil, missing
  end
  if context.bucket.rules[id] then
    local removed, message = context.store:remove(context.bucket, id)
    if not removed then
      return nil, errors.new("InternalError", "The rule could not be removed: " .. tostring(message))
    end
  end
  return { status = 204, body = "" }
end

return M
