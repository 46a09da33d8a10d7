-- The recovery file: the rules an apply removed and could not put back, as a desired state that apply accepts.

local text_writer = require "oss.cli.text_writer"

local recovery = {}

local function exists(path)
  local file = io.open(path, "rb")
  if file then file:close() end
  return file ~= nil
end

--- A path next to the desired-state file (the current directory for stdin) that holds no file yet: an earlier
--- recovery file may be the only copy of a rule, so it is never overwritten.
function recovery.path_for(input, format)
  local stem = input == "-" and "oss-inventory" or (input:gsub("%.[%w]+$", ""))
  local path = ("%s.recovery.%s"):format(stem, format)
  local number = 1
  while exists(path) do
    number = number + 1
    path = ("%s.recovery-%d.%s"):format(stem, number, format)
  end
  return path
end

--- Writes `lost` ({ [bucket] = entry }, entries as in a desired state) as { buckets = lost } in `format` ("lua"
--- or "json") to a new file beside `input`. -> path | nil, reason
function recovery.write(input, format, lost)
  local path = recovery.path_for(input, format)
  local file, reason = io.open(path, "wb")
  if not file then return nil, reason end
  local ok, write_reason = file:write(text_writer.write(format, nil, { buckets = lost }))
  file:close()
  if not ok then return nil, write_reason end
  return path
end

return recovery
