-- The bucket inventory operations: Put, Get, List and Delete, plus an iterator over every rule of a bucket.

local core = require "oss.core"
local errors = require "oss.errors"
local Client = require "oss.client"
local schemas = require "oss.schema.inventory"
local stored_form = require "oss.stored_form"

local CONFIGURATION = core.schema(schemas.InventoryConfiguration)
local LIST_RESULT = core.schema(schemas.ListInventoryConfigurationsResult)

local function check_id(id)
  if type(id) ~= "string" then
    error("id: expected a string, got " .. type(id), 3)
  end
  local ok, reason = core.xml_check(CONFIGURATION, "Id", id)
  if not ok then return errors.validation(reason, "id") end
  return nil
end

local function rule_query(id)
  return { inventory = "", inventoryId = id }
end

local function check_options(options)
  if options ~= nil and type(options) ~= "table" then
    error("options: expected a table, got " .. type(options), 3)
  end
end

-- A retried put answered 409 after an attempt whose answer was lost: that attempt may have stored the rule.
-- The rule read back decides: the same rule means the put took effect; anything else keeps the 409.
local function resolve_conflict(client, bucket, config, conflict)
  local stored = client:get_bucket_inventory(bucket, config.Id)
  if stored and stored_form.same_rule(stored, config) then return true end
  return nil, conflict
end

--- client:put_bucket_inventory(bucket, config [, { dry_run = true }]) -> true | request, or nil, err
function Client:put_bucket_inventory(bucket, config, options)
  local err = self:check_bucket(bucket)
  if type(config) ~= "table" then
    error("config: expected a table, got " .. type(config), 2)
  end
  check_options(options)
  if err then return nil, err end
  local body, reason, path = core.xml_write(CONFIGURATION, config)
  if not body then return nil, errors.validation(reason, path) end
  local result, call_err, maybe_applied = self:call("PUT", bucket, rule_query(config.Id), body, nil,
    options)
  if not result and maybe_applied and call_err.status == 409 then
    return resolve_conflict(self, bucket, config, call_err)
  end
  if not result then return nil, call_err end
  return options and options.dry_run and result or true
end

--- client:get_bucket_inventory(bucket, id [, options]) -> config | nil, err
function Client:get_bucket_inventory(bucket, id, options)
  local err = self:check_bucket(bucket) or check_id(id)
  check_options(options)
  if err then return nil, err end
  return self:call("GET", bucket, rule_query(id), nil, CONFIGURATION, options)
end

--- client:delete_bucket_inventory(bucket, id [, options]) -> true | nil, err
function Client:delete_bucket_inventory(bucket, id, options)
  local err = self:check_bucket(bucket) or check_id(id)
  check_options(options)
  if err then return nil, err end
  local result, call_err = self:call("DELETE", bucket, rule_query(id), nil, nil, options)
  if not result then return nil, call_err end
  return options and options.dry_run and result or true
end

--- client:list_bucket_inventory(bucket [, { continuation_token = t }])
--- -> { configurations = {...}, is_truncated = bool, next_continuation_token = t, continuation_token = t }
function Client:list_bucket_inventory(bucket, options)
  local err = self:check_bucket(bucket)
  check_options(options)
  if err then return nil, err end
  local query = { inventory = "" }
  local token = options and options.continuation_token
  if token ~= nil then
    if type(token) ~= "string" then
      error("continuation_token: expected a string, got " .. type(token), 2)
    end
    query["continuation-token"] = token
  end
  local page, call_err = self:call("GET", bucket, query, nil, LIST_RESULT, options)
  if not page then return nil, call_err end
  if options and options.dry_run then return page end
  return {
    configurations = page.InventoryConfiguration or {},
    is_truncated = page.IsTruncated == true,
    next_continuation_token = page.NextContinuationToken,
    continuation_token = page.ContinuationToken,
  }
end

--- for config, err in client:each_bucket_inventory(bucket) do ... end
--- Walks every page. A bucket with no rules yields nothing; a failure is yielded once as (false, err).
--- Every truncated page must bring rules and a token not seen before: a server that does otherwise would keep
--- the walk going for ever, so it ends with an InvalidResponse error instead.
function Client:each_bucket_inventory(bucket)
  local page, index, finished = nil, 0, false
  local seen_tokens = {}
  local function invalid(message)
    finished = true
    return false, errors.service { code = "InvalidResponse", message = message }
  end
  return function()
    if finished then return nil end
    while true do
      if page and index < #page.configurations then
        index = index + 1
        return page.configurations[index]
      end
      if page and not page.is_truncated then
        finished = true
        return nil
      end
      local err
      page, err = self:list_bucket_inventory(bucket, { continuation_token = page and page.next_continuation_token })
      index = 0
      if not page then
        finished = true
        if errors.is_missing_rule(err) then return nil end
        return false, err
      end
      if page.is_truncated then
        local token = page.next_continuation_token
        if not token then return invalid("a truncated page without NextContinuationToken") end
        if #page.configurations == 0 then return invalid("a truncated page without rules") end
        if seen_tokens[token] then return invalid("a page repeats an earlier NextContinuationToken") end
        seen_tokens[token] = true
      end
    end
  end
end
