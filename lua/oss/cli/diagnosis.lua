-- Why a bucket could not be read, in words that say what to change in the desired state.

local oss_endpoint = require "oss.endpoint"

local diagnosis = {}

-- The element to add, written as the desired state's format writes it.
local function region_element(format, region)
  if format == "json" then return ('"region": "%s"'):format(region) end
  return ('region = "%s"'):format(region)
end

--- The line for a bucket whose rules could not be read (failure = { text, code, endpoint }): a wrong-region answer
--- names the region the bucket is in (from the answer's Endpoint), anything else is the error itself.
function diagnosis.read_failure(bucket, failure, format)
  local endpoint = failure.code == "AccessDenied" and failure.endpoint
  local region = type(endpoint) == "string" and oss_endpoint.region_of_host(endpoint)
  if region then
    return ("%s: the bucket is in %s (%s): add %s"):format(bucket, region, endpoint, region_element(format, region))
  end
  return ("%s: cannot read its rules: %s"):format(bucket, failure.text)
end

return diagnosis
