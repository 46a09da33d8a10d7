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

--- Runs a shell command -> its output (stdout and stderr), its exit status.
--- LuaJIT's popen close does not report the status, so the shell prints it last.
function shared.run(command)
  local pipe = assert(io.popen(command .. " 2>&1; echo \"exit status $?\""))
  local output = pipe:read("*a")
  pipe:close()
  local body, status = output:match("^(.-)exit status (%d+)\n$")
  return body, tonumber(status)
end

return shared
