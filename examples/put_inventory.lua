-- Submits the reference page's rule (report1) to a bucket and prints the outcome.
--
--   OSS_ENDPOINT=http://127.0.0.1:9000 OSS_REGION=cn-hangzhou OSS_BUCKET=examplebucket \
--   OSS_ACCESS_KEY_ID=... OSS_ACCESS_KEY_SECRET=... lua5.4 examples/put_inventory.lua

local oss = require "oss"
local rules = dofile((arg[0]:match("^(.*)/") or ".") .. "/reference_rules.lua")

local client = assert(oss.new {
  region = os.getenv("OSS_REGION") or "cn-hangzhou",
  endpoint = os.getenv("OSS_ENDPOINT"),      -- nil: https://oss-<region>.aliyuncs.com
  path_style = os.getenv("OSS_ENDPOINT") ~= nil, -- a loopback endpoint has no per-bucket host names
})
local bucket = os.getenv("OSS_BUCKET") or "examplebucket"

local ok, err = client:put_bucket_inventory(bucket, rules.syntax)
if ok then
  print(("put %s on %s: ok"):format(rules.syntax.Id, bucket))
else
  print(("put %s on %s failed: %s"):format(rules.syntax.Id, bucket, tostring(err)))
  os.exit(1)
end
