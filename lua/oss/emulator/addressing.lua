-- Finds the bucket and object key of a request from its Host header and path: virtual-hosted or path-style.
local M = {}

local function host_name(host)
  if not host then
    return ""
  end
  return (host:match("^%[(.-)%]") or host:match("^([^:]*)")):lower()
end

local function is_ip_literal(name)
  return name:match("^%d+%.%d+%.%d+%.%d+$") ~= nil or name:find(":", 1, true) ~= nil
end

-- -> bucket name or nil, object key or nil ("" and "/" both mean a bucket operation), host name
-- `is_bucket(name)` says whether a bucket is declared, which decides `<bucket>.<anything>` against path-style.
function M.resolve(host, path, is_bucket)
  local name = host_name(host)
  local first_label = name:match("^([^.]+)%.")
  local virtual = first_label and not is_ip_literal(name) and (is_bucket(first_label) or path == "/")
  local bucket, key
  if virtual then
    bucket, key = first_label, path:sub(2)
  else
    bucket, key = path:match("^/([^/]+)/?(.*)$")
  end
  if key == "" then
    key = nil
  end
  return bucket, key, name
end

return M
