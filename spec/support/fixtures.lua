-- What the specs share: the fixtures under spec/fixtures/ (signing vectors, the reference page's sample bodies),
-- a deep copy to vary them, and a shell runner.

local fixtures = {}

-- The specs run from the repository's root (busted's default), so fixtures are found relative to it.
fixtures.dir = "spec/fixtures"

function fixtures.read(relative)
  local file = assert(io.open(fixtures.dir .. "/" .. relative, "rb"))
  local content = file:read("*a")
  file:close()
  return content
end

--- A deep copy, so a spec can change one element of a fixture without touching the others.
function fixtures.copy(value)
  if type(value) ~= "table" then return value end
  local out = {}
  for k, v in pairs(value) do out[k] = fixtures.copy(v) end
  return out
end

--- Runs a shell command -> its output (stdout and stderr), its exit status.
--- LuaJIT's popen close does not report the status, so the shell prints it last.
function fixtures.run(command)
  local pipe = assert(io.popen(command .. " 2>&1; echo \"exit status $?\""))
  local output = pipe:read("*a")
  pipe:close()
  local body, status = output:match("^(.-)exit status (%d+)\n$")
  return body, tonumber(status)
end

return fixtures
