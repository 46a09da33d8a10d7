-- What an apply did, counted from its events as they are reported, and the rules it lost, by bucket, for the
-- recovery file.

local tally = {}
tally.__index = tally

local PAST = { create = "created", replace = "replaced", delete = "deleted" }

function tally.new()
  return setmetatable({ create = 0, replace = 0, delete = 0, restored = 0, lost = 0, failures = 0,
    lost_rules = {} }, tally)
end

--- Counts one event (see oss.cli.apply) -> "stdout" or "stderr", and the line that reports it.
function tally:record(event, bucket, action, id, err)
  if event == "done" then
    self[action] = self[action] + 1
    return "stdout", ("%s: %s %s"):format(bucket, PAST[action], id)
  end
  self.failures = self.failures + 1
  if event == "restored" then
    self.restored = self.restored + 1
    return "stderr", ("%s: %s: replace failed (%s); previous rule restored"):format(bucket, id, err.text)
  elseif event == "lost" then
    self.lost = self.lost + 1
    local rules = self.lost_rules[bucket] or {}
    rules[#rules + 1] = err.previous
    self.lost_rules[bucket] = rules
    return "stderr", ("%s: %s: replace failed (%s); putting the previous rule back failed too (%s)")
      :format(bucket, id, err.text, err.restore_text)
  end
  return "stderr", ("%s: %s %s failed: %s"):format(bucket, action, id, err.text)
end

--- "1 created, 0 replaced, 0 deleted, 0 restored, 0 lost"
function tally:line()
  return ("%d created, %d replaced, %d deleted, %d restored, %d lost"):format(self.create, self.replace,
    self.delete, self.restored, self.lost)
end

--- The lost rules as a desired state's buckets, each with the region and endpoint its plan's entry named.
function tally:lost_buckets(plans)
  local out = {}
  for _, bucket_plan in ipairs(plans) do
    local rules = self.lost_rules[bucket_plan.bucket]
    if rules and (bucket_plan.region or bucket_plan.endpoint) then
      out[bucket_plan.bucket] = { region = bucket_plan.region, endpoint = bucket_plan.endpoint, rules = rules }
    elseif rules then
      out[bucket_plan.bucket] = rules
    end
  end
  return out
end

return tally
