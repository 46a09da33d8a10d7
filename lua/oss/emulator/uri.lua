-- Percent-decoding of request targets and RFC 3986 encoding for the emulator's own canonicalization.
local M = {}

local function hex_byte(pair)
  return string.char(tonumber(pair, 16))
end

-- "+" stays "+": OSS reads the query as RFC 3986, not as an HTML form.
function M.decode(text)
  return (text:gsub("%%(%x%x)", hex_byte))
end

local function encode_byte(char)
  return string.format("%%%02X", char:byte())
end

-- Unreserved characters (ALPHA / DIGIT / "-" / "." / "_" / "~") stay; every other byte is %XX.
function M.encode(text, keep_slash)
  local pattern = keep_slash and "[^%w%-%._~/]" or "[^%w%-%._~]"
  return (text:gsub(pattern, encode_byte))
end

--- "a=1&b&c=%20" -> { { "a", "1" }, { "b", "" }, { "c", " " } }: the pairs in order, each part passed through
--- `decode`; a parameter without "=" has the value "". A query and a form body differ only in their decoding.
function M.parameters(text, decode)
  local parameters = {}
  for item in text:gmatch("[^&]+") do
    local name, value = item:match("^([^=]*)=(.*)$")
    if not name then
      name, value = item, ""
    end
    parameters[#parameters + 1] = { decode(name), decode(value) }
  end
  return parameters
end

-- Splits a request target into its decoded path and an ordered list of decoded { name, value } pairs.
function M.split_target(target)
  local raw_path, raw_query = target:match("^([^?]*)%??(.*)$")
  return M.decode(raw_path), M.parameters(raw_query, M.decode)
end

return M
