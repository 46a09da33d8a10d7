-- Carries out bucket plans: in this process, or spread over worker processes (--jobs) that report line by line.

local documents = require "oss.cli.documents"
local errors = require "oss.errors"
local plan = require "oss.cli.plan"
local stored_form = require "oss.stored_form"
local workers = require "oss.cli.workers"

local apply = {}

-- A 409 on create means the rule appeared since the plan was made (another run): fine when it is the wanted one.
local function resolve_conflict(client, bucket, rule, put_err)
  local existing = client:get_bucket_inventory(bucket, rule.Id)
  if existing and stored_form.same_rule(existing, rule) then return true end
  return nil, put_err
end

local function put(client, bucket, rule)
  local ok, err = client:put_bucket_inventory(bucket, rule)
  if not ok and err.kind == "service" and err.status == 409 then
    return resolve_conflict(client, bucket, rule, err)
  end
  return ok, err
end

-- Deleting what is already gone is success: an interrupted run may have deleted it before stopping. Only a
-- missing rule counts as gone: a missing bucket (NoSuchBucket, also 404) is a failure to report.
local function delete(client, bucket, id)
  local ok, err = client:delete_bucket_inventory(bucket, id)
  if not ok and errors.is_missing_rule(err) then return true end
  return ok, err
end

-- Each step -> true, or nil, err, outcome (replace only: what the bucket holds, see replace_bucket_inventory).
local STEPS = {
  create = function(client, bucket, action) return put(client, bucket, action.rule) end,
  delete = function(client, bucket, action) return delete(client, bucket, action.id) end,
  replace = function(client, bucket, action) return client:replace_bucket_inventory(bucket, action.rule) end,
}

-- The event a failed step reports: "restored" or "lost" when a replace got as far as deleting, else "failed".
local function failure_event(outcome)
  if outcome and (outcome.state == "restored" or outcome.state == "lost") then return outcome.state end
  return "failed"
end

--- Runs one bucket's actions in order; stops that bucket at its first failure.
--- report(event, bucket, action, id, err, outcome): event "done", "failed", "restored" or "lost" (the previous rule
--- is outcome.previous, and outcome.restore_error why it could not be put back).
function apply.run_bucket(client, bucket_plan, report)
  for _, action in ipairs(bucket_plan.actions) do
    local step = STEPS[action.action]
    if step then
      local ok, err, outcome = step(client, bucket_plan.bucket, action)
      if not ok then
        report(failure_event(outcome), bucket_plan.bucket, action.action, action.id, err, outcome)
        return false
      end
      report("done", bucket_plan.bucket, action.action, action.id)
    end
  end
  return true
end

-- A lost rule may be its only copy: it goes through a file of its own, since a line longer than the pipe's atomic
-- write (PIPE_BUF) could interleave with another worker's. The parent removes the file once it has read it.
local function rule_file(rule)
  local path = os.tmpname()
  local file = assert(io.open(path, "wb"))
  assert(file:write(documents.write("json", "rule", rule)))
  assert(file:close())
  return path
end

local function read_rule_file(path)
  local file = assert(io.open(path, "rb"))
  local text = file:read("*a")
  file:close()
  local document = assert(documents.parse(text, "previous.json"))
  os.remove(path)
  return document.value
end

--- Worker side: the line protocol on stdout for each event (tab-separated, one line each): event, bucket, action,
--- id, then for a failure the error's kind and text, the restore's error text and a file holding the previous rule
--- (for "lost").
function apply.line_reporter(output)
  return function(event, bucket, action, id, err, outcome)
    local fields = { event, bucket, action, id }
    if err then
      fields[5] = err.kind or "service"
      fields[6] = workers.field(tostring(err))
    end
    if event == "lost" then
      fields[7] = workers.field(tostring(outcome.restore_error))
      fields[8] = rule_file(outcome.previous)
    end
    workers.write_line(output, fields)
  end
end

-- The plan goes to the workers in a file: the actions of each bucket and the settings of its client.
local function run_workers(options, bucket_plans, on_event)
  local by_bucket, buckets = {}, {}
  for _, bucket_plan in ipairs(bucket_plans) do
    local actions = {}
    for _, action in ipairs(bucket_plan.actions) do
      actions[#actions + 1] = { action = action.action, id = action.id, rule = action.rule }
    end
    by_bucket[bucket_plan.bucket] = {
      bucket = bucket_plan.bucket, settings = bucket_plan.settings, actions = actions, unmanaged = 0,
    }
    buckets[#buckets + 1] = bucket_plan.bucket
  end
  return workers.run(options.program, "_apply-worker", options.jobs, { plans = by_bucket }, buckets,
    function(fields)
      if fields[1] == "done" then
        on_event("done", fields[2], fields[3], fields[4])
      elseif fields[1] == "failed" or fields[1] == "restored" or fields[1] == "lost" then
        local err = { kind = fields[5], text = fields[6], restore_text = fields[7] }
        if fields[1] == "lost" then err.previous = read_rule_file(fields[8]) end
        on_event(fields[1], fields[2], fields[3], fields[4], err)
      end
    end)
end

--- Worker side: loads the plan file and applies the given buckets, reporting on stdout; `client_for(settings)`
--- gives each bucket's client (see oss.cli.clients). -> exit code
function apply.worker(plan_file, buckets, client_for)
  local document = workers.load(plan_file)
  local report = apply.line_reporter(io.stdout)
  local failed = false
  for _, bucket in ipairs(buckets) do
    local bucket_plan = document.plans[bucket]
    local client, err
    if bucket_plan then client, err = client_for(bucket_plan.settings) end
    if bucket_plan and not client then
      report("failed", bucket, "-", "-", err)
      failed = true
    elseif bucket_plan and not apply.run_bucket(client, bucket_plan, report) then
      failed = true
    end
  end
  return failed and workers.REPORTED_FAILURE or 0
end

--- Applies `bucket_plans`, each with the `settings` of its client. options = { jobs, program, client_for(settings)
--- (used in this process), on_event(event, bucket, action, id, err) }; err = { kind, text, restore_text, previous }
--- (the last two for "lost"). -> number of worker processes that died without reporting (0 in process)
function apply.run(options, bucket_plans)
  local changed = {}
  for _, bucket_plan in ipairs(bucket_plans) do
    if plan.count({ bucket_plan }).changes > 0 then changed[#changed + 1] = bucket_plan end
  end
  if options.jobs > 1 and #changed > 1 and options.program then
    return run_workers(options, changed, options.on_event)
  end
  for _, bucket_plan in ipairs(changed) do
    local client = assert(options.client_for(bucket_plan.settings))
    apply.run_bucket(client, bucket_plan, function(event, bucket, action, id, err, outcome)
      local failure
      if err then
        failure = { kind = err.kind, text = tostring(err) }
        if event == "lost" then
          failure.restore_text, failure.previous = tostring(outcome.restore_error), outcome.previous
        end
      end
      options.on_event(event, bucket, action, id, failure)
    end)
  end
  return 0
end

return apply
