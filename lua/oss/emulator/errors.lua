-- OSS error answers: status, code, message and EC of each error the emulator raises, and their XML document.
local M = {}

-- EC values: 0002-00000504 and 0020-00000043 are the ones the service documents for these cases; the others are
-- stand-ins in the matching family, so a client can rely on EC being present but not on the exact digits.
local KNOWN = {
  AccessDenied = { 403, "0003-00000001", "You have no right to access this resource." },
  InvalidAccessKeyId = { 403, "0002-00000902",
    "The OSS Access Key Id you provided does not exist in our records." },
  SignatureDoesNotMatch = { 403, "0002-00000040",
    "The request signature we calculated does not match the signature you provided. "
      .. "Check your key and signing method." },
  SecurityTokenExpired = { 403, "0002-00000007", "The security token you provided has expired." },
  RequestTimeTooSkewed = { 403, "0002-00000504",
    "The difference between the request time and the current time is too large." },
  InvalidArgument = { 400, "0020-00000001", "Invalid argument." },
  MalformedXML = { 400, "0020-00000002",
    "The XML you provided was not well-formed or did not validate against our published schema." },
  InvalidDigest = { 400, "0016-00000102", "The Content-MD5 you specified is not valid." },
  EntityTooLarge = { 400, "0016-00000103", "Your proposed upload exceeds the maximum allowed size." },
  InventoryExceedLimit = { 400, "0020-00000044", "The number of inventory configuration rules exceeds the limit." },
  NoSuchBucket = { 404, "0015-00000101", "The specified bucket does not exist." },
  NoSuchInventory = { 404, "0020-00000041", "The specified inventory does not exist." },
  InventoryAlreadyExist = { 409, "0020-00000042", "The requested inventory rule already exists." },
  MethodNotAllowed = { 405, "0003-00000002", "The specified method is not allowed against this resource." },
  NotImplemented = { 501, "0000-00000001", "The emulator implements only the bucket inventory operations." },
  InternalError = { 500, "0000-00000002", "We encountered an internal error. Please try again." },
}

-- An error value: { status, code, message, ec, extra = { { name, value }, ... } }. `extra` elements go between
-- HostId and EC, as the service places them.
function M.new(code, message, options)
  local known = KNOWN[code]
  options = options or {}
  return {
    status = options.status or (known and known[1]) or 400,
    code = code,
    message = message or (known and known[3]) or code,
    ec = options.ec or (known and known[2]) or "0000-00000000",
    extra = options.extra or {},
  }
end

local ESCAPES = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&apos;" }

local REPLACEMENT = "\239\191\189" -- U+FFFD

-- The length of the character XML accepts at text[index], or nil: a C0 control other than tab, LF and CR,
-- a byte that is not well-formed UTF-8, an overlong form, a surrogate, past U+10FFFF, U+FFFE or U+FFFF.
local function character_length(text, index)
  local first = text:byte(index)
  if first < 0x80 then
    return (first >= 32 or first == 9 or first == 10 or first == 13) and 1 or nil
  end
  local length = (first >= 0xC2 and first <= 0xDF) and 2 or (first >= 0xE0 and first <= 0xEF) and 3
    or (first >= 0xF0 and first <= 0xF4) and 4 or nil
  if not length then return nil end
  for offset = 1, length - 1 do
    local byte = text:byte(index + offset)
    if not byte or byte < 0x80 or byte > 0xBF then return nil end
  end
  local second = text:byte(index + 1)
  if (first == 0xE0 and second < 0xA0) or (first == 0xED and second > 0x9F) or (first == 0xF0 and second < 0x90)
    or (first == 0xF4 and second > 0x8F) then
    return nil
  end
  local piece = text:sub(index, index + length - 1)
  if piece == "\239\191\190" or piece == "\239\191\191" then return nil end
  return length
end

-- Text an XML parser accepts whatever bytes it came from (an error may echo a request's bytes): markup escaped,
-- and anything XML does not take as a character replaced by U+FFFD.
local function escape(text)
  text = tostring(text)
  local out, index = {}, 1
  while index <= #text do
    local length = character_length(text, index)
    out[#out + 1] = length and text:sub(index, index + length - 1) or REPLACEMENT
    index = index + (length or 1)
  end
  return (table.concat(out):gsub("[&<>\"']", ESCAPES))
end

local function element(name, value)
  return "<" .. name .. ">" .. escape(value) .. "</" .. name .. ">"
end

-- The error schema's order with the extra elements spliced in; written here because the schema (rightly) lists no
-- per-error extras.
function M.document(err, request_id, host_id)
  local parts = {
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error>',
    element("Code", err.code),
    element("Message", err.message),
    element("RequestId", request_id),
    element("HostId", host_id),
  }
  for _, pair in ipairs(err.extra) do
    parts[#parts + 1] = element(pair[1], pair[2])
  end
  parts[#parts + 1] = element("EC", err.ec)
  parts[#parts + 1] = "</Error>\n"
  return table.concat(parts)
end

return M
