-- Locates and reads the shared reference material (signing vectors, the reference page) for the specs.

local shared = {}

shared.dir = os.getenv("OSS_SHARED_DIR") or "../shared"

function shared.read(relative)
  local file = assert(io.open(shared.dir .. "/" .. relative, "rb"))
  local content = file:read("*a")
  file:close()
  return content
end

--- A deep copy, so a spec can change one element of a fixture without touching the others.
function shared.copy(value)
  if type(value) ~= "table" then return value end
  local out = {}
  for k, v in pairs(value) do out[k] = shared.copy(v) end
  return out
end

return shared
