-- The RPC (POP) signature of Alibaba Cloud's STS and other RPC APIs: HMAC-SHA1 over the method and the sorted,
-- percent-encoded parameters, keyed by the secret followed by "&".
--
-- Both sides use it: the credential providers sign AssumeRole with it and the emulator verifies with it, so a
-- mistake here cannot hide behind a second implementation that makes the same one.

local core = require "oss.core"

local rpc_signature = {}

-- The service encodes as RFC 3986 does (space as %20, "~" left alone, "*" encoded), which is what uri_encode does
-- when it is not told to keep "/".
local function encode(text)
  return core.uri_encode(text)
end

local function check_params(params)
  if type(params) ~= "table" then
    error(("rpc_signature: params must be a table, got %s"):format(type(params)), 3)
  end
  for name, value in pairs(params) do
    if type(name) ~= "string" then
      error(("rpc_signature: parameter names must be strings, got %s"):format(type(name)), 3)
    end
    if type(value) ~= "string" then
      error(("rpc_signature: parameter %q must be a string, got %s"):format(name, type(value)), 3)
    end
    if name == "Signature" then
      error("rpc_signature: params must not carry Signature itself", 3)
    end
  end
end

--- The canonicalised query: every parameter sorted by name, name and value encoded, joined by "&".
local function canonical_query(params)
  local names = {}
  for name in pairs(params) do
    names[#names + 1] = name
  end
  table.sort(names)
  local pairs_encoded = {}
  for i, name in ipairs(names) do
    pairs_encoded[i] = encode(name) .. "=" .. encode(params[name])
  end
  return table.concat(pairs_encoded, "&")
end

--- string_to_sign(method, params) -> "GET&%2F&AccessKeyId%3D..."
-- params maps every parameter of the request, query and form alike, except Signature, to its string value.
function rpc_signature.string_to_sign(method, params)
  if type(method) ~= "string" or method == "" then
    error(("rpc_signature: method must be a non-empty string, got %s"):format(type(method)), 2)
  end
  check_params(params)
  return method:upper() .. "&" .. encode("/") .. "&" .. encode(canonical_query(params))
end

--- sign(method, params, secret) -> the base64 Signature value
function rpc_signature.sign(method, params, secret)
  if type(secret) ~= "string" then
    error(("rpc_signature: secret must be a string, got %s"):format(type(secret)), 2)
  end
  local text = rpc_signature.string_to_sign(method, params)
  return core.base64_encode(core.hmac_sha1(secret .. "&", text))
end

return rpc_signature
