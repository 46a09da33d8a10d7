-- Which STS endpoint a provider calls, chosen as the official credentials libraries choose it.

local http = require "oss.credentials.http"

--- sts_endpoint(options, getenv) -> "https://host[:port]" | nil, err
--- options.sts_endpoint (host[:port] or a URL) wins; else options.sts_region or ALIBABA_CLOUD_STS_REGION picks
--- sts.<region>.aliyuncs.com, or sts-vpc.<region>.aliyuncs.com when options.enable_vpc or
--- ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED=true; without a region, the global sts.aliyuncs.com.
return function(options, getenv)
  local region = options.sts_region or getenv("ALIBABA_CLOUD_STS_REGION")
  local vpc = options.enable_vpc
  if vpc == nil then vpc = (getenv("ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED") or ""):lower() == "true" end
  local host = "sts.aliyuncs.com"
  if region and region ~= "" then
    host = (vpc and "sts-vpc." or "sts.") .. region .. ".aliyuncs.com"
  end
  return http.base_url("sts_endpoint", options.sts_endpoint, host, "https")
end
