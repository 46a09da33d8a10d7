-- One provider per set of settings in a process (in nginx, per worker): clients built with the same settings
-- share its credentials and its fetches, so 200 requests that each build a client cause one fetch, not 200.
--
-- A provider is found by a key made of its kind and a digest of the settings that determine its credentials;
-- the digest keeps a key given to a static key's secret from holding that secret.

local core = require "oss.core"

local shared = {}

-- A process may build many distinct providers (a gateway with a role per tenant): past this many, the one asked
-- for least recently is forgotten. Clients that hold it keep it; the next one built with its settings is new.
shared.LIMIT = 64

local entries, count, tick = {}, 0, 0 -- key -> { provider, used }
-- Keys of the providers made here, and a number for each other function or table a key names: neither keeps
-- its object alive.
local keys = setmetatable({}, { __mode = "k" })
local numbers = setmetatable({}, { __mode = "k" })
local last_number = 0

local function identity(object)
  local number = numbers[object]
  if not number then
    last_number = last_number + 1
    number, numbers[object] = last_number, last_number
  end
  return "#" .. number
end

--- key_of(object) -> a string that stands for it in another provider's key: a shared provider's own key, or
--- for any other provider, function or table, a name that no other object of this process has.
function shared.key_of(object)
  return keys[object] or identity(object)
end

-- Each setting as name=<type><length>:<text>, in name order, so that no two sets of settings write the same text.
local function serialised(settings)
  local names = {}
  for name in pairs(settings) do names[#names + 1] = name end
  table.sort(names)
  local parts = {}
  for index, name in ipairs(names) do
    local setting = settings[name]
    local kind = type(setting)
    local text
    if kind == "string" then
      text = setting
    elseif kind == "number" or kind == "boolean" then
      text = tostring(setting)
    else
      text = shared.key_of(setting)
    end
    parts[index] = ("%s=%s%d:%s"):format(name, kind:sub(1, 1), #text, text)
  end
  return table.concat(parts, "\n")
end

local function forget_least_recent()
  local oldest_key, oldest
  for key, entry in pairs(entries) do
    if not oldest or entry.used < oldest then oldest_key, oldest = key, entry.used end
  end
  entries[oldest_key] = nil
  count = count - 1
end

--- provider(kind, settings, make) -> provider | nil, err
--- The provider kept for this kind and these settings, else make()'s, kept for the next caller. `settings` maps
--- names to strings, numbers, booleans, or objects (a clock, a source provider) that count by identity; a failed
--- make() is not kept.
function shared.provider(kind, settings, make)
  local key = kind .. ":" .. core.hex(core.sha256(serialised(settings)))
  tick = tick + 1
  local entry = entries[key]
  if entry then
    entry.used = tick
    return entry.provider
  end
  local made, err = make()
  if not made then return nil, err end
  if count >= shared.LIMIT then forget_least_recent() end
  entries[key], count = { provider = made, used = tick }, count + 1
  keys[made] = key
  return made
end

--- forget() -> drops every kept provider: the next one built is new, with no credentials yet.
function shared.forget()
  entries, count = {}, 0
end

return shared
